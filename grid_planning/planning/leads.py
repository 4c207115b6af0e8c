"""Lead selection: which eligible hospitals lead the k grids (a p-median over the candidates).

When the number of lead sets is small (``C(m, k) * n * k`` below :data:`EXHAUSTIVE_BUDGET`) every
set is evaluated (the exact p-median optimum, a lower bound of the contiguous problem). Otherwise
greedy addition followed by Teitz-Bart vertex substitution with vectorised swap evaluation, from the
greedy start and a few seeded random starts. Required leads (fixed, designated, implied by locks)
are always in; two leads never share a unit (a unit belongs to one grid). When contiguity repair of
the chosen set costs more than :data:`CONTIGUITY_SLACK` of the objective (a lead whose nearest
region spans a lake, an island lead), the most promising single swaps are re-evaluated with the true
contiguous objective (:func:`grid_planning.planning.partition.cost_only`).

Raises :class:`NoLeadSet` when no set of k candidates in distinct units exists.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from grid_planning.planning.partition import cost_only

#: Work budget (units x lead sets x k) below which every lead set is enumerated.
EXHAUSTIVE_BUDGET = 2e6


#: Random restarts of the swap heuristic (on top of the greedy start); more with many candidates.
SWAP_RESTARTS = 2


SWAP_RESTARTS_MANY = 5


MANY_CANDIDATES = 20


#: Lead sets are re-examined with the contiguous objective when contiguity repair costs more than
#: this share of the p-median objective.
CONTIGUITY_SLACK = 0.002


#: Rounds and candidate swaps per round of that re-examination.
REFINE_ROUNDS = 3


REFINE_SWAPS = 8


class NoLeadSet(Exception):  # noqa: N818 - a condition the planner turns into a refusal
    """No k candidates lie in k distinct units (with the required ones among them)."""


def select_leads(
    dc: np.ndarray, w: np.ndarray, k: int, required: list[int], cand_unit: np.ndarray
) -> dict:
    """p-median over candidate columns of ``dc`` (units x candidates).

    Returns
    -------
    dict
        ``leads`` (sorted candidate positions), ``objective`` (weighted minutes), ``lower_bound``
        (the objective when every set was evaluated, else None), ``method``, ``iterations``.
    """
    m, n = dc.shape[1], dc.shape[0]
    dm = np.asarray(dc, dtype=np.float32)
    wf = w.astype(np.float64)
    free = [j for j in range(m) if j not in required]
    n_free = k - len(required)
    n_sets = math.comb(len(free), n_free) if n_free >= 0 else 0
    if n_sets * n * k <= EXHAUSTIVE_BUDGET:
        return _exhaustive(dm, wf, k, required, free, n_free, cand_unit)
    dt = np.ascontiguousarray(dm.T)
    rows = np.ascontiguousarray(dm) if _boundable(dm, wf) else None  # for the swap bounds
    best = None
    rng = np.random.default_rng(12345)
    restarts = SWAP_RESTARTS_MANY if m > MANY_CANDIDATES else SWAP_RESTARTS
    starts = [None] + [rng.permutation(free)[:n_free].tolist() for _ in range(restarts)]
    iters = 0
    for start in starts:
        if start is None:
            cur = _greedy(dm, wf, k, required, free, cand_unit, dt)
        else:
            cur = list(required) + _distinct_units(start, cand_unit, required, free, n_free)
        if len(cur) < k:
            continue
        cur, val, it = _swap(dt, wf, cur, required, free, cand_unit, rows)
        iters += it
        if best is None or val < best[1] - 1e-9:
            best = (cur, val)
    return {
        "leads": sorted(best[0]),
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
    if n_free < 0:
        raise NoLeadSet
    combos = [
        c
        for c in itertools.combinations(free, n_free)
        if len({int(cand_unit[j]) for j in (*required, *c)}) == k
    ]
    if not combos:
        raise NoLeadSet
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
    chunk = max(1, int(2e7 // max(1, n * n_free)))
    for s in range(0, len(combos), chunk):
        block = np.asarray(combos[s : s + chunk], dtype=np.int64).reshape(-1, n_free)
        mins = np.minimum(dm[:, block].min(axis=2), base[:, None])  # (n, c)
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


def _greedy(dm, w, k, required, free, cand_unit, dt=None) -> list[int]:
    """Greedy addition (``dt``: ``dm`` transposed, C order, when the caller has it)."""
    cur = list(required)
    used = {int(cand_unit[j]) for j in cur}
    best = dm[:, cur].min(axis=1) if cur else np.full(dm.shape[0], np.inf, np.float32)
    while len(cur) < k:
        opts = [j for j in free if j not in cur and int(cand_unit[j]) not in used]
        if not opts:
            raise NoLeadSet
        # ``dt[opts].T`` is ``dm[:, opts]`` (the same values, the same Fortran-ordered strides,
        # so einsum sums them alike) from whole rows: 4x faster than gathering columns.
        cols = dm[:, opts] if dt is None else dt[opts].T
        vals = (
            np.einsum("uc,u->c", np.minimum(best[:, None], cols), w)
            if np.isfinite(best).all()
            else np.einsum("uc,u->c", cols, w)
        )
        j = opts[int(np.argmin(vals))]
        cur.append(j)
        used.add(int(cand_unit[j]))
        best = np.minimum(best, dm[:, j])
    return cur


def _swap(dt, w, cur, required, free, cand_unit, dm=None) -> tuple[list[int], float, int]:
    """Teitz-Bart vertex substitution, best improvement per pass (``dt``: candidates x units;
    ``dm``, the same minutes as units x candidates in C order, lets :func:`_best_swap` bound the
    swaps: give it only when :func:`_boundable`)."""
    cur = list(cur)
    val = float(dt[cur].min(axis=0) @ w)
    it = 0
    while True:
        it += 1
        out = [j for j in free if j not in cur]
        if not out:
            break
        best_move = _best_swap(dt, dm, w, cur, required, out, cand_unit, val)
        if best_move is None or it > 200:
            break
        i, j, _v = best_move
        cur[cur.index(i)] = j
        val = float(dt[cur].min(axis=0).astype(np.float64) @ w)
    return cur, val, it


def _best_swap(dt, dm, w, leads, required, out, cand_unit, val) -> tuple[int, int, float] | None:
    """The move of one Teitz-Bart pass: ``(lead, candidate, value)`` of the allowed swap
    (:func:`_swaps`) of smallest value below ``val - 1e-5 val``, the first lead then the first
    candidate on a tie; None when no swap improves.

    Every swap's value is the float32 sum :func:`_swaps` gives, but most are never summed: a
    lower bound of each (:func:`_swap_bounds`, about a quarter of the work) rules out the swaps
    that cannot be below the threshold or the best value summed so far (on 100,000 units, 96 %
    of them), and only the others are summed, as :func:`_swaps` sums them. The move is the same.
    """
    limit = val - 1e-5 * max(val, 1.0)
    bounded = _swap_bounds(dt, dm, w, leads, out) if dm is not None else None
    if bounded is None:
        best_move = None
        for i, opts, vals in _swaps(dt, w, leads, required, out, cand_unit):
            j = int(np.argmin(vals))
            if vals[j] < limit and (best_move is None or vals[j] < best_move[2]):
                best_move = (i, opts[j], float(vals[j]))
        return best_move
    bounds, arg, d1, d2 = bounded
    row_of = {j: r for r, j in enumerate(out)}
    w32 = w.astype(np.float32)
    pairs = []  # (bound, lead position, option position, row) of every allowed swap
    opts_of = {}
    for p, i in enumerate(leads):
        if i in required:
            continue
        used = {int(cand_unit[j]) for j in leads if j != i}
        opts = [j for j in out if int(cand_unit[j]) not in used]
        opts_of[p] = opts
        pairs += [(float(bounds[p, row_of[j]]), p, q, row_of[j]) for q, j in enumerate(opts)]
    pairs.sort()
    without = {}  # lead position -> each unit's minutes without that lead
    found = []  # (value, lead position, option position)
    best, at = np.inf, 0
    while at < len(pairs) and pairs[at][0] <= min(best, limit):
        batch = [x for x in pairs[at : at + SWAP_BATCH] if x[0] <= min(best, limit)]
        at += SWAP_BATCH
        for p in sorted({x[1] for x in batch}):
            mine = [x for x in batch if x[1] == p]
            rows = [x[3] for x in mine]
            if p not in without:  # the nearest other lead's minutes, as :func:`_swaps` has them
                without[p] = np.where(arg == p, d2, d1)
            if len(opts_of[p]) == 1:
                vals = _weighted_min(dt[[out[rows[0]]]], without[p], w32, _scratch(dt))
            else:  # never a lone row: :func:`_swaps` sums a lone lead's row only as it does here
                sel = rows if len(rows) > 1 else rows * 2
                vals = _weighted_min(dt[[out[r] for r in sel]], without[p], w32, _scratch(dt))
            for x, v in zip(mine, vals, strict=False):
                found.append((float(v), x[1], x[2]))
                if v < limit:
                    best = min(best, float(v))
    improving = [f for f in found if f[0] < limit]
    if not improving:
        return None
    v, p, q = min(improving)
    return leads[p], opts_of[p][q], v


#: Swaps summed at a time by :func:`_best_swap` (between two looks at the best value so far).
SWAP_BATCH = 8


#: Unit roundoff of float32, and the most a float32 sum of ``n`` non-negative products can be
#: off, relatively, whatever the order of the sum (Higham's gamma_n).
_U32 = 2.0**-24


def _gamma(n: int) -> float:
    return n * _U32 / (1 - n * _U32)


#: Units above which the bounds are not used (gamma_n grows with n: 0.25 at 4.2 million).
MAX_BOUNDED_UNITS = 2**22


def _swap_bounds(dt, dm, w, leads, out) -> tuple | None:
    """Lower bounds of every swap's float32 value (leads x ``out``), or None when there is one
    lead (``dm`` must hold finite, non-negative minutes, ``w`` non-negative weights: see
    :func:`_boundable`); with each unit's nearest lead (position), its minutes to it and to the
    second nearest.

    Split the units by their nearest lead (its region). A swap of lead ``p`` for candidate ``c``
    costs, exactly, ``T2(p, c)`` plus the sum of ``T1(q, c)`` over the other leads ``q``: ``T1``
    the weighted minima of ``c`` and the nearest lead over a region, ``T2`` those of ``c`` and
    the second-nearest lead over ``p``'s region. Each is a float32 sum of non-negative terms,
    within gamma_(its length) of its exact value, and the value :func:`_swaps` sums is within
    gamma_n of the exact cost: moved by these, the bound is below the value however the sums
    were ordered."""
    n = dt.shape[1]
    if len(leads) < 2:
        return None
    w32 = w.astype(np.float32)
    near = dt[leads]
    arg = near.argmin(axis=0)
    cols = np.arange(n)
    d1 = near[arg, cols]
    near[arg, cols] = np.inf  # ``near`` is a copy (fancy indexing)
    d2 = near.min(axis=0)
    t1 = np.zeros((len(leads), len(out)))  # lower bounds of the exact T1 and T2
    t2 = np.zeros((len(leads), len(out)))
    size = np.zeros((len(leads), len(out)))  # the float32 sums, for the float64 slack
    for p in range(len(leads)):
        region = np.flatnonzero(arg == p)
        if not len(region):
            continue
        sub = np.take(dm, region, axis=0)
        wr = w32[region]
        g = 1 + _gamma(len(region))
        # float64 from here (a float32 array divided by a Python float stays float32)
        one = np.einsum("uc,u->c", np.minimum(sub, d1[region][:, None]), wr)[out].astype(float)
        two = np.einsum("uc,u->c", np.minimum(sub, d2[region][:, None]), wr)[out].astype(float)
        t1[p], t2[p] = one / g, two / g
        size[p] = one + two
    low = (t1.sum(axis=0)[None, :] - t1 + t2) * (1 - _gamma(n)) - 1e-12 * size.sum(axis=0)
    return low, arg, d1, d2


def _boundable(dm: np.ndarray, w: np.ndarray) -> bool:
    """Whether :func:`_swap_bounds` holds: finite, non-negative minutes and weights (a gamma_n
    bound is relative to the sum of the terms' sizes, the sum itself when none is negative)."""
    w32 = w.astype(np.float32)
    return bool(
        1 < dm.shape[0] <= MAX_BOUNDED_UNITS  # a swap needs two units (not the G2 minimum)
        and np.isfinite(w32).all() and (w32 >= 0).all()
        and np.isfinite(dm).all() and (dm >= 0).all()
    )


def _blocks(c: int) -> Iterator[tuple[int, int]]:
    """Row blocks ``[start, stop)`` of at most :data:`SWAP_BLOCK` rows covering ``c >= 2`` rows,
    none of one row (einsum sums a lone row along another path, whose sum can differ in the
    last bit; a last lone row is taken with the one before it)."""
    start = 0
    while start < c:
        stop = min(c, start + SWAP_BLOCK)
        if stop - start == 1:
            start = stop - 2
        yield start, stop
        start = stop


def _swaps(dt, w, leads, required, out, cand_unit) -> Iterator[tuple[int, list[int], np.ndarray]]:
    """Every allowed single swap: for each lead ``i`` that is not required, the candidates of
    ``out`` that may replace it (one lead per unit: not on a unit another lead holds) and the
    weighted cost of each replacement.

    The same numbers as :func:`swap_values` for each lead, with the work shared across the leads
    of one pass: the rows of ``out`` gathered once (not once per lead), and each unit's minutes
    without lead ``i`` taken from its nearest and second-nearest lead (a minimum is exact)."""
    w32 = w.astype(np.float32)
    pool = dt[out] if out else np.zeros((0, dt.shape[1]), dtype=dt.dtype)
    row_of = {j: r for r, j in enumerate(out)}
    near = dt[leads]
    if len(leads) > 1:
        arg = near.argmin(axis=0)
        cols = np.arange(near.shape[1])
        d1 = near[arg, cols]
        near[arg, cols] = np.inf  # ``near`` is a copy (fancy indexing)
        d2 = near.min(axis=0)
    buf = _scratch(pool)
    for p, i in enumerate(leads):
        if i in required:
            continue
        rest = [j for j in leads if j != i]
        used = {int(cand_unit[j]) for j in rest}
        opts = [j for j in out if int(cand_unit[j]) not in used]
        if not opts:
            continue
        if len(leads) > 1:
            d_wo = np.where(arg == p, d2, d1)
        else:
            d_wo = np.full(dt.shape[1], np.inf, np.float32)
        rows = pool if len(opts) == len(out) else pool[[row_of[j] for j in opts]]
        yield i, opts, _weighted_min(rows, d_wo, w32, buf)


def swap_values(dt: np.ndarray, w: np.ndarray, rest: list[int], opts: list[int]) -> np.ndarray:
    """Weighted cost of ``rest + [j]`` for every ``j`` in ``opts`` (vectorised swap evaluation)."""
    d_wo = dt[rest].min(axis=0) if rest else np.full(dt.shape[1], np.inf, np.float32)
    rows = dt[opts]
    return _weighted_min(rows, d_wo, w.astype(np.float32), _scratch(rows))


#: Candidate rows taken at a time by :func:`_weighted_min`: their minima stay in the CPU cache
#: between being written and being summed (100,000 units: 4 x 400 kB).
SWAP_BLOCK = 4


def _scratch(rows: np.ndarray) -> np.ndarray:
    """Scratch space for :func:`_weighted_min` over rows like ``rows``."""
    return np.empty((SWAP_BLOCK, rows.shape[1]), dtype=rows.dtype)


def _weighted_min(rows: np.ndarray, d_wo: np.ndarray, w32: np.ndarray, buf: np.ndarray) -> np.ndarray:
    # float32 (relative error ~1e-6): callers demand a larger improvement than that and recompute
    # the accepted value in float64. einsum, not BLAS matmul: on a busy 2-core machine threaded
    # sgemv was 40x slower for these shapes.
    # A few rows at a time (``buf``: SWAP_BLOCK rows), not all at once: the same sums, bit for bit
    # (einsum sums each row on its own), with the minima read back from the cache instead of
    # memory (~25 % less time on 100,000 units). A block of one row would take einsum's 1-D path,
    # whose sums can differ in the last bit, so a lone last row is summed with the one before it.
    c = rows.shape[0]
    out = np.empty(c, dtype=np.float32)
    for start, stop in _blocks(c) if c > 1 else [(0, c)]:
        blk = buf[: stop - start]
        np.minimum(rows[start:stop], d_wo[None, :], out=blk)
        out[start:stop] = np.einsum("cu,u->c", blk, w32)
    return out.astype(np.float64)


def refine_leads(
    dc: np.ndarray,
    w: np.ndarray,
    adjacency: sp.csr_matrix,
    neighbours: list[list[int]],
    sel: dict,
    required: list[int],
    cand_unit: np.ndarray,
    lock_grid_for,
) -> dict:
    """Contiguity-aware lead swaps (see the module docstring).

    ``lock_grid_for(leads)`` gives the grid index each unit is locked to for a lead set (or None).
    """

    def value(leads: list[int]) -> float:
        dm = np.ascontiguousarray(dc[:, leads], dtype=np.float64)
        return cost_only(adjacency, w, dm, cand_unit[leads], neighbours, lock_grid_for(leads))

    leads = list(sel["leads"])
    cur = value(leads)
    if not np.isfinite(cur) or cur <= sel["objective"] * (1 + CONTIGUITY_SLACK):
        return sel
    dt = np.ascontiguousarray(np.asarray(dc, dtype=np.float32).T)
    m = dt.shape[0]
    evaluated = 0
    for _round in range(REFINE_ROUNDS):
        swaps: list[tuple[float, int, int]] = []
        out = [j for j in range(m) if j not in leads]
        for i, opts, vals in _swaps(dt, w, leads, required, out, cand_unit):
            swaps += [(float(v), i, j) for v, j in zip(vals, opts, strict=True)]
        swaps.sort()
        best = None
        for _v, i, j in swaps[:REFINE_SWAPS]:
            trial = sorted([x for x in leads if x != i] + [j])
            val = value(trial)
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
