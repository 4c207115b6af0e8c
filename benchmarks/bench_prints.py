"""Print map and PDF report as the planner waits for them: from the dashboard's button and as a CLI run.

Run:  python benchmarks/bench_prints.py [--reps 3] [--ks 4 8] [--baseline DIR] [--cli-only]

For the sample city (Wuhan) at each k, planned with ``plan_city`` (balance ±10 %, the dashboard's start):

- ``button``: :func:`grid_planning.exports.formats.export_plan` in a process that already shows the plan
  (the city's territory, costs and fonts are warm, as after the plan page drew its map): best and median of
  ``--reps``;
- ``cli``: ``python -m grid_planning export PLAN.gpkg --format pdf|report`` as a whole new process
  (interpreter start, imports, reading the plan file and the city, the territory tiling, drawing, writing):
  best and median of ``--reps``.

Targets of issue 16: print map <= 3 s, report <= 10 s. Figures, targets and ratios are printed side by side.

``--baseline DIR``: a checkout of the code to compare with (e.g. ``git archive main | tar -x -C DIR``); its
CLI runs on the same plan files in the same run, alternating with this tree's (so both see the same load),
and the table adds its figures and the ratio this / baseline. ``cpu`` columns are the child process's user +
system CPU seconds: on a machine shared with other work the wall time is several times the CPU time, while
the CPU time stays near what a quiet machine's wall time would be.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grid_planning.city.costs import travel_costs  # noqa: E402
from grid_planning.city.provenance import load_sample_city  # noqa: E402
from grid_planning.domain.request import CostParams, PlanRequest  # noqa: E402
from grid_planning.exports.formats import export_plan  # noqa: E402
from grid_planning.exports.planfile import write_plan  # noqa: E402
from grid_planning.planning.planner import plan_city  # noqa: E402

TARGETS = {"pdf": 3.0, "report": 10.0}
LABELS = {"pdf": "print map (PDF, A3)", "report": "PDF report"}


def _cli(plan_path: Path, fmt: str, out: Path, tree: Path = ROOT) -> tuple[float, float]:
    """(wall, cpu) seconds of one export as a whole new process run from ``tree``."""
    cmd = [sys.executable, "-m", "grid_planning", "export", str(plan_path), "--format", fmt,
           "--out", str(out), "--lang", "zh"]
    if fmt == "pdf":
        cmd += ["--paper", "A3", "--orientation", "landscape"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=tree, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(tree)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ks", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--formats", nargs="+", default=["pdf", "report"], choices=["pdf", "report"])
    ap.add_argument("--baseline", type=Path, help="checkout of the code to compare with, in the same run")
    ap.add_argument("--cli-only", action="store_true", help="skip the in-process (button) timings")
    args = ap.parse_args()
    layers = load_sample_city()
    costs = travel_costs(layers, CostParams())
    t0 = time.perf_counter()
    layers.index.territory  # noqa: B018 - computed once per city, as when the plan page draws its map
    tiling = time.perf_counter() - t0
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_prints_") as tmp:
        for k in args.ks:
            plan = plan_city(layers, PlanRequest(k=k, balance=0.1), costs=costs).plan
            plan_path = Path(tmp) / f"plan_k{k}.gpkg"
            write_plan(plan_path, layers, plan, costs)
            for fmt in args.formats:
                kwargs = {"paper": "A3", "orientation": "landscape"} if fmt == "pdf" else {}
                button = [float("nan")]
                if not args.cli_only:
                    export_plan(layers, plan, costs, fmt, lang="zh", **kwargs)  # fonts and imports warm
                    button = []
                    for _ in range(args.reps):
                        t0 = time.perf_counter()
                        export_plan(layers, plan, costs, fmt, lang="zh", **kwargs)
                        button.append(time.perf_counter() - t0)
                cli, base = [], []
                for _ in range(args.reps):
                    if args.baseline:
                        base.append(_cli(plan_path, fmt, Path(tmp) / f"base_k{k}.{fmt}", args.baseline))
                    cli.append(_cli(plan_path, fmt, Path(tmp) / f"out_k{k}.{fmt}"))
                rows.append((k, LABELS[fmt], button, cli, base, TARGETS[fmt]))
    print(f"sample city: {len(layers.units):,} units; territory tiling once per city: {tiling:.2f} s; "
          f"reps={args.reps}; load average {os.getloadavg()[0]:.1f} at the end")
    head = (f"{'k':>2}  {'export':<20} {'button_med':>10} {'cli_best':>8} {'cli_med':>7} {'cpu_med':>7} "
            f"{'target_s':>8} {'cpu/target':>10}")
    if args.baseline:
        head += f" {'base_cli_med':>12} {'base_cpu_med':>12} {'cli/base':>8} {'cpu/base':>8}"
    print(head)
    for k, label, button, cli, base, target in rows:
        walls, cpus = [w for w, _ in cli], [c for _, c in cli]
        line = (f"{k:>2}  {label:<20} {statistics.median(button):>10.2f} {min(walls):>8.2f} "
                f"{statistics.median(walls):>7.2f} {statistics.median(cpus):>7.2f} {target:>8.1f} "
                f"{statistics.median(cpus) / target:>10.2f}")
        if base:
            bw, bc = statistics.median([w for w, _ in base]), statistics.median([c for _, c in base])
            line += (f" {bw:>12.2f} {bc:>12.2f} {statistics.median(walls) / bw:>8.2f} "
                     f"{statistics.median(cpus) / bc:>8.2f}")
        print(line)


if __name__ == "__main__":
    main()
