"""The planner: partition a city into k contiguous grids, each led by an eligible tertiary hospital.

Objective: population-weighted mean travel time (minutes) from each unit to the lead hospital of its
grid. Constraints: every unit in one grid (G1); k >= 2 grids unless a G2 reason is given; each lead
eligible under G4 or designated with a reason (:mod:`grid_planning.domain.rules`); each grid contiguous on
the city's adjacency graph and holding its lead; each grid holding a G5 member unless waived;
optional population balance and minimum beds per 1,000 residents; the planner's locks.

How (see the modules for each part):

- **Small cities** (:data:`grid_planning.planning.exact.EXACT_MAX_UNITS` units or fewer, e.g. district- or
  street-level units) are planned exactly by a mixed-integer program (:mod:`grid_planning.planning.exact`):
  the plan is optimal under every constraint, and a refusal is a proof.
- **Larger cities**: leads by p-median (:mod:`grid_planning.planning.leads`), then assignment with every
  constraint satisfied together in one loop (:mod:`grid_planning.planning.partition`). If that loop cannot
  meet a constraint on a city still small enough for the exact program, the exact program decides.
- **The verdict is the checks' verdict**: the plan is checked by
  :func:`grid_planning.assess.checks.check_policy` (the same code ``python -m grid_planning check``
  runs) before it is returned, so the planner never hands out a plan the checks fail.
- **A refusal** (:class:`Infeasible`) names the constraint that binds (``binding``) and offers the
  nearest options that are themselves valid (``options``: each was planned and checked before it
  is offered): never fewer than 2 grids without a G2 reason, never the k already asked.

Grid ids ``G1..Gk`` are ordered by the population the grid serves (descending), ties by lead id.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grid_planning.assess.roster import assign_roles
from grid_planning.base.i18n import t
from grid_planning.city.costs import CostMatrix, travel_costs
from grid_planning.city.demand import unit_demand
from grid_planning.city.planview import facility_units
from grid_planning.domain.plan import Plan, apply_facility_edits
from grid_planning.domain.request import (
    BALANCE_CHOICES,
    BalanceAdvice,
    PlanRequest,
    PlanResult,
    Progress,
    request_from_plan,
)
from grid_planning.planning.refusal import analyse_refusal
from grid_planning.planning.run import solve

if TYPE_CHECKING:

    from grid_planning.city.layers import CityLayers


# ---- the public entry points ------------------------------------------------------------------------
def plan_city(
    layers: CityLayers,
    request: PlanRequest,
    *,
    costs: CostMatrix | None = None,
    progress: Progress | None = None,
    analyse: bool = True,
) -> PlanResult:
    """Plan the city's grids.

    Parameters
    ----------
    layers : CityLayers
        Validated layers.
    request : PlanRequest
        The request (k, leads fixed/excluded/designated, exceptions, tolerances, locks, edits).
    costs : CostMatrix, optional
        Precomputed travel costs covering the (edited) facilities; taken from the city's index
        otherwise.
    progress : callable, optional
        ``progress(fraction, message_key)`` called between steps.
    analyse : bool
        On a refusal, find what binds and verify the options (extra planning runs). ``False``
        gives the bare refusal (used to verify options, and by :func:`compare_k`).

    Returns
    -------
    PlanResult
        ``plan`` when feasible, else ``infeasible`` with the blocker and options. Never raises
        for bad requests.
    """
    t0 = time.perf_counter()
    result = solve(layers, request, costs, progress)
    if result.ok or not analyse:
        return result
    infeasible = analyse_refusal(layers, request, costs, result.infeasible)
    return PlanResult(None, infeasible, {"seconds": time.perf_counter() - t0})


def suggest_balance(
    layers: CityLayers, request: PlanRequest, *, costs: CostMatrix | None = None
) -> BalanceAdvice:
    """The tightest tolerance of :data:`BALANCE_CHOICES` the city meets for ``request`` (its
    own balance ignored). Without balance a city like the sample gives a 7.0 M grid beside a 1.55 M
    one at k = 4; a default nobody would present."""
    free = plan_city(layers, replace(request, balance=None), costs=costs, analyse=False)
    if not free.ok:
        return BalanceAdvice(None, None)
    dev = float(free.stats["max_balance_dev"])
    for tol in BALANCE_CHOICES:
        if dev <= tol or plan_city(layers, replace(request, balance=tol), costs=costs, analyse=False).ok:
            return BalanceAdvice(tol, dev)
    return BalanceAdvice(None, dev)


# ---- comparing k, hand edits, re-planning -----------------------------------------------------------------
def compare_k(
    layers: CityLayers, ks: Iterable[int], request: PlanRequest, *, costs: CostMatrix | None = None
) -> pd.DataFrame:
    """Plan for each k and tabulate the outcome.

    Returns
    -------
    DataFrame
        One row per k: ``k``, ``status`` ("ok" or the infeasible code), ``objective``
        (population-weighted mean minutes), ``max_balance_dev``, ``n_noncontiguous``, ``compliant``
        (every check passes or passes by exception), ``seconds``, ``explanation`` (in Chinese) and
        ``infeasible`` (the refusal, or None: ``.explain(lang)`` in any language).
    """

    rows = []
    for k in ks:
        res = plan_city(layers, replace(request, k=int(k)), costs=costs, analyse=False)
        row = {
            "k": int(k),
            "status": "ok",
            "objective": np.nan,
            "max_balance_dev": np.nan,
            "n_noncontiguous": np.nan,
            "compliant": np.nan,
            "seconds": res.stats.get("seconds", np.nan),
            "explanation": "",
            "infeasible": None,
        }
        if res.ok:
            # A plan the planner returns has passed every check (its verdict is check_policy's,
            # and a grid in pieces fails the contiguity check), so it is contiguous and compliant.
            row.update(
                objective=res.stats["objective"],
                max_balance_dev=res.stats["max_balance_dev"],
                n_noncontiguous=0,
                compliant=True,
            )
        else:
            row["status"] = res.infeasible.code
            row["explanation"] = res.infeasible.explain()
            row["infeasible"] = res.infeasible  # to explain it in the reader's language
        rows.append(row)
    return pd.DataFrame(
        rows,
        columns=[
            "k",
            "status",
            "objective",
            "max_balance_dev",
            "n_noncontiguous",
            "compliant",
            "seconds",
            "explanation",
            "infeasible",
        ],
    )


def move_units(
    layers: CityLayers, plan: Plan, unit_ids: Iterable[str], grid_id: str, *, costs: CostMatrix | None = None
) -> Plan:
    """Hand edit: move units to a grid and recompute roles.

    Contiguity is not enforced (the checks flag a grid in pieces). Locks on the moved units follow
    them to the new grid.

    Raises
    ------
    ValueError
        Unknown grid or unit ids, or a unit holding a lead hospital (its grid would lose its lead;
        change the lead instead). The message names the ids.
    """
    unit_ids = [str(u) for u in unit_ids]
    if grid_id not in plan.leads.index:
        raise ValueError(t("planner.edit.unknown_grid", "en", grid=grid_id))
    unknown = [u for u in unit_ids if u not in plan.assignment.index]
    if unknown:
        raise ValueError(t("planner.edit.unknown_units", "en", ids=", ".join(unknown[:10])))
    facilities = (
        apply_facility_edits(layers.facilities, plan.edits) if plan.edits else layers.facilities
    )
    fu = facility_units(layers, facilities) if len(facilities) else pd.Series(dtype=object)
    for g, lid in plan.leads.items():
        u = fu.get(str(lid))
        if u in unit_ids and g != grid_id:
            raise ValueError(t("planner.edit.lead_unit", "en", unit=u, lead=lid, grid=g))
    assignment = plan.assignment.copy()
    assignment.loc[unit_ids] = grid_id
    if costs is None or not pd.Index(facilities["id"].astype(str)).isin(costs.facility_ids).all():
        costs = travel_costs(layers, request_from_plan(plan).cost, facilities=facilities)
    roles = assign_roles(layers, facilities, assignment, plan.leads, costs)
    moved = plan.with_assignment(assignment, roles)
    locked = [u for u in unit_ids if u in plan.lock_map]
    if locked:
        moved = moved.with_locks(locked, grid_id)
    w = unit_demand(layers, request_from_plan(plan))  # the planner's own weights (G9)
    lead_of = {g: str(v) for g, v in plan.leads.items()}
    grid_ids = list(lead_of)
    to_lead = costs.cols([lead_of[g] for g in grid_ids])  # k columns, not the whole matrix
    lead_cols = pd.Index(grid_ids).get_indexer(assignment.to_numpy())
    if (lead_cols < 0).any():
        raise KeyError(f"units in no grid of the plan: {list(assignment.index[lead_cols < 0][:10])}")
    obj = float(np.dot(w, to_lead[np.arange(len(w)), lead_cols]) / max(w.sum(), 1e-12))
    return moved.with_params(
        objective=round(obj, 4),
        manual_moves=int(plan.param_map.get("manual_moves", 0) or 0) + len(unit_ids),
    )


def replan(
    layers: CityLayers,
    plan: Plan,
    request: PlanRequest,
    *,
    costs: CostMatrix | None = None,
    progress: Progress | None = None,
) -> PlanResult:
    """Re-plan keeping the plan's locks, exceptions and what-if edits.

    The plan's locks (unit -> grid) become locks to that grid's lead; its G4 exceptions become
    designated leads, its G5 exceptions waivers and its G2 exception the G2 reason. Values in
    ``request`` take precedence (a lock in the request overrides the plan's lock of the same unit).
    """
    locks = {u: str(plan.leads[g]) for u, g in plan.locks if g in plan.leads.index}
    locks.update({str(u): str(f) for u, f in request.locks})
    designated = {e.subject: e.reason for e in plan.exceptions if e.rule == "G4"}
    designated.update(dict(request.designated_leads))
    waivers = {e.subject: e.reason for e in plan.exceptions if e.rule == "G5"}
    waivers.update(dict(request.g5_waivers))
    g2 = request.g2_reason or next((e.reason for e in plan.exceptions if e.rule == "G2"), None)
    merged = replace(
        request,
        locks=tuple(sorted(locks.items())),
        designated_leads=tuple(sorted(designated.items())),
        g5_waivers=tuple(sorted(waivers.items())),
        g2_reason=g2,
        edits=request.edits or plan.edits,
    )
    return plan_city(layers, merged, costs=costs, progress=progress)
