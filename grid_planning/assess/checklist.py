"""The 15 evaluation criteria of the Liaoning annex (``policy.md``), per grid.

Five criteria have spatial content the planner can judge from the plan itself (1 layout, 3 roster,
8 resources sent down, 9 shared centres, 12 referral distances); they are evaluated automatically
("met" / "not_met" with the figure behind the verdict). The other ten are about institutions and
money; the planner records a status and a note for each grid, kept in the plan
(:class:`grid_planning.domain.plan.ChecklistEntry`, keyed by the grid's lead since grid ids change when
the plan is recomputed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grid_planning.assess.checks import check_policy
from grid_planning.assess.roster import lead_obligations
from grid_planning.base.config import text_limit, text_too_long
from grid_planning.base.i18n import DEFAULT_LANGUAGE, CatalogueError, source_text, t
from grid_planning.city.planview import (
    cost_lookup,
    effective_facilities,
    fac_table,
    facility_units,
    plan_roles,
    split_ids,
)
from grid_planning.domain import rules
from grid_planning.domain.plan import ChecklistEntry, Plan

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers

#: Statuses a planner records for a non-spatial criterion.
RECORD_STATUSES: tuple[str, ...] = ("todo", "in_progress", "done", "not_applicable")


#: Statuses of automatically evaluated (spatial) criteria.
AUTO_STATUSES: tuple[str, ...] = ("met", "not_met", "not_evaluated", "not_recorded")


DIMENSIONS: tuple[str, ...] = ("responsibility", "resources", "services", "mechanisms")


#: Minutes within which every resident should reach the shared-centre host (item 9) and the mean
#: referral time from primary care to the lead should stay (item 12): the planner's yardstick.
SHARED_CENTRE_MAX_MIN = 30.0


REFERRAL_MAX_MIN = 30.0


@dataclass(frozen=True)
class Criterion:
    """One evaluation criterion.

    Attributes
    ----------
    number : int
        1-15, as numbered in the Liaoning annex.
    dimension : str
        One of :data:`DIMENSIONS`.
    spatial : bool
        Whether the plan itself answers it (evaluated automatically).
    """

    number: int
    dimension: str
    spatial: bool

    @property
    def key(self) -> str:
        """Catalogue key of the criterion text."""
        return f"plan.criterion.{self.number}"

    def text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The criterion in words."""
        return t(self.key, lang)

    def dimension_text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The dimension in words."""
        return t(f"plan.dimension.{self.dimension}", lang)


_DIM = {1: "responsibility", 2: "responsibility", 3: "responsibility"}


_DIM |= dict.fromkeys(range(4, 10), "resources")


_DIM |= dict.fromkeys(range(10, 14), "services")


_DIM |= {14: "mechanisms", 15: "mechanisms"}


SPATIAL_ITEMS: tuple[int, ...] = (1, 3, 8, 9, 12)


CRITERIA: tuple[Criterion, ...] = tuple(
    Criterion(n, _DIM[n], n in SPATIAL_ITEMS) for n in range(1, 16)
)


class ChecklistError(CatalogueError):
    """An invalid checklist record; ``key`` and ``params`` give the catalogue message."""


def _row(
    grid: str, lead: str, item: int, status: str, value: float, code: str, lang: str, **params
) -> dict:
    return {
        "grid_id": grid,
        "lead_id": lead,
        "item": item,
        "status": status,
        "value": float(value) if value is not None else float("nan"),
        "detail": t(f"plan.checklist.detail.{code}", lang, **params),
    }


#: Item 8's two targets: (capacity column, recorded column, share, catalogue part).
_SENT_DOWN = (("beds", "beds_down", 4, "beds"), ("outpatient_slots", "slots_down", 3, "slots"))


def _sent_down_part(capacity: float, recorded: float, share: int) -> tuple[str, float]:
    """One target of item 8: ``met`` / ``short`` (recorded against ``ceil(capacity / share)``),
    ``not_recorded`` (nothing recorded as sent down) or ``no_capacity`` (recorded, but there is
    nothing to compare it with); and the target (NaN when the capacity is unknown)."""
    target = float(math.ceil(capacity / share)) if not math.isnan(capacity) else float("nan")
    if math.isnan(recorded):
        return ("not_recorded" if not math.isnan(capacity) else "unknown"), target
    if math.isnan(target):
        return "no_capacity", target
    return ("met" if recorded >= target else "short"), target


def _item8(grid: str, lead: str, ob: pd.Series, lang: str) -> dict:
    """Item 8 from the obligations actually recorded (issue 15): met only when what the data
    records as sent down reaches both 1/4 of the lead's beds and 1/3 of its outpatient slots;
    not met when a recorded figure falls short; otherwise "not recorded" (the lead's capacity alone
    says what it owes, never what it sends)."""
    states, texts = [], []
    shortfall = 0.0
    for cap_col, down_col, share, part in _SENT_DOWN:
        capacity, recorded = float(ob[cap_col]), float(ob[down_col])
        state, target = _sent_down_part(capacity, recorded, share)
        states.append(state)
        if state == "short":
            shortfall += target - recorded
        texts.append(t(f"plan.checklist.down.{part}_{state}", lang,
                       capacity=_count(capacity), target=_count(target), recorded=_count(recorded)))
    if "short" in states:
        status, value = "not_met", shortfall
    elif all(s == "met" for s in states):
        status, value = "met", 0.0
    else:
        status, value = "not_recorded", float("nan")
    return _row(grid, lead, 8, status, value, f"sent_down_{status}", lang,
                lead_name=ob["lead_name"], parts=t("plan.checklist.down.sep", lang).join(texts),
                source=source_text(ob["capacity_source"], lang))


def _count(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}"


def evaluate_spatial(
    layers: CityLayers,
    plan: Plan,
    costs: CostMatrix | None = None,
    *,
    lang: str = DEFAULT_LANGUAGE,
    checks: list | None = None,
) -> pd.DataFrame:
    """Evaluate the five spatial criteria for every grid.

    - 1 layout: the grid passes G1-G4 (city-wide G1/G2 and its own G3/G4; exceptions count as
      passed); value = number of failed checks.
    - 3 roster: a lead, at least one member (member or cross-grid institution) and at least one
      collaborator supporting the grid, when the data holds a provincial or regional hospital
      (G8; without one the roster says so instead of "missing"); value = number of members.
    - 8 resources sent down: what the data records as sent down (``beds_down``, ``slots_down``)
      reaches 1/4 of the lead's beds and 1/3 of its outpatient slots; "not_met" when a recorded
      figure falls short (value = the shortfall), "not_recorded" when either is not recorded
      (the lead's capacity alone never meets it).
    - 9 shared centres: a secondary-or-higher hospital of the grid that every resident reaches
      within 30 minutes can host the shared lab/imaging/ECG/pathology/sterilisation centres;
      value = the best host's longest travel time.
    - 12 referral: mean minutes from the grid's primary-care facilities to the lead (<= 30);
      value = that mean.

    Returns
    -------
    pandas.DataFrame
        Columns ``grid_id``, ``lead_id``, ``item``, ``status`` ("met", "not_met",
        "not_evaluated" when travel costs are missing, or "not_recorded" for item 8 when what is
        sent down is not in the data), ``value`` and ``detail`` (text).
    """
    checks = check_policy(layers, plan) if checks is None else checks
    facilities = effective_facilities(layers, plan)
    fac = fac_table(facilities)
    roles = plan_roles(plan)
    assignment = plan.assignment.copy()
    assignment.index = assignment.index.map(str)
    unit_ids = layers.units["id"].astype(str).to_numpy()
    pop = pd.to_numeric(layers.units["population"], errors="coerce").fillna(0).to_numpy(float)
    labels = assignment.reindex(unit_ids).to_numpy(dtype=object)
    obligations = lead_obligations(layers, plan).set_index("grid_id")
    fu = facility_units(layers, facilities)
    unit_pos = {u: i for i, u in enumerate(unit_ids)}
    city_has_collaborators = bool(rules.collaborator_owner(facilities).any())
    city_fail = [
        r.rule
        for r in checks
        if r.grid_id is None and r.rule in ("G1", "G2", "G3") and r.status == "fail"
    ]

    rows: list[dict] = []
    for grid, lead in plan.leads.items():
        grid, lead = str(grid), str(lead)
        # 1 layout
        fails = city_fail + [
            r.rule
            for r in checks
            if r.grid_id == grid and r.rule in ("G3", "G4") and r.status == "fail"
        ]
        if fails:
            rows.append(
                _row(
                    grid,
                    lead,
                    1,
                    "not_met",
                    len(fails),
                    "layout_fail",
                    lang,
                    rules=", ".join(fails),
                )
            )
        else:
            rows.append(_row(grid, lead, 1, "met", 0, "layout_ok", lang))
        # 3 roster
        inside = roles[(roles["grid_id"] == grid)]
        n_members = int(inside["role"].isin(["member", "cross_grid"]).sum())
        n_collab = int(
            sum(grid in split_ids(s) for s in roles.loc[roles["role"] == "collaborator", "supports"])
        )
        # G8: without a provincial/regional hospital in the data there is no collaborator to ask
        # for (G8 passes there), so the roster is not incomplete for lack of one
        missing = [
            name
            for name, n in (("member", n_members), ("collaborator", n_collab))
            if n == 0 and (name == "member" or city_has_collaborators)
        ]
        if missing:
            what = ", ".join(t(f"plan.role.{m}", lang) for m in missing)
            rows.append(
                _row(grid, lead, 3, "not_met", n_members, "roster_missing", lang, missing=what)
            )
        else:
            rows.append(
                _row(
                    grid,
                    lead,
                    3,
                    "met",
                    n_members,
                    "roster_ok" if city_has_collaborators else "roster_ok_no_provincial",
                    lang,
                    # in the roster's words: members and cross-grid institutions apart
                    members=int(inside["role"].eq("member").sum()),
                    cross=int(inside["role"].eq("cross_grid").sum()),
                    collaborators=n_collab,
                )
            )
        # 8 resources sent down: what is recorded as sent down against 1/4 of beds, 1/3 of slots
        rows.append(_item8(grid, lead, obligations.loc[grid], lang))
        if costs is None:
            for item in (9, 12):
                rows.append(_row(grid, lead, item, "not_evaluated", float("nan"), "no_costs", lang))
            continue
        # 9 shared centres
        in_grid = labels == grid
        residents = unit_ids[in_grid & (pop > 0)]
        hospital = rules.secondary_hospital(fac)
        hosts = [
            f for f in inside.index[inside["role"] != "collaborator"] if f in fac.index and hospital[f]
        ]
        if not hosts or not len(residents):
            rows.append(_row(grid, lead, 9, "not_met", float("nan"), "no_host", lang))
        else:
            m = cost_lookup(costs, residents, hosts)
            worst = np.where(np.isnan(m), np.inf, m).max(axis=0)
            best = int(np.argmin(worst))
            value = float(worst[best])
            name = str(fac.at[hosts[best], "name"])
            status = "met" if value <= SHARED_CENTRE_MAX_MIN else "not_met"
            rows.append(
                _row(
                    grid,
                    lead,
                    9,
                    status,
                    value,
                    f"host_{status}",
                    lang,
                    host=name,
                    minutes=f"{value:.1f}",
                    limit=int(SHARED_CENTRE_MAX_MIN),
                )
            )
        # 12 referral distances
        primary = [f for f in inside.index[inside["role"] == "primary"] if fu.get(f) in unit_pos]
        if not primary:
            rows.append(_row(grid, lead, 12, "not_met", float("nan"), "no_primary", lang))
        else:
            units_of = [fu[f] for f in primary]
            m = cost_lookup(costs, units_of, [lead])[:, 0]
            value = float(np.nanmean(m)) if np.isfinite(m).any() else float("nan")
            status = "met" if value <= REFERRAL_MAX_MIN else "not_met"
            rows.append(
                _row(
                    grid,
                    lead,
                    12,
                    status,
                    value,
                    f"referral_{status}",
                    lang,
                    count=len(primary),
                    minutes=f"{value:.1f}",
                    limit=int(REFERRAL_MAX_MIN),
                )
            )
    return pd.DataFrame(rows, columns=["grid_id", "lead_id", "item", "status", "value", "detail"])


def checklist_table(
    layers: CityLayers, plan: Plan, costs: CostMatrix | None = None, *,
    lang: str = DEFAULT_LANGUAGE, checks: list | None = None
) -> pd.DataFrame:
    """All 15 criteria for every grid: spatial ones evaluated, the others as recorded
    (``checks``: the plan's :func:`~grid_planning.assess.checks.check_policy` results when the caller
    has them).

    Returns
    -------
    pandas.DataFrame
        One row per grid and criterion: ``grid_id``, ``lead_id``, ``item``, ``dimension``,
        ``criterion`` (text), ``spatial``, ``status`` (auto status for spatial items; the recorded
        status, or ``"todo"`` when nothing is recorded, for the others), ``value``, ``detail``
        (the figure behind a spatial verdict) and ``note`` (the planner's note).
    """
    spatial = evaluate_spatial(layers, plan, costs, lang=lang, checks=checks).set_index(["grid_id", "item"])
    recorded = {(c.grid_lead, int(c.item)): c for c in plan.checklist}
    rows = []
    for grid, lead in plan.leads.items():
        grid, lead = str(grid), str(lead)
        for crit in CRITERIA:
            row = {
                "grid_id": grid,
                "lead_id": lead,
                "item": crit.number,
                "dimension": crit.dimension_text(lang),
                "criterion": crit.text(lang),
                "spatial": crit.spatial,
                "status": "todo",
                "value": float("nan"),
                "detail": "",
                "note": "",
            }
            if crit.spatial and (grid, crit.number) in spatial.index:
                ev = spatial.loc[(grid, crit.number)]
                row.update(status=ev["status"], value=ev["value"], detail=ev["detail"])
            entry = recorded.get((lead, crit.number))
            if entry is not None and not crit.spatial:
                row.update(status=entry.status, note=entry.note)
            rows.append(row)
    return pd.DataFrame(rows)


def record(plan: Plan, grid_lead: str, item: int, status: str, note: str = "") -> Plan:
    """Record the status of a non-spatial criterion for one grid.

    Parameters
    ----------
    plan : Plan
        The plan.
    grid_lead : str
        The lead facility id of the grid (a grid id such as ``"G2"`` is accepted too and mapped
        to its lead, since entries are keyed by lead).
    item : int
        Criterion number 1-15, not one of the spatial items (1, 3, 8, 9, 12), which are evaluated.
    status : {"todo", "in_progress", "done", "not_applicable"}
        The recorded status.
    note : str
        Free text (who, what, document reference), at most the setting ``max_checklist_note_chars``
        characters (default 2,000: who, what, which document; a paragraph, not a report).

    Returns
    -------
    Plan
        A new plan with the entry recorded (replacing an earlier one for the same grid and item).

    Raises
    ------
    ChecklistError
        With a catalogue key when the grid, item or status is not valid.
    """
    leads = [str(v) for v in plan.leads]
    lead = str(grid_lead)
    if lead not in leads:
        if lead in plan.leads.index.map(str):
            lead = str(plan.leads[lead])
        else:
            raise ChecklistError("plan.checklist_error.unknown_grid", grid=grid_lead)
    try:
        number = int(item)
    except (TypeError, ValueError):
        raise ChecklistError("plan.checklist_error.bad_item", item=item) from None
    if not 1 <= number <= len(CRITERIA) or number != item:
        raise ChecklistError("plan.checklist_error.bad_item", item=item)
    if CRITERIA[number - 1].spatial:
        raise ChecklistError("plan.checklist_error.spatial_item", item=number)
    if status not in RECORD_STATUSES:
        raise ChecklistError(
            "plan.checklist_error.bad_status", status=status, allowed=", ".join(RECORD_STATUSES)
        )
    text = str(note or "")
    if (length := text_too_long(text, "max_checklist_note_chars")) is not None:
        limit = text_limit("max_checklist_note_chars")
        raise ChecklistError("plan.checklist_error.note_too_long", limit=f"{limit:,}", length=f"{length:,}")
    return plan.with_checklist(ChecklistEntry(lead, number, status, text))
