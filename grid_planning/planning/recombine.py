"""Recombination (ReCom) of a valid partition towards the balance band: a heuristic that finds
plans, never a proof that none exists.

A partition here gives every unit a grid; it is *valid* when every grid is contiguous and holds
its lead's unit and the units locked to it. One step of :meth:`Recombination.run`:

1. a grid ``a`` is drawn, then a grid ``b`` bordering it;
2. a random spanning tree of the two grids' units is drawn (random edge weights, minimum
   spanning tree);
3. the tree is cut at one edge of its path between the two leads: the part holding ``b``'s lead
   goes to ``b``, the other to ``a``, so both grids stay contiguous and keep their leads. Only
   cuts that leave each grid its locked units, and every grid that held a G5 unit (unless
   waived) a G5 unit, are allowed; of those the one with the fewest grids lacking G5, then the
   smallest sum of squared deviations from the mean grid population, is taken;
4. the step is kept if it lowers that measure, else with the annealing probability.

So contiguity, leads and locks hold after every step, and a grid never loses its G5 unit (a grid
lacking one may gain one: a partition whose grids all hold a G5 unit stays so). The run stops
when every grid holds G5 and lies within the band, or after its count of steps: the steps and the
random draws (``random.Random(seed)``, ``np.random.default_rng(seed)``) depend only on the data
and the seed; a budget (:mod:`grid_planning.planning.clock`) is only a safety net.

Each step works on the two grids' units only: the edges inside them are picked from arrays
computed once (no slicing of the whole adjacency), and the populations, G5 units and locks on
either side of each possible cut are summed at once (the tree minus its path between the leads
falls into one piece per path unit: one ``connected_components`` and one ``bincount`` each).

:mod:`grid_planning.planning.fallback` calls it (:func:`recombine_search`) after the skeleton trials
and :data:`grid_planning.planning.fallback.SECOND_TRIALS` more trials of the wider search, before that
search resumes until its budget is spent, when every stage before found nothing. Measured
(benchmarks/bench_recombine.py, benchmarks/README.md) on strip-300u-k8-edge10-8%-lock-s7535,
which the planner refused before ("not found within 20 s") at +-60 % although a plan exists
(tests/planning/test_known_plans.py): the trees of its nearest lead set, grown, are already
within +-60 % (no step needed; planned in 8-14 s); at +-45 % the fourth seed of that set reaches
the band after 3,491 steps (15,491 in all, about 11 s); at +-30 % nothing (the steps end near
+-46 %). A step costs 0.27 ms there (the prototype in benchmarks/recombine_plans.py: 1.44 ms).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from grid_planning.domain.request import balance_band
from grid_planning.planning.clock import NEVER, Budget
from grid_planning.planning.exact import ExactProblem, lead_set_bounds, reach
from grid_planning.planning.search import Build, polished
from grid_planning.planning.skeleton import trees

#: The lead sets recombined (the first in the caller's order), the seeds per set and the steps
#: per seed: counted, so the same request tries the same steps on a quiet and a loaded machine
#: (strip-300u at +-45 %: seeds 0-2 of its first set never reach the band in 4,000 steps, seed 3
#: at step 3,491; at 300 units a set's 16,000 steps take about 4 s).
SETS = 4


SEEDS = 4


STEPS = 4000


#: Branch-and-bound nodes of a tree program the skeleton trials left undone (work counted, not
#: timed; at 300 units the trees of cost 1 per unit are found at the root, 3 s of CPU).
TREE_NODES = 50


#: Starting temperature of the annealed acceptance (squared thousands of residents).
START_TEMPERATURE = 2000.0


#: The temperature is multiplied by :data:`COOLING` every :data:`COOLING_STEPS` steps (never
#: below 1).
COOLING = 0.97


COOLING_STEPS = 500


#: Weight of one grid lacking G5 against the squared deviations (it comes first).
_G5_WEIGHT = 1e12


@dataclass(frozen=True)
class Recombined:
    """What :meth:`Recombination.run` reached: the labels (grid per unit), whether every grid
    holds G5 and lies within the band, the steps run, and the largest relative deviation."""

    labels: np.ndarray
    balanced: bool
    steps: int
    max_dev: float


class Recombination:
    """Recombination steps on one city (see the module docstring).

    Parameters
    ----------
    adjacency : sparse matrix
        ``(n_units, n_units)`` unit adjacency (symmetric; the diagonal is ignored).
    population : ndarray
        Residents per unit.
    g5 : ndarray
        Qualifying G5 members per unit.
    """

    def __init__(self, adjacency: sp.spmatrix, population: np.ndarray, g5: np.ndarray) -> None:
        coo = sp.coo_matrix(adjacency)
        lo, hi = np.minimum(coo.row, coo.col), np.maximum(coo.row, coo.col)
        pairs = np.unique(np.stack([lo[lo < hi], hi[lo < hi]]).astype(np.int64), axis=1)
        #: each edge once (smaller unit first), sorted
        self.eu, self.ev = pairs[0], pairs[1]
        self.n = adjacency.shape[0]
        self.w = np.asarray(population, dtype=float)
        self.g5 = np.asarray(g5, dtype=float) > 0
        # both directions, for the grids bordering a grid
        self.er = np.concatenate([self.eu, self.ev])
        self.ec = np.concatenate([self.ev, self.eu])

    def grow(self, labels: np.ndarray) -> np.ndarray | None:
        """A partition around partial grids ``labels`` (grid per unit, -1 for units on none): each
        unit left joins the least populated grid it borders, one unit at a time (ties: the lower
        unit, then the lower grid), so every grid stays contiguous if it was. None when some
        unit left cannot reach any grid (a city in pieces)."""
        lab = np.asarray(labels, dtype=np.int64).copy()
        k = int(lab.max()) + 1
        pops = np.bincount(lab[lab >= 0], weights=self.w[lab >= 0], minlength=k)
        while (lab < 0).any():
            open_ = (lab[self.er] < 0) & (lab[self.ec] >= 0)
            if not open_.any():
                return None
            u, g = self.er[open_], lab[self.ec[open_]]
            pick = np.lexsort((g, u, pops[g]))[0]
            lab[u[pick]] = g[pick]
            pops[g[pick]] += self.w[u[pick]]
        return lab

    def valid(self, labels: np.ndarray, lead_units: np.ndarray, locks: np.ndarray) -> bool:
        """Whether every grid of ``labels`` is contiguous and holds its lead's unit and the units
        ``locks`` gives it (grid per unit, -1 for none)."""
        k = len(lead_units)
        if (labels < 0).any() or (labels >= k).any():
            return False
        if (labels[lead_units] != np.arange(k)).any():
            return False
        if ((locks >= 0) & (labels != locks)).any():
            return False
        same = labels[self.eu] == labels[self.ev]
        graph = sp.csr_matrix((np.ones(int(same.sum())), (self.eu[same], self.ev[same])),
                              shape=(self.n, self.n))
        parts, _ = connected_components(graph, directed=False)
        return parts == k

    def run(
        self,
        labels: np.ndarray,
        lead_units: np.ndarray,
        locks: np.ndarray,
        needs_g5: np.ndarray,
        band: tuple[float, float],
        steps: int,
        seed: int,
        budget: Budget = NEVER,
        temperature: float = START_TEMPERATURE,
    ) -> Recombined:
        """Recombination steps from the valid partition ``labels`` (see :meth:`valid`) until every
        grid holds G5 (where ``needs_g5``) and lies within ``band`` (low, high residents), or
        ``steps`` steps have run, or (a safety net) ``budget`` is spent; ``temperature``: where
        the annealing starts (``math.inf``: every step allowed is taken). Returns the last partition (the
        balanced one when ``balanced``)."""
        lab = np.asarray(labels, dtype=np.int64).copy()
        lead_units = np.asarray(lead_units, dtype=np.int64)
        locks = np.asarray(locks, dtype=np.int64)
        needs_g5 = np.asarray(needs_g5, dtype=bool)
        k = len(lead_units)
        low, high = band
        w, g5 = self.w, self.g5
        mean = float(w.sum()) / k
        rnd, rng = random.Random(seed), np.random.default_rng(seed)
        pops = np.bincount(lab, weights=w, minlength=k)
        g5c = np.bincount(lab, weights=g5.astype(float), minlength=k)
        local = np.zeros(self.n, dtype=np.int64)
        temp, done = temperature, 0

        def energy(pop: np.ndarray) -> np.ndarray:
            return ((pop - mean) / 1000.0) ** 2

        def settled() -> bool:
            return bool(((pops >= low) & (pops <= high)).all() and (g5c[needs_g5] > 0).all())

        while done < steps and not settled() and not budget.over():
            done += 1
            if done % COOLING_STEPS == 0:
                temp = max(1.0, temp * COOLING)
            a = rnd.randrange(k)
            ring = np.unique(lab[self.ec[lab[self.er] == a]])
            ring = ring[ring != a]
            if not len(ring):
                continue
            b = int(ring[rnd.randrange(len(ring))])
            inside = (lab == a) | (lab == b)
            units = np.flatnonzero(inside)
            m = len(units)
            local[units] = np.arange(m)
            sel = inside[self.eu] & inside[self.ev]
            ra, rb = int(local[lead_units[a]]), int(local[lead_units[b]])
            found = _tree_path_pieces(m, local[self.eu[sel]], local[self.ev[sel]], rng, ra, rb)
            if found is None:
                continue  # the two grids' union is not connected (never for a valid partition)
            rank, length = found
            locked = locks[units]
            # cut after path position i (of ``length + 1``): positions 0..i go to b
            cw = np.cumsum(np.bincount(rank, weights=w[units], minlength=length + 1))[:length]
            cg = np.cumsum(np.bincount(rank, weights=g5[units], minlength=length + 1))[:length]
            ca = np.cumsum(np.bincount(rank, weights=locked == a, minlength=length + 1))[:length]
            cb = np.cumsum(np.bincount(rank, weights=locked == b, minlength=length + 1))[:length]
            total_w, total_g = pops[a] + pops[b], g5c[a] + g5c[b]
            ok = (ca == 0) & (cb == (locked == b).sum())
            keep_a = needs_g5[a] and g5c[a] > 0
            keep_b = needs_g5[b] and g5c[b] > 0
            if keep_a:
                ok &= total_g - cg >= 1
            if keep_b:
                ok &= cg >= 1
            if not ok.any():
                continue
            lack = (needs_g5[a] & (total_g - cg < 1)).astype(float) + (needs_g5[b] & (cg < 1))
            value = _G5_WEIGHT * lack + energy(total_w - cw) + energy(cw)
            value[~ok] = np.inf
            cut = int(np.argmin(value))
            before = (_G5_WEIGHT * (float(needs_g5[a] and g5c[a] < 1) + float(needs_g5[b] and g5c[b] < 1))
                      + float(energy(pops[a]) + energy(pops[b])))
            change = float(value[cut]) - before
            if change > 0 and rnd.random() >= math.exp(-change / temp):
                continue
            to_b = rank <= cut
            lab[units[to_b]], lab[units[~to_b]] = b, a
            pops[b], pops[a] = cw[cut], total_w - cw[cut]
            g5c[b], g5c[a] = cg[cut], total_g - cg[cut]
        dev = float(np.abs(pops - mean).max() / mean) if mean > 0 else 0.0
        return Recombined(lab, settled(), done, dev)


def _tree_path_pieces(
    m: int, iu: np.ndarray, iv: np.ndarray, rng: np.random.Generator, ra: int, rb: int
) -> tuple[np.ndarray, int] | None:
    """A random spanning tree of the graph on ``m`` nodes with edges ``(iu, iv)`` (random edge
    weights, Kruskal's minimum spanning tree), cut into one piece per node of its path from
    ``rb`` to ``ra``. Returns each node's piece as its position along that path (0 at ``rb``)
    and the path's number of edges, or None when the graph is not connected.

    Plain Python on lists: the two grids' union holds tens of units, and scipy's sparse
    constructors and graph routines cost more per call than the whole loop."""
    order = np.argsort(rng.random(len(iu)))
    parent = list(range(m))
    nbr: list[list[int]] = [[] for _ in range(m)]
    need = m - 1
    for x, y in zip(iu[order].tolist(), iv[order].tolist(), strict=True):
        rx = x
        while parent[rx] != rx:
            parent[rx] = parent[parent[rx]]
            rx = parent[rx]
        ry = y
        while parent[ry] != ry:
            parent[ry] = parent[parent[ry]]
            ry = parent[ry]
        if rx != ry:
            parent[rx] = ry
            nbr[x].append(y)
            nbr[y].append(x)
            need -= 1
            if not need:
                break
    if need:
        return None
    pred = [-1] * m
    pred[ra] = ra
    queue = [ra]
    for x in queue:  # breadth first from ra: every node after its predecessor
        for y in nbr[x]:
            if pred[y] < 0:
                pred[y] = x
                queue.append(y)
    path = [rb]
    while path[-1] != ra:
        path.append(pred[path[-1]])
    rank = [-1] * m
    for i, x in enumerate(path):
        rank[x] = i
    for x in queue:  # a node off the path lies in its predecessor's piece
        if rank[x] < 0:
            rank[x] = rank[pred[x]]
    return np.asarray(rank, dtype=np.int64), len(path) - 1


def recombine_search(
    p: ExactProblem,
    sets: list[tuple[int, ...]],
    lock_grid: Callable[[list[int]], np.ndarray],
    build: Build,
    budget: Budget,
    found: tuple[tuple[tuple[int, ...], np.ndarray], ...] = (),
) -> tuple[list[int], np.ndarray, int] | None:
    """Recombination of the first :data:`SETS` of ``sets`` (in their order), :data:`SEEDS` seeds
    of :data:`STEPS` steps each, until a partition meets every constraint of ``build``'s
    Partition (balance, beds, G5), or (a safety net) ``budget`` is spent.

    Each set starts from disjoint trees (:func:`grid_planning.planning.skeleton.trees`) grown
    into a partition (:meth:`Recombination.grow`): the first trees ``found`` for the set (the
    skeleton trials' leftovers), else a tree program of cost 1 per unit limited to
    :data:`TREE_NODES` nodes; a set without trees is passed over. ``lock_grid`` and ``build`` as
    in :class:`grid_planning.planning.search.WiderSearch`.

    Returns
    -------
    (leads, labels, steps) or None
        The lead set, the grid of each unit (polished on the true minutes like the wider
        search's plans) and the steps run in all.
    """
    rec = Recombination(p.adjacency, p.population, np.zeros(p.n) if p.g5 is None else p.g5)
    holder = rec.g5.any() and p.enforce_g5
    waived = np.zeros(p.m, bool) if p.g5_waived is None else np.asarray(p.g5_waived, dtype=bool)
    band = balance_band(float(rec.w.sum()) / max(int(p.k), 1), p.balance)
    minutes = np.asarray(p.minutes, dtype=float)
    base = None
    seeds_of = {}
    for leads, tree in found:
        seeds_of.setdefault(tuple(leads), tree)
    done = 0
    for leads in [tuple(s) for s in sets[:SETS]]:
        if budget.over():
            return None
        tree = seeds_of.get(leads)
        if tree is None:
            base = reach(p)[0] if base is None else base
            allowed = lead_set_bounds(p, leads, base)
            if allowed is None:
                continue
            left = max(budget.left(), 0.01)
            status, tree = trees(p, leads, allowed, np.ones((len(leads), p.n)), left, TREE_NODES)
            if status != "trees":
                continue
        leads_l = list(leads)
        lead_units = np.asarray(p.cand_unit, dtype=np.int64)[leads_l]
        locks = np.asarray(lock_grid(leads_l), dtype=np.int64)
        start = rec.grow(tree)
        if start is None or not rec.valid(start, lead_units, locks):
            continue
        needs = ~waived[leads_l] & holder
        for seed in range(SEEDS):
            out = rec.run(start, lead_units, locks, needs, band, STEPS, seed, budget)
            done += out.steps
            if not out.balanced:
                continue
            part = build(leads_l, np.ascontiguousarray(minutes[:, leads_l]))
            part.labels = out.labels.copy()
            if part.score()[:2] != (0, 0.0):  # beds, say: not met
                continue
            return leads_l, polished(out.labels, leads_l, minutes[:, leads_l], locks, build), done
    return None
