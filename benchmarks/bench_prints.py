"""Print map and PDF report as the planner waits for them: from the dashboard's button and as a CLI run.

Run:  python benchmarks/bench_prints.py [--reps 3] [--ks 4 8]

For the sample city (Wuhan) at each k, planned with ``plan_city`` (balance ±10 %, the dashboard's start):

- ``button``: :func:`grid_planning.exports.formats.export_plan` in a process that already shows the plan
  (the city's territory, costs and fonts are warm, as after the plan page drew its map): best and median of
  ``--reps``;
- ``cli``: ``python -m grid_planning export PLAN.gpkg --format pdf|report`` as a whole new process
  (interpreter start, imports, reading the plan file and the city, the territory tiling, drawing, writing):
  best and median of ``--reps``.

Targets of issue 16: print map <= 3 s, report <= 10 s. Figures, targets and ratios are printed side by side.
"""

from __future__ import annotations

import argparse
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


def _cli(plan_path: Path, fmt: str, out: Path) -> float:
    cmd = [sys.executable, "-m", "grid_planning", "export", str(plan_path), "--format", fmt,
           "--out", str(out), "--lang", "zh"]
    if fmt == "pdf":
        cmd += ["--paper", "A3", "--orientation", "landscape"]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ks", type=int, nargs="+", default=[4, 8])
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
            for fmt in ("pdf", "report"):
                kwargs = {"paper": "A3", "orientation": "landscape"} if fmt == "pdf" else {}
                export_plan(layers, plan, costs, fmt, lang="zh", **kwargs)  # fonts and imports warm
                button = []
                for _ in range(args.reps):
                    t0 = time.perf_counter()
                    export_plan(layers, plan, costs, fmt, lang="zh", **kwargs)
                    button.append(time.perf_counter() - t0)
                cli = [_cli(plan_path, fmt, Path(tmp) / f"out_k{k}.{fmt}") for _ in range(args.reps)]
                rows.append((k, LABELS[fmt], min(button), statistics.median(button), min(cli),
                             statistics.median(cli), TARGETS[fmt]))
    print(f"sample city: {len(layers.units):,} units; territory tiling once per city: {tiling:.2f} s; "
          f"reps={args.reps}")
    print(f"{'k':>2}  {'export':<22} {'button_best':>11} {'button_med':>10} {'cli_best':>9} {'cli_med':>8} "
          f"{'target_s':>8} {'ratio_button':>12} {'ratio_cli':>9}")
    for k, label, bb, bm, cb, cm, target in rows:
        print(f"{k:>2}  {label:<22} {bb:>11.2f} {bm:>10.2f} {cb:>9.2f} {cm:>8.2f} {target:>8.1f} "
              f"{bm / target:>12.2f} {cm / target:>9.2f}")


if __name__ == "__main__":
    main()
