"""Imports point one way: costs <- capture <- tree <- timing <- report <- api <- training/compat/hf/estimates <- cli.

Every import of a flopsight module in the package, at module level or inside a function, and
under ``if TYPE_CHECKING:`` too, goes to a piece of the same layer or a lower one; and the
pieces import each other without a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import flopsight

PACKAGE = Path(flopsight.__file__).parent

# Lowest first. The first layer is plain data and helpers every piece may use.
LAYERS: list[set[str]] = [
    {"errors", "conventions", "records", "atomic_write", "uncounted_warning"},
    {"costs"},
    {"capture"},
    {"tree"},
    {"timing"},
    {"report"},
    {"api"},
    {"training", "compat", "hf", "examples", "distributed", "estimates"},
    {"cli"},
]
LAYER = {piece: index for index, pieces in enumerate(LAYERS) for piece in pieces}


def piece_of(module: str) -> str:
    """``flopsight.tree.profile`` -> ``tree``."""
    return module.split(".")[1]


def imports_of(path: Path, package_root: Path = PACKAGE) -> list[str]:
    """Every flopsight module ``path`` imports, relative imports made absolute."""
    relative = path.relative_to(package_root.parent).with_suffix("")
    parts = list(relative.parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("flopsight.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if (node.module or "").startswith("flopsight."):
                    found.append(node.module or "")
                continue
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            if node.module is None:  # ``from . import costs``: a name is a module or an attribute
                found += [f"{target}.{alias.name}" if _is_module(f"{target}.{alias.name}") else target
                          for alias in node.names]
            else:
                found.append(target)
    return [name for name in found if name.count(".") >= 1]


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def edges() -> dict[tuple[str, str], list[str]]:
    """(importing piece, imported piece) -> the files that make that import."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative == Path("__init__.py"):  # the public names, imported lazily by name
            continue
        source = relative.parts[0].removesuffix(".py")
        for module in imports_of(path):
            target = piece_of(module)
            if target != source:
                found.setdefault((source, target), []).append(str(relative))
    return found


def test_every_piece_has_a_layer() -> None:
    pieces = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()
              if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").exists())}
    assert pieces - {"__main__"} <= set(LAYER), pieces - set(LAYER)


def test_imports_point_down_the_layers() -> None:
    upward = {edge: files for edge, files in edges().items() if LAYER[edge[1]] > LAYER[edge[0]]}
    assert upward == {}


def test_no_import_circle_between_pieces() -> None:
    graph: dict[str, set[str]] = {}
    for source, target in edges():
        graph.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    circles = sorted(piece for piece in graph if reaches(piece, piece, {piece}))
    assert circles == []


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    # What Profile.__str__ once did: a tree module importing the text renderer, in a function.
    fake = tmp_path / "flopsight"
    (fake / "tree").mkdir(parents=True)
    module = fake / "tree" / "profile.py"
    module.write_text("def show(p):\n    from ..report.text import render_text\n    return render_text(p)\n")
    (target,) = imports_of(module, fake)
    assert target == "flopsight.report.text"
    assert LAYER[piece_of(target)] > LAYER["tree"]
