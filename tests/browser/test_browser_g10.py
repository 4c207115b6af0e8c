"""G10 in the browser (issue 17): one click on a conversion suggestion of the plan page turns it
into a what-if and re-plans; the what-if then shows as a G10 conversion in the G10 list, the
what-if tab and the undo button, and taking it back restores the suggestion.

Headless Debian Chromium, offline, the sample city at k = 4. Everything asserted is read from the
page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, open_offline
from test_browser_workspace import TIMEOUT, assert_clean, open_app, plan_k4, settle

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]


@pytest.fixture(scope="module")
def planned(app_url, chromium):
    page = open_offline(chromium, width=1600, height=1400)
    open_app(page, app_url)
    plan_k4(page)
    yield page
    page.close()


def _g10(page):
    """The G10 expander, opened."""
    box = page.get_by_test_id("stExpander").filter(has_text=re.compile(r"G10 转型建议 · \d+")).first
    box.wait_for(timeout=TIMEOUT)
    if not box.get_by_role("button", name=re.compile("转为")).first.is_visible():
        box.get_by_text(re.compile(r"G10 转型建议 · \d+")).click()
        settle(page)
    return box


def test_one_click_turns_a_suggestion_into_a_what_if(planned, tmp_path):
    page = planned
    box = _g10(page)
    count = int(re.search(r"G10 转型建议 · (\d+)", box.inner_text()).group(1))
    assert count > 0
    first = box.get_by_test_id("stMarkdown").filter(has_text="张床").first.inner_text()
    fid = first.split()[0]  # the line starts with the hospital's id
    box.get_by_role("button", name="转为康复医院").first.click()
    page.get_by_text(re.compile(r"假设情景：" + re.escape(fid) + r" .*转为康复医院")).wait_for(timeout=TIMEOUT)
    settle(page)
    box = _g10(page)
    assert f"G10 转型建议 · {count - 1}" in box.inner_text()  # the converted hospital is no longer suggested
    # the what-if tab lists it as a G10 conversion; the undo button names it
    page.get_by_role("tab", name="假设分析").click()
    settle(page)
    panel = page.get_by_role("tabpanel").filter(has_text="当前的假设变更").first
    assert re.search(r"G10 转型.*" + re.escape(fid) + r".*康复医院", panel.inner_text().replace("\n", " "))
    assert_clean(page)
    if keep := os.environ.get("GRID_BROWSER_SHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        box.screenshot(path=str(Path(keep) / "g10_list.png"))
    # taken back from the G10 list: the suggestion returns
    _g10(page).get_by_role("button", name="撤销").first.click()
    page.get_by_text(f"G10 转型建议 · {count}").wait_for(timeout=TIMEOUT)
    settle(page)
    assert page.get_by_text(re.compile(r"假设情景：" + re.escape(fid))).count() == 0
    assert_clean(page)
