"""Recombination in the planner (issue 15): main's planner against this one, side by side in one run.

Run ``python benchmarks/bench_recombine.py [--before DIR] [--runs 1] [--load N] [--cases 0,3]
[--no-steps]`` from the
repository root, where ``DIR`` is a checkout of the version to compare with (default
``/work/main``). strip-300u-k8-edge10-8%-lock-s7535 (tests/reference_cities.py) has a plan at
+-60 % (tests/fixtures/plans/strip300_lock_loose_plan.json), yet the planner before said "not
found within 20 s" there; recombination (``grid_planning/planning/recombine.py``) is the
fallback's last stage.

Each case is planned by both code bases in fresh child processes (``plan_city(analyse=False)``,
the code base first on the path), before and after alternately: strip-300u at +-60 %, +-45 % and
+-30 %, then the two true refusals at their own tolerance (strip-100u-k4-edge4-8%-lock-s8751 and
strip-300u at +-8 %: their refusal must still come within the 20 s budget). Printed per plan:
outcome, wall and CPU seconds, the step that planned (``stats["method"]``), its count, the largest
deviation; then per case the medians and the ratio after / before. ``--load N`` runs every case
again with ``N`` busy processes (started and killed by their pids).

Then the steps themselves: the prototype (``DIR/benchmarks/recombine_plans.py`` when it still
holds its own loop) and the library's :class:`~grid_planning.planning.recombine.Recombination`,
from the same trees of strip-300u's lead set 1 at +-8 % (never settled: every step runs), in
milliseconds per step.
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

from bench_steady import start_load, stop_load

ROOT = Path(__file__).resolve().parents[1]
STRIP300 = "strip-300u-k8-edge10-8%-lock-s7535"
STRIP100 = "strip-100u-k4-edge4-8%-lock-s8751"
CASES = ((STRIP300, 0.60), (STRIP300, 0.45), (STRIP300, 0.30), (STRIP100, None), (STRIP300, None))

#: Child: plans one reference city (at a tolerance, or its own) with the code base at argv[1].
CHILD = r'''
import json, sys, time
from dataclasses import replace
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from reference_cities import family, shaped_city
from grid_planning.city.costs import travel_costs
from grid_planning.planning.planner import plan_city

cases = {c.name: c for c in family((20, 40, 60, 100), 5, seed=0) + family((200, 300), 4, seed=1)}
case = cases[sys.argv[2]]
if sys.argv[3] != "own":
    case = replace(case, balance=float(sys.argv[3]))
layers, request = shaped_city(case)
costs = travel_costs(layers)
w0, c0 = time.perf_counter(), time.process_time()
res = plan_city(layers, request, costs=costs, analyse=False)
wall, cpu = time.perf_counter() - w0, time.process_time() - c0
out = {"wall": wall, "cpu": cpu, "outcome": "plan" if res.ok else
       ("proof" if res.infeasible.proven else res.infeasible.code)}
if res.ok:
    out |= {"method": res.stats.get("method"), "count": res.stats.get("iterations"),
            "dev": res.stats.get("max_balance_dev")}
print(json.dumps(out))
'''

#: Child: milliseconds per recombination step, the prototype's loop (argv[1]'s benchmarks) or the
#: library's, from the trees of cost 1 of strip-300u's lead set 1 at +-8 %.
STEPS_CHILD = r'''
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests", sys.argv[1] + "/benchmarks"]
import recombine_plans as rp
from grid_planning.planning import exact
name, kind, steps = sys.argv[2], sys.argv[3], int(sys.argv[4])
p, _ = rp._problem(name)
leads = exact.lead_sets(p)[0][1]
if kind == "prototype":
    if not hasattr(rp, "_grow"):
        print(json.dumps(None)); raise SystemExit
    seconds = 8.0  # the prototype's steps run for a time (after its trees)
    rec = rp.recombine(name, leads, 1, seconds)
    print(json.dumps({"steps": rec["steps"], "ms": seconds * 1000 / rec["steps"], "maxdev": rec["maxdev"]}))
else:
    import numpy as np
    from grid_planning.domain.request import balance_band
    from grid_planning.planning import skeleton
    from grid_planning.planning.recombine import Recombination
    r = rp._STATE["run"]
    allowed = exact.lead_set_bounds(p, leads, rp._STATE["base"])
    _, tree = skeleton.trees(p, leads, allowed, np.ones((len(leads), p.n)), 60.0)
    rec = Recombination(p.adjacency, p.population, p.g5)
    ids = [r.cand_ids[c] for c in leads]
    band = balance_band(float(np.sum(p.population)) / p.k, p.balance)
    start = rec.grow(tree)
    t = time.perf_counter()
    out = rec.run(start, np.asarray(p.cand_unit)[list(leads)], r._lock_grid(ids), ~r._waived(ids),
                  band, steps, 1)
    ms = (time.perf_counter() - t) * 1000 / out.steps
    print(json.dumps({"steps": out.steps, "ms": ms, "maxdev": round(out.max_dev * 100, 1)}))
'''


def plan(tree: Path, city: str, balance: float | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tree), city,
                           "own" if balance is None else str(balance)],
                          cwd=tree, env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def step_rate(tree: Path, kind: str, steps: int) -> dict | None:
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, "-c", STEPS_CHILD, str(tree), STRIP300, kind, str(steps)],
                          cwd=tree, env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, default=Path("/work/main"), help="the older checkout")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--load", type=int, default=0, help="busy processes for a second, loaded round")
    ap.add_argument("--no-steps", action="store_true", help="leave out the steps' timing")
    ap.add_argument("--cases", default="", help="positions in CASES to run (comma separated; default all)")
    args = ap.parse_args(argv)
    cases = [CASES[int(i)] for i in args.cases.split(",")] if args.cases else list(CASES)
    trees = {"before": args.before.resolve(), "after": ROOT}
    print(f"before: {trees['before']}\nafter:  {trees['after']}")
    loads = (0, args.load) if args.load else (0,)
    summary: dict = {}
    for load in loads:
        procs = start_load(load)
        try:
            time.sleep(2.0 if load else 0.0)
            for city, balance in cases:
                for i in range(args.runs):
                    for side, tree in trees.items():
                        r = plan(tree, city, balance)
                        summary.setdefault((load, city, balance, side), []).append(r)
                        tol = "own" if balance is None else f"+-{balance:.0%}"
                        dev = "" if r.get("dev") is None else f"max dev {r['dev']:.1%}"
                        print(f"load+{load} (1-min avg {os.getloadavg()[0]:4.1f}) {city} {tol:<6} run {i} "
                              f"{side:<6} {r['outcome']:<10} {r['wall']:5.1f}s cpu {r['cpu']:5.1f}s "
                              f"{r.get('method') or '':<10} {r.get('count') or '':<6} {dev}", flush=True)
        finally:
            stop_load(procs)
    print(f"\n{'load':<6}{'case':<44}{'before':>24}{'after':>24}{'wall after/before':>19}")
    for load in loads:
        for city, balance in cases:
            cols, walls = [], []
            for side in trees:
                rs = summary[(load, city, balance, side)]
                ok = sum(r["outcome"] == "plan" for r in rs)
                wall = statistics.median(r["wall"] for r in rs)
                walls.append(wall)
                cols.append(f"{ok} of {len(rs)} plans, {wall:5.1f}s")
            tol = "own" if balance is None else f"+-{balance:.0%}"
            print(f"+{load:<5}{city + ' ' + tol:<44}{cols[0]:>24}{cols[1]:>24}{walls[1] / walls[0]:>18.2f}x")
    if not args.no_steps:
        proto = step_rate(trees["before"], "prototype", 0)
        steps = proto["steps"] if proto else 5000
        lib = step_rate(ROOT, "library", steps)
        print(f"\nrecombination steps, {STRIP300} set 1 seed 1 at +-8 %:")
        if proto:
            print(f"  prototype ({trees['before']}/benchmarks): {proto['steps']} steps, {proto['ms']:.3f} ms/step, "
                  f"max dev {proto['maxdev']} %")
        print(f"  library: {lib['steps']} steps, {lib['ms']:.3f} ms/step, max dev {lib['maxdev']} %")
        if proto:
            print(f"  speed-up: {proto['ms'] / lib['ms']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
