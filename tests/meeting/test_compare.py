"""The comparison of options (grid_planning.meeting.compare): exact values on the hand-built 4 x 4 city of
``plan_fixtures``, then the sample city through a real scenario store."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from plan_fixtures import make_costs, make_layers, make_plan, minutes

from grid_planning.domain.plan import Plan, PolicyException
from grid_planning.domain.request import PlanRequest
from grid_planning.meeting import compare as c
from grid_planning.planning.planner import move_units
from grid_planning.session.workspace import Workspace
from grid_planning.store.scenarios import ScenarioStore

MIN_PER_KM = 5.0  # 4 km across: some residents are beyond 15 minutes, so the shares differ
UNITS = [f"U{r}{c}" for r in range(4) for c in range(4)]
MOVED = ("U02", "U12")  # from F2's grid to F1's in option B


def pop(uid: str) -> float:
    return 100.0 * (1 + 4 * int(uid[1]) + int(uid[2]))


def relabel(plan: Plan, mapping: dict[str, str]) -> Plan:
    """The same plan with its grid ids renamed (what a re-run of the planner does)."""
    roles = plan.roles.copy()
    for col in ("grid_id", "home_grid"):
        roles[col] = roles[col].map(lambda g: mapping.get(g, g))
    roles["supports"] = roles["supports"].map(lambda s: ",".join(mapping.get(g, g) for g in s.split(",") if g))
    leads = pd.Series({mapping[g]: f for g, f in plan.leads.items()}, dtype=object).sort_index()
    assignment = plan.assignment.map(mapping)
    locks = tuple((u, mapping.get(g, g)) for u, g in plan.locks)
    return replace(plan, assignment=assignment, leads=leads, roles=roles, locks=locks)


@pytest.fixture(scope="module")
def city():
    return make_layers()


@pytest.fixture(scope="module")
def costs():
    return make_costs(MIN_PER_KM)


@pytest.fixture(scope="module")
def plan_a():
    return make_plan()


@pytest.fixture(scope="module")
def plan_b(city, plan_a):
    """Two units more for F1's grid, grid ids swapped (F2 leads G1 now), and F3 made a
    collaborator so that F1's grid passes G5 only by a recorded exception."""
    moved = move_units(city, plan_a, list(MOVED), "G1")  # roles from the planner's own travel model
    plan = relabel(moved, {"G1": "G2", "G2": "G1"})
    roles = plan.roles.copy()
    roles.loc["F3", ["role", "grid_id", "supports"]] = ["collaborator", "", "G1,G2"]
    return replace(plan, roles=roles).with_exception(
        PolicyException("G5", "F1", "康复由相邻网格的康复医院承担 <b>{{7*7}}</b>"))


@pytest.fixture(scope="module")
def options(city, costs, plan_a, plan_b):
    return [c.plan_option(city, plan_a, "方案甲", costs, key=1), c.plan_option(city, plan_b, "Plan B", costs, key=2)]


def lead_of(plan: Plan) -> dict[str, str]:
    return {u: str(plan.leads[g]) for u, g in plan.assignment.items()}


def hand_mean(plan: Plan) -> float:
    leads = lead_of(plan)
    return sum(pop(u) * minutes(u, leads[u], MIN_PER_KM) for u in UNITS) / sum(pop(u) for u in UNITS)


def hand_share(plan: Plan, limit: float) -> float:
    leads = lead_of(plan)
    inside = sum(pop(u) for u in UNITS if minutes(u, leads[u], MIN_PER_KM) <= limit)
    return inside / sum(pop(u) for u in UNITS)


# ---- the synthetic city: exact values -------------------------------------------------------------
def test_plan_b_is_what_the_test_says(plan_b):
    assert dict(plan_b.leads) == {"G1": "F2", "G2": "F1"}
    assert sorted(plan_b.units_of("G2")) == sorted(["U00", "U01", "U10", "U11", *MOVED])


def test_changed_units_match_grids_by_lead_not_by_id(city, plan_a, plan_b):
    changes = c.changed_units(city, plan_a, plan_b)
    # Grid ids were swapped: every unit is in a grid of another id, yet only two changed lead.
    assert list(changes["unit_id"]) == ["U12", "U02"]  # most residents first (700, 300)
    assert list(changes["population"]) == [700.0, 300.0]
    assert set(changes["from_lead"]) == {"F2"} and set(changes["to_lead"]) == {"F1"}
    assert list(changes["from_grid"]) == ["G2", "G2"] and list(changes["to_grid"]) == ["G2", "G2"]
    assert set(changes["from_lead_name"]) == {"区人民医院"} and set(changes["to_lead_name"]) == {"市一医院"}
    summary = c.change_summary(city, plan_a, plan_b, changes)
    assert (summary.n_units, summary.residents) == (2, 1000.0)
    assert summary.share == pytest.approx(1000 / 13600)
    assert summary.flows[["from_lead", "to_lead", "n_units", "residents"]].values.tolist() == [["F2", "F1", 2, 1000.0]]
    assert summary.leads_dropped == () and summary.leads_new == ()
    assert summary.text("en", a="A", b="B") == "From “A” to “B”, 2 units change grid: 1,000 residents (7.4\u00a0% of the city)."
    # The reverse direction moves the same residents back.
    back = c.change_summary(city, plan_b, plan_a)
    assert (back.n_units, back.residents) == (2, 1000.0)
    assert set(back.flows["from_lead"]) == {"F1"}


def test_a_renumbered_plan_changes_nothing(city, plan_a):
    same = relabel(plan_a, {"G1": "G2", "G2": "G1"})
    assert c.changed_units(city, plan_a, same).empty
    summary = c.change_summary(city, plan_a, same)
    assert summary.n_units == 0 and summary.flows.empty
    assert summary.text("zh", a="甲", b="乙").startswith("从“甲”到“乙”，没有单元改变所属网格")


def test_a_dropped_lead_and_an_unassigned_unit(city, plan_a):
    # One grid only: F2's grid is gone; U33 (F2's unit) left unassigned.
    one = Plan(plan_a.assignment.map(lambda g: "G1").drop("U33"), pd.Series({"G1": "F1"}, dtype=object),
               plan_a.roles)
    changes = c.changed_units(city, plan_a, one)
    assert len(changes) == 12
    assert changes.set_index("unit_id").at["U33", "to_lead"] == ""
    summary = c.change_summary(city, plan_a, one, changes)
    assert summary.leads_dropped == ("F2",) and summary.leads_new == ()
    assert summary.residents == pytest.approx(13600 - 1400)
    frame = c.changes_frame(changes, "en")
    assert frame.set_index("Unit").at["U33", "To grid (lead)"] == "(unassigned)"


def test_city_rows_exact(options, plan_a, plan_b):
    table = c.metrics_table(options, "en")
    assert table.options == ("1 · 方案甲", "2 · Plan B")
    row = table.row("city", "grid_pop_min")
    assert row.values == (1400.0, 2400.0) and row.texts == ("1,400", "2,400")
    assert row.deltas == ("", "+1,000") and row.differs and row.verdict == (0, 0)  # neutral figure
    balance = table.row("city", "balance")
    assert balance.values[0] == pytest.approx(abs(1400 / 6800 - 1))
    assert balance.values[1] == pytest.approx(abs(2400 / 6800 - 1))
    assert balance.texts == ("±79.4\u00a0%", "±64.7\u00a0%")
    assert balance.deltas[1] == "−14.7 pp" and balance.verdict == (0, 1)  # smaller deviation: better
    mean = table.row("city", "mean_min")
    assert mean.values[0] == pytest.approx(hand_mean(plan_a))
    assert mean.values[1] == pytest.approx(hand_mean(plan_b))
    assert hand_mean(plan_b) < hand_mean(plan_a) and mean.verdict == (0, 1)
    for limit, key in ((15, "share_15"), (30, "share_30")):
        r = table.row("city", key)
        assert r.values[0] == pytest.approx(hand_share(plan_a, limit))
        assert r.values[1] == pytest.approx(hand_share(plan_b, limit))
    assert table.row("city", "share_30").texts == ("100.0\u00a0%", "100.0\u00a0%")
    assert not table.row("city", "share_30").differs and table.row("city", "share_30").deltas[1] == "same"
    assert table.row("city", "share_15").differs
    residents = table.row("city", "residents")
    assert residents.values == (13600.0, 13600.0) and not residents.differs
    assert table.row("city", "k").texts == ("2", "2")


def test_checks_and_exceptions(city, options):
    a, b = options
    assert c.check_counts(a.figures.checks)["exception"] == 0
    counts = c.check_counts(b.figures.checks)
    assert counts["exception"] == 1 and counts["fail"] == 0
    table = c.metrics_table(options, "en")
    exc = table.row("city", "checks_exception")
    assert exc.values == (0.0, 1.0) and exc.differs and exc.verdict == (0, 0)
    assert table.row("city", "checks_failed").values == (0.0, 0.0)
    # The exception and its reason, as typed: the reason is data, never markup.
    rows = c.exception_rows(city, b, "en")
    assert rows.to_dict("records") == [{"Rule": "G5", "Concerns": "市一医院", "Grid (lead hospital)": "G2",
                                        "Written reason": "康复由相邻网格的康复医院承担 <b>{{7*7}}</b>"}]
    assert c.exception_rows(city, a, "en").empty
    checks = c.check_rows(b, "en")
    assert list(checks.columns) == ["Result", "Rule", "Grid (lead hospital)", "Details"]
    first = checks.iloc[0]  # exceptions come before passes
    assert first["Result"] == "◐ passed by exception" and first["Rule"] == "G5"
    assert first["Grid (lead hospital)"] == "G2 · 市一医院"
    assert "康复由相邻网格的康复医院承担 <b>{{7*7}}</b>" in first["Details"]
    assert c.attention(b, "en")[0][:2] == ("◐", "G5 · G2 市一医院")
    assert c.checks_text(b.figures.checks, "en") == "✓ All passed (1 by exception)"
    assert c.checks_text(a.figures.checks, "zh") == "✓ 全部通过"


def test_grid_rows_are_matched_by_lead(options, plan_a, plan_b):
    table = c.metrics_table(options, "en")
    assert [r.section for r in table.grids()][::6] == ["F1", "F2"]  # the first option's order
    f1 = table.row("F1", "population")
    assert f1.values == (1400.0, 2400.0)  # G1 in A, G2 in B: one grid, one row
    f2 = table.row("F2", "population")
    assert f2.values == (12200.0, 11200.0)
    assert table.row("F1", "balance_dev").texts == ("-79.4\u00a0%", "-64.7\u00a0%")
    g1_mean = sum(pop(u) * minutes(u, "F1", MIN_PER_KM) for u in plan_b.units_of("G2")) / 2400
    assert table.row("F1", "mean_min").values[1] == pytest.approx(g1_mean)
    beds = table.row("F1", "beds_per_1000")
    # B: F3's 200 beds left with its role (collaborator); F1 (1000) and F5 (20) remain.
    assert beds.values[0] == pytest.approx((1000 + 200 + 20) / 1400 * 1000)
    assert beds.values[1] == pytest.approx((1000 + 20) / 2400 * 1000)
    assert table.grid_names == {"F1": "市一医院网格", "F2": "区人民医院网格"}
    frame = table.frame("grids", "en")
    assert list(frame.columns) == ["Grid (lead hospital)", "Figure", "1 · 方案甲", "2 · Plan B",
                                   "Option 2 vs option 1", "Differs"]
    assert frame.iloc[0].tolist() == ["市一医院网格", "Residents", "1,400", "2,400", "+1,000", "≠"]


def test_a_lead_in_one_option_only_shows_a_dash(city, costs, plan_a):
    # A one-grid plan led by F1: F2 leads nothing in it.
    one = Plan(plan_a.assignment.map(lambda g: "G1"), pd.Series({"G1": "F1"}, dtype=object),
               plan_a.roles.assign(grid_id=lambda r: r["grid_id"].replace("G2", "G1")))
    options = [c.plan_option(city, plan_a, "A", costs), c.plan_option(city, one, "B", costs)]
    table = c.metrics_table(options, "en")
    row = table.row("F2", "population")
    assert row.values == (12200.0, None) and row.texts == ("12,200", "—") and row.differs
    assert row.deltas == ("", "") and row.verdict == (0, 0)


def test_styles_mark_differences_and_verdicts(options):
    table = c.metrics_table(options, "en")
    frame, css = table.frame("city", "en"), table.styles("city")
    assert css.shape == frame.shape
    i = [r.key for r in table.city()].index("balance")
    assert css.iat[i, 0] == c.DIFFERS_CSS  # the figure's name: the options differ
    assert css.iat[i, 2] == c.VERDICT_CSS[1] and css.iat[i, 3] == c.VERDICT_CSS[1]  # B better, and its delta
    j = [r.key for r in table.city()].index("residents")
    assert set(css.iloc[j]) == {""}  # same everywhere: nothing marked


def test_illustrative_beds_are_marked(options):
    table = c.metrics_table(options, "zh")
    # Every facility of the hand-built city is illustrative.
    assert table.row("city", "beds_per_1000").texts[0].endswith("（示意）")
    assert any("示意" in n for n in table.notes)


def test_key_figures(options):
    figs = c.key_figures(options[1], "en")
    assert [f[0] for f in figs] == list(c.KEY_FIGURES)
    values = {k: v for k, _, v in figs}
    assert values["k"] == "2" and values["residents"] == "13,600"
    assert values["balance"] == "±64.7\u00a0%"
    assert values["checks"] == "✓ All passed (1 by exception)"


def test_format_delta():
    assert c.format_delta(-2.46, "min", "zh") == "−2.5分钟"
    assert c.format_delta(0.031, "pct", "zh") == "+3.1 个百分点"
    assert c.format_delta(0.0004, "pct", "en") == "same"
    assert c.format_delta(None, "int", "en") == ""


def test_option_keys_accept_only_ids():
    assert c.option_keys(["3,5", "5", "x", "-1", "7;8", "12345678901234"]) == [3, 5]
    assert c.option_keys(["1,2,3,4,5,6,7,8,9,10"]) == list(range(1, 10))


def test_lead_colours_follow_the_lead(plan_a, plan_b):
    colours = c.lead_colours([plan_a, plan_b])
    assert set(colours) == {"F1", "F2"} and colours["F1"] != colours["F2"]


# ---- the sample city, through the store -------------------------------------------------------------
@pytest.fixture(scope="module")
def sample():
    from grid_planning.city.provenance import load_sample_city

    return load_sample_city()


@pytest.fixture(scope="module")
def saved(sample, tmp_path_factory):
    """Three options saved as a planner saves them (k = 3, 4, 5), and a copy of the first."""
    store = ScenarioStore(tmp_path_factory.mktemp("cmp") / "scenarios.sqlite")
    ws = Workspace(sample, request=PlanRequest(k=3))
    ids = {}
    for k in (3, 4, 5):
        ws.set_request(k=k)
        assert ws.run().ok
        ids[k] = ws.save(store, f"方案 k={k}")
    ids["copy"] = store.duplicate(ids[3], "方案 k=3 副本")
    return store, ids


def test_sample_options_are_the_plan_pages_figures(sample, saved):
    store, ids = saved
    option = c.load_option(store, ids[4], sample, lang="zh")
    ws = Workspace(sample)
    ws.load(store, ids[4])
    expected = ws.figures("zh")
    assert option.name == "方案 k=4" and option.k == 4 and option.changed == ()
    pd.testing.assert_frame_equal(option.figures.grids, expected.grids)
    assert option.figures.city == expected.city


def test_sample_comparison(sample, saved):
    store, ids = saved
    opts = [c.load_option(store, ids[k], sample, lang="en") for k in (3, 4, 5)]
    table = c.metrics_table(opts, "en")
    population = float(pd.to_numeric(sample.units["population"]).sum())
    assert table.row("city", "k").values == (3.0, 4.0, 5.0)
    assert table.row("city", "residents").values == (population,) * 3
    assert table.row("city", "residents").texts[0] == f"{population:,.0f}"
    # Per grid, by lead: each option's grid populations, wherever the lead appears.
    for o in opts:
        g = o.figures.grids.set_index("lead_id")
        for lead, value in g["population"].items():
            assert table.row(lead, "population").values[opts.index(o)] == pytest.approx(value)
    assert {r.section for r in table.grids()} == set().union(*(set(o.plan.leads) for o in opts))
    # The units that change grid, recomputed here from the assignments and the leads.
    a, b = opts[0].plan, opts[1].plan
    la = a.assignment.map(a.leads)
    lb = b.assignment.reindex(la.index).map(b.leads)
    moved = la.index[la.to_numpy() != lb.to_numpy()]
    pops = pd.Series(pd.to_numeric(sample.units["population"]).to_numpy(), index=sample.units["id"].astype(str))
    changes = c.changed_units(sample, a, b)
    assert set(changes["unit_id"]) == set(moved)
    summary = c.change_summary(sample, a, b, changes)
    assert summary.residents == pytest.approx(float(pops[moved].sum()))
    assert summary.flows["residents"].sum() == pytest.approx(summary.residents)
    assert (changes["from_lead"] != changes["to_lead"]).all()
    assert changes["population"].is_monotonic_decreasing


def test_a_duplicate_changes_nothing(sample, saved):
    store, ids = saved
    a = c.load_option(store, ids[3], sample)
    b = c.load_option(store, ids["copy"], sample)
    assert c.changed_units(sample, a.plan, b.plan).empty
    table = c.metrics_table([a, b], "zh")
    assert not any(r.differs for r in table.rows)


def test_comparable_scenarios_flag_changed_layers_and_leave_out_other_cities(sample, saved, tmp_path):
    store, ids = saved
    other = ScenarioStore(tmp_path / "s.sqlite")
    ws = Workspace(sample, request=PlanRequest(k=3))
    ws.run()
    same_id = ws.save(other, "same")
    # The same units, but one hospital's level changed since: comparable, flagged.
    fac = sample.facilities.copy()
    i = int(np.flatnonzero(fac["level"].astype(str) == "secondary")[0])
    fac.loc[fac.index[i], "level"] = "tertiary"
    changed = sample.with_facilities(fac)
    ws2 = Workspace(changed, request=PlanRequest(k=3))
    ws2.run()
    changed_id = ws2.save(other, "made on other facilities")
    # Another city in the same store: left out.
    small = Workspace(make_layers(), request=PlanRequest(k=2))
    assert small.run().ok
    small.save(other, "another city")
    found = c.comparable_scenarios(other, sample).set_index("id")
    assert set(found.index) == {same_id, changed_id}
    assert found.at[same_id, "changed"] == ()
    assert found.at[changed_id, "changed"] == ("facilities",)
    assert c.flag_text(found.at[changed_id, "changed"], "en") == "⚠ Data changed since it was saved: facilities"
    option = c.load_option(other, changed_id, sample)
    assert option.changed == ("facilities",)



# ---- cities this was not built for ------------------------------------------------------------------
def test_a_synthetic_city_with_lakes_and_an_island(tmp_path):
    """k = 3 and k = 4 on a seeded synthetic city (lakes, an island linked to the mainland): every
    moved resident is counted once, and the meeting pages build."""
    from grid_planning.city.synthetic import synthetic_city
    from grid_planning.meeting import meetingmap

    layers = synthetic_city(n_units=300, n_facilities=60, n_eligible=8, seed=3)
    store = ScenarioStore(tmp_path / "s.sqlite")
    ws = Workspace(layers, request=PlanRequest(k=3))
    ids = []
    for k in (3, 4):
        ws.set_request(k=k)
        assert ws.run().ok
        ids.append(ws.save(store, f"k{k}"))
    assert len(c.comparable_scenarios(store, layers)) == 2
    a, b = (c.load_option(store, i, layers, lang="en") for i in ids)
    changes = c.changed_units(layers, a.plan, b.plan)
    summary = c.change_summary(layers, a.plan, b.plan, changes)
    assert summary.flows["n_units"].sum() == len(changes) == summary.n_units
    assert summary.residents == pytest.approx(changes["population"].sum())
    lead_a = a.plan.assignment.map(a.plan.leads)
    lead_b = b.plan.assignment.map(b.plan.leads).reindex(lead_a.index)
    assert set(changes["unit_id"]) == set(lead_a.index[lead_a != lead_b])
    table = c.metrics_table([a, b], "en")
    assert table.row("city", "k").values == (3.0, 4.0)
    assert {r.section for r in table.grids()} == set(a.plan.leads) | set(b.plan.leads)
    for page in (meetingmap.compare_html(layers, [a, b], "en"), meetingmap.present_html(layers, [a, b], "en"),
                 meetingmap.changes_html(layers, a, b, changes, None, "en")):
        assert "var DATA=" in page


def test_a_planned_hospital_is_compared_as_the_plan_page_shows_it(sample, tmp_path):
    """An option with a what-if hospital: its figures use the hospital (costs over the edited
    facilities), and it is drawn at its planned place."""
    from grid_planning.meeting import meetingmap

    store = ScenarioStore(tmp_path / "s.sqlite")
    ws = Workspace(sample, request=PlanRequest(k=4))
    assert ws.run().ok
    base = ws.save(store, "base")
    fid, result = ws.add_facility("规划新院区", 114.42, 30.48, level="tertiary", type_="general", beds=1200)
    ws.set_request(fixed_leads=(fid,))
    assert ws.run().ok and fid in set(ws.plan.leads)
    planned = ws.save(store, "with planned hospital")
    a = c.load_option(store, base, sample, lang="zh")
    b = c.load_option(store, planned, sample, lang="zh")
    expected = ws.figures("zh")
    pd.testing.assert_frame_equal(b.figures.grids, expected.grids)
    assert np.isfinite(b.figures.grids.set_index("lead_id").at[fid, "mean_travel_min"])
    table = c.metrics_table([a, b], "zh")
    assert table.grid_names[fid] == "规划新院区网格"
    assert table.row(fid, "population").texts[0] == "—"
    changes = c.changed_units(sample, a.plan, b.plan)
    assert (changes["to_lead"] == fid).any()
    assert set(changes.loc[changes["to_lead"] == fid, "to_lead_name"]) == {"规划新院区"}
    page = meetingmap.present_html(sample, [a, b], "zh")
    leads = [p for p in meetingmap.plan_data(sample, b.plan, c.lead_colours([a, b]))["leads"]
             if p["tip"][0][0] == "规划新院区"]
    assert leads and leads[0]["ll"] == [30.48, 114.42]
    assert "规划新院区" in page
