"""The members and checklist tables at the laptop widths commissions use (1366 and 1440 px): every
column is on screen, inside its table, wide enough to read, and no table scrolls sideways (issue 16).
On main both were data grids whose last columns lay beyond the right edge (the checklist's evidence
column, the roster's source and id) and whose long texts were cut.

Page images go to ``$GRID_SCREENSHOT_DIR`` when it is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, open_offline
from test_browser_workspace import TIMEOUT, assert_clean, nav, open_app, plan_k4, settle

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]

#: Per table: its box, the box of its scrolling container, and every header cell's box.
TABLES = """() => [...document.querySelectorAll('[data-testid="stTable"]')].map(t => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {x0: r.left, x1: r.right, w: r.width}; };
  const table = t.querySelector('table');
  return {
    table: box(table), outer: box(t),
    overflow: t.scrollWidth - t.clientWidth,
    heads: [...table.querySelectorAll('thead th')].map(h => ({text: h.innerText.trim(), ...box(h)})),
  };
})"""


@pytest.fixture(scope="module")
def planned(app_url, chromium):
    page = open_offline(chromium, width=1366, height=900)
    open_app(page, app_url)
    plan_k4(page)
    yield page
    page.close()


@pytest.mark.parametrize("width", [1366, 1440])
@pytest.mark.parametrize(("title", "expected"), [("成员名单", ("名称", "数据来源", "编号")),
                                                 ("评价清单", ("评价内容", "状态", "依据"))])
def test_every_column_of_the_table_is_on_screen(planned, width, title, expected):
    page = planned
    page.set_viewport_size({"width": width, "height": 900})
    nav(page, title)
    page.locator("[data-testid='stTable']").first.wait_for(timeout=TIMEOUT)
    settle(page)
    tables = page.evaluate(TABLES)
    assert tables
    heads = [h["text"] for h in tables[0]["heads"]]
    for word in expected:
        assert any(word in h for h in heads), (word, heads)
    for t in tables:
        assert t["overflow"] <= 1, t  # nothing to scroll sideways to
        for h in t["heads"]:
            assert h["x0"] >= t["outer"]["x0"] - 1 and h["x1"] <= t["outer"]["x1"] + 1, (h, t["outer"])
            assert h["x1"] <= width, h
            assert h["w"] >= 28, h  # a readable column, not a sliver
    shots = os.environ.get("GRID_SCREENSHOT_DIR")
    if shots:
        target = page.locator("[data-testid='stTable']").first
        target.scroll_into_view_if_needed()
        page.screenshot(path=str(Path(shots) / f"table_{title}_{width}.png"))
    assert_clean(page)
