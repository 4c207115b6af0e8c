"""The command line: ``python -m grid_planning validate`` exit codes and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grid_planning import cli

ROOT = Path(__file__).resolve().parents[2]
FIX = Path(__file__).parents[1] / "fixtures" / "layers"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grid_planning", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_validate_sample_city_subprocess_exit_0():
    proc = _run("validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "12,326,518" in proc.stdout
    assert "Result: the layers can be used for planning." in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_validate_bad_input_subprocess_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("名称,经度,纬度\n甲医院,114.3,\n", encoding="utf-8")
    proc = _run("validate", "--units", str(FIX / "town_units.geojson"), "--facilities", str(bad))
    assert proc.returncode == 2
    assert "ERROR bad.csv, row 2, column 经度/纬度: coordinates are missing" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_validate_town_files_exit_0(capsys):
    code = cli.main(
        [
            "validate",
            "--units",
            str(FIX / "town_units_zh.gpkg"),
            "--facilities",
            str(FIX / "town_facilities_zh.xlsx"),
            "--boundary",
            str(FIX / "town_boundary.geojson"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Validation report: 0 errors, 0 warnings" in out
    assert "Population: 1,823,034" in out
    assert "Eligible lead hospitals: 2" in out
    # One definition with the report: the provincial hospital's 1,500 beds (a collaborator) do not count.
    assert "Beds (provincial and national collaborators excluded): 2,720" in out


def test_validate_in_chinese(capsys):
    code = cli.main(
        [
            "validate",
            "--units",
            str(FIX / "town_units.geojson"),
            "--facilities",
            str(FIX / "missing.csv"),
            "--lang",
            "zh",
        ]
    )
    out = capsys.readouterr().out
    assert code == 2
    assert "找不到文件" in out and "结论：数据有错误" in out


def test_validate_gcj02_option(capsys):
    code = cli.main(
        [
            "validate",
            "--units",
            str(FIX / "town_units.geojson"),
            "--facilities",
            str(FIX / "weibo_pois_gcj02.csv"),
            "--coords",
            "gcj02",
        ]
    )
    out = capsys.readouterr().out
    # The POIs have no level/type/owner, so no lead: not usable, with that reason.
    assert code == 2
    assert "no facility can lead a grid" in out


def test_validate_another_city(capsys):
    pj = FIX / "panjin"
    code = cli.main(
        [
            "validate",
            "--units",
            str(pj / "units.gpkg"),
            "--facilities",
            str(pj / "facilities.gpkg"),
            "--boundary",
            str(pj / "boundary.gpkg"),
        ]
    )
    assert code == 0
    assert "Summary of Panjin-like" in capsys.readouterr().out


def test_units_without_facilities_is_a_clear_error(capsys):
    assert cli.main(["validate", "--units", str(FIX / "town_units.geojson")]) == 2
    err = capsys.readouterr().err
    assert "--facilities is required" in err
    # the same in Chinese, with no English sentence inside it; plan shares the rule
    assert (
        cli.main(
            ["plan", "--facilities", "f.csv", "--grids", "2", "--out", "p.gpkg", "--lang", "zh"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "给出 --facilities 时也须给出 --units" in err and "required" not in err


def test_bad_arguments_exit_2_without_traceback(capsys):
    assert cli.main(["validate", "--coords", "utm"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert cli.main([]) == 2  # no command: help is printed
    assert "validate" in capsys.readouterr().out
    assert cli.main(["--help"]) == 0


def test_unexpected_failure_is_one_line(monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli, "load_city", boom)
    code = cli.main(["validate", "--units", "u.geojson", "--facilities", "f.csv"])
    captured = capsys.readouterr()
    assert code == 2
    assert "The command could not be completed: RuntimeError: disk on fire" in captured.err
    assert "Traceback" not in captured.out + captured.err


def test_every_command_has_a_handler():
    parser = cli._build_parser()
    for name in cli.COMMANDS:
        args = parser.parse_args([name])
        assert args._command == name and callable(args._handler)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_all_findings_flag_lists_everything(tmp_path, capsys, lang):
    rows = "\n".join(f"P{k},医院{k},金牌{k},综合医院,市属,114.3,30.58" for k in range(60))
    path = tmp_path / "many.csv"
    path.write_text("id,name,level,type,owner_level,lon,lat\n" + rows + "\n", encoding="utf-8")
    args = [
        "validate",
        "--units",
        str(FIX / "town_units.geojson"),
        "--facilities",
        str(path),
        "--lang",
        lang,
    ]
    cli.main(args)
    short = capsys.readouterr().out
    cli.main([*args, "--all"])
    full = capsys.readouterr().out
    assert "... and" in short and "... and" not in full
    assert full.count("金牌") >= 60


def test_library_warnings_stay_off_the_planners_terminal(monkeypatch, capsys):
    """shapely/geopandas warnings printed site-packages paths under the report; with ``-W`` (or
    PYTHONWARNINGS) they are shown, terminal-safe."""
    import warnings

    from grid_planning import cli

    def noisy(argv):
        warnings.warn("invalid value encountered in intersection \x1b[31m", RuntimeWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(cli, "_main", noisy)
    monkeypatch.setattr(sys, "warnoptions", [])
    assert cli.main([]) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys, "warnoptions", ["default"])
    assert cli.main([]) == 0
    err = capsys.readouterr().err
    assert "RuntimeWarning: invalid value" in err and "\x1b" not in err


def test_an_output_that_cannot_take_a_file_is_refused_before_planning(tmp_path, capsys, monkeypatch):
    """`plan --out FOLDER` planned the whole city, then failed with "The check could not be
    completed: IsADirectoryError ..."; `export --out FOLDER` likewise."""
    from grid_planning.planning import planner

    def no_planning(*args, **kwargs):
        raise AssertionError("planned before the output was checked")

    monkeypatch.setattr(planner, "plan_city", no_planning)
    folder = tmp_path / "adir"
    folder.mkdir()
    (tmp_path / "afile").write_text("x")
    for argv in (["plan", "--grids", "4", "--out", str(folder)],
                 ["plan", "--grids", "4", "--out", str(tmp_path / "p.gpkg"), "--xlsx", str(tmp_path / "afile" / "t.xlsx")],
                 ["export", str(tmp_path / "nope.gpkg"), "--format", "xlsx", "--out", str(folder), "--lang", "en"]):
        assert cli.main(argv) == cli.EXIT_NOT_USABLE
        err = capsys.readouterr().err
        assert "cannot take a file" in err or "不能写入文件" in err, err
        assert "Error" not in err and not (tmp_path / "p.gpkg").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_number_option_that_is_not_finite_is_an_argument_error(value, capsys):
    """`--balance nan` went through to a refusal that printed "nan%"."""
    assert cli.main(["plan", "--grids", "4", f"--balance={value}", "--out", "x.gpkg"]) == 2
    assert f"--balance: invalid number value: '{value}'" in capsys.readouterr().err
