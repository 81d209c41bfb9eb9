"""The diff's HTML page: self-contained under the report's CSP, its data the diff's; in Chromium it
sorts by a clicked column. The browser part is skipped without playwright or a chromium."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from pathlib import Path

import pytest
from html_page import content_security_policy, embedded_view
from test_html import _EXTERNAL
from torch import nn

import flopsight
from flopsight.report.diff import ProfileDiff, diff

IN, N = 4, 3


@pytest.fixture(scope="module")
def changed() -> ProfileDiff:
    def mlp(width: int) -> nn.Module:
        return nn.Sequential(nn.Linear(IN, width), nn.ReLU(), nn.Linear(width, 2))

    return diff(flopsight.profile(mlp(8), input_shape=(N, IN)), flopsight.profile(mlp(16), input_shape=(N, IN)))


def test_the_page_is_one_document_with_nothing_external_and_pinned_code(changed: ProfileDiff) -> None:
    page = changed.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.count("<html") == 1 and page.rstrip().endswith("</html>")
    assert _EXTERNAL.search(page) is None, _EXTERNAL.search(page)
    assert re.findall(r"<script[^>]*>", page) == ['<script type="application/json" id="flopsight-data">', "<script>"]
    csp = content_security_policy(page)
    assert csp["default-src"] == "'none'" and csp["base-uri"] == "'none'" and csp["form-action"] == "'none'"
    for directive, tag in (("script-src", "<script>"), ("style-src", "<style>")):
        body = page.split(tag, 1)[1].split("</" + tag[1:], 1)[0]
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert csp[directive] == f"'sha256-{digest}'", directive


def test_the_embedded_rows_are_the_ranked_modules_with_their_changes(changed: ProfileDiff) -> None:
    view = embedded_view(changed.to_html())
    rows = view["modules"]["rows"]
    assert [row["path"] for row in rows] == ["0", "2", "1"]
    labels = [col["label"] for col in view["modules"]["columns"]]
    at = labels.index("change fwd FLOPs")
    # fc 0: 2 x 3 x 4 x 8 + 3 x 8 = 216 FLOPs -> 432; ReLU 24 -> 48; fc 2: 102 -> 198
    assert [row["raw"][at] for row in rows] == [216, 96, 24]
    assert [row["cells"][at] for row in rows] == ["+216 FLOPs", "+96 FLOPs", "+24 FLOPs"]
    assert [row["cells"][0] for row in view["totals"]["rows"]] == ["params", "fwd MACs", "fwd FLOPs", "fwd bytes"]


def test_a_module_name_cannot_break_out_of_the_data_block() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.add_module("</script><b>", nn.Linear(IN, 2))

        def forward(self, x: object) -> object:
            return next(iter(self.children()))(x)

    odd = flopsight.profile(Odd(), input_shape=(N, IN))
    page = diff(odd, odd).to_html()
    assert "</script><b>" not in page
    assert embedded_view(page)["modules"]["rows"][0]["path"] == "</script><b>"


CHROMIUM = next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_in_chromium_the_table_draws_and_sorts_by_a_clicked_column(changed: ProfileDiff, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")
    path = tmp_path / "diff.html"
    path.write_text(changed.to_html())
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            problems: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())

            def paths() -> list[str]:
                found: list[str] = page.eval_on_selector_all("#modules tbody tr", "rows => rows.map(r => r.dataset.path)")
                return found

            assert paths() == ["0", "2", "1"]
            page.click("#modules thead th:text-is('Module')")
            assert paths() == ["0", "1", "2"]
            page.fill("#filter", "relu")
            assert paths() == ["1"]
            assert problems == [] and requests == [path.as_uri()]
        finally:
            browser.close()
