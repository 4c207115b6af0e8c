"""A meeting end to end in headless Debian Chromium, offline: three options of the sample city are
saved (two through the library into the server's store, the third through the plan page), two are
compared side by side (their maps follow each other, the figures and the units that change grid
are on the page), then presented (the right arrow shows the next option and its figures).

No request leaves the server, no dialog opens, and no exception or guard message shows. Screenshots
of both pages at 1600×1000 and 1920×1080 go to ``$GRID_SCREENSHOT_DIR`` when it is set
(``docs/screenshots`` holds the committed ones).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, dashboard, open_offline, painted
from test_browser_workspace import TIMEOUT, assert_clean, nav, open_app, settle, table_with

from grid_planning.meeting import compare as c

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]

COMPARE_FRAME = "iframe[title='方案对比地图']"
CHANGES_FRAME = "iframe[title='改变所属网格的单元地图']"
PRESENT_FRAME = "iframe[title='方案演示地图']"
NAMES = {3: "方案甲 三网格", 4: "方案乙 四网格", 5: "方案丙 五网格"}


def _shot(page, tmp_path: Path, name: str) -> Path:
    """A screenshot of the viewport, kept in ``tmp_path`` and copied to ``$GRID_SCREENSHOT_DIR``."""
    path = tmp_path / name
    page.screenshot(path=str(path))
    if os.environ.get("GRID_SCREENSHOT_DIR"):
        (Path(os.environ["GRID_SCREENSHOT_DIR"]) / name).write_bytes(path.read_bytes())
    assert path.stat().st_size > 50_000  # a blank page is a few kilobytes
    return path


@pytest.fixture(scope="module")
def meeting(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A dashboard whose store (under its ``GRID_PLANNER_HOME``) already holds two options of the
    sample city, saved as the plan page saves them: (url, home)."""
    from grid_planning.city.provenance import load_sample_city
    from grid_planning.domain.request import PlanRequest
    from grid_planning.session.workspace import Workspace
    from grid_planning.store.scenarios import ScenarioStore

    home = tmp_path_factory.mktemp("meeting_home")
    store = ScenarioStore(home / "scenarios.sqlite")
    ws = Workspace(load_sample_city(), request=PlanRequest(k=3))
    for k in (3, 4):
        ws.set_request(k=k)
        assert ws.run().ok
        ws.save(store, NAMES[k], note=f"k = {k}")
    with dashboard(home) as url:
        yield url, home


def settled(condition: str) -> str:
    """A page function of one argument (``arg``) that is true once no map is moving, every map
    shows the first one's view (what :func:`_same_view` checks) and ``condition`` holds."""
    return f"""(arg) => {{
  const moving = window.gpMaps.some(m => m._animatingZoom || (m._panAnim && m._panAnim._inProgress));
  const v = window.gpView();
  return !moving && v.every(w => w.zoom === v[0].zoom && Math.abs(w.lat - v[0].lat) < 0.01
                           && Math.abs(w.lng - v[0].lng) < 0.01) && ({condition}); }}"""


def _same_view(a: dict, b: dict) -> bool:
    """Two maps show the same view: one zoom, centres within a pixel or two (Leaflet rounds the
    pixel origin of a map that is dragged)."""
    return a["zoom"] == b["zoom"] and abs(a["lat"] - b["lat"]) < 0.01 and abs(a["lng"] - b["lng"]) < 0.01


def _scroll_to(page, heading: str) -> None:
    """Scroll the page so that a section's heading is at the top."""
    page.get_by_role("heading", name=heading, exact=True).evaluate("e => e.scrollIntoView({block: 'start'})")
    painted(page)


def _frame(page, selector: str):
    page.wait_for_selector(selector, timeout=TIMEOUT)
    frame = page.locator(selector).element_handle().content_frame()
    frame.wait_for_function("() => window.gpMaps && window.gpMaps.length && window.gpMaps[0]._loaded",
                            timeout=TIMEOUT)
    frame.wait_for_selector(".leaflet-overlay-pane canvas", state="attached", timeout=TIMEOUT)
    return frame


def _save_through_the_plan_page(page, url: str) -> None:
    open_app(page, url)
    nav(page, "规划网格")
    k = page.get_by_role("spinbutton", name="网格数 k")
    k.fill("5")
    k.press("Enter")
    settle(page)
    page.get_by_role("button", name="运行规划").click()
    page.get_by_text("已完成：5 个网格").wait_for(timeout=TIMEOUT)
    settle(page)
    page.get_by_role("tab", name="方案保存与载入").click()
    box = page.get_by_role("textbox", name="方案名称")
    box.fill(NAMES[5])
    box.press("Enter")
    settle(page)
    page.get_by_role("button", name="保存当前方案").click()
    page.get_by_text(f"已保存方案「{NAMES[5]}」。").wait_for(timeout=TIMEOUT)
    settle(page)


def test_compare_two_options_then_present_them(meeting, chromium, tmp_path):
    url, home = meeting
    page = open_offline(chromium, width=1600, height=1000)
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _save_through_the_plan_page(page, url)

        # The scenarios page lists three options and leads to the comparison.
        nav(page, "方案管理")
        page.get_by_role("link", name="比较方案").click()
        page.wait_for_selector(COMPARE_FRAME, timeout=TIMEOUT)
        settle(page)
        # The two most recent are picked: the one just saved and k = 4.
        picked = page.get_by_test_id("stMultiSelect").filter(has_text="要比较的方案").inner_text()
        assert NAMES[5] in picked and NAMES[4] in picked and NAMES[3] not in picked

        # Two maps at one extent; panning one and zooming another moves both.
        frame = _frame(page, COMPARE_FRAME)
        assert frame.evaluate("() => window.gpMaps.length") == 2
        start = frame.evaluate("() => window.gpView()")
        assert start[0] == start[1]
        box = page.locator(COMPARE_FRAME).bounding_box()
        x1, y = box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.55
        page.mouse.move(x1, y)
        page.mouse.down()
        page.mouse.move(x1 - 120, y + 70, steps=8)
        page.mouse.up()
        frame.wait_for_function(settled("Math.abs(v[0].lat - arg) > 0.1"),
                                arg=start[0]["lat"], timeout=10_000)
        panned = frame.evaluate("() => window.gpView()")
        assert abs(panned[0]["lat"] - start[0]["lat"]) > 0.1  # moved ~120 px
        assert _same_view(panned[0], panned[1])
        x2 = box["x"] + box["width"] * 0.75
        page.mouse.move(x2, y)
        page.mouse.wheel(0, -400)
        frame.wait_for_function(settled("v[1].zoom > arg"), arg=panned[1]["zoom"],
                                timeout=10_000)
        zoomed = frame.evaluate("() => window.gpView()")
        assert zoomed[1]["zoom"] > panned[1]["zoom"]
        assert _same_view(zoomed[0], zoomed[1])
        # "Whole city" on one map brings both back to where they opened.
        frame.locator("a.gp-home").first.click()
        frame.wait_for_function(settled("v[1].zoom === arg"), arg=start[0]["zoom"],
                                timeout=10_000)
        home_view = frame.evaluate("() => window.gpView()")
        assert _same_view(home_view[0], start[0]) and _same_view(home_view[1], start[0])
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] - 40)  # no tooltip in the pictures

        # One table of figures with both options; the units that change grid, listed.
        rows = {r["指标"]: r for r in table_with(page, "指标")}
        label_a, label_b = f"1 · {NAMES[5]}", f"2 · {NAMES[4]}"
        assert (rows["网格数"][label_a], rows["网格数"][label_b], rows["网格数"]["不同"]) == ("5", "4", "≠")
        assert rows["已覆盖居民"][label_a] == rows["已覆盖居民"][label_b] == "12,326,518"
        summary = page.get_by_text(f"从“{label_a}”到“{label_b}”").inner_text()
        n_units = int(summary.split("，")[1].split(" 个单元")[0].replace(",", ""))
        assert n_units > 0
        listed = table_with(page, "原属网格（牵头医院）")
        assert listed and all(r["原属网格（牵头医院）"] != r["改属网格（牵头医院）"] for r in listed)
        _frame(page, CHANGES_FRAME)
        assert_clean(page)
        _scroll_to(page, "地图")
        _shot(page, tmp_path, "meeting_compare_1600x1000.png")
        _scroll_to(page, "指标对比")
        _shot(page, tmp_path, "meeting_compare_figures_1600x1000.png")

        # Presentation mode: the two options, the first on screen; the right arrow shows the next.
        page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
        page.get_by_role("link", name="以演示模式放映这些方案").click()
        present = _frame(page, PRESENT_FRAME)
        settle(page)
        assert page.get_by_test_id("stSidebar").is_hidden()
        assert present.locator("#mark").inner_text() == "1 / 2"
        assert present.locator("#name").inner_text() == NAMES[5]
        page.keyboard.press("ArrowRight")
        present.wait_for_function("() => document.getElementById('mark').textContent === '2 / 2'", timeout=5_000)
        assert present.locator("#name").inner_text() == NAMES[4]
        shown = dict(zip(present.locator(".fig .l").all_inner_texts(), present.locator(".fig .v").all_inner_texts(),
                         strict=True))
        # The figures on screen are the option's, as the library computes them from the same store.
        from grid_planning.city.provenance import load_sample_city
        from grid_planning.store.scenarios import ScenarioStore

        store = ScenarioStore(home / "scenarios.sqlite")
        option = c.load_option(store, NAMES[4], load_sample_city(), lang="zh")
        assert shown == {label: value for _, label, value in c.key_figures(option, "zh")}
        assert shown["网格数"] == "4"
        assert present.locator(".tab[aria-selected='true']").inner_text() == f"2 · {NAMES[4]}"
        # With the focus inside the map (a click on it) the keys work too.
        present.locator("#map").click(position={"x": 300, "y": 300})
        page.keyboard.press("ArrowLeft")
        present.wait_for_function("() => document.getElementById('mark').textContent === '1 / 2'", timeout=5_000)
        painted(page)
        _shot(page, tmp_path, "meeting_present_1600x1000.png")
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.wait_for_timeout(1200)
        present.locator("#next").click()
        present.wait_for_function("() => document.getElementById('mark').textContent === '2 / 2'", timeout=5_000)
        page.wait_for_timeout(600)
        bottom = page.locator(PRESENT_FRAME).bounding_box()
        assert bottom["y"] + bottom["height"] <= 1080 + 1  # the map fills the window, no more
        _shot(page, tmp_path, "meeting_present_1920x1080.png")
        assert_clean(page)

        # Back to the comparison (the same two options), at 1920×1080.
        page.get_by_role("link", name="返回方案比较").click()
        _frame(page, COMPARE_FRAME)
        settle(page)
        assert page.get_by_test_id("stSidebar").is_visible()
        picked = page.get_by_test_id("stMultiSelect").filter(has_text="要比较的方案").inner_text()
        assert NAMES[5] in picked and NAMES[4] in picked
        _scroll_to(page, "地图")
        _shot(page, tmp_path, "meeting_compare_1920x1080.png")
        # The presentation's keys went with it: arrows on this page change nothing and break nothing.
        page.keyboard.press("ArrowRight")
        painted(page)
        assert_clean(page)
        assert dialogs == [] and errors == []
    finally:
        page.close()


def test_hostile_names_in_the_presentation_are_text(chromium, tmp_path):
    """A presentation page whose option and hospital names are markup shows them as text and runs
    nothing (no dialog), opened from a file with the network cut off."""
    from dataclasses import replace

    from plan_fixtures import make_costs, make_layers, make_plan

    from grid_planning.meeting.meetingmap import present_html

    name = '<img src=x onerror="alert(1)">{{7*7}}'
    city = make_layers()
    fac = city.facilities.copy()
    fac.loc[fac["id"] == "F1", "name"] = "</script><script>alert(2)</script>"
    city = replace(city, facilities=fac)
    options = [c.plan_option(city, make_plan(), name, make_costs(), key=1),
               c.plan_option(city, make_plan(), "B", make_costs(), key=2)]
    path = tmp_path / "present.html"
    path.write_text(present_html(city, options, "zh"), encoding="utf-8")
    page = open_offline(chromium, width=1280, height=800)
    page.route("file://**", lambda r: r.continue_())
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(path.as_uri())
        page.wait_for_function("() => window.gpCurrent && window.gpCurrent() === 0")
        assert page.locator("#name").inner_text() == name
        legend = page.locator(".legendbox").inner_text()
        assert "</script><script>alert(2)</script>"[:12] in legend
        page.keyboard.press("ArrowRight")
        assert page.locator("#mark").inner_text() == "2 / 2"
        painted(page)
        assert dialogs == [] and page.external == []
        assert page.locator("img").count() == 0
    finally:
        page.close()
