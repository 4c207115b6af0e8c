"""The cross-section step proposed for the planner (planning/sections.py, issue 15): before and
after side by side in one run, on the reference cities whose refusal reaches the exact fallback.

Run ``python benchmarks/bench_sections.py [--cities A,B] [--seconds S] [--set-seconds T]`` from
the repository root. "Before" is the planner as it is; "after" is the same run with the step
hooked in after the planar step (``run._Run._planar`` wrapped, the hook proposed in
/work/notes/w7-sections.md; run.py itself is not changed): the lead sets the planar step leaves
go through :func:`grid_planning.planning.sections.close_sets` in order within ``S`` s (``T`` s
at most a set), stopping at the first set left open; a proven refusal when every set closes,
otherwise the sets closed before it drop out. Prints, per city and side: the outcome (plan, or the
refusal's code, proven or not, and its proof; a plan with a digest of its assignment and leads),
wall and CPU seconds, and the step's own seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from reference_cities import family, shaped_city  # noqa: E402

from grid_planning.city.costs import travel_costs  # noqa: E402
from grid_planning.planning import run, sections  # noqa: E402
from grid_planning.planning.planner import plan_city  # noqa: E402

PLANAR = run._Run._planar
CITIES = ("strip-100u-k4-edge4-8%-lock-s8751", "strip-300u-k8-edge10-8%-lock-s7535",
          "ell-200u-k3-corners5-8%-lock-s3118", "strip-60u-k4-corners5-10%-s2572",
          "ring-100u-k8-corners10-15%-s3795", "rect-300u-k6-edge6-3%-s5495")
SPENT: list[float] = []


def hooked(seconds: float, set_seconds: float):
    """``run._Run._planar`` followed by the sections step (the proposed hook)."""

    def step(self, problem, sets):
        sets = PLANAR(self, problem, sets)
        if sets is None or not sets[0]:
            return sets
        t0 = time.perf_counter()
        closed = sections.close_sets(problem, sections.city_spans(self.index), sets[0], seconds,
                                     set_seconds, stop_at_open=True)
        SPENT.append(time.perf_counter() - t0)
        if closed.sets:
            return sets if not closed.closed else (closed.sets, closed.union)
        raise run._stop("no_plan", self._active(), proven=True, k=self.request.k, proof="sections")

    return step


def outcome(res) -> str:
    if res.ok:  # with a digest of the plan (assignment and leads): the same plan before and after?
        plan = res.plan
        text = plan.assignment.sort_index().to_json() + plan.leads.sort_index().to_json()
        return f"plan {hashlib.sha256(text.encode()).hexdigest()[:10]}"
    inf = res.infeasible
    return f"{inf.code} {'proven' if inf.proven else 'not proven'} {inf.params.get('proof', '')}".strip()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cities", default=",".join(CITIES))
    ap.add_argument("--seconds", type=float, default=5.0, help="the step's time in all")
    ap.add_argument("--set-seconds", type=float, default=2.0, help="the step's time per lead set")
    args = ap.parse_args(argv)
    cases = {c.name: c for c in family((20, 40, 60, 100), 5, seed=0) + family((200, 300), 4, seed=1)}
    print(f"{'city':40s} {'side':6s} {'outcome':34s} {'wall s':>7s} {'cpu s':>7s} {'step s':>7s}")
    for name in args.cities.split(","):
        layers, request = shaped_city(cases[name])
        costs = travel_costs(layers)
        walls = {}
        for side in ("before", "after"):
            run._Run._planar = PLANAR if side == "before" else hooked(args.seconds, args.set_seconds)
            SPENT.clear()
            w0, c0 = time.perf_counter(), time.process_time()
            res = plan_city(layers, request, costs=costs, analyse=False)
            walls[side] = time.perf_counter() - w0
            step = f"{sum(SPENT):7.2f}" if SPENT else "      -"
            print(f"{name:40s} {side:6s} {outcome(res):34s} {walls[side]:7.1f} "
                  f"{time.process_time() - c0:7.1f} {step}", flush=True)
        run._Run._planar = PLANAR
        print(f"{'':40s} after/before wall: {walls['after'] / walls['before']:.2f}")


if __name__ == "__main__":
    main()
