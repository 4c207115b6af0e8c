"""The planar step (planning/planar.py, issue 15): what it costs where it does not apply, what it
decides where it does. Before and after side by side in one run.

Run ``python benchmarks/bench_planar.py [--quick] [--repeat N] [--full]`` from the repository root.
"Before" is the same code with the step switched off (``fallback.Fallback.planar`` returning the lead sets
as given, which is what the planner did before the step); "after" is the code as it is. CPU seconds
(``time.process_time``, best of ``N``; the machine is shared: wall seconds beside them).

1. Cities the step does not apply to, planned warm (travel costs computed once) with a lock: the
   100,000-unit synthetic city (``--quick``: 20,000; heuristic, no exact fallback above 300 units)
   and the sample city (Wuhan, when it loads). Same plan before and after (digest of assignment and
   leads) and the ratio of the times.
2. The reference family's lock cities (tests/reference_cities.py) of 100-300 units: the step's own
   cost on each (the outline of a fresh index, then the lead sets it closes) and, for
   ``ell-200u-k3-corners5-8%-lock`` (and with ``--full`` the others), the whole refusal before and
   after: code, proven or not, seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from reference_cities import family, shaped_city  # noqa: E402

from grid_planning.city.costs import travel_costs  # noqa: E402
from grid_planning.city.synthetic import synthetic_city  # noqa: E402
from grid_planning.domain.request import PlanRequest  # noqa: E402
from grid_planning.planning import exact, fallback, planar, run  # noqa: E402
from grid_planning.planning.planner import plan_city  # noqa: E402

STEP = fallback.Fallback.planar


def _switch(on: bool) -> None:
    fallback.Fallback.planar = STEP if on else (lambda self, sets: sets)


def _digest(res) -> str:
    if not res.ok:
        inf = res.infeasible
        return f"{inf.code}{' (proven)' if inf.proven else ''}"
    plan = res.plan
    text = plan.assignment.to_csv() + plan.leads.to_csv()
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _timed(layers, request, costs, repeat: int, on: bool):
    _switch(on)
    best, wall, res = float("inf"), float("inf"), None
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        res = plan_city(layers, request, costs=costs, analyse=False)
        best = min(best, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    _switch(True)
    return best, wall, res


def _with_lock(layers, k: int, balance: float | None) -> PlanRequest:
    """A request with one lock: the unit next to the first eligible lead's, locked to it."""
    request = PlanRequest(k=k, balance=balance)
    r = run._Run(layers, request, None, lambda _f, _k: None)
    lead_unit = int(r.cand_unit[0])
    nb = r.nbrs[lead_unit][0]
    return dataclasses.replace(request, locks=((str(r.index.unit_ids[nb]), r.cand_ids[0]),))


def _line(label: str, before, after) -> None:
    (cb, wb, rb), (ca, wa, ra) = before, after
    same = "yes" if _digest(rb) == _digest(ra) else "NO"
    print(f"  {label:44s} {cb:8.2f} {wb:8.2f} {ca:9.2f} {wa:8.2f} {cb / max(ca, 1e-9):8.2f}x  "
          f"{same:5s} {_digest(ra)}", flush=True)


def bench_unaffected(quick: bool, repeat: int) -> None:
    print("1. Cities the step does not apply to (warm plans with one lock)")
    print(f"  {'city':44s} {'before':>8s} {'wall':>8s} {'after':>9s} {'wall':>8s} {'b/a':>9s}  same  outcome")
    n = 20_000 if quick else 100_000
    cities = [(f"synthetic {n:,} units, k 8, +-20 %", lambda: synthetic_city(n, 400, 40, seed=5), 8)]
    try:
        from grid_planning.city.provenance import load_sample_city

        cities.append(("sample city (Wuhan), k 4, +-20 %", load_sample_city, 4))
    except ImportError as exc:
        print(f"  (sample city not loadable: {exc})")
    for label, make, k in cities:
        layers = make()
        costs = travel_costs(layers)
        request = _with_lock(layers, k, 0.2)
        plan_city(layers, request, costs=costs, analyse=False)  # warm: index, adjacency
        before = _timed(layers, request, costs, repeat, on=False)
        after = _timed(layers, request, costs, repeat, on=True)
        _line(f"{label} ({layers.index.n:,} units)", before, after)


def bench_family(full: bool, repeat: int) -> None:
    print("2. Reference lock cities of 100-300 units (tests/reference_cities.py)")
    cases = [c for c in family((20, 40, 60, 100), 5, seed=0) + family((200, 300), 4, seed=1)
             if c.lock and c.n >= 100]
    for case in cases:
        layers, request = shaped_city(case)
        r = run._Run(layers, request, None, lambda _f, _k: None)
        p = r.exact_problem()
        sets, _ = exact.lead_sets(p)
        c0 = time.process_time()
        outline = planar.outline_of(layers.index.geometry, layers.index.adjacency)
        c1 = time.process_time()
        closed = planar.close_sets(p, outline, sets)
        c2 = time.process_time()
        print(f"  {case.name}: outline {c1 - c0:.3f} s CPU (applies: {outline.applies}), "
              f"{len(closed.closed)} of {len(sets)} lead sets closed in {c2 - c1:.3f} s", flush=True)
    print(f"  {'whole refusal':44s} {'before':>8s} {'wall':>8s} {'after':>9s} {'wall':>8s} {'b/a':>9s}  same  outcome")
    for case in cases:
        if not full and not case.name.startswith("ell-200u"):
            continue
        layers, request = shaped_city(case)
        costs = travel_costs(layers)
        before = _timed(layers, request, costs, 1, on=False)
        after = _timed(layers, request, costs, repeat, on=True)
        _line(case.name, before, after)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 synthetic units instead of 100,000")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--full", action="store_true", help="every lock city's whole refusal, not only ell-200u")
    args = ap.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2-core machine; CPU seconds are compared)")
    bench_unaffected(args.quick, args.repeat)
    bench_family(args.full, args.repeat)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
