"""What making shared values read-only costs: a plan and its figures on the sample city.

Run:  python benchmarks/bench_shared_values.py [--reps 5] [--ks 4 8]

For the sample city (Wuhan) at each k, best of ``--reps``: planning (:func:`plan_city`, warm costs),
the figures (:func:`plan_figures`: metrics and policy checks), and, on the same values, the work
that makes them read-only (:mod:`grid_planning.base.frozen`: re-freezing the plan's tables and the
figures' tables as the constructors do) and 1,000 reads of ``plan.assignment`` (each read gives a
new pandas object over the shared storage). The last columns put the freezing and the reads beside
planning + figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grid_planning.assess.metrics import plan_figures  # noqa: E402
from grid_planning.city.costs import travel_costs  # noqa: E402
from grid_planning.city.provenance import load_sample_city  # noqa: E402
from grid_planning.domain.request import CostParams, PlanRequest  # noqa: E402
from grid_planning.planning.planner import plan_city  # noqa: E402


def best(fn, reps: int) -> tuple[float, object]:
    out, t_best = None, float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t0)
    return t_best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--ks", type=int, nargs="+", default=[4, 8])
    args = ap.parse_args()
    layers = load_sample_city()
    costs = travel_costs(layers, CostParams())
    print(f"sample city: {len(layers.units):,} units; best of {args.reps}")
    print(f"{'k':>2} {'plan_s':>7} {'figures_s':>9} {'freeze_ms':>9} {'1000_reads_ms':>13} "
          f"{'freeze/(plan+fig)':>17} {'reads/(plan+fig)':>16}")
    for k in args.ks:
        t_plan, res = best(lambda k=k: plan_city(layers, PlanRequest(k=k), costs=costs), args.reps)
        plan = res.plan
        t_fig, fig = best(lambda plan=plan: plan_figures(layers, plan, costs, lang="zh"), args.reps)
        # The constructors' freezing, on writable copies (what a fresh planning run hands over).
        t_freeze, _ = best(lambda plan=plan, fig=fig: (replace(plan, assignment=plan.assignment.copy(deep=True),
                                            leads=plan.leads.copy(deep=True),
                                            roles=plan.roles.copy(deep=True)),
                                    replace(fig, units=fig.units.copy(deep=True),
                                            grids=fig.grids.copy(deep=True))), args.reps)
        t_reads, _ = best(lambda plan=plan: [plan.assignment for _ in range(1000)], args.reps)
        base = t_plan + t_fig
        print(f"{k:>2} {t_plan:>7.2f} {t_fig:>9.2f} {t_freeze * 1e3:>9.1f} {t_reads * 1e3:>13.1f} "
              f"{t_freeze / base:>17.2%} {t_reads / base:>16.2%}")


if __name__ == "__main__":
    main()
