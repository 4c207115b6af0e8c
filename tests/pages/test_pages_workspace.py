"""The workspace pages under streamlit's AppTest: plan, compare k, move/lock/undo, what-if upgrade,
role changes, checklist persistence — each asserting on the figures and checks the pages show.

One AppTest session is driven through several steps per test; the sample city and its cost matrix
are shared by ``grid_planning.session.shared`` and the costs module, so later runs only re-plan.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from pilot_fixtures import upload_pilot
from streamlit.testing.v1 import AppTest

from grid_planning.assess.metrics import underserved_units
from grid_planning.base.textsafe import escape_markdown
from grid_planning.city.planview import facility_units
from grid_planning.geo.graph import unit_adjacency

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 120


@pytest.fixture(autouse=True)
def _scenario_home(tmp_path, monkeypatch):
    # Scenarios go to a throw-away database, never the user's home.
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _open(page: str = "pages/plan.py", lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.switch_page(page)
    return _ok(at.run())


def _planned(k: int = 4) -> AppTest:
    at = _open()
    at.number_input(key="plan_k").set_value(k)
    at.button(key="plan_run").click()
    return _ok(at.run())


def _ws(at: AppTest):
    return at.session_state["workspace"]


def _number(cell: str) -> float:
    """A formatted figure ("12,326,518", "+10.0%", "55.7 %", "—") as a number."""
    text = cell.replace(",", "").replace("%", "").replace("\u00a0", "").strip()
    return float("nan") if text in ("", "—") else float(text)


def _grid_table(at: AppTest) -> pd.DataFrame:
    """The plan page's two per-grid tables (size, access) as one, figures as numbers."""
    size = next(d.value for d in at.dataframe if "Area (km²)" in d.value.columns)
    access = next(d.value for d in at.dataframe if "Within 30 min (%)" in d.value.columns)
    table = size.merge(access, on="Grid")
    for col in table.columns:
        if col not in ("Grid", "Lead hospital", "Lead level"):
            table[col] = table[col].map(_number)
    return table


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _check_texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith(("✗", "⚠", "◐"))]


def test_plan_page_runs_a_plan_and_shows_figures_and_checks():
    at = _planned(4)
    ws = _ws(at)
    assert ws.plan is not None and ws.plan.k == 4
    table = _grid_table(at)
    assert table["Grid"].tolist() == ["G1", "G2", "G3", "G4"]
    fig = ws.figures("en")
    assert table["Population"].sum() == round(fig.city["population"])  # whole people adding up
    assert table["Mean to lead (min)"].tolist() == fig.grids["mean_travel_min"].round(1).tolist()
    # As shown: thousands separators, a percent sign with the English no-break space.
    size = next(d.value for d in at.dataframe if "Area (km²)" in d.value.columns)
    assert size["Population"].tolist() == [f"{p:,.0f}" for p in fig.grids["population_shown"]]
    assert size["Population deviation (%)"].tolist() == [f"{d * 100:+.1f}\u00a0%" for d in fig.grids["balance_dev"]]
    assert _metric(at, "City population") == f"{fig.city['population']:,.0f}"
    assert _metric(at, "Contiguous grids") == "4/4"
    # The check panel: nothing fails; the leads with an assumed level are flagged, naming the grid.
    assert not any(e.value.startswith("1") for e in at.error)
    warnings = _check_texts(at)
    assumed = [c for c in fig.checks if c.code == "g4_assumed"]
    assert len(warnings) == len(assumed) > 0
    assert all("⚠ **G4" in w for w in warnings)
    assert any("Nothing fails" in w.value for w in at.warning)


def test_compare_k_table_and_pick():
    at = _open()
    at.slider(key="cmp_range").set_value((2, 4))
    at.button(key="cmp_run").click()
    _ok(at.run())
    table = at.session_state["cmp_table"]
    assert table["k"].tolist() == [2, 3, 4]
    assert (table["status"] == "ok").all()
    shown = next(d.value for d in at.dataframe if "Result" in d.value.columns)
    assert shown["k"].tolist() == ["2", "3", "4"]
    assert shown["Population-weighted mean (min)"].tolist() == [f"{v:.1f}" for v in table["objective"]]
    at.selectbox(key="cmp_pick").set_value(3)
    at.button(key="cmp_use").click()
    _ok(at.run())
    assert _ws(at).plan.k == 3
    assert _grid_table(at)["Grid"].tolist() == ["G1", "G2", "G3"]
    assert at.number_input(key="plan_k").value == 3


def _interior_unit(ws, src: str) -> str:
    adj = unit_adjacency(ws.layers.units, ws.layers.metric_crs)
    a = ws.plan.assignment
    leads = set(facility_units(ws.layers, ws.layers.facilities).reindex(ws.plan.leads.astype(str)))
    for i, uid in enumerate(a.index):
        if a.iloc[i] == src and uid not in leads and {a.iloc[j] for j in adj[i].indices} == {src}:
            return uid
    raise AssertionError("no interior unit")


def test_move_lock_flags_contiguity_and_undo_restores():
    at = _planned(4)
    ws = _ws(at)
    before = _grid_table(at).set_index("Grid")
    uid = _interior_unit(ws, "G1")
    pop = float(ws.layers.units.set_index("id").at[uid, "population"])
    # Pick the unit by name/id, move it into G3 (not adjacent): G3 falls in two pieces.
    at.text_input(key="edit_search").set_value(uid)
    _ok(at.run())
    pick = next(m for m in at.multiselect if m.key.startswith("edit_pick"))
    assert uid in pick.options[0] or any(uid in o for o in pick.options)
    assert len(pick.options) <= 50  # the picker never ships every unit to the browser
    pick.set_value([uid])
    _ok(at.run())
    assert ws.selection == (uid,)
    at.selectbox(key="edit_target").set_value("G3")
    at.button(key="edit_move").click()
    _ok(at.run())
    after = _grid_table(at).set_index("Grid")
    # The sample's beds are generated: the page says so under the per-grid table.
    assert any("100\u00a0% of the beds counted are illustrative" in w.value for w in at.warning)
    assert ws.plan.assignment[uid] == "G3"
    assert after.at["G3", "Population"] == pytest.approx(before.at["G3", "Population"] + pop, abs=1)
    assert after.at["G1", "Population"] == pytest.approx(before.at["G1", "Population"] - pop, abs=1)
    assert after.at["G3", "Pieces"] == 2
    assert _metric(at, "Contiguous grids") == "3/4"
    flagged = [w for w in _check_texts(at) if "Contiguity · G3" in w]  # the rule by its label
    assert len(flagged) == 1 and "2" in flagged[0]

    at.button(key="edit_lock").click()
    _ok(at.run())
    assert ws.plan.lock_map == {uid: "G3"}
    assert any("1 units are locked" in c.value for c in at.caption)

    # Undo the lock and the move: the figures and the checks are back to the first plan's.
    at.button(key="undo").click()
    _ok(at.run())
    assert ws.plan.locks == ()
    at.button(key="undo").click()
    _ok(at.run())
    restored = _grid_table(at).set_index("Grid")
    pd.testing.assert_frame_equal(restored, before)
    assert not [w for w in _check_texts(at) if "Contiguity" in w]
    assert _metric(at, "Contiguous grids") == "4/4"
    at.button(key="redo").click()
    _ok(at.run())
    assert _grid_table(at).set_index("Grid").at["G3", "Pieces"] == 2


def test_replan_keeps_a_locked_unit():
    at = _planned(4)
    ws = _ws(at)
    uid = _interior_unit(ws, "G1")
    ws.select([uid])
    ws.move("G2")
    ws.lock()
    lead = ws.plan.leads["G2"]
    at.button(key="plan_replan").click()
    _ok(at.run())
    assert ws.plan.lead_of(ws.plan.assignment[uid]) == lead
    assert ws.undo_label("en").startswith("re-plan")
    # The re-plan made the grid contiguous again around the locked unit.
    assert _metric(at, "Contiguous grids") == "4/4"


def test_what_if_upgrade_makes_a_lead_and_changes_the_plan():
    at = _planned(4)
    ws = _ws(at)
    fac = ws.layers.facilities
    sec = fac[(fac["level"] == "secondary") & (fac["type"] == "general")]
    fid = str(sec["id"].iloc[0])
    leads_before = set(ws.plan.leads)
    at.selectbox(key="wi_mod_fid").set_value(fid)
    at.selectbox(key="wi_mod_level").set_value("tertiary")
    at.button(key="FormSubmitter:whatif_modify-Apply change").click()
    _ok(at.run())
    assert [e.facility_id for e in ws.edits] == [fid]
    # Eligible only by the what-if edit: a G4 exception (issue 15), so it is offered in the
    # designation picker (with the reason box), tagged so, and not as a fixed lead.
    name = str(sec["name"].iloc[0])
    assert not any(name in o for o in at.multiselect(key="plan_fixed").options)
    offered = [o for o in at.selectbox(key="exc_fid").options if name in o]
    assert len(offered) == 1 and "what-if edit" in offered[0], offered
    # It leads once designated with a written reason, and its G4 check passes by exception with
    # that reason.
    ws.set_request(designated_leads=((fid, "upgrade approved"),))
    at.button(key="plan_replan").click()
    _ok(at.run())
    assert fid in set(ws.plan.leads) and set(ws.plan.leads) != leads_before
    grid = ws.plan.grid_of_lead(fid)
    assert grid in _grid_table(at)["Grid"].tolist()
    g4 = [c for c in ws.figures("en").checks if c.rule == "G4" and c.grid_id == grid]
    assert [c.status for c in g4] == ["exception"] and "upgrade approved" in g4[0].message("en")
    # The id is shown as typed: Markdown-escaped in the element's source (textsafe.escape_markdown).
    assert any(escape_markdown(fid) in m.value and "change" in m.value for m in at.markdown)
    # The user's data are untouched.
    assert ws.layers.facilities.set_index("id").at[fid, "level"] == "secondary"


def test_members_role_change_valid_and_invalid():
    at = _planned(3)
    at.switch_page("pages/members.py")
    _ok(at.run())
    ws = _ws(at)
    roles = ws.plan.roles
    assert _metric(at, "Population") == f"{ws.figures('en').grids.at['G1', 'population']:,.0f}"
    # The sample city's beds are generated: the bed figures say so in their labels.
    per_1000 = f"{ws.figures('en').grids.at['G1', 'beds_per_1000']:.2f}"
    assert _metric(at, "Beds per 1,000 (illustrative)") == per_1000
    # Invalid whatever the reason: only a tertiary general or TCM hospital can lead (G4).
    fac = ws.layers.facilities.set_index(ws.layers.facilities["id"].astype(str))
    collab = roles.index[roles["role"] == "collaborator"]
    special = next(f for f in collab if fac.at[f, "type"] not in ("general", "tcm"))
    at.selectbox(key="role_fid").set_value(special)
    at.selectbox(key="role_new").set_value("lead")
    at.text_input(key="role_reason").set_value("市政府文件指定")
    at.button(key="FormSubmitter:role_form-Apply").click()
    _ok(at.run())
    assert any("only a tertiary general or TCM hospital" in e.value for e in at.error)
    assert ws.plan.roles.at[special, "role"] == "collaborator"
    # Invalid: a provincial general hospital cannot become a lead without a reason (G8/G4).
    prov = next(f for f in collab if fac.at[f, "type"] in ("general", "tcm"))
    at.selectbox(key="role_fid").set_value(prov)
    at.selectbox(key="role_new").set_value("lead")
    at.text_input(key="role_reason").set_value("")
    at.button(key="FormSubmitter:role_form-Apply").click()
    _ok(at.run())
    assert any("reason" in e.value.lower() for e in at.error)
    assert ws.plan.roles.at[prov, "role"] == "collaborator"
    # Valid with a reason: recorded as a G4 exception, and the checks say "passed by exception".
    at.selectbox(key="role_fid").set_value(prov)
    at.selectbox(key="role_new").set_value("lead")
    at.text_input(key="role_reason").set_value("市政府文件指定")
    at.button(key="FormSubmitter:role_form-Apply").click()
    _ok(at.run())
    assert ws.plan.roles.at[prov, "role"] == "lead"
    exc = ws.plan.exception_for("G4", prov)
    assert exc is not None and exc.reason == "市政府文件指定"
    checks = [c for c in ws.figures("en").checks if c.rule == "G4" and c.params.get("lead") == prov]
    assert checks[0].status == "exception"
    assert any("is now: lead" in s.value for s in at.success)


def test_checklist_record_persists_through_save_and_load():
    at = _planned(3)
    at.switch_page("pages/checklist.py")
    _ok(at.run())
    ws = _ws(at)
    table = next(d.value.reset_index() for d in at.table if "Criterion" in d.value.columns)
    assert len(table) == 15
    assert _metric(at, "Entries recorded") == "0"
    at.selectbox(key="chk_item").set_value(2)
    at.selectbox(key="chk_status").set_value("done")
    at.text_area(key="chk_note").set_value("章程已签署")
    at.button(key="FormSubmitter:chk_form-Record").click()
    _ok(at.run())
    assert _metric(at, "Entries recorded") == "1"
    table = next(d.value.reset_index() for d in at.table if "Criterion" in d.value.columns)
    row = table[table["#"] == 2].iloc[0]
    assert "Done" in row["Status"] or "done" in row["Status"].lower()
    assert row["Evidence / note"] == "章程已签署"
    at.text_input(key="chk_scen_name").set_value("scenario A")
    at.button(key="chk_scen_save").click()
    _ok(at.run())
    assert any("Saved scenario" in s.value for s in at.success)
    # Undo the record: it is gone from the plan; loading the scenario brings it back.
    ws.undo()
    _ok(at.run())
    assert _metric(at, "Entries recorded") == "0"
    at.button(key="chk_scen_load").click()
    _ok(at.run())
    assert _metric(at, "Entries recorded") == "1"
    assert [(c.item, c.status, c.note) for c in ws.plan.checklist] == [(2, "done", "章程已签署")]


def test_coverage_page_shows_shares_underserved_and_distribution():
    at = _planned(4)
    at.switch_page("pages/coverage.py")
    _ok(at.run())
    ws = _ws(at)
    fig = ws.figures("en")
    assert _metric(at, "Share within 30 min") == f"{fig.city['share_30_lead'] * 100:.1f}\u00a0%"
    shares = next(d.value for d in at.dataframe if "Lead ≤30 min" in d.value.columns)
    assert len(shares) == 5  # 4 grids + city
    assert shares["Lead ≤30 min"].iloc[:4].tolist() == [f"{v * 100:.1f}\u00a0%" for v in fig.grids["share_30_lead"]]
    under = next(d.value for d in at.dataframe if "Over by (min)" in d.value.columns)
    expected = underserved_units(fig.units, threshold_min=30.0, column="t_lead").head(25)
    assert len(under) == len(expected) > 0
    assert under["Minutes"].tolist() == [f"{m:.1f}" for m in expected["minutes"]]
    assert under["Population"].tolist() == [f"{p:,.0f}" for p in expected["population"]]
    assert expected["population"].is_monotonic_decreasing and (expected["minutes"] > 30).all()
    assert "15- and 30-minute shares are this planner's own yardsticks" in " ".join(c.value for c in at.caption)
    # Secondary-or-higher view: the figures switch with the column.
    at.radio(key="cov_column").set_value("t_secondary")
    _ok(at.run())
    assert _metric(at, "Share within 30 min") == f"{fig.city['share_30_secondary'] * 100:.1f}\u00a0%"


def test_pages_without_a_plan_point_to_the_plan_page():
    for page in ("pages/coverage.py", "pages/members.py", "pages/checklist.py"):
        at = _open(page, lang="zh")
        assert any("还没有方案" in i.value for i in at.info)



def test_exception_forms_need_a_reason_and_record_it():
    at = _open()
    ws = _ws(at)
    # The waiver form offers the eligible leads; waive G5 for the first one.
    lid = _eligible_ids(ws)[0]
    at.selectbox(key="waiver_fid").set_value(lid)
    next(b for b in at.button if b.label == _tr("ws.exc.add_g5")).click()
    _ok(at.run())
    assert ws.request.g5_waivers == ()  # no reason: refused
    assert any(_tr("ws.exc.need_reason") in e.value for e in at.error)
    # A reason past the setting max_reason_chars (default 2,000): refused, the figures said.
    at.selectbox(key="waiver_fid").set_value(lid)
    at.text_input(key="waiver_reason").set_value("理" * 2_001)
    next(b for b in at.button if b.label == _tr("ws.exc.add_g5")).click()
    _ok(at.run())
    assert ws.request.g5_waivers == ()
    assert any("2,001 characters, more than the 2,000 allowed" in e.value for e in at.error)
    at.selectbox(key="waiver_fid").set_value(lid)
    at.text_input(key="waiver_reason").set_value("唯一的护理院在网格边界外 300 米")
    next(b for b in at.button if b.label == _tr("ws.exc.add_g5")).click()
    _ok(at.run())
    assert ws.request.g5_waivers == ((lid, "唯一的护理院在网格边界外 300 米"),)


def _tr(key: str) -> str:
    from grid_planning.base.i18n import t

    return t(key, "en")


def _eligible_ids(ws):
    from grid_planning.planning.candidates import eligible_leads

    return eligible_leads(ws.layers.facilities, ws.request)["id"].astype(str).tolist()


def test_a_refusal_s_option_is_taken_on_the_page_with_its_reason(tmp_path):
    """The pilot city cannot be planned as asked (one eligible lead): the page offers the planner's
    verified options; taking the first needs the written reason, then plans at once, and the
    sidebar shows the changed request."""
    from grid_planning.session.team import markdown_message
    from grid_planning.session.workspace import WorkspaceError

    uploaded = upload_pilot(tmp_path)
    assert uploaded.usable
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.session_state["upload_result"] = uploaded
    at.session_state["data_choice"] = "uploaded"
    at.switch_page("pages/plan.py")
    _ok(at.run())
    ws = _ws(at)
    at.number_input(key="plan_k").set_value(2)
    at.button(key="plan_run").click()
    _ok(at.run())
    refusal = at.session_state["plan_infeasible"]
    assert ws.plan is None and refusal is not None and refusal.options
    option = refusal.options[0]
    assert option.verified and option.needs_reason  # a designation and the waiver it needs
    shown = [m.value for m in at.markdown]
    assert any(escape_markdown(option.text("en")) in v for v in shown)
    apply = [b for b in at.button if b.label == _tr("ws.opt.apply")]
    assert len(apply) == len(refusal.options)

    assert option.reason_rules == ("G4", "G5")
    apply[0].click()  # no reasons: refused, nothing changes
    _ok(at.run())
    assert ws.plan is None and ws.request.designated_leads == ()
    refused = markdown_message(WorkspaceError("reason_required", rule="G4"), "en")
    assert any(refused in e.value for e in at.error)

    reasons = {"G4": "市政府文件指定该院牵头第二网格", "G5": "接续性医疗机构跨网格提供服务"}
    at.text_input(key="plan_option_reason_0_G4").set_value(reasons["G4"])
    [b for b in at.button if b.label == _tr("ws.opt.apply")][0].click()
    _ok(at.run())  # the G5 reason still missing: refused
    assert ws.plan is None
    assert any(markdown_message(WorkspaceError("reason_required", rule="G5"), "en") in e.value for e in at.error)
    at.text_input(key="plan_option_reason_0_G5").set_value(reasons["G5"])
    [b for b in at.button if b.label == _tr("ws.opt.apply")][0].click()
    _ok(at.run())
    assert ws.plan is not None and ws.plan.k == 2
    assert "plan_infeasible" not in at.session_state
    exceptions = {(e.rule, e.subject): e.reason for e in ws.plan.exceptions}
    designated = [p["id"] for kind, p in option.steps if kind == "designate"]
    assert designated and all(exceptions[("G4", fid)] == reasons["G4"] for fid in designated)
    g5 = [r for (rule, _), r in exceptions.items() if rule == "G5"]
    assert g5 and set(g5) == {reasons["G5"]}
    assert at.number_input(key="plan_k").value == 2
    # The checks pass, the exceptions shown with their reason (never silently).
    assert not [c for c in ws.figures("en").checks if c.status == "fail"]


def test_first_visit_judges_the_balance_once(monkeypatch):
    """A new workspace starts balanced at the tolerance its first request was judged to meet, and
    the plan page's balance note shows that same advice: one judgement (a few planning runs), not
    two on a city's first visit."""
    import grid_planning.session.workspace as workspace_module
    from grid_planning.session import shared

    judged = []
    real = workspace_module.suggest_balance

    def counted(*args, **kwargs):
        judged.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(workspace_module, "suggest_balance", counted)
    shared.FIRST_REQUESTS.clear()  # a server that has not seen the city yet
    shared.BALANCE_ADVICE.clear()
    at = _open()
    assert len(judged) == 1, judged
    ws = _ws(at)
    assert ws.request.balance is not None  # the sample city meets a tolerance at its first k
    note = re.sub(r"\s", "", " ".join(c.value for c in at.caption))
    assert f"±{ws.request.balance:.0%},thetightestthiscitymeets" in note, note


def test_a_planned_hospital_starts_at_the_centre_of_the_uploaded_city(tmp_path):
    """On a city that is not Wuhan (the Liaoning pilot), the what-if form's position is that city's
    centre, never Wuhan's coordinates; a click on the map in "place" mode takes its place."""
    from grid_planning.session.plan_page import city_centre

    uploaded = upload_pilot(tmp_path)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.session_state["upload_result"] = uploaded
    at.session_state["data_choice"] = "uploaded"
    at.switch_page("pages/plan.py")
    _ok(at.run())
    ws = _ws(at)
    ws.change_request(k=2)
    refused = ws.run()
    ws.apply_option(refused.infeasible.options[0], {"G4": "市政府文件", "G5": "跨网格服务"})
    assert ws.run().ok
    _ok(at.run())
    lon, lat = city_centre(uploaded.layers)
    assert 121.6 < lon < 122.0 and 42.0 < lat < 42.2  # Fuxin
    assert (at.number_input(key="wi_lon_None").value, at.number_input(key="wi_lat_None").value) == (lon, lat)
    at.session_state["place_lonlat"] = (121.9, 42.1)
    _ok(at.run())
    placed = (at.number_input(key="wi_lon_(121.9, 42.1)").value, at.number_input(key="wi_lat_(121.9, 42.1)").value)
    assert placed == (121.9, 42.1)


def test_plan_page_states_district_splits_and_keeps_whole_districts():
    # Issue 17: the plan page says how many districts the plan cuts; "keep whole districts" plans
    # as `plan --whole-districts` does, or shows the refusal naming the districts.
    at = _planned(4)
    ws = _ws(at)
    captions = [c.value.replace("\\", "") for c in at.caption]
    captions = [c for c in captions if c.startswith("District splits:")]
    assert len(captions) == 1 and " of 13 districts" in captions[0], captions
    at.checkbox(key="plan_whole_districts").check()
    at.button(key="plan_run").click()
    _ok(at.run())
    # At ±10 % the districts cannot all stay whole: the refusal names them and says why.
    refusal = " ".join(e.value.replace("\\", "") for e in at.error)
    assert "Planning with whole districts (" in refusal and "黄陂区" in refusal and "±15%" in refusal, refusal
    # ... and which districts are themselves in pieces among the units, and why that matters
    advice = " ".join(m.value.replace("\\", "") for m in at.markdown if "in several pieces" in m.value)
    assert "蔡甸区 (" in advice and "Exclaves" in advice, advice
    assert ws.revision == 1  # the plan stays as it was
    at.slider(key="plan_balance").set_value(20)
    at.button(key="plan_run").click()
    _ok(at.run())
    shown = [c.value.replace("\\", "") for c in at.caption if c.value.startswith("District splits")]
    assert ws.plan.param_map.get("whole_districts") is True and ws.plan.k == 4
    assert len(shown) == 1 and shown[0].startswith("District splits: 0 of 13 districts"), shown
    # the plan keeps them whole; the page says which districts are in pieces, so a grid may be
    pieces = [i.value.replace("\\", "") for i in at.info if "in several pieces" in i.value]
    assert len(pieces) == 1 and "蔡甸区 (" in pieces[0] and "contiguity check" in pieces[0], pieces
