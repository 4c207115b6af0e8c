"""The heuristic assignment: units -> the grids of chosen leads, with every constraint in one loop.

A :class:`Partition` holds the labels (grid index per unit) of one planning run and the constraints:
pinned units (leads' own units, locks and the paths that tie locks to their lead), contiguity on the
city's adjacency graph, G5 (each grid holds a qualifying member unless waived), population balance
and minimum beds per 1,000 residents.

:meth:`Partition.solve` satisfies them **together** in rounds. Each round:

1. assigns every unit to its cheapest grid, with a per-grid offset (a Lagrangian multiplier on the
   balance / beds violations, from a subgradient search);
2. repairs contiguity: each grid keeps the piece holding its lead, the rest regrows from the cores
   (priority queue by cost), which always yields contiguous grids on a connected graph;
3. enforces G5: a grid lacking a member pulls in the nearest qualifying member's unit with a path
   of units to its lead, pinned for the rest of the round so nothing later cuts it off;
4. moves boundary units to reduce the balance / beds violation, cheapest first, never breaking
   contiguity, a pin, or a grid's last G5 member;
5. moves boundary units that lower the objective without raising the violation.

The best state over the rounds (fewest grids lacking G5, then least violation, then least cost) is
kept, so no step undoes what an earlier one achieved; pins from G5 pulls last one round only, so
they never stop a later round from balancing.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from grid_planning.domain.request import balance_band, balance_deviation, max_balance_deviation

#: Rounds of the constraint loop (assign -> repair -> G5 -> violation moves -> improve).
ROUNDS = 6


#: Subgradient steps per round when searching the offsets.
SUBGRADIENT_STEPS = 150


class LockError(Exception):
    """A lock cannot be tied to its lead (``kind``: ``on_other_lead`` or ``unreachable``)."""

    def __init__(self, kind: str, unit: int, grid: int) -> None:
        super().__init__(kind)
        self.kind, self.unit, self.grid = kind, unit, grid


class Partition:
    """Mutable assignment state of one planning run.

    Parameters
    ----------
    adjacency : csr_matrix
        Unit adjacency (connected; island links included).
    population : ndarray
        Residents per unit.
    minutes : ndarray
        ``(n_units, k)`` minutes from each unit to each grid's lead.
    lead_units : ndarray
        Unit position of each grid's lead.
    neighbours : list of list of int, optional
        Neighbour positions per unit (derived from ``adjacency`` when omitted).
    """

    def __init__(
        self,
        adjacency: sp.csr_matrix,
        population: np.ndarray,
        minutes: np.ndarray,
        lead_units: np.ndarray,
        neighbours: list[list[int]] | None = None,
    ) -> None:
        self.adj = adjacency.tocsr()
        self.coo = self.adj.tocoo()
        self.n = self.adj.shape[0]
        # the edges sorted by row, then column (the order scipy gives a graph built from pairs),
        # when there are no duplicates: the graphs below are then built without re-sorting
        # (with duplicates, the edges as they come, for scipy to sort and sum)
        order = np.lexsort((self.coo.col, self.coo.row))
        er, ec = self.coo.row[order].astype(np.int64), self.coo.col[order].astype(np.int64)
        self._sorted = not ((er[1:] == er[:-1]) & (ec[1:] == ec[:-1])).any()
        self._er, self._ec = (er, ec) if self._sorted else (self.coo.row, self.coo.col)
        self.k = minutes.shape[1]
        self.w = np.asarray(population, dtype=np.float64)
        self.dm = np.asarray(minutes, dtype=np.float64)
        self.lead_units = np.asarray(lead_units, dtype=np.int64)
        self.nbrs = neighbours if neighbours is not None else _neighbour_lists(self.adj)
        self.base_pinned = np.full(self.n, -1, dtype=np.int64)
        self.base_pinned[self.lead_units] = np.arange(self.k)
        self.pinned = self.base_pinned.copy()
        self.lam = np.zeros(self.k)
        self.labels = np.zeros(self.n, dtype=np.int64)
        self.released = 0
        self.moves = 0
        self.pulls = 0
        self.g5 = np.zeros(self.n, dtype=np.int64)
        self.beds = np.zeros(self.n)
        self.waived = np.zeros(self.k, dtype=bool)
        self.enforce_g5 = True
        self.lo = -np.inf
        self.hi = np.inf
        self.min_beds: float | None = None
        self.balance: float | None = None

    # ---- setup ------------------------------------------------------------------------------------
    def set_constraints(
        self,
        *,
        g5: np.ndarray | None = None,
        waived: np.ndarray | None = None,
        enforce_g5: bool = True,
        balance: float | None = None,
        beds: np.ndarray | None = None,
        min_beds_per_1000: float | None = None,
    ) -> None:
        """G5 members per unit and waivers per grid; balance tolerance; beds per unit and minimum."""
        if g5 is not None:
            self.g5 = np.asarray(g5, dtype=np.int64)
        if waived is not None:
            self.waived = np.asarray(waived, dtype=bool)
        self.enforce_g5 = bool(enforce_g5)
        if beds is not None:
            self.beds = np.asarray(beds, dtype=float)
        self.balance = balance
        self.min_beds = min_beds_per_1000 if min_beds_per_1000 and min_beds_per_1000 > 0 else None
        mean = self.w.sum() / self.k
        self.lo, self.hi = balance_band(mean, balance)

    @property
    def constrained(self) -> bool:
        """Whether balance or beds constrain the partition."""
        return self.balance is not None or self.min_beds is not None

    def pin_locks(self, lock_grid: np.ndarray) -> None:
        """Pin locked units and, per grid, the cheapest unit path tying them to the lead's unit.

        Raises
        ------
        LockError
            A lock on another grid's lead unit, or a locked unit that cannot reach its lead
            without crossing units pinned to other grids.
        """
        if (lock_grid < 0).all():
            return
        pinned = self.base_pinned
        clash = (pinned >= 0) & (lock_grid >= 0) & (pinned != lock_grid)
        if clash.any():
            u = int(np.flatnonzero(clash)[0])
            raise LockError("on_other_lead", u, int(lock_grid[u]))
        pinned = np.where(lock_grid >= 0, lock_grid, pinned)
        for g in range(self.k):
            targets = np.flatnonzero(lock_grid == g)
            if not len(targets):
                continue
            dist, pred = self._lead_paths(g, pinned == g, (pinned >= 0) & (pinned != g))
            for u in targets:
                if not np.isfinite(dist[u]):
                    raise LockError("unreachable", int(u), g)
                path = self._walk_to_lead(pred, int(u), g)
                pinned[path] = np.where(pinned[path] < 0, g, pinned[path])
        self.base_pinned = pinned
        self.pinned = pinned.copy()

    def _lead_paths(
        self, g: int, own: np.ndarray, blocked: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cheapest unit paths from grid ``g``'s lead unit (scipy's distances and predecessors).

        Node-weighted: entering unit v costs its minutes to the lead, next to nothing for the
        units in ``own`` (already the grid's); ``blocked`` units are impassable.
        """
        node_cost = np.where(own, 1e-6, self.dm[:, g] + 0.01)
        keep = ~blocked[self._ec] & ~blocked[self._er]
        graph = self._graph(node_cost[self._ec[keep]], keep)
        return dijkstra(
            graph, directed=True, indices=int(self.lead_units[g]), return_predecessors=True
        )

    def _graph(self, data: np.ndarray, keep: np.ndarray) -> sp.csr_matrix:
        """The csr graph of the edges ``keep`` selects, weighted by ``data``: what
        ``csr_matrix((data, (rows, cols)))`` gives, built straight from the sorted edges when
        they have no duplicates (no re-sorting)."""
        rows, cols = self._er[keep], self._ec[keep]
        if not self._sorted:
            return sp.csr_matrix((data, (rows, cols)), shape=(self.n, self.n))
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=self.n), out=indptr[1:])
        return sp.csr_matrix((data, cols, indptr), shape=(self.n, self.n))

    def _walk_to_lead(self, pred: np.ndarray, v: int, g: int) -> list[int]:
        """The units from ``v`` back to grid ``g``'s lead unit along :meth:`_lead_paths`."""
        path = []
        while v >= 0:
            path.append(v)
            if v == self.lead_units[g]:
                break
            v = int(pred[v])
        return path

    # ---- assignment and contiguity ----------------------------------------------------------------
    def assign(self, lam: np.ndarray) -> None:
        """Every unit to its cheapest grid (minutes + offset); pinned units stay."""
        self.lam = np.asarray(lam, dtype=np.float64)
        self.labels = np.argmin(self.dm + self.lam, axis=1)
        fixed = self.pinned >= 0
        self.labels[fixed] = self.pinned[fixed]

    def repair(self) -> None:
        """Release the pieces of each grid not connected to its lead, regrow them from the cores."""
        lab = self.labels
        same = lab[self._er] == lab[self._ec]
        g = self._graph(np.ones(int(same.sum())), same)
        _, comp = connected_components(g, directed=False)
        core = comp == comp[self.lead_units[lab]]
        core |= self.pinned >= 0  # pinned units hang together through their pinned paths
        orphans = np.flatnonzero(~core)
        if not len(orphans):
            return
        self.released += len(orphans)
        lab[orphans] = -1
        self._grow(orphans)

    def _grow(self, orphans: np.ndarray) -> None:
        lab = self.labels
        cost = self.dm + self.lam
        heap: list[tuple[float, int, int]] = []
        for u in orphans.tolist():
            for v in self.nbrs[u]:
                g = lab[v]
                if g >= 0:
                    heap.append((float(cost[u, g]), u, int(g)))
        heapq.heapify(heap)
        remaining = len(orphans)
        while heap and remaining:
            _c, u, g = heapq.heappop(heap)
            if lab[u] >= 0:
                continue
            lab[u] = g
            remaining -= 1
            for v in self.nbrs[u]:
                if lab[v] < 0:
                    heapq.heappush(heap, (float(cost[v, g]), v, g))
        if remaining:  # only on a disconnected graph (never with island links)
            left = np.flatnonzero(lab < 0)
            lab[left] = np.argmin(cost[left], axis=1)

    def _safe_to_remove(self, u: int, g: int) -> bool:
        """True when grid ``g`` stays connected without unit ``u`` (bounded BFS around ``u``)."""
        lab = self.labels
        same = [v for v in self.nbrs[u] if lab[v] == g]
        if len(same) <= 1:
            return True
        targets = set(same[1:])
        seen = {u, same[0]}
        queue = deque([same[0]])
        while queue:
            x = queue.popleft()
            for y in self.nbrs[x]:
                if y in seen or lab[y] != g:
                    continue
                seen.add(y)
                targets.discard(y)
                if not targets:
                    return True
                queue.append(y)
        return False

    # ---- measures ---------------------------------------------------------------------------------
    def pops(self) -> np.ndarray:
        """Residents per grid."""
        return np.bincount(self.labels, weights=self.w, minlength=self.k)

    def grid_beds(self) -> np.ndarray:
        """Beds per grid."""
        return np.bincount(self.labels, weights=self.beds, minlength=self.k)

    def g5_counts(self) -> np.ndarray:
        """Qualifying G5 members per grid."""
        return np.bincount(self.labels, weights=self.g5, minlength=self.k)

    def g5_missing(self) -> list[int]:
        """Grids that lack a G5 member and have no waiver (empty when G5 is not enforced)."""
        if not self.enforce_g5:
            return []
        c = self.g5_counts()
        return [g for g in range(self.k) if c[g] < 1 and not self.waived[g]]

    def max_dev(self) -> float:
        """Largest relative deviation of a grid's population from the mean."""
        mean = self.w.sum() / self.k
        return max_balance_deviation(self.pops(), mean)

    def min_beds_per_1000(self) -> float:
        """The lowest beds per 1,000 residents over the grids."""
        pops = self.pops()
        per = self.grid_beds() / np.maximum(pops, 1e-12) * 1000.0
        return float(per.min()) if len(per) else float("nan")

    def _viol(self, pop, beds) -> np.ndarray:
        pop = np.asarray(pop, dtype=float)
        v = np.maximum(0.0, pop - self.hi) + np.maximum(0.0, self.lo - pop)
        if self.min_beds is not None:
            v = v + np.maximum(0.0, pop - np.asarray(beds, dtype=float) * 1000.0 / self.min_beds)
        return np.where(np.isfinite(v), v, 0.0)

    def _viol1(self, pop: float, beds: float) -> float:
        """:meth:`_viol` of one grid in plain floats (the same arithmetic, without numpy's
        overhead: the move loop asks it for every candidate move)."""
        v = max(0.0, pop - self.hi) + max(0.0, self.lo - pop)
        if self.min_beds is not None:
            v = v + max(0.0, pop - beds * 1000.0 / self.min_beds)
        return v if math.isfinite(v) else 0.0

    def violation(self) -> float:
        """Total balance + beds violation (residents)."""
        return float(self._viol(self.pops(), self.grid_beds()).sum())

    def cost(self) -> float:
        """Population-weighted total minutes to the leads."""
        return float(self.w @ self.dm[np.arange(self.n), self.labels])

    def score(self) -> tuple[int, float, float]:
        """What the loop minimises, in order: grids lacking G5, violation, cost."""
        v = self.violation()
        return (len(self.g5_missing()), round(v, 6) if v > 1e-6 else 0.0, self.cost())

    # ---- moves ------------------------------------------------------------------------------------
    def _movable(self, u: int, g: int, g5c: np.ndarray) -> bool:
        if self.pinned[u] >= 0:
            return False
        # A grid's last G5 member stays (unless the grid has a waiver or G5 is not enforced).
        return not (
            self.enforce_g5 and self.g5[u] and not self.waived[g] and g5c[g] - self.g5[u] < 1
        )

    def _moves(self, improve_only: bool, max_passes: int = 50) -> int:
        """Apply boundary moves.

        ``improve_only``: moves that lower the cost without raising the violation; otherwise moves
        that lower the violation, cheapest per unit of violation removed first.
        """
        lab = self.labels
        w = self.w
        cost = self.dm if improve_only else self.dm + self.lam
        a_all, b_all = self.coo.row, self.coo.col
        moved_total = 0
        for _ in range(max_passes):
            pops = self.pops()
            beds = self.grid_beds()
            g5c = self.g5_counts()
            diff = lab[a_all] != lab[b_all]
            # (unit, neighbouring grid) pairs, sorted by unit then grid, as one integer each
            key = np.unique(a_all[diff].astype(np.int64) * self.k + lab[b_all[diff]])
            if not len(key):
                break
            u, h = key // self.k, key % self.k
            g = lab[u]
            dcost = w[u] * (cost[u, h] - cost[u, g])
            dv = (
                self._viol(pops[g] - w[u], beds[g] - self.beds[u])
                + self._viol(pops[h] + w[u], beds[h] + self.beds[u])
                - self._viol(pops[g], beds[g])
                - self._viol(pops[h], beds[h])
            )
            if improve_only:
                ok = (dcost < -1e-9) & (dv <= 1e-9)
                order = np.argsort(dcost[ok], kind="stable")
            else:
                ok = dv < -1e-9
                order = np.argsort(dcost[ok] / -dv[ok], kind="stable")
            moved = 0
            for uu, hh in zip(u[ok][order].tolist(), h[ok][order].tolist(), strict=True):
                gg = int(lab[uu])
                if gg == hh or not self._movable(uu, gg, g5c):
                    continue
                if not any(lab[v] == hh for v in self.nbrs[uu]):
                    continue
                # Re-evaluate against the current state (earlier moves in this pass changed it).
                d_c = w[uu] * (cost[uu, hh] - cost[uu, gg])
                d_v = float(
                    self._viol1(pops[gg] - w[uu], beds[gg] - self.beds[uu])
                    + self._viol1(pops[hh] + w[uu], beds[hh] + self.beds[uu])
                    - (self._viol1(pops[gg], beds[gg]) + self._viol1(pops[hh], beds[hh]))
                )
                if improve_only and not (d_c < -1e-9 and d_v <= 1e-9):
                    continue
                if not improve_only and not d_v < -1e-9:
                    continue
                if not self._safe_to_remove(uu, gg):
                    continue
                lab[uu] = hh
                pops[gg] -= w[uu]
                pops[hh] += w[uu]
                beds[gg] -= self.beds[uu]
                beds[hh] += self.beds[uu]
                g5c[gg] -= self.g5[uu]
                g5c[hh] += self.g5[uu]
                moved += 1
            moved_total += moved
            if not moved:
                break
        self.moves += moved_total
        return moved_total

    def improve(self) -> None:
        """Cost-lowering boundary moves that keep every constraint."""
        self._moves(improve_only=True)

    # ---- G5 ---------------------------------------------------------------------------------------
    def enforce_members(self) -> int:
        """Pull a G5 member's unit (and a path to the lead) into each grid that lacks one."""
        pulls = 0
        if not self.enforce_g5 or not self.g5.any():
            return 0
        for _ in range(2 * self.k):
            missing = self.g5_missing()
            if not missing:
                break
            if not self._pull_g5(missing[0], self.g5_counts()):
                break
            pulls += 1
        self.pulls += pulls
        return pulls

    def _pull_g5(self, g: int, g5c: np.ndarray) -> bool:
        lab = self.labels
        donors = [
            int(u)
            for u in np.flatnonzero(self.g5 > 0)
            if lab[u] != g
            and self.pinned[u] < 0
            and (self.waived[lab[u]] or g5c[lab[u]] - self.g5[u] >= 1)
        ]
        if not donors:
            return False
        blocked = (self.pinned >= 0) & (self.pinned != g)
        # Units holding another grid's only G5 member are not crossed either.
        blocked |= (self.g5 > 0) & (g5c[lab] - self.g5 <= 0) & (lab != g) & ~self.waived[lab]
        dist, pred = self._lead_paths(g, lab == g, blocked)
        donors = [u for u in donors if np.isfinite(dist[u])]
        if not donors:
            return False
        # Back to the lead itself, pinned for this round: later moves cannot cut the member off.
        path = self._walk_to_lead(pred, min(donors, key=lambda u: (dist[u], u)), g)
        lab[path] = g
        self.pinned[path] = g
        self.repair()
        return True

    # ---- the constraint loop ------------------------------------------------------------------------
    def _offsets(self, lam: np.ndarray) -> np.ndarray:
        """Subgradient search for offsets that bring the nearest-grid assignment within the
        balance / beds targets (aiming a little inside the tolerance)."""
        mean = self.w.sum() / self.k
        scale = float(np.median(self.dm.min(axis=1))) or 1.0
        step = 0.5 * scale
        inner = 0.6 * self.balance if self.balance is not None else None
        fixed = self.pinned >= 0
        for _ in range(SUBGRADIENT_STEPS):
            labels = np.argmin(self.dm + lam, axis=1)
            labels[fixed] = self.pinned[fixed]
            pops = np.bincount(labels, weights=self.w, minlength=self.k)
            dev = balance_deviation(pops, mean)
            excess = np.zeros(self.k)
            if self.min_beds is not None:
                beds = np.bincount(labels, weights=self.beds, minlength=self.k)
                excess += np.maximum(0, pops - beds * 1000.0 / self.min_beds) / mean
            if inner is not None:
                excess += np.sign(dev) * np.maximum(0, np.abs(dev) - inner)
            if np.abs(excess).max() <= 1e-9:
                break
            lam = lam + step * excess
            step *= 0.97
        return lam

    def _round(self, lam: np.ndarray) -> None:
        self.pinned = self.base_pinned.copy()
        self.assign(lam)
        self.repair()
        self.enforce_members()
        if self.constrained:
            self._moves(improve_only=False, max_passes=100)
        self.improve()

    def solve(self, rounds: int = ROUNDS) -> tuple[int, float, float]:
        """Satisfy every constraint together (see the module docstring); returns the best score.

        The best state found is left in :attr:`labels` (and its pins in :attr:`pinned`).
        """
        lam = np.zeros(self.k)
        self._round(lam)
        best = (self.score(), self.labels.copy(), self.pinned.copy(), self.lam.copy())
        if not self.constrained:  # one round is all there is without offsets to search
            return best[0]
        mean = self.w.sum() / self.k
        scale = float(np.median(self.dm.min(axis=1))) or 1.0
        for _ in range(rounds - 1):
            lam = self._offsets(lam)
            self._round(lam)
            score = self.score()
            if score < best[0]:
                best = (score, self.labels.copy(), self.pinned.copy(), self.lam.copy())
            if score[:2] == (0, 0.0):
                break
            # Push the offsets on from where this round ended.
            lam = self.lam + 0.5 * scale * np.sign(balance_deviation(self.pops(), mean))
        _, self.labels, self.pinned, self.lam = best
        return best[0]


def _neighbour_lists(adj: sp.csr_matrix) -> list[list[int]]:
    adj = adj.tocsr()
    ptr, idx = adj.indptr, adj.indices
    return [idx[ptr[i] : ptr[i + 1]].tolist() for i in range(adj.shape[0])]


def cost_only(
    adjacency: sp.csr_matrix,
    population: np.ndarray,
    minutes: np.ndarray,
    lead_units: np.ndarray,
    neighbours: list[list[int]] | None = None,
    lock_grid: np.ndarray | None = None,
) -> float:
    """Objective of a lead set after assignment, contiguity repair and local search, without G5,
    balance or beds (how lead sets are compared); ``inf`` when the locks cannot be kept."""
    part = Partition(adjacency, population, minutes, lead_units, neighbours)
    if lock_grid is not None:
        try:
            part.pin_locks(lock_grid)
        except LockError:
            return float("inf")
    part.assign(np.zeros(part.k))
    part.repair()
    part.improve()
    return part.cost()
