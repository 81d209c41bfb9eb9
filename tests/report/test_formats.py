"""report/formats.py: ``render`` picks the renderer by format and by what was measured."""

from __future__ import annotations

import csv
import io
import json

import pytest

import flopsight
from flopsight.errors import InputError
from flopsight.report import EXPORT_FORMATS, FORMATS, GenerationReport, RenderOptions, render, render_text


def _generation(profile: flopsight.Profile) -> GenerationReport:
    cost = {"macs": profile.forward.macs, "flops": profile.forward.flops}
    steps = [{"step": i, "kv_len": 16 + i, **cost} for i in range(1, 3)]
    summary = {"prompt_len": 16, "new_tokens": 2, "prefill": cost, "decode_steps": steps,
               "decode_mean_per_token": cost, "decode_total": cost, "total": cost}
    return GenerationReport(profile, [profile, profile], summary)


def test_text_without_a_model_source_is_the_text_report(tiny_profile: flopsight.Profile) -> None:
    assert render(tiny_profile, "text", RenderOptions(depth=1, top=2)) == render_text(tiny_profile, depth=1, top=2)


def test_json_reads_back_as_the_same_profile(tiny_profile: flopsight.Profile) -> None:
    data = json.loads(render(tiny_profile, "json", RenderOptions()))
    assert data == json.loads(json.dumps(tiny_profile.to_dict()))
    assert render_text(flopsight.Profile.from_dict(data)) == render_text(tiny_profile)


def test_csv_has_one_row_per_module_down_to_the_depth(tiny_profile: flopsight.Profile) -> None:
    rows = list(csv.DictReader(io.StringIO(render(tiny_profile, "csv", RenderOptions(depth=1)))))
    assert [r["module"] for r in rows] == [n.name for n in tiny_profile.modules() if n.depth <= 1]
    assert rows[0]["forward_flops"] == str(tiny_profile.forward.flops)


def test_a_generation_report_gets_the_generate_renderers(tiny_profile: flopsight.Profile) -> None:
    report = _generation(tiny_profile)
    assert json.loads(render(report, "json", RenderOptions()))["mode"] == "generate"
    assert render(report, "markdown", RenderOptions()).startswith("# flopsight generate: ")
    assert "decode_flops" in render(report, "csv", RenderOptions()).split("\n", 1)[0]
    text = render(report, "text", RenderOptions())
    assert "Generation\n----------\n" in text and text.endswith(render_text(tiny_profile))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_both_kinds(tiny_profile: flopsight.Profile, fmt: str) -> None:
    assert render(tiny_profile, fmt, RenderOptions()) != render(_generation(tiny_profile), fmt, RenderOptions())


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_the_exports_refuse_a_generate_run(tiny_profile: flopsight.Profile, fmt: str) -> None:
    with pytest.raises(InputError, match=f"--format {fmt} exports one forward"):
        render(_generation(tiny_profile), fmt, RenderOptions())
