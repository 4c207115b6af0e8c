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
printed as unit -> lead. The city has no plan exactly when every set is closed. Other modes:
``--planar`` (a separation argument, :func:`planar_cut`), ``--sections`` (the cross-section rows of
:mod:`grid_planning.planning.sections`, :func:`sections_set`; ``--axes x`` for the x axis only), ``--chords`` (the exact model with the
outline's order of chords written in, :func:`chords_set`), ``--reference`` (the tests' model). ``W`` worker
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

from grid_planning.planning import exact, planar, run, sections, skeleton  # noqa: E402


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


def _bounded(name: str, leads: tuple[int, ...]):
    """The problem, the set's record, its start time, and the units each lead may take after the
    planner's bounds (``exact.lead_set_bounds``; None, with the record saying so, when they close
    the set)."""
    p, base = _problem(name)
    out = {"leads": list(leads)}
    t0 = time.perf_counter()
    allowed = exact.lead_set_bounds(p, leads, base)
    if allowed is None:
        out.update(how="bounds", seconds=round(time.perf_counter() - t0, 2), status="-")
    return p, out, t0, allowed


def decide_set(name: str, leads: tuple[int, ...], seconds: float) -> dict:
    """One lead set: trees, then the exact model with the leads fixed (see the module doc)."""
    p, out, t0, allowed = _bounded(name, leads)
    if allowed is None:
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


def _disk(name: str):
    """The cells (metric), the city's outline, and why the chord arguments do not apply ("" when
    they do): the city must be one polygon without a hole, and every pair of units the planner
    counts as adjacent must share an edge of positive length (no point contact, no island link)."""
    import shapely

    p, _ = _problem(name)
    layers = _STATE["layers"]
    cells = layers.units.to_crs(layers.metric_crs).geometry.to_numpy()
    outline = shapely.union_all(cells)
    if outline.geom_type != "Polygon" or len(outline.interiors):
        return cells, outline, "the city is not a disk"
    adj = p.adjacency.tocoo()
    for u, v in zip(adj.row.tolist(), adj.col.tolist(), strict=True):
        if u < v and shapely.intersection(cells[u].boundary, cells[v].boundary).length <= 1e-6:
            return cells, outline, f"units {u} and {v} touch at a point or are linked"
    return cells, outline, ""


def planar_cut(name: str, leads: tuple[int, ...]) -> dict:
    """The planner's planar separation argument (:mod:`grid_planning.planning.planar`, the
    argument written out there) for one lead set: its preconditions checked on the city once,
    then whether a lock's grid cuts one of the set's leads off from every G5 unit it could use.
    No solver. (The tests check such evidence with their own geometry code:
    ``reference_cities.planar_proof_problems``.)"""
    p, _ = _problem(name)
    out = {"leads": list(leads), "how": "unknown", "status": "planar: no cut", "seconds": 0.0}
    t0 = time.perf_counter()
    outline = planar.city_outline(_STATE["run"].index)
    if not outline.applies:
        out["status"] = f"planar: {outline.why_not}"
        return out
    cut = planar.close(p, outline, leads)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    if cut is not None:
        out.update(how="planar", status="separated",
                   detail=f"units {list(cut.ends)} of lead {cut.lead} cut the disk; leads {list(cut.cut_off)} "
                          f"on one side, G5 units {list(cut.holders)} only on the other")
    return out


def sections_set(name: str, leads: tuple[int, ...], seconds: float, axes: str = "xy") -> dict:
    """One lead set by the cross-sections (:mod:`grid_planning.planning.sections`, the argument
    written out there): the planner's bounds, then HiGHS on the section rows for up to ``seconds``.
    "sections" when the rows are infeasible (no plan has the set), "relaxed" when they have a
    solution (no claim), "unknown" when HiGHS runs out of time. ``axes``: "xy" or "x" only."""
    p, out, t0, allowed = _bounded(name, leads)
    if allowed is None:
        return out
    spans = sections.city_spans(_STATE["run"].index)
    if not spans.applies:
        out.update(how="unknown", status=f"sections: {spans.why_not}", seconds=0.0)
        return out
    if axes == "x":
        spans = replace(spans, lo=spans.lo[:1], hi=spans.hi[:1])
    verdict = sections.close(p, spans, leads, allowed, seconds)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["status"] = f"rows {verdict}"
    out["how"] = {"none": "sections", "open": "relaxed"}.get(verdict, "unknown")
    return out


# --- chords: which G5 unit each grid can use, by the planar order of the outline -------------


def _contacts(name: str) -> list[list[float]]:
    """Per unit, where its cell touches the outline J: the middle of each contact arc, as a
    fraction of J's length from J's start (empty for a unit inside the city); None when the
    chord arguments do not apply (:func:`_disk`)."""
    if "contacts" not in _STATE or _STATE.get("contacts_of") != name:
        import shapely

        p, _ = _problem(name)
        cells, outline, why = _disk(name)
        out = None
        if not why:
            ring = outline.exterior
            out = []
            for x in range(p.n):
                touch = shapely.intersection(ring, cells[x])
                parts = shapely.get_parts(shapely.line_merge(touch) if touch.length else touch)
                out.append(sorted(ring.project(q.interpolate(0.5, normalized=True)) / ring.length
                                  for q in parts if q.length > 0))
        _STATE.update(contacts=out, contacts_of=name)
    return _STATE["contacts"]


def _between(a: float, b: float, x: float) -> bool:
    """Whether the outline position ``x`` lies on the arc from ``a`` to ``b`` not passing J's start."""
    return min(a, b) < x < max(a, b)


def chord_parts(p, leads) -> tuple[list[int], list[int], dict[int, int]]:
    """The grids of a lead set that need a G5 unit of their own (``need``: no G5 member at the
    lead's unit nor at a unit locked to the grid), the G5 units they may use (``free``: not a
    lead's unit, not locked to a grid), and the grid of each locked unit."""
    cand_unit = np.asarray(p.cand_unit, dtype=np.int64)
    roots = [int(cand_unit[c]) for c in leads]
    holder = [int(h) for h in np.flatnonzero(np.asarray(p.g5) > 0)]
    lock_grid = {int(u): list(leads).index(int(c)) for u, c in p.locks if int(c) in leads}
    own = {g for g in range(len(leads)) if p.g5[roots[g]] > 0}
    own |= {lock_grid[h] for h in holder if h in lock_grid}
    need = [g for g in range(len(leads)) if g not in own]
    free = [h for h in holder if h not in lock_grid and h not in roots]
    return need, free, lock_grid


def noncrossing(p, leads, pos, allowed: np.ndarray | None = None) -> list[dict[int, int]]:
    """Every designated-G5 assignment (grid -> its own G5 unit, distinct units, for the grids of
    :func:`chord_parts`) that the outline allows.

    The rule: a grid whose lead's cell and designated G5 cell both touch the outline J (each along
    one arc) holds a chord between the two; chords of two grids must not cross, i.e. the ends of
    one must not lie on different arcs of J cut at the ends of the other. Nothing else is
    excluded (a lead or G5 cell inside the city, or touching J along several arcs, has no chord),
    so every plan's choice of one G5 unit per grid is in the list: it is complete. ``allowed``
    (:func:`grid_planning.planning.exact.lead_set_bounds`) drops a unit a grid cannot hold."""
    need, free, _ = chord_parts(p, leads)
    cand_unit = np.asarray(p.cand_unit, dtype=np.int64)
    end = {u: (pos[u][0] if len(pos[u]) == 1 else None) for u in range(p.n)}
    out: list[dict[int, int]] = []
    chords: list[tuple[float, float]] = []

    def extend(i: int, chosen: dict[int, int], used: set[int]) -> None:
        if i == len(need):
            out.append(dict(chosen))
            return
        g = need[i]
        a = end[int(cand_unit[leads[g]])]
        for h in free:
            if h in used or (allowed is not None and not allowed[g, h]):
                continue
            b = end[h]
            chord = (a, b) if a is not None and b is not None else None
            if chord and any(_between(*chord, c) != _between(*chord, d) for c, d in chords):
                continue
            chosen[g] = h
            if chord:
                chords.append(chord)
            extend(i + 1, chosen, used | {h})
            if chord:
                chords.pop()
            del chosen[g]

    extend(0, {}, set())
    return out


def chord_model(name: str, leads, allowed: np.ndarray, fix: dict[int, int] | None = None,
                variant: str = "flows"):
    """The exact model with the leads fixed (flow contiguity from each lead, balance, locks, G5
    through a designated unit ``t[g, h]`` per grid that needs one) and the planar order written in
    (see :func:`noncrossing`): two designations whose chords cross exclude each other; and for
    the chord of grid g to unit h, a unit touching J only on one side cannot join a grid whose
    lead touches J on the other (a grid whose lead is inside the city gets a side variable
    instead), and a unit touching J on both sides belongs to g. ``fix``: designations fixed
    (grid -> unit). Every row holds in every plan, so the model has a plan exactly when the
    city has one with these leads. ``variant`` "sections": no flows, the cross-section and
    neighbour rows of :func:`grid_planning.planning.sections.span_rows` instead (a relaxation:
    "infeasible" still closes the set, a solution is no plan). Returns the HiGHS model and the
    ``x`` columns."""
    import scipy.sparse as sp

    from grid_planning.domain.request import balance_band

    p, base = _problem(name)
    pos = _contacts(name)
    n, k = p.n, len(leads)
    roots = [int(u) for u in np.asarray(p.cand_unit, dtype=np.int64)[list(leads)]]
    w = np.asarray(p.population, dtype=float)
    need, free, lock_grid = chord_parts(p, leads)
    adj = sp.csr_matrix(p.adjacency)
    adj.setdiag(0)
    adj.eliminate_zeros()
    big = float(max(exact.reach(p)[1] - 1, 1))
    lo_c: list[float] = []
    hi_c: list[float] = []
    integer: list[bool] = []

    def col(lo: float, hi: float, whole: bool) -> int:
        lo_c.append(lo), hi_c.append(hi), integer.append(whole)
        return len(lo_c) - 1

    x = {(u, g): col(1.0 if u == roots[g] or lock_grid.get(u) == g else 0.0, 1.0, True)
         for g in range(k) for u in np.flatnonzero(allowed[g]).tolist()}
    t = {(g, h): col(0.0, 1.0, True) for g in need for h in free if (h, g) in x}
    if fix:
        for g, h in fix.items():
            lo_c[t[g, h]] = 1.0
    rows: list[tuple[list[int], list[float], float, float]] = []
    for u in range(n):
        idx = [x[u, g] for g in range(k) if (u, g) in x]
        rows.append((idx, [1.0] * len(idx), 1.0, 1.0))
    coo = adj.tocoo()
    for g in range(k if variant == "flows" else 0):  # flow from the lead, one unit absorbed by each other unit
        flow_in: dict[int, list[int]] = {}
        flow_out: dict[int, list[int]] = {}
        for u, v in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
            if (u, g) in x and (v, g) in x and v != roots[g]:
                f = col(0.0, big, False)
                flow_out.setdefault(u, []).append(f)
                flow_in.setdefault(v, []).append(f)
                rows.append(([f, x[v, g]], [1.0, -big], -np.inf, 0.0))
                if u != roots[g]:
                    rows.append(([f, x[u, g]], [1.0, -big], -np.inf, 0.0))
        for u in np.flatnonzero(allowed[g]).tolist():
            if u != roots[g]:
                fi, fo = flow_in.get(u, []), flow_out.get(u, [])
                rows.append((fi + fo + [x[u, g]], [1.0] * len(fi) + [-1.0] * len(fo) + [-1.0], 0.0, 0.0))
    if variant == "sections":
        spans = sections.city_spans(_STATE["run"].index)
        if spans.applies:
            sections.span_rows(p, spans, roots, allowed, x, lambda: col(0.0, 1.0, True), rows)
    if p.balance is not None:
        low, high = balance_band(w.sum() / int(p.k), p.balance)
        for g in range(k):
            us = np.flatnonzero(allowed[g]).tolist()
            rows.append(([x[u, g] for u in us], [float(w[u]) for u in us],
                         low * (1 - 1e-9) - 1e-6, high * (1 + 1e-9) + 1e-6))
    for g in need:
        hs = [h for h in free if (g, h) in t]
        rows.append(([t[g, h] for h in hs], [1.0] * len(hs), 1.0, 1.0))
        for h in hs:
            rows.append(([t[g, h], x[h, g]], [1.0, -1.0], -np.inf, 0.0))
    counts = {"cross": 0, "side": 0}
    if pos is not None:
        end = {u: pos[u][0] for u in range(n) if len(pos[u]) == 1}
        touching = {u: q for u, q in enumerate(pos) if q}
        for g in need:
            if roots[g] not in end:
                continue
            a = end[roots[g]]
            mine = [h for h in free if (g, h) in t and h in end]
            for g2 in range(k):
                if g2 == g:
                    continue
                if g2 in need and g2 > g and roots[g2] in end:
                    for h in mine:
                        for h2 in free:
                            if (g2, h2) in t and h2 != h and h2 in end and \
                                    _between(a, end[h], end[roots[g2]]) != _between(a, end[h], end[h2]):
                                rows.append(([t[g, h], t[g2, h2]], [1.0, 1.0], -np.inf, 1.0))
                                counts["cross"] += 1
                if roots[g2] in end:
                    b = end[roots[g2]]
                    for u, q in touching.items():
                        if (u, g2) not in x:
                            continue
                        sep = [t[g, h] for h in mine
                               if all(_between(a, end[h], c) != _between(a, end[h], b) for c in q)]
                        if sep:
                            rows.append(([x[u, g2]] + sep, [1.0] * (1 + len(sep)), -np.inf, 1.0))
                            counts["side"] += 1
                elif not pos[roots[g2]]:
                    side = col(0.0, 1.0, True)  # 1: grid g2 lies on the arc between a and h
                    for u, q in touching.items():
                        if (u, g2) not in x:
                            continue
                        on_a = [t[g, h] for h in mine if all(_between(a, end[h], c) for c in q)]
                        on_b = [t[g, h] for h in mine if not any(_between(a, end[h], c) for c in q)]
                        if on_a:
                            rows.append(([x[u, g2], side] + on_a, [1.0, -1.0] + [1.0] * len(on_a), -np.inf, 1.0))
                        if on_b:
                            rows.append(([x[u, g2], side] + on_b, [1.0, 1.0] + [1.0] * len(on_b), -np.inf, 2.0))
                        counts["side"] += bool(on_a) + bool(on_b)
            for u, q in touching.items():
                both = [t[g, h] for h in mine if len({_between(a, end[h], c) for c in q}) == 2]
                if both and (u, g) in x:
                    rows.append(([x[u, g]] + both, [1.0] + [-1.0] * len(both), 0.0, np.inf))
    lp = exact.rows_lp(rows, lo_c, hi_c, integer)
    n_col = len(lo_c)
    return lp, x, {"columns": n_col, "rows": len(rows), **counts}


def _solve_chords(name: str, leads, allowed, fix, seconds: float,
                  variant: str = "flows") -> tuple[str, list[int] | None, dict]:
    """One chord model solved by HiGHS (one thread, zero objective): status and the plan
    (candidate per unit) when found."""
    import highspy

    lp, x, info = chord_model(name, leads, allowed, fix, variant)
    h = exact.new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1.0)
    h.setOptionValue("time_limit", float(seconds))
    h.passModel(lp)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return "infeasible", None, info
    if h.getInfo().primal_solution_status != 2:  # 2: a feasible solution
        return "unknown", None, info
    sol = np.asarray(h.getSolution().col_value)
    labels = [-1] * _problem(name)[0].n
    for (u, g), c in x.items():
        if sol[c] > 0.5:
            labels[u] = int(leads[g])
    return "plan", labels, info


def chords_set(name: str, leads: tuple[int, ...], seconds: float, max_assignments: int,
               variant: str = "flows") -> dict:
    """One lead set by the chords: bounds; the designated-G5 assignments the outline allows
    (:func:`noncrossing`); then, when they are at most ``max_assignments``, the exact model with
    each assignment fixed (the set is closed when every one is infeasible), otherwise one model
    choosing the assignment itself (:func:`chord_model`); ``seconds`` per solve."""
    p, out, t0, allowed = _bounded(name, leads)
    if allowed is None:
        return out
    pos = _contacts(name)
    assignments = noncrossing(p, leads, pos, allowed) if pos is not None else None
    out["assignments"] = None if assignments is None else len(assignments)
    if assignments is not None and not assignments:
        out.update(how="chords", seconds=round(time.perf_counter() - t0, 2), status="no assignment")
        return out
    fixes = assignments if assignments is not None and len(assignments) <= max_assignments else [None]
    verdicts: dict[str, int] = {}
    for fix in fixes:
        status, labels, info = _solve_chords(name, leads, allowed, fix, seconds, variant)
        verdicts[status] = verdicts.get(status, 0) + 1
        if status == "plan" and variant == "sections":  # a solution of a relaxation: no plan
            status = "relaxed"
            out.update(how="relaxed", assignment=fix)
            break
        if status == "plan":
            out.update(how="PLAN", labels=labels, assignment=fix)
            break
    out["model"] = info
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["status"] = ", ".join(f"{v} {s}" for s, v in sorted(verdicts.items()))
    if "how" not in out:
        out["how"] = "chords" if set(verdicts) == {"infeasible"} else "unknown"
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
    ap.add_argument("--sections", action="store_true",
                    help="decide each set by the cross-section rows (planning/sections.py)")
    ap.add_argument("--axes", default="xy", help="with --sections: xy (default) or x")
    ap.add_argument("--chords", action="store_true",
                    help="decide each set by the exact model with the outline's order of chords "
                         "written in, one designated-G5 assignment at a time when few")
    ap.add_argument("--chords-sections", action="store_true",
                    help="with --chords: no flows, the cross-section rows instead (a relaxation)")
    ap.add_argument("--max-assignments", type=int, default=64,
                    help="with --chords: solve assignment by assignment up to this many")
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
        elif args.sections:
            futs = {i: pool.submit(sections_set, args.city, sets[i], args.seconds, args.axes) for i in chosen}
        elif args.chords:
            futs = {i: pool.submit(chords_set, args.city, sets[i], args.seconds, args.max_assignments,
                                   "sections" if args.chords_sections else "flows")
                    for i in chosen}
        else:
            fn = reference_set if args.reference else decide_set
            futs = {i: pool.submit(fn, args.city, sets[i], args.seconds) for i in chosen}
        for i in chosen:
            rec = futs[i].result()
            rec["set"] = i
            records.append(rec)
            extra = f" trees {rec.get('trees')} {rec.get('trees_seconds')} s;" if "trees" in rec else ""
            if "assignments" in rec:
                extra = f" {rec['assignments']} assignments;"
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
    closed = sum(counts.get(h, 0) for h in ("bounds", "trees", "highs", "reference", "planar", "chords",
                                                 "sections"))
    print(f"{args.city}: {counts}; {closed} of {len(chosen)} sets closed; "
          f"{'NO PLAN EXISTS' if closed == len(sets) and len(chosen) == len(sets) else ''}"
          f"{'A PLAN EXISTS' if counts.get('PLAN') else ''} ({time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
