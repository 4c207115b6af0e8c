"""Refusal benchmark (issue 15): time to a plan or a proof, the planner vs the exact model alone.

Run ``python benchmarks/bench_refusals.py [--quick] [--limit S]`` from the repository root. One
process, the same cities and requests for every method:

- instances: the 100-300-unit cities of the reference family (``tests/reference_cities.py``:
  four outlines, G5 hospitals few and in corners, along an edge or clustered, tolerances 3-15 %,
  some locks; the cities of ``tests/planning/test_reference_agreement.py``), and planted cities
  (``tests/corner_cities.py``, a plan meeting G5 at +-4 % hidden in them);
- planner: ``plan_city(..., analyse=False)`` (heuristic; then lead-set bounds, the heuristic on
  each lead set (up to 64), a short ``exact.decide`` probe, 64 trials of the wider search of
  ``planning/search.py``, 16 skeleton trials of ``planning/skeleton.py``, the wider search
  resumed, and ``exact.decide`` for the rest: a plan or a proof within ``--limit`` s; the counts
  do not depend on the clock, see ``bench_steady.py``); its CPU seconds next to its wall seconds
  (the machine may be shared); the last column names the step that planned
  (``stats["method"]``);
- exact alone, plain: HiGHS with the same constraints and flow contiguity, no presolve, no
  heuristic start (``solve_exact(presolve=False)``), stopping at the same 5 % gap;
- exact alone, presolved: the same with the reachability presolve (``solve_exact``).

Printed per instance: the outcome (plan / proof / not found) and seconds of each, side by side,
and the ratio planner : plain exact (a "not found" counts as the time limit). Target of the
issue: a plan or a proof in <= 10 s at 300 units, faster than the exact model alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from corner_cities import planted_city  # noqa: E402
from reference_cities import family, shaped_city  # noqa: E402

from grid_planning.domain.request import PlanRequest  # noqa: E402
from grid_planning.planning import exact, run  # noqa: E402
from grid_planning.planning.planner import plan_city  # noqa: E402


def _cases(quick: bool):
    fam = [c for c in family((20, 40, 60, 100), 5, seed=0) if c.n >= 100]
    fam += family((200, 300), 4, seed=1)
    if quick:
        fam = [c for c in fam if c.n in (100, 300)][:4]
    for c in fam:
        yield c.name, lambda c=c: shaped_city(c)
    for n, k, bal, seed in [(100, 4, 0.10, 0), (300, 8, 0.10, 0)][: 1 if quick else 2]:
        yield f"planted-{n}u-k{k}-{bal:.0%}-s{seed}", lambda n=n, k=k, bal=bal, seed=seed: (
            planted_city(n, k, seed)[0], PlanRequest(k=k, balance=bal))


def _outcome(status: str) -> str:
    return {"optimal": "plan", "feasible": "plan", "infeasible": "proof"}.get(status, "not found")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--limit", type=float, default=20.0, help="seconds for each exact solve")
    args = ap.parse_args(argv)
    run.FALLBACK_SECONDS = args.limit
    print(f"{'city':>40} {'planner':>17} {'cpu':>6} {'exact plain':>17} {'exact presolved':>17}"
          f" {'ratio':>6}  via")
    within = []
    for name, build in _cases(args.quick):
        layers, req = build()
        t, c = time.perf_counter(), time.process_time()
        res = plan_city(layers, req, analyse=False)
        t_plan, c_plan = time.perf_counter() - t, time.process_time() - c
        ours = "plan" if res.ok else "proof" if res.infeasible.proven else "not found"
        problem = run._Run(layers, req, None, lambda _f, _k: None).exact_problem()
        cols, plain = [], args.limit
        for presolve in (False, True):
            t = time.perf_counter()
            ex = exact.solve_exact(problem, time_limit=args.limit, gap=exact.REFUSAL_GAP,
                                   presolve=presolve)
            dt = time.perf_counter() - t
            cols.append(f"{_outcome(ex.status):>9} {dt:6.1f}s")
            if not presolve and ex.status != "unknown":
                plain = dt
        if layers.index.n >= 300:
            within.append(ours != "not found" and t_plan <= 10.0)
        via = res.stats.get("method", "") if res.ok else ""
        print(f"{name:>40} {ours:>9} {t_plan:6.1f}s {c_plan:5.1f}s {cols[0]:>17} {cols[1]:>17} "
              f"{t_plan / plain:6.2f}  {via}", flush=True)
    print(f"300-unit cities with a plan or a proof within 10 s: {sum(within)} of {len(within)}")


if __name__ == "__main__":
    main()
