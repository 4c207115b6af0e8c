"""``python -m grid_planning export PLAN.gpkg --format F --out P``: every format from the file alone."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from export_fixtures import HOSTILE_FACILITIES, hostile_city, hostile_plan
from PIL import Image
from plan_fixtures import make_costs

from grid_planning.cli import main
from grid_planning.exports.formats import FORMATS
from grid_planning.exports.planfile import write_plan
from grid_planning.prints.paper import paper_pixels

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "plan.gpkg"
    write_plan(path, hostile_city(), hostile_plan(), make_costs(), lang="zh")
    return path


@pytest.mark.parametrize("fmt", ["geojson", "shp", "csv", "xlsx"])
def test_export_writes_each_format(plan_file, tmp_path, fmt, capsys):
    out = tmp_path / f"out.{FORMATS[fmt][0]}"
    assert main(["export", str(plan_file), "--format", fmt, "--out", str(out), "--lang", "en"]) == 0
    data = out.read_bytes()
    assert data
    if FORMATS[fmt][1] == "application/zip":
        assert zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "Written" in capsys.readouterr().out


def test_export_html_map(tmp_path):
    # plain names: hostile ones wait for the map builders' script_json fix (see test_exports.py)
    from plan_fixtures import make_layers, make_plan

    from grid_planning.maps.offline import external_hosts

    plan = write_plan(tmp_path / "plan.gpkg", make_layers(), make_plan(), make_costs())
    out = tmp_path / "map.html"
    assert main(["export", str(plan), "--format", "html", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "区人民医院" in page and "/app/static" not in page
    assert external_hosts(page) <= {"www.w3.org", "leafletjs.com"}


def test_export_print_map_size_from_options(plan_file, tmp_path):
    out = tmp_path / "map.png"
    code = main(["export", str(plan_file), "-f", "png", "-o", str(out), "--paper", "A3",
                 "--orientation", "portrait"])
    assert code == 0
    assert Image.open(out).size == paper_pixels("A3", "portrait", 300)


def test_export_report_through_the_module_entry_point(plan_file, tmp_path):
    """The real command line (a new process, as a planner runs it)."""
    out = tmp_path / "report.pdf"
    proc = subprocess.run(
        [sys.executable, "-m", "grid_planning", "export", str(plan_file), "--format", "report",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "已写出" in proc.stdout
    text = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True, check=True,
                          text=True).stdout
    flat = "".join(text.split())
    assert "市一医院网格" in flat and "".join(HOSTILE_FACILITIES["F3"].split()) in flat
    # sources come from the plan file: the user's layers, named by file, no server path
    assert "数据来源：用户提供的图层" in flat and str(plan_file.parent) not in text


def test_export_refuses_missing_file_and_options(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope.gpkg"), "--format", "xlsx", "--out",
                 str(tmp_path / "x.xlsx")]) == 2
    assert "nope.gpkg" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nope.gpkg"), "--out", str(tmp_path / "x")]) == 2
    assert "--format" in capsys.readouterr().err
    assert main(["export", "x.gpkg", "--format", "docx", "--out", "y"]) == 2  # argparse choices
    assert not (tmp_path / "x.xlsx").exists()


def test_export_of_a_plan_with_a_planned_hospital_matches_the_dashboard(tmp_path):
    """A what-if hospital's travel times come from the plan file too: the command's tables are the
    dashboard's (the file holds the city as loaded plus the edit; the command re-applies it)."""
    from plan_fixtures import X0, Y0, make_layers
    from pyproj import Transformer

    from grid_planning.domain.request import PlanRequest
    from grid_planning.session.workspace import Workspace

    ws = Workspace(make_layers(), request=PlanRequest(k=2))
    assert ws.run().ok
    lon, lat = Transformer.from_crs("EPSG:32650", 4326, always_xy=True).transform(X0 + 500, Y0 + 3500)
    fid, result = ws.add_facility("规划医院", lon, lat, level="tertiary", type_="general", beds=600)
    assert result is not None and result.ok
    assert fid in set(ws.plan.leads)  # it leads a grid: every unit there needs its travel time

    plan_path = tmp_path / "plan.gpkg"
    plan_path.write_bytes(ws.export_bytes("gpkg", "en"))
    out = tmp_path / "tables.csv.zip"
    assert main(["export", str(plan_path), "--format", "csv", "--out", str(out), "--lang", "en"]) == 0
    ours = zipfile.ZipFile(io.BytesIO(ws.export_bytes("csv", "en")))
    theirs = zipfile.ZipFile(out)
    assert sorted(ours.namelist()) == sorted(theirs.namelist())
    for name in ours.namelist():
        assert theirs.read(name) == ours.read(name), name
    units = pd.read_csv(io.BytesIO(theirs.read("units.csv")), encoding="utf-8-sig")
    assert units["Minutes to lead"].notna().all() and len(units) == 16
    assert any("规划医院" in theirs.read(n).decode("utf-8-sig") for n in theirs.namelist())


def test_the_command_line_and_the_print_map_load_no_folium():
    """folium, branca and jinja2 (~0.25 s of a print's 3 s) load only when an HTML map is made."""
    code = ("import sys, grid_planning.cli, grid_planning.prints.printmap, grid_planning.prints.report_pdf\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'folium', 'branca', 'jinja2'}))\n"
            "import grid_planning.maps.htmlmap\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'folium', 'branca', 'jinja2'}))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=True)
    assert proc.stdout.split("\n")[:2] == ["[]", "['branca', 'folium', 'jinja2']"]
