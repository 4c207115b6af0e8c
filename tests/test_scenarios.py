"""Scenario store: round trips through a real SQLite file, refusals that protect saved work."""

import sqlite3

import pandas as pd
import pytest

from grid_planning.i18n import t
from grid_planning.plan import ChecklistEntry, FacilityEdit, Plan, PolicyException
from grid_planning.scenarios import ScenarioStore, ScenarioStoreError


def _plan() -> Plan:
    assignment = pd.Series({"u1": "G1", "u2": "G1", "u3": "G2"}, name="grid_id")
    leads = pd.Series({"G1": "H1", "G2": "H2"})
    roles = pd.DataFrame(
        {
            "grid_id": ["G1", "G2", "", "G1"],
            "role": ["lead", "lead", "collaborator", "primary"],
            "home_grid": ["G1", "G2", "G1", "G1"],
            "supports": ["", "", "G1,G2", ""],
        },
        index=pd.Index(["H1", "H2", "P1", "C1"], name="id"),
    )
    return Plan(
        assignment=assignment,
        leads=leads,
        roles=roles,
        locks=(("u2", "G1"),),
        exceptions=(PolicyException("G5", "H2", "仅有的护理院在网格边界外 500 米"),),
        edits=(FacilityEdit("modify", "S1", (("level", "tertiary"),)),),
        params=(("k", 2), ("balance", 0.3)),
        checklist=(ChecklistEntry("H1", 2, "done", "章程已签署"),),
    )


def test_round_trip_keeps_every_part_of_the_plan(tmp_path):
    store = ScenarioStore(tmp_path / "s.sqlite")
    plan = _plan()
    sid = store.save("方案 A", plan, city="武汉市", city_fingerprint="abc", note="k=2")
    back = store.load(sid)
    assert back.assignment.to_dict() == plan.assignment.to_dict()
    assert back.leads.to_dict() == {"G1": "H1", "G2": "H2"}
    assert back.roles.loc["P1", "supports"] == "G1,G2"
    assert back.roles.loc["P1", "grid_id"] == ""
    assert back.locks == (("u2", "G1"),)
    assert back.exceptions == plan.exceptions
    assert back.edits == plan.edits
    assert back.param_map == {"k": 2, "balance": 0.3}
    assert back.checklist == plan.checklist
    assert store.load("方案 A").k == 2
    listed = store.list("abc")
    assert listed["name"].tolist() == ["方案 A"] and listed["k"].tolist() == [2]
    assert store.list("other").empty


def test_existing_name_is_never_overwritten_silently(tmp_path):
    store = ScenarioStore(tmp_path / "s.sqlite")
    store.save("A", _plan(), city="c", city_fingerprint="f")
    with pytest.raises(ScenarioStoreError) as err:
        store.save("A", _plan().with_params(k=3), city="c", city_fingerprint="f")
    assert err.value.code == "name_taken"
    assert store.load("A").param_map["k"] == 2
    store.save("A", _plan().with_params(k=3), city="c", city_fingerprint="f", overwrite=True)
    assert store.load("A").param_map["k"] == 3
    assert len(store.list()) == 1


def test_a_foreign_sqlite_file_is_left_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE patients (id INTEGER)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(ScenarioStoreError) as err:
        ScenarioStore(path)
    assert err.value.code == "not_a_store"
    assert path.read_bytes() == before
    assert str(path) in t("scenarios.error.not_a_store", "en", **err.value.params)


def test_a_file_that_is_not_sqlite_is_reported(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("not a database at all " * 100)
    with pytest.raises(ScenarioStoreError) as err:
        ScenarioStore(path)
    assert err.value.code == "not_a_store"


def test_missing_and_blank_names(tmp_path):
    store = ScenarioStore(tmp_path / "s.sqlite")
    with pytest.raises(ScenarioStoreError) as err:
        store.save("  ", _plan(), city="c", city_fingerprint="f")
    assert err.value.code == "empty_name"
    with pytest.raises(ScenarioStoreError) as err:
        store.load("nope")
    assert err.value.code == "not_found"
    sid = store.save("B", _plan(), city="c", city_fingerprint="f")
    store.delete(sid)
    with pytest.raises(ScenarioStoreError):
        store.delete(sid)
