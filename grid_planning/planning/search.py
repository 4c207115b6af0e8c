"""A wider heuristic search for a plan, after the heuristic's refusal and before the exact program.

The heuristic (:class:`grid_planning.planning.partition.Partition`) tries one lead set with the
true minutes, and :mod:`grid_planning.planning.fallback` then tries each lead set the exact bounds
leave. On awkward cities (G5 hospitals few, in corners or clustered, tight tolerances) a plan can
still exist with none of them: the heuristic grows each grid by minutes and pulls the *nearest*
G5 member, and the plan needs a grid to take a farther one, or a grid shaped against the minutes.
Each trial here changes one of those two things for a lead set (lead sets in turn, nearest first):

- **matching**: every grid needing G5 is given its own G5 unit by an assignment on randomly
  perturbed minutes (``scipy.optimize.linear_sum_assignment``), pinned with a path to its lead
  like a lock, so grids do not all reach for the same members;
- **shapes**: the minutes of each grid scaled by a smooth random field over the units (noise
  averaged over neighbours) and a random factor per grid, so grids grow in other directions.

A trial that meets every constraint is the plan, polished with the true minutes (boundary moves
that lower the population-weighted minutes and keep every constraint, contiguity included). The
random draws are seeded: the same city and request try the same trials in the same order.
:class:`WiderSearch` can be stopped and resumed (the planner runs it for a count of trials, then
the skeleton trials, then resumes it), so the clock decides only how many trials run, never which.

The caller orders the lead sets (:mod:`grid_planning.planning.fallback`: those the plain heuristic
came nearest on first). Measured on the reference family (tests/reference_cities.py) where the
heuristic and every lead set fail: ``ring-100u-k8-corners10-15%`` is planned at the third trial
(0.1 s; 6.5 s in all with the stages before, on a loaded machine), before: "not found" after 20 s.
The other undecided cities of the family get no plan from it within 60 s.
rect-300u-k6-edge6-3% (28 lead sets) is planned at trial 36 (0.4-0.6 s of CPU), a lucky draw:
with seeds 1-3 it takes 394-450 trials (8-10 s); shapes trials plan it, matching trials never.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from grid_planning.planning.clock import Budget
from grid_planning.planning.partition import LockError, Partition

#: Rounds of smoothing of the shapes' noise (each averages a unit with its neighbours).
SMOOTHING = 3


#: Largest relative perturbation of the minutes (the amplitude is drawn up to this).
AMPLITUDE = 0.6


#: Rounds of the heuristic's constraint loop per trial (its default is 6): measured on
#: ring-100u-k8 over four seeds, the same trials succeed with 3 in half the time (a trial that
#: fails spends every round).
TRIAL_ROUNDS = 3


#: Builds the Partition of a lead set growing by the given minutes, its constraints set (nothing
#: pinned beyond the leads' units).
Build = Callable[[list[int], np.ndarray], Partition]


class WiderSearch:
    """Trials (see the module docstring) over ``sets`` in turn, run by :meth:`run` until one
    plans; it can be resumed: each :meth:`run` goes on with the next trial of the same sequence
    (the same draws, the same lead set), so the trials run, and their order, depend only on the
    data and the seed; the clock only decides how many run.

    Parameters
    ----------
    sets : list of tuple of int
        Lead sets (candidate positions), nearest first.
    minutes : ndarray
        ``(n_units, n_candidates)`` true travel minutes.
    adjacency : csr_matrix
    g5 : ndarray
        ``(n_units,)`` qualifying G5 members per unit.
    needs_g5 : callable
        Lead set -> ``(k,)`` bool, the grids that must hold a G5 member (no waiver).
    lock_grid : callable
        Lead set -> ``(n_units,)`` grid index of each locked unit, -1 elsewhere.
    build : callable
        ``build(leads, minutes_k)`` -> Partition with the request's constraints set.
    seed : int
        Seed of the random draws.
    """

    def __init__(
        self,
        sets: list[tuple[int, ...]],
        minutes: np.ndarray,
        adjacency: sp.csr_matrix,
        g5: np.ndarray,
        needs_g5: Callable[[list[int]], np.ndarray],
        lock_grid: Callable[[list[int]], np.ndarray],
        build: Build,
        *,
        seed: int = 0,
    ) -> None:
        self.sets = [list(s) for s in sets]
        self.minutes = minutes
        self.g5 = np.asarray(g5)
        self.needs_g5 = needs_g5
        self.lock_grid = lock_grid
        self.build = build
        self.rng = np.random.default_rng(seed)
        adj = sp.csr_matrix(adjacency, dtype=float)
        adj.setdiag(1.0)
        self.walk = sp.diags(1.0 / np.asarray(adj.sum(axis=1)).ravel()) @ adj
        #: trials run so far (over every :meth:`run`)
        self.trials = 0

    def run(
        self, budget: Budget, until: int | None = None
    ) -> tuple[list[int], np.ndarray, int] | None:
        """Trials until one plans, ``budget`` is spent or ``until`` trials have run in all.

        Returns
        -------
        (leads, labels, trials) or None
            The lead set, the grid index of each unit (polished), and the trials run in all.
        """
        if not self.sets:
            return None
        while not budget.over() and (until is None or self.trials < until):
            found = self._trial()
            if found is not None:
                return found
        return None

    def _trial(self) -> tuple[list[int], np.ndarray, int] | None:
        rng, g5, n = self.rng, self.g5, self.minutes.shape[0]
        leads = self.sets[self.trials % len(self.sets)]
        k = len(leads)
        dm = np.asarray(self.minutes[:, leads], dtype=float)
        locks = np.asarray(self.lock_grid(leads), dtype=np.int64)
        pins = locks.copy()
        self.trials += 1
        # matching on the odd trials, shapes on the even (with an even number of sets each set
        # takes one kind only: rect-300u-k6 is planned at trial 36, shapes on its 8th set; taking
        # the kinds in turn per set instead planned it at trial 470-1653 over four seeds)
        if self.trials % 2:  # matching
            part = self.build(leads, np.ascontiguousarray(dm))
            pins[part.lead_units] = np.arange(k)
            has = np.bincount(pins[pins >= 0], weights=g5[pins >= 0], minlength=k) > 0
            need = np.flatnonzero(self.needs_g5(leads) & ~has)
            free = np.flatnonzero((g5 > 0) & (pins < 0))
            if len(need) and len(free) >= len(need):
                cost = dm[free][:, need].T * (1.0 + rng.random((len(need), len(free))))
                # why: scipy.optimize (~0.1 s) loads when this search runs, not with every CLI run
                from scipy.optimize import linear_sum_assignment

                rows, cols = linear_sum_assignment(cost)
                pins[free[cols]] = need[rows]
        else:  # shapes
            z = rng.standard_normal((n, k))
            for _ in range(SMOOTHING):
                z = self.walk @ z
            z /= z.std(axis=0, keepdims=True) + 1e-12
            amp = rng.uniform(0.1, AMPLITUDE)
            grow = dm * np.exp(amp * z) * np.exp(rng.uniform(-amp, amp, k))
            part = self.build(leads, np.ascontiguousarray(grow))
        try:
            part.pin_locks(pins)
        except LockError:
            return None
        if part.solve(TRIAL_ROUNDS)[:2] != (0, 0.0):
            return None
        return leads, polished(part.labels, leads, dm, locks, self.build), self.trials


def polished(
    labels: np.ndarray, leads: list[int], dm: np.ndarray, locks: np.ndarray, build: Build
) -> np.ndarray:
    """``labels`` after boundary moves on the true minutes that keep every constraint, the
    leads' and the locked units pinned (``labels`` unchanged if the moves broke anything)."""
    part = build(leads, np.ascontiguousarray(dm))
    part.pinned = np.where(locks >= 0, locks, part.base_pinned)
    part.labels = labels.copy()
    if part.score()[:2] != (0, 0.0):
        return labels
    part.improve()
    return part.labels if part.score()[:2] == (0, 0.0) else labels
