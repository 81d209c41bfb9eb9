"""report/html: one self-contained page, no request of any kind, the profile's figures inside."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from html_page import content_security_policy, embedded_view
from no_torch import run_without_torch
from torch import nn

import flopsight
from flopsight.cli import main
from flopsight.report import RenderOptions, render, render_tree
from flopsight.report.html.escape import script_json

# Anything that would load or send something: a URL in src/href, a CSS import, a script request.
_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|\burl\(|fetch\(|XMLHttpRequest|"""
                       r"""WebSocket|EventSource|sendBeacon|<link\b|<iframe\b|<img\b""", re.I)


def test_the_page_is_one_document_with_nothing_external(tiny_profile: flopsight.Profile) -> None:
    page = tiny_profile.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.count("<html") == 1 and page.rstrip().endswith("</html>")
    assert _EXTERNAL.search(page) is None, _EXTERNAL.search(page)
    # Exactly two scripts: the data block (never run) and the inline report script.
    assert re.findall(r"<script[^>]*>", page) == ['<script type="application/json" id="flopsight-data">', "<script>"]


def test_the_policy_forbids_every_request_and_pins_the_inline_code(tiny_profile: flopsight.Profile) -> None:
    page = tiny_profile.to_html()
    csp = content_security_policy(page)
    assert csp["default-src"] == "'none'" and csp["base-uri"] == "'none'" and csp["form-action"] == "'none'"
    assert set(csp) <= {"default-src", "script-src", "style-src", "img-src", "base-uri", "form-action"}
    assert csp["img-src"] == "data:"
    for directive, tag in (("script-src", "<script>"), ("style-src", "<style>")):
        body = page.split(tag, 1)[1].split("</" + tag[1:], 1)[0]
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert csp[directive] == f"'sha256-{digest}'", directive  # only this exact code may run


def test_the_embedded_figures_are_the_profiles(tiny_backward_profile: flopsight.Profile) -> None:
    profile = tiny_backward_profile
    view = embedded_view(profile.to_html())
    assert [row["path"] for row in view["rows"]] == [node.name for node in profile.modules()]
    assert [row["type"] for row in view["rows"]] == [node.type for node in profile.modules()]
    labels = [c["label"] for c in view["columns"] if "of" not in c]
    assert labels == ["Module", "Type", "Params", "MACs", "FLOPs", "bwd FLOPs"]
    flops = labels.index("FLOPs") - 2
    raw_at = [i for i, c in enumerate(view["columns"][2:]) if "of" not in c][flops]
    for row, node in zip(view["rows"], profile.modules()):
        assert row["raw"][raw_at] == node.forward.flops
    # The text tree's shares, formatted by the same units: the root's cells read as its line does.
    root = view["rows"][0]
    assert f"{root['cells'][0]} = {root['cells'][1]} Params" in render_tree(profile, depth=0)


@pytest.mark.parametrize("key", ["flops", "params"])
def test_each_tile_and_its_self_tile_add_up_to_the_parent(tiny_profile: flopsight.Profile, key: str) -> None:
    view = embedded_view(tiny_profile.to_html())
    measure = next(t["measure"] for t in view["treemap"] if t["key"] == key)
    rows = view["rows"]
    for i, row in enumerate(rows):
        children = [r for r in rows if r["parent"] == i and "sizes" in r]
        if not children:
            continue
        whole, own = row["sizes"][[t["measure"] for t in view["treemap"]].index(measure)]
        shown = sum(c["sizes"][[t["measure"] for t in view["treemap"]].index(measure)][0] for c in children) + own
        assert shown == whole, (row["path"], key)
    assert rows[0]["sizes"][[t["key"] for t in view["treemap"]].index(key)][0] == (
        tiny_profile.forward.flops if key == "flops" else tiny_profile.params)


def test_memory_adds_the_activation_size_and_section(tiny_memory_profile: flopsight.Profile) -> None:
    view = embedded_view(tiny_memory_profile.to_html())
    keys = [t["key"] for t in view["treemap"]]
    assert "activations" in keys and "latency" not in keys and "predicted" not in keys
    at = keys.index("activations")
    assert view["rows"][0]["sizes"][at][0] == tiny_memory_profile.root.memory.activation_bytes
    assert "Memory" in [s["title"] for s in view["sections"]]


def test_a_hostile_module_name_cannot_leave_its_script_block() -> None:
    hostile = "</script><script>alert(1)</script><!--\u2028&amp;"
    model = nn.Sequential()
    model.add_module(hostile.replace(".", "_"), nn.Linear(4, 4))
    page = flopsight.profile(model, input_shape=(1, 4)).to_html()
    assert page.count("</script>") == 2 and "alert(1)" not in page.split("</script>", 1)[0].split("flopsight-data")[0]
    data_block = page.split('id="flopsight-data">', 1)[1].split("</script>", 1)[0]
    assert not set("<>&\u2028\u2029") & set(data_block)
    assert [row["path"] for row in embedded_view(page)["rows"]] == ["", hostile]


def test_script_json_reads_back_unchanged() -> None:
    tricky = {"a": "</script>", "b": "<!-- & -->", "c": "\u2028\u2029", "d": "é", "e": [1, 2.5, None]}
    text = script_json(tricky)
    assert json.loads(text) == tricky and not set("<>&\u2028\u2029") & set(text)


def test_to_html_is_the_cli_format_and_writes_atomically(tiny_profile: flopsight.Profile, tmp_path: Path) -> None:
    assert render(tiny_profile, "html", RenderOptions()) == tiny_profile.to_html()
    target = tmp_path / "tiny.html"
    assert tiny_profile.to_html(str(target)) == target.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.html"]  # no temporary left behind


def test_cli_format_html_writes_the_page_to_html_equals(tmp_path: Path) -> None:
    saved, page = tmp_path / "example.json", tmp_path / "example.html"
    assert main(["example", "--device", "meta", "--seq-len", "16", "--format", "json", "-o", str(saved)]) == 0
    assert main(["example", "--device", "meta", "--seq-len", "16", "--format", "html", "-o", str(page)]) == 0
    profile = flopsight.Profile.from_dict(json.loads(saved.read_text(encoding="utf-8")))
    assert page.read_text(encoding="utf-8") == profile.to_html()


def test_a_bundled_config_profile_stays_small() -> None:
    pytest.importorskip("transformers")
    from flopsight.hf import profile_model

    profile = profile_model("llama-3-8b", device="meta")
    page = profile.to_html().encode("utf-8")
    assert len(page) < 300_000, len(page)
    rows = embedded_view(page.decode())["rows"]
    assert len(rows) == sum(1 for _ in profile.modules()) and rows[-1]["path"] == "lm_head"


def test_show_renders_a_saved_profile_as_html_without_torch(tiny_profile: flopsight.Profile, tmp_path: Path) -> None:
    saved, page = tmp_path / "tiny.json", tmp_path / "tiny.html"
    saved.write_text(json.dumps(tiny_profile.to_dict()), encoding="utf-8")
    done = run_without_torch("from flopsight.cli import main\nsys.exit(main(sys.argv[1:]))\n",
                             "show", str(saved), "--format", "html", "-o", str(page))
    assert done.returncode == 0, done.stderr
    assert page.read_text(encoding="utf-8") == tiny_profile.to_html()
