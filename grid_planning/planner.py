"""The planner: partition a city into k contiguous grids, each led by an eligible tertiary hospital.

Objective: population-weighted mean travel time (minutes) from each unit to the lead hospital of its
grid. Constraints: every unit in one grid (G1); k >= 2 grids unless a G2 reason is given; each lead
eligible under G4 or designated with a reason; each grid contiguous on the unit adjacency graph and
holding its lead; each grid holding a G5 facility unless waived; optional population balance and
minimum beds per 1,000 residents; user locks kept.

Method (fast path, all deterministic):

1. **Lead selection** (p-median over the eligible candidates, then contiguity-aware swaps). When the number of lead sets is small
   (``C(m, k) * n * k`` below a budget) every set is evaluated (exact p-median optimum, reported as
   a lower bound of the contiguous problem). Otherwise greedy addition followed by Teitz-Bart vertex
   substitution with vectorised swap evaluation, from the greedy start and a few seeded random
   starts. Fixed, designated and lock-implied leads are always in; excluded ones never; two leads
   never share a unit (a unit belongs to one grid). When contiguity repair of the chosen set costs
   more than 0.2 % (e.g. a lead whose nearest-assignment region spans a lake), the most promising
   single swaps are re-evaluated with the true contiguous objective.
2. **Assignment**: each unit to its cheapest lead (plus a per-grid offset when balancing); units
   locked to a grid are forced, and a "skeleton" of units connecting each lead to its locked units
   (shortest path over the adjacency graph, never through units locked to other grids) is pinned.
3. **Contiguity repair**: per grid, the connected part holding the lead is kept; every other part is
   released and regrown from the kept cores with a priority queue ordered by cost (Dijkstra-like), so
   each released unit joins a grid it touches. On a connected adjacency graph this always yields
   contiguous grids.
4. **G5**: a grid without a secondary general or continuing-care facility pulls in the unit of the
   nearest one (with a connecting path of units) from a donor that keeps its own; failing that the
   request is infeasible unless the grid's lead has a G5 waiver.
5. **Balance / beds**: population offsets per grid (Lagrangian / weighted Voronoi, subgradient),
   then boundary moves that reduce the total violation at least cost.
6. **Local search**: boundary-unit moves that lower the objective, keep the donor connected
   (articulation test: bounded BFS, then full BFS) and do not create a violation.

Grid ids ``G1..Gk`` are ordered by the population the grid serves (descending), ties by lead id.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

import grid_planning
from grid_planning import schema
from grid_planning.costs import CostMatrix, CostParams, travel_costs
from grid_planning.graph import facility_unit_index, unit_adjacency
from grid_planning.i18n import DEFAULT_LANGUAGE, t
from grid_planning.plan import FacilityEdit, Plan, PolicyException, apply_facility_edits

#: A cross-grid institution (G7) supports every grid whose lead is within this many minutes.
CROSS_GRID_SUPPORT_MINUTES = 30.0
#: Work budget (units x lead sets x k) below which lead selection enumerates every lead set.
EXHAUSTIVE_BUDGET = 2e6
#: Random restarts of the swap heuristic (on top of the greedy start); more when there are many
#: candidates (more local optima), see :func:`_select_leads`.
SWAP_RESTARTS = 2
SWAP_RESTARTS_MANY = 5
MANY_CANDIDATES = 20
#: Lead sets are re-examined with the contiguous objective when contiguity repair costs more than
#: this share of the p-median objective.
CONTIGUITY_SLACK = 0.002
#: Rounds and candidate swaps per round of that re-examination.
REFINE_ROUNDS = 3
REFINE_SWAPS = 8

Progress = Callable[[float, str], None]


# ---- request and result ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanRequest:
    """What the planner is asked for.

    Attributes
    ----------
    k : int
        Number of grids.
    fixed_leads, excluded_leads : tuple of str
        Facility ids that must / must not lead a grid.
    designated_leads : tuple of (facility id, reason)
        G4 exceptions: otherwise ineligible hospitals designated as leads; they are fixed leads.
    g5_waivers : tuple of (lead facility id, reason)
        G5 exceptions for the grid led by that facility.
    g2_reason : str, optional
        Written reason that allows ``k == 1`` (G2 exception).
    balance : float, optional
        Population tolerance: every grid within ``+-balance`` of the mean (0.3 = +-30 %).
    min_beds_per_1000 : float, optional
        Minimum beds per 1,000 residents in every grid (collaborators' beds excluded).
    locks : tuple of (unit id, lead facility id)
        Units pinned to the grid of that lead; the lead is implicitly fixed.
    cost : CostParams
        Travel-time model.
    edits : tuple of FacilityEdit
        What-if facility edits applied before planning.
    """

    k: int
    fixed_leads: tuple[str, ...] = ()
    excluded_leads: tuple[str, ...] = ()
    designated_leads: tuple[tuple[str, str], ...] = ()
    g5_waivers: tuple[tuple[str, str], ...] = ()
    g2_reason: str | None = None
    balance: float | None = None
    min_beds_per_1000: float | None = None
    locks: tuple[tuple[str, str], ...] = ()
    cost: CostParams = field(default_factory=CostParams)
    edits: tuple[FacilityEdit, ...] = ()


@dataclass(frozen=True)
class Infeasible:
    """Why a request cannot be planned, and the nearest feasible options.

    Attributes
    ----------
    code : str
        Catalogue key suffix: the message is ``planner.infeasible.<code>``.
    params : dict
        Message values (ids, counts, the best value reached ...).
    suggestions : tuple of (key, params)
        Catalogue key suffixes ``planner.suggest.<key>`` with their values.
    """

    code: str
    params: dict = field(default_factory=dict)
    suggestions: tuple[tuple[str, dict], ...] = ()

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The blocker in words."""
        return t(f"planner.infeasible.{self.code}", lang, **_fmt(self.params))

    def suggestion_texts(self, lang: str = DEFAULT_LANGUAGE) -> list[str]:
        """The nearest feasible options in words."""
        return [t(f"planner.suggest.{key}", lang, **_fmt(p)) for key, p in self.suggestions]

    def explain(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """Message and suggestions as one text (CLI, tables)."""
        tips = self.suggestion_texts(lang)
        return self.message(lang) + ("" if not tips else " " + " ".join(tips))


def _fmt(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            out[key] = ", ".join(map(str, value))
        elif isinstance(value, float):
            out[key] = f"{value:.3g}" if abs(value) < 1 else f"{value:,.1f}"
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class PlanResult:
    """A plan or the reason there is none.

    Attributes
    ----------
    plan : Plan or None
    infeasible : Infeasible or None
    stats : dict
        ``objective`` (population-weighted mean minutes), ``lower_bound`` (exact p-median optimum
        when lead sets were enumerated, else None), ``seconds``, ``iterations``, ``method`` and
        step counts.
    """

    plan: Plan | None
    infeasible: Infeasible | None
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when a plan was produced."""
        return self.plan is not None


class _Stop(Exception):  # noqa: N818 - control flow, not an error
    """Internal: carries an :class:`Infeasible` out of nested planning steps."""

    def __init__(self, infeasible: Infeasible):
        super().__init__(infeasible.code)
        self.infeasible = infeasible


def _infeasible(code: str, suggestions: Iterable[tuple[str, dict]] = (), **params) -> _Stop:
    return _Stop(Infeasible(code, params, tuple(suggestions)))


# ---- candidates -------------------------------------------------------------------------------------
def eligible_leads(facilities: pd.DataFrame, request: PlanRequest) -> pd.DataFrame:
    """Facilities that may lead a grid under ``request``.

    Parameters
    ----------
    facilities : DataFrame
        Facilities (after what-if edits), schema columns.
    request : PlanRequest
        Designations (G4 exceptions) are added, exclusions removed.

    Returns
    -------
    DataFrame
        The candidate rows (ordered by id) with a column ``eligibility``: ``"data"`` (eligible by
        the data), ``"assumed"`` (eligible, but the level was assumed rather than read) or
        ``"designated"`` (a recorded G4 exception).
    """
    fac = facilities
    mask = schema.eligible_lead_mask(fac)
    designated = {str(f) for f, _ in request.designated_leads}
    ids = fac["id"].astype(str)
    keep = (mask | ids.isin(designated)) & ~ids.isin({str(f) for f in request.excluded_leads})
    out = pd.DataFrame(fac[keep]).copy()
    assumed = (
        out["level_source"].astype(str).eq("assumed")
        if "level_source" in out.columns
        else pd.Series(False, index=out.index)
    )
    out["eligibility"] = np.where(
        out["id"].astype(str).isin(designated), "designated", np.where(assumed, "assumed", "data")
    )
    return out.sort_values("id", kind="stable")


# ---- the public entry points ------------------------------------------------------------------------
def plan_city(
    layers,
    request: PlanRequest,
    *,
    costs: CostMatrix | None = None,
    progress: Progress | None = None,
    adjacency: sp.csr_matrix | None = None,
) -> PlanResult:
    """Plan the city's grids.

    Parameters
    ----------
    layers : CityLayers
        Validated layers.
    request : PlanRequest
        The request (k, leads fixed/excluded/designated, exceptions, tolerances, locks, edits).
    costs : CostMatrix, optional
        Precomputed travel costs covering the (edited) facilities; computed and cached otherwise.
    progress : callable, optional
        ``progress(fraction, message_key)`` called between steps.
    adjacency : csr_matrix, optional
        Precomputed unit adjacency (:func:`grid_planning.graph.unit_adjacency`).

    Returns
    -------
    PlanResult
        ``plan`` when feasible, else ``infeasible`` with the blocker and suggestions. Never raises
        for bad requests.
    """
    t0 = time.perf_counter()
    report = progress or (lambda _f, _k: None)
    try:
        return _plan_city(layers, request, costs, report, adjacency, t0)
    except _Stop as stop:
        return PlanResult(None, stop.infeasible, {"seconds": time.perf_counter() - t0})


def _plan_city(layers, request, costs, report, adjacency, t0) -> PlanResult:
    timings: dict[str, float] = {}
    tick = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - tick[0], 4)
        tick[0] = now

    report(0.0, "planner.progress.start")
    facilities = _plain(_edited_facilities(layers, request.edits))
    ctx = _validate(layers, facilities, request)
    report(0.05, "planner.progress.costs")
    costs = _costs_for(layers, facilities, request.cost, costs)
    lap("costs")
    report(0.25, "planner.progress.adjacency")
    adj = adjacency if adjacency is not None else unit_adjacency(layers.units, layers.metric_crs)
    if adj.shape[0] != len(layers.units):
        adj = unit_adjacency(layers.units, layers.metric_crs)
    fac_unit = facility_unit_index(layers, facilities)
    lap("adjacency")

    w = pd.to_numeric(layers.units["population"], errors="coerce").fillna(0.0).clip(lower=0)
    w = w.to_numpy(dtype=np.float64)
    cand = ctx["candidates"]
    cand_ids = cand["id"].astype(str).tolist()
    cand_col = costs.col_index(cand_ids)
    cand_unit = fac_unit[
        facilities["id"]
        .astype(str)
        .reset_index(drop=True)
        .pipe(lambda s: pd.Index(s).get_indexer(cand_ids))
    ]
    required = [cand_ids.index(f) for f in ctx["required"]]
    _check_required_units(cand_ids, cand_unit, required, layers)
    n_units_distinct = len(set(cand_unit.tolist()))
    if request.k > n_units_distinct:
        raise _infeasible(
            "k_above_eligible",
            [("k", {"k": n_units_distinct}), ("designate", {})],
            k=request.k,
            count=len(cand_ids),
            max_k=n_units_distinct,
        )

    report(0.35, "planner.progress.leads")
    dc = costs.minutes[:, cand_col]
    sel = _select_leads(dc, w, request.k, required, cand_unit)
    nbrs = _neighbour_lists(adj)
    sel = _refine_leads(dc, w, adj, nbrs, sel, required, cand_unit, cand_ids, layers, request)
    lap("leads")
    lead_ids = [cand_ids[i] for i in sel["leads"]]
    dm = np.ascontiguousarray(dc[:, sel["leads"]], dtype=np.float64)
    lead_units = cand_unit[sel["leads"]]

    report(0.5, "planner.progress.assign")
    work = _Work(adj, w, dm, lead_units, nbrs)
    lock_grid = _lock_grid(layers, request, lead_ids)
    work.pin_skeletons(lock_grid, [cand_ids[i] for i in sel["leads"]], layers)
    g5_units = _g5_unit_counts(facilities, fac_unit, len(w))
    beds_unit = _beds_per_unit(facilities, fac_unit, len(w))
    waived = np.array([lid in dict(request.g5_waivers) for lid in lead_ids])
    work.set_extras(g5_units, beds_unit, waived, request.balance, request.min_beds_per_1000)
    _check_beds_city(w, beds_unit, request.min_beds_per_1000)

    work.assign(np.zeros(request.k))
    lap("assign")
    report(0.6, "planner.progress.contiguity")
    work.repair()
    lap("contiguity")
    report(0.7, "planner.progress.g5")
    g5_pulls = work.fix_g5(lead_ids)
    lap("g5")
    if work.constrained:
        report(0.75, "planner.progress.balance")
        work.fix_balance()
        lap("balance")
    report(0.85, "planner.progress.improve")
    work.improve()
    lap("improve")
    work.final_checks(lead_ids, request)

    labels = work.labels
    obj = float(np.dot(w, dm[np.arange(len(w)), labels]) / max(w.sum(), 1e-12))
    report(0.9, "planner.progress.roles")
    plan = _build_plan(
        layers, facilities, costs, request, ctx, labels, lead_ids, cand, obj, sel, work
    )
    lap("roles")
    seconds = time.perf_counter() - t0
    plan = plan.with_params(seconds=round(seconds, 3))
    report(1.0, "planner.progress.done")
    stats = {
        "objective": obj,
        "pmedian_objective": sel["objective"] / max(w.sum(), 1e-12),
        "lower_bound": None
        if sel["lower_bound"] is None
        else sel["lower_bound"] / max(w.sum(), 1e-12),
        "seconds": seconds,
        "iterations": sel["iterations"],
        "method": sel["method"],
        "released_units": work.released,
        "moves": work.moves,
        "g5_pulls": g5_pulls,
        "max_balance_dev": work.max_dev(),
        "timings": timings,
    }
    return PlanResult(plan, None, stats)


def _plain(facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A shallow copy without ``attrs``: pandas deep-copies ``attrs`` (the loader's provenance) on
    every operation, which costs more than the operations themselves here."""
    if not facilities.attrs:
        return facilities
    out = facilities.copy(deep=False)
    out.attrs = {}
    return out


def _edited_facilities(layers, edits) -> gpd.GeoDataFrame:
    if not edits:
        return layers.facilities
    try:
        return apply_facility_edits(layers.facilities, edits)
    except ValueError as exc:
        raise _infeasible("bad_edit", [("fix_edit", {})], detail=str(exc)) from None


def _costs_for(layers, facilities, params: CostParams, costs: CostMatrix | None) -> CostMatrix:
    if costs is not None and len(costs.unit_ids) == len(layers.units):
        fac_ids = facilities["id"].to_numpy(dtype=object)
        same_fac = len(costs.facility_ids) == len(fac_ids) and np.array_equal(
            costs.facility_ids.to_numpy(dtype=object), fac_ids
        )
        if (same_fac or pd.Index(fac_ids).isin(costs.facility_ids).all()) and np.array_equal(
            costs.unit_ids.to_numpy(dtype=object), layers.units["id"].to_numpy(dtype=object)
        ):
            return costs
    try:
        return travel_costs(layers, params, facilities=facilities)
    except ValueError as exc:
        raise _infeasible("bad_costs", [("straight", {})], detail=str(exc)) from None


def _validate(layers, facilities, request: PlanRequest) -> dict:
    """Check ids, k and the lead rules; return candidates and required leads or raise _Stop."""
    if len(layers.units) == 0:
        raise _infeasible("no_units")
    fac_ids = set(facilities["id"].astype(str))
    unit_ids = set(layers.units["id"].astype(str)) if request.locks else set()
    named = (
        list(request.fixed_leads)
        + list(request.excluded_leads)
        + [f for f, _ in request.designated_leads]
        + [f for f, _ in request.g5_waivers]
        + [f for _, f in request.locks]
    )
    unknown = sorted({str(f) for f in named} - fac_ids)
    if unknown:
        raise _infeasible("unknown_facility", [("check_ids", {})], ids=unknown)
    bad_units = sorted({str(u) for u, _ in request.locks} - unit_ids)
    if bad_units:
        raise _infeasible("unknown_unit", [("check_ids", {})], ids=bad_units)
    lock_map: dict[str, str] = {}
    for u, f in request.locks:
        if lock_map.setdefault(str(u), str(f)) != str(f):
            raise _infeasible("lock_conflict", [("unlock", {"unit": u})], unit=u)
    for fid, reason in list(request.designated_leads) + list(request.g5_waivers):
        if not str(reason or "").strip():
            raise _infeasible("missing_reason", [("give_reason", {})], id=fid)
    if request.k < 1:
        raise _infeasible("k_invalid", [("k", {"k": 2})], k=request.k)
    if request.balance is not None and not (0 < request.balance < 10):
        raise _infeasible(
            "bad_balance", [("balance", {"tolerance": 0.3})], tolerance=request.balance
        )
    if request.min_beds_per_1000 is not None and request.min_beds_per_1000 < 0:
        raise _infeasible("bad_beds", [], value=request.min_beds_per_1000)

    cand = eligible_leads(facilities, request)
    cand_ids = set(cand["id"].astype(str))
    excluded = {str(f) for f in request.excluded_leads}
    required: list[str] = []
    for fid in (
        [str(f) for f in request.fixed_leads]
        + [str(f) for f, _ in request.designated_leads]
        + [str(f) for _, f in request.locks]
    ):
        if fid in required:
            continue
        if fid in excluded:
            raise _infeasible("fixed_and_excluded", [("unexclude", {"id": fid})], id=fid)
        if fid not in cand_ids:
            row = facilities[facilities["id"].astype(str) == fid].iloc[0]
            raise _infeasible(
                "fixed_not_eligible",
                [("designate_id", {"id": fid})],
                id=fid,
                name=row.get("name", fid),
                why=_why_ineligible(row),
            )
        required.append(fid)

    n_cand = len(cand)
    if request.k == 1 and not (request.g2_reason and str(request.g2_reason).strip()):
        tips = [("g2_reason", {})] + ([("k", {"k": 2})] if n_cand >= 2 else [])
        raise _infeasible("k_below_two", tips, k=request.k)
    if request.k >= 2 and n_cand < 2:
        raise _infeasible(
            "too_few_eligible",
            [("designate", {})] + _designation_candidates(facilities, cand_ids),
            count=n_cand,
            k=request.k,
        )
    if request.k > n_cand:
        raise _infeasible(
            "k_above_eligible",
            [("k", {"k": n_cand}), ("designate", {})]
            + _designation_candidates(facilities, cand_ids),
            k=request.k,
            count=n_cand,
            max_k=n_cand,
        )
    if len(required) > request.k:
        raise _infeasible(
            "too_many_fixed",
            [("k", {"k": len(required)}), ("unfix", {})],
            count=len(required),
            k=request.k,
            ids=required,
        )
    if request.k > len(layers.units):
        raise _infeasible(
            "k_above_units", [("k", {"k": len(layers.units)})], k=request.k, count=len(layers.units)
        )
    return {"candidates": cand, "required": required, "lock_map": lock_map}


def _why_ineligible(row: pd.Series) -> str:
    parts = []
    if row.get("level") != "tertiary":
        parts.append(f"level={row.get('level')}")
    if row.get("type") not in schema.LEAD_TYPES:
        parts.append(f"type={row.get('type')}")
    if row.get("owner_level") not in schema.LEAD_OWNER_LEVELS:
        parts.append(f"owner_level={row.get('owner_level')}")
    return ", ".join(parts) or "excluded"


def _designation_candidates(facilities: pd.DataFrame, cand_ids: set[str]) -> list[tuple[str, dict]]:
    """Up to three tertiary general/TCM hospitals that are not eligible: candidates for a G4 exception."""
    fac = facilities[
        facilities["level"].eq("tertiary")
        & facilities["type"].isin(schema.LEAD_TYPES)
        & ~facilities["id"].astype(str).isin(cand_ids)
    ]
    if fac.empty:
        return []
    beds = pd.to_numeric(fac.get("beds"), errors="coerce").fillna(0)
    # Hospitals of other ownership (enterprise, university, military) first; provincial ones would
    # otherwise be G8 collaborators.
    collab = fac["owner_level"].isin(schema.COLLABORATOR_OWNER_LEVELS).astype(int)
    top = (
        fac.assign(_c=collab, _b=beds)
        .sort_values(["_c", "_b", "id"], ascending=[True, False, True])
        .head(3)
    )
    return [("designate_list", {"ids": [f"{r['id']} ({r['name']})" for _, r in top.iterrows()]})]


def _check_required_units(cand_ids, cand_unit, required, layers) -> None:
    seen: dict[int, str] = {}
    for i in required:
        u = int(cand_unit[i])
        if u in seen:
            raise _infeasible(
                "leads_share_unit",
                [("unfix", {})],
                ids=[seen[u], cand_ids[i]],
                unit=str(layers.units["id"].iloc[u]),
            )
        seen[u] = cand_ids[i]


def _lock_grid(layers, request: PlanRequest, lead_ids: list[str]) -> np.ndarray:
    """Grid index each unit is locked to (-1 = free)."""
    out = np.full(len(layers.units), -1, dtype=np.int64)
    if not request.locks:
        return out
    pos = pd.Index(layers.units["id"].astype(str)).get_indexer([str(u) for u, _ in request.locks])
    out[pos] = [lead_ids.index(str(f)) for _, f in request.locks]
    return out


def _g5_unit_counts(facilities, fac_unit, n) -> np.ndarray:
    mask = schema.g5_mask(facilities).to_numpy()
    return np.bincount(fac_unit[mask], minlength=n).astype(np.int64)


def _beds_per_unit(facilities, fac_unit, n) -> np.ndarray:
    beds = pd.to_numeric(facilities.get("beds"), errors="coerce").fillna(0.0).to_numpy(dtype=float)
    # Collaborators (G8) do not belong to a grid, so their beds do not count for it.
    beds = np.where(facilities["owner_level"].isin(schema.COLLABORATOR_OWNER_LEVELS), 0.0, beds)
    return np.bincount(fac_unit, weights=beds, minlength=n)


def _check_beds_city(w, beds_unit, min_beds) -> None:
    if min_beds is None or min_beds <= 0:
        return
    city = beds_unit.sum() / max(w.sum(), 1e-12) * 1000.0
    if city < min_beds:
        raise _infeasible(
            "beds_impossible",
            [("beds", {"value": math.floor(city * 100) / 100})],
            value=min_beds,
            city=city,
        )


# ---- lead selection ------------------------------------------------------------------------------------
def _select_leads(
    dc: np.ndarray, w: np.ndarray, k: int, required: list[int], cand_unit: np.ndarray
) -> dict:
    """p-median over candidate columns; see the module docstring."""
    m = dc.shape[1]
    n = dc.shape[0]
    dm = np.asarray(dc, dtype=np.float32)
    wf = w.astype(np.float64)
    free = [j for j in range(m) if j not in required]
    n_free = k - len(required)
    n_sets = math.comb(len(free), n_free)
    if n_sets * n * k <= EXHAUSTIVE_BUDGET:
        return _exhaustive(dm, wf, k, required, free, n_free, cand_unit)
    best = None
    rng = np.random.default_rng(12345)
    restarts = SWAP_RESTARTS_MANY if m > MANY_CANDIDATES else SWAP_RESTARTS
    starts = [None] + [rng.permutation(free)[:n_free].tolist() for _ in range(restarts)]
    iters = 0
    for start in starts:
        if start is None:
            cur = _greedy(dm, wf, k, required, free, cand_unit)
        else:
            cur = list(required) + _distinct_units(start, cand_unit, required, free, n_free)
        cur, val, it = _swap(dm, wf, cur, required, free, cand_unit)
        iters += it
        if best is None or val < best[1] - 1e-9:
            best = (cur, val)
    leads = sorted(best[0])
    return {
        "leads": leads,
        "objective": best[1],
        "lower_bound": None,
        "method": "greedy+teitz-bart",
        "iterations": iters,
    }


def _distinct_units(start, cand_unit, required, free, n_free) -> list[int]:
    used = {int(cand_unit[j]) for j in required}
    out = []
    for j in list(start) + [f for f in free if f not in start]:
        if len(out) == n_free:
            break
        if int(cand_unit[j]) not in used:
            out.append(int(j))
            used.add(int(cand_unit[j]))
    return out


def _exhaustive(dm, w, k, required, free, n_free, cand_unit) -> dict:
    base = dm[:, required].min(axis=1) if required else np.full(dm.shape[0], np.inf, np.float32)
    combos = [
        c
        for c in itertools.combinations(free, n_free)
        if len({int(cand_unit[j]) for j in (*required, *c)}) == k
    ]
    if not combos:
        raise _infeasible("no_lead_set", [("fewer_k", {"k": max(2, k - 1)}), ("unfix", {})], k=k)
    if n_free == 0:
        val = float(w @ base)
        return {
            "leads": sorted(required),
            "objective": val,
            "lower_bound": val,
            "method": "fixed",
            "iterations": 1,
        }
    best_val, best_set = np.inf, None
    n = dm.shape[0]
    chunk = max(1, int(2e7 // max(1, n * max(n_free, 1))))
    for s in range(0, len(combos), chunk):
        block = np.asarray(combos[s : s + chunk], dtype=np.int64).reshape(-1, n_free)
        if n_free:
            mins = dm[:, block].min(axis=2)  # (n, c)
            mins = np.minimum(mins, base[:, None])
        else:
            mins = base[:, None]
        vals = np.einsum("uc,u->c", mins, w)
        i = int(np.argmin(vals))
        if vals[i] < best_val - 1e-9:
            best_val, best_set = float(vals[i]), list(required) + block[i].tolist()
    return {
        "leads": sorted(best_set),
        "objective": best_val,
        "lower_bound": best_val,
        "method": "exhaustive",
        "iterations": len(combos),
    }


def _greedy(dm, w, k, required, free, cand_unit) -> list[int]:
    cur = list(required)
    used = {int(cand_unit[j]) for j in cur}
    best = dm[:, cur].min(axis=1) if cur else np.full(dm.shape[0], np.inf, np.float32)
    while len(cur) < k:
        opts = [j for j in free if j not in cur and int(cand_unit[j]) not in used]
        if not opts:
            raise _infeasible(
                "no_lead_set", [("fewer_k", {"k": max(2, k - 1)}), ("unfix", {})], k=k
            )
        vals = (
            np.einsum("uc,u->c", np.minimum(best[:, None], dm[:, opts]), w)
            if np.isfinite(best).all()
            else np.einsum("uc,u->c", dm[:, opts], w)
        )
        j = opts[int(np.argmin(vals))]
        cur.append(j)
        used.add(int(cand_unit[j]))
        best = np.minimum(best, dm[:, j])
    return cur


def _swap(dm, w, cur, required, free, cand_unit) -> tuple[list[int], float, int]:
    """Teitz-Bart vertex substitution, best improvement per pass."""
    cur = list(cur)
    dt = _transposed(dm)
    val = float(dt[cur].min(axis=0) @ w)
    it = 0
    while True:
        it += 1
        best_move = None
        out = [j for j in free if j not in cur]
        if not out:
            break
        for i in cur:
            if i in required:
                continue
            rest = [j for j in cur if j != i]
            used = {int(cand_unit[j]) for j in rest}
            opts = [j for j in out if int(cand_unit[j]) not in used]
            if not opts:
                continue
            vals = _swap_values(dt, w, rest, opts)
            j = int(np.argmin(vals))
            if vals[j] < val - 1e-5 * max(val, 1.0) and (
                best_move is None or vals[j] < best_move[2]
            ):
                best_move = (i, opts[j], float(vals[j]))
        if best_move is None or it > 200:
            break
        i, j, _v = best_move
        cur[cur.index(i)] = j
        val = float(dt[cur].min(axis=0).astype(np.float64) @ w)
    return cur, val, it


_DT_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _transposed(dm: np.ndarray) -> np.ndarray:
    """Candidates x units copy (float32, C order): gathering candidate rows is then contiguous."""
    hit = _DT_CACHE.get(id(dm))
    if hit is not None and hit[0] is dm:
        return hit[1]
    dt = np.ascontiguousarray(np.asarray(dm, dtype=np.float32).T)
    _DT_CACHE.clear()
    _DT_CACHE[id(dm)] = (dm, dt)
    return dt


def _swap_values(dt: np.ndarray, w: np.ndarray, rest: list[int], opts: list[int]) -> np.ndarray:
    """Weighted cost of ``rest + [j]`` for every ``j`` in ``opts`` (vectorised swap evaluation)."""
    d_wo = dt[rest].min(axis=0) if rest else np.full(dt.shape[1], np.inf, np.float32)
    # float32 (relative error ~1e-6): callers demand a larger improvement than that and recompute
    # the accepted value in float64. einsum, not BLAS matmul: on a busy 2-core machine threaded
    # sgemv was 40x slower for these shapes.
    return np.einsum("cu,u->c", np.minimum(dt[opts], d_wo[None, :]), w.astype(np.float32)).astype(
        np.float64
    )


def _neighbour_lists(adj: sp.csr_matrix) -> list[list[int]]:
    adj = adj.tocsr()
    ptr, idx = adj.indptr, adj.indices
    return [idx[ptr[i] : ptr[i + 1]].tolist() for i in range(adj.shape[0])]


def _contiguous_value(dc, w, adj, nbrs, leads, cand_unit, cand_ids, layers, request) -> float:
    """Objective (weighted minutes) of a lead set after assignment, contiguity repair and local
    search, without G5 / balance (used to compare lead sets); ``inf`` when locks make it infeasible."""
    dm = np.ascontiguousarray(dc[:, leads], dtype=np.float64)
    work = _Work(adj, w, dm, cand_unit[leads], nbrs)
    lead_ids = [cand_ids[i] for i in leads]
    try:
        work.pin_skeletons(_lock_grid(layers, request, lead_ids), lead_ids, layers)
    except _Stop:
        return np.inf
    work.assign(np.zeros(len(leads)))
    work.repair()
    work.improve()
    return float(w @ dm[np.arange(len(w)), work.labels])


def _refine_leads(dc, w, adj, nbrs, sel, required, cand_unit, cand_ids, layers, request) -> dict:
    """Contiguity-aware lead swaps.

    The p-median optimum ignores contiguity; when repairing contiguity costs more than
    :data:`CONTIGUITY_SLACK` of the objective (typically a lead whose nearest-assignment region
    spans a lake, or an island lead), the most promising single swaps (by p-median value) are
    evaluated with the true contiguous objective and the best improving one is taken, for a few
    rounds.
    """
    leads = list(sel["leads"])
    cur = _contiguous_value(dc, w, adj, nbrs, leads, cand_unit, cand_ids, layers, request)
    if not np.isfinite(cur) or cur <= sel["objective"] * (1 + CONTIGUITY_SLACK):
        return sel
    dt = _transposed(dc)
    m = dt.shape[0]
    evaluated = 0
    for _round in range(REFINE_ROUNDS):
        swaps: list[tuple[float, int, int]] = []
        out = [j for j in range(m) if j not in leads]
        for i in leads:
            if i in required:
                continue
            rest = [j for j in leads if j != i]
            used = {int(cand_unit[j]) for j in rest}
            opts = [j for j in out if int(cand_unit[j]) not in used]
            if not opts:
                continue
            vals = _swap_values(dt, w, rest, opts)
            swaps += [(float(v), i, j) for v, j in zip(vals, opts, strict=True)]
        swaps.sort()
        best = None
        for _v, i, j in swaps[:REFINE_SWAPS]:
            trial = sorted([x for x in leads if x != i] + [j])
            val = _contiguous_value(dc, w, adj, nbrs, trial, cand_unit, cand_ids, layers, request)
            evaluated += 1
            if val < cur - 1e-9 * max(cur, 1.0) and (best is None or val < best[0]):
                best = (val, trial)
        if best is None:
            break
        cur, leads = best
    if leads == list(sel["leads"]):
        return sel
    return sel | {
        "leads": sorted(leads),
        "method": sel["method"] + "+contiguity-swaps",
        "iterations": sel["iterations"] + evaluated,
    }


# ---- assignment state and repairs ---------------------------------------------------------------------
class _Work:
    """Mutable assignment state for one planning run (labels = grid index per unit)."""

    def __init__(
        self,
        adj: sp.csr_matrix,
        w: np.ndarray,
        dm: np.ndarray,
        lead_units: np.ndarray,
        nbrs: list[list[int]] | None = None,
    ):
        self.adj = adj.tocsr()
        self.n = adj.shape[0]
        self.k = dm.shape[1]
        self.w = w
        self.dm = dm
        self.lead_units = np.asarray(lead_units, dtype=np.int64)
        self.indptr = self.adj.indptr
        self.indices = self.adj.indices
        self.nbrs = nbrs if nbrs is not None else _neighbour_lists(self.adj)
        self.pinned = np.full(self.n, -1, dtype=np.int64)
        self.pinned[self.lead_units] = np.arange(self.k)
        self.locked = np.full(self.n, -1, dtype=np.int64)
        self.lam = np.zeros(self.k)
        self.labels = np.zeros(self.n, dtype=np.int64)
        self.released = 0
        self.moves = 0
        self.g5 = np.zeros(self.n, dtype=np.int64)
        self.beds = np.zeros(self.n)
        self.waived = np.zeros(self.k, dtype=bool)
        self.lo = -np.inf
        self.hi = np.inf
        self.min_beds = None
        self.balance = None

    # -- setup
    def set_extras(self, g5, beds, waived, balance, min_beds) -> None:
        self.g5, self.beds, self.waived = g5, beds, waived
        self.balance = balance
        self.min_beds = min_beds if min_beds and min_beds > 0 else None
        mean = self.w.sum() / self.k
        if balance is not None:
            self.lo, self.hi = (1 - balance) * mean, (1 + balance) * mean

    @property
    def constrained(self) -> bool:
        return self.balance is not None or self.min_beds is not None

    def pin_skeletons(self, lock_grid: np.ndarray, lead_ids: list[str], layers) -> None:
        """Pin locked units and, per grid, shortest unit paths tying them to the lead's unit."""
        self.locked = lock_grid
        if (lock_grid < 0).all():
            return
        clash = (self.pinned >= 0) & (lock_grid >= 0) & (self.pinned != lock_grid)
        if clash.any():
            u = int(np.flatnonzero(clash)[0])
            raise _infeasible(
                "lock_on_other_lead",
                [("unlock", {"unit": layers.units["id"].iloc[u]})],
                unit=str(layers.units["id"].iloc[u]),
                lead=lead_ids[int(lock_grid[u])],
            )
        self.pinned = np.where(lock_grid >= 0, lock_grid, self.pinned)
        coo = self.adj.tocoo()
        for g in range(self.k):
            targets = np.flatnonzero(lock_grid == g)
            if not len(targets):
                continue
            # Node-weighted shortest paths: entering unit v costs its minutes to the lead (0 for
            # units already pinned to g); units pinned to other grids are impassable.
            node_cost = self.dm[:, g] + 0.01
            node_cost = np.where(self.pinned == g, 1e-6, node_cost)
            blocked = (self.pinned >= 0) & (self.pinned != g)
            keep = ~blocked[coo.col] & ~blocked[coo.row]
            graph = sp.csr_matrix(
                (node_cost[coo.col[keep]], (coo.row[keep], coo.col[keep])), shape=(self.n, self.n)
            )
            dist, pred = dijkstra(
                graph, directed=True, indices=int(self.lead_units[g]), return_predecessors=True
            )
            for u in targets:
                if not np.isfinite(dist[u]):
                    raise _infeasible(
                        "locks_break_contiguity",
                        [("unlock", {"unit": layers.units["id"].iloc[u]})],
                        unit=str(layers.units["id"].iloc[u]),
                        lead=lead_ids[g],
                    )
                v = int(u)
                while v >= 0:
                    if self.pinned[v] < 0:
                        self.pinned[v] = g
                    if v == self.lead_units[g]:
                        break
                    v = int(pred[v])

    # -- assignment and contiguity
    def assign(self, lam: np.ndarray) -> None:
        self.lam = np.asarray(lam, dtype=np.float64)
        self.labels = np.argmin(self.dm + self.lam, axis=1)
        fixed = self.pinned >= 0
        self.labels[fixed] = self.pinned[fixed]

    def repair(self) -> None:
        """Release the parts of each grid not connected to its lead, regrow them from the cores."""
        lab = self.labels
        coo = self.adj.tocoo()
        same = lab[coo.row] == lab[coo.col]
        g = sp.csr_matrix(
            (np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=(self.n, self.n)
        )
        _, comp = connected_components(g, directed=False)
        core = comp == comp[self.lead_units[lab]]
        # Pinned units must stay where they are (their skeleton keeps them connected).
        core |= self.pinned >= 0
        orphans = np.flatnonzero(~core)
        if not len(orphans):
            return
        self.released += len(orphans)
        lab[orphans] = -1
        self._grow(orphans)

    def _grow(self, orphans: np.ndarray) -> None:
        lab = self.labels
        cost = self.dm + self.lam
        heap: list[tuple[float, int, int]] = []
        nbrs = self.nbrs
        for u in orphans.tolist():
            for v in nbrs[u]:
                g = lab[v]
                if g >= 0:
                    heap.append((float(cost[u, g]), u, int(g)))
        heapq.heapify(heap)
        remaining = len(orphans)
        while heap and remaining:
            c, u, g = heapq.heappop(heap)
            if lab[u] >= 0:
                continue
            lab[u] = g
            remaining -= 1
            for v in nbrs[u]:
                if lab[v] < 0:
                    heapq.heappush(heap, (float(cost[v, g]), v, g))
        if remaining:
            # Only possible on a disconnected adjacency graph: fall back to the cheapest grid.
            left = np.flatnonzero(lab < 0)
            lab[left] = np.argmin(cost[left], axis=1)

    # -- connectivity test for moves
    def _safe_to_remove(self, u: int, g: int) -> bool:
        """True when grid ``g`` stays connected without unit ``u``."""
        lab = self.labels
        same = [v for v in self.nbrs[u] if lab[v] == g]
        if len(same) <= 1:
            return True
        # Breadth-first from one same-grid neighbour until every other one is reached: usually a
        # few steps around ``u``, the whole grid only when ``u`` is a cut vertex.
        targets = set(same[1:])
        seen = {u, same[0]}
        queue = deque([same[0]])
        while queue:
            x = queue.popleft()
            for y in self.nbrs[x]:
                if y in seen or lab[y] != g:
                    continue
                seen.add(y)
                targets.discard(y)
                if not targets:
                    return True
                queue.append(y)
        return False

    # -- violations (balance, beds)
    def _viol(self, pop, beds) -> np.ndarray:
        pop = np.asarray(pop, dtype=float)
        v = np.maximum(0.0, pop - self.hi) + np.maximum(0.0, self.lo - pop)
        if self.min_beds is not None:
            v = v + np.maximum(0.0, pop - np.asarray(beds, dtype=float) * 1000.0 / self.min_beds)
        return np.where(np.isfinite(v), v, 0.0)

    def pops(self) -> np.ndarray:
        return np.bincount(self.labels, weights=self.w, minlength=self.k)

    def grid_beds(self) -> np.ndarray:
        return np.bincount(self.labels, weights=self.beds, minlength=self.k)

    def max_dev(self) -> float:
        pops = self.pops()
        mean = self.w.sum() / self.k
        return float(np.abs(pops / mean - 1).max()) if mean > 0 else 0.0

    def total_violation(self) -> float:
        return float(self._viol(self.pops(), self.grid_beds()).sum())

    def _movable(self, u: int, g: int, g5c: np.ndarray) -> bool:
        if self.pinned[u] >= 0:
            return False
        # A grid's last G5 facility stays (unless the grid has a G5 waiver).
        return not (self.g5[u] and not self.waived[g] and g5c[g] - self.g5[u] < 1)

    def _moves(self, improve_only: bool, max_passes: int = 50) -> int:
        """Apply boundary moves.

        ``improve_only``: moves that lower the cost without raising the violation; otherwise moves
        that lower the violation, cheapest per unit of violation removed first.
        """
        lab = self.labels
        w = self.w
        cost = self.dm if improve_only else self.dm + self.lam
        coo = self.adj.tocoo()
        moved_total = 0
        for _ in range(max_passes):
            pops = self.pops()
            beds = self.grid_beds()
            g5c = np.bincount(lab, weights=self.g5, minlength=self.k)
            a, b = coo.row, coo.col
            diff = lab[a] != lab[b]
            u, h = a[diff], lab[b[diff]]
            g = lab[u]
            key = np.unique(np.column_stack([u, h]), axis=0)
            if not len(key):
                break
            u, h = key[:, 0], key[:, 1]
            g = lab[u]
            dcost = w[u] * (cost[u, h] - cost[u, g])
            dv = (
                self._viol(pops[g] - w[u], beds[g] - self.beds[u])
                + self._viol(pops[h] + w[u], beds[h] + self.beds[u])
                - self._viol(pops[g], beds[g])
                - self._viol(pops[h], beds[h])
            )
            if improve_only:
                ok = (dcost < -1e-9) & (dv <= 1e-9)
                order = np.argsort(dcost[ok], kind="stable")
            else:
                ok = dv < -1e-9
                order = np.argsort(dcost[ok] / -dv[ok], kind="stable")
            cu, ch = u[ok][order], h[ok][order]
            moved = 0
            for uu, hh in zip(cu.tolist(), ch.tolist(), strict=True):
                gg = int(lab[uu])
                if gg == hh or not self._movable(uu, gg, g5c):
                    continue
                if not any(lab[v] == hh for v in self.nbrs[uu]):
                    continue
                # Re-evaluate against the current state (earlier moves in this pass changed it).
                d_c = w[uu] * (cost[uu, hh] - cost[uu, gg])
                d_v = float(
                    self._viol(
                        [pops[gg] - w[uu], pops[hh] + w[uu]],
                        [beds[gg] - self.beds[uu], beds[hh] + self.beds[uu]],
                    ).sum()
                    - self._viol([pops[gg], pops[hh]], [beds[gg], beds[hh]]).sum()
                )
                if improve_only and not (d_c < -1e-9 and d_v <= 1e-9):
                    continue
                if not improve_only and not d_v < -1e-9:
                    continue
                if not self._safe_to_remove(uu, gg):
                    continue
                lab[uu] = hh
                pops[gg] -= w[uu]
                pops[hh] += w[uu]
                beds[gg] -= self.beds[uu]
                beds[hh] += self.beds[uu]
                g5c[gg] -= self.g5[uu]
                g5c[hh] += self.g5[uu]
                moved += 1
            moved_total += moved
            if not moved:
                break
        self.moves += moved_total
        return moved_total

    def improve(self) -> None:
        self._moves(improve_only=True)

    def fix_balance(self) -> None:
        """Offsets (subgradient on the population deviations), repair, then violation moves."""
        if self.total_violation() <= 1e-9:
            return
        best = (self.total_violation(), self.labels.copy(), self.lam.copy())
        mean = self.w.sum() / self.k
        scale = float(np.median(self.dm.min(axis=1))) or 1.0
        lam = self.lam.copy()
        target = self.balance if self.balance is not None else None
        for _round in range(4):
            step = 0.5 * scale
            for _ in range(150):
                labels = np.argmin(self.dm + lam, axis=1)
                fixed = self.pinned >= 0
                labels[fixed] = self.pinned[fixed]
                pops = np.bincount(labels, weights=self.w, minlength=self.k)
                dev = pops / mean - 1
                beds = np.bincount(labels, weights=self.beds, minlength=self.k)
                over_beds = np.zeros(self.k)
                if self.min_beds is not None:
                    cap = beds * 1000.0 / self.min_beds
                    over_beds = np.maximum(0, pops - cap) / mean
                inner = 0.6 * target if target is not None else None
                excess = over_beds + (
                    np.sign(dev) * np.maximum(0, np.abs(dev) - inner) if inner is not None else 0
                )
                if np.abs(excess).max() <= 1e-9:
                    break
                lam = lam + step * excess
                step *= 0.97
            self.assign(lam)
            self.repair()
            self._moves(improve_only=False, max_passes=100)
            v = self.total_violation()
            if v < best[0] - 1e-9:
                best = (v, self.labels.copy(), self.lam.copy())
            if v <= 1e-9:
                break
            lam = self.lam + 0.5 * scale * np.sign(self.pops() / mean - 1)
        _, self.labels, self.lam = best

    def fix_g5(self, lead_ids: list[str]) -> int:
        """Pull a G5 facility's unit (and a path to it) into each grid that lacks one."""
        pulls = 0
        if not self.g5.any():
            return 0
        for _ in range(2 * self.k):
            g5c = np.bincount(self.labels, weights=self.g5, minlength=self.k)
            lacking = [g for g in range(self.k) if g5c[g] < 1 and not self.waived[g]]
            if not lacking:
                break
            g = lacking[0]
            if not self._pull_g5(g, g5c):
                break
            pulls += 1
        return pulls

    def _pull_g5(self, g: int, g5c: np.ndarray) -> bool:
        lab = self.labels
        # Donor units: hold a G5 facility, not pinned elsewhere, donor keeps one (or is waived).
        cand = np.flatnonzero(self.g5 > 0)
        ok = [
            int(u)
            for u in cand
            if lab[u] != g
            and (self.pinned[u] < 0)
            and (self.waived[lab[u]] or g5c[lab[u]] - self.g5[u] >= 1)
        ]
        if not ok:
            return False
        coo = self.adj.tocoo()
        blocked = (self.pinned >= 0) & (self.pinned != g)
        # Units holding another grid's only G5 facility are not crossed either.
        last = (self.g5 > 0) & (g5c[lab] - self.g5 <= 0) & (lab != g) & ~self.waived[lab]
        blocked |= last
        keep = ~blocked[coo.col] & ~blocked[coo.row]
        node_cost = self.dm[:, g] + 0.01
        node_cost = np.where(lab == g, 1e-6, node_cost)
        graph = sp.csr_matrix(
            (node_cost[coo.col[keep]], (coo.row[keep], coo.col[keep])), shape=(self.n, self.n)
        )
        dist, pred = dijkstra(
            graph, directed=True, indices=int(self.lead_units[g]), return_predecessors=True
        )
        ok = [u for u in ok if np.isfinite(dist[u])]
        if not ok:
            return False
        target = min(ok, key=lambda u: (dist[u], u))
        v = target
        path = []
        # Walk back to the lead itself (not just to the grid's edge) and pin the whole path for good:
        # pinned units then always hang together through pinned units, so later pulls and moves can
        # never cut the pulled facility off from its lead.
        while v >= 0:
            path.append(v)
            if v == self.lead_units[g]:
                break
            v = int(pred[v])
        lab[path] = g
        self.pinned[path] = g
        self.repair()
        return True

    def final_checks(self, lead_ids: list[str], request: PlanRequest) -> None:
        g5c = np.bincount(self.labels, weights=self.g5, minlength=self.k)
        for g in range(self.k):
            if g5c[g] < 1 and not self.waived[g]:
                raise _infeasible(
                    "g5_unsatisfiable",
                    [("g5_waiver", {"lead": lead_ids[g]}), ("fewer_k", {"k": max(2, self.k - 1)})],
                    lead=lead_ids[g],
                )
        pops = self.pops()
        mean = self.w.sum() / self.k
        if self.balance is not None:
            dev = self.max_dev()
            if dev > self.balance + 1e-9:
                nearest = math.ceil(dev * 20 - 1e-9) / 20
                raise _infeasible(
                    "balance_impossible",
                    [("balance", {"tolerance": nearest}), ("other_k", {})],
                    tolerance=request.balance,
                    best=dev,
                )
        if self.min_beds is not None:
            per = self.grid_beds() / np.maximum(pops, 1e-12) * 1000.0
            worst = int(np.argmin(per))
            if per[worst] < self.min_beds - 1e-9:
                raise _infeasible(
                    "beds_unsatisfiable",
                    [
                        ("beds", {"value": math.floor(per[worst] * 100) / 100}),
                        ("fewer_k", {"k": max(2, self.k - 1)}),
                    ],
                    lead=lead_ids[worst],
                    value=request.min_beds_per_1000,
                    best=float(per[worst]),
                )
        del mean


# ---- building the plan -------------------------------------------------------------------------------
def _grid_order(labels: np.ndarray, w: np.ndarray, lead_ids: list[str]) -> list[int]:
    pops = np.bincount(labels, weights=w, minlength=len(lead_ids))
    return sorted(range(len(lead_ids)), key=lambda g: (-pops[g], lead_ids[g]))


def _build_plan(
    layers, facilities, costs, request, ctx, labels, lead_ids, cand, obj, sel, work
) -> Plan:
    w = work.w
    order = _grid_order(labels, w, lead_ids)
    gid = {g: f"G{i + 1}" for i, g in enumerate(order)}
    grid_ids = [gid[g] for g in order]
    unit_ids = pd.Index(layers.units["id"].astype(str), name="unit_id")
    assignment = pd.Series(
        np.array([gid[g] for g in range(work.k)], dtype=object)[labels],
        index=unit_ids,
        name="grid_id",
    )
    leads = pd.Series(
        [lead_ids[g] for g in order],
        index=pd.Index(grid_ids, name="grid_id"),
        name="lead_id",
        dtype=object,
    )
    roles = assign_roles(layers, facilities, assignment, leads, costs)

    elig = cand.set_index(cand["id"].astype(str))["eligibility"]
    lead_elig = {lid: str(elig.get(lid, "data")) for lid in leads}
    exceptions: list[PolicyException] = []
    for fid, reason in request.designated_leads:
        exceptions.append(PolicyException("G4", str(fid), str(reason)))
    g5_has = np.bincount(labels, weights=work.g5, minlength=work.k) >= 1
    for fid, reason in request.g5_waivers:
        if str(fid) in lead_ids and not g5_has[lead_ids.index(str(fid))]:
            exceptions.append(PolicyException("G5", str(fid), str(reason)))
    if request.k == 1 and request.g2_reason:
        exceptions.append(PolicyException("G2", "city", str(request.g2_reason)))
    lead_to_grid = {lead_ids[g]: gid[g] for g in range(work.k)}
    locks = tuple(sorted((str(u), lead_to_grid[str(f)]) for u, f in request.locks))
    params = {
        "k": request.k,
        "balance": request.balance,
        "min_beds_per_1000": request.min_beds_per_1000,
        "cost_mode": costs.mode,
        "cost": request.cost.as_dict() | {"mode_used": costs.mode},
        "method": sel["method"] + "+contiguity-repair+local-search",
        "objective": round(obj, 4),
        "lower_bound": None
        if sel["lower_bound"] is None
        else round(sel["lower_bound"] / max(w.sum(), 1e-12), 4),
        "fixed_leads": list(map(str, request.fixed_leads)),
        "excluded_leads": list(map(str, request.excluded_leads)),
        "lead_eligibility": lead_elig,
        "assumed_leads": [lid for lid, e in lead_elig.items() if e == "assumed"],
        "designated_leads": [lid for lid, e in lead_elig.items() if e == "designated"],
        "g2_reason": request.g2_reason,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017
        "version": grid_planning.__version__,
        "city": getattr(layers, "name", ""),
    }
    return Plan(
        assignment=assignment,
        leads=leads,
        roles=roles,
        locks=locks,
        exceptions=tuple(exceptions),
        edits=tuple(request.edits),
        params=tuple(params.items()),
    )


def assign_roles(
    layers, facilities: pd.DataFrame, assignment: pd.Series, leads: pd.Series, costs: CostMatrix
) -> pd.DataFrame:
    """Roles of every facility (G6-G8).

    Rules, in order of precedence:

    - ``lead``: the lead of each grid (a designated provincial hospital included).
    - ``collaborator`` (owner level national/provincial, G8): ``grid_id`` is ``""``; ``supports``
      lists the grid it lies in and every grid without a collaborator inside it for which it is the
      nearest collaborator (minutes from that grid's lead).
    - ``cross_grid`` (maternal-child, public health, rehabilitation, nursing; G7): keeps its home
      grid as ``grid_id``; ``supports`` = home grid plus every grid whose lead is within
      :data:`CROSS_GRID_SUPPORT_MINUTES` minutes of it.
    - ``primary`` (community / township health centres, clinics, or level primary; G6).
    - ``member``: everything else (other tertiary, secondary, specialty, unknown level).

    Parameters
    ----------
    layers : CityLayers
    facilities : DataFrame
        Facilities (after edits) with schema columns.
    assignment : Series
        Unit id -> grid id.
    leads : Series
        Grid id -> lead facility id.
    costs : CostMatrix
        Travel minutes covering ``facilities``.

    Returns
    -------
    DataFrame
        Index facility id; columns ``grid_id``, ``role``, ``home_grid``, ``supports``.
    """
    facilities = _plain(facilities)
    fac_ids = facilities["id"].astype(str).to_numpy()
    fu = facility_unit_index(layers, facilities)
    unit_grid = assignment.reindex(layers.units["id"].astype(str)).to_numpy(dtype=object)
    home = np.asarray(unit_grid[fu], dtype=object) if len(fu) else np.array([], dtype=object)
    grid_ids = list(leads.index)
    lead_set = {str(v): str(g) for g, v in leads.items()}
    unit_pos = pd.Index(layers.units["id"].astype(str))
    fac_pos = pd.Index(fac_ids)
    lead_unit = {g: int(fu[fac_pos.get_loc(str(leads[g]))]) for g in grid_ids}
    cols = costs.col_index(fac_ids)
    # minutes from each grid's lead unit to every facility (k x n_fac)
    lead_rows = np.array([lead_unit[g] for g in grid_ids], dtype=np.int64)
    to_fac = costs.minutes[lead_rows][:, cols] if len(grid_ids) else np.zeros((0, len(fac_ids)))
    del unit_pos

    role = np.full(len(fac_ids), "member", dtype=object)
    grid = home.copy()
    supports: list[list[str]] = [[] for _ in fac_ids]
    level = facilities["level"].astype(str).to_numpy()
    typ = facilities["type"].astype(str).to_numpy()
    owner = facilities["owner_level"].astype(str).to_numpy()
    is_lead = np.array([f in lead_set for f in fac_ids], dtype=bool)
    collab = np.isin(owner, list(schema.COLLABORATOR_OWNER_LEVELS)) & ~is_lead
    cross = np.isin(typ, list(schema.CROSS_GRID_TYPES)) & ~is_lead & ~collab
    primary = (
        (np.isin(typ, list(schema.PRIMARY_CARE_TYPES)) | (level == "primary"))
        & ~is_lead
        & ~collab
        & ~cross
    )
    role[primary] = "primary"
    role[cross] = "cross_grid"
    role[collab] = "collaborator"
    role[is_lead] = "lead"
    for i in np.flatnonzero(is_lead):
        grid[i] = lead_set[fac_ids[i]]
    for i in np.flatnonzero(collab):
        grid[i] = ""
        supports[i].append(home[i])
    gpos = {g: j for j, g in enumerate(grid_ids)}
    collab_idx = np.flatnonzero(collab)
    if len(collab_idx):
        covered = {home[i] for i in collab_idx}
        for g in grid_ids:
            if g in covered:
                continue
            j = collab_idx[int(np.argmin(to_fac[gpos[g], collab_idx]))]
            supports[j].append(g)
    for i in np.flatnonzero(cross):
        near = [g for g in grid_ids if to_fac[gpos[g], i] <= CROSS_GRID_SUPPORT_MINUTES]
        supports[i] = [home[i]] + [g for g in near if g != home[i]]
    order = {g: j for j, g in enumerate(grid_ids)}
    sup_text = [",".join(sorted(set(s), key=lambda g: order.get(g, 1 << 30))) for s in supports]
    return pd.DataFrame(
        {
            "grid_id": [str(g) for g in grid],
            "role": role.astype(str),
            "home_grid": [str(h) for h in home],
            "supports": sup_text,
        },
        index=pd.Index(fac_ids, name="id"),
    )


# ---- comparing k, hand edits, re-planning -----------------------------------------------------------------
def compare_k(
    layers, ks: Iterable[int], request: PlanRequest, *, costs: CostMatrix | None = None
) -> pd.DataFrame:
    """Plan for each k and tabulate the outcome.

    Returns
    -------
    DataFrame
        One row per k: ``k``, ``status`` ("ok" or the infeasible code), ``objective``
        (population-weighted mean minutes), ``max_balance_dev``, ``n_noncontiguous``, ``compliant``
        (all :func:`grid_planning.metrics.check_policy` results pass or pass by exception; NaN when
        the metrics module is unavailable), ``seconds`` and ``explanation``.
    """
    try:
        from grid_planning import metrics  # noqa: PLC0415 - optional, avoids an import cycle
    except ImportError:  # pragma: no cover - metrics ships with the package
        metrics = None
    facilities = _edited_facilities_safe(layers, request.edits)
    if costs is None and facilities is not None:
        try:
            costs = travel_costs(layers, request.cost, facilities=facilities)
        except ValueError:
            costs = None
    adj = unit_adjacency(layers.units, layers.metric_crs)
    rows = []
    for k in ks:
        res = plan_city(layers, replace(request, k=int(k)), costs=costs, adjacency=adj)
        row = {
            "k": int(k),
            "status": "ok",
            "objective": np.nan,
            "max_balance_dev": np.nan,
            "n_noncontiguous": np.nan,
            "compliant": np.nan,
            "seconds": res.stats.get("seconds", np.nan),
            "explanation": "",
        }
        if res.ok:
            from grid_planning.graph import is_contiguous  # noqa: PLC0415

            parts = is_contiguous(adj, res.plan.assignment.to_numpy())
            row.update(
                objective=res.stats["objective"],
                max_balance_dev=res.stats["max_balance_dev"],
                n_noncontiguous=int(sum(1 for p in parts.values() if p > 1)),
            )
            if metrics is not None and hasattr(metrics, "check_policy"):
                try:
                    results = metrics.check_policy(layers, res.plan, costs)
                    row["compliant"] = bool(all(r.status != "fail" for r in results))
                except Exception:  # noqa: BLE001 - a metrics failure must not hide the k table
                    row["compliant"] = np.nan
        else:
            row["status"] = res.infeasible.code
            row["explanation"] = res.infeasible.explain()
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
        ],
    )


def _edited_facilities_safe(layers, edits):
    try:
        return apply_facility_edits(layers.facilities, edits) if edits else layers.facilities
    except ValueError:
        return None


def move_units(
    layers, plan: Plan, unit_ids: Iterable[str], grid_id: str, *, costs: CostMatrix | None = None
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
        cost_params = CostParams(
            **{
                k: v
                for k, v in (plan.param_map.get("cost") or {}).items()
                if k in ("mode", "detour", "speed_kmh", "access_speed_kmh")
            }
        )
        costs = travel_costs(layers, cost_params, facilities=facilities)
    roles = assign_roles(layers, facilities, assignment, plan.leads, costs)
    moved = plan.with_assignment(assignment, roles)
    locked = [u for u in unit_ids if u in plan.lock_map]
    if locked:
        moved = moved.with_locks(locked, grid_id)
    w = pd.to_numeric(layers.units["population"], errors="coerce").fillna(0).to_numpy()
    lead_of = {g: str(v) for g, v in plan.leads.items()}
    lead_cols = costs.col_index([lead_of[g] for g in assignment.to_numpy()])
    obj = float(np.dot(w, costs.minutes[np.arange(len(w)), lead_cols]) / max(w.sum(), 1e-12))
    return moved.with_params(
        objective=round(obj, 4),
        manual_moves=int(plan.param_map.get("manual_moves", 0) or 0) + len(unit_ids),
    )


def facility_units(layers, facilities):
    """Facility id -> unit id (re-exported from :mod:`grid_planning.graph`)."""
    from grid_planning.graph import facility_units as _fu  # noqa: PLC0415

    return _fu(layers, facilities)


def replan(
    layers,
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
