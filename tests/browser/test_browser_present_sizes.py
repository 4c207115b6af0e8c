"""The presentation on the projectors commissions have: 1024×768, 1280×720, 1366×768, 1440×900 and
1920×1080. At each size the whole city lies in the free area (below the title, above the footer,
between the arrows and the figures panel), the zoom and ⌂ controls are not under anything, and
⌂ fits the city back into the free area. On main the map was fitted to the whole window: the city
was cut at the top and bottom and the figures panel covered up to half of it below 1920×1080.

Page images of each size go to ``$GRID_SCREENSHOT_DIR`` when it is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, open_offline

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]

SIZES = [(1024, 768), (1280, 720), (1366, 768), (1440, 900), (1920, 1080)]

CITY_BOX = """() => {
  const m = window.gpMaps[0], b = window.gpBounds;
  const a = m.latLngToContainerPoint(b[0]), c = m.latLngToContainerPoint(b[1]);
  const r = m.getContainer().getBoundingClientRect();
  return {x0: Math.min(a.x, c.x) + r.left, x1: Math.max(a.x, c.x) + r.left,
          y0: Math.min(a.y, c.y) + r.top, y1: Math.max(a.y, c.y) + r.top};
}"""

RECTS = """() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {x0: r.left, x1: r.right, y0: r.top, y1: r.bottom}; };
  return {
    free: window.gpFreeArea(),
    side: box(document.getElementById('side')),
    top: box(document.querySelector('.top')),
    controls: [...document.querySelectorAll('.leaflet-control-zoom a, a.gp-home')].map(box),
  };
}"""


@pytest.fixture(scope="module")
def present_file(tmp_path_factory) -> Path:
    from grid_planning.city.costs import travel_costs
    from grid_planning.city.provenance import load_sample_city
    from grid_planning.domain.request import CostParams, PlanRequest
    from grid_planning.meeting import compare as c
    from grid_planning.meeting.meetingmap import present_html
    from grid_planning.planning.planner import plan_city

    layers = load_sample_city()
    costs = travel_costs(layers, CostParams())
    options = [c.plan_option(layers, plan_city(layers, PlanRequest(k=k, balance=0.1), costs=costs).plan,
                             f"方案{k} · {k} 个网格", costs, key=k) for k in (3, 4, 5)]
    path = tmp_path_factory.mktemp("present") / "present.html"
    path.write_text(present_html(layers, options, "zh"), encoding="utf-8")
    return path


def _overlaps(a: dict, b: dict) -> bool:
    return a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_whole_city_is_in_the_free_area(chromium, present_file, width, height, tmp_path):
    page = open_offline(chromium, width=width, height=height)
    page.route("file://**", lambda r: r.continue_())
    try:
        page.goto(present_file.as_uri())
        page.wait_for_function("() => window.gpCurrent && window.gpCurrent() === 0")
        page.wait_for_timeout(300)
        city, rects = page.evaluate(CITY_BOX), page.evaluate(RECTS)
        free = rects["free"]
        tol = 2.0
        assert city["x0"] >= free["left"] - tol and city["x1"] <= free["right"] + tol, (city, free)
        assert city["y0"] >= free["top"] - tol and city["y1"] <= free["bottom"] + tol, (city, free)
        assert not _overlaps(city, rects["side"])
        # The city is not shrunk to a stamp: it fills the free area along one side at least.
        fill = max((city["x1"] - city["x0"]) / (free["right"] - free["left"]),
                   (city["y1"] - city["y0"]) / (free["bottom"] - free["top"]))
        assert fill > 0.85, fill
        for ctl in rects["controls"]:
            assert not _overlaps(ctl, rects["side"]) and not _overlaps(ctl, rects["top"]), ctl
            assert ctl["y1"] <= height and ctl["x1"] <= width
        # ⌂ brings the city back into the free area after a zoom.
        page.evaluate("() => window.gpMaps[0].setZoom(window.gpMaps[0].getZoom() + 2, {animate: false})")
        page.locator("a.gp-home").click()
        page.wait_for_timeout(200)
        again = page.evaluate(CITY_BOX)
        assert abs(again["x0"] - city["x0"]) < 3 and abs(again["y1"] - city["y1"]) < 3, (again, city)
        # The panel folds away and the city grows into the room it leaves.
        page.locator("#fold").click()
        page.wait_for_timeout(200)
        wider = page.evaluate(CITY_BOX)
        assert wider["x1"] - wider["x0"] >= city["x1"] - city["x0"] - 1
        page.locator("#fold").click()
        shot = tmp_path / f"present_{width}x{height}.png"
        page.screenshot(path=str(shot))
        if os.environ.get("GRID_SCREENSHOT_DIR"):
            (Path(os.environ["GRID_SCREENSHOT_DIR"]) / shot.name).write_bytes(shot.read_bytes())
        assert page.external == []
    finally:
        page.close()


@pytest.mark.parametrize("width", [1100, 1440])
def test_compare_three_options_shows_the_whole_city_in_every_map(chromium, present_file, width, tmp_path):
    """Three options side by side at 1440 px (1,100 px is what the frame gets beside the
    sidebar): main fitted the first map while it was the only panel, so every map was cropped."""
    from grid_planning.city.costs import travel_costs
    from grid_planning.city.provenance import load_sample_city
    from grid_planning.domain.request import CostParams, PlanRequest
    from grid_planning.meeting import compare as c
    from grid_planning.meeting.meetingmap import bounds, compare_html
    from grid_planning.planning.planner import plan_city

    layers = load_sample_city()
    costs = travel_costs(layers, CostParams())
    options = [c.plan_option(layers, plan_city(layers, PlanRequest(k=k, balance=0.1), costs=costs).plan,
                             f"方案{k}", costs, key=k) for k in (3, 4, 5)]
    path = tmp_path / "compare.html"
    path.write_text(compare_html(layers, options, "zh"), encoding="utf-8")
    page = open_offline(chromium, width=width, height=600)
    page.route("file://**", lambda r: r.continue_())
    try:
        page.goto(path.as_uri())
        page.wait_for_function("() => window.gpMaps && window.gpMaps.length === 3")
        page.wait_for_timeout(300)
        boxes = page.evaluate("""(b) => window.gpMaps.map((m) => {
            const a = m.latLngToContainerPoint(b[0]), c = m.latLngToContainerPoint(b[1]);
            const s = m.getSize();
            return {x0: Math.min(a.x, c.x), x1: Math.max(a.x, c.x), y0: Math.min(a.y, c.y),
                    y1: Math.max(a.y, c.y), w: s.x, h: s.y};
        })""", bounds(layers))
        for box in boxes:
            assert box["w"] >= 330  # readable, never squeezed below the panel's minimum
            assert box["x0"] >= -2 and box["x1"] <= box["w"] + 2, box
            assert box["y0"] >= -2 and box["y1"] <= box["h"] + 2, box
    finally:
        page.close()
