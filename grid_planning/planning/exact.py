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
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from grid_planning.domain.request import balance_band

#: Largest city (units) planned exactly by default, and the largest model (variables).
EXACT_MAX_UNITS = 40


EXACT_MAX_VARIABLES = 60_000


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
    status : {"optimal", "infeasible", "unknown"}
        ``unknown``: the time limit passed with neither a proof nor an optimum.
    leads : list of int
        Candidate positions of the leads (sorted), when solved.
    labels : ndarray
        Index into ``leads`` of each unit's grid, when solved.
    objective : float
        Population-weighted total minutes, when solved.
    seconds : float
    """

    status: str
    leads: list[int] = field(default_factory=list)
    labels: np.ndarray | None = None
    objective: float = float("nan")
    seconds: float = 0.0


def fits(n_units: int, n_candidates: int, n_edges: int, *, max_units: int = EXACT_MAX_UNITS) -> bool:
    """Whether a city is small enough to plan exactly."""
    variables = n_candidates * (1 + n_units + 2 * n_edges)
    return n_units <= max_units and variables <= EXACT_MAX_VARIABLES


def solve_exact(problem: ExactProblem, time_limit: float = EXACT_TIME_LIMIT) -> ExactResult:
    """Solve :class:`ExactProblem` to optimality (or prove it has no solution).

    Returns
    -------
    ExactResult
    """
    t0 = time.perf_counter()
    p = problem
    n, m, k = p.n, p.m, int(p.k)
    w = np.asarray(p.population, dtype=float)
    if k < 1 or k > m or n == 0:
        return ExactResult("infeasible", seconds=time.perf_counter() - t0)
    coo = sp.triu(p.adjacency, k=1).tocoo()
    arcs = np.concatenate(
        [np.column_stack([coo.row, coo.col]), np.column_stack([coo.col, coo.row])]
    ).astype(np.int64)
    n_arcs = len(arcs)

    # Variable layout: y (m) | x (n*m, unit-major: x[u, c] = m + u*m + c) | f (m*n_arcs).
    def xi(u, c):
        return m + u * m + c

    f0 = m + n * m
    n_var = f0 + m * n_arcs

    def fi(c, a):
        return f0 + c * n_arcs + a

    cost = np.zeros(n_var)
    cost[m : m + n * m] = (w[:, None] * np.asarray(p.minutes, dtype=float)).ravel()
    lo = np.zeros(n_var)
    hi = np.concatenate([np.ones(m + n * m), np.full(m * n_arcs, float(max(n - 1, 0)))])
    for c in p.required:
        lo[c] = 1.0
    for u, c in p.locks:
        lo[xi(u, c)] = 1.0
        lo[c] = 1.0

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    rlo: list[float] = []
    rhi: list[float] = []
    r = 0

    def add(col_idx, coef, low, high) -> None:
        nonlocal r
        col_idx = np.asarray(col_idx, dtype=np.int64)
        rows.append(np.full(len(col_idx), r, dtype=np.int64))
        cols.append(col_idx)
        vals.append(np.asarray(coef, dtype=float))
        rlo.append(low)
        rhi.append(high)
        r += 1

    cs = np.arange(m)
    for u in range(n):  # each unit in exactly one grid
        add(xi(u, cs), np.ones(m), 1.0, 1.0)
    for u in range(n):  # only chosen leads have units
        for c in range(m):
            add([xi(u, c), c], [1.0, -1.0], -np.inf, 0.0)
    for c in range(m):  # a lead's own unit is in its grid
        add([xi(int(p.cand_unit[c]), c), c], [1.0, -1.0], 0.0, 0.0)
    add(cs, np.ones(m), float(k), float(k))

    # Contiguity flows.
    big = float(max(n - 1, 1))
    into = [np.flatnonzero(arcs[:, 1] == u) for u in range(n)] if n_arcs else [[] for _ in range(n)]
    out_of = (
        [np.flatnonzero(arcs[:, 0] == u) for u in range(n)] if n_arcs else [[] for _ in range(n)]
    )
    for c in range(m):
        src = int(p.cand_unit[c])
        for u in range(n):
            if u == src:
                continue
            a_in, a_out = into[u], out_of[u]
            idx = np.concatenate([[fi(c, a) for a in a_in], [fi(c, a) for a in a_out], [xi(u, c)]])
            coef = np.concatenate([np.ones(len(a_in)), -np.ones(len(a_out)), [-1.0]])
            add(idx, coef, 0.0, 0.0)
        for a in range(n_arcs):
            uu, vv = int(arcs[a, 0]), int(arcs[a, 1])
            add([fi(c, a), xi(vv, c)], [1.0, -big], -np.inf, 0.0)
            add([fi(c, a), xi(uu, c)], [1.0, -big], -np.inf, 0.0)

    if p.enforce_g5 and p.g5 is not None:
        g5 = np.asarray(p.g5, dtype=float)
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

    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n_var)
    )
    # scipy's HiGHS, quiet per call (disp=False): no banner, no log, and nothing done to the
    # process's stdout, which a dashboard server shares between sessions.
    res = milp(
        cost,
        integrality=np.concatenate([np.ones(m + n * m), np.zeros(m * n_arcs)]),
        bounds=Bounds(lo, hi),
        constraints=LinearConstraint(a, np.asarray(rlo, dtype=float), np.asarray(rhi, dtype=float)),
        options={"disp": False, "time_limit": float(time_limit), "mip_rel_gap": 1e-7},
    )
    seconds = time.perf_counter() - t0
    if res.status == 2:  # infeasible, proved
        return ExactResult("infeasible", seconds=seconds)
    if res.status != 0 or res.x is None:  # time limit or another stop: not a proof either way
        return ExactResult("unknown", seconds=seconds)
    sol = np.asarray(res.x)
    x = sol[m : m + n * m].reshape(n, m)
    chosen = np.argmax(x, axis=1)
    leads = sorted(int(c) for c in np.flatnonzero(sol[:m] > 0.5))
    pos = {c: i for i, c in enumerate(leads)}
    labels = np.array([pos[int(c)] for c in chosen], dtype=np.int64)
    objective = float(w @ np.asarray(p.minutes, dtype=float)[np.arange(n), chosen])
    return ExactResult("optimal", leads, labels, objective, seconds)
