"""Scenarios exchanged as the plan GeoPackage, grid outlines in the store, and a scenario opened on
layers that changed since it was saved — on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import shapely
from plan_fixtures import make_costs, make_layers, make_plan
from store_fixtures import PG_URL, drop_schema, new_schema, require_pg

from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.plan import ChecklistEntry, FacilityEdit, PolicyException
from grid_planning.exports.planfile import PlanFileError
from grid_planning.session.team import changes_text, scenario_table
from grid_planning.session.workspace import Workspace
from grid_planning.store.exchange import ExchangeError, import_gpkg, scenario_gpkg
from grid_planning.store.identity import User
from grid_planning.store.scenarios import ScenarioStore, grid_outlines, layer_fingerprints

ALICE = User("alice", "Alice", "header")
BOB = User("bob", "Bob", "header")


def _rich_plan():
    return (
        make_plan()
        .with_locks(["U01"], "G1")
        .with_exception(PolicyException("G5", "F2", "护理院在网格边界外 500 米"))
        .with_checklist(ChecklistEntry("F1", 2, "done", "章程已签署 =1+1"))
        .with_params(balance=0.3)
    )


def _save(store, layers, plan, name, user=ALICE):
    return store.save(name, plan, city=layers.name, city_fingerprint=layers.fingerprint(), user=user,
                      layer_fingerprints=layer_fingerprints(layers), outlines=grid_outlines(layers, plan))


def _same_plan(a, b) -> None:
    assert a.assignment.sort_index().to_dict() == b.assignment.sort_index().to_dict()
    assert a.leads.to_dict() == b.leads.to_dict()
    cols = ["grid_id", "role", "home_grid", "supports"]
    pd.testing.assert_frame_equal(a.roles[cols].sort_index(), b.roles[cols].sort_index(), check_names=False)
    assert a.exceptions == b.exceptions
    assert a.checklist == b.checklist
    assert a.locks == b.locks
    assert a.edits == b.edits


def test_export_then_import_gives_the_same_scenario(store_location):
    layers, store = make_layers(), store_location.open()
    plan = _rich_plan()
    sid = _save(store, layers, plan, "方案 A")
    store.set_note(sid, "两个网格", user=ALICE)
    data = scenario_gpkg(store, sid, layers, make_costs(), lang="zh")
    assert data[:16] == b"SQLite format 3\x00"
    # Another office, another store: the file carries the name and note.
    other = store_location.open()
    store.delete(sid, user=ALICE)
    done = import_gpkg(other, data, "方案A.gpkg", layers, user=BOB)
    assert (done.name, done.city, done.changed) == ("方案 A", "grid4", ())
    info = other.info(done.id)
    assert (info.owner, info.note, info.city_fingerprint) == ("bob", "两个网格", layers.fingerprint())
    back = other.load(done.id)
    _same_plan(back, plan)
    assert "scenario_name" not in back.param_map and back.param_map["balance"] == 0.3
    # Imported again under the same name: refused; under another name: a second scenario.
    with pytest.raises(Exception) as err:
        import_gpkg(other, data, "x.gpkg", layers, user=BOB)
    assert getattr(err.value, "code", "") == "name_taken"
    assert import_gpkg(other, data, "x.gpkg", layers, user=BOB, name="方案 B").name == "方案 B"


def test_what_if_edits_survive_the_exchange(store_location):
    layers, store = make_layers(), store_location.open()
    plan = make_plan().with_params(k=2)
    plan = dataclasses.replace(plan, edits=(FacilityEdit("modify", "F3", (("level", "tertiary"),)),))
    sid = _save(store, layers, plan, "upgrade F3")
    data = scenario_gpkg(store, sid, layers)
    store.delete(sid, user=ALICE)
    done = import_gpkg(store, data, "f3.gpkg", layers, user=ALICE)
    assert done.changed == ()  # the user's own facilities came back, the edit lives in the plan
    assert store.load(done.id).edits == plan.edits


def test_a_plan_of_another_city_is_refused_naming_both_cities(store_location):
    layers, store = make_layers(), store_location.open()
    sid = _save(store, layers, make_plan(), "A")
    data = scenario_gpkg(store, sid, layers)
    other_city = synthetic_city(n_units=30, seed=3)
    with pytest.raises(ExchangeError) as err:
        import_gpkg(store, data, "/home/someone/plan.gpkg", other_city, user=ALICE)
    text = err.value.message("en")
    assert err.value.code == "other_city" and "grid4" in text and other_city.name in text
    assert "/home/someone" not in text and "plan.gpkg" in text
    with pytest.raises(ExchangeError):  # nor exported on another city's layers
        scenario_gpkg(store, sid, other_city)
    assert len(store.list()) == 1


def test_a_file_that_is_not_a_plan_names_the_upload_not_a_server_path(store_location, tmp_path):
    store = store_location.open()
    with pytest.raises(PlanFileError) as err:
        import_gpkg(store, b"not a geopackage", "../../etc/notes.gpkg", make_layers(), user=ALICE)
    text = err.value.message("en")
    assert "notes.gpkg" in text and "grid_import_" not in text and "/tmp" not in text and "../" not in text
    assert store.list().empty


def test_import_size_is_the_upload_limit(store_location, monkeypatch):
    """It was a fixed 200 MB, twice the upload limit and not a setting."""
    store = store_location.open()
    monkeypatch.setenv("GRID_PLANNER_MAX_UPLOAD_MB", "1")
    with pytest.raises(ExchangeError) as err:
        import_gpkg(store, b"\0" * (1024 * 1024 + 1), "big.gpkg", make_layers(), user=ALICE)
    assert err.value.code == "too_large" and err.value.params["limit_mb"] == 1
    assert store.list().empty


def test_import_on_changed_facilities_is_flagged(store_location):
    layers, store = make_layers(), store_location.open()
    sid = _save(store, layers, make_plan(), "A")
    data = scenario_gpkg(store, sid, layers)
    fac = layers.facilities.copy()
    fac.loc[fac["id"] == "F3", "level"] = "tertiary"
    newer = dataclasses.replace(layers, facilities=fac)
    done = import_gpkg(store, data, "a.gpkg", newer, user=ALICE, name="A from the district")
    assert done.changed == ("facilities",)
    # Opening it on the newer layers says the facilities changed, not the units.
    ws = Workspace(newer, cost_provider=lambda *a: make_costs())
    ws.load(store, done.id)
    assert ws.loaded_scenario.changed == ("facilities",)
    assert "facilities" in changes_text(ws.loaded_scenario.changed, "en")
    table = scenario_table(store.list(), newer, "en").set_index("Scenario")
    assert table.loc["A from the district", "Data"] == "⚠ same city, facilities changed"
    assert table.loc["A", "Data"] == "⚠ same city, facilities changed"  # saved on the older layers
    assert scenario_table(store.list(), layers, "en").set_index("Scenario").loc["A", "Data"] == "✓ data in use"
    assert scenario_table(store.list(), synthetic_city(n_units=30, seed=3), "en")["Data"].eq("other data").all()


def test_scenario_opened_on_changed_layers_says_what_changed(store_location):
    layers, store = make_layers(), store_location.open()
    ws = Workspace(layers, cost_provider=lambda *a: make_costs())
    ws.plan = make_plan()
    ws.save(store, "saved before the update", user=ALICE)
    # Same units, a population figure corrected: the units changed, nothing else.
    units = layers.units.copy()
    units.loc[units["id"] == "U00", "population"] = 150.0
    updated = dataclasses.replace(layers, units=units)
    ws2 = Workspace(updated, cost_provider=lambda *a: make_costs())
    ws2.load(store, "saved before the update")
    assert ws2.loaded_scenario.changed == ("units",)
    # On the layers it was made on: nothing to flag.
    ws3 = Workspace(layers, cost_provider=lambda *a: make_costs())
    ws3.load(store, "saved before the update")
    assert ws3.loaded_scenario.changed == ()
    ws3.undo()  # the plan on screen is no longer the loaded scenario
    assert ws3.loaded_scenario is None


def test_grid_outlines_are_stored_as_wgs84_multipolygons(store_location):
    layers, store = make_layers(), store_location.open()
    plan = make_plan()
    sid = _save(store, layers, plan, "outlined")
    got = store.outlines(sid).set_index("grid_id")
    assert list(got.index) == ["G1", "G2"] and got.crs.to_epsg() == 4326
    assert got.loc["G1", "lead_id"] == "F1" and got.loc["G2", "population"] == pytest.approx(13_600 - 1_400)
    assert all(g.geom_type == "MultiPolygon" for g in got.geometry)
    metric = got.to_crs(layers.metric_crs)
    assert metric.loc["G1"].geometry.area == pytest.approx(4e6, rel=1e-6)  # the 2 km x 2 km block
    assert metric.loc["G2"].geometry.area == pytest.approx(12e6, rel=1e-6)
    copy = store.duplicate(sid, "outlined copy", user=BOB)
    assert shapely.equals(store.outlines(copy).geometry.iloc[0], got.geometry.iloc[0])


@pytest.fixture
def pg_schema():
    require_pg()
    schema = new_schema()
    yield schema
    drop_schema(schema)


@pytest.mark.postgres
def test_postgis_holds_the_outlines_for_a_gis_client(pg_schema):
    import psycopg

    layers, store = make_layers(), ScenarioStore(PG_URL, schema=pg_schema)
    _save(store, layers, make_plan(), "for QGIS")
    with psycopg.connect(PG_URL) as con:
        rows = con.execute(
            f'SELECT scenario, grid_id, ST_GeometryType(geom), ST_SRID(geom), '
            f'ST_Area(ST_Transform(geom, 32650)) FROM "{pg_schema}".scenario_grid_map '
            "ORDER BY grid_id").fetchall()
        geom_type = con.execute(
            "SELECT type FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = 'scenario_grids'",
            (pg_schema,)).fetchone()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("for QGIS", "G1", "ST_MultiPolygon", 4326), ("for QGIS", "G2", "ST_MultiPolygon", 4326)]
    assert rows[0][4] == pytest.approx(4e6, rel=1e-4)
    assert geom_type == ("MULTIPOLYGON",)
