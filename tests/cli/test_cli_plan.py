"""CLI ``plan`` and ``check``: a small synthetic city in-process, one subprocess run, the sample city."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyogrio
import pytest
from plan_fixtures import make_layers, make_plan

from grid_planning.assess.checks import all_passed, check_policy
from grid_planning.city import synthetic
from grid_planning.cli import main
from grid_planning.exports.planfile import read_plan, write_plan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def city_files(tmp_path_factory):
    """A 200-unit synthetic city (6 eligible leads; F0020 is an enterprise tertiary hospital)."""
    d = tmp_path_factory.mktemp("city")
    city = synthetic.synthetic_city(200, 40, 6, seed=1)
    city.units.to_file(d / "units.gpkg")
    city.facilities.to_file(d / "facilities.gpkg")
    return d


def plan_args(d: Path, out: Path, *extra: str) -> list[str]:
    return [
        "plan",
        "--units",
        str(d / "units.gpkg"),
        "--facilities",
        str(d / "facilities.gpkg"),
        "--out",
        str(out),
        *extra,
    ]


def test_plan_then_check(city_files, tmp_path, capsys):
    out = tmp_path / "plan.gpkg"
    rc = main(
        plan_args(
            city_files, out, "--grids", "3", "--balance", "0.5", "--xlsx", str(tmp_path / "t.xlsx")
        )
    )
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert out.exists() and (tmp_path / "t.xlsx").exists()
    assert {"units", "grids", "facilities", "plan_meta"} <= set(pyogrio.list_layers(out)[:, 0])
    # the summary has one row per grid and the contiguity column, then the checks
    assert "mean to lead (min)" in printed and "contiguous" in printed
    for g in ("G1", "G2", "G3"):
        assert f"\n  {g} " in printed
    assert "PASS G1" in printed and "All checks passed" in printed
    # every synthetic facility is generated, so beds per 1,000 must say it is illustrative
    assert "100% of the beds counted are illustrative" in printed
    layers, plan = read_plan(out)
    assert plan.k == 3 and all_passed(check_policy(layers, plan))
    gm = pyogrio.read_dataframe(out, layer="grids")
    assert (gm["population"].max() / gm["population"].mean() - 1) <= 0.5 + 1e-9
    rc = main(["check", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert printed.count("PASS G4") + printed.count("WARN G4") == 3 and "FAIL" not in printed


def test_designated_lead_passes_by_exception(city_files, tmp_path, capsys):
    out = tmp_path / "plan.gpkg"
    reason = "enterprise hospital designated by the city"
    rc = main(plan_args(city_files, out, "--grids", "3", "--designate-lead", f"F0020={reason}"))
    printed = capsys.readouterr().out
    assert rc == 0, printed
    _, plan = read_plan(out)
    assert "F0020" in set(plan.leads)
    assert plan.exception_for("G4", "F0020").reason == reason
    assert reason in printed and "EXC  G4" in printed
    assert main(["check", str(out)]) == 0
    assert reason in capsys.readouterr().out


def test_infeasible_request_exits_2_with_explanation(city_files, tmp_path, capsys):
    out = tmp_path / "plan.gpkg"
    rc = main(plan_args(city_files, out, "--grids", "9"))
    err = capsys.readouterr().err
    assert rc == 2 and not out.exists()
    assert "cannot be planned" in err and "Suggestion" in err and "6" in err


def test_bad_designation_syntax_exits_2(city_files, tmp_path, capsys):
    rc = main(
        plan_args(city_files, tmp_path / "p.gpkg", "--grids", "3", "--designate-lead", "F0020")
    )
    assert rc == 2 and "ID=REASON" in capsys.readouterr().err


def test_unusable_layers_exit_2(tmp_path, capsys):
    bad = tmp_path / "units.csv"
    bad.write_text("nothing,here\n1,2\n")
    rc = main(
        [
            "plan",
            "--units",
            str(bad),
            "--facilities",
            str(bad),
            "--grids",
            "2",
            "--out",
            str(tmp_path / "p.gpkg"),
        ]
    )
    captured = capsys.readouterr()
    assert rc == 2 and "Traceback" not in captured.err
    assert captured.err.strip()


def test_check_fails_with_exit_1(tmp_path, capsys):
    city, plan = make_layers(), make_plan()
    roles = plan.roles.copy()
    roles.loc["F3", ["role", "grid_id"]] = ["collaborator", ""]  # G1 loses its G5 member
    path = write_plan(tmp_path / "bad.gpkg", city, replace(plan, roles=roles))
    rc = main(["check", str(path)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "FAIL G5" in out and "1 check(s) failed" in out


def test_check_unreadable_exits_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing.gpkg")]) == 2
    assert "not found" in capsys.readouterr().err
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"\x00garbage")
    assert main(["check", str(junk), "--lang", "zh"]) == 2
    assert "无法读取方案" in capsys.readouterr().err


def test_subprocess_plan_in_chinese(city_files, tmp_path):
    out = tmp_path / "plan.gpkg"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grid_planning",
            *plan_args(city_files, out, "--grids", "2", "--lang", "zh"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "政策核查" in proc.stdout and "Traceback" not in proc.stderr
    assert out.exists()


SAMPLE = ROOT / "sample_data" / "wuhan" / "population_units.geojson"


@pytest.mark.skipif(not SAMPLE.exists(), reason="sample city not built")
def test_sample_city_plan_and_check(tmp_path, capsys):
    out = tmp_path / "wuhan.gpkg"
    rc = main(["plan", "--grids", "3", "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "sample city" in printed and "All checks passed" in printed
    assert main(["check", str(out)]) == 0
    layers, plan = read_plan(out)
    assert plan.k == 3 and layers.units["population"].sum() == pytest.approx(12_326_518, rel=1e-9)


def test_missing_required_options_exit_2_with_usage(tmp_path, capsys):
    assert main(["plan", "--out", str(tmp_path / "p.gpkg")]) == 2
    assert "Missing --grids" in capsys.readouterr().err
    assert main(["plan", "--grids", "2"]) == 2
    assert "Missing --out" in capsys.readouterr().err
    assert main(["check"]) == 2
    assert "python -m grid_planning check plan.gpkg" in capsys.readouterr().err
