"""Does the fallback find the same plan on a loaded machine? Before and after, quiet and loaded, in one run.

Run ``python benchmarks/bench_steady.py --before DIR [--load 6] [--runs 3] [--cities NAME ...]``
from the repository root, where ``DIR`` is a checkout of the version to compare with (e.g. the
main checkout). Issue 15: the reference city ``rect-300u-k6-edge6-3%-s5495`` has a plan, found in
about 4 s on a quiet machine, but "not found within 20 s" at a load of 8 on 2 cores, because the
stages of the fallback after a heuristic refusal (``planning/run.py``) were cut by the clock.

For each load (none, then ``--load`` busy ``python -c "while True: pass"`` processes this script
starts and kills by their pids when done), each city and each run, both code bases plan the city
in fresh child processes (``plan_city(analyse=False)``, the code base first on the path), before
and after alternately. Printed per plan: the outcome, wall and CPU seconds, the step that planned
and its trial (``stats["method"]``, ``stats["iterations"]``), the objective, and the stages of the
fallback as ``name wall/cpu`` seconds (lead-set bounds, the heuristic on each lead set, the HiGHS
decide calls, the wider search's runs, the skeleton trials). Then per load and city: plans found
out of runs and the median wall seconds, before and after, side by side.

Default cities: rect-300u-k6-edge6-3% (wider search), strip-60u-k4-corners5-10% (skeleton
trials), ring-100u-k8-corners10-15% (wider search); ``--cities`` also takes the new draws of
benchmarks/sweep_new_cities.py (``family((60, 100, 200, 300), 4, seed=3)`` and ``seed=4``), e.g.
strip-300u-k7-corners8-15%-s5002, planned at the wider search's 226th trial. ``--family``: every city of the reference
family (the cities of ``tests/planning/test_reference_agreement.py``), quiet only, one run, with
a last line saying whether both code bases gave the same outcome, step, trial and objective.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CITIES = (
    "rect-300u-k6-edge6-3%-s5495",
    "strip-60u-k4-corners5-10%-s2572",
    "ring-100u-k8-corners10-15%-s3795",
)

#: Child: plans one reference city with the code base at argv[1], prints one JSON line. Uses only
#: what both code bases offer; a stage missing from one of them is simply not timed.
CHILD = r'''
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from reference_cities import family, shaped_city
from grid_planning.city.costs import travel_costs
from grid_planning.planning import exact, run
from grid_planning.planning.planner import plan_city

cases = {c.name: c for c in family((20, 40, 60, 100), 5, seed=0) + family((200, 300), 4, seed=1)
         + family((60, 100, 200, 300), 4, seed=3) + family((60, 100, 200, 300), 4, seed=4)}
layers, request = shaped_city(cases[sys.argv[2]])
costs = travel_costs(layers)
stages = []

def timed(owner, attr, label):
    f = getattr(owner, attr, None)
    if f is None:
        return
    def g(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        try:
            return f(*a, **k)
        finally:
            stages.append(f"{label} {time.perf_counter() - t:.1f}/{time.process_time() - c:.1f}")
    setattr(owner, attr, g)

timed(exact, "lead_sets", "bounds")
timed(run._Run, "_other_lead_sets", "sets")
timed(exact, "decide", "highs")
timed(run._Run, "_wider", "wider")
if not hasattr(run._Run, "_wider"):
    timed(run._Run, "_wider_search", "wider")
timed(run._Run, "_skeleton", "skeleton")
try:  # the stages' own class (planning/fallback.py), where the code base has it
    from grid_planning.planning import fallback
except ImportError:
    fallback = None
if fallback is not None:
    timed(fallback.Fallback, "other_lead_sets", "sets")
    timed(fallback.Fallback, "wider", "wider")
    timed(fallback.Fallback, "skeleton", "skeleton")
t, c = time.perf_counter(), time.process_time()
res = plan_city(layers, request, costs=costs, analyse=False)
wall, cpu = time.perf_counter() - t, time.process_time() - c
out = "plan" if res.ok else ("proof" if res.infeasible.proven else res.infeasible.code)
print(json.dumps({"outcome": out, "wall": wall, "cpu": cpu, "method": res.stats.get("method"),
                  "trial": res.stats.get("iterations"), "objective": res.stats.get("objective"),
                  "stages": stages}))
'''


def plan(tree: Path, city: str) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tree), city], cwd=tree,
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise RuntimeError(f"child on {tree} ({city}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def start_load(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop_load(procs: list[subprocess.Popen]) -> None:
    for p in procs:  # only the processes this script started, by their pids
        p.kill()
    for p in procs:
        p.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="the older checkout")
    ap.add_argument("--load", type=int, default=6, help="busy processes for the loaded runs")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cities", nargs="+", default=list(CITIES))
    ap.add_argument("--family", action="store_true", help="every reference city, quiet, once")
    args = ap.parse_args(argv)
    loads = (0, args.load)
    if args.family:
        sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
        from reference_cities import family

        args.cities = [c.name for c in family((20, 40, 60, 100), 5, seed=0)
                       + family((200, 300), 4, seed=1)]
        args.runs, loads = 1, (0,)
    trees = {"before": args.before.resolve(), "after": ROOT}
    print(f"before: {trees['before']}\nafter:  {trees['after']}")
    summary = {}
    for load in loads:
        procs = start_load(load)
        try:
            time.sleep(2.0 if load else 0.0)
            for city in args.cities:
                for i in range(args.runs):
                    for side, tree in trees.items():
                        r = plan(tree, city)
                        la = os.getloadavg()[0]
                        summary.setdefault((load, city, side), []).append(r)
                        obj = "" if r["objective"] is None else f"{r['objective']:.6f}"
                        print(f"load+{load} (1-min avg {la:4.1f}) {city:<34} run {i} {side:<6} "
                              f"{r['outcome']:<9} {r['wall']:5.1f}s cpu {r['cpu']:4.1f}s "
                              f"{r['method'] or '':<12} trial {r['trial'] or '-':<4} {obj:<10} "
                              f"{' '.join(r['stages'])}", flush=True)
        finally:
            stop_load(procs)
    print(f"\n{'load':<7}{'city':<34}{'before: plans':>14}{'median s':>9}{'after: plans':>14}"
          f"{'median s':>9}")
    differ = 0
    for load in loads:
        for city in args.cities:
            a, b = (summary[(load, city, side)][0] for side in trees)
            keys = ("outcome", "method", "trial", "objective")
            differ += any(a[key] != b[key] for key in keys)
            cols = []
            for side in trees:
                rs = summary[(load, city, side)]
                ok = sum(r["outcome"] == "plan" for r in rs)
                cols.append(f"{ok:>9} of {len(rs)}{statistics.median(r['wall'] for r in rs):>8.1f}s")
            print(f"+{load:<6}{city:<34}{cols[0]:>23}{cols[1]:>23}")
    print(f"first runs differing (outcome, step, trial or objective): {differ}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
