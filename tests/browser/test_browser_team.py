"""A team server end to end: two dashboard processes on different ports share one PostgreSQL store.
A plan saved through the browser in one is opened through the browser in the other, and the plan the
second shows is the one the first saved (every grid's figures read from the pages).

Needs Debian chromium and a PostgreSQL server (``GRID_PLANNER_TEST_PG_URL``; ``.ci/run`` starts one).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import (
    HAS_CHROMIUM,
    NO_CHROMIUM,
    open_offline,
    start_dashboard,
    stop_dashboard,
    wait_ready,
)
from store_fixtures import PG_URL, drop_schema, new_schema, require_pg
from test_browser_workspace import (
    TIMEOUT,
    assert_clean,
    grid_table,
    nav,
    open_app,
    settle,
    table_with,
)

pytestmark = [pytest.mark.browser, pytest.mark.postgres,
              pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Iterator[tuple[str, str, str]]:
    """Two dashboards (each its own home folder) on one PostgreSQL schema: (url A, url B, schema)."""
    require_pg()
    schema = new_schema()
    # A shared store without sign-in is view-only unless the administrator lists "local" among
    # the admins (issue 18): that explicit choice is made here.
    servers = [start_dashboard(tmp_path_factory.mktemp(f"home_{n}"), store_url=PG_URL, store_schema=schema,
                               admins="local")
               for n in "ab"]
    try:
        for proc, url in servers:
            wait_ready(proc, url)
        yield servers[0][1], servers[1][1], schema
    finally:
        for proc, _ in servers:
            stop_dashboard(proc)
        drop_schema(schema)


def test_saved_in_one_dashboard_opened_in_the_other(team, chromium):
    url_a, url_b, schema = team
    name = "团队方案 甲"
    a = open_offline(chromium, width=1600, height=1400)
    b = open_offline(chromium, width=1600, height=1400)
    try:
        # Dashboard A: plan k = 3 and save it from the plan page's scenario tab.
        open_app(a, url_a)
        nav(a, "规划网格")
        k = a.get_by_role("spinbutton", name="网格数 k")
        k.fill("3")
        k.press("Enter")
        settle(a)
        a.get_by_role("button", name="运行规划").click()
        a.get_by_text("已完成：3 个网格").wait_for(timeout=TIMEOUT)
        settle(a)
        saved_table = grid_table(a)
        assert list(saved_table) == ["G1", "G2", "G3"]
        a.get_by_role("tab", name="方案保存与载入").click()
        a.get_by_role("textbox", name="方案名称").fill(name)
        a.get_by_role("textbox", name="方案名称").press("Enter")
        settle(a)
        a.get_by_role("button", name="保存当前方案").click()
        a.get_by_text(f"已保存方案「{name}」。").wait_for(timeout=TIMEOUT)
        assert "PostgreSQL" in a.inner_text("body")  # the panel says where scenarios are kept
        assert_clean(a)

        # Dashboard B, another process: the scenarios page lists it; open it.
        open_app(b, url_b)
        nav(b, "方案管理")
        b.get_by_role("button", name="打开方案").wait_for(timeout=TIMEOUT)
        settle(b)
        listed = table_with(b, "所有者")
        assert [(r["方案"], r["网格数"], r["所有者"], r["所用数据"]) for r in listed] == [
            (name, "3", "本机用户", "✓ 当前数据")]
        b.get_by_role("button", name="打开方案").click()
        b.get_by_text(f"已打开方案「{name}」。").wait_for(timeout=TIMEOUT)
        settle(b)
        nav(b, "规划网格")
        b.get_by_text(f"当前方案：「{name}」。").first.wait_for(state="attached", timeout=TIMEOUT)
        shown = grid_table(b)
        assert shown == saved_table  # every grid, lead and figure as saved
        assert_clean(b)
    finally:
        a.close()
        b.close()
    # And the database holds it as a GIS client would read it.
    import psycopg

    with psycopg.connect(PG_URL) as con:
        rows = con.execute(f'SELECT scenario, grid_id, ST_GeometryType(geom) FROM "{schema}".scenario_grid_map '
                           "ORDER BY grid_id").fetchall()
    assert rows == [(name, g, "ST_MultiPolygon") for g in ("G1", "G2", "G3")]
