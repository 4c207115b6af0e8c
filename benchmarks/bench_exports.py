"""Time to produce the print map (PNG 300 dpi and vector PDF) and the full PDF plan report.

Run:  python benchmarks/bench_exports.py [--reps 3] [--ks 4 8]

For the sample city (Wuhan, 7,065 units, 383 facilities) at each k: the plan comes from
:func:`grid_planning.planning.planner.plan_city` with the straight-line cost matrix; then every export is
made ``--reps`` times through :func:`grid_planning.exports.formats.export_plan` (the call behind the
download buttons and the ``export`` command, metrics and geometry included) and the best and
median wall times are printed with the targets of issue 10: print map <= 3 s, report <= 10 s.
The first export of a process also loads matplotlib, reportlab and the fonts; it is reported
separately as ``first``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grid_planning.city.costs import travel_costs  # noqa: E402
from grid_planning.city.provenance import load_sample_city  # noqa: E402
from grid_planning.domain.request import CostParams, PlanRequest  # noqa: E402
from grid_planning.exports.formats import export_plan  # noqa: E402
from grid_planning.planning.planner import plan_city  # noqa: E402

TARGETS = {"png": 3.0, "pdf": 3.0, "report": 10.0}
LABELS = {"png": "print map PNG A4 300 dpi", "pdf": "print map PDF A4 (vector)", "report": "PDF report"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ks", type=int, nargs="+", default=[4, 8])
    args = ap.parse_args()
    layers = load_sample_city()
    costs = travel_costs(layers, CostParams())
    rows = []
    first = None
    for k in args.ks:
        plan = plan_city(layers, PlanRequest(k=k), costs=costs).plan
        for fmt in ("png", "pdf", "report"):
            times, size = [], 0
            for _ in range(args.reps):
                t0 = time.perf_counter()
                out = export_plan(layers, plan, costs, fmt, lang="zh")
                dt = time.perf_counter() - t0
                if first is None:
                    first = dt
                    t0 = time.perf_counter()
                    out = export_plan(layers, plan, costs, fmt, lang="zh")
                    dt = time.perf_counter() - t0
                times.append(dt)
                size = len(out.data)
            best, med = min(times), statistics.median(times)
            rows.append((k, LABELS[fmt], best, med, TARGETS[fmt], size))
    print(f"sample city: {len(layers.units):,} units, {len(layers.facilities):,} facilities; "
          f"reps={args.reps}; first export in a fresh process (imports, fonts): {first:.2f} s")
    print(f"{'k':>2}  {'export':<26} {'best_s':>7} {'median_s':>9} {'target_s':>9} {'ratio':>6} "
          f"{'size_kB':>8}  ok")
    for k, label, best, med, target, size in rows:
        print(f"{k:>2}  {label:<26} {best:>7.2f} {med:>9.2f} {target:>9.1f} {med / target:>6.2f} "
              f"{size / 1024:>8.0f}  {'yes' if med <= target else 'NO'}")


if __name__ == "__main__":
    main()
