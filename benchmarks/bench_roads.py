"""Road travel benchmark: roads against straight-line, side by side in one run.

Run ``python benchmarks/bench_roads.py [--quick]`` from the repository root. Prints, each with its
target and the ratio:

1. the sample city's plan as a whole CLI process (``plan --grids 4 --balance 0.2``), on its
   OpenStreetMap roads (the default) and with ``--cost-mode straight``: CPU seconds of the child
   process (the machine is shared, so wall time is printed too but the ratio is taken on CPU);
   target roads <= 2x straight-line;
2. a re-plan on roads in one process once the city's road times are computed (k changed, then
   the tolerance changed): target <= 0.3 s each;
3. a synthetic city of 100,000 units with a road grid of about 300,000 edges, planned cold (fresh
   index: adjacency, locations and travel times computed) on roads and straight-line: target
   <= 10 s on roads, <= 2 s straight-line. ``--quick`` uses 20,000 units.

Each timing is the best of ``--repeat`` runs (default 1 for the big city, 3 otherwise).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grid_planning.city.costs import road_network, travel_costs  # noqa: E402
from grid_planning.city.index import SHARED_COSTS  # noqa: E402
from grid_planning.city.provenance import load_sample_city  # noqa: E402
from grid_planning.city.synthetic import synthetic_city  # noqa: E402
from grid_planning.domain.request import CostParams, PlanRequest  # noqa: E402
from grid_planning.planning.planner import plan_city  # noqa: E402


def _cli(mode: str, out: Path) -> tuple[float, float, int]:
    """CPU and wall seconds of one ``plan`` process, and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "grid_planning", "plan", "--grids", "4", "--balance", "0.2",
         "--cost-mode", mode, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, proc.returncode


def _row(label: str, value: float, target: str, extra: str = "") -> None:
    print(f"  {label:<46} {value:8.2f} s   target {target:<10} {extra}")


def bench_cli(repeat: int, tmp: Path) -> None:
    print("1. Sample city (Wuhan), whole CLI process `plan --grids 4 --balance 0.2`")
    res = {}
    for mode in ("straight", "roads"):
        runs = [_cli(mode, tmp / f"bench_{mode}.gpkg") for _ in range(repeat)]
        cpu = min(r[0] for r in runs)
        wall = min(r[1] for r in runs)
        codes = {r[2] for r in runs}
        res[mode] = cpu
        _row(f"{mode} (CPU; wall {wall:.1f} s; exit {sorted(codes)})", cpu,
             "<= 2x" if mode == "roads" else "-")
    ratio = res["roads"] / res["straight"]
    print(f"  ratio roads / straight (CPU): {ratio:.2f}x  {'OK' if ratio <= 2 else 'OVER'}")


def bench_replan(repeat: int) -> None:
    print("2. Re-plan, sample city, travel times already computed (one process; CPU, best of runs)")
    layers = load_sample_city()
    t0 = time.process_time()
    costs = travel_costs(layers, CostParams(mode="roads"))
    print(f"  first road times (7,065 units x {costs.minutes.shape[1]} facilities, CPU): "
          f"{time.process_time() - t0:.2f} s")
    net = road_network(layers.index.roads_metric(), CostParams())
    print(f"  network: {net.graph.shape[0]:,} nodes, {net.graph.nnz // 2:,} edges, noding "
          f"{net.noding}")
    for mode in ("straight", "roads"):
        params = CostParams(mode=mode)
        travel_costs(layers, params)
        plan_city(layers, PlanRequest(k=4, balance=0.2, cost=params))
        for label, req in (("k 4 -> 5", PlanRequest(k=5, balance=0.2, cost=params)),
                           ("tolerance 0.2 -> 0.3", PlanRequest(k=5, balance=0.3, cost=params))):
            best, wall = float("inf"), float("inf")
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                result = plan_city(layers, req)
                best = min(best, time.process_time() - c0)
                wall = min(wall, time.perf_counter() - t0)
            ok = "planned" if result.plan is not None else "refused"
            target = "<= 0.3 s" if mode == "roads" else "-"
            verdict = ("OK" if best <= 0.3 else "OVER") if mode == "roads" else ""
            _row(f"{mode} re-plan {label} ({ok}; wall {wall:.2f} s)", best, target, verdict)


def bench_big(n_units: int, repeat: int) -> None:
    print(f"3. Synthetic city, {n_units:,} units, cold plan k = 8 (fresh index each run)")
    t0 = time.perf_counter()
    city = synthetic_city(n_units, 400, 40, seed=5, with_roads=True, road_spacing_m=87.0)
    print(f"  city built in {time.perf_counter() - t0:.1f} s (not timed below)")
    net = road_network(city.index.roads_metric(), CostParams())
    print(f"  network: {net.graph.shape[0]:,} nodes, {net.graph.nnz // 2:,} edges; "
          f"{len(city.facilities)} facilities")
    times = {}
    for mode, target in (("straight", 2.0), ("roads", 10.0)):
        best = float("inf")
        for _ in range(repeat):
            SHARED_COSTS.clear()
            fresh = dataclasses.replace(city)
            gc.collect()
            t0 = time.perf_counter()
            c0 = time.process_time()
            plan_city(fresh, PlanRequest(k=8, cost=CostParams(mode=mode)))
            best = min(best, time.process_time() - c0)
            wall = time.perf_counter() - t0
        times[mode] = best
        _row(f"{mode} (CPU; wall {wall:.1f} s)", best, f"<= {target:g} s",
             "OK" if best <= target else "OVER")
    print(f"  ratio roads / straight (CPU): {times['roads'] / times['straight']:.1f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 units instead of 100,000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    bench_cli(args.repeat, tmp)
    bench_replan(args.repeat)
    bench_big(20_000 if args.quick else 100_000, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
