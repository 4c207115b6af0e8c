"""The planning workspace end to end in headless Debian Chromium, offline: run a plan, click a unit
on the map, move it to another grid, undo; pick a hospital on the map; read the coverage and
member pages. One server and one browser session for the module (the plan carries over).

Every figure asserted is read from the page (the grid table's accessible table, the metrics, the
check panel), never from the server's memory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, asked, benchmark_module, idle, open_offline, painted

from grid_planning.base.i18n import t

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]

MAP_IFRAME = "iframe[title*='st_folium']"
TIMEOUT = 90_000
#: What Streamlit shows when a script raises (page_guard should make it unreachable).
TRACEBACK_MARKERS = ("Traceback", "Error:", "Exception:")
#: The start of the message page_guard shows instead of a traceback (catalogue key app.error).
GUARD_MESSAGE = "出错了："


# ---- helpers ------------------------------------------------------------------------------------
def settle(page, ms: int = 400) -> None:
    """Wait a fixed time, for the "running" indicator to go, and again (the other browser modules'
    wait; this module waits on the counted script runs instead: :func:`conftest.idle`)."""
    page.wait_for_timeout(ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid^=\"stStatusWidgetRunning\"]')",
        timeout=TIMEOUT,
    )
    page.wait_for_timeout(ms)


def map_frame(page):
    """The Leaflet frame of the page's (single) st_folium map, once its layers are drawn."""
    page.wait_for_selector(MAP_IFRAME, timeout=TIMEOUT)
    handle = page.locator(MAP_IFRAME).last.element_handle()
    frame = handle.content_frame()
    frame.wait_for_function("() => window.map && window.map._loaded", timeout=TIMEOUT)
    frame.wait_for_selector(".leaflet-overlay-pane canvas", state="attached", timeout=TIMEOUT)
    return frame


def tables(page) -> list[list[list[str]]]:
    """Every data grid on the page as rows of cell texts (from their accessible tables)."""
    return [
        t.evaluate("t => [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim()))")
        for t in page.locator("[data-testid='stDataFrame'] table").all()
    ]


def table_with(page, column: str) -> list[dict[str, str]]:
    """The rows of the (first) data grid that has a column headed ``column``."""
    for _ in range(40):  # a data grid draws its accessible table a moment after it appears
        rows = next((r for r in tables(page) if r and column in r[0]), None)
        if rows:
            return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        page.wait_for_timeout(250)
    pytest.fail(f"no table with a column {column!r} on the page")


def grid_table(page) -> dict[str, dict[str, str]]:
    """The per-grid tables of the plan page (size, then access) as {grid: {column: cell}}."""
    access = {r["网格"]: r for r in table_with(page, "30 分钟内（%）")}
    return {r["网格"]: {**r, **access[r["网格"]]} for r in table_with(page, "面积（km²）")}


def pct(cell: str) -> float:
    """A percentage cell ("55.7%") as a number."""
    return float(cell.rstrip("%").replace("\u00a0", ""))


def populations(table: dict[str, dict[str, str]]) -> dict[str, int]:
    return {g: int(float(r["常住人口"].replace(",", ""))) for g, r in table.items()}


def metric(page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True)).first
    return box.get_by_test_id("stMetricValue").inner_text().strip()


def assert_clean(page) -> None:
    """No exception block, no traceback text, no request left the machine."""
    assert page.get_by_test_id("stException").count() == 0
    text = page.inner_text("body")
    for marker in (*TRACEBACK_MARKERS, GUARD_MESSAGE):
        assert marker not in text, f"{marker!r} on the page: {text[text.find(marker) - 200:][:600]}"
    assert page.external == [], f"external requests attempted: {page.external}"


def choose(page, label: str, option: str) -> None:
    """Pick the option matching the regex ``option`` in the selectbox labelled ``label``.

    A rerun that lands while the list is open (the map reporting back) closes it: try again.
    """
    box = page.get_by_test_id("stSelectbox").filter(has_text=label)
    for _ in range(4):
        idle(page)
        box.click()
        item = page.get_by_role("option", name=re.compile(option))
        try:
            item.click(timeout=5_000)
        except Exception:  # noqa: BLE001 - the list closed under us; reopen it
            page.keyboard.press("Escape")
            continue
        if re.search(option, box.get_by_role("combobox").input_value()):
            idle(page)  # a choice that asks for a run (not one inside a form) asks at once
            return
    pytest.fail(f"could not choose {option!r} in {label!r}")


def open_app(page, url: str) -> None:
    """Open the dashboard at ``url`` and wait until its navigation is drawn."""
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_test_id("stSidebarNav").wait_for(timeout=TIMEOUT)


def nav(page, title: str) -> None:
    n = asked(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    idle(page, since=n)


def upload_and_choose(page, units, facilities, city: str) -> None:
    """On the data page, as a planner does: the two files uploaded, the city named, validated,
    and the uploaded data chosen."""
    nav(page, t("app.nav.data", "zh"))
    for slot, path in (("units", units), ("facilities", facilities)):
        uploader = page.get_by_test_id("stFileUploader").filter(has_text=t(f"data.slot.{slot}", "zh"))
        uploader.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("textbox", name=t("data.city_name", "zh")).fill(city)
    page.get_by_role("button", name=t("data.validate", "zh")).click()
    choice = t("data.use.uploaded", "zh", name=city)
    page.get_by_text(choice, exact=True).wait_for(timeout=TIMEOUT)
    settle(page)
    page.get_by_text(choice, exact=True).click()
    settle(page)


def pick_unit() -> tuple[str, int, float, float]:
    """A populous sample unit well away from any facility marker: (id, population, lon, lat)."""
    return benchmark_module("bench_load").pick_units(1)[0]


def click_lonlat(page, lon: float, lat: float, zoom: int = 12) -> None:
    """Zoom the map onto a point and click it with the mouse (a real click on the canvas)."""
    frame = map_frame(page)
    frame.evaluate(
        "([lat, lon, z]) => { window.map.setView([lat, lon], z, {animate: false}); return null; }",
        [lat, lon, zoom],
    )
    painted(frame)  # the canvas redrawn at the new zoom
    xy = frame.evaluate(
        "([lat, lon]) => {const p = window.map.latLngToContainerPoint([lat, lon]);"
        " const r = window.map.getContainer().getBoundingClientRect();"
        " return [p.x + r.left, p.y + r.top];}",
        [lat, lon],
    )
    box = page.locator(MAP_IFRAME).last.bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])


# ---- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def session(app_url, chromium):
    """One planner's browser session, opened at the home page as a user would."""
    page = open_offline(chromium, width=1600, height=1400)
    open_app(page, app_url)
    map_frame(page)
    yield page
    page.close()


def plan_k4(page) -> None:
    """Run a k = 4 plan from the plan page and wait for its confirmation."""
    nav(page, "规划网格")
    k = page.get_by_role("spinbutton", name="网格数 k")
    k.fill("4")
    k.press("Enter")  # asks for a run only if k was not 4 already (the box commits on Enter)
    idle(page)
    n = asked(page)
    page.get_by_role("button", name="运行规划").click()
    page.get_by_text("已完成：4 个网格").wait_for(timeout=TIMEOUT)
    idle(page, since=n)


@pytest.fixture(scope="module")
def planned(session):
    """The plan page after a k=4 run."""
    page = session
    plan_k4(page)
    map_frame(page)
    page.get_by_text("各网格指标").wait_for(timeout=TIMEOUT)
    return page


# ---- scenarios ----------------------------------------------------------------------------------
def test_first_visit_straight_to_the_plan_page_gets_the_app_shell(app_url, chromium):
    # Must run first in the module: the server has not run app.py yet (a bookmark after a restart).
    # Streamlit then serves the page from its pages/ folder fallback; pages._common.ensure_navigation
    # sends the run through app.py and back, so the shell (navigation, language, layout) is there.
    page = open_offline(chromium)
    try:
        page.goto(f"{app_url}/plan", wait_until="domcontentloaded")
        page.get_by_role("button", name="运行规划").wait_for(timeout=TIMEOUT)
        idle(page)
        sidebar = page.get_by_test_id("stSidebar").inner_text()
        assert "规划工作区" in sidebar and "语言 / Language" in sidebar
    finally:
        page.close()


def test_run_plan_k4_shows_grids_figures_and_checks(planned):
    page = planned
    table = grid_table(page)
    assert list(table) == ["G1", "G2", "G3", "G4"]
    pops = populations(table)
    assert all(p > 0 for p in pops.values())
    city = int(metric(page, "全市常住人口").replace(",", ""))
    assert city == 12_326_518
    assert abs(sum(pops.values()) - city) <= 4  # each grid rounded to a person
    assert metric(page, "连通的网格") == "4/4"
    # The check panel: its summary sentence matches the lines spelled out beneath it.
    text = page.inner_text("body")
    assert "政策检查 G1–G8" in text
    summary = re.search(r"无未通过项；(\d+) 项提示需要留意|全部通过", text)
    assert summary, text[:2000]
    n_warn = int(summary.group(1)) if summary.group(1) else 0
    assert len(re.findall(r"^⚠ G\d+ · ", text, flags=re.M)) == n_warn
    # Every rule G1-G5 is in the full check table, with a status per grid.
    page.get_by_text(re.compile(r"全部 \d+ 项检查结果")).click()
    page.get_by_test_id("stExpander").filter(has_text=re.compile(r"全部 \d+ 项检查结果")).get_by_test_id(
        "stDataFrame"
    ).wait_for(state="visible", timeout=TIMEOUT)  # the expander opens in the browser: no run
    painted(page)
    rules = {r["规则"] for r in table_with(page, "规则")}
    assert {"G1", "G2", "G3", "G4", "G5"} <= rules
    assert_clean(page)


def test_click_unit_on_map_move_it_and_undo(planned, tmp_path):
    page = planned
    before = populations(grid_table(page))
    uid, pop, lon, lat = pick_unit()

    n = asked(page)
    click_lonlat(page, lon, lat)
    caption = page.get_by_text(re.compile(r"已选 1 个单元，人口 [\d,]+，当前属于 G\d"))
    caption.wait_for(timeout=TIMEOUT)
    idle(page, since=n)
    m = re.search(r"已选 1 个单元，人口 ([\d,]+)，当前属于 (G\d)", caption.inner_text())
    assert int(m.group(1).replace(",", "")) == pop
    source = m.group(2)
    # The unit is the one picked by id in the edit list too, and outlined on the re-drawn map.
    assert uid in page.get_by_test_id("stMultiSelect").filter(has_text="按名称或编号选择单元").inner_text()
    frame = map_frame(page)
    outlined = frame.evaluate(
        "() => {let n = 0; window.map.eachLayer(l => { if (l.feature && l.options"
        " && l.options.color === '#0050ff' && l.options.fill === false) n++; }); return n;}"
    )
    assert outlined == 1
    # The re-drawn map stays where the planner was looking (not back to the whole city).
    assert frame.evaluate("() => window.map.getZoom()") == 12
    painted(frame)
    page.screenshot(path=str(tmp_path / "plan_edit.png"), full_page=False)
    if os.environ.get("GRID_SCREENSHOT_DIR"):  # refresh docs/screenshots on request
        out = Path(os.environ["GRID_SCREENSHOT_DIR"]) / "workspace_plan_edit.png"
        out.write_bytes((tmp_path / "plan_edit.png").read_bytes())

    # Move it to another grid with the page's controls.
    target = next(g for g in before if g != source)
    choose(page, "移入网格", rf"^{target} · ")
    n = asked(page)
    page.get_by_role("button", name="移动", exact=True).click()
    page.get_by_text(f"上一步：将 1 个单元移入 {target}", exact=True).wait_for(timeout=TIMEOUT)
    idle(page, since=n)
    after = populations(grid_table(page))
    assert after[source] == pytest.approx(before[source] - pop, abs=1)
    assert after[target] == pytest.approx(before[target] + pop, abs=1)
    assert {g: p for g, p in after.items() if g not in (source, target)} == {
        g: p for g, p in before.items() if g not in (source, target)
    }
    assert sum(after.values()) == pytest.approx(sum(before.values()), abs=4)

    n = asked(page)
    page.get_by_role("button", name="↶ 撤销").click()
    page.get_by_text("上一步：规划（4 个网格）", exact=True).wait_for(timeout=TIMEOUT)
    idle(page, since=n)
    assert populations(grid_table(page)) == before
    assert metric(page, "连通的网格") == "4/4"
    assert_clean(page)


def test_click_lead_marker_picks_the_hospital(planned):
    page = planned
    leads = {g: r["牵头医院"] for g, r in grid_table(page).items()}
    n = asked(page)
    page.get_by_text("选择医院", exact=True).click()
    idle(page, since=n)
    frame = map_frame(page)
    frame.evaluate("() => { window.map.setZoom(10, {animate: false}); return null; }")
    painted(frame)  # the markers placed at the new zoom
    frame.locator(".gp-lead").first.click()
    info = page.get_by_text(re.compile(r"已选医院："))
    info.wait_for(timeout=TIMEOUT)
    assert any(name.rstrip("…") in info.inner_text() for name in leads.values())
    assert page.get_by_role("button", name="指定为牵头医院").count() + page.get_by_role(
        "button", name="排除出牵头医院"
    ).count() >= 1
    assert_clean(page)


def _what_if_position(page) -> tuple[float, float]:
    """The what-if "add a planned hospital" form's longitude and latitude, as the page shows them."""
    page.get_by_role("tab", name="假设分析").click()
    page.get_by_role("tab", name="新建规划医院").click()  # tabs switch in the browser: no run
    lon = page.get_by_role("spinbutton", name="经度（WGS84）")
    lon.wait_for(timeout=TIMEOUT)
    return float(lon.input_value()), float(page.get_by_role("spinbutton", name="纬度（WGS84）").input_value())


def test_a_planned_hospital_starts_at_the_city_centre_then_where_the_map_was_clicked(planned):
    from grid_planning.city.provenance import load_sample_city
    from grid_planning.session.plan_page import city_centre

    page = planned
    assert _what_if_position(page) == city_centre(load_sample_city())  # not a fixed Wuhan point
    _uid, _pop, lon, lat = pick_unit()
    n = asked(page)
    page.get_by_text("放置新医院", exact=True).click()
    idle(page, since=n)
    n = asked(page)
    click_lonlat(page, lon, lat)
    idle(page, since=n)  # the map's frame posts the click; its run is over
    placed = _what_if_position(page)
    # One screen pixel at zoom 12 is about 30 m (0.0003 degrees).
    assert placed == pytest.approx((lon, lat), abs=1e-3)
    n = asked(page)
    page.get_by_text("选择单元", exact=True).click()  # leave the map selecting units again
    idle(page, since=n)
    assert_clean(page)


def test_coverage_and_members_pages_read_the_plan(planned):
    page = planned
    table = grid_table(page)
    share30 = metric(page, "30 分钟内到达牵头医院")
    leads = {g: r["牵头医院"] for g, r in table.items()}

    nav(page, "覆盖与可达性")
    page.get_by_text("各网格覆盖率（%，参考标尺）").wait_for(timeout=TIMEOUT)
    frame = map_frame(page)
    assert frame.locator(".gp-legend").count() >= 1
    share15_city = metric(page, "15 分钟内人口占比")
    assert re.fullmatch(r"\d{1,3}\.\d%", share15_city)
    # The same yardstick on both pages: share of residents within 30 minutes of their lead.
    assert metric(page, "30 分钟内人口占比") == share30
    by_grid = {r["网格"].split(" · ")[0]: r for r in table_with(page, "牵头医院 30 分钟")}
    assert set(by_grid) == {"G1", "G2", "G3", "G4", "全市"}
    for g, r in table.items():
        assert pct(by_grid[g]["牵头医院 30 分钟"]) == pytest.approx(pct(r["30 分钟内（%）"]), abs=0.05)
    assert by_grid["全市"]["牵头医院 30 分钟"] == share30
    assert_clean(page)

    nav(page, "成员名单")
    page.get_by_text("牵头医院", exact=True).wait_for(timeout=TIMEOUT)
    text = page.inner_text("body")
    assert leads["G1"].rstrip("…") in text
    assert metric(page, "常住人口") == f"{populations(table)['G1']:,}"
    roster = page.locator("[data-testid='stTable']")
    roster.first.wait_for(timeout=TIMEOUT)  # the rosters come after the figures: wait for them
    assert roster.count() >= 1
    assert_clean(page)
