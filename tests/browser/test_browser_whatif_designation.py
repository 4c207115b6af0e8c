"""A hospital made eligible to lead by a what-if edit is offered in the designation picker (a G4
exception with its reason box), not under "fixed leads" (issue 15), in headless Chromium, offline,
on the sample city."""

from __future__ import annotations

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, open_offline
from test_browser_workspace import TIMEOUT, assert_clean, map_frame, open_app, plan_k4, settle

from grid_planning.base.i18n import t

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]

ZH = "zh"
#: A secondary district general hospital of the sample city (illustrative), made tertiary.
HOSPITAL = "【示意】江岸区二级综合医院01"


def _select(page, box, text: str) -> bool:
    """Type ``text`` into a select box and pick the first option that contains it; False when the
    list offers none."""
    combo = box.get_by_role("combobox")
    for _ in range(3):
        settle(page)
        combo.click()
        combo.fill(text)
        page.wait_for_timeout(500)
        options = page.get_by_role("option").filter(has_text=text)
        if options.count() == 0:
            page.keyboard.press("Escape")
            return False
        try:
            options.first.click(timeout=5_000)
            settle(page)
            return True
        except Exception:  # noqa: BLE001 - a rerun closed the list; try again
            page.keyboard.press("Escape")
    pytest.fail(f"could not choose {text!r}")


def _offered(page, box, text: str) -> list[str]:
    """The options a select box lists for ``text`` typed into it (closed again afterwards)."""
    combo = box.get_by_role("combobox")
    settle(page)
    combo.click()
    combo.fill(text)
    page.wait_for_timeout(800)
    found = page.get_by_role("option").filter(has_text=text).all_inner_texts()
    page.keyboard.press("Escape")
    settle(page)
    return found


@pytest.fixture(scope="module")
def page(app_url, chromium):
    page = open_offline(chromium, width=1600, height=1400)
    open_app(page, app_url)
    map_frame(page)
    yield page
    page.close()


def test_an_upgraded_hospital_is_designated_with_a_reason_not_fixed(page, tmp_path):
    fixed = page.get_by_test_id("stMultiSelect").filter(has_text=t("ws.plan.fixed", ZH))
    plan_k4(page)
    # before the edit it is no lead at all: neither list offers it
    assert _offered(page, fixed, HOSPITAL) == []
    # the what-if: level tertiary
    page.get_by_role("tab", name=t("ws.tab.whatif", ZH)).click()
    page.get_by_role("tab", name=t("ws.whatif.modify", ZH)).click()
    form = page.get_by_test_id("stForm").filter(has_text=t("ws.whatif.apply", ZH))
    boxes = form.get_by_test_id("stSelectbox")
    assert _select(page, boxes.nth(0), HOSPITAL)
    assert _select(page, boxes.nth(1), t("vocab.level.tertiary", ZH))
    form.get_by_role("button", name=t("ws.whatif.apply", ZH)).click()
    settle(page, 1000)
    page.get_by_text(t("ws.grids.title", ZH)).wait_for(timeout=TIMEOUT)
    settle(page)
    # fixed leads: still not offered; the designation picker offers it, tagged, with the reason box
    assert _offered(page, fixed, HOSPITAL) == []
    sidebar = page.get_by_test_id("stSidebar")
    designate = sidebar.get_by_test_id("stForm").filter(has_text=t("ws.exc.designate", ZH))
    designate.scroll_into_view_if_needed()
    offered = _offered(page, designate.get_by_test_id("stSelectbox"), HOSPITAL)
    assert offered and t("ws.exc.whatif_tag", ZH) in offered[0], offered
    assert designate.get_by_role("textbox", name=t("ws.exc.reason", ZH)).count() == 1
    page.screenshot(path=str(tmp_path / "designation.png"), full_page=True)
    assert_clean(page)
