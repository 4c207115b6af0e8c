"""The rules as single definitions: each helper on small real rows, and every copy gone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from grid_planning.assess.checks import RULE_CHECKS, CheckResult
from grid_planning.domain import plan as plan_module
from grid_planning.domain import request as request_module
from grid_planning.domain import rules

ROOT = Path(__file__).resolve().parents[2]

FAC = pd.DataFrame(
    {
        "id": ["A", "B", "C", "D", "E", "F", "G"],
        "level": ["tertiary", "secondary", "secondary", "primary", "secondary", "tertiary", np.nan],
        "type": ["general", "general", "public_health", "community_health_center", "rehabilitation",
                 "general", "clinic"],
        "owner_level": ["municipal", "district", "district", "district", "district", "provincial",
                        "district"],
        "source": ["real", "real", "illustrative", "real", "real", "real", "real"],
        "capacity_source": ["real", "illustrative", "", np.nan, "real", "real", "real"],
    }
)


def test_every_rule_has_a_label_a_reader_knows():
    """Tables and exports name a rule by :func:`rules.rule_label`: the policy's codes as they are,
    the other checks in words of the language (the zh report once read "contiguity", "request")."""
    for rule in rules.RULES:
        zh, en = rules.rule_label(rule, "zh"), rules.rule_label(rule, "en")
        if re.fullmatch(r"G\d+", rule):
            assert zh == en == rule
        else:
            assert re.fullmatch(r"[\u4e00-\u9fff]+", zh), (rule, zh)
            assert en != rule and en[0].isupper(), (rule, en)
    assert rules.rule_label("contiguity", "zh") == "空间连续"
    assert rules.rule_label("request", "zh") == "申请要求"
    assert rules.rule_label("G10", "zh") == "G10"  # G10 is a suggestion, not a checked rule


def test_rules_registry_covers_the_policy():
    # the policy's rules, contiguity, and what the plan's own request asked for (re-verified by check)
    assert list(rules.RULES) == ["G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9", "contiguity",
                                "request"]
    assert rules.EXCEPTION_RULES == ("G2", "G4", "G5")
    assert plan_module.EXCEPTION_RULES is rules.EXCEPTION_RULES
    assert rules.OPTION_RULES == {"g2_reason": "G2", "designate": "G4", "g5_waiver": "G5"}
    # each exception is recorded by a field the request has
    fields = request_module.PlanRequest.__dataclass_fields__
    assert all(r.request_field in fields for r in rules.RULES.values() if r.in_principle)
    # every rule that is checked over a plan has its check (G6/G7 judge primary care's grid and
    # the cross-grid institutions), and only rules are checked (G9 is a planning factor: the
    # request's balance is re-verified on its weighted demand)
    assert set(RULE_CHECKS) == set(rules.RULES) - {"G9"}


def test_check_result_refuses_an_unknown_rule():
    try:
        CheckResult("G11", "pass", "x")
    except ValueError as exc:
        assert "G11" in str(exc)
    else:  # pragma: no cover - the assertion is the test
        raise AssertionError("an unknown rule was accepted")


def test_hospital_masks():
    secondary, primary = rules.hospital_masks(FAC)
    # public health and primary care are not hospitals; a NaN level is not secondary
    assert secondary.tolist() == [True, True, False, False, True, True, False]
    assert primary.tolist() == [False, False, False, True, False, False, True]
    assert rules.secondary_hospital(FAC).tolist() == secondary.tolist()
    assert rules.primary_care(FAC).tolist() == primary.tolist()


def test_g5_member_one_definition():
    qualifies = rules.g5_qualifies(FAC).tolist()
    assert qualifies == [False, True, False, False, True, False, False]
    outside = [False, True, False, False, False, False, False]
    assert rules.g5_member(FAC, outside).tolist() == [False, False, False, False, True, False, False]
    roles = ["lead", "member", "member", "primary", "collaborator", "collaborator", "primary"]
    # a hand-made collaborator (E) no longer counts: the role filter is applied on top
    assert rules.g5_member(FAC, None, roles).tolist() == [False, True, False, False, False, False, False]
    roles[4] = "cross_grid"
    assert rules.g5_member(FAC, None, roles).tolist() == [False, True, False, False, True, False, False]


def test_is_illustrative_honours_both_columns():
    assert rules.is_illustrative(FAC).tolist() == [False, True, True, False, False, False, False]
    assert rules.is_illustrative(FAC, part="facility").tolist() == [
        False, False, True, False, False, False, False]
    assert rules.is_illustrative(FAC.iloc[1]) is True
    assert rules.is_illustrative({"source": "real", "capacity_source": "illustrative"})
    assert not rules.is_illustrative({"source": "real", "capacity_source": "illustrative"},
                                     part="facility")
    assert not rules.is_illustrative(FAC[["id"]]).any()  # no provenance columns: nothing flagged
    assert rules.any_illustrative(FAC.iloc[[1]])
    assert not rules.any_illustrative(FAC.iloc[[0]]) and not rules.any_illustrative(None)


def test_status_counts_and_order():
    checks = [CheckResult("G1", "pass", "g1_ok"), CheckResult("G2", "fail", "g2_fail"),
              CheckResult("G5", "exception", "g5_exception"), CheckResult("G4", "fail", "g4_ineligible")]
    assert rules.status_counts(checks) == {"pass": 1, "fail": 2, "exception": 1, "warning": 0}
    ranked = sorted(checks, key=lambda c: rules.status_rank(c.status))
    assert [c.status for c in ranked] == ["fail", "fail", "exception", "pass"]
    assert rules.status_rank("unknown") == len(rules.STATUS_ORDER)


def _grep(pattern: str) -> list[str]:
    out = subprocess.run(["grep", "-rnE", pattern, "grid_planning", "pages", "app.py"],
                         cwd=ROOT, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if not line.startswith("grid_planning/domain/rules.py")]


def test_no_copy_of_a_rule_left():
    # the illustrative test, inline
    assert _grep(r"""== ["']illustrative["']""") == []
    # secondary-or-higher / primary-care masks written out again
    vocabulary = "grid_planning/domain/schema.py"  # where the level words are defined
    assert [h for h in _grep(r"SECONDARY_OR_HIGHER|NON_HOSPITAL_TYPES") if not h.startswith(vocabulary)] == []
    # (the plan page lists non-primary-care *types* for the what-if form, session/plan_page.py:
    # a choice list of types, not the rule)
    assert [h for h in _grep(r"""isin\(.*PRIMARY_CARE_TYPES""")
            if not h.startswith(("pages/", "grid_planning/session/plan_page.py"))] == []
    # a status order or count of its own
    assert _grep(r"""\{"fail": 0""") == []
    assert _grep(r"""sum\(.*status == "(fail|warning|exception)""") == []
    # the G2 minimum as a bare 2
    hits = [h for h in _grep(r"""(if|and) [a-z_.]+ >= 2\b|\b2 <= [a-z]|"k": 2\}""")
            if re.match(r"grid_planning/(planning|assess)/", h)]
    assert hits == []
