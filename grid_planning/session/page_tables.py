"""Counts and tables of the workspace pages other than the plan page, computed without Streamlit:
the policy-check panel (plan and checklist pages), the member rosters (members page) and the
evaluation checklist (checklist page). Headers and texts are in the language asked for; the pages
only draw them (``tests/session/test_page_tables.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from grid_planning.assess.checks import CheckResult
from grid_planning.base.i18n import source_text, t
from grid_planning.base.numfmt import integer
from grid_planning.domain.plan import Plan
from grid_planning.domain.rules import is_illustrative, rule_label, status_counts, status_rank
from grid_planning.session.mapclicks import facility_label

#: Plain symbols (not emoji): they render in every CJK font, also in the canvas tables.
STATUS_ICONS = {"pass": "✓", "fail": "✗", "exception": "◐", "warning": "⚠"}
#: Checklist statuses (evaluated and recorded) as symbols.
CHECKLIST_ICONS = {"met": "✓", "not_met": "✗", "not_evaluated": "–", "not_recorded": "?", "done": "✓",
                   "in_progress": "◔", "todo": "○", "not_applicable": "–"}


# ---- the check panel ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckSummary:
    """How many checks failed, warn or pass by exception, and the headline that says so.

    Attributes
    ----------
    level : {"error", "warning", "success"}
        How the headline is shown.
    key : str
        Catalogue key of the headline.
    params : dict
        Its parameters.
    """

    n_fail: int
    n_warning: int
    n_exception: int
    level: str
    key: str
    params: dict[str, int]


def check_summary(checks: Sequence[CheckResult]) -> CheckSummary:
    """The check panel's headline: failures first, then warnings, else all pass."""
    counts = status_counts(checks)
    n_fail, n_warn, n_exc = counts["fail"], counts["warning"], counts["exception"]
    if n_fail:
        return CheckSummary(n_fail, n_warn, n_exc, "error", "ws.checks.failed", {"n": n_fail, "warnings": n_warn})
    if n_warn:
        return CheckSummary(n_fail, n_warn, n_exc, "warning", "ws.checks.warnings",
                            {"n": n_warn, "exceptions": n_exc})
    return CheckSummary(n_fail, n_warn, n_exc, "success", "ws.checks.all_pass", {"exceptions": n_exc})


def ordered_checks(checks: Iterable[CheckResult]) -> list[CheckResult]:
    """The checks in the panel's order: failures, warnings, exceptions, passes; by rule and grid."""
    return sorted(checks, key=lambda c: (status_rank(c.status), c.rule, c.grid_id or ""))


def attention_lines(checks: Sequence[CheckResult], lang: str) -> list[tuple[str, str, str, str]]:
    """What needs attention, spelled out: (icon, rule, where, message) per failure, warning and
    exception, in the panel's order (``where`` is ``None``-free: the city when no grid)."""
    city = t("ws.checks.city", lang)
    return [(STATUS_ICONS[c.status], rule_label(c.rule, lang), c.grid_id or city, c.message(lang))
            for c in ordered_checks(checks) if c.status in ("fail", "warning", "exception")]


def checks_table(checks: Sequence[CheckResult], lang: str) -> pd.DataFrame:
    """Every check as a row: status (with its symbol), rule, grid (or the city), message."""
    city = t("ws.checks.city", lang)
    return pd.DataFrame([{
        t("ws.checks.col.status", lang): f"{STATUS_ICONS.get(c.status, '')} {c.status_text(lang)}",
        t("ws.checks.col.rule", lang): rule_label(c.rule, lang),
        t("ws.checks.col.grid", lang): c.grid_id or city,
        t("ws.checks.col.message", lang): c.message(lang),
    } for c in ordered_checks(checks)])


# ---- the members page ---------------------------------------------------------------------------
def member_records_table(records: Sequence[Mapping[str, Any]], lang: str, *,
                         with_supports: bool = False) -> pd.DataFrame:
    """A roster section (:func:`grid_planning.assess.roster.grid_roster`'s records) as the page's
    table: name (tagged when illustrative or assumed), level, type, owner, beds (tagged when the
    capacity is illustrative), source, id; and the grids a cross-grid institution supports."""
    rows = []
    for r in records:
        row = {
            t("ws.mem.name", lang): facility_label(r, lang),
            t("ws.mem.level", lang): t(f"vocab.level.{r['level']}", lang),
            t("ws.mem.type", lang): t(f"vocab.type.{r['type']}", lang),
            t("ws.mem.owner", lang): t(f"vocab.owner.{r['owner_level']}", lang),
            t("ws.col.beds", lang): integer(r.get("beds"), lang)
            + (t("ws.mem.illustrative_tag", lang) if is_illustrative(r) else ""),
            t("ws.mem.source", lang): source_text(r.get("source"), lang),
            t("ws.mem.id", lang): r["id"],
        }
        if with_supports:
            supports = r.get("supports")
            row[t("ws.mem.supports", lang)] = ", ".join(supports) if isinstance(supports, list) \
                else str(supports or "")
        rows.append(row)
    return pd.DataFrame(rows)


def sent_down_text(obligation: Mapping[str, Any], lang: str) -> str:
    """What the data records as actually sent down by a lead (a row of
    :func:`grid_planning.assess.roster.lead_obligations`): beds and outpatient slots, each
    "not recorded" when the data has no figure (checklist item 8 then says "not recorded")."""
    def shown(value: float | None) -> str:
        missing = value is None or pd.isna(value)
        return t("ws.mem.ob_not_recorded", lang) if missing else integer(value, lang)

    return t("ws.mem.ob_down", lang, beds=shown(obligation.get("beds_down")),
             slots=shown(obligation.get("slots_down")))


def exception_text(table: pd.DataFrame, facility_id: str) -> str:
    """The roster's ``exception_text`` of one facility ("G4 passed by exception: <reason>" for a
    lead by exception, designated or made eligible by a what-if edit; "" otherwise), from
    :func:`grid_planning.assess.roster.roster_table` with a language: the members view shows the
    same words as the CSV/XLSX roster."""
    if "exception_text" not in table or table.empty:
        return ""
    hit = table.loc[table["id"].astype(str) == str(facility_id), "exception_text"]
    return str(hit.iloc[0]) if len(hit) else ""


def role_options(table: pd.DataFrame, lang: str) -> dict[str, str]:
    """Facility id -> "name · grid · role" (the role-change picker), from
    :func:`grid_planning.assess.roster.roster_table` with ``role_text``."""
    return {str(r["id"]): f"{facility_label(r, lang)} · {r['grid_id'] or '–'} · {r['role_text']}"
            for r in table.to_dict("records")}


# ---- the checklist page -------------------------------------------------------------------------
@dataclass(frozen=True)
class ChecklistCounts:
    """One grid's checklist: spatial criteria met of evaluated, recorded criteria done of all,
    and how many records the plan holds for the grid's lead."""

    spatial_met: int
    spatial: int
    recorded_done: int
    recorded: int
    records: int


def checklist_counts(table: pd.DataFrame, plan: Plan, grid: str) -> ChecklistCounts:
    """The counts over one grid's rows of :func:`grid_planning.assess.checklist.checklist_table`."""
    sub = table[table["grid_id"] == grid]
    n_spatial = int(sub["spatial"].sum())
    lead = plan.lead_of(grid)
    return ChecklistCounts(
        spatial_met=int((sub["status"] == "met").sum()), spatial=n_spatial,
        recorded_done=int((sub["status"] == "done").sum()), recorded=len(sub) - n_spatial,
        records=int(sum(c.grid_lead == lead for c in plan.checklist)),
    )


def checklist_rows(table: pd.DataFrame, grid: str, lang: str) -> pd.DataFrame:
    """One grid's criteria as the page shows them: number, dimension, criterion, evaluated or
    recorded, status (with its symbol), and the figure behind it or the planner's note."""
    sub = table[table["grid_id"] == grid]
    return pd.DataFrame({
        "#": sub["item"],
        t("ws.chk.dimension", lang): sub["dimension"],
        t("ws.chk.criterion", lang): sub["criterion"],
        t("ws.chk.how", lang): [t("ws.chk.auto", lang) if s else t("ws.chk.recorded", lang) for s in sub["spatial"]],
        t("ws.chk.status", lang): [f"{CHECKLIST_ICONS.get(s, '')} {t(f'plan.checklist.status.{s}', lang)}"
                                   for s in sub["status"]],
        t("ws.chk.detail", lang): [d or n for d, n in zip(sub["detail"], sub["note"], strict=True)],
    })
