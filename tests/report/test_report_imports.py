"""Nothing under report/ imports torch, so a Profile read from JSON renders like a measured one."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import flopsight.report

REPORT = Path(flopsight.report.__file__).parent
# Runtime imports of these would pull torch in; types only. The rest of tree/ (the Profile,
# its nodes, achieved FLOPS) and records/ are plain data that reports may use.
TYPE_ONLY = ("flopsight.tree.build", "flopsight.tree.parameters", "flopsight.capture", "flopsight.costs",
             "flopsight.api", "flopsight.timing")


def runtime_imports(tree: ast.Module, package: str = "flopsight.report") -> list[tuple[str | None, str]]:
    """(function, module) for each import outside ``if TYPE_CHECKING:`` blocks, relative ones
    made absolute; the function is the one whose body holds the import (None: module level)."""
    names: list[tuple[str | None, str]] = []

    def visit(nodes: list[ast.stmt], function: str | None) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
                visit(node.orelse, function)
                continue
            if isinstance(node, ast.Import):
                names.extend((function, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: up level - 1 packages from the file's own
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                names.append((function, base))
            inner = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            for child in ("body", "orelse", "finalbody", "handlers"):
                visit([n for n in getattr(node, child, []) if isinstance(n, ast.stmt)], inner)

    visit(tree.body, None)
    return names


def test_report_modules_import_neither_torch_nor_the_engine() -> None:
    files = sorted(REPORT.rglob("*.py"))
    assert {f.name for f in files} >= {
        "units.py", "summary.py", "tree.py", "topk.py", "text.py", "wrapping.py", "header.py", "json_format.py",
        "csv_format.py", "markdown.py", "text_format.py", "generation.py", "formats.py", "deepspeed.py",
        "communication.py", "job.py", "columns.py", "mesh.py",
    }
    for file in files:
        package = ".".join(["flopsight", "report", *file.relative_to(REPORT).parent.parts])
        for function, name in runtime_imports(ast.parse(file.read_text(encoding="utf-8")), package):
            assert not name.startswith("torch"), (file.name, name)
            assert not name.startswith(TYPE_ONLY), (file.name, name)


def test_importing_every_report_module_imports_no_torch() -> None:
    """The AST check above, confirmed by importing: a fresh interpreter, every report module."""
    paths = [f.relative_to(REPORT).with_suffix("") for f in sorted(REPORT.rglob("*.py")) if f.stem != "__init__"]
    modules = ", ".join("flopsight.report." + ".".join(p.parts) for p in paths)
    script = f"import sys, {modules}; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stdout + result.stderr
