"""The 15 evaluation criteria: spatial ones evaluated from the plan, the rest recorded."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from plan_fixtures import make_costs, make_layers, make_plan, minutes

from grid_planning.assess.checklist import (
    CRITERIA,
    SPATIAL_ITEMS,
    ChecklistError,
    checklist_table,
    evaluate_spatial,
    record,
)
from grid_planning.base.i18n import has


@pytest.fixture(scope="module")
def city():
    return make_layers()


@pytest.fixture(scope="module")
def plan():
    return make_plan()


def ev(df, grid, item):
    return df[(df["grid_id"] == grid) & (df["item"] == item)].iloc[0]


def test_criteria_catalogue():
    assert [c.number for c in CRITERIA] == list(range(1, 16))
    assert [c.number for c in CRITERIA if c.spatial] == [1, 3, 8, 9, 12] == list(SPATIAL_ITEMS)
    assert {c.dimension for c in CRITERIA} == {
        "responsibility",
        "resources",
        "services",
        "mechanisms",
    }
    assert CRITERIA[8].dimension == "resources" and CRITERIA[11].dimension == "services"
    assert all(has(c.key) for c in CRITERIA)
    assert "ECG" in CRITERIA[8].text("en")


def test_spatial_items_on_the_hand_city(city, plan):
    df = evaluate_spatial(city, plan, make_costs(), lang="en")
    assert len(df) == 2 * 5
    assert ev(df, "G1", 1)["status"] == "met"
    # roster: G1 has member F3 + collaborator F7; G2 has cross-grid F4, F8 + F7
    assert ev(df, "G1", 3)["status"] == "met" and ev(df, "G1", 3)["value"] == 1
    assert ev(df, "G2", 3)["value"] == 2
    # resources: nothing recorded as sent down -> not recorded, with the targets ceil(1000 / 4)
    # and ceil(3000 / 3) stated (never "met" from beds alone)
    row8 = ev(df, "G1", 8)
    assert row8["status"] == "not_recorded" and math.isnan(row8["value"])
    assert "250" in row8["detail"] and "1,000" in row8["detail"] and "illustrative" in row8["detail"]
    # shared centres: in G1 the best host among F1, F3 is the one minimising the farthest resident
    g1_units = ["U00", "U01", "U10", "U11"]
    best = min(max(minutes(u, f) for u in g1_units) for f in ("F1", "F3"))
    assert ev(df, "G1", 9)["value"] == pytest.approx(best, rel=1e-6)
    assert ev(df, "G1", 9)["status"] == "met"
    # referral: G2's primary-care facility F6 (U22) to lead F2 (U33)
    assert ev(df, "G2", 12)["value"] == pytest.approx(minutes("U22", "F2"), rel=1e-6)


def test_spatial_items_not_met_when_far_or_incomplete(city, plan):
    slow = make_costs(min_per_km=12.0)  # G2's farthest residents: 12 * sqrt(10) > 30 minutes
    df = evaluate_spatial(city, plan, slow, lang="en")
    assert ev(df, "G2", 9)["status"] == "not_met" and ev(df, "G2", 9)["value"] > 30
    g1_ref = ev(df, "G1", 12)
    assert g1_ref["value"] == pytest.approx(minutes("U11", "F1", 12.0), rel=1e-6)
    assert g1_ref["status"] == ("met" if g1_ref["value"] <= 30 else "not_met")
    roles = plan.roles.copy()
    roles.loc["F7", "supports"] = "G2"  # the collaborator no longer supports G1
    fac = city.facilities.copy()
    fac.loc[fac["id"] == "F1", "beds"] = np.nan
    df = evaluate_spatial(
        replace(city, facilities=fac), replace(plan, roles=roles), make_costs(), lang="en"
    )
    assert ev(df, "G1", 3)["status"] == "not_met" and "collaborator" in ev(df, "G1", 3)["detail"]
    assert ev(df, "G1", 8)["status"] == "not_recorded" and math.isnan(ev(df, "G1", 8)["value"])


def test_layout_item_follows_the_checks(city, plan):
    a = plan.assignment.copy()
    a["U00"] = "G2"  # F1 now lies outside its grid: G4 fails
    df = evaluate_spatial(city, plan.with_assignment(a), make_costs(), lang="en")
    assert ev(df, "G1", 1)["status"] == "not_met" and "G4" in ev(df, "G1", 1)["detail"]
    assert ev(df, "G2", 1)["status"] == "met"


def test_without_costs_travel_items_are_not_evaluated(city, plan):
    df = evaluate_spatial(city, plan, None)
    assert set(df.loc[df["item"].isin([9, 12]), "status"]) == {"not_evaluated"}


def test_record_and_table(city, plan):
    p = record(plan, "F1", 2, "done", "章程 2023-08 签署")
    p = record(p, "G2", 15, "in_progress")  # a grid id maps to its lead
    assert {(c.grid_lead, c.item, c.status) for c in p.checklist} == {
        ("F1", 2, "done"),
        ("F2", 15, "in_progress"),
    }
    p = record(p, "F1", 2, "not_applicable", "n/a")  # replaces
    assert len(p.checklist) == 2
    table = checklist_table(city, p, make_costs(), lang="en")
    assert len(table) == 2 * 15
    row = table[(table["grid_id"] == "G1") & (table["item"] == 2)].iloc[0]
    assert row["status"] == "not_applicable" and row["note"] == "n/a"
    assert table[(table["grid_id"] == "G2") & (table["item"] == 4)].iloc[0]["status"] == "todo"
    spatial = table[table["spatial"]]
    assert set(spatial["status"]) <= {"met", "not_met", "not_recorded"} and len(spatial) == 10
    assert plan.checklist == ()  # input unchanged


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (("F9", 2, "done"), "plan.checklist_error.unknown_grid"),
        (("F1", 16, "done"), "plan.checklist_error.bad_item"),
        (("F1", 0, "done"), "plan.checklist_error.bad_item"),
        (("F1", 9, "done"), "plan.checklist_error.spatial_item"),
        (("F1", 2, "finished"), "plan.checklist_error.bad_status"),
        (("F1", 2, "done", "备" * 2_001), "plan.checklist_error.note_too_long"),
    ],
)
def test_record_validation(plan, args, key):
    with pytest.raises(ChecklistError) as err:
        record(plan, *args)
    assert err.value.key == key and isinstance(err.value, ValueError)
    assert has(key)


def test_a_note_of_the_longest_length_is_kept(monkeypatch, tmp_path):
    from plan_fixtures import make_plan

    monkeypatch.setenv("GRID_PLANNER_CONFIG", str(tmp_path / "none.toml"))
    note = "备" * 2_000  # the default of max_checklist_note_chars
    assert record(make_plan(), "F1", 2, "done", note).checklist[0].note == note


def test_the_note_bound_is_the_setting_and_the_refusal_names_it(monkeypatch, tmp_path):
    from plan_fixtures import make_plan

    config = tmp_path / "config.toml"
    config.write_text("max_checklist_note_chars = 30\n", encoding="utf-8")
    monkeypatch.setenv("GRID_PLANNER_CONFIG", str(config))
    assert record(make_plan(), "F1", 2, "done", "备" * 30).checklist[0].note == "备" * 30
    with pytest.raises(ChecklistError) as err:
        record(make_plan(), "F1", 2, "done", "备" * 31)
    assert err.value.key == "plan.checklist_error.note_too_long"
    text = err.value.message("en")
    assert "31 characters" in text and "30 allowed" in text and "max_checklist_note_chars" in text
    assert "31" in err.value.message("zh") and "30" in err.value.message("zh")
    monkeypatch.setenv("GRID_PLANNER_MAX_CHECKLIST_NOTE_CHARS", "5000")  # the environment wins
    assert len(record(make_plan(), "F1", 2, "done", "备" * 4_000).checklist[0].note) == 4_000


def test_checklist_table_survives_a_plan_without_checklist(city, plan):
    table = checklist_table(city, plan, None, lang="zh")
    assert (
        isinstance(table, pd.DataFrame) and (table.loc[~table["spatial"], "status"] == "todo").all()
    )


def _sent_down(city, **values):
    """The hand city with F1's recorded beds/slots sent down set (column -> value)."""
    fac = city.facilities.copy()
    for col, value in values.items():
        fac[col] = np.nan
        fac.loc[fac["id"] == "F1", col] = value
    return replace(city, facilities=fac)


@pytest.mark.parametrize(
    ("recorded", "status", "value", "words"),
    [
        # F1: 1000 beds (target 250), 3000 slots (target 1000)
        ({"beds_down": 250, "slots_down": 1000}, "met", 0.0, ["250", "1,000"]),
        ({"beds_down": 200, "slots_down": 1000}, "not_met", 50.0, ["short", "200"]),
        ({"beds_down": 300, "slots_down": 900}, "not_met", 100.0, ["short", "900"]),
        # beds sent down alone do not meet the slots target
        ({"beds_down": 300}, "not_recorded", float("nan"), ["slots sent down not recorded"]),
    ],
)
def test_item8_compares_what_is_recorded_as_sent_down(city, plan, recorded, status, value, words):
    df = evaluate_spatial(_sent_down(city, **recorded), plan, make_costs(), lang="en")
    row = ev(df, "G1", 8)
    assert row["status"] == status
    assert (math.isnan(row["value"]) and math.isnan(value)) or row["value"] == value
    assert all(w in row["detail"] for w in words)
    # G2's lead F2 has beds but no slots and nothing sent down: not recorded either way
    assert ev(df, "G2", 8)["status"] == "not_recorded"


def test_item8_recorded_without_capacity_is_not_judged(city, plan):
    fac = city.facilities.copy()
    fac.loc[fac["id"] == "F1", ["beds", "outpatient_slots"]] = np.nan
    fac["beds_down"], fac["slots_down"] = 100.0, 100.0
    df = evaluate_spatial(replace(city, facilities=fac), plan, make_costs(), lang="zh")
    row = ev(df, "G1", 8)
    assert row["status"] == "not_recorded" and "无法与 1/4 比较" in row["detail"]


def test_item3_without_a_provincial_hospital_in_the_data(city, plan):
    """G8 passes in a city without provincial hospitals; the roster item says so, not "missing"."""
    fac = city.facilities[city.facilities["id"] != "F7"]
    roles = plan.roles.drop(index="F7")
    df = evaluate_spatial(
        replace(city, facilities=fac), replace(plan, roles=roles), make_costs(), lang="en"
    )
    for grid in ("G1", "G2"):
        row = ev(df, grid, 3)
        assert row["status"] == "met", row["detail"]
        assert "no provincial/regional hospital in the data" in row["detail"]
        assert "missing" not in row["detail"]
    zh = ev(evaluate_spatial(replace(city, facilities=fac), replace(plan, roles=roles), None), "G1", 3)
    assert "数据中没有省属医院" in zh["detail"]


def test_sent_down_columns_are_read_under_their_chinese_names(tmp_path):
    """An office's 下沉床位 / 下沉号源 columns arrive as ``beds_down`` / ``slots_down`` (numbers)."""
    from pathlib import Path

    from grid_planning.io.findings import ValidationReport
    from grid_planning.io.readers import read_facilities

    src = Path(__file__).parents[1] / "fixtures" / "layers" / "town_facilities_bom.csv"
    fac = pd.read_csv(src, encoding="utf-8-sig")
    fac["下沉床位"] = 300
    fac["下沉号源"] = ["1000"] + [""] * (len(fac) - 1)
    fac.to_csv(tmp_path / "f.csv", index=False)
    report = ValidationReport()
    out = read_facilities(tmp_path / "f.csv", report=report)
    assert report.ok, report.format()
    assert (out["beds_down"] == 300).all()
    assert out["slots_down"].iloc[0] == 1000 and out["slots_down"].iloc[1:].isna().all()
