"""The planner: partition a city into k contiguous grids, each led by an eligible tertiary hospital.

Objective: population-weighted mean travel time (minutes) from each unit to the lead hospital of its
grid. Constraints: every unit in one grid (G1); k >= 2 grids unless a G2 reason is given; each lead
eligible under G4 or designated with a reason (:mod:`grid_planning.rules`); each grid contiguous on
the city's adjacency graph and holding its lead; each grid holding a G5 member unless waived;
optional population balance and minimum beds per 1,000 residents; the planner's locks.

How (see the modules for each part):

- **Small cities** (:data:`grid_planning.exact.EXACT_MAX_UNITS` units or fewer, e.g. district- or
  street-level units) are planned exactly by a mixed-integer program (:mod:`grid_planning.exact`):
  the plan is optimal under every constraint, and a refusal is a proof.
- **Larger cities**: leads by p-median (:mod:`grid_planning.leads`), then assignment with every
  constraint satisfied together in one loop (:mod:`grid_planning.partition`). If that loop cannot
  meet a constraint on a city still small enough for the exact program, the exact program decides.
- **The verdict is the checks' verdict**: the plan is checked by
  :func:`grid_planning.metrics.check_policy` (the same code ``python -m grid_planning check``
  runs) before it is returned, so the planner never hands out a plan the checks fail.
- **A refusal** (:class:`Infeasible`) names the constraint that binds (``binding``) and offers the
  nearest options that are themselves valid (``options``: each was planned and checked before it
  is offered): never fewer than 2 grids without a G2 reason, never the k already asked.

Grid ids ``G1..Gk`` are ordered by the population the grid serves (descending), ties by lead id.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd

import grid_planning
from grid_planning import exact, rules
from grid_planning.costs import CostMatrix, CostParams, travel_costs
from grid_planning.i18n import DEFAULT_LANGUAGE, t
from grid_planning.leads import NoLeadSet, refine_leads, select_leads
from grid_planning.partition import LockError, Partition
from grid_planning.plan import FacilityEdit, Plan, PolicyException, apply_facility_edits

#: Tolerances are suggested on this grid (±5 %, ±10 % ...).
BALANCE_STEP = 0.05
#: A refusal on a heuristic run is settled by the exact program up to this many units.
EXACT_FALLBACK_UNITS = 60
#: Methods a request may ask for.
METHODS = ("auto", "heuristic", "exact")

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
        G4 exceptions: hospitals that may lead only by designation (:func:`rules.g4_designatable`:
        tertiary general/TCM of another owner, or one outside the city) designated with a reason;
        they are fixed leads.
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
    method : {"auto", "heuristic", "exact"}
        ``auto``: exact on small cities, heuristic (with exact fallback) otherwise.
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
    method: str = "auto"


#: The option steps that record an "in principle" exception, and its rule.
_REASON_RULE = {"g2_reason": "G2", "designate": "G4", "g5_waiver": "G5"}


@dataclass(frozen=True)
class Option:
    """A change to the request that resolves a refusal.

    Attributes
    ----------
    steps : tuple of (kind, params)
        Applied in order. Kinds: ``k`` (``k``), ``g2_reason``, ``designate`` (``id``),
        ``g5_waiver`` (``leads``), ``balance`` (``tolerance``; ``None`` drops it), ``beds``
        (``value``; ``None`` drops it), ``unfix`` (``id``), ``unexclude`` (``id``), ``unlock``
        (``unit``), ``undesignate`` (``id``).
    verified : bool
        True when the changed request was planned and checked before the option was offered.
    """

    steps: tuple[tuple[str, dict], ...]
    verified: bool = False

    @property
    def needs_reason(self) -> bool:
        """True when applying it records an exception that needs the planner's written reason."""
        return bool(self.reason_rules)

    @property
    def reason_rules(self) -> tuple[str, ...]:
        """The rules whose "in principle" exception this option records (``G2``, ``G4``, ``G5``),
        each needing its own written reason, in the order of the steps."""
        return tuple(dict.fromkeys(_REASON_RULE[k] for k, _ in self.steps if k in _REASON_RULE))

    def apply(self, request: PlanRequest, reason: str | Mapping[str, str] | None = None) -> PlanRequest:
        """The request with this option applied.

        ``reason`` is what the exceptions it records are recorded with: one text for all, or a
        text per rule (``{"G4": ..., "G5": ...}``, see :attr:`reason_rules`).
        """
        reasons = reason if isinstance(reason, Mapping) else dict.fromkeys(self.reason_rules, reason)
        req = request
        for kind, p in self.steps:
            why = (reasons.get(_REASON_RULE.get(kind, ""), "") or "").strip()
            if kind == "k":
                req = replace(req, k=int(p["k"]))
            elif kind == "g2_reason":
                req = replace(req, k=1, g2_reason=why or None)
            elif kind == "designate":
                pairs = dict(req.designated_leads) | {str(p["id"]): why}
                req = replace(req, designated_leads=tuple(pairs.items()))
            elif kind == "undesignate":
                req = replace(
                    req,
                    designated_leads=tuple(x for x in req.designated_leads if x[0] != p["id"]),
                )
            elif kind == "g5_waiver":
                pairs = dict(req.g5_waivers) | {str(lead): why for lead in p["leads"]}
                req = replace(req, g5_waivers=tuple(pairs.items()))
            elif kind == "balance":
                req = replace(req, balance=p["tolerance"])
            elif kind == "beds":
                req = replace(req, min_beds_per_1000=p["value"])
            elif kind == "unfix":
                req = replace(req, fixed_leads=tuple(f for f in req.fixed_leads if f != p["id"]))
            elif kind == "unexclude":
                req = replace(
                    req, excluded_leads=tuple(f for f in req.excluded_leads if f != p["id"])
                )
            elif kind == "unlock":
                req = replace(req, locks=tuple(x for x in req.locks if x[0] != p["unit"]))
            else:  # pragma: no cover - kinds are produced here only
                raise ValueError(f"unknown option kind {kind!r}")
        return req

    def text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The option in words."""
        parts = [
            t(
                f"planner.option.{kind}" + ("_off" if None in p.values() else ""),
                lang,
                **_fmt({"name": p.get("id"), "names": p.get("leads")} | p),
            )
            for kind, p in self.steps
        ]
        text = t("planner.option.and", lang).join(parts)
        return t("planner.option.verified", lang, text=text) if self.verified else text


@dataclass(frozen=True)
class Infeasible:
    """Why a request cannot be planned, and the nearest options that are valid.

    Attributes
    ----------
    code : str
        Catalogue key suffix: the message is ``planner.infeasible.<code>``.
    params : dict
        Message values (ids, counts, the best value reached ...).
    suggestions : tuple of (key, params)
        Advice that is not a change of the request (``planner.suggest.<key>``): check the ids,
        use finer units ...
    options : tuple of Option
        Changes of the request that give a plan (each verified unless marked otherwise).
    binding : tuple of str
        The constraints that bind: ``k``, ``g2``, ``g4``, ``g5``, ``balance``, ``beds``,
        ``locks``, ``fixed``, ``units``, ``request`` (a malformed request).
    proven : bool
        True when the exact program proved that no plan meets the request.
    """

    code: str
    params: dict = field(default_factory=dict)
    suggestions: tuple[tuple[str, dict], ...] = ()
    options: tuple[Option, ...] = ()
    binding: tuple[str, ...] = ()
    proven: bool = False

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The blocker in words."""
        return t(f"planner.infeasible.{self.code}", lang, **_fmt(self.params))

    def suggestion_texts(self, lang: str = DEFAULT_LANGUAGE) -> list[str]:
        """The options, then the other advice, in words."""
        return [o.text(lang) for o in self.options] + self.advice_texts(lang)

    def advice_texts(self, lang: str = DEFAULT_LANGUAGE) -> list[str]:
        """The advice that is not a change of the request (check the ids, use finer units ...)."""
        return [t(f"planner.suggest.{key}", lang, **_fmt(p)) for key, p in self.suggestions]

    def explain(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """Message and suggestions as one text (CLI, tables)."""
        tips = self.suggestion_texts(lang)
        return self.message(lang) + ("" if not tips else " " + " ".join(tips))


def _fmt(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if key in ("tolerance", "best_dev") and isinstance(value, (int, float)):
            out[key] = f"{value:.0%}"
        elif isinstance(value, (list, tuple)):
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
        ``objective`` (population-weighted mean minutes), ``lower_bound`` (exact optimum or
        p-median bound when known, else None), ``seconds``, ``iterations``, ``method`` ...
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


def _stop(
    code: str,
    binding: Iterable[str],
    *,
    options: Iterable[Option] = (),
    suggestions: Iterable[tuple[str, dict]] = (),
    proven: bool = False,
    **params,
) -> _Stop:
    return _Stop(
        Infeasible(code, params, tuple(suggestions), tuple(options), tuple(binding), proven)
    )


def _opt(*steps: tuple[str, dict]) -> Option:
    return Option(tuple(steps))


# ---- candidates -------------------------------------------------------------------------------------
def eligible_leads(facilities: pd.DataFrame, request: PlanRequest, layers=None) -> pd.DataFrame:
    """Facilities that may lead a grid under ``request`` (:func:`grid_planning.rules.lead_candidates`).

    With ``layers``, a hospital lying outside the city is a candidate only when designated.

    Returns
    -------
    DataFrame
        Candidate rows (ordered by id) with ``eligibility``: ``data``, ``assumed`` or ``designated``.
    """
    outside = layers.index.locate(facilities).outside if layers is not None else None
    return rules.lead_candidates(
        facilities,
        outside,
        designated=[f for f, _ in request.designated_leads],
        excluded=request.excluded_leads,
    )


def designation_candidates(layers, facilities: pd.DataFrame | None = None) -> pd.DataFrame:
    """Hospitals a planner may designate as a lead with a G4 reason (tertiary general/TCM of
    another owner, or an eligible one outside the city), largest first. The plan page offers
    exactly these."""
    fac = layers.facilities if facilities is None else facilities
    return _designation_order(fac, layers.index.locate(fac).outside)


def _designation_order(fac: pd.DataFrame, outside: np.ndarray) -> pd.DataFrame:
    """Designatable hospitals, the ones a planner would consider first first: other owners
    (enterprise, university, army ...) and eligible hospitals just outside the city before
    provincial and national ones, which the policy makes collaborators (G8); larger first."""
    mask = rules.g4_designatable(fac, outside).to_numpy()
    out = pd.DataFrame(fac[mask]).copy()
    out["outside_city"] = np.asarray(outside)[mask]
    collab = rules.collaborator_owner(out).to_numpy().astype(int)
    beds = pd.to_numeric(out["beds"], errors="coerce").fillna(0) if "beds" in out else 0
    return (
        out.assign(_c=collab, _b=beds)
        .sort_values(["_c", "_b", "id"], ascending=[True, False, True])
        .drop(columns=["_c", "_b"])
    )


# ---- the public entry points ------------------------------------------------------------------------
def plan_city(
    layers,
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
    report = progress or (lambda _f, _k: None)
    try:
        run = _Run(layers, request, costs, report)
        return run.plan(t0)
    except _Stop as stop:
        infeasible = stop.infeasible
        if analyse:
            infeasible = _analyse(layers, request, costs, infeasible)
        return PlanResult(None, infeasible, {"seconds": time.perf_counter() - t0})


# ---- one planning run ----------------------------------------------------------------------------------
class _Run:
    """Everything one request needs, computed once: facilities, candidates, costs, arrays."""

    def __init__(self, layers, request: PlanRequest, costs, report: Progress) -> None:
        self.layers = layers
        self.request = request
        self.report = report
        report(0.0, "planner.progress.start")
        self.facilities = _edited_facilities(layers, request.edits)
        self.index = layers.index
        self.location = self.index.locate(self.facilities)
        self._validate()
        report(0.05, "planner.progress.costs")
        self.costs = _costs_for(layers, self.facilities, request.cost, costs)
        report(0.25, "planner.progress.adjacency")
        self.adj = self.index.adjacency
        self.nbrs = self.index.neighbours
        self.w = self.index.population
        self.cand_unit = self._candidate_units()
        self.dc = self.costs.minutes[:, self.costs.col_index(self.cand_ids)]
        self.required = [self.cand_ids.index(f) for f in self.required_ids]
        self._check_units()
        qualifies = rules.g5_qualifies(self.facilities).to_numpy() & ~self.location.outside
        self.g5 = np.bincount(self.location.unit[qualifies], minlength=self.index.n).astype(np.int64)
        self.beds = np.bincount(
            self.location.unit,
            weights=rules.grid_beds(self.facilities).to_numpy(dtype=float),
            minlength=self.index.n,
        )
        self._check_beds_city()

    # -- validation
    def _validate(self) -> None:
        layers, request, fac = self.layers, self.request, self.facilities
        if len(layers.units) == 0:
            raise _stop("no_units", ["units"])
        if request.method not in METHODS:
            raise _stop("bad_method", ["request"], method=request.method)
        fac_ids = set(fac["id"].astype(str))
        unit_ids = set(self.index.unit_ids)
        named = (
            list(request.fixed_leads)
            + list(request.excluded_leads)
            + [f for f, _ in request.designated_leads]
            + [f for f, _ in request.g5_waivers]
            + [f for _, f in request.locks]
        )
        unknown = sorted({str(f) for f in named} - fac_ids)
        if unknown:
            raise _stop("unknown_facility", ["request"], suggestions=[("check_ids", {})], ids=unknown)
        bad_units = sorted({str(u) for u, _ in request.locks} - unit_ids)
        if bad_units:
            raise _stop("unknown_unit", ["request"], suggestions=[("check_ids", {})], ids=bad_units)
        lock_map: dict[str, str] = {}
        for u, f in request.locks:
            if lock_map.setdefault(str(u), str(f)) != str(f):
                raise _stop(
                    "lock_conflict", ["locks"], options=[_opt(("unlock", {"unit": str(u)}))], unit=u
                )
        for fid, reason in list(request.designated_leads) + list(request.g5_waivers):
            if not str(reason or "").strip():
                raise _stop(
                    "missing_reason", ["request"], suggestions=[("give_reason", {})], id=fid
                )
        if request.k < 1:
            raise _stop("k_invalid", ["k"], options=[_opt(("k", {"k": 2}))], k=request.k)
        if request.balance is not None and not (0 < request.balance < 10):
            raise _stop(
                "bad_balance", ["request"], options=[_opt(("balance", {"tolerance": 0.3}))],
                tolerance=request.balance,
            )
        if request.min_beds_per_1000 is not None and request.min_beds_per_1000 < 0:
            raise _stop(
                "bad_beds", ["request"], options=[_opt(("beds", {"value": None}))],
                value=request.min_beds_per_1000,
            )

        by_id = fac.assign(_id=fac["id"].astype(str)).drop_duplicates("_id").set_index("_id")
        outside = pd.Series(self.location.outside, index=fac["id"].astype(str).to_numpy())
        outside = outside[~outside.index.duplicated()]
        designatable = rules.g4_designatable(fac, self.location.outside)
        designatable_ids = set(fac.loc[designatable.to_numpy(), "id"].astype(str))
        for fid, _reason in request.designated_leads:
            fid = str(fid)
            if fid not in designatable_ids:
                row = by_id.loc[fid]
                raise _stop(
                    "designation_not_allowed",
                    ["g4"],
                    options=[_opt(("undesignate", {"id": fid}))],
                    id=fid,
                    name=row.get("name", fid),
                    why=_why_text(row, bool(outside.get(fid, False))),
                )
        cand = rules.lead_candidates(
            fac,
            self.location.outside,
            designated=[f for f, _ in request.designated_leads],
            excluded=request.excluded_leads,
        )
        self.candidates = cand
        self.cand_ids = cand["id"].astype(str).tolist()
        cand_set = set(self.cand_ids)
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
                raise _stop(
                    "fixed_and_excluded",
                    ["fixed"],
                    options=[_opt(("unexclude", {"id": fid})), _opt(("unfix", {"id": fid}))],
                    id=fid,
                )
            if fid not in cand_set:
                row = by_id.loc[fid]
                opts = [_opt(("unfix", {"id": fid}))] if fid in request.fixed_leads else []
                if fid in designatable_ids:
                    opts.insert(0, _opt(("designate", {"id": fid})))
                raise _stop(
                    "fixed_not_eligible",
                    ["g4"],
                    options=opts,
                    id=fid,
                    name=row.get("name", fid),
                    why=_why_text(row, bool(outside.get(fid, False))),
                )
            required.append(fid)
        self.required_ids = required

        n_cand = len(cand)
        k = request.k
        if k == 1 and not (request.g2_reason and str(request.g2_reason).strip()):
            opts = [_opt(("g2_reason", {}))] + ([_opt(("k", {"k": 2}))] if n_cand >= 2 else [])
            raise _stop("k_below_two", ["g2"], options=opts, k=k)
        designate = [_opt(("designate", {"id": f})) for f in self._designatable(cand_set)]
        if k >= 2 and n_cand < 2:
            outside = self._outside_eligible()
            raise _stop(
                "too_few_eligible_outside" if outside else "too_few_eligible",
                ["g4", "k"],
                options=designate + [_opt(("g2_reason", {}))],
                count=n_cand,
                k=k,
                outside=outside,
            )
        if k > n_cand:
            max_k = len(set(self._candidate_units().tolist()))
            fewer = [_opt(("k", {"k": max_k}))] if max_k >= 2 else [_opt(("g2_reason", {}))]
            raise _stop(
                "k_above_eligible",
                ["k", "g4"],
                options=fewer + designate,
                suggestions=[("finer_units", {})] if max_k < n_cand else [],
                k=k,
                count=n_cand,
                max_k=max_k,
            )
        if len(required) > k:
            raise _stop(
                "too_many_fixed",
                ["fixed", "k"],
                options=[_opt(("k", {"k": len(required)}))]
                + [_opt(("unfix", {"id": f})) for f in request.fixed_leads],
                count=len(required),
                k=k,
                ids=required,
            )
        if k > len(layers.units):
            raise _stop(
                "k_above_units",
                ["k", "units"],
                options=[_opt(("k", {"k": len(layers.units)}))],
                suggestions=[("finer_units", {})],
                k=k,
                count=len(layers.units),
            )

    def _designatable(self, cand_set: set[str]) -> list[str]:
        order = _designation_order(self.facilities, self.location.outside)
        return [f for f in order["id"].astype(str) if f not in cand_set][:3]

    def _outside_eligible(self) -> str:
        fac = self.facilities
        mask = rules.g4_eligible(fac).to_numpy() & self.location.outside
        return ", ".join(f"{r['id']} ({r['name']})" for _, r in fac[mask].iterrows())

    def _check_units(self) -> None:
        """Leads are in distinct units: required ones must be; k must not exceed the units the
        candidates lie in (the pilot cities' district units often hold two hospitals)."""
        unit_ids = self.index.unit_ids
        names = self.layers.units["name"].astype(str).to_numpy() if "name" in self.layers.units else unit_ids
        seen: dict[int, str] = {}
        for i in self.required:
            u = int(self.cand_unit[i])
            if u in seen:
                raise _stop(
                    "leads_share_unit",
                    ["fixed", "units"],
                    options=[o for f in (seen[u], self.cand_ids[i]) for o in self._release(f)],
                    suggestions=[("finer_units", {})],
                    ids=[seen[u], self.cand_ids[i]],
                    unit=f"{unit_ids[u]} ({names[u]})",
                )
            seen[u] = self.cand_ids[i]
        distinct = len(set(self.cand_unit.tolist()))
        k = self.request.k
        if k > distinct:
            counts = pd.Series(self.cand_unit).value_counts()
            shared = [int(u) for u in counts.index[counts > 1]]
            opts = [_opt(("k", {"k": distinct}))] if distinct >= 2 else [_opt(("g2_reason", {}))]
            raise _stop(
                "candidates_share_unit",
                ["k", "units"],
                options=opts,
                suggestions=[("finer_units", {})],
                k=k,
                distinct=distinct,
                units=[f"{unit_ids[u]} ({names[u]})" for u in shared],
                ids=[
                    self.cand_ids[j] for j in range(len(self.cand_ids)) if int(self.cand_unit[j]) in shared
                ],
            )

    def _release(self, fid: str) -> list[Option]:
        """What stops ``fid`` from being a required lead: unfix it, withdraw its designation,
        unlock the units locked to it."""
        req = self.request
        steps: list[tuple[str, dict]] = []
        if fid in req.fixed_leads:
            steps.append(("unfix", {"id": fid}))
        if fid in dict(req.designated_leads):
            steps.append(("undesignate", {"id": fid}))
        steps += [("unlock", {"unit": str(u)}) for u, f in req.locks if str(f) == fid]
        return [Option(tuple(steps))] if steps else []

    def _check_beds_city(self) -> None:
        min_beds = self.request.min_beds_per_1000
        if min_beds is None or min_beds <= 0:
            return
        city = self.beds.sum() / max(self.w.sum(), 1e-12) * 1000.0
        if city < min_beds:
            raise _stop(
                "beds_impossible",
                ["beds"],
                options=[_opt(("beds", {"value": math.floor(city * 100) / 100}))],
                value=min_beds,
                city=city,
            )

    # -- solving
    def _lock_grid(self, lead_ids: list[str]) -> np.ndarray:
        out = np.full(self.index.n, -1, dtype=np.int64)
        if not self.request.locks:
            return out
        pos = self.index.unit_ids.get_indexer([str(u) for u, _ in self.request.locks])
        out[pos] = [lead_ids.index(str(f)) for _, f in self.request.locks]
        return out

    def _candidate_units(self) -> np.ndarray:
        """Unit position of each candidate lead (``cand_ids`` order)."""
        return self.location.unit[pd.Index(self.facilities["id"].astype(str)).get_indexer(self.cand_ids)]

    def _waived(self, lead_ids: list[str]) -> np.ndarray:
        waivers = dict(self.request.g5_waivers)
        return np.array([lid in waivers for lid in lead_ids], dtype=bool)

    def _use_exact(self) -> bool:
        method = self.request.method
        if method == "exact":
            return True
        if method == "heuristic":
            return False
        return exact.fits(self.index.n, len(self.cand_ids), self.adj.nnz // 2)

    def exact_problem(self, *, enforce_g5: bool = True) -> exact.ExactProblem:
        """The request as an :class:`grid_planning.exact.ExactProblem`."""
        req = self.request
        cpos = {c: i for i, c in enumerate(self.cand_ids)}
        upos = self.index.unit_ids
        return exact.ExactProblem(
            minutes=np.asarray(self.dc, dtype=float),
            population=self.w,
            cand_unit=self.cand_unit,
            k=req.k,
            adjacency=self.adj,
            required=tuple(self.required),
            locks=tuple((int(upos.get_loc(str(u))), cpos[str(f)]) for u, f in req.locks),
            g5=self.g5,
            g5_waived=self._waived(self.cand_ids),
            enforce_g5=enforce_g5,
            balance=req.balance,
            beds=self.beds,
            min_beds_per_1000=req.min_beds_per_1000 if req.min_beds_per_1000 else None,
        )

    def _solve_exact(self) -> tuple[list[int], np.ndarray, dict]:
        res = exact.solve_exact(self.exact_problem())
        if res.status == "optimal":
            sel = {
                "leads": res.leads,
                "objective": res.objective,
                "lower_bound": res.objective,
                "method": "exact-mip",
                "iterations": 1,
            }
            return res.leads, res.labels, sel
        if res.status == "infeasible":
            raise _stop("no_plan", self._active(), proven=True, k=self.request.k)
        raise _stop("exact_timeout", ["request"], seconds=round(res.seconds, 1))

    def _active(self) -> list[str]:
        return active_constraints(self.request)

    def _solve_heuristic(self) -> tuple[list[int], np.ndarray, dict, Partition | None]:
        req = self.request
        try:
            sel = select_leads(self.dc, self.w, req.k, self.required, self.cand_unit)
        except NoLeadSet:
            raise _stop("no_lead_set", ["fixed", "k"], k=req.k) from None

        def lock_grid_for(leads: list[int]) -> np.ndarray | None:
            return self._lock_grid([self.cand_ids[i] for i in leads]) if req.locks else None

        sel = refine_leads(
            self.dc, self.w, self.adj, self.nbrs, sel, self.required, self.cand_unit, lock_grid_for
        )
        leads = list(sel["leads"])
        lead_ids = [self.cand_ids[i] for i in leads]
        part = Partition(
            self.adj,
            self.w,
            np.ascontiguousarray(self.dc[:, leads], dtype=np.float64),
            self.cand_unit[leads],
            self.nbrs,
        )
        try:
            part.pin_locks(self._lock_grid(lead_ids))
        except LockError as exc:
            unit = str(self.index.unit_ids[exc.unit])
            code = "lock_on_other_lead" if exc.kind == "on_other_lead" else "locks_break_contiguity"
            raise _stop(
                code,
                ["locks"],
                options=[_opt(("unlock", {"unit": unit}))],
                unit=unit,
                lead=lead_ids[exc.grid],
            ) from None
        part.set_constraints(
            g5=self.g5,
            waived=self._waived(lead_ids),
            balance=req.balance,
            beds=self.beds,
            min_beds_per_1000=req.min_beds_per_1000,
        )
        self.report(0.5, "planner.progress.assign")
        score = part.solve()
        if score[:2] != (0, 0.0):
            return leads, part.labels, sel | {"score": score}, part
        return leads, part.labels, sel, part

    def plan(self, t0: float) -> PlanResult:
        self.report(0.35, "planner.progress.leads")
        part = None
        if self._use_exact():
            leads, labels, sel = self._solve_exact()
        else:
            leads, labels, sel, part = self._solve_heuristic()
            if "score" in sel:
                if exact.fits(
                    self.index.n, len(self.cand_ids), self.adj.nnz // 2,
                    max_units=EXACT_FALLBACK_UNITS,
                ):
                    leads, labels, sel = self._solve_exact()
                    part = None
                else:
                    raise self._heuristic_refusal(part, [self.cand_ids[i] for i in leads])
        lead_ids = [self.cand_ids[i] for i in leads]
        self.report(0.9, "planner.progress.roles")
        plan, obj = self._build_plan(labels, lead_ids, sel)
        self._verdict(plan)
        seconds = time.perf_counter() - t0
        plan = plan.with_params(seconds=round(seconds, 3))
        self.report(1.0, "planner.progress.done")
        w_sum = max(self.w.sum(), 1e-12)
        pops = np.bincount(labels, weights=self.w, minlength=len(leads))
        mean = self.w.sum() / len(leads)
        stats = {
            "objective": obj,
            "pmedian_objective": sel["objective"] / w_sum,
            "lower_bound": None if sel["lower_bound"] is None else sel["lower_bound"] / w_sum,
            "seconds": seconds,
            "iterations": sel["iterations"],
            "method": sel["method"],
            "released_units": part.released if part is not None else 0,
            "moves": part.moves if part is not None else 0,
            "g5_pulls": part.pulls if part is not None else 0,
            "max_balance_dev": float(np.abs(pops / mean - 1).max()) if mean > 0 else 0.0,
        }
        return PlanResult(plan, None, stats)

    def _heuristic_refusal(self, part: Partition, lead_ids: list[str]) -> _Stop:
        missing = part.g5_missing()
        req = self.request
        if missing:
            return _stop(
                "g5_unsatisfiable", ["g5"], lead=[lead_ids[g] for g in missing], k=req.k
            )
        if req.balance is not None and part.max_dev() > req.balance + 1e-9:
            return _stop(
                "balance_impossible", ["balance"], tolerance=req.balance, best_dev=part.max_dev()
            )
        worst = part.min_beds_per_1000()
        return _stop(
            "beds_unsatisfiable", ["beds"], value=req.min_beds_per_1000, best=worst, lead="-"
        )

    # -- the plan value
    def _build_plan(self, labels: np.ndarray, lead_ids: list[str], sel: dict) -> tuple[Plan, float]:
        from grid_planning.roster import assign_roles

        req, w = self.request, self.w
        k = len(lead_ids)
        pops = np.bincount(labels, weights=w, minlength=k)
        order = sorted(range(k), key=lambda g: (-pops[g], lead_ids[g]))
        gid = {g: f"G{i + 1}" for i, g in enumerate(order)}
        assignment = pd.Series(
            np.array([gid[g] for g in range(k)], dtype=object)[labels],
            index=self.index.unit_ids,
            name="grid_id",
        )
        leads = pd.Series(
            [lead_ids[g] for g in order],
            index=pd.Index([gid[g] for g in order], name="grid_id"),
            name="lead_id",
            dtype=object,
        )
        roles = assign_roles(self.layers, self.facilities, assignment, leads, self.costs)
        elig = self.candidates.set_index(self.candidates["id"].astype(str))["eligibility"]
        lead_elig = {lid: str(elig.get(lid, "data")) for lid in leads}
        exceptions = [PolicyException("G4", str(f), str(r)) for f, r in req.designated_leads]
        g5_has = np.bincount(labels, weights=self.g5, minlength=k) >= 1
        for fid, reason in req.g5_waivers:
            if str(fid) in lead_ids and not g5_has[lead_ids.index(str(fid))]:
                exceptions.append(PolicyException("G5", str(fid), str(reason)))
        if req.k == 1 and req.g2_reason:
            exceptions.append(PolicyException("G2", "city", str(req.g2_reason)))
        lead_to_grid = {lead_ids[g]: gid[g] for g in range(k)}
        locks = tuple(sorted((str(u), lead_to_grid[str(f)]) for u, f in req.locks))
        lead_col = np.array([self.cand_ids.index(f) for f in lead_ids], dtype=np.int64)[labels]
        obj = float(w @ self.dc[np.arange(len(w)), lead_col]) / max(w.sum(), 1e-12)
        params = {
            "k": req.k,
            "balance": req.balance,
            "min_beds_per_1000": req.min_beds_per_1000,
            "cost_mode": self.costs.mode,
            "cost": req.cost.as_dict() | {"mode_used": self.costs.mode},
            "method": sel["method"]
            + ("" if sel["method"] == "exact-mip" else "+constraint-loop+local-search"),
            "objective": round(obj, 4),
            "lower_bound": None
            if sel["lower_bound"] is None
            else round(sel["lower_bound"] / max(w.sum(), 1e-12), 4),
            "fixed_leads": list(map(str, req.fixed_leads)),
            "excluded_leads": list(map(str, req.excluded_leads)),
            "lead_eligibility": lead_elig,
            "assumed_leads": [lid for lid, e in lead_elig.items() if e == "assumed"],
            "designated_leads": [lid for lid, e in lead_elig.items() if e == "designated"],
            "g2_reason": req.g2_reason,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "version": grid_planning.__version__,
            "city": getattr(self.layers, "name", ""),
        }
        plan = Plan(
            assignment=assignment,
            leads=leads,
            roles=roles,
            locks=locks,
            exceptions=tuple(exceptions),
            edits=tuple(req.edits),
            params=tuple(params.items()),
        )
        return plan, obj

    def _verdict(self, plan: Plan) -> None:
        """The checks' verdict is the planner's: a plan they fail is not returned."""
        from grid_planning.metrics import check_policy

        failed = [c for c in check_policy(self.layers, plan) if c.status == "fail"]
        if failed:
            raise _stop(
                "checks_failed",
                sorted({c.rule.lower() for c in failed}),
                rules=sorted({c.rule for c in failed}),
                detail="; ".join(c.message("en") for c in failed[:3]),
            )


def _why_text(row: pd.Series, outside: bool) -> str:
    fields = rules.g4_ineligible_fields(row, outside=outside)
    return ", ".join(
        f"{f}={row.get(f, '')}" if f not in ("location", "parent_id") else f for f in fields
    ) or "-"


def _edited_facilities(layers, edits):
    if not edits:
        return layers.facilities
    try:
        return apply_facility_edits(layers.facilities, edits)
    except ValueError as exc:
        raise _stop("bad_edit", ["request"], suggestions=[("fix_edit", {})], detail=str(exc)) from None


def _costs_for(layers, facilities, params: CostParams, costs: CostMatrix | None) -> CostMatrix:
    if costs is not None and len(costs.unit_ids) == len(layers.units):
        fac_ids = facilities["id"].astype(str).to_numpy(dtype=object)
        if pd.Index(fac_ids).isin(costs.facility_ids).all() and np.array_equal(
            costs.unit_ids.to_numpy(dtype=object), layers.units["id"].astype(str).to_numpy(dtype=object)
        ):
            return costs
    try:
        return travel_costs(layers, params, facilities=facilities)
    except ValueError as exc:
        raise _stop("bad_costs", ["request"], suggestions=[("straight", {})], detail=str(exc)) from None


# ---- refusals: what binds, and the nearest valid options -------------------------------------------
def _feasible(layers, request: PlanRequest, costs) -> bool:
    return plan_city(layers, request, costs=costs, analyse=False).ok


#: A reason filled in to test an option that records an exception (never shown or kept).
_PROBE = "(verification)"


#: How many changes an offered option may combine, and how many planning runs a refusal may spend
#: finding and verifying its options.
OPTION_DEPTH = 3
ANALYSIS_RUNS = 60


class _Budget:
    def __init__(self, runs: int = ANALYSIS_RUNS) -> None:
        self.runs = runs

    def plan(self, layers, request: PlanRequest, costs) -> PlanResult:
        self.runs -= 1
        return plan_city(layers, request, costs=costs, analyse=False)


def _verify(
    layers, request: PlanRequest, costs, options: Iterable[Option], depth: int, budget: _Budget
) -> list[Option]:
    """The options that give a plan. When none does on its own (another requirement also binds),
    each is completed by the options of its own refusal (up to :data:`OPTION_DEPTH` changes)."""
    valid, failed = [], []
    for opt in options:
        if budget.runs <= 0:
            break
        trial = opt.apply(request, reason=_PROBE)
        if trial == request:
            continue
        res = budget.plan(layers, trial, costs)
        if res.ok:
            valid.append(replace(opt, verified=True))
        else:
            failed.append((opt, trial, res.infeasible))
    # A failed option is completed by its own refusal's options (the designation that also
    # needs a G5 exception ...), even when another option works alone: one grid with a G2 reason
    # "works" for a pilot city, but designating its enterprise hospital is what a planner wants.
    if depth + 1 >= OPTION_DEPTH or (valid and depth > 0):
        return valid
    for opt, trial, inf in failed:
        if budget.runs <= 0:
            break
        nested = _analyse(layers, trial, costs, inf, depth + 1, budget)
        valid += [Option(opt.steps + more.steps, verified=True) for more in nested.options]
    return valid


def _k_options(layers, request: PlanRequest, costs, limit: int) -> list[Option]:
    """Other numbers of grids that give a plan: the nearest ones first, never below 2, never the
    k asked."""
    ks = []
    for d in range(1, 4):
        for k in (request.k - d, request.k + d):
            if 2 <= k <= limit and k != request.k and k not in ks:
                ks.append(k)
    found = []
    for k in ks:
        if _feasible(layers, replace(request, k=k), costs):
            found.append(_opt(("k", {"k": k})))
            if len(found) == 2:
                break
    return [replace(o, verified=True) for o in found]


def _nearest_balance(layers, request: PlanRequest, costs, unbalanced: PlanResult) -> float | None:
    """The smallest tolerance on the 5 % grid, above the one asked, that gives a plan
    (``unbalanced``: the request planned without balance)."""
    lo = request.balance or 0.0
    if not unbalanced.ok:
        return None
    hi = math.ceil(unbalanced.stats["max_balance_dev"] / BALANCE_STEP - 1e-9) * BALANCE_STEP
    hi = max(hi, lo + BALANCE_STEP)
    steps = [round(lo + BALANCE_STEP * i, 4) for i in range(1, int(round((hi - lo) / BALANCE_STEP)) + 1)]
    steps = [s for s in steps if s > lo + 1e-9] or [hi]
    best = None
    a, b = 0, len(steps) - 1
    while a <= b:  # feasibility is monotone in the tolerance: bisect the grid
        mid = (a + b) // 2
        if _feasible(layers, replace(request, balance=steps[mid]), costs):
            best, b = steps[mid], mid - 1
        else:
            a = mid + 1
    return best


def _best_beds(layers, plan: PlanResult) -> float | None:
    """The beds per 1,000 the least-equipped grid has in ``plan`` (the request planned without
    the beds minimum), rounded down."""
    if not plan.ok:
        return None
    from grid_planning.metrics import grid_metrics

    gm = grid_metrics(layers, plan.plan, None)
    value = math.floor(float(gm["beds_per_1000"].min()) * 100) / 100
    return value if value > 0 else None


def _lacking_g5(layers, res: PlanResult) -> list[str]:
    """Leads whose grid lacks a G5 member in ``res``, the best plan without G5 (every candidate
    waived)."""
    from grid_planning.metrics import check_policy

    if not res.ok:
        return []
    return [
        str(res.plan.leads[c.grid_id])
        for c in check_policy(layers, res.plan)
        if c.rule == "G5" and c.status == "exception"
    ]


def _all_candidates(layers, request: PlanRequest) -> list[str]:
    try:
        fac = _edited_facilities(layers, request.edits)
    except _Stop:
        return []
    return eligible_leads(fac, request, layers)["id"].astype(str).tolist()


def _analyse(
    layers,
    request: PlanRequest,
    costs,
    inf: Infeasible,
    depth: int = 0,
    budget: _Budget | None = None,
) -> Infeasible:
    """Verify a refusal's options and, for a refusal of the solve stage, find what binds."""
    budget = budget or _Budget()
    try:
        limit = max(2, len(_all_candidates(layers, request)))
        if inf.code in ("no_plan", "g5_unsatisfiable", "balance_impossible", "beds_unsatisfiable"):
            inf = _binding(layers, request, costs, inf)
        options = _verify(layers, request, costs, inf.options, depth, budget)
        if "k" in inf.binding or inf.code in ("no_plan", "g5_unsatisfiable", "beds_unsatisfiable"):
            known = {_key(o) for o in options}
            options += [o for o in _k_options(layers, request, costs, limit) if _key(o) not in known]
        if not options and request.k >= 2 and depth == 0:  # the last resort: one grid, said why
            options = _verify(layers, request, costs, [_opt(("g2_reason", {}))], depth, budget)
        options.sort(key=lambda o: _distance(o, request))
        return replace(inf, options=tuple(_named(layers, request, o) for o in options))
    except Exception:  # noqa: BLE001 - the refusal itself must still reach the planner
        return inf


def _distance(option: Option, request: PlanRequest) -> tuple[int, int]:
    """How far an option goes from what was asked: keeping k first, another k next, one grid
    (a G2 exception) last; then the fewest changes."""
    k = option.apply(request, reason=_PROBE).k
    return (0 if k == request.k else 2 if k == 1 else 1, len(option.steps))


def _key(option: Option) -> str:
    return repr(option.steps)


def _named(layers, request: PlanRequest, option: Option) -> Option:
    """The option with the facilities' names beside their ids (a planner reads names)."""
    try:
        fac = _edited_facilities(layers, request.edits)
    except _Stop:
        return option
    names = dict(zip(fac["id"].astype(str), fac["name"].astype(str), strict=False))

    def label(fid: object) -> str:
        name = names.get(str(fid))
        return f"{name} ({fid})" if name and name != str(fid) else str(fid)

    steps = []
    for kind, p in option.steps:
        if "id" in p:
            p = p | {"name": label(p["id"])}
        if "leads" in p:
            p = p | {"names": [label(f) for f in p["leads"]]}
        steps.append((kind, p))
    return replace(option, steps=tuple(steps))


def active_constraints(request: PlanRequest) -> list[str]:
    """The constraints of the solve stage a request holds: always G5 (waivers aside), and
    balance, beds and locks when asked for."""
    active = ["g5"]
    if request.balance is not None:
        active.append("balance")
    if request.min_beds_per_1000:
        active.append("beds")
    if request.locks:
        active.append("locks")
    return active


def _binding(layers, request: PlanRequest, costs, inf: Infeasible) -> Infeasible:
    """Which of G5, balance, beds and locks binds, by relaxing each alone (then all together)."""
    relax = {
        "g5": lambda r: replace(
            r, g5_waivers=tuple((f, _PROBE) for f in _all_candidates(layers, r))
        ),
        "balance": lambda r: replace(r, balance=None),
        "beds": lambda r: replace(r, min_beds_per_1000=None),
        "locks": lambda r: replace(r, locks=()),
    }
    active = active_constraints(request)
    relaxed = {c: plan_city(layers, relax[c](request), costs=costs, analyse=False) for c in active}
    alone = [c for c in active if relaxed[c].ok]
    options: list[Option] = []
    params = dict(inf.params) | {"k": request.k}
    for c in alone:
        if c == "g5":
            lacking = _lacking_g5(layers, relaxed["g5"])
            if lacking:
                options.append(_opt(("g5_waiver", {"leads": lacking})))
                params["lead"] = lacking
        elif c == "balance":
            tol = _nearest_balance(layers, request, costs, relaxed["balance"])
            if tol is not None:
                options.append(_opt(("balance", {"tolerance": tol})))
                params["best_dev"] = tol
            options.append(_opt(("balance", {"tolerance": None})))
        elif c == "beds":
            value = _best_beds(layers, relaxed["beds"])
            if value is not None:
                options.append(_opt(("beds", {"value": value})))
                params["best"] = value
        elif c == "locks":
            options.append(_opt(*[("unlock", {"unit": str(u)}) for u, _ in request.locks]))
    params.setdefault("tolerance", request.balance)
    params.setdefault("value", request.min_beds_per_1000)
    params.setdefault("lead", "-")
    params.setdefault("best", "-")
    params.setdefault("best_dev", "-")
    if len(alone) == 1:
        code = {
            "g5": "g5_unsatisfiable",
            "balance": "balance_impossible",
            "beds": "beds_unsatisfiable",
            "locks": "locks_prevent_plan",
        }[alone[0]]
        binding = tuple(alone)
    elif alone:
        code = "constraints_conflict"
        binding = tuple(alone)
        params["rules"] = [t(f"planner.constraint.{c}", "en") for c in alone]
    else:
        together = request
        for c in active:
            together = relax[c](together)
        binding = tuple(active)
        if _feasible(layers, together, costs):
            code = "constraints_conflict"
            params["rules"] = [t(f"planner.constraint.{c}", "en") for c in active]
            steps: list[tuple[str, dict]] = []
            for c in active:
                if c == "g5":
                    steps.append(("g5_waiver", {"leads": _all_candidates(layers, request)}))
                elif c == "balance":
                    steps.append(("balance", {"tolerance": None}))
                elif c == "beds":
                    steps.append(("beds", {"value": None}))
                elif c == "locks":
                    steps += [("unlock", {"unit": str(u)}) for u, _ in request.locks]
            options.append(Option(tuple(steps)))
        else:
            code = "no_plan"
            binding = ("k",)
    return replace(inf, code=code, params=params, options=tuple(options), binding=binding)


# ---- a default a planner can present ---------------------------------------------------------------------
#: Tolerances offered as the default population balance, tightest first.
BALANCE_CHOICES = (0.1, 0.2, 0.3, 0.5)


@dataclass(frozen=True)
class BalanceAdvice:
    """The balance a city can meet at k, to switch it on by default (and say why).

    Attributes
    ----------
    tolerance : float or None
        The tightest of :data:`BALANCE_CHOICES` that gives a plan; None when none does (or the
        request cannot be planned at all).
    unbalanced_dev : float or None
        The largest deviation from the mean grid population without any balance (what a planner
        would otherwise present).
    """

    tolerance: float | None
    unbalanced_dev: float | None


def suggest_balance(
    layers, request: PlanRequest, *, costs: CostMatrix | None = None
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
    layers, ks: Iterable[int], request: PlanRequest, *, costs: CostMatrix | None = None
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
    from grid_planning.roster import assign_roles

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
    w = layers.index.population
    lead_of = {g: str(v) for g, v in plan.leads.items()}
    lead_cols = costs.col_index([lead_of[g] for g in assignment.to_numpy()])
    obj = float(np.dot(w, costs.minutes[np.arange(len(w)), lead_cols]) / max(w.sum(), 1e-12))
    return moved.with_params(
        objective=round(obj, 4),
        manual_moves=int(plan.param_map.get("manual_moves", 0) or 0) + len(unit_ids),
    )


def facility_units(layers, facilities):
    """Facility id -> unit id (re-exported from :mod:`grid_planning.graph`)."""
    from grid_planning.graph import facility_units as _fu

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
