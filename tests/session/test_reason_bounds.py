"""Written reasons for "in principle" exceptions (G4 designation, G5 waiver, G2 single grid) are
bounded by the setting ``max_reason_chars`` (issue 18): refused on the plan page's forms and by
the planner for any request, with a message naming the facility or rule, the length and the bound."""

from __future__ import annotations

import pytest
from corner_cities import planted_city

from grid_planning.domain.request import PlanRequest
from grid_planning.planning.planner import plan_city
from grid_planning.session import plan_page as pp
from grid_planning.session.workspace import Workspace, WorkspaceError


@pytest.fixture(scope="module")
def city():
    layers, _ = planted_city(60, 4, 0)
    return layers


def test_the_plan_page_form_refuses_a_reason_past_the_bound(monkeypatch):
    pairs = (("P03", "文件一"),)
    assert pp.with_exception(pairs, "P02", "理" * 2_000)[-1] == ("P02", "理" * 2_000)
    with pytest.raises(WorkspaceError) as err:
        pp.with_exception(pairs, "P02", "理" * 2_001)
    assert err.value.code == "reason_too_long"
    assert err.value.message("zh") == (
        "P02 的例外理由有 2,001 个字符，超过上限 2,000 个。请缩短，详细内容可放在文件中并在理由里注明文号。"
    )
    monkeypatch.setenv("GRID_PLANNER_MAX_REASON_CHARS", "10")
    assert pp.with_exception(pairs, "P02", "  市政府文件第十号  ")[-1] == ("P02", "市政府文件第十号")
    with pytest.raises(WorkspaceError, match="11 characters, more than the 10 allowed"):
        pp.with_exception(pairs, "P02", "市政府文件第十一号文件")


@pytest.mark.parametrize("field", ["designated_leads", "g5_waivers", "g2_reason"])
def test_the_planner_refuses_a_request_with_a_reason_past_the_bound(city, monkeypatch, field):
    monkeypatch.setenv("GRID_PLANNER_MAX_REASON_CHARS", "20")
    fid = str(city.facilities["id"].iloc[0])
    long, short = "理由" * 11, "理由" * 10

    def request(reason: str) -> PlanRequest:
        if field == "g2_reason":
            return PlanRequest(k=1, g2_reason=reason)
        return PlanRequest(k=4, **{field: ((fid, reason),)})

    refused = plan_city(city, request(long), analyse=False)
    assert not refused.ok and refused.infeasible.code == "reason_too_long"
    subject = "G2" if field == "g2_reason" else fid
    assert refused.infeasible.message("en").startswith(
        f"The exception reason for {subject} has 22 characters, more than the 20 allowed."
    )
    # At the bound the reason is taken (the run goes on past the check, whatever it then finds).
    taken = plan_city(city, request(short), analyse=False)
    assert taken.infeasible is None or taken.infeasible.code != "reason_too_long"


def test_taking_a_refusal_option_refuses_a_reason_past_the_bound(city, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_MAX_REASON_CHARS", "20")
    ws = Workspace(city, request=PlanRequest(k=1))
    refused = plan_city(city, ws.request, analyse=False)
    option = next(o for o in refused.infeasible.options if o.reason_rules == ("G2",))
    with pytest.raises(WorkspaceError) as err:
        ws.apply_option(option, "理由" * 11)
    assert err.value.code == "reason_too_long" and err.value.params["subject"] == "G2"
    assert ws.request.g2_reason is None  # nothing changed
    assert ws.apply_option(option, "理由" * 10).g2_reason == "理由" * 10
