"""A city shaped like the Liaoning pilots (Fuxin, Panjin): the issue's "done when".

No provincial hospital; one eligible municipal lead (阜新市中心医院) and an enterprise-owned tertiary
hospital (阜新矿业（集团）总医院) in the same district (细河区); one secondary general hospital in the
whole city. From the CLI and through the Workspace:

- with street units or population cells: a k = 2 plan file with the G4 designation and the G5
  exception recorded, which ``check`` passes;
- with district units only: a refusal that names the shared district and suggests finer units.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from awkward_cities import PILOT_SHARED_DISTRICT, pilot_city

from grid_planning import cli
from grid_planning.assess.checks import check_policy
from grid_planning.city.layers import load_city
from grid_planning.domain.request import PlanRequest
from grid_planning.exports.planfile import read_plan
from grid_planning.session.workspace import Workspace

DESIGNATION = "P02=矿业集团总医院为三级甲等综合医院，市政府文件指定牵头"
WAIVERS = ["P01=接续性医疗由太平区人民医院跨网格提供", "P02=接续性医疗由太平区人民医院跨网格提供"]


def _cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue() + err.getvalue()


def _plan_args(units, facilities, out):
    return [
        "plan", "--units", str(units), "--facilities", str(facilities), "--grids", "2",
        "--out", str(out), "--lang", "zh", "--designate-lead", DESIGNATION, "--waive-g5", *WAIVERS,
    ]


@pytest.mark.parametrize("units", ["streets", "cells"])
def test_pilot_city_gets_a_k2_plan_with_exceptions_that_check_passes(units, tmp_path):
    u, f = pilot_city(tmp_path, units)
    code, text = _cli(["validate", "--units", str(u), "--facilities", str(f), "--lang", "zh"])
    assert code == 0, text
    assert "阜新矿业（集团）总医院" in text  # named as the one hospital that can lead by designation
    code, text = _cli(_plan_args(u, f, tmp_path / "plan.gpkg"))
    assert code == 0, text
    code, text = _cli(["check", str(tmp_path / "plan.gpkg"), "--lang", "zh"])
    assert code == 0, text
    assert "按例外通过" in text
    layers, plan = read_plan(tmp_path / "plan.gpkg")
    assert sorted(plan.leads) == ["P01", "P02"]
    g4 = plan.exception_for("G4", "P02")
    assert g4 is not None and "市政府文件指定" in g4.reason
    g5 = [e for e in plan.exceptions if e.rule == "G5"]
    assert len(g5) == 1  # only the grid without the one secondary hospital needs it
    results = check_policy(layers, plan)
    assert {(c.rule, c.status) for c in results if c.status == "exception"} == {
        ("G4", "exception"),
        ("G5", "exception"),
    }
    assert any(c.code == "g8_none" for c in results)  # no collaborator: said, not a crash


def test_pilot_city_in_the_workspace_gives_the_same_plan_and_every_export(tmp_path):
    u, f = pilot_city(tmp_path, "streets")
    layers = load_city(u, f)
    request = PlanRequest(
        k=2,
        designated_leads=(tuple(DESIGNATION.split("=", 1)),),
        g5_waivers=tuple(tuple(w.split("=", 1)) for w in WAIVERS),
    )
    ws = Workspace(layers, request=request)
    result = ws.run()
    assert result.ok, result.infeasible and result.infeasible.explain("zh")
    figures = ws.figures("zh")
    assert figures.n_failed == 0
    assert figures.grids["n_collaborator"].tolist() == [0, 0]
    for kind in ("gpkg", "xlsx", "csv", "geojson", "shp", "html", "png", "report"):
        assert len(ws.export_bytes(kind, "zh")) > 1000, kind


def test_pilot_city_with_district_units_is_refused_naming_the_district(tmp_path):
    u, f = pilot_city(tmp_path, "districts")
    code, text = _cli(_plan_args(u, f, tmp_path / "plan.gpkg"))
    assert code == 2
    assert PILOT_SHARED_DISTRICT in text  # the district both hospitals lie in
    assert "更细的人口单元" in text  # finer units suggested
    assert not (tmp_path / "plan.gpkg").exists()


def test_pilot_city_without_a_designation_is_offered_the_enterprise_hospital_first(tmp_path):
    """Asked for 2 grids with only one eligible lead, the planner offers what keeps k = 2 first:
    designate the enterprise hospital (with the G5 exception it then needs), verified; one grid
    with a G2 reason comes last."""
    from grid_planning.planning.planner import plan_city

    u, f = pilot_city(tmp_path, "streets")
    layers = load_city(u, f)
    inf = plan_city(layers, PlanRequest(k=2)).infeasible
    assert inf.code == "too_few_eligible" and "市域外" not in inf.message("zh")
    first = [kind for kind, _ in inf.options[0].steps]
    assert first == ["designate", "g5_waiver"] and inf.options[0].steps[0][1]["id"] == "P02"
    assert [kind for kind, _ in inf.options[-1].steps] == ["g2_reason"]
    assert all(o.verified for o in inf.options)
    assert plan_city(layers, inf.options[0].apply(PlanRequest(k=2), reason="市政府文件")).ok


def test_taking_the_option_records_each_exception_with_its_own_reason(tmp_path):
    """``Workspace.apply_option``: the designation (G4) and the waiver (G5) each need their reason;
    with both, the plan records each with its own and ``check`` passes by exception."""
    from grid_planning.session.workspace import WorkspaceError

    u, f = pilot_city(tmp_path, "streets")
    ws = Workspace(load_city(u, f), request=PlanRequest(k=2))
    option = ws.run().infeasible.options[0]
    assert option.reason_rules == ("G4", "G5")
    with pytest.raises(WorkspaceError) as err:
        ws.apply_option(option, {"G4": "市政府文件指定", "G5": "  "})
    assert err.value.code == "reason_required" and err.value.params == {"rule": "G5"}
    assert ws.request.designated_leads == () and ws.request_revision == 0  # nothing changed
    ws.apply_option(option, {"G4": "市政府文件指定", "G5": "护理院跨网格服务"})
    assert ws.request_revision == 1
    assert ws.run().ok
    recorded = {(e.rule, e.subject): e.reason for e in ws.plan.exceptions}
    assert recorded[("G4", "P02")] == "市政府文件指定"
    assert {r for (rule, _), r in recorded.items() if rule == "G5"} == {"护理院跨网格服务"}
    results = check_policy(ws.layers, ws.plan)
    assert not [r for r in results if r.status == "fail"]
    assert {r.rule for r in results if r.status == "exception"} >= {"G4", "G5"}
