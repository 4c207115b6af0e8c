"""Why a request has no plan, and what would give one: the rules that bind, and options
(a wider tolerance, another k, another lead set, an exception) each verified by a planning run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from grid_planning.assess.checks import check_policy
from grid_planning.assess.metrics import grid_metrics
from grid_planning.base.i18n import t
from grid_planning.domain.request import (
    BALANCE_STEP,
    COUNTED_CODES,
    Infeasible,
    Option,
    PlanRequest,
    PlanResult,
    active_constraints,
    make_option,
)
from grid_planning.domain.rules import MIN_GRIDS
from grid_planning.planning.candidates import eligible_leads
from grid_planning.planning.run import StopPlanning, edited_facilities, solve

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers


# ---- refusals: what binds, and the nearest valid options -------------------------------------------
def _feasible(layers: CityLayers, request: PlanRequest, costs: CostMatrix | None) -> bool:
    return solve(layers, request, costs, exact_seconds=VERIFY_SECONDS).ok


#: A reason filled in to test an option that records an exception (never shown or kept).
_PROBE = "(verification)"


#: How many changes an offered option may combine, and how many planning runs a refusal may spend
#: finding and verifying its options.
OPTION_DEPTH = 3


ANALYSIS_RUNS = 60


#: Seconds the exact program may spend in each planning run of a refusal's analysis (an option
#: it cannot verify in that time is not offered).
VERIFY_SECONDS = 4.0


#: Refusals of the solve stage: what binds is found by relaxing each requirement.
SOLVE_CODES = (
    "no_plan", "not_found", "exact_timeout", "g5_unsatisfiable", "balance_impossible",
    "beds_unsatisfiable",
)


class _Budget:
    def __init__(self, runs: int = ANALYSIS_RUNS) -> None:
        self.runs = runs

    def plan(self, layers: CityLayers, request: PlanRequest, costs: CostMatrix | None) -> PlanResult:
        self.runs -= 1
        return solve(layers, request, costs, exact_seconds=VERIFY_SECONDS)


def _verify(
    layers: CityLayers, request: PlanRequest, costs: CostMatrix | None, options: Iterable[Option],
    depth: int, budget: _Budget
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
        nested = analyse_refusal(layers, trial, costs, inf, depth + 1, budget)
        valid += [Option(opt.steps + more.steps, verified=True) for more in nested.options]
    return valid


def _k_options(layers: CityLayers, request: PlanRequest, costs: CostMatrix | None,
               limit: int) -> list[Option]:
    """Other numbers of grids that give a plan: the nearest ones first, never below 2, never the
    k asked."""
    ks = []
    for d in range(1, 4):
        for k in (request.k - d, request.k + d):
            if MIN_GRIDS <= k <= limit and k != request.k and k not in ks:
                ks.append(k)
    found = []
    for k in ks:
        if _feasible(layers, replace(request, k=k), costs):
            found.append(make_option(("k", {"k": k})))
            if len(found) == 2:
                break
    return [replace(o, verified=True) for o in found]


def _nearest_balance(layers: CityLayers, request: PlanRequest, costs: CostMatrix | None,
                     unbalanced: PlanResult) -> float | None:
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


def _best_beds(layers: CityLayers, plan: PlanResult) -> float | None:
    """The beds per 1,000 the least-equipped grid has in ``plan`` (the request planned without
    the beds minimum), rounded down."""
    if not plan.ok:
        return None

    gm = grid_metrics(layers, plan.plan, None)
    value = math.floor(float(gm["beds_per_1000"].min()) * 100) / 100
    return value if value > 0 else None


def _lacking_g5(layers: CityLayers, res: PlanResult) -> list[str]:
    """Leads whose grid lacks a G5 member in ``res``, the best plan without G5 (every candidate
    waived)."""
    if not res.ok:
        return []
    return [
        str(res.plan.leads[c.grid_id])
        for c in check_policy(layers, res.plan)
        if c.rule == "G5" and c.status == "exception"
    ]


def _all_candidates(layers: CityLayers, request: PlanRequest) -> list[str]:
    try:
        fac = edited_facilities(layers, request.edits)
    except StopPlanning:
        return []
    return eligible_leads(fac, request, layers)["id"].astype(str).tolist()


def analyse_refusal(
    layers: CityLayers,
    request: PlanRequest,
    costs: CostMatrix | None,
    inf: Infeasible,
    depth: int = 0,
    budget: _Budget | None = None,
) -> Infeasible:
    """Verify a refusal's options and, for a refusal of the solve stage, find what binds."""
    budget = budget or _Budget()
    try:
        limit = max(MIN_GRIDS, len(_all_candidates(layers, request)))
        if inf.code in COUNTED_CODES:  # proven by counting: keep the words, find the options
            bound = _binding(layers, request, costs, inf)
            inf = replace(bound, code=inf.code, params=bound.params | inf.params, proven=True)
        elif inf.code in SOLVE_CODES:
            inf = _binding(layers, request, costs, inf)
            if not inf.proven:  # a heuristic or a time limit: never worded as impossible
                inf = replace(
                    inf, code="not_found", params={"seconds": 0} | inf.params | {"k": request.k}
                )
        options = _verify(layers, request, costs, inf.options, depth, budget)
        if "k" in inf.binding or inf.code in (
            "no_plan", "not_found", "g5_unsatisfiable", "beds_unsatisfiable", "g5_too_few"
        ):
            known = {_key(o) for o in options}
            options += [o for o in _k_options(layers, request, costs, limit) if _key(o) not in known]
        if not options and request.k >= MIN_GRIDS and depth == 0:  # the last resort: one grid, said why
            options = _verify(layers, request, costs, [make_option(("g2_reason", {}))], depth, budget)
        options = _once(options, request)
        options.sort(key=lambda o: _distance(o, request))
        names, unit_names = _names(layers, request)
        return replace(inf, params=_named_leads(inf.params, names),
                       options=tuple(_named(o, names, unit_names) for o in options))
    except Exception:  # noqa: BLE001 - the refusal itself must still reach the planner
        return inf


def _distance(option: Option, request: PlanRequest) -> tuple[int, int, int]:
    """How far an option goes from what was asked: options that record no policy exception
    first (a wider tolerance, another k, another lead set), exceptions after them; within each,
    keeping k first, another k next, one grid (a G2 exception) last; then the fewest changes."""
    k = option.apply(request, reason=_PROBE).k
    return (
        int(option.needs_reason),
        0 if k == request.k else 2 if k == 1 else 1,
        len(option.steps),
    )


def _once(options: list[Option], request: PlanRequest) -> list[Option]:
    """Each option once: two options that change the request the same way (the same steps in
    another order, A then B and B then A) are one option."""
    out, seen = [], set()
    for opt in options:
        key = repr(opt.apply(request, reason=_PROBE))
        if key in seen or key == repr(request):
            continue
        seen.add(key)
        out.append(opt)
    return out


def _key(option: Option) -> str:
    return repr(option.steps)


def _names(layers: CityLayers, request: PlanRequest) -> tuple[dict[str, str], dict[str, str]]:
    """The facilities' names (as edited by the request) and the units' names, by id."""
    try:
        fac = edited_facilities(layers, request.edits)
    except StopPlanning:
        return {}, {}
    units = layers.units
    return (dict(zip(fac["id"].astype(str), fac["name"].astype(str), strict=False)),
            dict(zip(units["id"].astype(str), units["name"].astype(str), strict=False))
            if "name" in units else {})


def _named_leads(params: dict, names: dict[str, str]) -> dict:
    """The refusal's leads (``lead``: ids) as (name, id), labelled when read, as the options
    and the proofs name them."""
    lead = params.get("lead")
    if not isinstance(lead, list | tuple) or not all(isinstance(f, str) for f in lead):
        return params
    return params | {"lead": [(names.get(f, f), f) for f in lead]}


def _named(option: Option, names: dict[str, str], unit_names: dict[str, str]) -> Option:
    """The option with the names of its facilities and units beside their ids (a planner reads
    names; the refusal's proof names them the same way)."""
    steps = []
    for kind, p in option.steps:
        if "unit" in p:  # a unit's id may also be a facility's: looked up among the units only
            ids, of = [p["unit"]], unit_names
        else:
            ids, of = [p["id"]] if "id" in p else list(p.get("leads") or ()), names
        named = {str(f): of[str(f)] for f in ids if str(f) in of}
        steps.append((kind, p | {"named": named} if named else p))
    return replace(option, steps=tuple(steps))


def _rule_words(constraints: Iterable[str]) -> dict[str, object]:
    """The conflicting requirements named in each reader's language (``rules`` is the English
    list; ``rules_zh`` is read by a Chinese message)."""
    constraints = list(constraints)
    en = [t(f"planner.constraint.{c}", "en") for c in constraints]
    return {"rules": en, "rules_en": en,
            "rules_zh": [t(f"planner.constraint.{c}", "zh") for c in constraints]}


def _binding(layers: CityLayers, request: PlanRequest, costs: CostMatrix | None,
             inf: Infeasible) -> Infeasible:
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
    relaxed = {
        c: solve(layers, relax[c](request), costs, exact_seconds=VERIFY_SECONDS) for c in active
    }
    alone = [c for c in active if relaxed[c].ok]
    options: list[Option] = []
    params = dict(inf.params) | {"k": request.k}
    for c in alone:
        if c == "g5":
            lacking = _lacking_g5(layers, relaxed["g5"])
            if lacking:
                options.append(make_option(("g5_waiver", {"leads": lacking})))
                params["lead"] = lacking
        elif c == "balance":
            tol = _nearest_balance(layers, request, costs, relaxed["balance"])
            if tol is not None:
                options.append(make_option(("balance", {"tolerance": tol})))
                params["best_dev"] = tol
            options.append(make_option(("balance", {"tolerance": None})))
        elif c == "beds":
            value = _best_beds(layers, relaxed["beds"])
            if value is not None:
                options.append(make_option(("beds", {"value": value})))
                params["best"] = value
        elif c == "locks":
            options.append(make_option(*[("unlock", {"unit": str(u)}) for u, _ in request.locks]))
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
        params |= _rule_words(alone)
    else:
        together = request
        for c in active:
            together = relax[c](together)
        binding = tuple(active)
        if _feasible(layers, together, costs):
            code = "constraints_conflict"
            params |= _rule_words(active)
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
