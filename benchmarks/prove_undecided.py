"""Decide an undecided reference city offline, lead set by lead set (issue 15).

Run ``python benchmarks/prove_undecided.py CITY [--seconds S] [--workers W] [--sets I,J,..]``
from the repository root. ``CITY`` is a name of the reference family
(``tests/reference_cities.py``: ``family((20, 40, 60, 100), 5, seed=0)`` and
``family((200, 300), 4, seed=1)``), e.g. ``strip-100u-k4-edge4-8%-lock-s8751``.

Every plan has some set of ``k`` leads. For each lead set, in turn:

1. ``exact.lead_set_bounds`` (the planner's bounds, via ``exact.lead_sets``): sets it rejects are
   closed by bounds (counted, not listed);
2. the skeleton tree program (``planning.skeleton.trees``, disjoint trees from each lead to its
   locked units and a G5 unit under the band's upper bound), given up to ``S`` s: it is a
   relaxation of every plan with these leads, so "none" closes the set;
3. otherwise the exact model (``exact.solve_exact``, flow contiguity) with the leads fixed (the
   other candidates masked out), zero objective, up to ``S`` s: HiGHS proves the set infeasible,
   finds a plan, or runs out of time.

A plan found is checked by the tests' independent checker (``tests/oracle.problems``) and
printed as unit -> lead. The city has no plan exactly when every set is closed. ``W`` worker
processes share the sets (one HiGHS thread each). Prints one line per set: how it was closed,
seconds, HiGHS status.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from reference_cities import family, shaped_city  # noqa: E402

from grid_planning.planning import exact, run, skeleton  # noqa: E402


def case_named(name: str):
    """The reference-family case called ``name``."""
    for c in family((20, 40, 60, 100), 5, seed=0) + family((200, 300), 4, seed=1):
        if c.name == name:
            return c
    raise SystemExit(f"no reference city {name}")


_STATE: dict = {}


def _problem(name: str):
    if _STATE.get("name") != name:
        layers, request = shaped_city(case_named(name))
        r = run._Run(layers, request, None, lambda _f, _k: None)
        p = r.exact_problem()
        _STATE.update(name=name, layers=layers, request=request, run=r, problem=p,
                      base=exact.reach(p)[0])
    return _STATE["problem"], _STATE["base"]


def decide_set(name: str, leads: tuple[int, ...], seconds: float) -> dict:
    """One lead set: trees, then the exact model with the leads fixed (see the module doc)."""
    p, base = _problem(name)
    out = {"leads": list(leads)}
    t0 = time.perf_counter()
    allowed = exact.lead_set_bounds(p, leads, base)
    if allowed is None:
        out.update(how="bounds", seconds=round(time.perf_counter() - t0, 2), status="-")
        return out
    cost = np.ones((len(leads), p.n))
    status, _ = skeleton.trees(p, leads, allowed, cost, seconds)
    out["trees_seconds"] = round(time.perf_counter() - t0, 2)
    out["trees"] = status
    if status == "none":
        out.update(how="trees", seconds=out["trees_seconds"], status="infeasible")
        return out
    mask = np.zeros((p.m, p.n), bool)
    mask[list(leads)] = allowed
    t1 = time.perf_counter()
    res = exact.solve_exact(
        replace(p, mask=mask, required=tuple(leads), minutes=np.zeros_like(p.minutes)),
        time_limit=seconds, gap=1.0,
    )
    out["exact_seconds"] = round(time.perf_counter() - t1, 2)
    out["status"] = res.status
    if res.status == "infeasible":
        out.update(how="highs", seconds=out["exact_seconds"])
    elif res.status in ("optimal", "feasible"):
        out.update(how="PLAN", seconds=out["exact_seconds"],
                   labels=[int(res.leads[i]) for i in res.labels])
    else:
        out.update(how="unknown", seconds=out["exact_seconds"])
    return out


def reference_set(name: str, leads: tuple[int, ...], seconds: float) -> dict:
    """The same lead set decided by the tests' reference model instead (``oracle.model`` read
    independently of the planner, ``reference_cities.reference_decide``: scipy ``milp``), the
    leads required: a cross-check of a proof that shares no model code with the planner."""
    import oracle
    from reference_cities import reference_decide

    from grid_planning.city.costs import travel_costs

    _problem(name)
    r, layers, request = _STATE["run"], _STATE["layers"], _STATE["request"]
    m = oracle.model(layers, request, travel_costs(layers))
    ids = [str(r.cand_ids[c]) for c in leads]
    m.required = {m.cand.index(f) for f in ids}
    t0 = time.perf_counter()
    v = reference_decide(m, time_limit=seconds)
    out = {"leads": list(leads), "how": {"none": "reference", "plan": "PLAN"}.get(v.status, "unknown"),
           "status": f"reference {v.status}", "seconds": round(time.perf_counter() - t0, 2)}
    if v.status == "plan":
        out["labels"] = [r.cand_ids.index(m.cand[int(c)]) for c in v.labels]
    return out


def plan_of(name: str, labels: list[int]):
    """The plan (unit -> candidate position) as a planner Plan-like object for the oracle:
    ``assignment`` (unit id -> grid) and ``leads`` (grid -> facility id)."""
    import pandas as pd

    p, _ = _problem(name)
    r = _STATE["run"]
    unit_ids = [str(u) for u in r.index.unit_ids]
    cands = sorted(set(labels))
    leads = pd.Series({f"G{g + 1}": str(r.cand_ids[c]) for g, c in enumerate(cands)})
    grid = {c: f"G{g + 1}" for g, c in enumerate(cands)}
    assignment = pd.Series([grid[c] for c in labels], index=unit_ids)

    class _Plan:
        pass

    plan = _Plan()
    plan.assignment, plan.leads = assignment, leads
    return plan


def planar_cut(name: str, leads: tuple[int, ...]) -> dict:
    """A separation argument for one lead set, checked on the geometry (no solver).

    The city is a disk (one polygon, no hole) cut into cells that touch along edges of positive
    length (checked for every pair the planner counts as adjacent: no point contact, no island
    link). Suppose a grid must hold two cells that both touch the outline J: its lead's cell
    ``r`` and a cell ``l`` locked to it. The grid is connected, so it holds a curve P from a point
    of J in ``r`` to a point of J in ``l`` that meets no cell of another grid (it crosses cells'
    interiors and edges between two of its own cells). P cuts the disk in two (theta-curve
    theorem): J minus ``r`` and ``l`` falls into pieces, each on arc A or arc B of J between the
    two ends, and no connected union of cells avoiding P touches both arcs. So another lead whose
    cell touches arc A, and every G5 unit it could use touching only arc B, can have no G5
    unit: no plan has these leads. Returns the verdict and what was checked."""
    import shapely

    p, _ = _problem(name)
    layers = _STATE["layers"]
    cells = layers.units.to_crs(layers.metric_crs).geometry.to_numpy()
    outline = shapely.union_all(cells)
    out = {"leads": list(leads), "how": "unknown", "status": "planar: no cut", "seconds": 0.0}
    t0 = time.perf_counter()
    if outline.geom_type != "Polygon" or len(outline.interiors):
        out["status"] = "planar: the city is not a disk"
        return out
    adj = p.adjacency.tocoo()
    for u, v in zip(adj.row.tolist(), adj.col.tolist(), strict=True):
        if u < v and shapely.intersection(cells[u].boundary, cells[v].boundary).length <= 1e-6:
            out["status"] = f"planar: units {u} and {v} touch at a point or are linked"
            return out
    ring = outline.exterior
    cand_unit = np.asarray(p.cand_unit, dtype=np.int64)
    lead_units = {int(cand_unit[c]) for c in leads}
    holders = {int(h) for h in np.flatnonzero(np.asarray(p.g5) > 0)}
    for lu, lc in p.locks:
        r, lu = int(cand_unit[lc]), int(lu)
        ends = [shapely.intersection(ring, cells[x]) for x in (r, lu)]
        if lc not in leads or any(e.is_empty or e.length <= 0 for e in ends):
            continue
        s0, s1 = sorted(ring.project(e.interpolate(0.5, normalized=True)) for e in ends)
        rest = shapely.difference(ring, shapely.union(cells[r], cells[lu]))

        def sides(x, s0=s0, s1=s1, rest=rest):
            """The arcs (A: between the two ends, B: around) cell ``x`` touches."""
            touch = shapely.intersection(rest, cells[x])
            found = set()
            for part in shapely.get_parts(shapely.line_merge(touch) if touch.length else touch):
                if part.length <= 0:
                    continue
                s = ring.project(part.interpolate(0.5, normalized=True))
                found.add("A" if s0 < s < s1 else "B")
            return found

        for c in leads:
            c_unit = int(cand_unit[c])
            if c == lc or c_unit in holders or any(int(cc) == c for _, cc in p.locks):
                continue
            usable = sorted(holders - lead_units - {int(u) for u, _ in p.locks})
            c_sides = sides(c_unit)
            h_sides = {h: sides(h) for h in usable}
            for arc, other in (("A", "B"), ("B", "A")):
                if arc in c_sides and all(hs == {other} for hs in h_sides.values()):
                    out.update(how="planar", status="separated", seconds=round(time.perf_counter() - t0, 2),
                               detail=f"lock {lu} - lead unit {r} cut the disk; lead unit {c_unit} on arc "
                                      f"{arc}, G5 units {usable} only on arc {other}")
                    return out
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("city")
    ap.add_argument("--seconds", type=float, default=120.0, help="per set and step")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sets", default="", help="only these set positions (comma separated)")
    ap.add_argument("--reference", action="store_true",
                    help="decide each set with the tests' reference model instead (cross-check)")
    ap.add_argument("--planar", action="store_true",
                    help="decide each set by the planar separation argument (no solver)")
    ap.add_argument("--json", default="", help="write the per-set records here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    p, _ = _problem(args.city)
    sets, _ = exact.lead_sets(p)
    total = int(np.round(np.prod(range(p.m - p.k + 1, p.m + 1)) / np.prod(range(1, p.k + 1))))
    print(f"{args.city}: {p.n} units, k={p.k}, {p.m} candidates, {total} lead sets, "
          f"{len(sets)} left by the bounds ({time.perf_counter() - t0:.1f} s)", flush=True)
    chosen = list(range(len(sets)))
    if args.sets:
        chosen = [int(i) for i in args.sets.split(",")]
    records = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        if args.planar:
            futs = {i: pool.submit(planar_cut, args.city, sets[i]) for i in chosen}
        else:
            fn = reference_set if args.reference else decide_set
            futs = {i: pool.submit(fn, args.city, sets[i], args.seconds) for i in chosen}
        for i in chosen:
            rec = futs[i].result()
            rec["set"] = i
            records.append(rec)
            extra = f" trees {rec.get('trees')} {rec.get('trees_seconds')} s;" if "trees" in rec else ""
            print(f"  set {i:3d} leads {rec['leads']}:{extra} {rec['how']} "
                  f"({rec['seconds']} s, {rec['status']}) {rec.get('detail', '')}", flush=True)
            if rec["how"] == "PLAN":
                import oracle

                from grid_planning.city.costs import travel_costs

                layers, request = _STATE["layers"], _STATE["request"]
                plan = plan_of(args.city, rec["labels"])
                probs = oracle.problems(layers, request, plan, travel_costs(layers))
                rec["oracle"] = probs
                print(f"    PLAN FOUND; oracle.problems: {probs or 'none'}", flush=True)
    counts: dict[str, int] = {}
    for rec in records:
        counts[rec["how"]] = counts.get(rec["how"], 0) + 1
    closed = sum(counts.get(h, 0) for h in ("bounds", "trees", "highs", "reference", "planar"))
    print(f"{args.city}: {counts}; {closed} of {len(chosen)} sets closed; "
          f"{'NO PLAN EXISTS' if closed == len(sets) and len(chosen) == len(sets) else ''}"
          f"{'A PLAN EXISTS' if counts.get('PLAN') else ''} ({time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
