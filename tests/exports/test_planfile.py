"""The plan GeoPackage: layout of data-format.md, round trip, approval workbook."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest
from plan_fixtures import make_costs, make_layers, make_plan

from grid_planning.assess.checklist import record
from grid_planning.assess.checks import check_policy
from grid_planning.domain import plan as plan_module
from grid_planning.domain.plan import FacilityEdit, PolicyException
from grid_planning.domain.request import request_from_plan
from grid_planning.exports.formats import plan_tables_xlsx
from grid_planning.exports.planfile import (
    PlanFileError,
    read_meta,
    read_plan,
    stored_checks,
    write_plan,
)


@pytest.fixture(scope="module")
def city():
    return make_layers()


@pytest.fixture(scope="module")
def rich_plan():
    p = make_plan()
    p = p.with_exception(PolicyException("G5", "F1", "相邻网格康复医院提供服务")).with_locks(
        ["U00", "U23"], "G1"
    )
    p = p.with_locks(["U33"], "G2")
    p = record(p, "F2", 4, "in_progress", "人事编制方案起草中")
    return p.with_params(
        balance=0.8,  # the hand plan is within ±80 % (check re-verifies it)
        cost={"mode": "straight", "speed_kmh": 30.0}, created="2024-01-02T03:04:05"
    )


@pytest.fixture(scope="module")
def rich_written(tmp_path_factory, city, rich_plan) -> Path:
    """The rich plan's GeoPackage, written once per module; a test takes its own copy
    (:func:`copy_of`), so no test sees another's changes."""
    return write_plan(tmp_path_factory.mktemp("rich") / "plan.gpkg", city, rich_plan, make_costs())


def copy_of(written: Path, path: Path) -> Path:
    return Path(shutil.copyfile(written, path))


def assert_same_plan(a, b):
    pd.testing.assert_series_equal(
        a.assignment.sort_index(), b.assignment.sort_index(), check_dtype=False, check_names=False
    )
    assert a.leads.to_dict() == b.leads.to_dict() and list(a.leads.index) == list(b.leads.index)
    cols = ["grid_id", "role", "home_grid", "supports"]
    pd.testing.assert_frame_equal(
        a.roles[cols].sort_index(), b.roles[cols].sort_index(), check_dtype=False, check_names=False
    )
    assert a.locks == b.locks
    assert a.exceptions == b.exceptions
    assert a.edits == b.edits
    assert dict(a.params) == dict(b.params)
    assert a.checklist == b.checklist


def test_layers_and_columns_of_data_format(city, rich_plan, rich_written, tmp_path):
    path = copy_of(rich_written, tmp_path / "plan.gpkg")
    names = set(pyogrio.list_layers(path)[:, 0])
    assert {"units", "grids", "facilities", "plan_meta", "boundary"} <= names
    assert "facilities_source" not in names  # no what-if edits
    units = pyogrio.read_dataframe(path, layer="units")
    assert {"id", "name", "population", "grid_id", "locked", "t_lead", "district"} <= set(
        units.columns
    )
    assert units.crs.to_epsg() == 4326
    u = units.set_index("id")
    assert u.loc["U00", "locked"] and not u.loc["U01", "locked"]
    assert u.loc["U23", "grid_id"] == "G2"  # a lock is kept as a lock, not applied by the writer
    assert u.loc["U02", "t_lead"] == pytest.approx(2 * math.sqrt(10), rel=1e-6)
    assert u.loc["U10", "district"] == "东区"  # user extra column carried through
    grids = pyogrio.read_dataframe(path, layer="grids").set_index("grid_id")
    for col in (
        "name",
        "lead_id",
        "population",
        "area_km2",
        "beds",
        "beds_per_1000",
        "mean_travel_min",
    ):
        assert col in grids.columns
    assert grids.loc["G1", "population"] == 1400 and grids.loc["G1", "beds"] == 1220
    assert (grids["beds_illustrative_share"] == 1.0).all()  # the fixture's beds are all generated
    assert grids.loc["G1", "area_km2"] == pytest.approx(4.0, rel=1e-6)
    g1 = grids.loc[["G1"]].to_crs(city.metric_crs).geometry.iloc[0]
    assert g1.geom_type == "Polygon" and g1.area == pytest.approx(4e6, rel=1e-6)  # dissolved square
    fac = pyogrio.read_dataframe(path, layer="facilities").set_index("id")
    for col in (
        "name",
        "level",
        "type",
        "owner_level",
        "beds",
        "source",
        "level_source",
        "grid_id",
        "role",
        "supports",
    ):
        assert col in fac.columns
    assert fac.loc["F7", "grid_id"] == "" and fac.loc["F7", "role"] == "collaborator"
    assert fac.loc["F7", "supports"] == "G1,G2"
    assert fac.loc["F3", "note"] == "extra F3"  # extra facility column kept
    meta = read_meta(path)
    for key in (
        "format",
        "tool_version",
        "created",
        "method",
        "parameters",
        "plan",
        "checks",
        "metric_crs",
    ):
        assert key in meta
    assert meta["created"] == "2024-01-02T03:04:05" and meta["method"] == "hand"
    assert json.loads(meta["parameters"])["balance"] == 0.8
    assert json.loads(meta["all_passed"]) is True
    assert [c.to_dict() for c in stored_checks(path)] == [
        c.to_dict() for c in check_policy(city, rich_plan)
    ]


def test_round_trip(city, rich_plan, rich_written, tmp_path):
    path = copy_of(rich_written, tmp_path / "plan.gpkg")
    layers2, plan2 = read_plan(path)
    assert_same_plan(rich_plan, plan2)
    assert layers2.metric_crs == city.metric_crs
    assert list(layers2.units["id"]) == list(city.units["id"])
    assert "grid_id" not in layers2.units.columns and "t_lead" not in layers2.units.columns
    assert layers2.units["population"].sum() == 13600
    assert "role" not in layers2.facilities.columns
    assert list(layers2.facilities["id"]) == list(city.facilities["id"])
    assert layers2.facilities["beds"].isna().sum() == 1  # F6's unknown beds stay unknown
    # the round-tripped plan checks exactly as the original
    assert [r.to_dict() for r in check_policy(layers2, plan2)] == [
        r.to_dict() for r in check_policy(city, rich_plan)
    ]


def test_round_trip_with_what_if_edits(city, rich_plan, tmp_path):
    edits = (
        FacilityEdit("modify", "F3", (("level", "tertiary"),)),
        FacilityEdit(
            "add",
            "NEW1",
            (
                ("name", "规划医院"),
                ("level", "secondary"),
                ("type", "general"),
                ("owner_level", "district"),
                ("beds", 300),
                ("lon", 114.2),
                ("lat", 30.55),
            ),
        ),
    )
    p = rich_plan.__class__(**{**vars(rich_plan), "edits": edits})
    path = write_plan(tmp_path / "plan.gpkg", city, p, make_costs())
    assert "facilities_source" in set(pyogrio.list_layers(path)[:, 0])
    layers2, plan2 = read_plan(path)
    assert plan2.edits == edits
    assert_same_plan(p, plan2)
    # the layers come back as loaded: the edit lives only in the plan, never applied twice
    src = layers2.facilities.set_index("id")
    assert src.loc["F3", "level"] == "secondary" and "NEW1" not in src.index
    if hasattr(plan_module, "apply_facility_edits"):
        shown = pyogrio.read_dataframe(path, layer="facilities").set_index("id")
        assert shown.loc["F3", "level"] == "tertiary" and "NEW1" in shown.index


def test_overwrites_existing_file(city, rich_plan, tmp_path):
    path = tmp_path / "plan.gpkg"
    write_plan(path, city, make_plan())
    write_plan(path, city, rich_plan)
    _, plan2 = read_plan(path)
    assert plan2.locks == rich_plan.locks
    assert len(pyogrio.read_dataframe(path, layer="units")) == 16


def test_without_costs_travel_is_empty(city, tmp_path):
    path = write_plan(tmp_path / "p.gpkg", city, make_plan())
    units = pyogrio.read_dataframe(path, layer="units")
    assert units["t_lead"].isna().all()


def test_read_errors_are_specific(city, tmp_path):
    with pytest.raises(PlanFileError) as err:
        read_plan(tmp_path / "nope.gpkg")
    assert err.value.key == "plan.file_error.missing"
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(PlanFileError) as err:
        read_plan(bad)
    assert err.value.key == "plan.file_error.not_gpkg"
    partial = tmp_path / "partial.gpkg"
    pyogrio.write_dataframe(city.units, str(partial), layer="units", driver="GPKG")
    with pytest.raises(PlanFileError) as err:
        read_plan(partial)
    assert err.value.key == "plan.file_error.missing_layers" and "plan_meta" in err.value.message(
        "en"
    )
    assert isinstance(err.value, ValueError)


def _altered(tmp_path, rich_written, name: str, sql: str, *args) -> Path:
    """A plan GeoPackage with one SQL statement applied to it (a file altered by hand)."""
    import sqlite3

    path = copy_of(rich_written, tmp_path / f"{name}.gpkg")
    with sqlite3.connect(path) as con:
        # GDAL's spatial-index triggers call functions plain SQLite lacks; edits here leave the
        # geometry alone, so the index stays right without them.
        for (trigger,) in con.execute("select name from sqlite_master where type = 'trigger'").fetchall():
            con.execute(f'drop trigger "{trigger}"')
        con.execute(sql, args)
    return path


ALTERED_PLAN_ENTRIES = {
    "a list": [1, 2],
    "null": None,
    "leads as a list": {"leads": ["F1", "F2"]},
    "leads of a grid no unit is in": {"leads": {"G1": "F1", "G9": "F2"}},
    "a lead that is no facility": {"leads": {"G1": "F1", "G2": "NOPE"}},
    "locks as text": {"locks": "abc"},
    "params as a list": {"params": [1, 2]},
    "exceptions as text": {"exceptions": "x"},
    "an edit of no known shape": {"edits": [5]},
}


@pytest.mark.parametrize("change", list(ALTERED_PLAN_ENTRIES))
def test_an_altered_plan_entry_is_refused_not_guessed(city, rich_plan, rich_written, tmp_path, change):
    """Some of these were imported as broken scenarios (locks "abc" became three one-letter
    locks), others raised AttributeError past the pages' handling."""
    value = ALTERED_PLAN_ENTRIES[change]
    if isinstance(value, dict):
        value = {**json.loads(read_meta(write_plan(tmp_path / "o.gpkg", city, rich_plan))["plan"]), **value}
    path = _altered(tmp_path, rich_written, "p", "update plan_meta set value = ? where key = 'plan'",
                    json.dumps(value))
    with pytest.raises(PlanFileError) as err:
        read_plan(path)
    assert err.value.key == "plan.file_error.bad_entry" and err.value.params["entry"] == "plan"
    assert "'plan'" in err.value.message("en") and "“plan”" in err.value.message("zh")


def test_deeply_nested_plan_entry_is_refused(rich_written, tmp_path):
    path = _altered(tmp_path, rich_written, "p", "update plan_meta set value = ? where key = 'plan'",
                    "[" * 200_000 + "]" * 200_000)
    with pytest.raises(PlanFileError) as err:  # was a RecursionError
        read_plan(path)
    assert err.value.key == "plan.file_error.bad_entry"
    path = _altered(tmp_path, rich_written, "c", "update plan_meta set value = '{' where key = 'checks'")
    with pytest.raises(PlanFileError) as err:
        stored_checks(path)
    assert err.value.params["entry"] == "checks"


def test_infinite_population_or_beds_in_a_plan_file_is_refused(rich_written, tmp_path):
    path = _altered(tmp_path, rich_written, "u", "update units set population = 9e999 where id = 'U12'")
    with pytest.raises(PlanFileError) as err:
        read_plan(path)
    assert err.value.key == "plan.file_error.bad_value"
    assert err.value.params == {"file": str(path), "layer": "units", "column": "population", "id": "U12"}
    path = _altered(tmp_path, rich_written, "f", "update facilities set beds = -3 where id = 'F2'")
    with pytest.raises(PlanFileError) as err:
        read_plan(path)
    assert (err.value.params["column"], err.value.params["id"]) == ("beds", "F2")


def test_plan_files_are_read_within_the_input_limits(city, rich_written, tmp_path, monkeypatch):
    path = copy_of(rich_written, tmp_path / "p.gpkg")
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", str(len(city.units) - 1))
    with pytest.raises(PlanFileError) as err:
        read_plan(path)
    assert err.value.key == "plan.file_error.too_many_rows" and err.value.params["layer"] == "units"
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "1000")  # plan_meta has more rows than the units
    monkeypatch.setenv("GRID_PLANNER_MAX_VERTICES", "10")
    with pytest.raises(PlanFileError) as err:
        read_plan(path)
    assert err.value.key == "plan.file_error.too_many_vertices" and err.value.params["limit"] == "10"
    monkeypatch.delenv("GRID_PLANNER_MAX_VERTICES")
    assert len(read_plan(path)[0].units) == len(city.units)


def test_broken_files_get_no_gdal_or_sqlite_text(tmp_path):
    import sqlite3

    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"hello world" * 10)
    plain = tmp_path / "plain.gpkg"
    with sqlite3.connect(plain) as con:
        con.execute("create table x(a)")
    for path in (junk, plain):
        with pytest.raises(PlanFileError) as err:
            read_plan(path)
        for lang in ("zh", "en"):
            text = err.value.message(lang)
            assert path.name in text, text
            for noise in ("It might help", "sqlite3_", "<DRIVER>", str(tmp_path)):
                assert noise not in err.value.params.get("detail", ""), text


def test_a_plan_file_edited_in_a_gis_is_judged_where_its_facilities_lie(city, tmp_path):
    """Units moved to another grid in QGIS (their grid_id edited): the facilities' stored grids
    went on counting for the old grid, so G5 passed for a grid none of its members lay in any
    more ("All checks passed", exit 0). Read back, the file must equal the same move made in the
    dashboard (planner.move_units) for every facility that belongs where it lies."""
    import geopandas as gpd

    from grid_planning.city.planview import facility_units
    from grid_planning.planning.planner import move_units

    plan = make_plan()
    path = write_plan(tmp_path / "p.gpkg", city, plan, make_costs())
    lead_unit = facility_units(city, city.facilities)[plan.leads["G2"]]
    moved = [u for u, g in plan.assignment.items() if g == "G2" and u != lead_unit]
    units = gpd.read_file(path, layer="units")
    units.loc[units["id"].isin(moved), "grid_id"] = "G1"
    units.to_file(path, layer="units", driver="GPKG")

    _, read = read_plan(path)
    made = move_units(city, plan, moved, "G1")
    home = made.roles["role"].isin(["member", "primary", "cross_grid"])
    cols = ["grid_id", "role", "home_grid"]
    pd.testing.assert_frame_equal(read.roles.loc[made.roles.index[home], cols].sort_index(),
                                  made.roles.loc[home, cols].sort_index(), check_names=False)
    assert (read.roles.loc[home[home].index, "grid_id"] != plan.roles.loc[home[home].index, "grid_id"]).any()

    def g5(p):
        return sorted((r.grid_id, r.status) for r in check_policy(city, p) if r.rule == "G5")

    assert g5(read) == g5(made)
    # A file the dashboard wrote is read back unchanged (nothing to re-home).
    _, same = read_plan(write_plan(tmp_path / "q.gpkg", city, plan, make_costs()))
    pd.testing.assert_frame_equal(same.roles[cols].sort_index(), plan.roles[cols].sort_index(), check_names=False)


def test_approval_workbook(city, rich_plan, tmp_path):
    path = plan_tables_xlsx(tmp_path / "plan.xlsx", city, rich_plan, make_costs(), lang="en")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Summary" and wb.sheetnames[-3:] == ["Lead obligations", "Checks", "Checklist"]
    assert len(wb.sheetnames) == 4 + rich_plan.k  # one sheet per grid
    grids = pd.read_excel(path, sheet_name="Summary")
    assert "population" in grids.columns and list(grids["grid"]) == ["G1", "G2", "City total"]
    assert list(grids["population"]) == [1400, 12200, 13600]
    assert list(grids["share of beds illustrative"])[:2] == [1.0, 1.0]
    checks = pd.read_excel(path, sheet_name="Checks")
    assert (
        set(checks["result"]) == {"pass"}
        and checks["message"].str.startswith("G1 full coverage").any()
    )
    # each grid sheet: its figures (population first), a blank row, then its roster with the
    # collaborator F7 that supports both grids
    rosters = {}
    for name in wb.sheetnames[1:3]:
        rows = list(wb[name].iter_rows(values_only=True))
        assert rows[2][:2] == ("population", 1400 if name.startswith("G1") else 12200)
        blank = next(i for i, r in enumerate(rows) if all(v is None for v in r))
        rosters[name[:2]] = [r[0] for r in rows[blank + 2 :]]
    assert rosters == {"G1": ["F1", "F3", "F7", "F5"], "G2": ["F2", "F4", "F8", "F7", "F6"]}
    checklist = pd.read_excel(path, sheet_name="Checklist")
    assert len(checklist) == 30 and "in progress" in set(checklist["status"])


FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.mark.parametrize("name", ["plan_cli_v1.gpkg", "plan_workspace_v1.gpkg"])
def test_plan_files_of_the_previous_format_still_load(name):
    # tests/fixtures/plans/*.gpkg were written by the tool before the request had a version
    # (make_plans_v1.py): the CLI's carries the planner's parameters, the workspace's also
    # workspace_request.
    layers, plan = read_plan(FIXTURES / "plans" / name)
    assert plan.k == 3 and layers.name == "fixture"
    req = request_from_plan(plan)
    assert req.k == 3 and req.balance == 0.5
    assert req.fixed_leads == ("F0001",) and req.excluded_leads == ("F0004",)
    assert req.designated_leads == (("F0016", "全市唯一胸痛中心"),)
    if name == "plan_workspace_v1.gpkg":  # the workspace kept every waiver asked for
        assert req.g5_waivers == (("F0001", "新建院区"), ("F0003", "康复院区在建"))
    else:  # the CLI's file has those the plan needed, as exceptions
        assert req.g5_waivers == (("F0001", "新建院区"),)
