"""report/html in a real headless Chromium: the page draws, zooms, resizes, sorts and filters,
logs no error and requests nothing but itself. Skipped without playwright or a chromium."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

import flopsight
from flopsight.report.units import format_bytes

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")
CHROMIUM = next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        # Debian's chromium, never a downloaded build; the sandbox needs user namespaces a container may lack.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class Opened:
    """A report open in a page, with every console message, page error and request it made."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.as_uri()
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.url)

    def tiles(self) -> list[dict[str, Any]]:
        boxes: list[dict[str, Any]] = self.page.eval_on_selector_all("#treemap .tile", """tiles => tiles.map(t => {
            const r = t.querySelector("rect");
            return {path: t.dataset.path, self: t.classList.contains("self"), value: Number(t.dataset.value),
                    x: +r.getAttribute("x"), y: +r.getAttribute("y"), w: +r.getAttribute("width"), h: +r.getAttribute("height")};
        })""")
        return boxes

    def table_paths(self) -> list[str]:
        paths: list[str] = self.page.eval_on_selector_all("#modules tbody tr", "rows => rows.map(r => r.dataset.path)")
        return paths


@pytest.fixture(scope="module")
def report_file(tiny_memory_profile: flopsight.Profile, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "tiny.html"
    tiny_memory_profile.to_html(str(path))
    return path


@pytest.fixture
def opened(browser: Any, report_file: Path) -> Iterator[Opened]:
    view = Opened(browser, report_file)
    yield view
    view.page.close()


def test_opens_with_no_error_and_no_request_but_itself(opened: Opened) -> None:
    assert opened.page.locator("#treemap .tile").count() > 0
    assert opened.problems == [] and opened.requests == [opened.url]


def test_tiles_fill_the_map_in_proportion(opened: Opened, tiny_memory_profile: flopsight.Profile) -> None:
    tiles = opened.tiles()
    root = tiny_memory_profile.root
    # The root's children (embed, layers, head) and its own ops, sized by FLOPs.
    expected = {c.name: c.forward.flops for c in root.children if c.forward.flops}
    assert {t["path"]: t["value"] for t in tiles if not t["self"]} == expected
    width, height = opened.page.eval_on_selector("#treemap", "s => [s.viewBox.baseVal.width, s.viewBox.baseVal.height]")
    area = width * height
    total = sum(t["value"] for t in tiles)
    for tile in tiles:
        assert tile["x"] >= -0.01 and tile["y"] >= -0.01 and tile["x"] + tile["w"] <= width + 0.01
        assert tile["y"] + tile["h"] <= height + 0.01
        assert tile["w"] * tile["h"] == pytest.approx(area * tile["value"] / total, rel=1e-3)
    assert sum(t["w"] * t["h"] for t in tiles) == pytest.approx(area, rel=1e-3)


def test_clicking_a_tile_zooms_into_it_and_the_breadcrumb_leads_back(opened: Opened,
                                                                     tiny_memory_profile: flopsight.Profile) -> None:
    page = opened.page
    page.click('#treemap .tile[data-path="layers"]')
    assert page.get_attribute("#treemap", "data-zoom") == "layers"
    assert [t["path"] for t in opened.tiles()] == ["layers.0", "layers.1", "layers.2", "layers.3"]
    assert page.locator("#breadcrumb button").all_inner_texts() == ["TinyLM", "layers"]
    page.click('#treemap .tile[data-path="layers.2"]')
    block = tiny_memory_profile.module("layers.2")
    expected = {c.name for c in block.children if c.forward.flops} | {"layers.2 (self)"}  # the residual add
    assert {t["path"] + (" (self)" if t["self"] else "") for t in opened.tiles()} == expected
    assert page.locator("#breadcrumb button").all_inner_texts() == ["TinyLM", "layers", "2"]
    page.click('#breadcrumb button[data-path=""]')
    assert page.get_attribute("#treemap", "data-zoom") == ""
    page.hover('#treemap .tile[data-path="head"]')
    assert page.inner_text("#tile-info").startswith("head  Linear")
    assert opened.problems == []


def test_the_size_selector_redraws_the_tiles(opened: Opened, tiny_memory_profile: flopsight.Profile) -> None:
    page = opened.page
    before = opened.tiles()
    page.select_option("#measure", label="Params")
    assert page.get_attribute("#treemap", "data-measure") == "params"
    after = opened.tiles()
    params = {c.name: c.params for c in tiny_memory_profile.root.children}
    assert {t["path"]: t["value"] for t in after if not t["self"]} == {k: v for k, v in params.items() if v}
    assert [(t["w"], t["h"]) for t in after] != [(t["w"], t["h"]) for t in before]
    page.select_option("#measure", label="activations")
    assert page.get_attribute("#treemap", "data-measure") == "activations" and opened.problems == []


def test_sorting_and_filtering_the_table(opened: Opened, tiny_memory_profile: flopsight.Profile) -> None:
    page = opened.page
    modules = list(tiny_memory_profile.modules())
    assert opened.table_paths() == [m.name for m in modules]
    flops_header = page.locator("#modules th", has_text="FLOPs").first
    flops_header.click()  # numbers sort largest first
    by_flops = sorted(modules, key=lambda m: (-m.forward.flops, modules.index(m)))
    assert opened.table_paths() == [m.name for m in by_flops]
    flops_header.click()
    assert [m.forward.flops for m in map(tiny_memory_profile.module, opened.table_paths())] == sorted(
        m.forward.flops for m in modules)
    page.fill("#filter", "fc2")
    assert opened.table_paths() == sorted((m.name for m in modules if "fc2" in m.name),
                                          key=lambda n: tiny_memory_profile.module(n).forward.flops)
    page.fill("#filter", "layernorm")  # by type, any case
    assert sorted(opened.table_paths()) == sorted(m.name for m in modules if m.type == "LayerNorm")
    page.fill("#filter", "")
    page.select_option("#depth", "1")
    assert set(opened.table_paths()) == {m.name for m in modules if m.depth <= 1}
    assert page.inner_text("#row-count") == f"{sum(m.depth <= 1 for m in modules)} of {len(modules)} modules"


def test_the_sections_are_there(opened: Opened) -> None:
    titles = opened.page.locator("h2").all_inner_texts()
    for title in ("Per module", "Run", "Uncounted ops", "Summary", "Memory", "Aggregated per depth"):
        assert title in titles
    assert "Forward FLOPs" in opened.page.inner_text("#sections")


def test_light_and_dark_schemes_both_apply(browser: Any, report_file: Path) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        page = browser.new_page(color_scheme=scheme)
        page.goto(report_file.as_uri())
        colours[scheme] = page.evaluate("[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]")
        page.close()
    assert colours["light"] == ["rgb(255, 255, 255)", "rgb(29, 31, 35)"]
    assert colours["dark"] == ["rgb(21, 23, 27)", "rgb(227, 230, 235)"]


def test_the_memory_chart_draws_inside_its_box_and_labels_the_peak(opened: Opened,
                                                                  tiny_memory_profile: flopsight.Profile) -> None:
    page = opened.page
    memory = tiny_memory_profile.memory
    assert memory is not None
    box = page.eval_on_selector("#memory-chart", "s => [s.viewBox.baseVal.width, s.viewBox.baseVal.height]")
    points = page.eval_on_selector("#memory-chart path.live", """p => {
        return p.getAttribute("d").split(/[ML]/).filter(s => s.trim()).map(s => s.trim().split(" ").map(Number));
    }""")
    assert len(points) == len(memory.record.paths)  # a tiny run: every tick drawn
    assert all(0 <= x <= box[0] and 0 <= y <= box[1] for x, y in points)
    label = page.text_content("#memory-peak") or ""
    assert label.startswith(f"peak {format_bytes(memory.peak_bytes)}, in the ")
    peak_y = float(page.get_attribute("#memory-chart circle.peak", "cy"))
    assert peak_y == pytest.approx(min(y for _, y in points), abs=0.11)  # the highest point of the line
    assert page.locator("#memory-chart rect.phase.backward").count() >= 1 and opened.problems == []


def test_clicking_a_table_row_zooms_the_treemap_to_it(opened: Opened) -> None:
    page = opened.page
    page.click('#modules tbody tr[data-path="layers.2"]')
    assert page.get_attribute("#treemap", "data-zoom") == "layers.2"
    assert page.locator("#breadcrumb button").all_inner_texts() == ["TinyLM", "layers", "2"]
    assert page.evaluate("document.getElementById('map-section').getBoundingClientRect().top") == pytest.approx(0, abs=2)
    page.click('#modules tbody tr[data-path="layers.2.fc1"]')  # a leaf: its whole tile
    assert page.get_attribute("#treemap", "data-zoom") == "layers.2.fc1"
    assert [t["path"] for t in opened.tiles()] == ["layers.2.fc1"]
    assert page.locator("#breadcrumb button").all_inner_texts() == ["TinyLM", "layers", "2", "fc1"]
    assert opened.problems == [] and opened.requests == [opened.url]


def test_the_sections_are_tables(opened: Opened, tiny_memory_profile: flopsight.Profile) -> None:
    page = opened.page
    assert page.locator("#sections pre").count() == 0  # no text block left for a measured profile
    depth_tables = page.locator("#sections h3", has_text="depth ").all_inner_texts()
    assert depth_tables == [f"depth {d}" for d in range(tiny_memory_profile.max_depth + 1)]
    first = page.eval_on_selector_all("#sections table.table", "ts => Array.from(ts[0].querySelectorAll('th')).map(t => t.textContent)")
    assert first == ["by", "module type", "modules", "summed"]
