"""The planning workspace on the sample city: plan, compare, hand edits, locks, undo/redo, what-if,
exceptions, map clicks and scenarios — each asserting on the figures and checks that result."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from grid_planning.city.planview import facility_units
from grid_planning.city.provenance import load_sample_city
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.request import PlanRequest
from grid_planning.geo.graph import unit_adjacency
from grid_planning.planning.candidates import eligible_leads
from grid_planning.session.mapclicks import facility_label, interpret_click
from grid_planning.session.workspace import Workspace, WorkspaceError
from grid_planning.store.scenarios import ScenarioStore


@pytest.fixture(scope="module")
def city():
    return load_sample_city()


@pytest.fixture(scope="module")
def adjacency(city):
    return unit_adjacency(city.units, city.metric_crs)


@pytest.fixture
def ws(city):
    w = Workspace(city, request=PlanRequest(k=4))
    result = w.run()
    assert result.ok, result.infeasible and result.infeasible.explain("en")
    return w


def _border_unit(ws: Workspace, adjacency, src: str, dst: str) -> str:
    """A unit of ``src`` that touches ``dst`` and holds no lead."""
    a = ws.plan.assignment.to_numpy()
    ids = ws.plan.assignment.index
    lead_units = set(facility_units(ws.layers, ws.effective_layers().facilities)
                     .reindex(ws.plan.leads.astype(str)).dropna())
    rows, cols = adjacency.nonzero()
    for i, j in zip(rows, cols, strict=True):
        if a[i] == src and a[j] == dst and ids[i] not in lead_units:
            return str(ids[i])
    raise AssertionError(f"no unit of {src} touches {dst}")


def _neighbour_grids(ws: Workspace, adjacency, uid: str) -> set[str]:
    a = ws.plan.assignment
    i = a.index.get_loc(uid)
    return {a.iloc[j] for j in adjacency[i].indices}


def test_run_covers_the_city_and_passes_the_rules(ws, city):
    fig = ws.figures("en")
    assert ws.plan.k == 4 and len(fig.grids) == 4
    total = float(city.units["population"].sum())
    assert fig.grids["population"].sum() == pytest.approx(total, rel=1e-9)
    assert fig.n_failed == 0
    assert {c.rule for c in fig.checks} >= {"G1", "G2", "G3", "G4", "G5"}
    assert fig.grids["contiguous"].all()
    # The figures are cached per revision: same object until the plan changes.
    assert ws.figures("en") is fig
    assert ws.can_undo and not ws.can_redo
    assert ws.undo_label("en") == "plan (4 grids)"


def test_compare_lists_each_k(ws):
    table = ws.compare([2, 3, 4])
    assert table["k"].tolist() == [2, 3, 4]
    assert (table["status"] == "ok").all()
    # More grids can only shorten the trip to the nearest chosen lead.
    obj = table["objective"].to_numpy()
    assert obj[0] >= obj[1] >= obj[2] > 0
    # Comparing does not change the current plan.
    assert ws.plan.k == 4


def test_move_lock_replan_undo_redo(ws, adjacency):
    before = ws.figures("en")
    uid = _border_unit(ws, adjacency, "G1", "G2")
    pop = float(ws.layers.units.set_index("id").at[uid, "population"])
    ws.select([uid])
    ws.move("G2")
    after = ws.figures("en")
    assert ws.plan.assignment[uid] == "G2"
    assert after.grids.at["G2", "population"] - before.grids.at["G2", "population"] == pytest.approx(pop)
    assert after.grids.at["G1", "population"] - before.grids.at["G1", "population"] == pytest.approx(-pop)
    assert after.grids.at["G2", "mean_travel_min"] != before.grids.at["G2", "mean_travel_min"]

    ws.lock()
    assert ws.plan.lock_map == {uid: "G2"}
    lead_g2 = ws.plan.leads["G2"]
    assert dict(ws.request.locks) == {uid: lead_g2}
    result = ws.replan()
    assert result.ok
    # Re-planning keeps the lock: the unit is still in the grid led by the same hospital.
    assert ws.plan.lead_of(ws.plan.assignment[uid]) == lead_g2
    assert ws.plan.lock_map[uid] == ws.plan.grid_of_lead(lead_g2)

    # Undo three times: replan, lock, move -> the original figures come back exactly.
    ws.undo()
    ws.undo()
    assert ws.plan.locks == ()
    ws.undo()
    restored = ws.figures("en")
    pd.testing.assert_frame_equal(restored.grids, before.grids)
    assert ws.plan.assignment[uid] == "G1"
    ws.redo()
    assert ws.plan.assignment[uid] == "G2"
    assert ws.figures("en").grids.at["G2", "population"] == pytest.approx(after.grids.at["G2", "population"])
    ws.unlock([uid])  # a new action clears the redo stack
    assert not ws.can_redo


def test_a_move_that_breaks_contiguity_is_allowed_and_flagged(ws, adjacency):
    a = ws.plan.assignment
    lead_units = set(facility_units(ws.layers, ws.layers.facilities).reindex(ws.plan.leads.astype(str)))
    # A unit deep inside G1 (all neighbours in G1) moved to G3 makes G3 two pieces.
    interior = next(u for u in a.index[a == "G1"]
                    if u not in lead_units and _neighbour_grids(ws, adjacency, u) == {"G1"})
    ws.move("G3", [interior])
    fig = ws.figures("en")
    assert not fig.grids.at["G3", "contiguous"] and fig.grids.at["G3", "n_parts"] == 2
    broken = [c for c in fig.checks if c.rule == "contiguity" and c.grid_id == "G3"]
    assert broken[0].status == "fail" and broken[0].code == "contiguity_broken"
    assert "2" in broken[0].message("en")


def test_refusals_name_the_problem(ws):
    lead_unit = facility_units(ws.layers, ws.layers.facilities)[ws.plan.leads["G1"]]
    with pytest.raises(WorkspaceError) as err:
        ws.move("G2", [lead_unit])
    assert err.value.code == "lead_unit" and lead_unit in err.value.message("en")
    with pytest.raises(WorkspaceError) as err:
        ws.move("G9", [lead_unit])
    assert err.value.code == "unknown_grid"
    ws.clear_selection()
    with pytest.raises(WorkspaceError) as err:
        ws.lock()
    assert err.value.code == "nothing_selected"
    fresh = Workspace(ws.layers)
    with pytest.raises(WorkspaceError) as err:
        fresh.undo()
    assert err.value.code == "nothing_to_undo"


def test_upgrading_a_secondary_hospital_makes_it_an_eligible_lead(ws, city):
    fac = city.facilities
    sec = fac[(fac["level"] == "secondary") & (fac["type"] == "general")
              & (fac["owner_level"].isin(["district", "municipal"]))]
    fid = str(sec["id"].iloc[0])
    assert fid not in set(eligible_leads(fac, ws.request)["id"])
    ws.modify_facility(fid, level="tertiary")
    eff = ws.effective_layers().facilities
    assert eff.loc[eff["id"] == fid, "level"].iloc[0] == "tertiary"
    assert fid in set(eligible_leads(eff, ws.request)["id"])
    # The user's layers are never touched.
    assert city.facilities.loc[city.facilities["id"] == fid, "level"].iloc[0] == "secondary"
    # Eligible only by the what-if edit: a G4 exception (issue 15), so fixing it alone is refused
    # and designating it with a reason makes it lead, passed by exception with that reason.
    ws.set_request(fixed_leads=(fid,))
    assert not ws.replan().ok
    ws.set_request(fixed_leads=(), designated_leads=((fid, "升级方案已批准"),))
    result = ws.replan()
    assert result.ok
    assert fid in set(ws.plan.leads)
    grid = ws.plan.grid_of_lead(fid)
    g4 = [c for c in ws.figures("en").checks if c.rule == "G4" and c.grid_id == grid]
    assert [c.status for c in g4] == ["exception"] and "升级方案已批准" in g4[0].message("en")
    table = ws.describe_edits("en")
    assert table["facility_id"].tolist() == [fid] and "tertiary" in table["detail"].iloc[0]
    # Removing the change makes the hospital ineligible again; the fixed lead is refused, not ignored.
    ws.set_request(fixed_leads=(), designated_leads=())
    ws.remove_edit(0)
    assert ws.edits == () and fid not in set(ws.plan.leads)


def test_planned_hospital_shortens_trips_where_it_is_placed(ws, city):
    before = ws.figures("en").units
    # Put it in the unit that is farthest from any secondary-or-higher hospital (people there).
    far = before[before["population"] > 0]["t_secondary"].idxmax()
    pt = city.units.set_index("id").loc[far].geometry.representative_point()
    fid, result = ws.add_facility("规划医院甲", pt.x, pt.y, level="secondary", type_="general", beds=300)
    assert result is not None and result.ok
    after = ws.figures("en").units
    assert after.at[far, "t_secondary"] < before.at[far, "t_secondary"]
    assert after.at[far, "t_secondary"] < 5
    assert fid in set(ws.plan.roles.index)
    assert fid not in set(city.facilities["id"])
    with pytest.raises(WorkspaceError) as err:
        ws.add_facility("外地", 100.0, 10.0, level="secondary", type_="general")
    assert err.value.code == "outside_city"


def test_closing_a_lead_replans_without_it(ws):
    lead = str(ws.plan.leads["G2"])
    result = ws.close_facility(lead)
    assert result.ok
    assert lead not in set(ws.plan.leads) and ws.plan.k == 4
    assert lead not in set(ws.effective_layers().facilities["id"])
    assert ws.describe_edits("en")["action"].tolist() == ["closed"]
    ws.undo()
    assert lead in set(ws.plan.leads) and ws.edits == ()


def test_designated_lead_is_an_exception_with_its_reason(city):
    fac = city.facilities
    # another owner's hospital (provincial ones never lead: G8, issue 15)
    other = fac[(fac["level"] == "tertiary") & (fac["type"] == "general") & (fac["owner_level"] == "other")]
    fid = str(other["id"].iloc[0])
    w = Workspace(city, request=PlanRequest(k=3, designated_leads=((fid, "市政府指定"),)))
    assert w.run().ok
    grid = w.plan.grid_of_lead(fid)
    g4 = [c for c in w.figures("en").checks if c.rule == "G4" and c.grid_id == grid]
    assert g4[0].status == "exception" and "市政府指定" in g4[0].message("en")
    # Withdrawing the designation and re-planning drops both the lead and the exception.
    w.set_request(designated_leads=())
    assert w.replan().ok
    assert fid not in set(w.plan.leads) and w.plan.exceptions == ()


def test_scenario_round_trip_keeps_edits_locks_checklist(ws, tmp_path, adjacency):
    uid = _border_unit(ws, adjacency, "G2", "G1")
    ws.move("G1", [uid])
    ws.lock([uid])
    lead = str(ws.plan.leads["G1"])
    ws.record(lead, 2, "done", "章程已签署")
    ws.set_request(balance=0.5)
    store = ScenarioStore(tmp_path / "s.sqlite")
    ws.save(store, "方案甲", note="test")
    other = Workspace(ws.layers)
    other.load(store, "方案甲")
    assert other.plan.assignment.to_dict() == ws.plan.assignment.to_dict()
    assert other.plan.lock_map == {uid: "G1"}
    assert [(c.grid_lead, c.item, c.status, c.note) for c in other.plan.checklist] == [(lead, 2, "done", "章程已签署")]
    assert other.request.k == 4 and other.request.balance == 0.5
    assert dict(other.request.locks) == {uid: lead}
    pd.testing.assert_frame_equal(other.figures("en").grids, ws.figures("en").grids)
    # A scenario of another city is refused with a reason, not loaded half-way.
    small = Workspace(synthetic_city(n_units=60, n_facilities=20, n_eligible=4, seed=1))
    with pytest.raises(WorkspaceError) as err:
        small.load(store, "方案甲")
    assert err.value.code == "other_city"


def test_unit_choices_offer_the_selection_and_a_bounded_search(ws, city):
    ids = city.units["id"].astype(str)
    assert ws.unit_choices("") == {}
    ws.select([ids.iloc[3]])
    assert list(ws.unit_choices("")) == [ids.iloc[3]]
    hits = ws.unit_choices(ids.iloc[7].upper(), limit=5)
    assert ids.iloc[7] in hits and ids.iloc[3] in hits and len(hits) <= 6
    assert hits[ids.iloc[7]].endswith(" · " + ids.iloc[7])
    assert len(ws.unit_choices("u", limit=5)) <= 6  # selection + at most 5 matches


def test_selection_and_map_clicks(ws, city):
    units = city.units
    u0, u1 = str(units["id"].iloc[0]), str(units["id"].iloc[1])
    assert ws.select([u0, "nope"]) == (u0,)
    assert ws.select([u1], "add") == (u0, u1)
    assert ws.select([u0], "toggle") == (u1,)
    assert ws.select([u1], "remove") == ()
    pt = units.geometry.iloc[5].representative_point()
    assert ws.unit_at(pt.x, pt.y) == str(units["id"].iloc[5])
    assert ws.unit_at(0.0, 0.0) is None
    # A polygon feature names its unit; a member marker names its facility; a lead marker is
    # matched by position; a bare map click is looked up in the units.
    poly = {"last_active_drawing": {"geometry": {"type": "Polygon"}, "properties": {"id": u1}},
            "last_clicked": {"lng": pt.x, "lat": pt.y}}
    assert interpret_click(ws, poly).kind == "unit" and interpret_click(ws, poly).id == u1
    # A click on a dissolved grid polygon (no unit id) finds the unit under the pointer.
    grid_poly = {"last_active_drawing": {"geometry": {"type": "MultiPolygon"}, "properties": {"g": "G1", "k": 0}},
                 "last_clicked": {"lng": pt.x, "lat": pt.y}}
    assert interpret_click(ws, grid_poly).kind == "unit"
    assert interpret_click(ws, grid_poly).id == str(units["id"].iloc[5])
    fac = city.facilities.iloc[3]
    member = {"last_active_drawing": {"geometry": {"type": "Point", "coordinates": [fac.geometry.x, fac.geometry.y]},
                                      "properties": {"id": fac["id"]}}}
    assert interpret_click(ws, member).kind == "facility" and interpret_click(ws, member).id == fac["id"]
    lead_marker = {"last_active_drawing": {"geometry": {"type": "Point", "coordinates": [fac.geometry.x, fac.geometry.y]},
                                           "properties": {}}}
    assert interpret_click(ws, lead_marker).id == fac["id"]
    bare = {"last_clicked": {"lng": pt.x, "lat": pt.y}}
    click = interpret_click(ws, bare)
    assert click.kind == "unit" and click.id == str(units["id"].iloc[5]) and click.lon == pytest.approx(pt.x)
    assert interpret_click(ws, None).kind == "none"


def test_facility_label_tells_real_from_illustrative():
    assert facility_label({"name": "甲", "source": "real"}, "en") == "甲"
    assert facility_label({"name": "甲", "source": "illustrative"}, "en") == "甲 (illustrative)"
    label = facility_label({"name": "乙", "source": "real", "level_source": "assumed"}, "zh")
    assert label == "乙（等级为假定）"



def test_facility_label_shows_no_bidi_override_or_control_characters():
    # Select boxes (lead choices) and the members table list facilities by this label: a name
    # holding a right-to-left override showed "市一医院exe.gpj" as "市一医院jpg.exe".
    row = {"name": "市一医院\u202eexe.gpj\u202c\x1b[31m\x07\u2067甲\u2069", "source": "real"}
    assert facility_label(row, "en") == "市一医院exe.gpj甲"


def test_history_is_bounded(city):
    w = Workspace(city, request=PlanRequest(k=2), history_limit=3)
    w.run()
    uid = str(city.units["id"].iloc[0])
    for _ in range(5):
        w.lock([uid])
        w.unlock([uid])
    n = 0
    while w.can_undo:
        w.undo()
        n += 1
    assert n == 3
    assert np.all(w.plan.assignment.index == city.units["id"].astype(str))


def test_export_files_carry_the_edited_plan(ws, tmp_path, adjacency):
    import openpyxl

    from grid_planning.exports.planfile import read_plan

    uid = _border_unit(ws, adjacency, "G2", "G1")
    ws.move("G1", [uid])
    gpkg = tmp_path / "plan.gpkg"
    gpkg.write_bytes(ws.export_bytes("gpkg", "en"))
    _, plan = read_plan(gpkg)
    assert plan.assignment[uid] == "G1"
    assert plan.assignment.to_dict() == ws.plan.assignment.to_dict()
    xlsx = tmp_path / "plan.xlsx"
    xlsx.write_bytes(ws.export_bytes("xlsx", "en"))
    book = openpyxl.load_workbook(xlsx, read_only=True)
    assert {"Summary", "Checks", "Checklist"} <= set(book.sheetnames)
    # header, one row per grid, the city total
    assert book["Summary"].max_row == 1 + ws.plan.k + 1
    # the moved unit is counted in G1's population
    summary = pd.read_excel(xlsx, sheet_name="Summary")
    # (residents are written as whole people, adding up to the city's)
    assert summary.loc[summary["grid"] == "G1", "population"].iloc[0] == ws.figures("en").grids.loc["G1", "population_shown"]
    assert summary["population"].iloc[:-1].sum() == summary["population"].iloc[-1]


def test_a_request_changed_outside_its_widgets_tells_them(ws):
    # The widgets change the request with set_request (they show it already); a button or a
    # taken suggestion uses change_request, and the widgets re-read the request.
    before = ws.request_revision
    ws.set_request(k=3)
    assert (ws.request.k, ws.request_revision) == (3, before)
    ws.change_request(k=5, balance=0.2)
    assert (ws.request.k, ws.request.balance, ws.request_revision) == (5, 0.2, before + 1)


def test_figures_carry_a_key_that_follows_the_travel_model(ws):
    # Maps drawn from the figures are cached under their key: a slower travel model without a
    # re-plan gives other travel times, so it must give another key (and another map).
    from dataclasses import replace as _replace

    assert ws.run().ok
    first = ws.figures("zh")
    assert first.key and ws.figures("zh").key == first.key
    assert ws.figures("en").key != first.key
    cost = ws.request.cost  # the sample plans on roads: slow both models
    ws.set_request(cost=_replace(cost, speed_kmh=cost.speed_kmh / 2,
                                 default_road_speed_kmh=cost.default_road_speed_kmh / 2))
    slower = ws.figures("zh")
    assert slower.key != first.key
    assert slower.units["t_lead"].mean() > first.units["t_lead"].mean()


@pytest.fixture
def planning_runs(monkeypatch):
    """The k of every planning run the workspaces start (none shared yet)."""
    import grid_planning.session.workspace as workspace_module

    workspace_module.SHARED_PLANS.clear()
    runs = []
    real = workspace_module.plan_city

    def counted(layers, request, **kwargs):
        runs.append(request.k)
        return real(layers, request, **kwargs)

    monkeypatch.setattr(workspace_module, "plan_city", counted)
    return runs


def test_sessions_asking_the_same_plan_share_one_run(city, planning_runs):
    """Twenty planners clicking "run" with the same request on the same city wait for one planning
    run (it is deterministic), each gets the plan stamped with its own time; another request, a
    what-if edit or other travel costs are planned anew."""
    from grid_planning.domain.request import CostParams

    runs = planning_runs
    a, b = Workspace(city, request=PlanRequest(k=3)), Workspace(city, request=PlanRequest(k=3))
    first, second = a.run(), b.run()
    assert runs == [3]
    assert second.plan.assignment.equals(first.plan.assignment)
    assert second.plan.leads.equals(first.plan.leads)
    assert second.plan is not first.plan and "created" in second.plan.param_map
    b.set_request(k=5)
    assert b.run().ok and runs == [3, 5]
    b.set_request(k=3, cost=CostParams(mode="straight", speed_kmh=20.0))
    assert b.run().ok and runs == [3, 5, 3]
    assert b.plan.param_map["cost"]["speed_kmh"] == 20.0
    # A session's hand edit leaves the other's plan as it was (plans are values).
    before = a.plan.assignment.copy()
    lead_units = set(facility_units(a.layers, a.effective_layers().facilities).to_numpy())
    unit = next(u for u in a.plan.assignment.index if u not in lead_units and a.plan.assignment[u] == "G1")
    b2 = Workspace(city, request=PlanRequest(k=3))
    b2.run()
    b2.move("G2", [unit])
    assert runs == [3, 5, 3] and a.plan.assignment.equals(before)


def test_shared_runs_keep_plans_not_refusals_and_survive_an_interrupted_display(planning_runs):
    """A refusal is asked again, never served from the cache (it may rest on a time limit under
    load); a session whose progress display is interrupted (Streamlit stops its run when the
    planner clicks elsewhere) gets the interruption, and the sessions waiting get the plan."""
    from plan_fixtures import make_layers

    runs = planning_runs
    city = make_layers()  # two eligible leads: k = 3 is refused
    assert not Workspace(city, request=PlanRequest(k=3)).run().ok
    assert not Workspace(city, request=PlanRequest(k=3)).run().ok
    assert runs == [3, 3]

    class Stopped(BaseException):  # what Streamlit raises in a stopped script run
        pass

    def interrupted(fraction, message):
        raise Stopped

    with pytest.raises(Stopped):
        Workspace(city, request=PlanRequest(k=2)).run(progress=interrupted)
    waiting = Workspace(city, request=PlanRequest(k=2))
    result = waiting.run()
    assert result.ok and runs == [3, 3, 2]  # the interrupted session's run was finished and kept
    assert result.stats["seconds"] < 1.0  # the time this planner waited, not the shared run's


def test_shared_cache_keeps_only_what_it_is_told_to():
    from grid_planning.base.cache import SharedCache

    cache: SharedCache = SharedCache(max_entries=4)
    made = []

    def make(value):
        made.append(value)
        return value

    assert cache.get("a", lambda: make(-1), keep=lambda v: v > 0) == -1
    assert cache.get("a", lambda: make(1), keep=lambda v: v > 0) == 1
    assert cache.get("a", lambda: make(2), keep=lambda v: v > 0) == 1
    assert made == [-1, 1] and len(cache) == 1


def test_a_scenario_whose_request_this_version_cannot_read_still_loads(ws, tmp_path):
    store = ScenarioStore(tmp_path / "s.sqlite")
    newer = ws.plan.with_params(request=ws.request.to_dict() | {"version": 99, "k": 7})
    store.save("newer", newer, city=ws.layers.name, city_fingerprint=ws.layers.fingerprint())
    other = Workspace(ws.layers)
    other.set_request(k=3, balance=0.2)
    plan = other.load(store, "newer")
    assert plan.assignment.to_dict() == ws.plan.assignment.to_dict()
    assert other.request.k == 3 and other.request.balance == 0.2  # kept, not guessed from the file
    # today's request is restored whole, travel model included
    ws.set_request(balance=0.4, cost=replace(ws.request.cost, mode="straight", detour=1.6))
    ws.save(store, "today")
    other.load(store, "today")
    assert other.request.balance == 0.4 and other.request.cost == ws.request.cost
