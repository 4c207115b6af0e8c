"""CLI ``plan --age-weight/--burden-column/--burden-weight`` and ``check`` on the G9 strip city."""

from __future__ import annotations

import pytest
from g9_city import g9_units, write_g9_files

from grid_planning.cli import main
from grid_planning.domain.request import request_from_plan
from grid_planning.exports.planfile import read_plan


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_g9_files(tmp_path_factory.mktemp("g9"))


def _plan(files, out, *extra):
    units, facilities = files
    return main(["plan", "--units", str(units), "--facilities", str(facilities), "--grids", "2",
                 "--balance", "0.05", "--cost-mode", "straight", "--out", str(out), "--lang", "en",
                 *extra])


def test_plan_with_weights_states_them_and_check_shows_the_panel(files, tmp_path, capsys):
    out = tmp_path / "plan.gpkg"
    rc = _plan(files, out, "--age-weight", "1", "--burden-column", "chronic")
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "age weight 1 (each resident 65+ counts 1 more)" in printed
    assert "Request weighted-demand balance ±5% (G9)" in printed
    _, plan = read_plan(out)
    req = request_from_plan(plan)
    assert (req.age_weight, req.burden_column, req.burden_weight) == (1.0, "chronic", 0.0)
    assert main(["check", str(out), "--lang", "zh"]) == 0
    checked = capsys.readouterr().out
    assert "本方案的 G9 权重：年龄权重 1" in checked and "加权需求均衡 ±5%" in checked
    # the city's row: 36,000 residents, 7,200 aged 65+, weighted demand 43,200
    city = next(line for line in checked.splitlines() if line.strip().startswith("全市"))
    assert "36,000" in city and "7,200" in city and "43,200" in city


def test_missing_burden_column_is_refused_by_name(files, tmp_path, capsys):
    rc = _plan(files, tmp_path / "x.gpkg", "--burden-column", "diabetes", "--burden-weight", "2")
    err = capsys.readouterr().err
    assert rc == 2 and not (tmp_path / "x.gpkg").exists()
    assert '"diabetes"' in err and "units.geojson" in err and "chronic" in err


def test_units_lacking_65_figures_are_named(tmp_path, capsys):
    units = g9_units()
    units.loc[units["id"] == "U030", "pop_65plus"] = None
    files = write_g9_files(tmp_path / "city", units)
    rc = _plan(files, tmp_path / "x.gpkg", "--age-weight", "0.5")
    err = capsys.readouterr().err
    assert rc == 2 and "U030" in err and "pop_65plus" in err
    # without a weight the same city plans, and the panel says the 65+ share is partial
    assert _plan(files, tmp_path / "y.gpkg") == 0
    out = capsys.readouterr().out
    assert "This plan uses no G9 weights" in out
    assert "Some units lack a 65+ figure" in out
