"""Tiny square-cell cities and a brute force over every plan with given leads: the ground truth
the tests of the planner's proofs (planning/planar.py, planning/sections.py) are checked against.
It shares no code with those arguments."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp
import shapely

from grid_planning.domain.request import balance_band
from grid_planning.geo.graph import build_adjacency
from grid_planning.planning import exact


def square_cells(cols: int, rows: int, drop=()) -> np.ndarray:
    """``cols`` x ``rows`` squares of 1 km, row by row, less the positions in ``drop``."""
    return np.array([shapely.box(c * 1000.0, r * 1000.0, (c + 1) * 1000.0, (r + 1) * 1000.0)
                     for r in range(rows) for c in range(cols) if r * cols + c not in drop], dtype=object)


def cell_problem(cells, cand_unit, k, holders, locks=(), population=None, balance=None,
                 waived=None) -> exact.ExactProblem:
    """The planner's problem on the squares ``cells``: candidates at the units ``cand_unit``,
    G5 units ``holders``, one resident a unit unless ``population`` says otherwise, no minutes."""
    n, m = len(cells), len(cand_unit)
    g5 = np.zeros(n, np.int64)
    g5[list(holders)] = 1
    return exact.ExactProblem(
        minutes=np.zeros((n, m)), population=np.ones(n) if population is None else np.asarray(population, float),
        cand_unit=np.asarray(cand_unit), k=k, adjacency=sp.csr_matrix(build_adjacency(cells).matrix),
        locks=tuple(locks), g5=g5, balance=balance,
        g5_waived=np.zeros(m, bool) if waived is None else np.asarray(waived),
    )


def connected(units: list[int], nbrs: list[set[int]]) -> bool:
    """Whether ``units`` are one piece in the neighbour sets ``nbrs``."""
    seen, todo, inside = {units[0]}, [units[0]], set(units)
    while todo:
        for v in nbrs[todo.pop()] & inside:
            if v not in seen:
                seen.add(v)
                todo.append(v)
    return len(seen) == len(inside)


def has_plan(p: exact.ExactProblem, leads: tuple[int, ...]) -> bool:
    """Whether some plan has exactly these leads: every unit in one grid, each grid connected,
    holding its lead's unit and its locked units, (unless waived) a G5 unit, and (when the problem
    has a tolerance) residents within the balance band."""
    n, k = p.n, len(leads)
    adj = sp.csr_matrix(p.adjacency)
    nbrs = [set(adj.indices[adj.indptr[u]:adj.indptr[u + 1]].tolist()) - {u} for u in range(n)]
    roots = [int(p.cand_unit[c]) for c in leads]
    free = [u for u in range(n) if u not in roots]
    labels = np.zeros((k ** len(free), n), np.int64)
    labels[:, free] = np.array(list(itertools.product(range(k), repeat=len(free))))
    labels[:, roots] = np.arange(k)
    ok = np.ones(len(labels), bool)
    for u, c in p.locks:
        ok &= labels[:, u] == leads.index(int(c))
    holder = np.asarray(p.g5) > 0
    for g, c in enumerate(leads):
        if not p.g5_waived[c]:
            ok &= ((labels == g) & holder).any(axis=1)
    if p.balance is not None:
        w = np.asarray(p.population, float)
        low, high = balance_band(w.sum() / k, p.balance)
        for g in range(k):
            pop = ((labels == g) * w).sum(axis=1)
            ok &= (pop >= low - 1e-6) & (pop <= high + 1e-6)
    return any(all(connected(np.flatnonzero(row == g).tolist(), nbrs) for g in range(k))
               for row in labels[ok])
