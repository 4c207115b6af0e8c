"""One planning run: the request validated against the city, then solved exactly (small
cities) or by the heuristic, then the plan built and its checks' verdict taken.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grid_planning.assess.checks import check_policy, whatif_eligible_ids
from grid_planning.assess.roster import assign_roles
from grid_planning.base.config import text_limit, text_too_long
from grid_planning.base.textsafe import has_visible_text
from grid_planning.base.version import __version__
from grid_planning.city.costs import CostMatrix, travel_costs
from grid_planning.city.demand import DemandError, unit_demand, weighted
from grid_planning.domain import rules
from grid_planning.domain.plan import Plan, PolicyException, apply_facility_edits
from grid_planning.domain.request import (
    METHODS,
    REQUEST_PARAM,
    CostParams,
    Infeasible,
    Option,
    PlanRequest,
    PlanResult,
    Progress,
    active_constraints,
    make_option,
    max_balance_deviation,
)
from grid_planning.domain.rules import MIN_GRIDS
from grid_planning.planning import exact, planar
from grid_planning.planning.candidates import designation_order, may_designate, why_cannot_lead
from grid_planning.planning.fallback import Fallback, Outcome
from grid_planning.planning.leads import NoLeadSet, refine_leads, select_leads
from grid_planning.planning.partition import LockError, Partition

if TYPE_CHECKING:
    import geopandas as gpd

    from grid_planning.city.layers import CityLayers

#: A refusal on a heuristic run is settled by the exact program (separator cuts) up to this many
#: units, within :data:`FALLBACK_SECONDS`; past either, the refusal says "no plan found within N s"
#: and never that none exists.
EXACT_FALLBACK_UNITS = 300
FALLBACK_SECONDS = 20.0


#: The exact program's variables allowed in that fallback (candidates x units).
FALLBACK_MAX_VARIABLES = 40_000


class StopPlanning(Exception):  # noqa: N818 - control flow, not an error
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
) -> StopPlanning:
    return StopPlanning(
        Infeasible(code, params, tuple(suggestions), tuple(options), tuple(binding), proven)
    )


def solve(
    layers: CityLayers,
    request: PlanRequest,
    costs: CostMatrix | None = None,
    progress: Progress | None = None,
    *,
    exact_seconds: float | None = None,
) -> PlanResult:
    """One planning run: a plan, or the bare refusal (no analysis of what binds, no options).

    The refusal analysis (:mod:`grid_planning.planning.refusal`) verifies its options with this
    same call; :func:`grid_planning.planning.planner.plan_city` adds the analysis on top.
    ``exact_seconds`` bounds the exact program (default :data:`FALLBACK_SECONDS`, or
    :data:`grid_planning.planning.exact.EXACT_TIME_LIMIT` on a small city).
    """
    t0 = time.perf_counter()
    report = progress or (lambda _f, _k: None)
    try:
        run = _Run(layers, request, costs, report)
        run.exact_seconds = exact_seconds
        return run.plan(t0)
    except StopPlanning as stop:
        return PlanResult(None, stop.infeasible, {"seconds": time.perf_counter() - t0})


# ---- one planning run ----------------------------------------------------------------------------------
class _Run:
    """Everything one request needs, computed once: facilities, candidates, costs, arrays."""

    def __init__(self, layers: CityLayers, request: PlanRequest, costs: CostMatrix | None,
                 report: Progress) -> None:
        self.layers = layers
        self.request = request
        self.report = report
        report(0.0, "planner.progress.start")
        self.facilities = edited_facilities(layers, request.edits)
        self.index = layers.index
        self.location = self.index.locate(self.facilities)
        self._validate()
        report(0.05, "planner.progress.costs")
        self.costs = _costs_for(layers, self.facilities, request.cost, costs)
        report(0.25, "planner.progress.adjacency")
        self.adj = self.index.adjacency
        self.nbrs = self.index.neighbours
        # G9: grids are balanced and assigned by weighted demand (the residents without weights).
        self.w = self._demand()
        self.cand_unit = self._candidate_units()
        try:
            # only the candidates' columns are computed here (the rest when something reads them)
            self.dc = self.costs.cols(self.cand_ids)
        except ValueError as exc:  # what computing the matrix at once would have refused
            raise _stop("bad_costs", ["request"], suggestions=[("straight", {})], detail=str(exc)) from None
        self.required = [self.cand_ids.index(f) for f in self.required_ids]
        self._check_units()
        qualifies = rules.g5_member(self.facilities, self.location.outside).to_numpy()
        self.g5 = np.bincount(self.location.unit[qualifies], minlength=self.index.n).astype(np.int64)
        self.beds = np.bincount(
            self.location.unit,
            weights=rules.grid_beds(self.facilities).to_numpy(dtype=float),
            minlength=self.index.n,
        )
        self._check_beds_city()
        self.exact_seconds: float | None = None

    # -- validation
    def _validate(self) -> None:
        layers, request, fac = self.layers, self.request, self.facilities
        if len(layers.units) == 0:
            raise _stop("no_units", ["units"])
        if request.method not in METHODS:
            raise _stop("bad_method", ["request"], method=request.method)
        fac_ids = set(fac["id"].astype(str))
        unit_ids = set(self.index.unit_ids.to_numpy(dtype=object).tolist())  # not one by one
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
                    "lock_conflict", ["locks"], options=[make_option(("unlock", {"unit": str(u)}))], unit=u
                )
        reasons = [(str(f), r) for f, r in [*request.designated_leads, *request.g5_waivers]]
        for fid, reason in reasons:
            if not has_visible_text(reason):
                raise _stop(
                    "missing_reason", ["request"], suggestions=[("give_reason", {})], id=fid
                )
        for fid, reason in [*reasons, ("G2", request.g2_reason)]:
            if (length := text_too_long(reason, "max_reason_chars")) is not None:
                raise _stop(
                    "reason_too_long", ["request"], id=fid, length=f"{length:,}",
                    limit=f"{text_limit('max_reason_chars'):,}",
                )
        if request.k < 1:
            raise _stop("k_invalid", ["k"], options=[make_option(("k", {"k": MIN_GRIDS}))], k=request.k)
        if request.balance is not None and not (0 < request.balance < 10):
            raise _stop(
                "bad_balance", ["request"], options=[make_option(("balance", {"tolerance": 0.3}))],
                tolerance=request.balance,
            )
        if request.min_beds_per_1000 is not None and request.min_beds_per_1000 < 0:
            raise _stop(
                "bad_beds", ["request"], options=[make_option(("beds", {"value": None}))],
                value=request.min_beds_per_1000,
            )

        by_id = fac.assign(_id=fac["id"].astype(str)).drop_duplicates("_id").set_index("_id")
        outside = pd.Series(self.location.outside, index=fac["id"].astype(str).to_numpy())
        outside = outside[~outside.index.duplicated()]
        designatable = may_designate(fac, self.location.outside)
        designatable_ids = set(fac.loc[designatable, "id"].astype(str))
        # Made eligible by a what-if edit (owner, type or level): a G4 exception, so a lead
        # only when designated with a written reason.
        by_whatif = whatif_eligible_ids(layers, fac) if request.edits else set()
        designatable_ids |= by_whatif
        for fid, _reason in request.designated_leads:
            fid = str(fid)
            if fid not in designatable_ids:
                row = by_id.loc[fid]
                raise _stop(
                    "designation_not_allowed",
                    ["g4"],
                    options=[make_option(("undesignate", {"id": fid}))],
                    id=fid,
                    name=row.get("name", fid),
                    **why_cannot_lead(row, bool(outside.get(fid, False))),
                )
        cand = rules.lead_candidates(
            fac,
            self.location.outside,
            designated=[f for f, _ in request.designated_leads],
            excluded=request.excluded_leads,
        )
        undesignated = by_whatif - {str(f) for f, _ in request.designated_leads}
        cand = cand[~cand["id"].astype(str).isin(undesignated)]
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
                    options=[make_option(("unexclude", {"id": fid})), make_option(("unfix", {"id": fid}))],
                    id=fid,
                )
            if fid not in cand_set:
                row = by_id.loc[fid]
                opts = [make_option(("unfix", {"id": fid}))] if fid in request.fixed_leads else []
                if fid in designatable_ids:
                    opts.insert(0, make_option(("designate", {"id": fid})))
                raise _stop(
                    "fixed_not_eligible",
                    ["g4"],
                    options=opts,
                    id=fid,
                    name=row.get("name", fid),
                    **why_cannot_lead(row, bool(outside.get(fid, False))),
                )
            required.append(fid)
        self.required_ids = required

        n_cand = len(cand)
        k = request.k
        if k == 1 and not has_visible_text(request.g2_reason):
            opts = [make_option(("g2_reason", {}))] + (
                [make_option(("k", {"k": MIN_GRIDS}))] if n_cand >= MIN_GRIDS else []
            )
            raise _stop("k_below_two", ["g2"], options=opts, k=k)
        designate = [make_option(("designate", {"id": f})) for f in self._designatable(cand_set)]
        if k >= MIN_GRIDS and n_cand < MIN_GRIDS:
            outside = self._outside_eligible()
            raise _stop(
                "too_few_eligible_outside" if outside else "too_few_eligible",
                ["g4", "k"],
                options=designate + [make_option(("g2_reason", {}))],
                count=n_cand,
                k=k,
                outside=outside,
            )
        if k > n_cand:
            max_k = len(set(self._candidate_units().tolist()))
            fewer = (
                [make_option(("k", {"k": max_k}))] if max_k >= MIN_GRIDS else [make_option(("g2_reason", {}))]
            )
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
                options=[make_option(("k", {"k": len(required)}))]
                + [make_option(("unfix", {"id": f})) for f in request.fixed_leads],
                count=len(required),
                k=k,
                ids=required,
            )
        if k > len(layers.units):
            raise _stop(
                "k_above_units",
                ["k", "units"],
                options=[make_option(("k", {"k": len(layers.units)}))],
                suggestions=[("finer_units", {})],
                k=k,
                count=len(layers.units),
            )

    def _designatable(self, cand_set: set[str]) -> list[str]:
        order = designation_order(self.facilities, self.location.outside)
        return [f for f in order["id"].astype(str) if f not in cand_set][:3]

    def _outside_eligible(self) -> list[tuple[str, str]]:
        """(name, id) of the eligible leads outside the city, labelled when the message is read."""
        fac = self.facilities
        mask = rules.g4_eligible(fac).to_numpy() & self.location.outside
        return [(str(r["name"]), str(r["id"])) for _, r in fac[mask].iterrows()]

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
            opts = (
                [make_option(("k", {"k": distinct}))] if distinct >= MIN_GRIDS else [make_option(("g2_reason", {}))]
            )
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

    def _demand(self) -> np.ndarray:
        try:
            w = unit_demand(self.layers, self.request)
        except DemandError as exc:
            raise _stop(f"g9_{exc.code}", ["request"], **exc.params) from None
        if weighted(self.request) and self.request.min_beds_per_1000:
            # The solvers count beds against the demand they balance; per 1,000 residents is
            # another measure, so the two are not combined rather than approximated.
            raise _stop(
                "g9_with_beds", ["request", "beds"],
                options=[make_option(("beds", {"value": None}))],
                value=self.request.min_beds_per_1000,
            )
        return w

    def _check_beds_city(self) -> None:
        min_beds = self.request.min_beds_per_1000
        if min_beds is None or min_beds <= 0:
            return
        city = self.beds.sum() / max(self.w.sum(), 1e-12) * 1000.0
        if city < min_beds:
            raise _stop(
                "beds_impossible",
                ["beds"],
                options=[make_option(("beds", {"value": math.floor(city * 100) / 100}))],
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

    def _locks_at(self, leads: list[int]) -> np.ndarray:
        """:meth:`_lock_grid` for the leads given as candidate positions."""
        return self._lock_grid([self.cand_ids[c] for c in leads])

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
        """The request as an :class:`grid_planning.planning.exact.ExactProblem`."""
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

    def _solve_exact(
        self, seconds: float = exact.EXACT_TIME_LIMIT, refusal: StopPlanning | None = None
    ) -> tuple[list[int], np.ndarray, dict]:
        if self.exact_seconds is not None:
            seconds = min(seconds, self.exact_seconds)
        if refusal is not None:  # after a heuristic's refusal: a plan or a proof, not the last 5 %
            problem = self.exact_problem()
            out = self.fallback(problem).run(seconds)
            if out.plan is not None:
                return out.plan
            if out.proof is not None:
                raise self._proven(problem, out)
            res = out.result
        else:
            res = exact.solve_exact(self.exact_problem(), time_limit=seconds)
        if res.status in ("optimal", "feasible"):
            sel = {
                "leads": res.leads,
                "objective": res.objective,
                "lower_bound": res.bound,
                "method": "exact-mip",
                "iterations": 1,
            }
            return res.leads, res.labels, sel
        if res.status == "infeasible":
            raise _stop("no_plan", self._active(), proven=True, k=self.request.k)
        if refusal is not None:  # the heuristic's refusal, said as what it is: not found
            inf = refusal.infeasible
            raise StopPlanning(
                replace(inf, code="not_found", params=inf.params | {"seconds": round(res.seconds)})
            )
        raise _stop("exact_timeout", self._active(), seconds=round(res.seconds, 1), k=self.request.k)

    def fallback(self, problem: exact.ExactProblem | None = None) -> Fallback:
        """The stages after a heuristic's refusal (:mod:`grid_planning.planning.fallback`)."""
        problem = self.exact_problem() if problem is None else problem
        return Fallback(problem, self.index, self._locks_at, self._partition)

    def _proven(self, problem: exact.ExactProblem, out: Outcome) -> StopPlanning:
        """The refusal the fallback proved, saying how (the planar argument names its units)."""
        words: dict = {"proof": "sections"} if out.proof == "sections" else {}
        if out.proof == "paths":
            words = {"proof": "paths", "paths": out.evidence[0], "grids": out.evidence[1]}
        if out.proof == "planar":
            units, cands = self.layers.units, self.candidates
            words = planar.refusal_words(
                problem, out.evidence, self.index.unit_ids,
                units["name"].astype(str).to_numpy() if "name" in units else None,
                self.cand_ids, cands["name"].astype(str).tolist() if "name" in cands else None)
        return _stop("no_plan", self._active(), proven=True, k=self.request.k, **words)

    def _partition(self, leads: list[int], minutes: np.ndarray | None = None) -> Partition:
        """A partition among the candidates ``leads`` with the request's constraints set (G5 and
        its waivers, balance, beds); ``minutes``: the columns it assigns by (the leads' travel
        minutes unless given). Its locks are the caller's to pin."""
        req = self.request
        if minutes is None:
            minutes = np.ascontiguousarray(self.dc[:, leads], dtype=np.float64)
        part = Partition(self.adj, self.w, minutes, self.cand_unit[leads], self.nbrs)
        part.set_constraints(
            g5=self.g5,
            waived=self._waived([self.cand_ids[c] for c in leads]),
            balance=req.balance,
            beds=self.beds,
            min_beds_per_1000=req.min_beds_per_1000,
        )
        return part

    def _active(self) -> list[str]:
        return active_constraints(self.request)

    def _solve_heuristic(self) -> tuple[list[int], np.ndarray, dict, Partition | None]:
        req = self.request
        try:
            sel = select_leads(self.dc, self.w, req.k, self.required, self.cand_unit)
        except NoLeadSet:
            raise _stop("no_lead_set", ["fixed", "k"], k=req.k) from None

        def lock_grid_for(leads: list[int]) -> np.ndarray | None:
            return self._locks_at(leads) if req.locks else None

        sel = refine_leads(
            self.dc, self.w, self.adj, self.nbrs, sel, self.required, self.cand_unit, lock_grid_for
        )
        leads = list(sel["leads"])
        lead_ids = [self.cand_ids[i] for i in leads]
        part = self._partition(leads)
        try:
            part.pin_locks(self._lock_grid(lead_ids))
        except LockError as exc:
            unit = str(self.index.unit_ids[exc.unit])
            code = "lock_on_other_lead" if exc.kind == "on_other_lead" else "locks_break_contiguity"
            raise _stop(
                code,
                ["locks"],
                options=[make_option(("unlock", {"unit": unit}))],
                unit=unit,
                lead=lead_ids[exc.grid],
            ) from None
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
                refusal = self._heuristic_refusal(part, [self.cand_ids[i] for i in leads])
                if (
                    self.index.n <= EXACT_FALLBACK_UNITS
                    and self.index.n * len(self.cand_ids) <= FALLBACK_MAX_VARIABLES
                ):
                    leads, labels, sel = self._solve_exact(FALLBACK_SECONDS, refusal)
                    part = None
                else:
                    inf = refusal.infeasible
                    spent = max(1, round(time.perf_counter() - t0))
                    raise StopPlanning(
                        replace(inf, code="not_found", params=inf.params | {"seconds": spent})
                    )
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
            "max_balance_dev": max_balance_deviation(pops, mean),
        }
        return PlanResult(plan, None, stats)

    def _heuristic_refusal(self, part: Partition, lead_ids: list[str]) -> StopPlanning:
        """What the heuristic could not meet (a proof only where counting shows it)."""
        self._counted_proofs()
        missing = part.g5_missing()
        req = self.request
        if missing:
            return _stop(
                "g5_unsatisfiable", ["g5"], lead=[lead_ids[g] for g in missing], k=req.k
            )
        if req.balance is not None and part.max_dev() > req.balance + 1e-9:
            return _stop(
                "balance_impossible", ["balance"], tolerance=req.balance, best_dev=part.max_dev(),
                k=req.k,
            )
        worst = part.min_beds_per_1000()
        return _stop(
            "beds_unsatisfiable", ["beds"], value=req.min_beds_per_1000, best=worst, lead="-",
            k=req.k,
        )

    def _counted_proofs(self) -> None:
        """Refusals that need no search: fewer units with a G5 member than grids needing one,
        or a single unit holding more residents than a grid may."""
        req = self.request
        need = req.k - len(req.g5_waivers)
        holders = int((self.g5 > 0).sum())
        if holders < need:
            raise _stop("g5_too_few", ["g5"], proven=True, k=req.k, need=need, count=holders)
        if req.balance is not None:
            high = (1 + req.balance) * self.w.sum() / req.k
            if self.w.max() > high + 1e-9:
                u = int(np.argmax(self.w))
                raise _stop(
                    "balance_unit_too_big", ["balance"], proven=True, tolerance=req.balance,
                    unit=str(self.index.unit_ids[u]), population=float(self.w[u]), high=high,
                )

    # -- the plan value
    def _build_plan(self, labels: np.ndarray, lead_ids: list[str], sel: dict) -> tuple[Plan, float]:
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
            "lead_eligibility": lead_elig,
            "assumed_leads": [lid for lid, e in lead_elig.items() if e == "assumed"],
            REQUEST_PARAM: req.to_dict(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "version": __version__,
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
        failed = [c for c in check_policy(self.layers, plan) if c.status == "fail"]
        if failed:
            raise _stop(
                "checks_failed",
                sorted({c.rule.lower() for c in failed}),
                rules=sorted({c.rule for c in failed}),
                detail="; ".join(c.message("en") for c in failed[:3]),
            )


def edited_facilities(layers: CityLayers, edits):
    if not edits:
        return layers.facilities
    try:
        return apply_facility_edits(layers.facilities, edits)
    except ValueError as exc:
        raise _stop("bad_edit", ["request"], suggestions=[("fix_edit", {})], detail=str(exc)) from None


def _costs_for(layers: CityLayers, facilities: gpd.GeoDataFrame, params: CostParams,
               costs: CostMatrix | None) -> CostMatrix:
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
