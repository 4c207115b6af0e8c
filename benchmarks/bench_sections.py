"""The planner's cross-section step (planning/sections.py, ``fallback.Fallback.sections``, issue 15):
without and with it, side by side in one run, on the reference cities whose refusal reaches the
exact fallback.

Run ``python benchmarks/bench_sections.py [--cities A,B]`` from the repository root. "before" is
the planner with the step off (``_sections`` returns the lead sets unchanged); "after" is the
planner as it is (after the wider search's first trials, the lead sets go through
:func:`grid_planning.planning.sections.close_sets` in order, within ``fallback.SECTIONS_SECONDS`` s and
``fallback.SECTIONS_SET_SECONDS`` s a set, stopping at the first set left open; a proven refusal when
every set closes). Prints, per city and side: the outcome (a plan with a digest of its assignment
and leads, or the refusal's code, proven or not, and its proof), wall and CPU seconds, and the
step's own seconds.
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
from grid_planning.planning import fallback  # noqa: E402
from grid_planning.planning.planner import plan_city  # noqa: E402

STEP = fallback.Fallback.sections
CITIES = ("strip-100u-k4-edge4-8%-lock-s8751", "strip-300u-k8-edge10-8%-lock-s7535",
          "ell-200u-k3-corners5-8%-lock-s3118", "strip-60u-k4-corners5-10%-s2572",
          "ring-100u-k8-corners10-15%-s3795", "rect-300u-k6-edge6-3%-s5495")
SPENT: list[float] = []


def timed(self, sets):
    """The step as it is, its seconds recorded."""
    t0 = time.perf_counter()
    try:
        return STEP(self, sets)
    finally:
        SPENT.append(time.perf_counter() - t0)


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
    args = ap.parse_args(argv)
    cases = {c.name: c for c in family((20, 40, 60, 100), 5, seed=0) + family((200, 300), 4, seed=1)}
    print(f"{'city':40s} {'side':6s} {'outcome':34s} {'wall s':>7s} {'cpu s':>7s} {'step s':>7s}")
    for name in args.cities.split(","):
        layers, request = shaped_city(cases[name])
        costs = travel_costs(layers)
        walls = {}
        for side in ("before", "after"):
            fallback.Fallback.sections = (lambda self, sets: sets) if side == "before" else timed
            SPENT.clear()
            w0, c0 = time.perf_counter(), time.process_time()
            res = plan_city(layers, request, costs=costs, analyse=False)
            walls[side] = time.perf_counter() - w0
            step = f"{sum(SPENT):7.2f}" if SPENT else "      -"
            print(f"{name:40s} {side:6s} {outcome(res):34s} {walls[side]:7.1f} "
                  f"{time.process_time() - c0:7.1f} {step}", flush=True)
        fallback.Fallback.sections = STEP
        print(f"{'':40s} after/before wall: {walls['after'] / walls['before']:.2f}")


if __name__ == "__main__":
    main()
