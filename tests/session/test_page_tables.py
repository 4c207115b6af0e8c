"""The check panel, member rosters and checklist tables (grid_planning.session.page_tables), on
the planned pilot city (Fuxin, tests/pilot_fixtures.py): its G4 designation and G5 waiver show as exceptions."""

from __future__ import annotations

import pytest

from grid_planning.assess.checklist import checklist_table
from grid_planning.assess.checks import CheckResult
from grid_planning.assess.roster import grid_roster, roster_table
from grid_planning.session import page_tables as pt


def _check(rule: str, status: str, grid: str | None = None) -> CheckResult:
    return CheckResult(rule, status, "g1_ok", {}, grid)


def test_the_headline_names_the_worst_status():
    fail = pt.check_summary([_check("G1", "fail"), _check("G2", "warning"), _check("G3", "pass")])
    assert (fail.level, fail.key, fail.params) == ("error", "ws.checks.failed", {"n": 1, "warnings": 1})
    warn = pt.check_summary([_check("G2", "warning"), _check("G4", "exception")])
    assert (warn.level, warn.key, warn.params) == ("warning", "ws.checks.warnings", {"n": 1, "exceptions": 1})
    ok = pt.check_summary([_check("G1", "pass"), _check("G4", "exception"), _check("G5", "exception")])
    assert (ok.level, ok.key, ok.params) == ("success", "ws.checks.all_pass", {"exceptions": 2})


def test_checks_are_listed_what_needs_attention_first():
    checks = [_check("G3", "pass", "G1"), _check("G5", "exception", "G2"), _check("G1", "fail"),
              _check("G2", "warning", "G2"), _check("G2", "warning", "G1")]
    order = [(c.status, c.rule, c.grid_id) for c in pt.ordered_checks(checks)]
    assert order == [("fail", "G1", None), ("warning", "G2", "G1"), ("warning", "G2", "G2"),
                     ("exception", "G5", "G2"), ("pass", "G3", "G1")]
    lines = pt.attention_lines(checks, "en")
    assert [(icon, rule, where) for icon, rule, where, _ in lines] == [
        ("✗", "G1", "city"), ("⚠", "G2", "G1"), ("⚠", "G2", "G2"), ("◐", "G5", "G2")]
    table = pt.checks_table(checks, "en")
    assert len(table) == 5 and table.iloc[0, 0].startswith("✗ ") and table.iloc[-1, 0].startswith("✓ ")


def test_the_pilot_city_s_exceptions_show_with_their_reasons(planned):
    checks = planned.figures("en").checks
    assert pt.check_summary(checks).n_fail == 0
    exceptions = [line for line in pt.attention_lines(checks, "en") if line[0] == "◐"]
    assert {rule for _, rule, _, _ in exceptions} >= {"G4", "G5"}
    assert any("市政府文件指定该院牵头第二网格" in message for *_, message in exceptions)


def test_member_tables_say_what_is_illustrative(planned):
    rosters = grid_roster(planned.layers, planned.plan)
    records = [r for ros in rosters.values() for r in ros["primary"]]
    assert records
    table = pt.member_records_table(records, "en")
    assert list(table["ID"]) == [r["id"] for r in records]
    # The id column is headed in the page's language: 编号 in Chinese, never a program word.
    assert list(pt.member_records_table(records, "zh")["编号"]) == [r["id"] for r in records]
    illustrative = [r.get("capacity_source") == "illustrative" for r in records]
    tagged = ["illustrative" in b.lower() or "示意" in b for b in table["Beds"]]
    assert tagged == illustrative
    supports = pt.member_records_table([{**records[0], "supports": ["G1", "G2"]}], "en", with_supports=True)
    assert supports.iloc[0, -1] == "G1, G2"
    options = pt.role_options(roster_table(planned.layers, planned.plan, lang="en"), "en")
    assert set(options) == set(planned.layers.facilities["id"].astype(str))
    assert all(label.count(" · ") >= 2 for label in options.values())


def test_checklist_counts_and_rows_of_a_grid(planned):
    table = checklist_table(planned.layers, planned.plan, planned.costs(), lang="en")
    grid = planned.plan.grid_ids[0]
    counts = pt.checklist_counts(table, planned.plan, grid)
    sub = table[table["grid_id"] == grid]
    assert counts.spatial + counts.recorded == len(sub) == 15
    assert counts.spatial_met == int((sub["status"] == "met").sum()) <= counts.spatial
    assert counts.recorded_done == 0 and counts.records == 0  # nothing recorded yet
    rows = pt.checklist_rows(table, grid, "en")
    assert list(rows["#"]) == list(sub["item"]) and len(rows.columns) == 6
    assert all(s.split(" ", 1)[0] in pt.CHECKLIST_ICONS.values() for s in rows.iloc[:, 4])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_headers_follow_the_language(planned, lang):
    table = pt.checks_table(planned.figures(lang).checks, lang)
    assert ("Rule" in table.columns) == (lang == "en")


def test_the_members_view_says_what_is_recorded_as_sent_down():
    from dataclasses import replace

    import numpy as np
    from plan_fixtures import make_layers, make_plan

    from grid_planning.assess.roster import lead_obligations

    city, plan = make_layers(), make_plan()
    ob = lead_obligations(city, plan).set_index("grid_id")
    assert pt.sent_down_text(ob.loc["G1"], "en") == (
        "Recorded as actually sent down: beds not recorded, outpatient slots not recorded "
        "(checklist item 8 is judged on these).")
    fac = city.facilities.copy()
    fac["beds_down"] = np.where(fac["id"] == "F1", 1250.0, np.nan)
    ob = lead_obligations(replace(city, facilities=fac), plan).set_index("grid_id")
    text = pt.sent_down_text(ob.loc["G1"], "zh")
    assert "床位 1,250" in text and "门诊号源 未记录" in text
