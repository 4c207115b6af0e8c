"""After a heuristic's refusal: a plan, or a proof that none exists, within a budget of seconds.

:func:`grid_planning.planning.run.solve` calls :meth:`Fallback.run` when the heuristic's one lead
set gives no plan, on cities of up to :data:`grid_planning.planning.run.EXACT_FALLBACK_UNITS` units.
The stages, in order, each stopping the fallback when it plans or proves:

1. the lead sets the exact bounds leave (:func:`grid_planning.planning.exact.lead_sets`), less
   those the planar argument closes (:mod:`grid_planning.planning.planar`; a proof when it closes
   them all);
2. the heuristic on at most :data:`LEAD_SETS_TRIED` of them, nearest first;
3. the exact program for :data:`PROBE_SHARE` of the time (what HiGHS settles at once: most proofs);
4. :class:`grid_planning.planning.search.WiderSearch` for :data:`FIRST_TRIALS` trials, on the sets
   the heuristic came nearest on first;
5. the cross-sections (:mod:`grid_planning.planning.sections`: a proof when they close every set,
   else the sets they leave);
6. :data:`SKELETON_TRIALS` skeleton trials (:mod:`grid_planning.planning.skeleton`; a proof when
   every set is closed);
7. :data:`SECOND_TRIALS` more of the wider search, then recombination
   (:mod:`grid_planning.planning.recombine`, from the trees the skeleton trials left), then the
   wider search resumed until :data:`SEARCH_SHARE` of the time is spent (from the start);
8. the exact program for the rest.

The seconds are the planning thread's CPU seconds (:mod:`grid_planning.planning.clock`), so a
loaded machine runs the same stages as a quiet one; the trials, steps and their order are counted.
The outcome (:class:`Outcome`) is data: the run words a proof, and says "not found" otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from grid_planning.planning import exact, planar, sections
from grid_planning.planning.clock import Budget
from grid_planning.planning.partition import LockError
from grid_planning.planning.recombine import recombine_search
from grid_planning.planning.search import Build, WiderSearch
from grid_planning.planning.skeleton import skeleton_search

#: Share of the fallback's time the lead-set bounds may take (about 0.05 s a set at 100 units).
LEAD_SET_SHARE = 0.4


#: Seconds the cross-sections may take in all, and on one lead set (HiGHS's limits; on
#: strip-100u-k4-edge4-8%-lock each of its 10 sets closes in 0.3-1 s).
SECTIONS_SECONDS, SECTIONS_SET_SECONDS = 5.0, 2.0


#: After the bounds, the heuristic on at most this many of the lead sets they leave, nearest
#: first, whatever the clock (28 sets of rect-300u-k6: 1.5 s of CPU; at most 45 on the reference
#: family), so the same sets are tried, and the later stages ordered by them, on a loaded machine
#: too (issue 15: a load of 8 once left half of rect-300u's sets untried, another order, no plan).
LEAD_SETS_TRIED = 64


#: Share of the time for the exact program's first look (on the reference family most proofs
#: come in well under a second), and the wider search's first trials (about 1 s of CPU at 300
#: units, 0.4 s at 60).
PROBE_SHARE = 0.05
FIRST_TRIALS = 64
#: The skeleton trials run (at most; strip-60u-k4-corners5-10% is planned at the 2nd-10th, 0.9-1.9 s
#: of CPU), whatever the clock, until the search's share of the time is spent.
SKELETON_TRIALS = 16
#: Then the wider search's next trials, before recombination (strip-300u-k7-corners8-15% is
#: planned at its 226th trial, 6 s of CPU; with recombination first, never within 20 s).
SECOND_TRIALS = 192


#: Share of the time the searches may take, from the start; the exact program has the rest.
SEARCH_SHARE = 0.8


Found = tuple[list[int], np.ndarray, dict]


@dataclass(frozen=True)
class Outcome:
    """What the fallback settled.

    Attributes
    ----------
    plan : (leads, labels, selection) or None
        The plan found: candidate positions of the leads, the grid of each unit, and the record
        of how it was found (``method``, ``iterations``, ``objective``, ``lower_bound``).
    proof : str or None
        How a stage proved that no plan exists: ``"skeleton"`` (every lead set closed by the
        skeleton trials), ``"planar"`` (its cuts in ``evidence``), ``"sections"``, or
        ``"paths"`` (the bounds' disjoint paths closed every set: ``evidence`` holds the paths
        and the grids needing them of the nearest set, :func:`grid_planning.planning.exact.paths_proof`).
    result : ExactResult or None
        Otherwise, the exact program's last word: a plan, a proof (``infeasible``) or
        ``unknown``, with the fallback's seconds.
    evidence : list
        What the refusal's words name (the planar argument's cuts; the paths' counts).
    """

    plan: Found | None = None
    proof: str | None = None
    result: exact.ExactResult | None = None
    evidence: list = field(default_factory=list)


class _Proven(Exception):  # noqa: N818 - control flow: a stage proved that no plan exists
    def __init__(self, proof: str, evidence: list | None = None):
        super().__init__(proof)
        self.proof, self.evidence = proof, list(evidence or [])


class Fallback:
    """The stages (module docstring) for one request.

    Parameters
    ----------
    problem : ExactProblem
        The request, as the exact program states it (its ``minutes`` and ``population`` are the
        planner's: they rank lead sets and weigh plans).
    index : CityIndex
        The city's units (their geometry, for the planar argument and the cross-sections).
    locks_at : callable
        Lead set (candidate positions) -> grid of each locked unit (-1 elsewhere).
    build : callable
        Lead set, minutes -> :class:`grid_planning.planning.partition.Partition` with the
        request's constraints set (its locks are the caller's to pin).
    """

    def __init__(self, problem: exact.ExactProblem, index: object,
                 locks_at: Callable[[list[int]], np.ndarray], build: Build) -> None:
        self.problem, self.index = problem, index
        self.locks_at, self.build = locks_at, build
        self.minutes = np.asarray(problem.minutes, dtype=float)
        self.w = np.asarray(problem.population, dtype=float)
        #: (score, index) of each lead set the heuristic tried (stage 2)
        self.near: list[tuple[tuple[int, float], int]] = []

    def run(self, seconds: float) -> Outcome:
        """The stages within ``seconds`` (CPU seconds, :mod:`grid_planning.planning.clock`)."""
        t0, budget = time.perf_counter(), Budget(seconds)
        end = Budget(SEARCH_SHARE * seconds)
        problem = self.problem
        try:
            sets = self.planar(exact.lead_sets(problem, seconds=LEAD_SET_SHARE * seconds))
            if sets is not None and not sets[0] and (why := exact.paths_proof(problem)):
                raise _Proven("paths", list(why))  # the bounds closed every set: say how
            res, late = None, 0.0
            if sets is not None and sets[0]:
                found = self.other_lead_sets(sets[0], end)
                if found is not None:
                    return Outcome(found)
                # what HiGHS settles at once (most proofs) before the wider search
                probe = budget.spent()
                res = exact.decide(problem, PROBE_SHARE * seconds, gap=exact.REFUSAL_GAP, sets=sets)
                probe = budget.spent() - probe
                late = 2 * max(probe - PROBE_SHARE * seconds, 0.0) + 0.5  # HiGHS overruns
                if res.status == "unknown":
                    found = self.searches(sets[0], end)
                    if found is not None:
                        return Outcome(found)
                    res = None
            if res is None:
                left = max(budget.left() - late, 0.1)
                res = exact.decide(problem, left, gap=exact.REFUSAL_GAP, sets=sets)
        except _Proven as proven:
            return Outcome(proof=proven.proof, evidence=proven.evidence)
        return Outcome(result=replace(res, seconds=time.perf_counter() - t0))

    def searches(self, sets: list[tuple[int, ...]], end: Budget) -> Found | None:
        """Stages 4-7 on ``sets`` (the bounds' order), within ``end``."""
        # the lead sets the heuristic came nearest on first (fewest grids without G5, then
        # least imbalance), the rest after them as they were
        tried = [i for _, i in sorted(self.near)]
        seen = set(tried)
        order = [sets[i] for i in tried + [i for i in range(len(sets)) if i not in seen]]
        wider = self.wider_search(order)
        found, trees = self.wider(wider, end, FIRST_TRIALS), ()
        if found is None:  # a proof from the cross-sections, or the sets they leave
            order = self.sections(order)
            found, trees = self.skeleton(order, end)
        if found is None:  # more of the same search, then recombination
            found = self.wider(wider, end, SECOND_TRIALS)
        if found is None:
            found = self.recombined(order, end, trees)
        if found is None:  # the next trials of the same search
            found = self.wider(wider, end)
        return found

    def planar(self, sets: tuple | None) -> tuple | None:
        """The lead sets left once the planar argument has closed those it can (with the union of
        their bounds); a proof when it closes them all."""
        problem = self.problem
        if sets is None or not sets[0] or not problem.locks:
            return sets
        closed = planar.close_sets(problem, planar.city_outline(self.index), sets[0])
        if not closed.sets:
            raise _Proven("planar", closed.evidence)
        return sets if not closed.closed else (closed.sets, closed.union)

    def sections(self, sets: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
        """``sets`` less those the cross-sections close, in order until the first they leave
        open; a proof when they close them all."""
        cut = sections.close_sets(self.problem, sections.city_spans(self.index), sets,
                                  SECTIONS_SECONDS, SECTIONS_SET_SECONDS, stop_at_open=True)
        if sets and not cut.sets:
            raise _Proven("sections")
        return cut.sets

    def objective(self, leads: list[int], labels: np.ndarray) -> float:
        """Population-weighted minutes of every unit to its lead."""
        return float(self.w @ self.minutes[np.arange(len(self.w)), np.asarray(leads)[labels]])

    def other_lead_sets(self, sets: list[tuple[int, ...]], budget: Budget) -> Found | None:
        """The heuristic on the lead sets the exact bounds leave, nearest first, until one gives
        a plan, :data:`LEAD_SETS_TRIED` are tried, or (a safety net) ``budget`` is spent (the
        heuristic tries one lead set; on awkward cities another set is often where the plan
        is, found in a fraction of a second)."""
        for i, leads in enumerate(sets[:LEAD_SETS_TRIED]):
            if budget.over():
                return None
            leads = list(leads)
            part = self.build(leads, np.ascontiguousarray(self.minutes[:, leads]))
            try:
                part.pin_locks(self.locks_at(leads))
            except LockError:
                continue
            score = part.solve()
            self.near.append((score[:2], i))
            if score[:2] == (0, 0.0):
                return self.found((leads, part.labels, i + 1), "lead-sets")
        return None

    def wider_search(self, sets: list[tuple[int, ...]], seed: int = 0) -> WiderSearch:
        """:class:`grid_planning.planning.search.WiderSearch` on ``sets`` (``seed``: its random
        draws)."""
        p = self.problem
        waived = (np.zeros(p.m, bool) if p.g5_waived is None
                  else np.asarray(p.g5_waived, dtype=bool))
        return WiderSearch(sets, self.minutes, p.adjacency, p.g5,
                           lambda leads: ~waived[list(leads)], self.locks_at, self.build, seed=seed)

    def wider(self, search: WiderSearch, budget: Budget, trials: int | None = None) -> Found | None:
        """``search`` run on until it plans, ``budget`` is spent or ``trials`` (more) have run."""
        found = search.run(budget, None if trials is None else search.trials + max(trials, 1))
        return None if found is None else self.found(found, "wider-search")

    def skeleton(self, sets: list[tuple[int, ...]], budget: Budget) -> tuple[Found | None, tuple]:
        """:data:`SKELETON_TRIALS` skeleton trials on ``sets`` (fewer if ``budget`` is spent): the
        plan (or None) and the trees no plan completed; a proof when every set is closed."""
        out = skeleton_search(self.problem, sets, self.locks_at, self.build, budget,
                              max_trials=SKELETON_TRIALS)
        if out.closed_all:
            raise _Proven("skeleton")
        return (None if out.plan is None else self.found(out.plan, "skeleton")), out.trees

    def recombined(self, sets: list[tuple[int, ...]], budget: Budget, trees: tuple) -> Found | None:
        """Recombination of ``sets``, from the ``trees`` the skeleton trials left."""
        out = recombine_search(self.problem, sets, self.locks_at, self.build, budget, trees)
        return None if out is None else self.found(out, "recombine")

    def found(self, found: tuple[list[int], np.ndarray, int], method: str) -> Found:
        """A stage's plan (leads, labels, count) with its selection record."""
        leads, labels, count = found
        return leads, labels, {"leads": leads, "objective": self.objective(leads, labels),
                               "lower_bound": None, "method": method, "iterations": count}
