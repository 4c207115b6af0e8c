"""Exact contiguous planning for small cities: a mixed-integer program solved by HiGHS.

Cities with few units (district- or street-level units, like the Liaoning pilot cities) are planned
exactly: the plan is optimal for the planner's objective under every constraint at once, and when
no plan exists the solver *proves* it, so a refusal is never a heuristic's failure. Larger cities use
the heuristic planner (:mod:`grid_planning.planning.partition`), which falls back here when it cannot satisfy
a request on a city small enough.

Formulation (p-median with contiguity by single-commodity flows, Shirabe 2009):

- ``y_c``: candidate ``c`` leads a grid; ``x_uc``: unit ``u`` belongs to the grid of ``c``;
- every unit in one grid; ``x_uc <= y_c``; a lead's own unit is in its grid; ``sum y = k``;
  fixed leads and locks fix variables;
- contiguity: for each candidate, a flow leaves its unit and each other unit of its grid absorbs
  one unit of flow; flow may only cross adjacency arcs between units of that grid
  (``f_c(u->v) <= (n-1) x_uc`` and ``<= (n-1) x_vc``);
- G5 (grids without a waiver): ``sum_u g5_u x_uc >= y_c``; balance: ``lo y_c <= sum_u w_u x_uc
  <= hi y_c``; beds: ``sum_u (1000 beds_u - min w_u) x_uc >= 0``;
- objective: population-weighted minutes to the lead, ``sum w_u d_uc x_uc``.

Presolve (:func:`reach`): with a balance tolerance a grid holds at most ``hi`` residents, and
being connected it holds a path between any two of its units. So ``x_uc = 0`` where the lightest
path (residents of every unit on it) from the lead's unit to ``u`` holds more than ``hi``, or
where no G5 unit lies within ``hi`` of both (a grid needing G5); a candidate with no G5 unit in
reach cannot lead; and no grid holds more units than the least populated units fitting under
``hi``, which bounds the flows far tighter than ``n - 1``. On tight tolerances this fixes most
of the ``x`` before HiGHS starts and turns many refusals into proofs found in presolve.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
import scipy.sparse as sp
from highspy._core import _Highs  # the core class: see new_highs
from scipy.sparse.csgraph import (
    connected_components,
    dijkstra,
    maximum_bipartite_matching,
    maximum_flow,
)

from grid_planning.domain.request import balance_band
from grid_planning.planning.clock import Budget

#: Largest city (units) planned exactly by default, and the largest model (variables).
EXACT_MAX_UNITS = 40


EXACT_MAX_VARIABLES = 60_000


#: Relative gap of the rounds of cuts before every grid is in one piece.
ROUND_GAP = 0.2


#: Rings of units around a piece whose separator cuts are added with the piece's.
RING_DEPTH = 6


#: Relative gap of an optimal plan, and of the plan sought after a heuristic's refusal (where a
#: plan or a proof is wanted: the heuristic's plans are not optimal either).
OPTIMAL_GAP = 1e-7


REFUSAL_GAP = 0.05


#: Seconds HiGHS may spend before the result counts as unknown.
EXACT_TIME_LIMIT = 20.0


@dataclass(frozen=True)
class ExactProblem:
    """A planning request reduced to arrays (positions, not ids).

    Attributes
    ----------
    minutes : ndarray
        ``(n_units, n_candidates)`` travel minutes from each unit to each candidate lead.
    population : ndarray
        ``(n_units,)`` residents.
    cand_unit : ndarray
        ``(n_candidates,)`` unit position of each candidate.
    k : int
        Number of grids.
    adjacency : csr_matrix
        Unit adjacency (island links included).
    required : tuple of int
        Candidates that must lead.
    locks : tuple of (unit, candidate)
        Units pinned to a candidate's grid.
    g5 : ndarray
        ``(n_units,)`` G5-qualifying members per unit.
    g5_waived : ndarray
        ``(n_candidates,)`` True where the candidate's grid has a G5 waiver.
    enforce_g5 : bool
        False drops G5 altogether (used to find what binds).
    balance : float or None
        Population tolerance around the mean grid population.
    beds : ndarray
        ``(n_units,)`` beds counting for the grid.
    min_beds_per_1000 : float or None
    mask : ndarray of bool, optional
        ``(n_candidates, n_units)`` False where a unit is known to be outside the grid.
    """

    minutes: np.ndarray
    population: np.ndarray
    cand_unit: np.ndarray
    k: int
    adjacency: sp.csr_matrix
    required: tuple[int, ...] = ()
    locks: tuple[tuple[int, int], ...] = ()
    g5: np.ndarray | None = None
    g5_waived: np.ndarray | None = None
    enforce_g5: bool = True
    balance: float | None = None
    beds: np.ndarray | None = None
    min_beds_per_1000: float | None = None
    mask: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.minutes.shape[0])

    @property
    def m(self) -> int:
        return int(self.minutes.shape[1])


@dataclass(frozen=True)
class ExactResult:
    """Outcome of :func:`solve_exact`.

    Attributes
    ----------
    status : {"optimal", "feasible", "infeasible", "unknown"}
        ``optimal``: within the gap asked; ``feasible``: a plan meeting every constraint found
        before the time limit, its optimality unproven; ``unknown``: the time limit passed with
        neither a plan nor a proof.
    leads : list of int
        Candidate positions of the leads (sorted), when solved.
    labels : ndarray
        Index into ``leads`` of each unit's grid, when solved.
    objective : float
        Population-weighted total minutes, when solved.
    seconds : float
    bound : float
        Lower bound on the objective of any plan (HiGHS's dual bound), when solved.
    """

    status: str
    leads: list[int] = field(default_factory=list)
    labels: np.ndarray | None = None
    objective: float = float("nan")
    seconds: float = 0.0
    bound: float = float("nan")


def highs_lp(a: sp.spmatrix, cost, lower, upper, row_lower, row_upper, integer) -> highspy.HighsLp:
    """A HiGHS model: constraint matrix ``a`` (rows x columns), column costs and bounds, row
    bounds, and ``integer`` (per column, whether it is integer)."""
    a = sp.csc_matrix(a)
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = a.shape
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_, lp.col_upper_ = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    lp.row_lower_ = np.asarray(row_lower, dtype=float)
    lp.row_upper_ = np.asarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in integer]
    return lp


def rows_lp(rows: list[tuple[list[int], list[float], float, float]], lower, upper,
            integer) -> highspy.HighsLp:
    """:func:`highs_lp` with no objective, from rows ``(columns, coefficients, low, high)``."""
    a = sp.csc_matrix(
        (np.concatenate([np.asarray(v, float) for _, v, _, _ in rows]),
         (np.concatenate([np.full(len(i), r) for r, (i, _, _, _) in enumerate(rows)]),
          np.concatenate([np.asarray(i, np.int64) for i, _, _, _ in rows]))),
        shape=(len(rows), len(lower)))
    return highs_lp(a, np.zeros(len(lower)), lower, upper, [r[2] for r in rows],
                    [r[3] for r in rows], integer)


def bounds_union(problem: ExactProblem, sets: list[tuple[int, ...]], base=None) -> np.ndarray:
    """``(n_candidates, n_units)``: the union of the lead sets' :func:`lead_set_bounds`
    (``base``: :func:`reach`'s first value, computed when not given)."""
    base = reach(problem)[0] if base is None else base
    union = np.zeros((problem.m, problem.n), bool)
    for s in sets:
        bounds = lead_set_bounds(problem, s, base)
        if bounds is not None:
            union[list(s)] |= bounds
    return union


@dataclass(frozen=True)
class Closed:
    """What an argument that closes lead sets (:mod:`grid_planning.planning.planar`,
    :mod:`grid_planning.planning.sections`) did to a list of them: no plan has a closed set.

    Attributes
    ----------
    sets : list of tuple
        The lead sets left open (in the order given).
    union : ndarray or None
        ``(n_candidates, n_units)``: the union of the open sets' bounds, when some sets were
        closed and some left (None otherwise: the caller's union stands, or nothing is open).
    closed : list of tuple
        The sets closed, in the order given.
    evidence : list
        Per closed set, what closed it (the argument's own record), when the argument keeps one.
    """

    sets: list[tuple[int, ...]]
    union: np.ndarray | None
    closed: list[tuple[int, ...]]
    evidence: list = field(default_factory=list)

    @classmethod
    def of(cls, problem: ExactProblem, left: list[tuple[int, ...]], closed: list[tuple[int, ...]],
           evidence: list | None = None, base=None) -> Closed:
        """The outcome with ``left`` open and ``closed`` closed, their union computed when both
        are non-empty (``base`` as in :func:`bounds_union`)."""
        union = bounds_union(problem, left, base) if left and closed else None
        return cls(list(left), union, list(closed), list(evidence or []))


def links(p: ExactProblem) -> sp.csr_matrix:
    """The units' adjacency without self-links (a unit is not its own neighbour), as floats."""
    adj = sp.csr_matrix(p.adjacency, dtype=float)
    adj.setdiag(0)
    adj.eliminate_zeros()
    return adj


def new_highs() -> _Highs:
    """A quiet HiGHS instance, with nothing done to the process's stdout (a dashboard server
    shares it between sessions).

    highspy's ``Highs`` wrapper sets up Python callbacks in its constructor, which prints HiGHS's
    banner on the C stdout before any option can be set (highspy 1.16, pinned in
    requirements.txt); the core class it wraps takes ``output_flag`` first and prints nothing.
    Callbacks are set on the core class directly (:meth:`grid_planning.planning.clock.Budget.limit`)."""
    h = _Highs()
    h.setOptionValue("output_flag", False)
    return h


def fits(n_units: int, n_candidates: int, n_edges: int, *, max_units: int = EXACT_MAX_UNITS) -> bool:
    """Whether a city is small enough to plan exactly."""
    variables = n_candidates * (1 + n_units + 2 * n_edges)
    return n_units <= max_units and variables <= EXACT_MAX_VARIABLES


def solve_exact(
    problem: ExactProblem,
    time_limit: float = EXACT_TIME_LIMIT,
    *,
    contiguity: str = "flow",
    start: np.ndarray | None = None,
    gap: float = OPTIMAL_GAP,
    presolve: bool = True,
) -> ExactResult:
    """Solve :class:`ExactProblem` to optimality (or prove it has no solution).

    Parameters
    ----------
    problem : ExactProblem
    time_limit : float
        Seconds for the whole solve, every round of cuts included (CPU seconds capped on the
        wall clock: :class:`grid_planning.planning.clock.Budget`).
    contiguity : {"cuts", "flow"}
        ``cuts``: the model without contiguity, solved again with separator cuts added for every
        grid found in pieces until every grid is in one piece (Validi, Buchanan and Lykhovyd
        2022); ``flow``: one single-commodity flow per candidate in one model (Shirabe 2009).
        Both are exact. Measured on planted 60-100-unit cities (tests/corner_cities.py), the
        flow model found the plans the cuts did not within 20 s (the cuts' rounds grow a
        piece unit by unit); the cuts are kept for the benchmark and for cities where the
        flows' variables (candidates x arcs) do not fit.
    start : ndarray, optional
        ``(n_units,)`` candidate position leading each unit's grid in a known plan (the
        heuristic's), given to HiGHS as its first incumbent when it meets every constraint.
    gap : float
        Relative gap at which a plan counts as solved (``1e-7``: optimal; a refusal's fallback
        wants a plan or a proof, not the last 5 %).
    presolve : bool
        Fix what :func:`reach` rules out before HiGHS starts (False: the plain model, for the
        benchmark's side-by-side).

    Returns
    -------
    ExactResult
    """
    t0, budget = time.perf_counter(), Budget(time_limit)
    p = problem
    n, m, k = p.n, p.m, int(p.k)
    if k < 1 or k > m or n == 0:
        return ExactResult("infeasible", seconds=time.perf_counter() - t0)
    model = _Model(p, flows=contiguity == "flow", presolve=presolve)
    if (model.lo > model.hi).any() or model.hi[:m].sum() < k:
        # a required lead or a lock out of reach, or fewer candidates than grids can lead
        return ExactResult("infeasible", seconds=time.perf_counter() - t0)
    h = new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", gap)
    h.passModel(model.lp())
    cuts = 0
    if contiguity == "cuts":
        # Rounds of cuts need a plan, not its proof of optimality: a loose gap until every grid
        # is in one piece, then the exact gap (more rounds if the optimum is in pieces).
        h.setOptionValue("mip_rel_gap", ROUND_GAP)
        h.setOptionValue("mip_improving_solution_save", True)
    final = contiguity != "cuts"
    status_word = "optimal"
    while True:
        if budget.over():
            return ExactResult("unknown", seconds=time.perf_counter() - t0)
        budget.limit(h)
        if start is not None:
            model.give_start(h, start)
            start = None
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return ExactResult("infeasible", seconds=time.perf_counter() - t0)
        if status != highspy.HighsModelStatus.kOptimal:
            # Out of time: a plan found on the way is still a plan meeting every constraint
            # (its optimality unproven), which a refusal must never hide.
            if h.getInfo().primal_solution_status != 2:  # 2: kSolutionStatusFeasible
                return ExactResult("unknown", seconds=time.perf_counter() - t0)
            sol = np.asarray(h.getSolution().col_value)
            chosen = np.argmax(sol[m : m + n * m].reshape(n, m), axis=1)
            if contiguity == "cuts" and model.separators(chosen):
                return ExactResult("unknown", seconds=time.perf_counter() - t0)
            status_word = "feasible"
            break
        sol = np.asarray(h.getSolution().col_value)
        chosen = np.argmax(sol[m : m + n * m].reshape(n, m), axis=1)
        if contiguity != "cuts":
            break
        new = model.separators(chosen)
        for saved in h.getSavedMipSolutions():  # every incumbent of the round teaches a cut
            other = np.asarray(saved.col_value)[m : m + n * m].reshape(n, m)
            new += model.separators(np.argmax(other, axis=1))
        if not new:
            if final:
                break
            final = True
            h.setOptionValue("mip_rel_gap", gap)
            model.give_start(h, chosen)
            continue
        cuts += len(new)
        model.add_cuts(h, new)
    w = np.asarray(p.population, dtype=float)
    leads = sorted(int(c) for c in np.flatnonzero(sol[:m] > 0.5))
    pos = {c: i for i, c in enumerate(leads)}
    labels = np.array([pos[int(c)] for c in chosen], dtype=np.int64)
    objective = float(w @ np.asarray(p.minutes, dtype=float)[np.arange(n), chosen])
    bound = float(h.getInfo().mip_dual_bound)
    return ExactResult(
        status_word, leads, labels, objective, time.perf_counter() - t0, min(bound, objective)
    )


def reach(p: ExactProblem) -> tuple[np.ndarray, int]:
    """Which units each candidate's grid can hold, and the most units a grid can hold (see the
    module docstring).

    Returns
    -------
    allowed : ndarray of bool
        ``(n_candidates, n_units)``.
    most : int
        Upper bound on the units of one grid.
    """
    n, m = p.n, p.m
    w = np.maximum(np.asarray(p.population, dtype=float), 0.0)
    if p.balance is None or n == 0:
        return np.ones((m, n), bool), n
    high = balance_band(w.sum() / max(int(p.k), 1), p.balance)[1] * (1 + 1e-9) + 1e-6
    adj = links(p)
    # node weights on the arc into a unit (a tiny floor: csgraph reads a zero as "no arc")
    arc_w = adj.multiply(sp.csr_matrix(w + 1e-9)).tocsr()
    cand_unit = np.asarray(p.cand_unit, dtype=np.int64)
    g5_on = p.enforce_g5 and p.g5 is not None
    holders = np.flatnonzero(np.asarray(p.g5) > 0) if g5_on else np.zeros(0, np.int64)
    roots = np.unique(np.concatenate([cand_unit, holders]))
    dist = dijkstra(arc_w, directed=True, indices=roots) + (w[roots] + 1e-9)[:, None]
    row = {int(r): i for i, r in enumerate(roots)}
    near_h = dist[[row[int(h)] for h in holders]] <= high  # (holders, units)
    waived = np.zeros(m, bool) if p.g5_waived is None else np.asarray(p.g5_waived, dtype=bool)
    allowed = np.empty((m, n), bool)
    for c in range(m):
        ok = dist[row[int(cand_unit[c])]] <= high
        if g5_on and not waived[c]:
            usable = near_h[:, cand_unit[c]]
            ok &= near_h[usable].any(axis=0)
        allowed[c] = ok
    most = int(np.searchsorted(np.cumsum(np.sort(w)), high, side="right"))
    return allowed, max(1, min(most, n))


class _Model:
    """The rows and columns of one :class:`ExactProblem` (see the module docstring)."""

    def __init__(self, p: ExactProblem, *, flows: bool, presolve: bool = True) -> None:
        self.p = p
        n, m, k = p.n, p.m, int(p.k)
        self.n, self.m = n, m
        w = np.asarray(p.population, dtype=float)
        self.adj = sp.csr_matrix(p.adjacency)
        coo = sp.triu(self.adj, k=1).tocoo()
        arcs = np.concatenate(
            [np.column_stack([coo.row, coo.col]), np.column_stack([coo.col, coo.row])]
        ).astype(np.int64)
        n_arcs = len(arcs) if flows else 0
        self.n_int = m + n * m
        f0 = self.n_int
        n_var = f0 + m * n_arcs
        self.n_var = n_var

        cost = np.zeros(n_var)
        cost[m : m + n * m] = (w[:, None] * np.asarray(p.minutes, dtype=float)).ravel()
        lo = np.zeros(n_var)
        allowed, most = reach(p) if presolve else (np.ones((m, n), bool), n)
        if p.mask is not None:
            allowed = allowed & np.asarray(p.mask, dtype=bool)
        self.big = float(max(most - 1, 1))
        hi = np.concatenate([np.ones(m + n * m), np.full(m * n_arcs, self.big)])
        hi[m : m + n * m] = allowed.T.ravel()
        hi[:m] = allowed[np.arange(m), np.asarray(p.cand_unit, dtype=np.int64)]
        if n_arcs:  # a flow only between two units the grid can hold
            live = allowed[:, arcs[:, 0]] & allowed[:, arcs[:, 1]]
            hi[f0:] = np.where(live, self.big, 0.0).ravel()
        self.allowed = allowed
        for c in p.required:
            lo[c] = 1.0
        for u, c in p.locks:
            lo[self.xi(u, c)] = 1.0
            lo[c] = 1.0
        self.cost, self.lo, self.hi = cost, lo, hi
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.rlo: list[float] = []
        self.rhi: list[float] = []
        add = self.add
        xi = self.xi

        cs = np.arange(m)
        for u in range(n):  # each unit in exactly one grid
            add(xi(u, cs), np.ones(m), 1.0, 1.0)
        for u in range(n):  # only chosen leads have units
            for c in range(m):
                add([xi(u, c), c], [1.0, -1.0], -np.inf, 0.0)
        for c in range(m):  # a lead's own unit is in its grid
            add([xi(int(p.cand_unit[c]), c), c], [1.0, -1.0], 0.0, 0.0)
        add(cs, np.ones(m), float(k), float(k))

        if flows:
            self._flows(arcs, f0)
        else:
            # A unit other than the lead's needs a neighbour in its grid (the separator cut of a
            # single unit): cheap, and it removes most pieces before any round of cuts.
            for c in range(m):
                root = int(p.cand_unit[c])
                for u in range(n):
                    if u == root:
                        continue
                    nb = self.adj.indices[self.adj.indptr[u] : self.adj.indptr[u + 1]]
                    nb = nb[nb != u]
                    add(
                        np.concatenate([[xi(u, c)], xi(nb, c)]),
                        np.concatenate([[1.0], -np.ones(len(nb))]),
                        -np.inf,
                        0.0,
                    )

        if p.enforce_g5 and p.g5 is not None:
            # a unit with a G5 member counts once: the same integer plans, a tighter relaxation
            g5 = np.minimum(np.asarray(p.g5, dtype=float), 1.0)
            waived = (
                np.zeros(m, bool) if p.g5_waived is None else np.asarray(p.g5_waived, dtype=bool)
            )
            holders = np.flatnonzero(g5 > 0)
            for c in range(m):
                if waived[c]:
                    continue
                add(
                    np.concatenate([xi(holders, c), [c]]),
                    np.concatenate([g5[holders], [-1.0]]),
                    0.0,
                    np.inf,
                )
        if p.balance is not None:
            mean = w.sum() / k
            low, high = balance_band(mean, p.balance)
            units = np.arange(n)
            for c in range(m):
                add(np.concatenate([xi(units, c), [c]]), np.concatenate([w, [-high]]), -np.inf, 0.0)
                add(np.concatenate([xi(units, c), [c]]), np.concatenate([w, [-low]]), 0.0, np.inf)
        if p.min_beds_per_1000 is not None and p.beds is not None:
            coef = 1000.0 * np.asarray(p.beds, dtype=float) - float(p.min_beds_per_1000) * w
            units = np.arange(n)
            for c in range(m):
                add(xi(units, c), coef, 0.0, np.inf)

    def xi(self, u, c):
        return self.m + u * self.m + c

    def add(self, col_idx, coef, low, high) -> None:
        col_idx = np.asarray(col_idx, dtype=np.int64)
        self.rows.append(np.full(len(col_idx), len(self.rlo), dtype=np.int64))
        self.cols.append(col_idx)
        self.vals.append(np.asarray(coef, dtype=float))
        self.rlo.append(low)
        self.rhi.append(high)

    def _flows(self, arcs: np.ndarray, f0: int) -> None:
        p, n, m, xi = self.p, self.n, self.m, self.xi
        n_arcs = len(arcs)

        def fi(c, a):
            return f0 + c * n_arcs + a

        big = self.big
        into = [np.flatnonzero(arcs[:, 1] == u) for u in range(n)]
        out_of = [np.flatnonzero(arcs[:, 0] == u) for u in range(n)]
        for c in range(m):
            src = int(p.cand_unit[c])
            for u in range(n):
                if u == src:
                    continue
                a_in, a_out = into[u], out_of[u]
                idx = np.concatenate(
                    [[fi(c, a) for a in a_in], [fi(c, a) for a in a_out], [xi(u, c)]]
                )
                coef = np.concatenate([np.ones(len(a_in)), -np.ones(len(a_out)), [-1.0]])
                self.add(idx, coef, 0.0, 0.0)
            for a in range(n_arcs):
                uu, vv = int(arcs[a, 0]), int(arcs[a, 1])
                if not (self.allowed[c, uu] and self.allowed[c, vv]):
                    continue  # the flow's bound is 0 already
                self.add([fi(c, a), xi(vv, c)], [1.0, -big], -np.inf, 0.0)
                self.add([fi(c, a), xi(uu, c)], [1.0, -big], -np.inf, 0.0)

    def lp(self) -> highspy.HighsLp:
        a = sp.csc_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(len(self.rlo), self.n_var),
        )
        return highs_lp(a, self.cost, self.lo, self.hi, self.rlo, self.rhi,
                        [True] * self.n_int + [False] * (self.n_var - self.n_int))

    def separators(self, chosen: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Cuts for a solution whose grids are in pieces: for a piece ``S`` of grid ``c`` without
        its lead, and each unit ``v`` of ``S``, ``x_vc <= sum of x_uc over the neighbours u of
        S`` (a path from ``v`` to the lead leaves ``S`` through one of them), for every candidate
        whose unit is not in ``S``. Returns (units of S, neighbours of S) pairs."""
        out = []
        adj = self.adj
        for c in np.unique(chosen):
            members = np.flatnonzero(chosen == c)
            sub = adj[members][:, members]
            n_comp, comp = connected_components(sub, directed=False)
            if n_comp == 1:
                continue
            root = int(self.p.cand_unit[c])
            root_comp = comp[np.searchsorted(members, root)]
            for j in range(n_comp):
                if j == root_comp:
                    continue
                piece = members[comp == j]
                mask = np.zeros(self.n, bool)
                mask[piece] = True
                nbrs = np.unique(adj[piece].indices)
                nbrs = nbrs[~mask[nbrs]]
                out.append((piece, nbrs))
        return out

    def add_cuts(self, h, cuts: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Add the separator cuts of each piece and of the rings around it: the piece grown by
        its neighbours, again and again, is still a set the path to the lead must leave
        (one round then forbids a piece and every larger one that still misses the lead, where
        the piece's cut alone lets the next solution grow it by one unit)."""
        starts, idx, vals = [], [], []
        seen = set()
        adj = self.adj
        roots = np.asarray(self.p.cand_unit)
        for piece, nbrs in cuts:
            inside = np.zeros(self.n, bool)
            inside[piece] = True
            ring = nbrs
            for _ in range(RING_DEPTH):
                key = inside.tobytes()
                if key in seen or len(ring) == 0:
                    break
                seen.add(key)
                for c in np.flatnonzero(~inside[roots]):
                    cols = self.xi(ring, c)
                    for v in piece:
                        starts.append(len(idx))
                        idx.append(self.xi(int(v), int(c)))
                        idx.extend(cols.tolist())
                        vals.append(1.0)
                        vals.extend([-1.0] * len(ring))
                inside[ring] = True
                grown = np.unique(adj[ring].indices)
                ring = grown[~inside[grown]]
        count = len(starts)
        if count:
            h.addRows(
                count,
                np.full(count, -np.inf),
                np.zeros(count),
                len(idx),
                np.asarray(starts, dtype=np.int32),
                np.asarray(idx, dtype=np.int32),
                np.asarray(vals, dtype=float),
            )

    def give_start(self, h, start: np.ndarray) -> None:
        """The plan ``start`` (candidate per unit) as HiGHS's first incumbent."""
        sol = np.zeros(self.n_var)
        sol[np.unique(start)] = 1.0
        sol[self.xi(np.arange(self.n), np.asarray(start))] = 1.0
        if self.n_var == self.n_int:  # (flows would need their values too)
            h.setSolution(len(sol), np.arange(len(sol), dtype=np.int32), sol)


def _lightest(adj: sp.csr_matrix, weight: np.ndarray, inside: np.ndarray, sources) -> np.ndarray:
    """Lightest paths (summed node weights, both ends counted) from ``sources`` through units
    ``inside`` only; ``inf`` elsewhere."""
    keep = np.flatnonzero(inside)
    pos = np.full(len(inside), -1)
    pos[keep] = np.arange(len(keep))
    if adj.has_canonical_format:
        # the arcs between units inside, each weighted by its head, straight from the csr
        # arrays (what indexing and multiplying gave, its rows sorted; measured on the
        # reference family's 3,323 calls: the same distances, bit for bit, in a third of the time)
        rows = np.repeat(np.arange(adj.shape[0]), np.diff(adj.indptr))
        on = inside[rows] & inside[adj.indices]
        heads = adj.indices[on]
        indptr = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(np.bincount(pos[rows[on]], minlength=len(keep)), out=indptr[1:])
        arc = sp.csr_matrix((adj.data[on] * (weight[heads] + 1e-9), pos[heads], indptr),
                            shape=(len(keep), len(keep)))
    else:
        sub = adj[keep][:, keep]
        arc = sub.multiply(sp.csr_matrix(weight[keep] + 1e-9)).tocsr()
    src = pos[np.asarray(sources, dtype=np.int64)]
    out = np.full((len(src), len(inside)), np.inf)
    ok = src >= 0
    if ok.any():
        d = dijkstra(arc, directed=True, indices=src[ok]) + (weight[keep][src[ok]] + 1e-9)[:, None]
        out[np.ix_(np.flatnonzero(ok), keep)] = d
    return out


def lead_set_bounds(p: ExactProblem, leads, base: np.ndarray | None = None, *,
                    paths: bool = True) -> np.ndarray | None:
    """Units each grid of the lead set ``leads`` can hold, or None when no plan has these leads.

    What :func:`reach` does for one candidate, done for a lead set and repeated until nothing
    changes: another lead's unit (and a unit locked to another grid) is never on a grid's path;
    a unit only one grid can reach is that grid's, its residents counted before any path; a grid
    needing G5 must reach a G5 unit of its own (a matching of grids to distinct G5 units); a grid
    must reach the lower bound of the band; every unit must be reachable by some grid. Then the
    grids needing G5 must reach G5 units by paths that share no unit (:func:`_disjoint_paths`;
    ``paths`` False: not checked, for :func:`paths_proof`)."""
    n, k = p.n, len(leads)
    leads = np.asarray(leads, dtype=np.int64)
    cand_unit = np.asarray(p.cand_unit, dtype=np.int64)
    roots = cand_unit[leads]
    if len(set(roots.tolist())) < k or not set(p.required) <= set(leads.tolist()):
        return None
    pos = {int(c): g for g, c in enumerate(leads)}
    if any(int(c) not in pos for _, c in p.locks):
        return None
    w = np.maximum(np.asarray(p.population, dtype=float), 0.0)
    low, high = balance_band(w.sum() / max(int(p.k), 1), p.balance)
    high = high * (1 + 1e-9) + 1e-6
    low = low * (1 - 1e-9) - 1e-6
    adj = links(p)
    allowed = np.ones((k, n), bool) if base is None else base[leads].copy()
    allowed[:, roots] = False
    allowed[np.arange(k), roots] = True
    for u, c in p.locks:
        allowed[:, u] = False
        allowed[pos[int(c)], u] = True
    needs, holder = _needs(p, leads)
    for _ in range(50):
        before = allowed.copy()
        count = allowed.sum(axis=0)
        if (count == 0).any():
            return None
        forced = allowed & (count == 1)
        for g in range(k):
            if not allowed[g, roots[g]]:
                return None
            wt = np.where(forced[g], 0.0, w)  # forced residents are counted once, up front
            base_pop = w[forced[g]].sum()
            if base_pop > high:
                return None
            d = _lightest(adj, wt, allowed[g], [roots[g]])[0] + base_pop
            allowed[g] &= d <= high
            if needs[g] and not (holder & forced[g]).any():
                hs = np.flatnonzero(holder & allowed[g])
                if len(hs) == 0:
                    return None
                dh = _lightest(adj, wt, allowed[g], hs) + base_pop
                allowed[g] &= (dh <= high).any(axis=0)
            if p.balance is not None and w[allowed[g]].sum() < low:
                return None
        if needs.any():
            graph = sp.csr_matrix(allowed[needs][:, holder].astype(float))
            match = maximum_bipartite_matching(graph, perm_type="column")
            if (match < 0).any():
                return None
        if (allowed == before).all():
            break
    if paths and needs.any() and not _disjoint_paths(adj, allowed, roots, needs, holder):
        return None
    return allowed


def _disjoint_paths(adj: sp.csr_matrix, allowed: np.ndarray, roots: np.ndarray, needs: np.ndarray,
                    holder: np.ndarray) -> bool:
    """:func:`_path_count` reaches the grids needing G5."""
    return _path_count(adj, allowed, roots, needs, holder) >= int(needs.sum())


def _needs(p: ExactProblem, leads) -> tuple[np.ndarray, np.ndarray]:
    """Which grids of ``leads`` need G5, and which units hold it (as :func:`lead_set_bounds`)."""
    g5_on = p.enforce_g5 and p.g5 is not None
    holder = (np.asarray(p.g5) > 0) if g5_on else np.zeros(p.n, bool)
    waived = np.zeros(p.m, bool) if p.g5_waived is None else np.asarray(p.g5_waived, dtype=bool)
    return (~waived[np.asarray(leads, dtype=np.int64)] if g5_on else np.zeros(len(leads), bool)), holder


def paths_proof(p: ExactProblem) -> tuple[int, int] | None:
    """When the disjoint paths alone close every lead set the other bounds leave (at least one):
    the paths and the grids needing them of the set that comes nearest (most paths); else None.
    What a refusal proven this way says."""
    k, m = int(p.k), p.m
    if k < 1 or k > m or math.comb(m, k) > MAX_LEAD_SETS:
        return None
    base, _ = reach(p)
    adj = links(p)
    roots_of = np.asarray(p.cand_unit, dtype=np.int64)
    nearest = None
    for leads in itertools.combinations(range(m), k):
        allowed = lead_set_bounds(p, leads, base, paths=False)
        if allowed is None:
            continue
        needs, holder = _needs(p, leads)
        count = _path_count(adj, allowed, roots_of[list(leads)], needs, holder) if needs.any() else 0
        if count >= int(needs.sum()):
            return None  # open as far as the paths go
        if nearest is None or count > nearest[0]:
            nearest = (count, int(needs.sum()))
    return nearest


def _path_count(adj: sp.csr_matrix, allowed: np.ndarray, roots: np.ndarray, needs: np.ndarray,
                holder: np.ndarray) -> int:
    """How many of the grids needing G5 can have a path from its lead to a G5 unit, the paths
    sharing no unit, within the units some such grid may hold (``allowed``).

    A plan gives each of these grids a connected set of units holding its lead and a G5 unit, so
    a path between them inside the grid, and grids share no unit: if no such paths exist, neither
    does the plan (Menger's theorem: a maximum flow with a capacity of one on every unit). It
    closes lead sets the matching of grids to G5 units leaves, where the G5 units are clustered:
    every grid must reach the cluster, and the cluster's surroundings let fewer paths through
    (strip-200u-k6-cluster8-5 %: 5 paths for 6 grids)."""
    n = allowed.shape[1]
    usable = allowed[needs].any(axis=0)
    usable[roots[~needs]] = False  # another grid's lead is never on a path
    inner = np.flatnonzero(usable)
    edges = sp.triu(adj, k=1).tocoo() if sp.issparse(adj) else sp.coo_matrix(np.triu(adj, 1))
    on = usable[edges.row] & usable[edges.col]
    a, b = edges.row[on], edges.col[on]
    g5 = np.flatnonzero(holder & usable)
    # unit v: in-node v, out-node n + v (capacity 1 between); source 2n, sink 2n + 1
    rows = np.concatenate([inner, n + a, n + b, np.full(int(needs.sum()), 2 * n), n + g5])
    cols = np.concatenate([n + inner, b, a, roots[needs], np.full(len(g5), 2 * n + 1)])
    graph = sp.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                          shape=(2 * n + 2, 2 * n + 2))
    graph.data[:] = 1  # duplicates (a lead holding G5 twice over) count once
    return int(maximum_flow(graph, 2 * n, 2 * n + 1).flow_value)


def lead_sets(
    p: ExactProblem, seconds: float = math.inf
) -> tuple[list[tuple[int, ...]], np.ndarray] | None:
    """The lead sets :func:`lead_set_bounds` leaves, nearest first (population-weighted minutes
    to the nearest of the set's leads), and the union of their bounds per candidate
    (``(n_candidates, n_units)``); None when there are more than :data:`MAX_LEAD_SETS` or
    bounding them all takes longer than ``seconds`` (CPU seconds,
    :mod:`grid_planning.planning.clock`; about 0.05 s a set at 100 units)."""
    k, m = int(p.k), p.m
    if k < 1 or k > m or math.comb(m, k) > MAX_LEAD_SETS:
        return None
    budget = Budget(seconds)
    base, _ = reach(p)
    union = np.zeros((m, p.n), bool)
    sets = []
    for leads in itertools.combinations(range(m), k):
        if budget.over():
            return None
        bounds = lead_set_bounds(p, leads, base)
        if bounds is not None:
            union[list(leads)] |= bounds
            sets.append(leads)
    w = np.asarray(p.population, dtype=float)
    minutes = np.asarray(p.minutes, dtype=float)
    sets.sort(key=lambda s: float(w @ minutes[:, list(s)].min(axis=1)))
    return sets, union


def decide(
    problem: ExactProblem,
    time_limit: float,
    *,
    gap: float = OPTIMAL_GAP,
    contiguity: str = "flow",
    sets: tuple[list[tuple[int, ...]], np.ndarray] | None = None,
) -> ExactResult:
    """A plan or a proof, for a refusal: every lead set of ``k`` candidates is first bounded by
    :func:`lead_set_bounds` (``sets``: :func:`lead_sets`, when already computed); when none is
    left the refusal is proven without a search, otherwise the model is solved with what the
    lead sets left (a candidate in no set leads nowhere, a unit no set gives a candidate's grid
    is outside it).

    Measured on the reference family (tests/reference_cities.py), solving each lead set apart
    in shares of the time found fewer plans than the whole model in all of it (the sets are many,
    up to 45, and each needs seconds), and so did HiGHS completing a partial solution (the
    nearest set's leads) and a higher heuristic effort."""
    t0 = time.perf_counter()
    p = problem
    if int(p.k) < 1 or int(p.k) > p.m or p.n == 0:
        return ExactResult("infeasible", seconds=time.perf_counter() - t0)
    sets = sets if sets is not None else lead_sets(p)
    if sets is None:
        return solve_exact(p, time_limit=time_limit, gap=gap, contiguity=contiguity)
    if not sets[0]:
        return ExactResult("infeasible", seconds=time.perf_counter() - t0)
    left = time_limit - (time.perf_counter() - t0)
    res = solve_exact(
        replace(p, mask=sets[1]), time_limit=max(left, 0.1), gap=gap, contiguity=contiguity
    )
    return replace(res, seconds=time.perf_counter() - t0)


#: Most lead sets :func:`lead_sets` bounds one by one (C(10, 8) = 45, C(12, 6) = 924).
MAX_LEAD_SETS = 500
