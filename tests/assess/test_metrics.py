"""Metrics and policy checks on the hand-built 4 x 4 city of ``plan_fixtures``."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from plan_fixtures import make_costs, make_layers, make_plan, minutes

from grid_planning.assess import checks
from grid_planning.assess import metrics as m
from grid_planning.domain.plan import PolicyException

G1_UNITS = ["U00", "U01", "U10", "U11"]


@pytest.fixture(scope="module")
def city():
    return make_layers()


@pytest.fixture(scope="module")
def plan():
    return make_plan()


def pop(uid: str) -> float:
    r, c = int(uid[1]), int(uid[2])
    return 100.0 * (1 + 4 * r + c)


# ---- unit metrics ---------------------------------------------------------------------------------
def test_unit_metrics_minutes_match_hand_computed_values(city, plan):
    ud = m.unit_metrics(city, plan, make_costs())
    assert list(ud.columns[:3]) == ["name", "grid_id", "population"]
    assert ud.loc["U11", "t_lead"] == pytest.approx(minutes("U11", "F1"))  # 2*sqrt(2)
    assert ud.loc["U02", "t_lead"] == pytest.approx(minutes("U02", "F2"))  # sqrt(10)*2
    # nearest secondary-or-higher hospital: F3 (secondary general) sits in U01, F7 in U12
    assert ud.loc["U02", "t_secondary"] == pytest.approx(2.0)
    assert ud.loc["U12", "t_secondary"] == 0.0
    # nearest primary care: the community health centres at U11 and U22
    assert ud.loc["U03", "t_primary"] == pytest.approx(
        min(minutes("U03", "F5"), minutes("U03", "F6"))
    )
    assert ud["population"].sum() == 13600


def test_unit_metrics_without_costs_leave_travel_empty(city, plan):
    ud = m.unit_metrics(city, plan, None)
    assert ud["t_lead"].isna().all() and ud["grid_id"].notna().all()


def test_public_health_is_not_a_secondary_hospital(city, plan):
    fac = city.facilities.copy()
    fac.loc[fac["id"] == "F3", "type"] = "public_health"
    ud = m.unit_metrics(replace(city, facilities=fac), plan, make_costs())
    # without F3 at U01 the nearest secondary-or-higher hospital of U00 is F1 itself (tertiary)
    assert ud.loc["U01", "t_secondary"] == pytest.approx(2.0)


def test_costs_missing_a_facility_give_nan_not_wrong_numbers(city, plan):
    costs = make_costs()
    keep = [i for i, f in enumerate(costs.facility_ids) if f != "F1"]
    partial = replace(
        costs, minutes=costs.minutes[:, keep], facility_ids=[costs.facility_ids[i] for i in keep]
    )
    ud = m.unit_metrics(city, plan, partial)
    assert ud.loc[G1_UNITS, "t_lead"].isna().all()
    assert ud.loc["U33", "t_lead"] == 0.0


# ---- grid metrics -----------------------------------------------------------------------------------
def test_grid_metrics_exact_values(city, plan):
    gm = m.grid_metrics(city, plan, make_costs(), lang="en")
    g1, g2 = gm.loc["G1"], gm.loc["G2"]
    assert g1["name"] == "市一医院 grid" and g1["lead_id"] == "F1"
    assert g1["population"] == 1400 and g2["population"] == 12200
    assert g1["area_km2"] == pytest.approx(4.0, rel=1e-6)
    assert g2["area_km2"] == pytest.approx(12.0, rel=1e-6)
    # a square grid has Polsby-Popper pi/4; the L of 12 cells: 4 pi 12 / 16^2
    assert g1["polsby_popper"] == pytest.approx(math.pi / 4, rel=1e-6)
    assert g2["polsby_popper"] == pytest.approx(4 * math.pi * 12 / 16**2, rel=1e-6)
    # beds: F1 + F3 + F5 in G1 (collaborator F7 excluded); F2 + F4 + F8 (+ F6 unknown) in G2
    assert g1["beds"] == 1220 and g2["beds"] == 1050
    assert g1["beds_per_1000"] == pytest.approx(1220 / 1400 * 1000)
    t = np.array([minutes(u, "F1") for u in G1_UNITS])
    w = np.array([pop(u) for u in G1_UNITS])
    assert g1["mean_travel_min"] == pytest.approx(float((t * w).sum() / w.sum()), rel=1e-6)
    assert g1["p90_travel_min"] == pytest.approx(2 * math.sqrt(2), rel=1e-6)
    assert g2["max_travel_min"] == pytest.approx(2 * math.sqrt(10), rel=1e-6)
    assert bool(g1["contiguous"]) and g1["n_parts"] == 1
    assert (g1["n_units"], g2["n_units"]) == (4, 12)
    assert (g1["n_member"], g1["n_primary"], g2["n_cross_grid"]) == (1, 1, 2)
    assert g1["n_collaborator"] == 1 and g2["n_collaborator"] == 1
    mean = (1400 + 12200) / 2
    assert g1["balance_dev"] == pytest.approx(1400 / mean - 1)


def test_shares_within_thresholds_with_slower_travel(city, plan):
    # at 8 minutes per km, G2 units farther than 1.875 km from F2 exceed 15 minutes
    costs = make_costs(min_per_km=8.0)
    gm = m.grid_metrics(city, plan, costs)
    g2_units = [f"U{r}{c}" for r in range(4) for c in range(4) if not (r < 2 and c < 2)]
    w = np.array([pop(u) for u in g2_units])
    t = np.array([minutes(u, "F2", 8.0) for u in g2_units])
    assert gm.loc["G2", "share_15_lead"] == pytest.approx(w[t <= 15].sum() / w.sum())
    assert gm.loc["G2", "share_30_lead"] == pytest.approx(w[t <= 30].sum() / w.sum())
    assert 0 < gm.loc["G2", "share_15_lead"] < gm.loc["G2", "share_30_lead"] <= 1
    assert gm.loc["G2", "p90_travel_min"] == pytest.approx(m.weighted_quantile(t, w, 0.9))


def test_weighted_quantile_definition():
    assert m.weighted_quantile([1, 2, 3, 4], [10, 10, 10, 10], 0.9) == 4
    assert m.weighted_quantile([4, 3, 2, 1], [10, 10, 10, 70], 0.7) == 1
    assert m.weighted_quantile([1, 2, np.nan], [1, 1, 100], 0.9) == 2
    assert math.isnan(m.weighted_quantile([], [], 0.5))


def test_broken_contiguity_is_counted(city, plan):
    # move U33 (far corner) into G1: G1 becomes two parts
    moved = plan.with_assignment(plan.assignment.where(plan.assignment.index != "U33", "G1"))
    gm = m.grid_metrics(city, moved, make_costs())
    assert gm.loc["G1", "n_parts"] == 2 and not gm.loc["G1", "contiguous"]
    assert gm.loc["G2", "n_parts"] == 1
    res = [r for r in checks.check_policy(city, moved) if r.rule == "contiguity" and r.grid_id == "G1"]
    assert res[0].status == "fail" and res[0].params["parts"] == 2
    assert "2 parts" in res[0].message("en")
    assert not checks.all_passed(checks.check_policy(city, moved))  # `check` exits 1 until it is mended


def test_city_metrics(city, plan):
    cm = m.city_metrics(city, plan, make_costs())
    assert cm["k"] == 2 and cm["population"] == 13600 == cm["assigned_population"]
    assert cm["area_km2"] == pytest.approx(16.0, rel=1e-6)
    assert cm["beds"] == 2270
    assert cm["max_travel_min"] == pytest.approx(2 * math.sqrt(10), rel=1e-6)
    ud = m.unit_metrics(city, plan, make_costs())
    expected = (ud["t_lead"] * ud["population"]).sum() / 13600
    assert cm["mean_travel_min"] == pytest.approx(expected)
    assert cm["n_contiguous"] == 2


def test_underserved_ranked_by_population(city, plan):
    ud = m.unit_metrics(city, plan, make_costs())
    under = m.underserved_units(ud, threshold_min=5)
    # units with t_lead > 5: U02, U03, U20, U30 (6 and 2*sqrt(10) minutes)
    assert list(under.index) == ["U30", "U20", "U03", "U02"]
    assert under.loc["U20", "excess_min"] == pytest.approx(2 * math.sqrt(10) - 5, rel=1e-6)
    assert m.underserved_units(ud, threshold_min=30).empty


def test_travel_distribution_sums_to_population(city, plan):
    ud = m.unit_metrics(city, plan, make_costs())
    dist = m.travel_distribution(ud, step=5, cap=10)
    assert list(dist["bin"].unique()) == ["0-5", "5-10", "10+"]
    by_grid = dist.groupby("grid_id")["population"].sum()
    assert by_grid["G1"] == 1400 and by_grid["G2"] == 12200
    g2 = dist[dist["grid_id"] == "G2"].set_index("bin")
    assert g2.loc["5-10", "population"] == 300 + 400 + 900 + 1300
    assert g2["share"].sum() == pytest.approx(1.0)


# ---- checks -----------------------------------------------------------------------------------------
def by_rule(results, rule, grid=None):
    return [r for r in results if r.rule == rule and (grid is None or r.grid_id == grid)]


def test_compliant_plan_passes_everything(city, plan):
    res = checks.check_policy(city, plan)
    assert checks.all_passed(res)
    assert {r.status for r in res} == {"pass"}
    assert {r.rule for r in res} >= {"G1", "G2", "G3", "G4", "G5", "contiguity", "G8"}
    assert len(by_rule(res, "G4")) == 2


def test_g1_unassigned_reports_shortfall(city, plan):
    short = plan.with_assignment(plan.assignment.drop(["U30", "U31"]))
    res = by_rule(checks.check_policy(city, short), "G1")
    assert [r.status for r in res] == ["fail"]
    assert res[0].params["shortfall"] == 1300 + 1400 and res[0].params["count"] == 2
    assert "U30" in res[0].message("en") and "2,700 of 13,600" in res[0].message("en")
    assert not checks.all_passed(checks.check_policy(city, short))


def test_g1_unknown_grid_and_duplicates(city, plan):
    a = plan.assignment.copy()
    a["U00"] = "G9"
    res = by_rule(checks.check_policy(city, plan.with_assignment(a)), "G1")
    assert {r.code for r in res} == {"g1_unknown_grid", "g1_unassigned"}
    dup = pd.concat([plan.assignment, pd.Series({"U00": "G2"})])
    res = by_rule(checks.check_policy(city, plan.with_assignment(dup)), "G1")
    assert [r.code for r in res] == ["g1_duplicate"]


def test_g2_fail_and_exception(city, plan):
    one = replace(
        plan,
        assignment=pd.Series("G1", index=plan.assignment.index, dtype=object),
        leads=pd.Series({"G1": "F1"}, dtype=object),
    )
    res = by_rule(checks.check_policy(city, one), "G2")
    assert res[0].status == "fail" and res[0].params["k"] == 1
    waived = one.with_exception(PolicyException("G2", "city", "小城市，仅一家三级医院"))
    res = by_rule(checks.check_policy(city, waived), "G2")
    assert res[0].status == "exception"
    assert "小城市，仅一家三级医院" in res[0].message("zh")
    assert res[0].message("en").startswith("G2 passed by exception")


def test_g3_shared_lead_and_missing_lead(city, plan):
    shared = replace(plan, leads=pd.Series({"G1": "F1", "G2": "F1"}, dtype=object))
    res = checks.check_policy(city, shared)
    assert any(r.code == "g3_shared_lead" and "G1, G2" in r.message("en") for r in res)
    gone = replace(plan, leads=pd.Series({"G1": "F1", "G2": "FX"}, dtype=object))
    res = by_rule(checks.check_policy(city, gone), "G3", "G2")
    assert res[0].code == "g3_lead_unknown" and res[0].status == "fail"


def test_g3_two_leads_in_roster(city, plan):
    roles = plan.roles.copy()
    roles.loc["F3", "role"] = "lead"
    res = by_rule(checks.check_policy(city, replace(plan, roles=roles)), "G3", "G1")
    assert res[0].code == "g3_two_leads" and "F3" in res[0].message("en")


def test_g4_ineligible_then_exception(city):
    # F3 (secondary) leads G1 instead of F1
    plan = make_plan()
    roles = plan.roles.copy()
    roles.loc["F3", "role"], roles.loc["F1", "role"] = "lead", "member"
    p = replace(plan, leads=pd.Series({"G1": "F3", "G2": "F2"}, dtype=object), roles=roles)
    res = by_rule(checks.check_policy(city, p), "G4", "G1")
    assert res[0].status == "fail" and "level=secondary" in res[0].message("en")
    # the Chinese text names the level in Chinese, no English code leaks into it
    assert "等级为二级" in res[0].message("zh") and "level" not in res[0].message("zh")
    # An exception cannot make a secondary hospital a lead: only a tertiary general/TCM one.
    p2 = p.with_exception(PolicyException("G4", "F3", "大学附属医院，市政府指定"))
    res = by_rule(checks.check_policy(city, p2), "G4", "G1")
    assert (res[0].status, res[0].code) == ("fail", "g4_not_designatable")
    # A tertiary general hospital of another owner (a university's) can, with the reason shown.
    uni = replace(
        city,
        facilities=city.facilities.assign(
            level=lambda f: f["level"].where(f["id"] != "F3", "tertiary"),
            owner_level=lambda f: f["owner_level"].where(f["id"] != "F3", "other"),
        ),
    )
    res = by_rule(checks.check_policy(uni, p2), "G4", "G1")
    assert res[0].status == "exception" and "大学附属医院，市政府指定" in res[0].message("en")
    # F3 now leads, so G1 has no G5 member left (F3 was the secondary one): the only failure
    fails = [r.code for r in checks.check_policy(uni, p2) if r.status == "fail"]
    assert fails == ["g5_fail"]


def test_g4_provincial_lead_fails(city):
    plan = make_plan()
    roles = plan.roles.copy()
    roles.loc["F7"] = ["G2", "lead", "G2", ""]
    roles.loc["F2", "role"] = "member"
    # F7 lies in U12 (G2)
    p = replace(plan, leads=pd.Series({"G1": "F1", "G2": "F7"}, dtype=object), roles=roles)
    res = by_rule(checks.check_policy(city, p), "G4", "G2")
    assert res[0].status == "fail" and "owner_level=provincial" in res[0].message("en")
    assert "举办主体层级为省属" in res[0].message("zh")


def test_g4_assumed_level_is_a_visible_warning(city, plan):
    fac = city.facilities.copy()
    fac.loc[fac["id"] == "F2", "level_source"] = "assumed"
    res = checks.check_policy(replace(city, facilities=fac), plan)
    g4 = by_rule(res, "G4", "G2")
    assert g4[0].status == "warning" and "assumed" in g4[0].message("en")
    assert checks.all_passed(res)  # a warning does not fail the plan
    gm = m.grid_metrics(replace(city, facilities=fac), plan, make_costs())
    assert gm.loc["G2", "lead_level_source"] == "assumed"


def test_g4_lead_outside_its_grid(city, plan):
    # hand the lead's unit U00 to G2: F1 no longer lies in G1
    a = plan.assignment.copy()
    a["U00"] = "G2"
    res = by_rule(checks.check_policy(city, plan.with_assignment(a)), "G4", "G1")
    out = [r for r in res if r.code == "g4_outside"]
    assert out and out[0].status == "fail" and out[0].params["located"] == "G2"


def test_g5_fail_then_waiver(city, plan):
    roles = plan.roles.copy()
    roles.loc["F3", "role"] = "collaborator"  # a collaborator does not count as a member
    roles.loc["F3", "grid_id"] = ""
    p = replace(plan, roles=roles)
    res = by_rule(checks.check_policy(city, p), "G5", "G1")
    assert res[0].status == "fail" and "G1" in res[0].message("en")
    p2 = p.with_exception(PolicyException("G5", "F1", "康复服务由相邻网格的康复医院提供"))
    res = by_rule(checks.check_policy(city, p2), "G5", "G1")
    assert res[0].status == "exception" and "康复服务由相邻网格的康复医院提供" in res[0].message(
        "zh"
    )
    # the waiver is keyed by the lead: it does not cover G2
    assert by_rule(checks.check_policy(city, p2), "G5", "G2")[0].status == "pass"


def test_g8_provincial_member_is_flagged(city, plan):
    roles = plan.roles.copy()
    roles.loc["F7"] = ["G2", "member", "G2", ""]
    res = by_rule(checks.check_policy(city, replace(plan, roles=roles)), "G8")
    assert res[0].status == "warning" and "省人民医院" in res[0].message("en")


def test_check_result_round_trip_and_table(city, plan):
    res = checks.check_policy(city, plan)
    assert [checks.CheckResult.from_dict(r.to_dict()) for r in res] == res
    table = checks.checks_table(res, "en")
    assert list(table.columns) == ["rule", "grid_id", "status", "status_text", "message"]
    assert (table["status_text"] == "pass").all()
    with pytest.raises(ValueError):
        checks.CheckResult("G1", "ok", "g1_ok")


def test_beds_say_how_much_of_them_is_illustrative(city, plan):
    # every fixture facility is illustrative; make F1 (1000 beds, G1) and F2 (800, G2) real data
    fac = city.facilities.copy()
    fac.loc[fac["id"].isin(["F1", "F2"]), "source"] = "real"
    mixed = replace(city, facilities=fac)
    gm = m.grid_metrics(mixed, plan, make_costs())
    assert gm.at["G1", "beds_illustrative_share"] == pytest.approx(220 / 1220)
    assert gm.at["G2", "beds_illustrative_share"] == pytest.approx(250 / 1050)
    cm = m.city_metrics(mixed, plan, make_costs(), grid_df=gm)
    assert cm["beds_illustrative_share"] == pytest.approx(470 / 2270)
    # a real hospital with generated capacity still counts as illustrative
    fac.loc[fac["id"] == "F1", "capacity_source"] = "illustrative"
    gm = m.grid_metrics(replace(city, facilities=fac), plan, make_costs())
    assert gm.at["G1", "beds_illustrative_share"] == pytest.approx(1.0)
    all_generated = m.grid_metrics(city, plan, make_costs())
    assert (all_generated["beds_illustrative_share"] == 1.0).all()


def test_g1_reads_a_plan_in_layer_order_as_the_same_plan_listed_otherwise(city, plan):
    # A plan listing every unit once in layer order is read by position (no lookup by id): an
    # unknown grid, an empty grid and a unit without grid must give the G1 results, messages and
    # figures of the same plan listed in another order.
    a = plan.assignment.reindex(city.units["id"].astype(str)).astype(object)
    a["U00"], a["U13"], a["U21"] = "G9", None, ""
    shuffled = a.iloc[np.random.default_rng(3).permutation(len(a))]
    ordered = by_rule(checks.check_policy(city, plan.with_assignment(a)), "G1")
    other = by_rule(checks.check_policy(city, plan.with_assignment(shuffled)), "G1")
    assert [(r.code, r.params) for r in ordered] == [(r.code, r.params) for r in other]
    unassigned = next(r for r in ordered if r.code == "g1_unassigned")
    assert unassigned.params["count"] == 3 and unassigned.params["ids"] == ["U00", "U13", "U21"]
    # one enumeration of the reader's language, in the message
    assert "（U00、U13、U21）" in unassigned.message("zh")
    assert "(U00, U13, U21)" in unassigned.message("en")
    assert unassigned.params["shortfall"] == round(pop("U00") + pop("U13") + pop("U21"))


def test_a_check_lists_five_ids_in_the_readers_language_and_counts_the_rest():
    """The ids a check names are stored as data (JSON in the plan file) and joined when read:
    with the enumeration comma in Chinese; past five, the rest counted. A plan file of an earlier
    version holds them joined already, and reads as it was."""
    many = checks.CheckResult("G1", "fail", "g1_unassigned", {
        "count": 8, "shortfall": 120, "population": 5000,
        **checks._ids("ids", [f"U{i}" for i in range(8)])})
    assert many.params["ids"] == ["U0", "U1", "U2", "U3", "U4"] and many.params["ids_more"] == 3
    assert "（U0、U1、U2、U3、U4 及另外 3 个）" in many.message("zh")
    assert "(U0, U1, U2, U3, U4 (+3))" in many.message("en")
    again = checks.CheckResult.from_dict(json.loads(json.dumps(many.to_dict())))
    assert again.message("zh") == many.message("zh")
    old = checks.CheckResult("G1", "fail", "g1_unassigned", {
        "count": 2, "shortfall": 10, "population": 5000, "ids": "U0, U1"})
    assert "（U0, U1）" in old.message("zh")
