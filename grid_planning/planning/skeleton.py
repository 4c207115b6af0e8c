"""Skeleton trials: disjoint trees from each lead to what its grid must hold, a plan around them.

On the hardest cities of the reference family (tests/reference_cities.py: a strip with every G5
hospital at its two ends, k = 4, +-10 %) a plan exists only with grids drawn as long arms, each
reaching past its neighbours to a G5 unit of its own. The heuristic grows grids by minutes and
never draws them; the wider search (:mod:`grid_planning.planning.search`) pins the cheapest path
of each grid one grid after another, and a path pinned first blocks the next grid's.

Every plan with a lead set holds, in each grid, a tree joining the lead's unit to the units locked
to the grid and (unless waived) to a G5 unit, the trees of different grids disjoint, each tree's
residents within the band's upper bound. This module finds such trees for all grids at once, a
small integer program (HiGHS): ``y[g, v]`` unit ``v`` on grid ``g``'s tree, ``z[g, a]`` arc ``a``
of the tree (at most one arc into a unit, an arc only into a unit of the tree), a flow from the
lead to the tree's terminals (one unit each) that only arcs of the tree carry, ``t[g, h]`` the
G5 unit the tree reaches, ``sum_g y[g, v] <= 1`` and ``sum_v w_v y[g, v] <= hi``. The objective
is the trees' residents, each unit's scaled by a random factor per grid, so trees are light
(they leave the grids room for the balance) and each trial draws others. The trees' units are
then locked to their grids: :func:`grid_planning.planning.exact.lead_set_bounds` rejects most
trees at once (a tree cutting a grid off from residents it needs), and the exact model with these
leads, the trees fixed and a zero objective completes the others into a plan in well under a
second (or not), polished on the true minutes like the wider search's plans.

Being a relaxation of the plan (every plan holds such trees), a program HiGHS proves infeasible
closes its lead set: when every lead set the exact bounds leave is closed so, no plan exists.

Measured on the reference family (tests/reference_cities.py; benchmarks/README.md,
bench_refusals): strip-60u-k4-corners5-10% (every G5 unit at the strip's two ends) is planned at
the 9th trial, 1-1.6 s of CPU, seeds 0-3 alike; the wider search and the exact model alone found
nothing in 20 s, the exact model with one lead set fixed needed 3-8 s of CPU per set. On
strip-100u-k4-edge4-8%-lock the trees close 4 of the 10 lead sets the bounds leave in 0.2 s each
(no plan has them); no other undecided city of the family is decided by it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import highspy
import numpy as np

from grid_planning.domain.request import balance_band
from grid_planning.planning.clock import Budget
from grid_planning.planning.exact import (
    ExactProblem,
    lead_set_bounds,
    links,
    new_highs,
    reach,
    solve_exact,
)
from grid_planning.planning.partition import Partition
from grid_planning.planning.search import polished

#: Seconds one tree program may take (a 60-100-unit city: 0.1-0.2 s; most of them at 300 units
#: take longer and are left for later rounds).
TREE_SECONDS = 1.0


#: Seconds the exact model may take to complete a plan around trees that pass the bounds (CPU
#: seconds, :mod:`grid_planning.planning.clock`, and never past the budget: strip-60u's 2nd trial
#: needs 0.7 s of CPU; on the wall clock it had taken 5-7 s at a load of 8-9 on 2 cores, and
#: this limit was sized for that).
COMPLETE_SECONDS = 10.0


#: After the first round, a lead set whose trees never passed the bounds is tried once in this
#: many rounds (on strip-60u one set in 15 has trees that do, and holds the plan).
RETRY_EVERY = 4


#: After this many tree programs out of their time the trials stop (at 300 units every one of
#: them does: strip-300u-k8-edge10 spent 13 s on 13 of them; the recombination after the trials,
#: :mod:`grid_planning.planning.recombine`, gets that time).
OUT_OF_TIME = 2


#: Spread of the random factor on each unit's minutes in the objective (drawn in [1 - s, 1 + s]).
SPREAD = 0.8


@dataclass(frozen=True)
class SkeletonOutcome:
    """What :func:`skeleton_search` found: ``plan`` (leads, labels, trials) or None, whether
    every lead set was closed (no plan exists), the trials, and the trees no plan completed."""

    plan: tuple[list[int], np.ndarray, int] | None
    closed_all: bool
    trials: int
    #: the trees found (lead set, grid per unit, -1 off them) that no plan completed, in turn
    trees: tuple[tuple[tuple[int, ...], np.ndarray], ...] = ()


def trees(
    p: ExactProblem,
    leads: tuple[int, ...],
    allowed: np.ndarray,
    cost: np.ndarray,
    seconds: float,
    nodes: int | None = None,
) -> tuple[str, np.ndarray | None]:
    """Disjoint trees for the lead set (see the module docstring). ``allowed``:
    :func:`grid_planning.planning.exact.lead_set_bounds` of the set, ``(k, n_units)``;
    ``cost``: ``(k, n_units)``, a unit's cost on a grid's tree; ``nodes``: a limit on HiGHS's
    branch-and-bound nodes (work counted, not timed; ``seconds`` then only a safety net).

    Returns
    -------
    ("trees", labels) with the grid of each unit on a tree (-1 elsewhere); ("none", None) when
    proven that no trees exist (no plan has these leads); ("unknown", None) out of time.
    """
    budget = Budget(seconds)
    n, k = p.n, len(leads)
    roots = np.asarray(p.cand_unit, dtype=np.int64)[list(leads)]
    w = np.maximum(np.asarray(p.population, dtype=float), 0.0)
    high = np.inf
    if p.balance is not None:
        high = balance_band(w.sum() / max(int(p.k), 1), p.balance)[1] * (1 + 1e-9) + 1e-6
    coo = links(p).tocoo()
    tail, head = coo.row.astype(np.int64), coo.col.astype(np.int64)
    into = [[] for _ in range(n)]
    out_of = [[] for _ in range(n)]
    for a in range(len(tail)):
        into[int(head[a])].append(a)
        out_of[int(tail[a])].append(a)
    holder = (np.asarray(p.g5) > 0) if (p.enforce_g5 and p.g5 is not None) else np.zeros(n, bool)
    waived = np.zeros(p.m, bool) if p.g5_waived is None else np.asarray(p.g5_waived, dtype=bool)
    lo: list[float] = []
    hi: list[float] = []
    obj: list[float] = []
    rows: list[tuple[list[int], list[float], float, float]] = []

    def var(upper: float = 1.0, c: float = 0.0) -> int:
        lo.append(0.0)
        hi.append(upper)
        obj.append(c)
        return len(lo) - 1

    y = np.full((k, n), -1, dtype=np.int64)
    for g in range(k):
        for v in np.flatnonzero(allowed[g]):
            y[g, v] = var(c=float(cost[g, v]))
        lo[y[g, roots[g]]] = 1.0
    for g in range(k):
        terms = {int(u) for u, c in p.locks if int(c) == int(leads[g])}
        need = bool(holder.any()) and not waived[leads[g]]
        total = len(terms) + int(need)
        if total == 0:
            continue
        z, f = {}, {}
        for a in range(len(tail)):
            u, v = int(tail[a]), int(head[a])
            if allowed[g, u] and allowed[g, v] and v != roots[g]:
                z[a], f[a] = var(), var(float(total))
                rows.append(([f[a], z[a]], [1.0, -float(total)], -np.inf, 0.0))
        t = {}
        if need:
            for h in np.flatnonzero(holder & allowed[g]):
                t[int(h)] = var()
                rows.append(([t[int(h)], int(y[g, h])], [1.0, -1.0], -np.inf, 0.0))
            rows.append((list(t.values()), [1.0] * len(t), 1.0, 1.0))
        for v in np.flatnonzero(allowed[g]):
            v = int(v)
            if v == roots[g]:
                continue
            ins = [a for a in into[v] if a in z]
            outs = [a for a in out_of[v] if a in z]
            idx = [f[a] for a in ins] + [f[a] for a in outs]
            coef = [1.0] * len(ins) + [-1.0] * len(outs)
            if v in t:
                idx.append(t[v])
                coef.append(-1.0)
            demand = 1.0 if v in terms else 0.0
            rows.append((idx, coef, demand, demand))
            # at most one arc into a unit of the tree, none into a unit off it; on it, one
            rows.append(([z[a] for a in ins] + [int(y[g, v])], [1.0] * len(ins) + [-1.0], -np.inf, 0.0))
            rows.append(([int(y[g, v])] + [z[a] for a in ins], [1.0] + [-1.0] * len(ins), -np.inf, 0.0))
            if v in terms:
                lo[y[g, v]] = 1.0
        units = np.flatnonzero(allowed[g])
        rows.append((y[g, units].tolist(), w[units].tolist(), -np.inf, float(high)))
    for v in range(n):
        ys = [int(y[g, v]) for g in range(k) if y[g, v] >= 0]
        rows.append((ys, [1.0] * len(ys), -np.inf, 1.0))

    h = new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1.0)  # any trees: the objective only varies them
    if nodes is not None:
        h.setOptionValue("mip_max_nodes", int(nodes))
    lp = highspy.HighsLp()
    lp.num_col_ = len(lo)
    lp.col_cost_ = np.asarray(obj)
    lp.col_lower_ = np.asarray(lo)
    lp.col_upper_ = np.asarray(hi)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * len(lo)
    h.passModel(lp)
    starts, idx, vals, rlo, rhi = [], [], [], [], []
    for cols, coef, a, b in rows:
        starts.append(len(idx))
        idx.extend(cols)
        vals.extend(coef)
        rlo.append(a)
        rhi.append(b)
    h.addRows(len(starts), np.asarray(rlo), np.asarray(rhi), len(idx),
              np.asarray(starts, dtype=np.int32), np.asarray(idx, dtype=np.int32),
              np.asarray(vals, dtype=float))
    budget.limit(h)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return "none", None
    if h.getInfo().primal_solution_status != 2:  # 2: a feasible solution
        return "unknown", None
    x = np.asarray(h.getSolution().col_value)
    labels = np.full(n, -1, dtype=np.int64)
    for g in range(k):
        on = np.flatnonzero((y[g] >= 0) & (x[np.maximum(y[g], 0)] > 0.5))
        labels[on] = g
    return "trees", labels


def _complete(
    p: ExactProblem, leads: tuple[int, ...], tree: np.ndarray, base: np.ndarray, seconds: float
) -> tuple[bool, np.ndarray | None]:
    """Whether the trees ``tree`` (grid per unit, -1 off them) pass the bounds, and a plan
    holding them (None when not found): the trees' units locked to their grids, :func:`grid_planning.planning.exact.lead_set_bounds` (most trees end
    here: a tree cutting a grid off from residents it needs), then the exact model with these
    leads and a zero objective (any plan), for at most ``seconds``."""
    locks = {int(u): int(c) for u, c in p.locks}
    for v in np.flatnonzero(tree >= 0):
        locks[int(v)] = int(leads[int(tree[v])])
    fixed = replace(p, locks=tuple(locks.items()), required=tuple(leads))
    bounds = lead_set_bounds(fixed, leads, base)
    if bounds is None:
        return False, None
    mask = np.zeros((p.m, p.n), bool)
    mask[list(leads)] = bounds
    res = solve_exact(
        replace(fixed, mask=mask, minutes=np.zeros_like(p.minutes)), time_limit=seconds, gap=1.0
    )
    if res.status not in ("optimal", "feasible"):
        return True, None
    pos = {c: g for g, c in enumerate(leads)}
    return True, np.array([pos[res.leads[i]] for i in res.labels], dtype=np.int64)


def skeleton_search(
    p: ExactProblem,
    sets: list[tuple[int, ...]],
    lock_grid: Callable[[list[int]], np.ndarray],
    build: Callable[[list[int], np.ndarray], Partition],
    budget: Budget,
    *,
    seed: int = 0,
    max_trials: int | None = None,
) -> SkeletonOutcome:
    """Skeleton trials over ``sets`` in turn (nearest first), each tree program given at most
    :data:`TREE_SECONDS` and the time left, until one plans, every set is closed, or
    ``budget`` is spent, ``max_trials`` have run or
    :data:`OUT_OF_TIME` tree programs ran out of their time. A set closed or out of time is dropped
    from later rounds (a later round draws other trees for the others); a set whose trees have
    never passed the bounds is tried once in :data:`RETRY_EVERY` rounds.

    ``lock_grid``: lead set -> grid of each locked unit (-1 elsewhere); ``build``: as in
    :class:`grid_planning.planning.search.WiderSearch`. Returns the plan (leads, labels
    polished on the true minutes, trials), whether every set was closed, and the trials."""
    rng = np.random.default_rng(seed)
    base, _ = reach(p)
    minutes = np.asarray(p.minutes, dtype=float)
    weight = np.asarray(p.population, dtype=float) / max(float(np.max(p.population)), 1e-9)
    live = [tuple(s) for s in sets]
    bounds = {}
    trials = 0
    open_sets = 0  # sets dropped out of time, not closed
    found: list[tuple[tuple[int, ...], np.ndarray]] = []
    passes = dict.fromkeys(live, 0)
    rounds = 0
    while live:
        rounds += 1
        for leads in list(live):
            if rounds > 1 and passes[leads] == 0 and rounds % RETRY_EVERY:
                continue  # a set whose trees never passed the bounds: one round in RETRY_EVERY
            left = budget.left()
            if left <= 0 or (max_trials is not None and trials >= max_trials) or open_sets >= OUT_OF_TIME:
                return SkeletonOutcome(None, False, trials, tuple(found))
            if leads not in bounds:
                bounds[leads] = lead_set_bounds(p, leads, base)
            allowed = bounds[leads]
            if allowed is None:
                live.remove(leads)
                continue
            cost = weight * rng.uniform(1 - SPREAD, 1 + SPREAD, (len(leads), p.n))
            trials += 1
            status, tree = trees(p, leads, allowed, cost + 1e-3, min(TREE_SECONDS, left))
            if status != "trees":
                live.remove(leads)
                open_sets += status == "unknown"
                continue
            found.append((leads, tree))
            left = budget.left()
            if left <= 0:
                return SkeletonOutcome(None, False, trials, tuple(found))
            passed, labels = _complete(p, leads, tree, base, min(COMPLETE_SECONDS, left))
            passes[leads] += passed
            if labels is None:
                continue
            leads_l = list(leads)
            locks = np.asarray(lock_grid(leads_l), dtype=np.int64)
            labels = polished(labels, leads_l, minutes[:, leads_l], locks, build)
            return SkeletonOutcome((leads_l, labels, trials), False, trials, tuple(found))
    return SkeletonOutcome(None, open_sets == 0, trials, tuple(found))
