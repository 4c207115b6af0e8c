"""Cross-sections: a narrow part of the city lets only so many grids through (issue 15).

Some requests have no plan because the city is long and narrow: the G5 units lie at one end, the
leads at the other, and more grids must run the length of the city than its narrowest parts have
units side by side (``strip-100u-k4-edge4-8%-lock``: HiGHS with the leads fixed decides its lead
sets in 59-94 s, the chords in 63 s). This module writes that down as a small relaxation of every
plan with a given lead set, which HiGHS settles in about a second a set there.

The argument
------------
Preconditions, checked once per city (:func:`spans_of`; when one fails the step says nothing):
every unit is one polygon, and every pair of units the planner treats as adjacent comes within
:data:`GAP` m of each other (an island or bridge link across a wider gap gets no claim).

Project the units on an axis (x, then y) and widen each unit's projection by ``GAP / 2`` on both
sides (then outwards to whole centimetres, so that no comparison rests on rounding; widening
more keeps every fact below true). A unit is connected, so its projection is an interval; two adjacent units are within
``GAP`` of each other, so their widened intervals overlap. A grid is connected in the adjacency,
so the union of its units' widened intervals is one interval, its *span*. Cut the axis at every
end of a unit's widened interval; for a point ``t`` inside a piece (not an end), ``S_t`` is the
set of units whose widened interval contains ``t``. Every plan with the lead set then satisfies:

- a grid's span is one run of pieces, and it covers every piece of each of its units;
- a grid whose span covers ``t`` holds a unit of ``S_t`` (``t`` lies in one of its units'
  intervals); so at most ``|S_t|`` grids cover ``t``, and the grids crossing a narrow part share
  its units (an axis on which no ``S_t`` has fewer units than there are grids is left out: its
  rows would rarely bind, and dropping rows keeps a relaxation a relaxation);
- every unit in one grid, each lead's unit and locked unit in its grid, every other unit of a
  grid next to another unit of it (a grid is connected), every unit within the planner's bounds
  (:func:`grid_planning.planning.exact.lead_set_bounds`), the balance band, beds, and G5: a grid
  needing G5 (G5 enforced, no waiver, no G5 member in its lead's unit nor in a unit locked to it)
  holds a G5 unit that is neither another lead's unit nor locked.

:func:`close` gives HiGHS these rows (unit-to-grid and piece-covered binaries, no flows, zero
objective). They hold in every plan with the set, so when HiGHS proves them infeasible no plan
has the set. When they are feasible, or HiGHS runs out of time, nothing is claimed: the rows know
nothing of how a grid winds in the plane.

Measured (benchmarks/prove_undecided.py ``--sections``, bench_sections.py; benchmarks/README.md):
``strip-100u-k4-edge4-8%-lock``, each of its 10 lead sets closed in 0.3-1 s, 3-7 s in all (the
chords: 63-171 s); ``strip-300u-k8-edge10-8%-lock``: no set closed in 20 s (with the units split
among grids the rows of its set 28 have a solution), so it stays open. Not yet a planner step
(the hook proposed in benchmarks/bench_sections.py: a proof in about 3 s on strip-100u, 0.5-2.5 s
more on cities planned after a heuristic refusal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
import shapely

from grid_planning.base.cache import memo
from grid_planning.domain.request import balance_band
from grid_planning.planning.clock import Budget
from grid_planning.planning.exact import (
    Closed,
    ExactProblem,
    lead_set_bounds,
    new_highs,
    reach,
    rows_lp,
)

#: Widest gap (m) between two adjacent units: farther apart, the step claims nothing.
GAP = 1.0


#: Seconds HiGHS may spend on one lead set's rows.
SET_SECONDS = 5.0


@dataclass(frozen=True)
class Spans:
    """The units' projections on the axes, widened by ``GAP / 2`` (:func:`spans_of`).

    Attributes
    ----------
    applies : bool
        Whether every precondition holds (see the module docstring).
    why_not : str
        The first precondition that fails (English); empty when it applies.
    lo, hi : ndarray or None
        ``(n_axes, n_units)``: each unit's widened interval on each axis (m).
    """

    applies: bool
    why_not: str = ""
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None


def spans_of(geometry: np.ndarray, adjacency: sp.spmatrix) -> Spans:
    """Check the preconditions and project the units on x and y (see the module docstring).

    Parameters
    ----------
    geometry : ndarray of shapely geometries
        The units in a metric CRS (unit positions).
    adjacency : sparse matrix
        ``(n_units, n_units)``: the pairs the planner treats as adjacent.

    Returns
    -------
    Spans
        ``applies`` False (with ``why_not``) when a precondition fails.
    """
    geoms = np.asarray(geometry)
    if len(geoms) == 0:
        return Spans(False, "no units")
    if (shapely.get_type_id(geoms) != 3).any() or shapely.is_empty(geoms).any():
        return Spans(False, "a unit is not one polygon")
    coo = sp.triu(sp.csr_matrix(adjacency, dtype=float), k=1).tocoo()
    far = np.flatnonzero(shapely.distance(geoms[coo.row], geoms[coo.col]) > GAP)
    if len(far):
        u, v = int(coo.row[far[0]]), int(coo.col[far[0]])
        return Spans(False, f"units {u} and {v} are adjacent but more than {GAP} m apart")
    box = shapely.bounds(geoms)
    # widened outwards to whole centimetres: equal ends are equal floats, distinct ones far apart
    lo = np.floor((np.stack([box[:, 0], box[:, 1]]) - GAP / 2) * 100) / 100
    hi = np.ceil((np.stack([box[:, 2], box[:, 3]]) + GAP / 2) * 100) / 100
    return Spans(True, "", lo, hi)


def city_spans(index: object) -> Spans:
    """:func:`spans_of` a city's index (its ``geometry`` and ``adjacency``), computed once per
    index and kept as long as it lives."""
    return memo(index, ("sections-spans",), lambda: spans_of(index.geometry, index.adjacency))


def _needs(p: ExactProblem, leads: tuple[int, ...]) -> tuple[list[int], list[int], dict[int, int]]:
    """The grids needing a G5 unit of their own, the G5 units they may use, and the grid of
    each unit locked to the set (see the module docstring)."""
    roots = [int(p.cand_unit[c]) for c in leads]
    lock_grid = {int(u): list(leads).index(int(c)) for u, c in p.locks if int(c) in leads}
    if not p.enforce_g5 or p.g5 is None:
        return [], [], lock_grid
    holder = [int(h) for h in np.flatnonzero(np.asarray(p.g5) > 0)]
    waived = np.zeros(p.m, bool) if p.g5_waived is None else np.asarray(p.g5_waived, bool)
    own = {g for g in range(len(leads)) if p.g5[roots[g]] > 0 or waived[leads[g]]}
    own |= {lock_grid[h] for h in holder if h in lock_grid}
    need = [g for g in range(len(leads)) if g not in own]
    free = [h for h in holder if h not in lock_grid and h not in roots]
    return need, free, lock_grid


def span_rows(p: ExactProblem, spans: Spans, roots: list[int], allowed: np.ndarray, x: dict,
              col: Callable[[], int], rows: list) -> None:
    """Append the neighbour and span rows of the module docstring to ``rows`` (``(columns,
    coefficients, lower, upper)``), for grids rooted at the units ``roots`` whose unit-in-grid
    binaries are ``x[u, g]``; ``col()`` makes a new binary column and returns its index (so
    another model, e.g. one with flows, can take the rows too)."""
    k = len(roots)
    adj = sp.csr_matrix(p.adjacency)
    for g in range(k):  # a grid of more than one unit is connected: each unit has a neighbour in it
        for u in np.flatnonzero(allowed[g]).tolist():
            if u != roots[g]:
                nb = [x[v, g] for v in adj.indices[adj.indptr[u]:adj.indptr[u + 1]].tolist()
                      if v != u and (v, g) in x]
                rows.append(([x[u, g]] + nb, [1.0] + [-1.0] * len(nb), -np.inf, 0.0))
    for lo, hi in zip(spans.lo, spans.hi, strict=True):
        ends = np.unique(np.r_[lo, hi])
        mids = (ends[:-1] + ends[1:]) / 2
        first = np.searchsorted(mids, lo)
        last = np.searchsorted(mids, hi) - 1
        inside = [np.flatnonzero((lo < t) & (hi > t)) for t in mids]
        if min(len(units) for units in inside) >= k:
            continue  # no part of the city narrower than the grids: this axis adds little
        for g in range(k):
            z = [col() for _ in mids]
            s = [col() for _ in mids]
            rows.append((s, [1.0] * len(s), 0.0, 1.0))  # one run of pieces
            rows.append(([z[0], s[0]], [1.0, -1.0], -np.inf, 0.0))
            for j in range(1, len(mids)):
                rows.append(([z[j], z[j - 1], s[j]], [1.0, -1.0, -1.0], -np.inf, 0.0))
            for j, units in enumerate(inside):
                us = [x[u, g] for u in units.tolist() if (u, g) in x]
                rows.append(([z[j]] + us, [1.0] + [-1.0] * len(us), -np.inf, 0.0))
            for u in np.flatnonzero(allowed[g]).tolist():
                rows.append(([x[u, g], z[first[u]]], [1.0, -1.0], -np.inf, 0.0))
                rows.append(([x[u, g], z[last[u]]], [1.0, -1.0], -np.inf, 0.0))


def model(p: ExactProblem, spans: Spans, leads: tuple[int, ...], allowed: np.ndarray) -> highspy.HighsLp:
    """The rows of the module docstring for one lead set, as a HiGHS model (zero objective).

    Parameters
    ----------
    p : ExactProblem
    spans : Spans
        :func:`spans_of` the city (it must apply).
    leads : tuple of int
        Candidate positions, one per grid.
    allowed : ndarray of bool
        ``(len(leads), n_units)``: the units each grid can hold
        (:func:`grid_planning.planning.exact.lead_set_bounds`).
    """
    n, k = p.n, len(leads)
    w = np.asarray(p.population, dtype=float)
    roots = [int(p.cand_unit[c]) for c in leads]
    need, free, lock_grid = _needs(p, leads)
    lower: list[float] = []
    ints: list[bool] = []
    rows: list[tuple[list[int], list[float], float, float]] = []

    def col(lo: float = 0.0, whole: bool = True) -> int:
        lower.append(lo)
        ints.append(whole)
        return len(lower) - 1

    x = {(u, g): col(1.0 if u == roots[g] or lock_grid.get(u) == g else 0.0)
         for g in range(k) for u in np.flatnonzero(allowed[g]).tolist()}
    for u in range(n):
        idx = [x[u, g] for g in range(k) if (u, g) in x]
        rows.append((idx, [1.0] * len(idx), 1.0, 1.0))
    span_rows(p, spans, roots, allowed, x, col, rows)
    if p.balance is not None:
        low, high = balance_band(w.sum() / max(int(p.k), 1), p.balance)
        for g in range(k):
            us = np.flatnonzero(allowed[g]).tolist()
            rows.append(([x[u, g] for u in us], [float(w[u]) for u in us],
                         low * (1 - 1e-9) - 1e-6, high * (1 + 1e-9) + 1e-6))
    if p.min_beds_per_1000 is not None and p.beds is not None:
        beds = 1000.0 * np.asarray(p.beds, dtype=float) - p.min_beds_per_1000 * w
        for g in range(k):
            us = np.flatnonzero(allowed[g]).tolist()
            rows.append(([x[u, g] for u in us], [float(beds[u]) for u in us], -1e-6, np.inf))
    for g in need:
        hs = [x[h, g] for h in free if (h, g) in x]
        rows.append((hs, [1.0] * len(hs), 1.0, np.inf))
    return rows_lp(rows, lower, np.ones(len(lower)), ints)


def close(p: ExactProblem, spans: Spans, leads: tuple[int, ...], allowed: np.ndarray | None = None,
          seconds: float = SET_SECONDS) -> str:
    """Whether the cross-sections close the lead set ``leads``.

    Returns
    -------
    str
        ``"none"``: no plan has the set (the bounds or the rows of the module docstring are
        infeasible); ``"open"``: the rows have a solution (no claim); ``"unknown"``: HiGHS ran
        out of ``seconds``, or the preconditions fail (no claim).
    """
    if allowed is None:
        allowed = lead_set_bounds(p, leads, reach(p)[0])
        if allowed is None:
            return "none"
    if not spans.applies:
        return "unknown"
    h = new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1.0)
    h.passModel(model(p, spans, tuple(leads), allowed))
    Budget(max(seconds, 0.01)).limit(h)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return "none"
    return "open" if h.getInfo().primal_solution_status == 2 else "unknown"


def close_sets(p: ExactProblem, spans: Spans, sets: list[tuple[int, ...]], seconds: float,
               set_seconds: float = SET_SECONDS, stop_at_open: bool = False) -> Closed:
    """:func:`close` on the sets of ``sets`` in order, within ``seconds`` in all (``set_seconds``
    at most each; a set not reached in time stays open). ``stop_at_open``: leave the rest
    unchecked (open) after the first set not closed, when only closing every set is worth the
    time (a proven refusal). Claims nothing when the preconditions fail."""
    if not spans.applies or not sets:
        return Closed.of(p, sets, [])
    budget = Budget(seconds)
    base = reach(p)[0]
    left_sets: list[tuple[int, ...]] = []
    closed: list[tuple[int, ...]] = []
    for s in sets:
        left = budget.left()
        if left <= 0 or (stop_at_open and left_sets):
            left_sets.append(tuple(s))
            continue
        allowed = lead_set_bounds(p, s, base)
        if allowed is None or close(p, spans, s, allowed, min(set_seconds, left)) == "none":
            closed.append(tuple(s))
        else:
            left_sets.append(tuple(s))
    return Closed.of(p, left_sets, closed, base=base)
