"""One awkward city end to end: CLI validate -> plan -> check, the Workspace, every map, every data
export read back (and the drawn exports for the cities of :data:`DRAWN_SEEDS`).

Used by the property tests ``test_any_city_*.py`` (the seeds are split over two files so that the
two CI workers share them). Each city either gives a plan file that ``check`` passes and that the
independent oracle (:mod:`oracle`) finds valid, or a refusal that is verified true: every option it
offers gives a valid plan, and on small cities the oracle's exhaustive search finds no plan for the
request as asked. Nothing may raise.
"""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import oracle
import pandas as pd
import pyogrio
from awkward_cities import REASON, awkward_city

from grid_planning import cli
from grid_planning.assess.checks import check_policy
from grid_planning.city.costs import travel_costs
from grid_planning.city.layers import load_city
from grid_planning.domain.request import CostParams
from grid_planning.maps import mapview, overview, planmap
from grid_planning.planning.candidates import may_designate
from grid_planning.planning.planner import plan_city
from grid_planning.session.workspace import Workspace

#: Exports the Workspace offers: the data formats, read back for every planned city; the drawn ones
#: (print map PNG and vector PDF, the PDF report) for the cities of :data:`DRAWN_SEEDS` only.
EXPORTS = ("gpkg", "xlsx", "csv", "geojson", "shp", "html")
DRAWN = ("png", "pdf", "report")

#: The planned cities whose drawn exports are made. Drawing costs about as much CPU as every other
#: check of a planned city together (mostly subsetting the CJK font into the PDFs), and what the
#: drawing can get wrong is the geometry, not the numbers (those are read back from the data
#: exports of every city, and the drawn files' contents are read in tests/exports and
#: tests/prints on the sample and pilot cities). So the renderers get a handful of cities chosen
#: for their shapes: together they hold every awkward shape the generator makes (:data:`SHAPES`),
#: the most units of any city and the most grids of any city that plans (surveyed over seeds
#: 0-299 on 2026-12-07), both scripts of names (GBK Chinese, English). A river city is drawn on
#: the sample (Wuhan: the Yangtze and the Han) in tests/exports/test_exports_sample.py.
#: ``test_drawn_cities_hold_every_shape`` keeps the shapes true if the generator changes, and
#: :func:`check_city` fails if one of these cities stops planning.
DRAWN_SEEDS: dict[int, str] = {
    59: "the most units (16) on 6 km cells; a 600 m bridge unit, a hole with an enclave, a unit "
        "touching at a corner, a self-intersecting bowtie (repaired), a null geometry; one grid",
    117: "the most grids (k = 4) on 1.5 km cells; Chinese names from a GBK file",
    98: "an exclave, a multi-part unit, a hole with an enclave; 3 grids; Chinese names",
    119: "an island, an exclave, a corner unit, a zero-area ring and an empty polygon; 12 units",
    164: "an island, a multi-part unit across a gap, a bowtie, a corner unit on 1.5 km cells; 2 grids",
    196: "the thinnest unit: a 300 m bridge; an exclave, a 3-point ring inside a unit, a bowtie; "
         "Chinese names",
}

#: The shapes :func:`awkward_cities.awkward_city` can give a city (its ``features`` that are geometry).
SHAPES = frozenset({
    "hole_enclave", "island", "exclave", "bridge", "corner", "multipart", "bowtie",
    "degenerate_inside", "zero_area_inside", "empty_no_residents", "null_no_residents",
})


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def check_city(seed: int, folder: Path) -> str:
    """Run one city through everything; returns a short outcome label (for the test report)."""
    city = awkward_city(seed, folder)
    code, out, err = _run(
        ["validate", "--units", str(city.units), "--facilities", str(city.facilities), "--lang", "en"]
    )
    assert code in (0, 2), (code, err)
    assert "Traceback" not in out + err
    layers = load_city(city.units, city.facilities)
    if code == 2:
        assert seed not in DRAWN_SEEDS, f"seed {seed} no longer plans: choose another city to draw"
        _verify_unusable(layers, city)
        return "unusable:" + ",".join(sorted({f.code for f in layers.report.errors}))
    assert layers.ok
    # No resident lost: every resident of the file is in some unit.
    assert abs(layers.units["population"].sum() - _file_population(city)) < 1e-6

    gpkg = folder / "plan.gpkg"
    code, out, err = _run(city.plan_args(gpkg))
    assert "Traceback" not in out + err
    assert code in (0, 2), (code, out, err)  # 1 = a plan that fails its checks: never
    request = city.request()
    # Planned once here, as the dashboard plans (the Workspace); the CLI's outcome must agree.
    ws = Workspace(layers, request=request)
    result = ws.run()
    costs = ws.costs()
    cli_costs = travel_costs(layers, CostParams())  # the CLI's default travel model
    assert costs.mode == cli_costs.mode and np.array_equal(costs.minutes, cli_costs.minutes)
    assert result.ok == (code == 0), (code, result.infeasible and result.infeasible.explain("en"))
    if code == 0:
        ccode, cout, cerr = _run(["check", str(gpkg), "--lang", "en"])
        assert ccode == 0, cout + cerr
        assert oracle.problems(layers, request, result.plan, costs) == []
        _workspace(ws, layers, folder, EXPORTS + (DRAWN if seed in DRAWN_SEEDS else ()))
        return "plan"
    assert seed not in DRAWN_SEEDS, f"seed {seed} no longer plans: choose another city to draw"
    inf = result.infeasible
    m = oracle.model(layers, request, costs)
    # The refusal is true: on a small city, exhaustive search finds no plan either.
    if not isinstance(m, str) and m.n <= oracle.MAX_UNITS:
        try:
            feasible, _ = oracle.brute_force(m)
        except ValueError:  # too many assignments to enumerate
            feasible = None
        assert feasible is not True, f"refused ({inf.code}) but a plan exists"
    # ... and what it offers works: each option gives a plan the checks and the oracle accept.
    # (no option at all only where nobody may lead, not even by a designation: provincial and
    # national hospitals never lead, G8 / issue 15)
    nobody = "g4" in inf.binding and not may_designate(
        layers.facilities, layers.index.locate(layers.facilities).outside
    ).any()
    assert inf.options or inf.binding == ("request",) or nobody, inf.explain("en")
    for option in inf.options:
        relaxed = option.apply(request, reason=REASON)
        res = plan_city(layers, relaxed, costs=costs, analyse=False)
        assert res.ok, (inf.code, option.text("en"), res.infeasible and res.infeasible.explain("en"))
        assert all(c.status != "fail" for c in check_policy(layers, res.plan))
        assert oracle.problems(layers, relaxed, res.plan, costs) == [], option.text("en")
        if "k" in dict(option.steps):
            assert dict(option.steps)["k"]["k"] != request.k  # never the k already asked
        if relaxed.k < 2:
            assert relaxed.g2_reason  # never fewer than 2 grids without a G2 reason
    return f"refused:{inf.code}"


def _file_population(city) -> float:
    import json

    data = json.loads(city.units.read_text(encoding="utf-8"))
    return float(sum(f["properties"]["population"] for f in data["features"]))


def _verify_unusable(layers, city) -> None:
    """A layers error is true: lost residents really have no unit, no lead really exists."""
    codes = {f.code for f in layers.report.errors}
    assert codes <= {"unit_unusable", "no_eligible_lead"}, layers.report.format()
    if "unit_unusable" in codes:
        assert "lost_residents" in city.features
        finding = next(f for f in layers.report.errors if f.code == "unit_unusable")
        assert finding.params["residents"] == "1,234"
    if "no_eligible_lead" in codes:
        fac = layers.facilities
        assert not ((fac["level"] == "tertiary") & fac["type"].isin(["general", "tcm"])).any()


def _workspace(ws: Workspace, layers, folder: Path, kinds: tuple[str, ...]) -> None:
    """Figures, every map and the exports of the Workspace's (planned) plan."""
    figures = ws.figures("zh")
    assert figures.n_failed == 0
    assert abs(figures.grids["population"].sum() - layers.units["population"].sum()) < 1e-6
    # Every map the dashboard draws for this city and plan renders (mapview.map_html: the page
    # st_folium shows is built from the same elements).
    maps = [
        overview.city_overview_map(layers),
        planmap.plan_map(layers, ws.plan, unit_df=figures.units, shade="grid"),
        planmap.plan_map(layers, ws.plan, unit_df=figures.units, shade="travel", lang="en"),
        *[planmap.coverage_map(layers, ws.plan, figures.units, c) for c in planmap.TRAVEL_COLUMNS],
    ]
    for m in maps:
        assert "L.geoJson" in mapview.map_html(m)
    for kind in kinds:
        data = ws.export_bytes(kind, "zh")
        # GDAL opens a zip inside a path (/vsizip/) by its ".zip" name
        path = folder / (f"export.{kind}" + (".zip" if kind == "shp" else ""))
        path.write_bytes(data)
        check_export(kind, path, layers, ws.plan)


def _planned(layers, plan) -> tuple[dict[str, str], dict[str, float], dict[str, str]]:
    """What every export must say: unit -> grid, grid -> population, grid -> lead."""
    assignment = {str(u): str(g) for u, g in plan.assignment.items()}
    pop = layers.units.set_index("id")["population"]
    totals: dict[str, float] = {}
    for unit, grid in assignment.items():
        totals[grid] = totals.get(grid, 0.0) + float(pop[unit])
    return assignment, totals, {str(g): str(f) for g, f in plan.leads.items()}


def _same_units(ids, grids, assignment: dict[str, str], kind: str) -> None:
    ids = [str(u) for u in ids]
    assert len(ids) == len(set(ids)), f"{kind}: a unit listed twice"
    assert dict(zip(ids, map(str, grids), strict=True)) == assignment, f"{kind}: units or grids differ"


def _same_grids(grids, pops, assignment, totals: dict[str, float], kind: str) -> None:
    got = {str(g): float(p) for g, p in zip(grids, pops, strict=True)}
    assert got.keys() == totals.keys(), (kind, got, totals)
    for grid, value in totals.items():
        assert abs(got[grid] - value) < 1e-6 * max(1.0, value), (kind, grid, got[grid], value)


def check_export(kind: str, path: Path, layers, plan) -> None:
    """The exported file says what the plan says: every unit once in its grid, each grid's lead and
    population (the city's total in the summaries); drawn files are what they claim to be."""
    assignment, totals, leads = _planned(layers, plan)
    total = float(layers.units["population"].sum())
    if kind in ("gpkg", "shp"):
        base = str(path) if kind == "gpkg" else f"/vsizip/{path}"
        units = pyogrio.read_dataframe(base if kind == "gpkg" else f"{base}/units.shp",
                                       layer="units" if kind == "gpkg" else None, read_geometry=False)
        grids = pyogrio.read_dataframe(base if kind == "gpkg" else f"{base}/grids.shp",
                                       layer="grids" if kind == "gpkg" else None, read_geometry=False)
        _same_units(units["id"], units["grid_id"], assignment, kind)
        _same_grids(grids["grid_id"], grids["population"], assignment, totals, kind)
        assert dict(zip(grids["grid_id"], grids["lead_id"], strict=True)) == leads, kind
    elif kind == "geojson":
        zf = zipfile.ZipFile(path)
        units = [f["properties"] for f in json.loads(zf.read("units.geojson"))["features"]]
        grids = [f["properties"] for f in json.loads(zf.read("grids.geojson"))["features"]]
        _same_units([u["id"] for u in units], [u["grid_id"] for u in units], assignment, kind)
        _same_grids([g["grid_id"] for g in grids], [g["population"] for g in grids], assignment,
                    totals, kind)
        assert {g["grid_id"]: g["lead_id"] for g in grids} == leads, kind
    elif kind in ("csv", "xlsx"):
        # Headers are the catalogue's words: columns by position (id, name, grid, population for
        # units; grid, name, lead id, lead, population for the summary, whose last row is the city).
        if kind == "csv":
            zf = zipfile.ZipFile(path)
            units = pd.read_csv(io.BytesIO(zf.read("units.csv")), encoding="utf-8-sig", dtype=str)
            _same_units(units.iloc[:, 0], units.iloc[:, 2], assignment, kind)
            summary = pd.read_csv(io.BytesIO(zf.read("summary.csv")), encoding="utf-8-sig",
                                  dtype={0: str, 2: str})
        else:
            summary = pd.read_excel(path, sheet_name=0, dtype={0: str, 2: str})
        rows, city = summary.iloc[:-1], summary.iloc[-1]
        _same_grids(rows.iloc[:, 0], rows.iloc[:, 4], assignment, totals, kind)
        assert dict(zip(rows.iloc[:, 0], rows.iloc[:, 2], strict=True)) == leads, kind
        assert abs(float(city.iloc[4]) - total) < 1e-6 * max(1.0, total), kind
    elif kind == "html":
        text = path.read_text(encoding="utf-8")
        assert text.lstrip().lower().startswith("<!doctype html") and "L.geoJson" in text
        for grid in totals:
            assert f'"{grid}"' in text, grid
    else:  # png, pdf, report: the drawn files are read in tests/exports; here they must be whole
        data = path.read_bytes()
        magic = b"\x89PNG\r\n\x1a\n" if kind == "png" else b"%PDF-"
        assert data.startswith(magic), kind
        assert kind == "png" or data.rstrip().endswith(b"%%EOF"), kind
