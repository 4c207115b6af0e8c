"""A refusal on the plan page, in headless Debian Chromium, offline: the planner's own city is
refused with a proof, the page says so in the planner's words, and an option taken from the page
gives a plan.

The city is ell-200u-lock (``tests/reference_cities.py``, the case ``test_cli_lock`` runs from
files): 200 street units in an L, five tertiary hospitals T0-T4, the G5 hospitals at its corners.
Uploaded on the data page as a planner does, planned at k = 3 and ±10 %; then, in the "edit by
hand" tab, unit 街道162 (Q162), on the city's edge, is moved into 第1医院's grid and locked there.
"Run" again: T1's grid now runs from edge to edge and cuts every other lead off the G5 units, which
the planar argument proves in about a second. The page must show that refusal in Chinese (the
default), with the proof and its names as 名称（ID） joined by 、, the line saying it is proven on the
map (as ``plan`` prints it), and the two verified options
(unlock Q162; a G5 exception for 第2医院 and 第0医院), each once, and no program words; the same in
English; then the G5 option is taken with a reason and the page shows a plan with that reason.

Everything asserted is read from the page. Page images go to ``$GRID_BROWSER_SHOTS`` when set.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, asked, idle, open_offline
from test_browser_workspace import (
    TIMEOUT,
    assert_clean,
    nav,
    open_app,
    settle,
    table_with,
    upload_and_choose,
)

from grid_planning.base.i18n import t

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]

CITY = "折线市"
CASE = "ell-200u-k3-corners5-8%-lock-s3118"
UNIT, UNIT_NAME = "Q162", "街道162"
LEAD = "第1医院"  # T1: the grid the unit is moved into and locked to
REASON = "第0、第2医院网格的接续性医疗由第1医院跨网格提供（市卫健委 2026 第 7 号）"

#: The refusal as a planner must read it (every list one enumeration, names as 名称（ID）).
ZH = {
    "sentence": "以下要求单独都能满足，但无法同时满足：G5 成员单位、锁定单元。",
    "proof": "原因：第1医院（T1）的网格必须同时包含单元街道164（Q164）、街道162（Q162）（其所在单元或锁定给它的单元），"
             "这两个单元都位于市域边界上，因此这个网格从边界连到边界，把全市分成两部分。"
             "牵头医院第0医院（T0）、第2医院（T2）、第3医院（T3）、第4医院（T4）在其中一侧，"
             "而它们可用的二级综合医院或接续性医疗机构所在的单元"
             "（街道59（Q059）、街道62（Q062）、街道174（Q174）、街道197（Q197））都在另一侧，"
             "它们的网格无法包含此类机构（规则 G5）。每一组满足固定和锁定要求的牵头医院组合中都至少有其中一家。",
    "proven": "（依据上述原因，已在地图上证明不存在满足全部要求的方案。）",
    "options": (
        "解除单元街道162（Q162）的锁定（已验证可得出方案）",
        "为牵头医院第2医院（T2）、第0医院（T0）的网格记录 G5 例外并写明理由（已验证可得出方案）",
    ),
}
EN = {
    "sentence": "Each of these requirements can be met on its own, but not all together: G5 members, locked units.",
    "proof": "Why: the grid of 第1医院 (T1) must hold units 街道164 (Q164), 街道162 (Q162) (its own unit or units "
             "locked to it), both on the city's edge, so that grid runs from edge to edge and cuts the city in two. "
             "The leads 第0医院 (T0), 第2医院 (T2), 第3医院 (T3), 第4医院 (T4) lie on one side, and every unit with "
             "a secondary general or continuing-care facility they could use (街道59 (Q059), 街道62 (Q062), "
             "街道174 (Q174), 街道197 (Q197)) lies on the other: their grids cannot hold such a facility (rule G5). "
             "Every set of leads that meets the fixed leads and the locks includes one of them.",
    "proven": "(Proven on the map, for the reason above: no plan meets every requirement.)",
    "options": (
        "unlock unit 街道162 (Q162) (verified to give a plan)",
        "record a G5 exception with a written reason for the grid(s) of 第2医院 (T2), 第0医院 (T0) "
        "(verified to give a plan)",
    ),
}
#: Words of the program that must never reach a planner: snake_case keys, Python values, unfilled
#: placeholders, ASCII brackets or commas around Chinese names.
PROGRAM_WORDS = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\bNone\b|\bnan\b|\bNaN\b|[{}]|Traceback")
ASCII_IN_ZH = re.compile(r"[\u4e00-\u9fff]\d* \(|\), |, [\u4e00-\u9fff]")

SIZES = ((1366, 768), (1920, 1080))


# ---- helpers ------------------------------------------------------------------------------------
def shoot(page, name: str) -> None:
    """The page at each of the two screen sizes, as a planner sees it (Streamlit scrolls inside the
    page: a full-page image is the same), into ``$GRID_BROWSER_SHOTS``; the flow runs at the first
    size, and the window goes back to it."""
    keep = os.environ.get("GRID_BROWSER_SHOTS")
    if not keep:
        return
    Path(keep).mkdir(parents=True, exist_ok=True)
    for w, h in SIZES:
        page.set_viewport_size({"width": w, "height": h})  # the first: the size the flow runs at
        settle(page, 300)
        page.screenshot(path=str(Path(keep) / f"{name}_{w}x{h}.png"))
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    settle(page, 300)


def refusal_parts(page) -> tuple[str, list[str]]:
    """(the refusal's message, the text of each offered option) as the plan page shows them (the
    refusal is the first error of the page: it is drawn above the plan and its checks)."""
    message = page.get_by_test_id("stMain").get_by_test_id("stAlertContentError").first.inner_text().strip()
    forms = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name=re.compile(
        f"^({re.escape(t('ws.opt.apply', 'zh'))}|{re.escape(t('ws.opt.apply', 'en'))})$")))
    options = [f.get_by_test_id("stMarkdown").first.inner_text().strip() for f in forms.all()]
    return message, options


def assert_refusal(page, lang: str, words: dict) -> None:
    message, options = refusal_parts(page)
    paragraphs = [p.strip() for p in message.split("\n") if p.strip()]
    assert paragraphs == [words["sentence"] + ("" if lang == "zh" else " ") + words["proof"], words["proven"]], message
    assert options == list(words["options"]), options  # each once, in the planner's order
    main = page.get_by_test_id("stMain").inner_text()
    assert main.count(t("ws.opt.title", lang)) == 1
    for option in words["options"]:
        assert main.count(option) == 1, option
    for text in (message, *options):
        assert not PROGRAM_WORDS.search(text), PROGRAM_WORDS.search(text)
        if lang == "zh":
            assert not ASCII_IN_ZH.search(text), ASCII_IN_ZH.search(text)
    # nor anywhere on the page (Streamlit's icons are ligatures such as keyboard_arrow_right: drawn
    # as icons, not read)
    icons = set(page.get_by_test_id("stIconMaterial").all_inner_texts())
    body = page.inner_text("body")
    assert {m.group(0) for m in PROGRAM_WORDS.finditer(body)} <= icons
    if lang == "zh":
        assert not ASCII_IN_ZH.search(body), body[ASCII_IN_ZH.search(body).start() - 40:][:120]
    # every option that records an exception asks for its reason, labelled for its rule
    reason = t("ws.opt.reason", lang, rule="G5")
    assert page.get_by_role("textbox", name=reason).count() == 1
    assert_clean(page)


def set_balance(page, percent: int) -> None:
    """Population balance on at ``percent`` (the slider moves 5 % a key press)."""
    side = page.get_by_test_id("stSidebar")
    if not side.get_by_role("checkbox", name=t("ws.plan.balance_on", "zh")).is_checked():
        side.get_by_text(t("ws.plan.balance_on", "zh")).click()
        settle(page)
    slider = side.get_by_role("slider")
    for _ in range(40):
        now = int(slider.input_value())
        if now == percent:
            return
        slider.focus()
        page.keyboard.press("ArrowRight" if now < percent else "ArrowLeft")
        settle(page, 250)
    pytest.fail(f"the balance slider never reached {percent}")


def leads_by_grid(page, lang: str = "zh") -> dict[str, str]:
    rows = table_with(page, t("ws.col.area", lang))
    return {r[t("ws.col.grid", lang)]: r[t("ws.col.grid_name", lang)] for r in rows}


def done(k: int, lang: str = "zh") -> re.Pattern:
    before, after = t("ws.plan.done", lang, k=k, seconds="\x00").split("\x00")
    return re.compile(re.escape(before) + r"[\d.]+" + re.escape(after))


def switch_language(page, label: str) -> None:
    page.get_by_test_id("stSidebar").get_by_text(label, exact=True).click()
    settle(page)


# ---- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The city's units and facilities as GeoPackages, as an office would send them."""
    from reference_cities import family, shaped_city

    case = next(c for c in family((200, 300), 4, seed=1) if c.name == CASE)
    layers, request = shaped_city(case)
    assert request.locks == ((UNIT, "T1"),)  # the case's own lock is the one made on the page
    folder = tmp_path_factory.mktemp("ell")
    layers.units.to_file(folder / "街道人口.gpkg")
    layers.facilities.to_file(folder / "医疗机构.gpkg")
    return folder / "街道人口.gpkg", folder / "医疗机构.gpkg"


@pytest.fixture(scope="module")
def page(app_url, chromium):
    page = open_offline(chromium, width=SIZES[0][0], height=SIZES[0][1])  # a planner's laptop
    page.t0 = time.perf_counter()
    open_app(page, app_url)
    yield page
    page.close()


# ---- the flow -----------------------------------------------------------------------------------
def test_upload_the_city_and_plan_it(page, files):
    upload_and_choose(page, *files, CITY)
    nav(page, t("ws.nav.plan", "zh"))
    page.get_by_test_id("stMain").get_by_role("heading", name=t("ws.plan.title", "zh")).wait_for(timeout=TIMEOUT)
    settle(page)
    k = page.get_by_role("spinbutton", name=t("ws.plan.k", "zh"))
    k.fill("3")
    k.press("Enter")
    settle(page)
    set_balance(page, 10)
    page.get_by_role("button", name=t("ws.plan.run", "zh")).click()
    page.get_by_text(done(3)).first.wait_for(timeout=TIMEOUT)
    settle(page)
    assert sorted(leads_by_grid(page).values()) == ["第0医院", "第1医院", "第2医院"]
    assert_clean(page)


def test_lock_a_unit_into_a_grid_that_cuts_the_city(page):
    page.get_by_role("tab", name=t("ws.tab.edit", "zh")).click()
    settle(page)
    search = page.get_by_role("textbox", name=t("ws.edit.search", "zh"))
    search.fill(UNIT)
    search.press("Enter")
    settle(page)
    picker = page.get_by_test_id("stMultiSelect").filter(has_text=t("ws.edit.pick", "zh"))
    picker.get_by_role("combobox").click()
    page.get_by_role("option", name=f"{UNIT_NAME} · {UNIT}").click()
    settle(page)
    page.keyboard.press("Escape")
    target = page.get_by_test_id("stSelectbox").filter(has_text=t("ws.edit.target", "zh"))
    target.get_by_role("combobox").click()
    page.get_by_role("option", name=re.compile(rf"· {LEAD}$")).click()
    settle(page)
    page.get_by_role("button", name=t("ws.edit.move", "zh"), exact=True).click()
    settle(page)
    page.get_by_role("button", name=t("ws.edit.lock", "zh"), exact=True).click()
    page.get_by_text(t("ws.edit.locks", "zh", n=1)).wait_for(timeout=TIMEOUT)
    settle(page)
    assert_clean(page)


def test_run_again_is_refused_with_the_proof_and_named_options(page):
    t0 = time.perf_counter()
    n = asked(page)
    page.get_by_role("button", name=t("ws.plan.run", "zh")).click()
    page.get_by_text(t("ws.opt.title", "zh"), exact=True).wait_for(timeout=TIMEOUT)
    page.refusal_seconds = time.perf_counter() - t0
    idle(page, since=n)
    assert page.get_by_text(t("ws.plan.infeasible", "zh")).count() >= 1  # the run's status box
    assert_refusal(page, "zh", ZH)
    shoot(page, "refusal_zh")


def test_the_refusal_reads_the_same_in_english(page):
    switch_language(page, "English")
    page.get_by_text(EN["sentence"], exact=False).first.wait_for(timeout=TIMEOUT)
    settle(page)
    assert_refusal(page, "en", EN)
    shoot(page, "refusal_en")
    switch_language(page, "中文")
    page.get_by_text(ZH["sentence"], exact=False).first.wait_for(timeout=TIMEOUT)
    settle(page)
    assert_refusal(page, "zh", ZH)


def test_the_g5_option_taken_with_its_reason_gives_a_plan(page):
    form = page.get_by_test_id("stForm").filter(has_text=ZH["options"][1])
    form.get_by_role("textbox", name=t("ws.opt.reason", "zh", rule="G5")).fill(REASON)
    form.get_by_role("button", name=t("ws.opt.apply", "zh")).click()
    page.get_by_text(done(3)).first.wait_for(timeout=TIMEOUT)
    settle(page)
    assert page.get_by_test_id("stAlertContentError").count() == 0  # the refusal is gone
    assert page.get_by_text(t("ws.opt.title", "zh")).count() == 0
    assert sorted(leads_by_grid(page).values()) == ["第0医院", "第1医院", "第2医院"]
    # the waiver is recorded for both grids with the reason written on the page, in the sidebar's
    # exceptions and in the checks ("passed by exception: reason")
    side = page.get_by_test_id("stSidebar").inner_text()
    assert side.count(REASON) == 2, side
    assert "第2医院" in side and "第0医院" in side
    main = page.get_by_test_id("stMain").inner_text()
    assert main.count(REASON) == 2, main  # the checks: G5 passed by exception, for each grid
    assert_clean(page)
    shoot(page, "planned_zh")
    # the plan keeps the unit locked to 第1医院 (the option changed G5, not the lock)
    page.get_by_role("tab", name=t("ws.tab.edit", "zh")).click()
    page.get_by_text(t("ws.edit.locks", "zh", n=1)).wait_for(timeout=TIMEOUT)
    elapsed = time.perf_counter() - page.t0
    print(f"flow: {elapsed:.1f} s from opening the app; the refused run {page.refusal_seconds:.1f} s")
