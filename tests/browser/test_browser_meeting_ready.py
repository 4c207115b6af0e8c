"""Pages a vice-mayor can be shown (issue 10.5), in headless Debian Chromium at 1600×1000, offline,
in both languages.

- Streamlit's own English is gone from the Chinese UI: no "Deploy", no developer menu; the file
  uploader's button and limit line, the input hint and the Stop button read the catalogue's words.
- The home map names the districts of the city core without overlaps (a name waits for the zoom
  at which it has room) and names them all when zoomed in.
- An empty workspace page sends the planner to the page as the menu names it, with a Material icon
  (an emoji is a box in Chromium with the Noto CJK fonts).
- The plan page's "run" button is on the first screen of the sidebar, its confirmation is still
  there once the map is drawn; the grid tables show every column without scrolling, figures
  formatted for the language (12,326,518; 55.7%); the plan map has a legend of facility colours.
"""

from __future__ import annotations

import re

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, open_offline, painted
from test_browser_workspace import (
    TIMEOUT,
    assert_clean,
    map_frame,
    nav,
    open_app,
    settle,
    table_with,
)

from grid_planning.base.i18n import t
from grid_planning.session.ui_state import css_string, max_upload_bytes

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]

WIDTH, HEIGHT = 1600, 1000
#: Texts Streamlit 1.67 writes in English whatever the app's language.
STREAMLIT_ENGLISH = ("Deploy", "Upload", "per file", "Drag and drop", "Press Enter", "Running...")


def after(locator) -> str:
    """The ``::after`` content of the first element of ``locator`` (CSS string syntax)."""
    return locator.first.evaluate("e => getComputedStyle(e, '::after').content")


def font_px(locator) -> str:
    return locator.first.evaluate("e => getComputedStyle(e).fontSize")


def shown_english(page) -> list[str]:
    """Streamlit's English texts that are visible: in the text and not shrunk to nothing."""
    return page.evaluate(
        """(words) => { const out = [];
          const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          while (walk.nextNode()) { const n = walk.currentNode, el = n.parentElement;
            if (!el || !words.some(w => n.textContent.includes(w))) continue;
            const s = getComputedStyle(el), r = el.getBoundingClientRect();
            if (s.display !== 'none' && s.visibility !== 'hidden' && parseFloat(s.fontSize) > 0
                && r.width > 0 && r.height > 0) out.push(n.textContent.trim()); }
          return out; }""",
        list(STREAMLIT_ENGLISH),
    )


def overflowing_tables(page) -> list[tuple[int, int]]:
    """(content width, visible width) of every data grid that hides columns behind a scroll."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller')]
             .filter(s => s.clientWidth > 0 && s.scrollWidth > s.clientWidth + 1)
             .map(s => [s.scrollWidth, s.clientWidth])"""
    )


def boxes_overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.fixture(scope="module")
def page(app_url, chromium):
    page = open_offline(chromium, width=WIDTH, height=HEIGHT)
    open_app(page, app_url)
    map_frame(page)
    settle(page)
    yield page
    page.close()


def set_language(page, lang: str) -> None:
    label = {"zh": "中文", "en": "English"}[lang]
    page.get_by_test_id("stSidebar").get_by_text(label, exact=True).click()
    settle(page)


def test_home_map_names_districts_without_overlaps(page):
    frame = map_frame(page)
    painted(frame)  # labels take their opacity when the map is ready, synchronously on zoom
    labels = """() => [...document.querySelectorAll('.gp-label')].map(e => { const r =
        e.querySelector('div').getBoundingClientRect();
        return [e.innerText, parseFloat(getComputedStyle(e).opacity), [r.left, r.top, r.right, r.bottom]]; })"""
    found = frame.evaluate(labels)
    assert len(found) == 13  # Wuhan's districts
    shown = [(name, box) for name, opacity, box in found if opacity > 0]
    assert len(shown) >= 8, shown  # the city opens with most of its districts named
    for i, (a, box_a) in enumerate(shown):
        for b, box_b in shown[i + 1:]:
            assert not boxes_overlap(box_a, box_b), (a, b)
    # Closer in, every district is named.
    frame.evaluate("() => { window.map.setZoom(12, {animate: false}); return null; }")
    painted(frame)
    assert all(opacity == 1 for _, opacity, _ in frame.evaluate(labels))
    assert_clean(page)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_streamlit_texts_read_in_the_language(page, lang):
    set_language(page, lang)
    nav(page, t("app.nav.data", lang))
    assert page.get_by_test_id("stAppDeployButton").count() == 0
    assert not page.get_by_test_id("stMainMenu").is_visible()
    drop = page.get_by_test_id("stFileUploaderDropzone")
    button = drop.locator("button [data-testid=stMarkdownContainer] p")
    assert after(button) == css_string(t("dash.chrome.upload_button", lang))
    assert font_px(button) == "0px"  # Streamlit's "Upload" takes no room and shows nothing
    limit = drop.get_by_test_id("stFileUploaderDropzoneInstructions").locator("span")
    mb = max_upload_bytes() // (1024 * 1024)
    assert after(limit) == css_string(t("dash.chrome.upload_limit", lang, mb=mb))
    # The hint under a text field while typing.
    name = page.get_by_role("textbox", name=t("data.city_name", lang))
    name.click()
    page.keyboard.type("Fuxin")
    hint = page.get_by_test_id("InputInstructions")
    hint.wait_for(timeout=TIMEOUT)
    assert after(hint) == css_string(t("dash.chrome.enter", lang))
    if lang == "zh":
        assert shown_english(page) == []
    name.fill("")
    page.keyboard.press("Escape")
    settle(page)
    assert_clean(page)


def test_empty_state_names_the_plan_page_as_the_menu_does(page):
    set_language(page, "zh")
    nav(page, t("ws.nav.coverage", "zh"))
    menu = t("ws.nav.plan", "zh")
    page.get_by_text(t("ws.no_plan", "zh", page=menu)).wait_for(timeout=TIMEOUT)
    link = page.get_by_test_id("stPageLink")
    assert link.inner_text().strip().endswith(t("ws.go_plan", "zh", page=menu))
    assert link.get_by_test_id("stIconMaterial").inner_text() == "map"  # a font icon, not an emoji
    assert not re.search(r"[\U0001F300-\U0001FAFF]", link.inner_text())
    link.get_by_role("link").click()
    settle(page)
    assert page.get_by_role("heading", name=t("ws.plan.title", "zh")).count() == 1


def test_run_is_on_the_first_screen_and_its_confirmation_stays(page):
    nav(page, t("ws.nav.plan", "zh"))
    run = page.get_by_role("button", name=t("ws.plan.run", "zh"))
    run.wait_for(timeout=TIMEOUT)
    settle(page)
    assert page.get_by_test_id("stSidebarContent").evaluate("e => e.scrollTop") == 0
    box = run.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, box
    run.click()
    page.get_by_text(t("ws.grids.title", "zh")).wait_for(timeout=TIMEOUT)
    map_frame(page)
    settle(page, 1000)  # the drawn map reports back: one more run
    done = page.get_by_test_id("stSidebar").get_by_text(re.compile(re.escape(t("ws.plan.done", "zh", k=4, seconds="\0").split("\0")[0])))
    assert done.is_visible()
    box = done.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, box


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_grid_tables_show_every_column_with_numbers_for_the_language(page, lang):
    set_language(page, lang)
    page.get_by_text(t("ws.grids.title", lang)).wait_for(timeout=TIMEOUT)
    settle(page, 800)
    assert overflowing_tables(page) == []
    size = table_with(page, t("ws.col.area", lang))
    access = table_with(page, t("ws.col.share30", lang))
    assert [r[t("ws.col.grid", lang)] for r in size] == ["G1", "G2", "G3", "G4"]
    pct = r"[+-]?\d{1,3}\.\d" + ("%" if lang == "zh" else "\u00a0%")
    for row in size:
        assert re.fullmatch(r"\d{1,3}(,\d{3})+", row[t("ws.col.population", lang)]), row
        assert re.fullmatch(pct, row[t("ws.col.balance", lang)]), row
    for row in access:
        assert re.fullmatch(pct, row[t("ws.col.share30", lang)]), row
    population = page.get_by_test_id("stMetric").filter(has_text=t("ws.city.population", lang))
    assert population.get_by_test_id("stMetricValue").inner_text() == "12,326,518"
    assert_clean(page)


def test_plan_map_explains_facility_colours(page):
    set_language(page, "zh")
    title = t("map.facilities.legend", "zh")
    for _ in range(20):  # the map is redrawn in Chinese a moment after the switch
        legends = map_frame(page).locator(".gp-legend").all_inner_texts()
        facilities = next((x for x in legends if title in x), "")
        if facilities:
            break
        page.wait_for_timeout(500)
    for word in ("vocab.type.general", "vocab.type.tcm", "vocab.level.tertiary", "vocab.level.secondary"):
        assert t(word, "zh") in facilities, legends


def test_coverage_table_fits_and_reads_percent(page):
    nav(page, t("ws.nav.coverage", "zh"))
    page.get_by_text(t("ws.cov.shares", "zh")).wait_for(timeout=TIMEOUT)
    settle(page, 800)
    page.get_by_text(t("ws.cov.shares", "zh")).scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    assert overflowing_tables(page) == []
    rows = table_with(page, t("ws.cov.lead30", "zh"))
    assert len(rows) == 5
    assert all(re.fullmatch(r"\d{1,3}\.\d%", r[t("ws.cov.lead30", "zh")]) for r in rows), rows
    assert_clean(page)
