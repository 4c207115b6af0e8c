"""Road travel benchmark: roads against straight-line, this checkout against an older one, side by side in one run.

Run ``python benchmarks/bench_roads.py [--quick] [--before DIR]`` from the repository root. Prints,
each with its target and the ratio:

1. the sample city's plan as a whole CLI process (``plan --grids 4 --balance 0.2``), on its
   OpenStreetMap roads (the default) and with ``--cost-mode straight``: CPU seconds of the child
   process (the machine is shared, so wall time is printed too but the ratio is taken on CPU);
   target roads <= 2x straight-line;
2. a re-plan on roads in one process once the city's road times are computed (k changed, then
   the tolerance changed): target <= 0.3 s each;
3. a synthetic city of 100,000 units with a road grid of about 300,000 edges, planned cold (fresh
   index: adjacency, locations and travel times computed) on roads and straight-line: target
   <= 10 s on roads, <= 2 s straight-line. ``--quick`` uses 20,000 units.

With ``--before DIR`` (a checkout of an earlier version, e.g. ``git worktree add /tmp/old main``
or ``git archive main | tar -x -C /tmp/old``) every measurement runs for both code bases, one
after the other in separate processes of the same run, and the rows show both with the ratio
before / after, and whether the two plans are the same (objective and a digest of the
assignment and leads).

Each measurement runs in a fresh child process (``python -c`` with the code base first on the
path), so the two versions share nothing; timings are the best of ``--repeat`` runs (default 3;
the big city once).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Child for measurements 2 and 3: prints one JSON line per timed plan. Uses only what both the
#: old and the new code bases offer (plan_city, travel_costs, synthetic_city, SHARED_COSTS).
CHILD = r'''
import dataclasses, gc, hashlib, json, sys, time
sys.path.insert(0, sys.argv[1])
from grid_planning.city.costs import travel_costs
from grid_planning.city.index import SHARED_COSTS
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.planning.planner import plan_city

def digest(res):
    if res.plan is None:
        return "refused"
    p = res.plan
    h = hashlib.sha256(json.dumps([p.assignment.astype(str).tolist(),
                                   p.leads.astype(str).tolist()]).encode())
    return h.hexdigest()[:10]

def emit(**row):
    print(json.dumps(row), flush=True)

what, repeat = sys.argv[2], int(sys.argv[3])
if what == "replan":
    from grid_planning.city.provenance import load_sample_city
    layers = load_sample_city()
    c0 = time.process_time()
    costs = travel_costs(layers, CostParams(mode="roads"))
    costs.minutes  # every column, as the first plan's metrics and maps read them
    emit(label="first road times (sample)", cpu=time.process_time() - c0, wall=None,
         objective=None, plan=f"{costs.minutes.shape[0]:,} x {costs.minutes.shape[1]}")
    for mode in ("straight", "roads"):
        params = CostParams(mode=mode)
        plan_city(layers, PlanRequest(k=4, balance=0.2, cost=params))
        for label, req in (("k 4 -> 5", PlanRequest(k=5, balance=0.2, cost=params)),
                           ("tolerance 0.2 -> 0.3", PlanRequest(k=5, balance=0.3, cost=params))):
            best, wall = float("inf"), float("inf")
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                res = plan_city(layers, req)
                best = min(best, time.process_time() - c0)
                wall = min(wall, time.perf_counter() - t0)
            emit(label=f"{mode} re-plan {label}", cpu=best, wall=wall,
                 objective=res.stats.get("objective"), plan=digest(res))
else:
    from grid_planning.city.synthetic import synthetic_city
    n = int(what)
    city = synthetic_city(n, 400, 40, seed=5, with_roads=True, road_spacing_m=87.0)
    for mode in ("straight", "roads"):
        best, wall = float("inf"), float("inf")
        for _ in range(repeat):
            SHARED_COSTS.clear()
            fresh = dataclasses.replace(city)  # a new index: nothing computed
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            res = plan_city(fresh, PlanRequest(k=8, cost=CostParams(mode=mode)))
            best = min(best, time.process_time() - c0)
            wall = min(wall, time.perf_counter() - t0)
        emit(label=mode, cpu=best, wall=wall, objective=res.stats.get("objective"),
             plan=digest(res))
'''


def _env(tree: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1"}


def _child(tree: Path, what: str, repeat: int) -> list[dict]:
    """The JSON rows of one child run on code base ``tree``."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), what, str(repeat)],
        cwd=tree, capture_output=True, text=True, env=_env(tree), check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"child on {tree} failed:\n{proc.stderr[-3000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def _cli(tree: Path, mode: str, out: Path) -> tuple[float, float, int]:
    """CPU and wall seconds of one ``plan`` process, and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "grid_planning", "plan", "--grids", "4", "--balance", "0.2",
         "--cost-mode", mode, "--out", str(out)],
        cwd=tree, capture_output=True, text=True, env=_env(tree), check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, proc.returncode


def _header(trees: dict[str, Path]) -> None:
    cols = "".join(f"{name + ' CPU s':>14}{'wall s':>9}" for name in trees)
    extra = f"{'before/after':>13}  same plan" if len(trees) == 2 else ""
    print(f"  {'measure':<44}{cols}{extra}   target")


def _line(label: str, rows: dict[str, dict], target: str, limit: float | None) -> None:
    cells = ""
    for row in rows.values():
        wall = "-" if row.get("wall") is None else f"{row['wall']:.2f}"
        cells += f"{row['cpu']:>14.2f}{wall:>9}"
    names = list(rows)
    extra = ""
    if len(rows) == 2:
        a, b = rows[names[0]], rows[names[1]]
        same = "yes" if a.get("plan") == b.get("plan") and a.get("objective") == b.get("objective") else "NO"
        if a.get("plan") is None:
            same = "-"
        extra = f"{a['cpu'] / max(b['cpu'], 1e-9):>12.1f}x  {same:<9}"
    verdict = ""
    if limit is not None:
        verdict = "OK" if rows[names[-1]]["cpu"] <= limit else "OVER"
    print(f"  {label:<44}{cells}{extra}   {target} {verdict}")


def bench_cli(trees: dict[str, Path], repeat: int, tmp: Path) -> None:
    print("1. Sample city (Wuhan), whole CLI process `plan --grids 4 --balance 0.2`")
    _header(trees)
    cpu = {}
    for mode in ("straight", "roads"):
        rows, codes = {}, set()
        for name, tree in trees.items():
            runs = [_cli(tree, mode, tmp / f"bench_{name}_{mode}.gpkg") for _ in range(repeat)]
            rows[name] = {"cpu": min(r[0] for r in runs), "wall": min(r[1] for r in runs),
                          "plan": None, "objective": None}
            codes |= {r[2] for r in runs}
            cpu[(name, mode)] = rows[name]["cpu"]
        _line(f"{mode} (exit codes {sorted(codes)})", rows, "-", None)
    for name in trees:
        ratio = cpu[(name, "roads")] / cpu[(name, "straight")]
        print(f"  {name}: ratio roads / straight (CPU) {ratio:.2f}x  target <= 2x "
              f"{'OK' if ratio <= 2 else 'OVER'}")


def bench_replan(trees: dict[str, Path], repeat: int) -> None:
    print("2. Re-plan, sample city, travel times already computed (one process; CPU, best of runs)")
    _header(trees)
    results = {name: _child(tree, "replan", repeat) for name, tree in trees.items()}
    for i, row in enumerate(next(iter(results.values()))):
        rows = {name: res[i] for name, res in results.items()}
        roads = row["label"].startswith("roads")
        _line(row["label"], rows, "<= 0.3 s" if roads else "-", 0.3 if roads else None)


def bench_big(trees: dict[str, Path], n_units: int) -> None:
    print(f"3. Synthetic city, {n_units:,} units, road grid ~300,000 edges, 400 facilities, "
          "cold plan k = 8 (fresh index each run)")
    _header(trees)
    results = {name: _child(tree, str(n_units), 1) for name, tree in trees.items()}
    for i, row in enumerate(next(iter(results.values()))):
        rows = {name: res[i] for name, res in results.items()}
        limit = 10.0 if row["label"] == "roads" else 2.0
        _line(f"{row['label']} (objective {row['objective']:.4f})", rows, f"<= {limit:g} s", limit)
    last = list(results.values())[-1]
    print(f"  ratio roads / straight (CPU, this checkout): {last[1]['cpu'] / last[0]['cpu']:.1f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 units instead of 100,000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", type=Path, help="an older checkout, measured side by side")
    ap.add_argument("--only", choices=("cli", "replan", "big"), help="one measurement")
    args = ap.parse_args(argv)
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    trees = {"before": args.before.resolve(), "after": ROOT} if args.before else {"this": ROOT}
    load = os.getloadavg()[0]
    print(f"load average at start: {load:.1f} (2-core machine; CPU seconds are compared)")
    if args.only in (None, "cli"):
        bench_cli(trees, args.repeat, tmp)
    if args.only in (None, "replan"):
        bench_replan(trees, args.repeat)
    if args.only in (None, "big"):
        bench_big(trees, 20_000 if args.quick else 100_000)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
