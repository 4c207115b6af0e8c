"""The plan page's G9 tab in headless Chromium on the sample city (its 65+ figures are WorldPop's):
the factors by grid add up to the city's, and an age weight set in the tab re-plans with the
weights stated. Every figure is read from the page.

A page image goes to ``$GRID_SCREENSHOT_DIR`` when it is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, open_offline
from test_browser_workspace import TIMEOUT, assert_clean, open_app, plan_k4, settle, table_with

from grid_planning.base.i18n import t

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]

DEMAND = t("g9.col.demand", "zh")


def _number(cell: str) -> float:
    text = cell.replace(",", "").replace("%", "").replace("\u00a0", "").strip()
    return float("nan") if text in ("", "—") else float(text)


def _panel(page) -> dict[str, dict[str, float]]:
    rows = table_with(page, DEMAND)
    return {r["网格"]: {k: _number(v) for k, v in r.items() if k != "网格"} for r in rows}


def open_tab(page, marker: str) -> str:
    """Open the G9 tab until its text shows ``marker`` (a rerun as the map reports back can land on
    the click and redraw the first tab); the page's text."""
    for _ in range(8):
        page.get_by_role("tab", name=t("g9.tab", "zh")).click()
        settle(page)
        body = page.inner_text("body")
        if marker in body:
            return body
    pytest.fail(f"the G9 tab never showed {marker!r}")


def test_g9_tab_adds_up_and_replans_with_an_age_weight(app_url, chromium):
    page = open_offline(chromium, width=1440, height=1500)
    try:
        open_app(page, app_url)
        plan_k4(page)
        open_tab(page, t("g9.weights.none", "zh"))
        panel = _panel(page)
        city = panel.pop("全市")
        assert city["常住人口"] == 12_326_518 and city["65岁及以上"] == 1_283_850  # SOURCES.md sums
        for col in ("常住人口", "65岁及以上", DEMAND):
            assert sum(g[col] for g in panel.values()) == pytest.approx(city[col], abs=len(panel))
        before = {g: r["常住人口"] for g, r in panel.items()}

        age = page.get_by_role("spinbutton", name=t("g9.ui.age_weight", "zh"))
        age.fill("1")
        age.press("Tab")
        page.get_by_role("button", name=t("g9.ui.apply", "zh")).click()
        page.get_by_text("已完成：4 个网格").wait_for(timeout=TIMEOUT)
        settle(page)
        body = open_tab(page, "本方案的 G9 权重：年龄权重 1（每位 65 岁及以上居民另计 1 人）。")
        assert "本方案按 G9 加权需求均衡（年龄权重 1）" in body  # the note under the grid table
        after = _panel(page)
        assert after["全市"][DEMAND] == pytest.approx(12_326_518 + 1_283_850, abs=1)
        assert {g: r["常住人口"] for g, r in after.items() if g != "全市"} != before
        # the sidebar's ±10 % bounds the weighted demand's deviation, shown per grid
        assert max(abs(r["需求偏差"]) for g, r in after.items() if g != "全市") <= 10.0
        assert_clean(page)
        shots = os.environ.get("GRID_SCREENSHOT_DIR")
        if shots:
            page.screenshot(path=str(Path(shots) / "plan_g9_tab.png"), full_page=True)
    finally:
        page.close()
