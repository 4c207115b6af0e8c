"""Are the plans the same? This checkout against an older one, plan by plan, in one run.

Run ``python benchmarks/compare_plans.py --before DIR [--quick]`` from the repository root, where
``DIR`` is a checkout of the version to compare with (``git worktree add /tmp/old main``, or
``git archive main | tar -x -C /tmp/old``). For every case below both code bases plan in fresh
child processes (the code base first on the path, nothing shared), and the rows show, side by side,
the objective and a digest of the assignment (unit -> grid, in unit order), of the leads
(grid -> hospital) and of the roles table (every facility's grid, role, home grid and supports),
with ``same`` when all four are equal, and each side's CPU seconds for the plan.

Cases: the sample city (Wuhan) at k = 4 and 8, on its roads and straight-line, with balance off
and at 20 %; three 3,000-unit synthetic cities (seeds 1-3) at k = 4 and 8; a 20,000-unit city and
the 100,000-unit city of ``bench_roads.py`` at k = 8; each synthetic city on its road grid and
straight-line. ``--quick`` leaves out the 100,000-unit city. The exit code is 1 when any plan
differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Child: plans the cases of one city and prints one JSON line per plan. Uses only what both code
#: bases offer (plan_city, synthetic_city, load_sample_city, SHARED_COSTS).
CHILD = r'''
import dataclasses, gc, hashlib, json, sys, time
sys.path.insert(0, sys.argv[1])
import pandas as pd
from grid_planning.city.index import SHARED_COSTS
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.planning.planner import plan_city

def digest(obj):
    return hashlib.sha256(json.dumps(obj, default=str).encode()).hexdigest()[:12]

def row(res):
    if res.plan is None:
        return {"objective": None, "assignment": "refused", "leads": "refused", "roles": "refused"}
    p = res.plan
    roles = p.roles.reset_index()
    roles = roles.astype(object).where(pd.notna(roles), None)
    return {
        "objective": res.stats.get("objective"),
        "assignment": digest([p.assignment.index.astype(str).tolist(),
                              p.assignment.astype(str).tolist()]),
        "leads": digest([p.leads.index.astype(str).tolist(), p.leads.astype(str).tolist()]),
        "roles": digest([list(map(str, roles.columns)), roles.values.tolist()]),
    }

city_name = sys.argv[2]
cases = json.loads(sys.argv[3])
if city_name == "sample":
    from grid_planning.city.provenance import load_sample_city
    city = load_sample_city()
else:
    from grid_planning.city.synthetic import synthetic_city
    n, seed = (int(x) for x in city_name.split(":"))
    city = synthetic_city(n, 400 if n >= 20000 else 150, 40 if n >= 20000 else 20, seed=seed,
                          with_roads=True, road_spacing_m=87.0 if n >= 100000 else None)
for k, mode, balance in cases:
    SHARED_COSTS.clear()
    fresh = dataclasses.replace(city)  # a new index: nothing computed
    gc.collect()
    c0 = time.process_time()
    res = plan_city(fresh, PlanRequest(k=k, balance=balance, cost=CostParams(mode=mode)))
    cpu = time.process_time() - c0
    print(json.dumps({"k": k, "mode": mode, "balance": balance, "cpu": cpu} | row(res)), flush=True)
'''


def cities(quick: bool) -> list[tuple[str, list]]:
    both = ("straight", "roads")
    out = [("sample", [[k, m, b] for k in (4, 8) for m in both for b in (None, 0.2)])]
    out += [(f"3000:{seed}", [[k, m, None] for k in (4, 8) for m in both]) for seed in (1, 2, 3)]
    out.append(("20000:5", [[8, m, None] for m in both]))
    if not quick:
        out.append(("100000:5", [[8, m, None] for m in both]))
    return out


def run(tree: Path, city: str, cases: list) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), city, json.dumps(cases)],
        cwd=tree, capture_output=True, text=True, env=env, check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"child on {tree} ({city}) failed:\n{proc.stderr[-3000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="the older checkout")
    ap.add_argument("--quick", action="store_true", help="without the 100,000-unit city")
    args = ap.parse_args(argv)
    before, after = args.before.resolve(), ROOT
    print(f"before: {before}\nafter:  {after}")
    print(f"{'city':<10}{'k':>3} {'mode':<9}{'bal':>5}{'objective':>16}  {'assignment':<13}"
          f"{'leads':<13}{'roles':<13}{'cpu before':>11}{'cpu after':>10}  same")
    differ = 0
    for city, cases in cities(args.quick):
        old, new = run(before, city, cases), run(after, city, cases)
        for a, b in zip(old, new, strict=True):
            keys = ("objective", "assignment", "leads", "roles")
            same = all(a[key] == b[key] for key in keys)
            differ += not same
            obj = "refused" if b["objective"] is None else f"{b['objective']:.10f}"
            bal = "-" if b["balance"] is None else f"{b['balance']:g}"
            print(f"{city:<10}{b['k']:>3} {b['mode']:<9}{bal:>5}{obj:>16}  {b['assignment']:<13}"
                  f"{b['leads']:<13}{b['roles']:<13}{a['cpu']:>11.2f}{b['cpu']:>10.2f}  "
                  f"{'yes' if same else 'NO: ' + ', '.join(k for k in keys if a[k] != b[k])}")
    print(f"{differ} plan(s) differ" if differ else "every plan is the same")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
