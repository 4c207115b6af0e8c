"""Refusal benchmark (issue 15): time to a plan or a proof, the planner vs the exact model alone.

Run ``python benchmarks/bench_refusals.py [--quick] [--limit S]`` from the repository root. One
process, the same cities and requests for every method:

- instances: planted cities of 100-300 units (``tests/corner_cities.py``: G5 hospitals few and far
  from the leads, a plan meeting G5 at +-4 % planted), k = 4-8, balance +-10 % and +-15 %;
- planner: ``plan_city(..., analyse=False)`` (heuristic, then the exact fallback);
- exact alone: HiGHS with the same constraints (``solve_exact`` on the same ``ExactProblem``),
  with the single-commodity flow model and with separator cuts, each with the time limit.

Printed per instance: the outcome (plan / proof / not found) and seconds of each, side by side,
and the ratio planner : best exact. Target of the issue: a plan or a proof in <= 10 s at 300 units.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from corner_cities import planted_city  # noqa: E402

from grid_planning.domain.request import PlanRequest  # noqa: E402
from grid_planning.planning import exact, run  # noqa: E402
from grid_planning.planning.planner import plan_city  # noqa: E402

CASES = [(100, 4, 0.10), (100, 5, 0.15), (150, 5, 0.10), (200, 6, 0.10), (300, 8, 0.10)]
QUICK = [(100, 4, 0.10), (300, 8, 0.10)]


def _outcome(ok: bool, proven: bool) -> str:
    return "plan" if ok else "proof" if proven else "not found"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--limit", type=float, default=20.0, help="seconds for each exact solve")
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args(argv)
    run.FALLBACK_SECONDS = args.limit
    print(f"{'city':>16} {'planner':>18} {'exact(flow)':>18} {'exact(cuts)':>18} {'ratio':>6}")
    for n, k, bal in QUICK if args.quick else CASES:
        for seed in range(args.seeds):
            layers, _ = planted_city(n, k, seed)
            req = PlanRequest(k=k, balance=bal)
            t = time.perf_counter()
            res = plan_city(layers, req, analyse=False)
            t_plan = time.perf_counter() - t
            ours = _outcome(res.ok, bool(res.infeasible and res.infeasible.proven))
            problem = run._Run(layers, req, None, lambda _f, _k: None).exact_problem()
            cols = []
            best = float("inf")
            for how in ("flow", "cuts"):
                t = time.perf_counter()
                ex = exact.solve_exact(problem, time_limit=args.limit, contiguity=how)
                dt = time.perf_counter() - t
                out = {"optimal": "plan", "infeasible": "proof"}.get(ex.status, "not found")
                cols.append(f"{out:>9} {dt:6.1f}s")
                if ex.status != "unknown":
                    best = min(best, dt)
            ratio = f"{t_plan / best:6.2f}" if best < float("inf") else "   n/a"
            name = f"{n}u k={k} ±{bal:.0%} #{seed}"
            print(f"{name:>16} {ours:>9} {t_plan:6.1f}s {cols[0]:>18} {cols[1]:>18} {ratio}", flush=True)


if __name__ == "__main__":
    main()
