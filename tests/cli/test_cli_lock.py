"""``--lock UNITID=LEADID`` with ids that hold ``=`` themselves: the city's own ids decide the split."""

from __future__ import annotations

import pytest

from grid_planning.cli import main, split_lock
from grid_planning.domain import rules
from grid_planning.exports.planfile import read_plan

synthetic = pytest.importorskip("grid_planning.city.synthetic")


def test_split_lock_tries_every_equals_sign():
    assert split_lock("U=7=H1", {"U=7", "U"}, {"H1"}) == [("U=7", "H1")]
    assert split_lock("U=7=H=1", {"U=7"}, {"H=1"}) == [("U=7", "H=1")]
    assert split_lock("A=B=C", {"A", "A=B"}, {"B=C", "C"}) == [("A", "B=C"), ("A=B", "C")]
    assert split_lock("U7=H9", {"U7"}, {"H1"}) == []


def test_a_unit_id_holding_equals_signs_is_locked_from_the_cli(tmp_path, capsys):
    city = synthetic.synthetic_city(200, 40, 6, seed=1)
    units = city.units.copy()
    target = str(units["id"].iloc[17])
    units.loc[units.index[17], "id"] = "社区=17=A"
    units.to_file(tmp_path / "units.gpkg")
    city.facilities.to_file(tmp_path / "facilities.gpkg")
    leads = city.facilities.loc[rules.g4_eligible(city.facilities), "id"].astype(str).tolist()
    out = tmp_path / "plan.gpkg"
    args = [
        "plan",
        "--units",
        str(tmp_path / "units.gpkg"),
        "--facilities",
        str(tmp_path / "facilities.gpkg"),
    ]
    args += ["--grids", "3", "--out", str(out)]
    for lead in (leads[0], leads[-1]):  # two leads: the lock decides, not the distances
        rc = main([*args, "--lock", f"社区=17=A={lead}"])
        assert rc == 0, capsys.readouterr().err
        capsys.readouterr()
        _layers, plan = read_plan(out)
        assert plan.lead_of(plan.assignment.loc["社区=17=A"]) == lead and target != "社区=17=A"

    rc = main([*args, "--lock", f"社区=17=B={leads[0]}"])
    err = capsys.readouterr().err
    assert rc != 0 and "社区=17=B" in err and "UNITID=LEADID" in err


def test_a_unit_id_beginning_with_equals_and_holding_spaces_is_locked(tmp_path, capsys):
    # Refused before as "not ID=REASON": the lock's syntax was checked by its first `=`.
    city = synthetic.synthetic_city(200, 40, 6, seed=1)
    units = city.units.copy()
    units.loc[units.index[17], "id"] = "=起 点 17"
    units.to_file(tmp_path / "units.gpkg")
    city.facilities.to_file(tmp_path / "facilities.gpkg")
    lead = city.facilities.loc[rules.g4_eligible(city.facilities), "id"].astype(str).tolist()[-1]
    out = tmp_path / "plan.gpkg"
    rc = main(["plan", "--units", str(tmp_path / "units.gpkg"), "--facilities",
               str(tmp_path / "facilities.gpkg"), "--grids", "3", "--out", str(out),
               "--lock", f"=起 点 17={lead}"])
    assert rc == 0, capsys.readouterr().err
    _layers, plan = read_plan(out)
    assert plan.lead_of(plan.assignment.loc["=起 点 17"]) == lead
    assert main(["plan", "--units", str(tmp_path / "units.gpkg"), "--facilities",
                 str(tmp_path / "facilities.gpkg"), "--grids", "3", "--out", str(out),
                 "--lock", "no-separator"]) != 0
    assert "no-separator" in capsys.readouterr().err


def test_a_facility_id_holding_equals_signs_is_designated_with_a_reason_holding_them(tmp_path, capsys):
    # Before: the value was split at its first `=`, so "F=0020" could not be designated.
    city = synthetic.synthetic_city(200, 40, 6, seed=1)  # F0020: an enterprise tertiary hospital
    fac = city.facilities.copy()
    fac.loc[fac["id"].astype(str) == "F0020", "id"] = "F=0020"
    city.units.to_file(tmp_path / "units.gpkg")
    fac.to_file(tmp_path / "facilities.gpkg")
    out = tmp_path / "plan.gpkg"
    args = ["plan", "--units", str(tmp_path / "units.gpkg"), "--facilities",
            str(tmp_path / "facilities.gpkg"), "--grids", "3", "--out", str(out)]
    rc = main([*args, "--designate-lead", "F=0020=市政府文件=2024 第 3 号"])
    assert rc == 0, capsys.readouterr().err
    _layers, plan = read_plan(out)
    assert "F=0020" in set(plan.leads)
    assert plan.exception_for("G4", "F=0020").reason == "市政府文件=2024 第 3 号"
    # Two readings that each name a hospital: named, not guessed.
    fac.loc[fac["id"].astype(str) == "F0019", "id"] = "F"
    fac.to_file(tmp_path / "facilities.gpkg")
    capsys.readouterr()
    rc = main([*args, "--designate-lead", "F=0020=市政府文件"])
    err = capsys.readouterr().err
    assert rc != 0 and "F=0020=市政府文件" in err and "2" in err


def test_a_lock_that_cuts_the_city_is_refused_with_its_reason_and_proof(tmp_path, capsys):
    """ell-200u-lock (tests/reference_cities.py) from files, as a planner runs it: the refusal
    names the cut and says it is proven on the map, not by an exact search."""
    from reference_cities import family, shaped_city

    case = next(c for c in family((200, 300), 4, seed=1) if c.name == "ell-200u-k3-corners5-8%-lock-s3118")
    layers, request = shaped_city(case)
    layers.units.to_file(tmp_path / "units.gpkg")
    layers.facilities.to_file(tmp_path / "facilities.gpkg")
    (unit, lead), = request.locks
    rc = main(["plan", "--units", str(tmp_path / "units.gpkg"), "--facilities",
               str(tmp_path / "facilities.gpkg"), "--grids", "3", "--balance", "0.08",
               "--lock", f"{unit}={lead}", "--lang", "zh", "--out", str(tmp_path / "plan.gpkg")])
    err = capsys.readouterr().err
    assert rc == 2 and not (tmp_path / "plan.gpkg").exists()
    assert "把全市分成两部分" in err and f"（{unit}）" in err
    assert "已在地图上证明不存在满足全部要求的方案" in err and "精确求解证明不存在" not in err
    assert "解除单元街道162（Q162）的锁定（已验证可得出方案）" in err
    # names as a planner reads them, one enumeration in Chinese (、), full-width brackets
    assert "为牵头医院第2医院（T2）、第0医院（T0）的网格记录 G5 例外" in err and "), " not in err
