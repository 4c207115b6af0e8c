"""Rosters, lead obligations and validated role changes on the hand-built 4 x 4 city."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from plan_fixtures import make_layers, make_plan

from grid_planning.assess import checks as metrics
from grid_planning.assess.roster import (
    RoleChangeError,
    change_role,
    grid_roster,
    lead_obligations,
    roster_table,
)
from grid_planning.domain import rules
from grid_planning.domain.plan import ChecklistEntry, PolicyException


@pytest.fixture(scope="module")
def city():
    return make_layers()


@pytest.fixture(scope="module")
def plan():
    return make_plan()


def test_grid_roster_groups_by_role(city, plan):
    ro = grid_roster(city, plan)
    assert set(ro) == {"G1", "G2"}
    g1, g2 = ro["G1"], ro["G2"]
    assert g1["lead"]["id"] == "F1" and g1["lead"]["name"] == "市一医院"
    assert [m["id"] for m in g1["members"]["general"]] == ["F3"]
    assert [p["id"] for p in g1["primary"]] == ["F5"]
    assert [c["id"] for c in g1["collaborators"]] == ["F7"]
    assert g1["collaborators"][0]["supports"] == ["G1", "G2"]
    # F4 and F8 are G2's cross-grid institutions and also serve G1
    assert sorted(c["id"] for c in g2["cross_grid"]) == ["F4", "F8"]
    assert sorted(c["id"] for c in g1["serving"]) == ["F4", "F8"]
    assert g1["counts"] == {
        "lead": 1,
        "member": 1,
        "primary": 1,
        "cross_grid": 0,
        "collaborator": 1,
    }
    assert g1["beds"] == 1000 + 200 + 20
    assert g2["beds"] == 800 + 100 + 150  # F6's beds unknown


def test_roster_table_one_row_per_facility(city, plan):
    table = roster_table(city, plan, lang="en")
    assert len(table) == 8 and set(table["id"]) == {f"F{i}" for i in range(1, 9)}
    row = table.set_index("id").loc["F7"]
    assert (
        row["role"] == "collaborator"
        and row["grid_id"] == ""
        and row["role_text"] == "collaborator"
    )
    assert row["source"] == "illustrative" and row["level_source"] == "data"
    g1 = table[table["grid_id"] == "G1"]
    assert list(g1["role"]) == ["lead", "member", "primary"]  # sorted lead first


def test_lead_obligations(city, plan):
    ob = lead_obligations(city, plan).set_index("grid_id")
    assert ob.loc["G1", "beds_to_primary"] == 250  # ceil(1000 / 4)
    assert ob.loc["G1", "slots_to_primary"] == 1000  # ceil(3000 / 3)
    assert ob.loc["G2", "beds_to_primary"] == 200
    assert math.isnan(ob.loc["G2", "slots_to_primary"])
    assert ob.loc["G1", "capacity_source"] == "illustrative"
    fac = city.facilities.copy()
    fac.loc[fac["id"] == "F2", "beds"] = 801.0
    ob2 = lead_obligations(replace(city, facilities=fac), plan).set_index("grid_id")
    assert ob2.loc["G2", "beds_to_primary"] == 201  # rounded up


def test_generated_capacity_of_a_real_hospital_is_labelled_illustrative(city, plan):
    # The sample city's real hospitals carry generated beds: the real name must not vouch for them.
    fac = city.facilities.copy()
    lead = plan.leads["G2"]
    fac.loc[fac["id"] == lead, "source"] = "real"
    fac["capacity_source"] = ""
    fac.loc[fac["id"] == lead, "capacity_source"] = "illustrative"
    layers2 = replace(city, facilities=fac)
    ob = lead_obligations(layers2, plan).set_index("grid_id")
    assert ob.loc["G2", "capacity_source"] == "illustrative"
    table = roster_table(layers2, plan).set_index("id")
    assert table.loc[lead, "source"] == "real" and table.loc[lead, "capacity_source"] == "illustrative"
    assert grid_roster(layers2, plan)["G2"]["lead"]["capacity_source"] == "illustrative"
    # Without a capacity_source column the facility's own source decides.
    fac.loc[fac["id"] == lead, "capacity_source"] = ""
    assert lead_obligations(replace(city, facilities=fac), plan).set_index("grid_id").loc["G2", "capacity_source"] == "real"


def test_provincial_lead_needs_reason_recorded_as_g4_exception(city, plan):
    with pytest.raises(RoleChangeError) as err:
        change_role(city, plan, "F7", "lead")
    assert err.value.key == "plan.role_error.lead_needs_reason"
    assert "provincial" in err.value.message("en")
    new = change_role(city, plan, "F7", "lead", reason="省卫健委同意，由省人民医院牵头")
    assert new.leads["G2"] == "F7"  # F7 lies in U12, which is in G2
    assert new.roles.loc["F7", "role"] == "lead" and new.roles.loc["F7", "grid_id"] == "G2"
    assert new.roles.loc["F2", "role"] == "member"
    exc = new.exception_for("G4", "F7")
    assert exc is not None and exc.reason == "省卫健委同意，由省人民医院牵头"
    assert plan.leads["G2"] == "F2"  # input unchanged
    res = metrics.check_policy(city, new)
    g4 = [r for r in res if r.rule == "G4" and r.grid_id == "G2"]
    assert g4[0].status == "exception"
    assert metrics.all_passed(res)


def test_a_role_change_reason_is_bounded_by_max_reason_chars(city, plan, monkeypatch, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("max_reason_chars = 40\n", encoding="utf-8")
    monkeypatch.setenv("GRID_PLANNER_CONFIG", str(config))
    with pytest.raises(RoleChangeError) as err:
        change_role(city, plan, "F7", "lead", reason="理" * 41)
    assert err.value.key == "plan.role_error.reason_too_long"
    text = err.value.message("en")
    assert "41 characters" in text and "40 allowed" in text and "F7" in text and "max_reason_chars" in text
    assert plan.exception_for("G4", "F7") is None  # nothing recorded
    led = change_role(city, plan, "F7", "lead", reason="理" * 40)
    assert led.exception_for("G4", "F7").reason == "理" * 40
    # The default (2,000) holds without a settings file.
    monkeypatch.setenv("GRID_PLANNER_CONFIG", str(tmp_path / "none.toml"))
    with pytest.raises(RoleChangeError, match="2,001"):
        change_role(city, plan, "F7", "lead", reason="理" * 2_001)


def test_eligible_lead_change_moves_waiver_and_checklist(city, plan):
    # F3 upgraded to tertiary in the data becomes an eligible lead of G1 without any reason
    fac = city.facilities.copy()
    fac.loc[fac["id"] == "F3", ["level"]] = "tertiary"  # F3 upgraded in the data
    c2 = replace(city, facilities=fac)
    p = plan.with_exception(PolicyException("G5", "F1", "理由")).with_checklist(
        ChecklistEntry("F1", 2, "done", "章程已签")
    )
    new = change_role(c2, p, "F3", "lead")
    assert new.leads["G1"] == "F3" and new.roles.loc["F1", "role"] == "member"
    assert new.exception_for("G5", "F3") is not None and new.exception_for("G5", "F1") is None
    assert new.exception_for("G4", "F3") is None  # eligible: no exception needed
    assert [(c.grid_lead, c.item) for c in new.checklist] == [("F3", 2)]


def test_primary_care_cannot_lead_even_with_reason(city, plan):
    with pytest.raises(RoleChangeError) as err:
        change_role(city, plan, "F5", "lead", reason="any")
    assert err.value.key == "plan.role_error.primary_cannot_lead"
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("fid", "role", "key"),
    [
        ("F1", "member", "plan.role_error.lead_steps_down"),
        ("F7", "member", "plan.role_error.provincial_member"),
        ("F3", "primary", "plan.role_error.not_primary_care"),
        ("F3", "cross_grid", "plan.role_error.not_cross_grid"),
        ("F5", "collaborator", "plan.role_error.primary_not_collaborator"),
        ("F3", "member", "plan.role_error.same_role"),
        ("F3", "boss", "plan.role_error.unknown_role"),
        ("FX", "member", "plan.role_error.unknown_facility"),
    ],
)
def test_invalid_role_changes(city, plan, fid, role, key):
    with pytest.raises(RoleChangeError) as err:
        change_role(city, plan, fid, role)
    assert err.value.key == key
    assert err.value.message("zh") != key  # the key is in the catalogue


def test_valid_member_and_collaborator_changes(city, plan):
    new = change_role(city, plan, "F3", "collaborator")
    assert new.roles.loc["F3", "grid_id"] == "" and new.roles.loc["F3", "supports"] == "G1"
    # without F3 as member, G1 loses its G5 facility: the checks say so
    g5 = [r for r in metrics.check_policy(city, new) if r.rule == "G5" and r.grid_id == "G1"]
    assert g5[0].status == "fail"
    back = change_role(city, new, "F3", "member")
    assert back.roles.loc["F3", "grid_id"] == "G1" and back.roles.loc["F3", "role"] == "member"
    f8 = change_role(city, plan, "F8", "member")
    assert f8.roles.loc["F8", "role"] == "member" and f8.roles.loc["F8", "grid_id"] == "G2"


def test_planner_and_check_count_the_same_g5_members():
    """G5 membership has one definition (rules.g5_member): counted by location before roles exist
    (as the planner does, per unit) it gives each grid the members the check finds by role."""
    layers, plan = make_layers(), make_plan()
    fac = layers.facilities
    location = layers.index.locate(fac)
    per_unit = np.bincount(location.unit[rules.g5_member(fac, location.outside).to_numpy()],
                           minlength=layers.index.n)
    grid_of_unit = plan.assignment.reindex(layers.index.unit_ids).to_numpy()
    by_location = {g: int(per_unit[grid_of_unit == g].sum()) for g in plan.leads.index}
    by_check = {c.grid_id: c.params.get("count", 0) for c in metrics.check_policy(layers, plan) if c.rule == "G5"}
    assert by_location == by_check == {"G1": 1, "G2": 1}  # F3 in G1, F4 in G2 (F8 does not qualify)
