"""Decide the reference cities whose truth is unknown, lead set by lead set (issue 15).

Run ``python benchmarks/decide_unknown.py CITY [CITY ..] [--set-seconds S] [--solve-seconds T]
[--results DIR] [--sets I,J,..]`` from the repository root; ``CITY`` is a name of the reference
families (``tests/reference_cities.py``: ``family((20, 40, 60, 100), 5, seed=0)``,
``family((200, 300), 4, seed=1)``, ``family((60, 100, 200, 300), 4, seed=3)`` to ``seed=6``),
e.g. ``ell-100u-k8-edge8-10%-s4304``. ``--check`` re-checks a saved record instead.

Independent of the planner: the request is read by the tests' oracle (``oracle.model``: who may
lead, G5 members, locks; only the adjacency graph and travel minutes come from the library), the
model is written here with scipy ``milp`` (HiGHS), nothing of ``grid_planning/planning`` is
imported.

Every plan has a set of ``k`` leads (distinct units, required and locked-to leads included). For
one set, ``x[g, u]`` says unit ``u`` is in the grid of the set's ``g``-th lead, and these rows hold
for every plan with the set:

- every unit in one grid, the lead's unit and locked units in place;
- a unit may be in grid ``g`` only if the lightest path (residents of every unit on it, ends
  included) from the lead's unit to it is under the band's top, and (G5 needed) some G5 unit lies
  within the band's top of both (a connected grid holds those paths);
- balance (the oracle's band: ``|pop - mean| <= balance * mean``), beds, a G5 unit in every grid
  that needs one;
- a non-lead unit of a grid has a neighbour in it;
- *separator cuts*, added lazily: ``x[g, u] <= sum(x[g, s] for s in S)`` where ``S`` separates
  ``u`` from the lead's unit in the adjacency graph (a connected grid holding both holds a unit
  of ``S``), and ``sum(x[g, s] for s in S) >= 1`` where ``S`` separates the lead's unit from
  every unit of a region ``R`` around it that a grid cannot be on its own (too few residents, or
  no G5 unit), i.e. ``S`` is ``R``'s border.

HiGHS solves the rows (objective: residents' minutes to their lead, first solution kept); a
solution whose grids are all connected is a plan (checked with ``reference_plan_ok`` and
``oracle.problems``); otherwise each piece cut off from its lead, and each lead's piece that
cannot stand alone, gives cuts, and it solves again. "infeasible" closes the set: no plan has it.
The record of a closed set keeps every cut; ``--check`` verifies each cut by graph search (``S``
really separates) and solves the rows again, with no planner code, so the proof can be re-checked.

Results: one JSON line per set in ``DIR/CITY.jsonl`` (default ``benchmarks/results/decide_unknown``);
a rerun skips the sets already there (closed or plan) and reopens unknown ones with the cuts saved.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import dijkstra

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import oracle  # noqa: E402
from reference_cities import family, reference_plan_ok, shaped_city  # noqa: E402

from grid_planning.city.costs import travel_costs  # noqa: E402

VERBOSE = False
RESULTS = ROOT / "benchmarks" / "results" / "decide_unknown"
FAMILIES = (((20, 40, 60, 100), 5, 0), ((200, 300), 4, 1), ((60, 100, 200, 300), 4, 3),
            ((60, 100, 200, 300), 4, 4), ((60, 100, 200, 300), 4, 5), ((60, 100, 200, 300), 4, 6))


def case_named(name: str):
    """The reference-family case called ``name`` and its family."""
    for sizes, per, seed in FAMILIES:
        for c in family(sizes, per, seed=seed):
            if c.name == name:
                return c, {"sizes": list(sizes), "per_size": per, "seed": seed}
    raise SystemExit(f"no reference city {name}")


def city(name: str):
    """Layers, request and the oracle's model of the city."""
    case, fam = case_named(name)
    layers, request = shaped_city(case)
    m = oracle.model(layers, request, travel_costs(layers))
    if isinstance(m, str):
        raise SystemExit(f"{name}: {m}")
    return layers, request, m, fam


def lead_sets(m) -> list[tuple[int, ...]]:
    """Every set of ``k`` candidates a plan may have: distinct units, required and locked-to
    leads included."""
    must = m.required | set(m.locks.values())
    return [s for s in itertools.combinations(range(len(m.cand)), m.k)
            if must <= set(s) and len({int(m.cand_unit[c]) for c in s}) == m.k]


class SetModel:
    """The rows (see the module docstring) over a pool of candidates: ``z[c]`` says candidate
    ``c`` leads (``k`` of them; all of ``leads`` when a set is given), ``x[c, u]`` that unit ``u``
    is in its grid. Cuts are kept as plain data, per candidate (its lead's unit is the same in
    every set), so cuts found for one set hold for all."""

    def __init__(self, m, leads: tuple[int, ...] | None = None, flows: bool = False) -> None:
        self.m = m
        self.flows = flows
        self.fixed = leads is not None
        self.pool = tuple(leads) if leads is not None else tuple(range(len(m.cand)))
        n, k = m.n, len(self.pool)
        self.k = k
        self.roots = [int(m.cand_unit[c]) for c in self.pool]
        self.mean = m.w.sum() / m.k
        self.low = (1 - m.balance) * self.mean - 1e-6 if m.balance is not None else -np.inf
        self.high = (1 + m.balance) * self.mean + 1e-6 if m.balance is not None else np.inf
        self.needs = [c not in m.waived for c in self.pool]
        self.g5 = np.flatnonzero(m.g5 > 0)
        self.nbrs = [sorted(v for v in m.nbrs[u] if v != u) for u in range(n)]
        ok = self._reach()
        for u, c in m.locks.items():
            ok[:, u] = False
            if c in self.pool:
                ok[self.pool.index(c), u] = True
        for g, r in enumerate(self.roots):
            if self.fixed:
                ok[:, r] = False
            ok[g, r] = True
        self.ok = ok
        self.col = {("z", g): g for g in range(k)}
        for g in range(k):
            for u in np.flatnonzero(ok[g]):
                self.col[g, int(u)] = len(self.col)
        self.nx = len(self.col)
        if flows:  # a flow per grid from the lead's unit, one unit kept by each other member
            for g in range(k):
                for u in np.flatnonzero(ok[g]):
                    for v in self.nbrs[u]:
                        if ok[g, v] and v != self.roots[g]:
                            self.col["f", g, int(u), v] = len(self.col)
        self.cuts: list[dict] = []

    def _reach(self) -> np.ndarray:
        m, n = self.m, self.m.n
        w = np.maximum(m.w, 0.0) + 1e-9
        src, dst = zip(*[(u, v) for u in range(n) for v in self.nbrs[u]], strict=True)
        graph = sp.csr_array((w[list(dst)], (list(src), list(dst))), shape=(n, n))
        # lightest path from a to b, both ends' residents counted
        dist = dijkstra(graph, directed=True) + w[:, None]
        ok = np.zeros((self.k, n), bool)
        for g, r in enumerate(self.roots):
            ok[g] = dist[r] <= self.high
            if self.needs[g] and m.g5[r] == 0:
                near = [h for h in self.g5 if dist[r, h] <= self.high]
                ok[g] &= np.any(dist[near] <= self.high, axis=0) if near else False
        return ok

    def rows(self):
        """The rows as (matrix, lower, upper), with the cuts."""
        m, n, k, col = self.m, self.m.n, self.k, self.col
        rows: list[tuple[dict[int, float], float, float]] = []
        rows.append(({col["z", g]: 1.0 for g in range(k)}, float(m.k), float(m.k)))
        for u in range(n):
            rows.append(({col[g, u]: 1.0 for g in range(k) if self.ok[g, u]}, 1.0, 1.0))
        for g in range(k):
            z = col["z", g]
            us = [int(u) for u in np.flatnonzero(self.ok[g])]
            rows.append(({col[g, self.roots[g]]: 1.0, z: -1.0}, 0.0, 0.0))
            for u in us:
                rows.append(({col[g, u]: 1.0, z: -1.0}, -np.inf, 0.0))
            if m.balance is not None:
                pop = {col[g, u]: float(m.w[u]) for u in us}
                rows.append((pop | {z: -self.high}, -np.inf, 0.0))
                rows.append((pop | {z: -self.low}, 0.0, np.inf))
            if m.min_beds is not None:
                rows.append(({col[g, u]: 1000.0 * m.beds[u] - m.min_beds * m.w[u] for u in us}, 0.0, np.inf))
            if self.needs[g]:
                rows.append(({col[g, u]: 1.0 for u in us if m.g5[u] > 0} | {z: -1.0}, 0.0, np.inf))
            for u in us:
                if u != self.roots[g]:
                    row = {col[g, v]: -1.0 for v in self.nbrs[u] if self.ok[g, v]}
                    rows.append((row | {col[g, u]: 1.0}, -np.inf, 0.0))
        if self.flows:
            fin: dict = {}
            fout: dict = {}
            for key, j in col.items():
                if key[0] == "f":
                    _, g, u, v = key
                    fout.setdefault((g, u), []).append(j)
                    fin.setdefault((g, v), []).append(j)
                    cap = float(self.ok[g].sum() - 1)
                    rows.append(({j: 1.0, col[g, u]: -cap}, -np.inf, 0.0))
                    rows.append(({j: 1.0, col[g, v]: -cap}, -np.inf, 0.0))
            for g in range(k):
                for u in np.flatnonzero(self.ok[g]):
                    u = int(u)
                    if u != self.roots[g]:
                        row = {j: 1.0 for j in fin.get((g, u), [])}
                        row |= {j: -1.0 for j in fout.get((g, u), [])}
                        rows.append((row | {col[g, u]: -1.0}, 0.0, 0.0))
        for cut in self.cuts:
            if m.cand.index(cut["lead"]) not in self.pool:
                continue
            if not {m.cand.index(f) for f in cut.get("avoid", ())} <= (
                    set(self.pool) if self.fixed else m.required | set(m.locks.values())):
                continue  # holds only while those leads lead
            g = self.pool.index(m.cand.index(cut["lead"]))
            row = {col[g, s]: -1.0 for s in cut["S"] if self.ok[g, s]}
            if cut["u"] is None:  # the lead's region must be left
                rows.append((row | {col["z", g]: 1.0}, -np.inf, 0.0))
            elif self.ok[g, cut["u"]]:
                rows.append((row | {col[g, cut["u"]]: 1.0}, -np.inf, 0.0))
        ri = [i for i, r in enumerate(rows) for _ in r[0]]
        ci = [j for r in rows for j in r[0]]
        vi = [v for r in rows for v in r[0].values()]
        mat = sp.csr_array((vi, (ri, ci)), shape=(len(rows), len(col)))
        return mat, np.array([r[1] for r in rows]), np.array([r[2] for r in rows])

    def solve(self, seconds: float):
        """HiGHS on the rows: (status, labels (candidate per unit) or None, message)."""
        m, col = self.m, self.col
        mat, lo, hi = self.rows()
        cost = np.zeros(len(col))
        for key, j in col.items():
            if key[0] not in ("z", "f"):
                cost[j] = m.w[key[1]] * m.minutes[key[1], self.pool[key[0]]]
        lower = np.zeros(len(col))
        must = m.required | set(m.locks.values())
        for g, c in enumerate(self.pool):
            if self.fixed or c in must:
                lower[col["z", g]] = 1
        for u, c in m.locks.items():
            if c in self.pool:
                lower[col[self.pool.index(c), u]] = 1
        upper = np.ones(len(col))
        upper[self.nx:] = np.inf
        integral = np.zeros(len(col))
        integral[: self.nx] = 1
        res = milp(cost, constraints=LinearConstraint(mat, lo, hi), integrality=integral,
                   bounds=Bounds(lower, upper),
                   options={"time_limit": float(seconds), "mip_rel_gap": 1.0})
        if res.status == 2:
            return "infeasible", None, res.message
        if res.x is None:
            return "unknown", None, res.message
        labels = np.full(m.n, -1)
        for key, j in col.items():
            if key[0] not in ("z", "f") and res.x[j] > 0.5:
                labels[key[1]] = self.pool[key[0]]
        return "solution", labels, res.message

    def separate(self, labels: np.ndarray) -> int:
        """Cuts a solution (candidate per unit) breaks; the number added (0: every grid is
        connected and stands)."""
        m = self.m
        added = 0
        for c in sorted(set(labels.tolist())):
            r, lead = int(m.cand_unit[c]), m.cand[c]
            members = set(np.flatnonzero(labels == c).tolist())
            parts = _components(members, self.nbrs)
            home = next(p for p in parts if r in p)
            for part in parts:
                if r in part:
                    pop = m.w[list(part)].sum()
                    lacks = c not in m.waived and m.g5[list(part)].sum() == 0
                    if pop < self.low or lacks:
                        border = _border(part, self.nbrs)
                        if lacks and pop >= self.low:  # only a way to a G5 unit helps
                            border = _towards(border, part, set(self.g5.tolist()) - part, self.nbrs)
                        self.cuts.append({"lead": lead, "u": None, "S": sorted(border)})
                        added += 1
                    continue
                # a piece cut off from the lead: its border, the part the lead's unit reaches
                # and the border of the lead's piece, the part that reaches this piece
                seps = {tuple(sorted(_towards(_border(part, self.nbrs), part, {r}, self.nbrs))),
                        tuple(sorted(_towards(_border(home, self.nbrs), home, part, self.nbrs)))}
                for sep in sorted(seps):
                    for u in sorted(part):
                        self.cuts.append({"lead": lead, "u": u, "S": list(sep)})
                        added += 1
        return added


def menger_cuts(sm: SetModel) -> list[dict]:
    """Region cuts from the fewest units that separate leads' units from the G5 units (Menger;
    networkx's minimum node cut): for every subset ``A`` of a fixed set's leads, in the graph
    without the other leads' units (their grids hold them), the fewest units ``S`` cutting ``A``'s
    units from the G5 units; a lead of ``A`` whose unit is left, by ``S``, in a region without a
    G5 unit must hold a unit of ``S``. With ``|S| == |A|`` every grid of ``A`` holds one; with
    fewer, the rows are infeasible at once. Without a fixed set, each lead alone."""
    import networkx as nx

    m = sm.m
    graph = nx.Graph()
    graph.add_nodes_from(range(m.n))
    graph.add_edges_from((u, v) for u in range(m.n) for v in sm.nbrs[u])
    g5 = set(sm.g5.tolist())
    must = m.required | set(m.locks.values())
    needy = [g for g in range(sm.k) if sm.needs[g] and sm.roots[g] not in g5
             and (sm.fixed or sm.pool[g] not in must)]
    if sm.fixed:
        subsets = [a for size in range(1, len(needy) + 1) for a in itertools.combinations(needy, size)]
    else:  # the leads free but the required ones: all the others together, and each alone
        subsets = [tuple(needy)] + [(g,) for g in needy]
    out, seen = [], set()
    for a in subsets:
        if sm.fixed:
            others = {sm.roots[g] for g in range(sm.k) if g not in a}
        else:
            others = {sm.roots[g] for g in range(sm.k) if sm.pool[g] in must}
        h = graph.subgraph(set(range(m.n)) - others).copy()
        targets = g5 - others
        h.add_edges_from(("S", sm.roots[g]) for g in a)
        h.add_edges_from((t, "T") for t in targets)
        sep = set(nx.minimum_node_cut(h, "S", "T")) if targets and nx.has_path(h, "S", "T") else set()
        avoid = sorted(m.cand[sm.pool[g]] for g in range(sm.k)
                       if (g not in a if sm.fixed else sm.pool[g] in must))
        if len(sep) == len(a) and (tuple(sorted(sep)), tuple(avoid)) not in seen:
            # each grid of A holds one unit of S: a grid is kept to the pieces of the city
            # without S next to the units of S it holds
            seen.add((tuple(sorted(sep)), tuple(avoid)))
            rest = graph.subgraph(set(range(m.n)) - others - sep)
            for piece in nx.connected_components(rest):
                near = sorted({v for u in piece for v in sm.nbrs[u]} & sep)
                for g in range(sm.k):
                    if g in a and sm.roots[g] not in piece:
                        for u in sorted(piece):
                            out.append({"lead": m.cand[sm.pool[g]], "u": u, "S": near, "avoid": avoid})
        for g in a:
            if sm.roots[g] in sep:
                continue
            key = (g, tuple(sorted(sep)), tuple(avoid))
            cut = {"lead": m.cand[sm.pool[g]], "u": None, "S": sorted(sep), "avoid": avoid}
            if key not in seen and region_needs_more(sm, sm.pool[g], sep, avoid):
                seen.add(key)
                out.append(cut)
    return out


def _components(members: set[int], nbrs) -> list[set[int]]:
    out, seen = [], set()
    for s in sorted(members):
        if s in seen:
            continue
        part, todo = {s}, [s]
        while todo:
            for v in nbrs[todo.pop()]:
                if v in members and v not in part:
                    part.add(v)
                    todo.append(v)
        seen |= part
        out.append(part)
    return out


def _border(part: set[int], nbrs) -> set[int]:
    return {v for u in part for v in nbrs[u] if v not in part}


def _towards(border: set[int], part: set[int], targets: set[int], nbrs) -> set[int]:
    """The units of ``border`` from which a unit of ``targets`` is reachable avoiding ``part``
    (the rest of the border can be dropped from a separator)."""
    seen, todo = set(targets - part), list(targets - part)
    while todo:
        for v in nbrs[todo.pop()]:
            if v not in part and v not in seen:
                seen.add(v)
                todo.append(v)
    return border & seen


def separates(nbrs, sep: set[int], a: int, targets: set[int]) -> bool:
    """No path from ``a`` to a unit of ``targets`` avoiding ``sep`` (``a`` not in ``sep``)."""
    if a in sep:
        return False
    seen, todo = {a}, [a]
    while todo:
        u = todo.pop()
        if u in targets:
            return False
        for v in nbrs[u]:
            if v not in sep and v not in seen:
                seen.add(v)
                todo.append(v)
    return True


def region_needs_more(sm: SetModel, c: int, sep: set[int], avoid=()) -> bool:
    """The region of candidate ``c``'s unit inside ``sep`` (what it reaches avoiding ``sep`` and
    the units of the leads ``avoid``, which their own grids hold) cannot be a grid on its own:
    too few residents, or (G5 needed) no G5 unit in it; so every grid of the lead holds a unit of
    ``sep``."""
    m = sm.m
    blocked = set(sep) | {int(m.cand_unit[m.cand.index(f)]) for f in avoid}
    r = int(m.cand_unit[c])
    if r in blocked:
        return False
    region, todo = {r}, [r]
    while todo:
        for v in sm.nbrs[todo.pop()]:
            if v not in blocked and v not in region:
                region.add(v)
                todo.append(v)
    # every subset of the region has at most its residents and G5 units
    return bool(m.w[list(region)].sum() < sm.low
                or (c not in m.waived and m.g5[list(region)].sum() == 0))


def check_cuts(sm: SetModel) -> list[str]:
    """What is wrong with the recorded cuts (empty: each holds for every plan with the set)."""
    out = []
    for i, cut in enumerate(sm.cuts):
        c, sep = sm.m.cand.index(cut["lead"]), set(cut["S"])
        if cut["u"] is None:
            if not region_needs_more(sm, c, sep, cut.get("avoid", ())):
                out.append(f"cut {i}: the region inside its border could be a grid")
        elif not separates(sm.nbrs, sep | {int(sm.m.cand_unit[sm.m.cand.index(f)]) for f in cut.get("avoid", ())},
                           cut["u"], {int(sm.m.cand_unit[c])}):
            out.append(f"cut {i}: does not separate unit {cut['u']} from the lead")
    return out


def decide_set(m, leads, set_seconds: float, solve_seconds: float, cuts=(), flows=False) -> dict:
    """Cut rounds on one lead set (``None``: every set at once, the leads free) until
    infeasible, a plan, or ``set_seconds``."""
    t0, c0 = time.perf_counter(), time.process_time()
    sm = SetModel(m, leads, flows=flows)
    derived = menger_cuts(sm)  # re-derived by the check, not saved
    sm.cuts = derived + list(cuts)
    rec = {"leads": [m.cand[c] for c in leads] if leads is not None else ["*"], "rounds": 0,
           "flows": flows, "required": sorted(m.cand[c] for c in m.required)}
    while True:
        left = set_seconds - (time.perf_counter() - t0)
        if left <= 1:
            rec.update(status="unknown", message="out of time")
            break
        status, labels, msg = sm.solve(min(solve_seconds, left))
        rec["rounds"] += 1
        if status != "solution":
            rec.update(status="closed" if status == "infeasible" else "unknown", message=msg)
            break
        added = sm.separate(labels)
        if VERBOSE:
            print(f"    round {rec['rounds']}: {added} cuts, {time.perf_counter() - t0:.0f} s", flush=True)
        if added == 0:
            rec.update(status="plan", labels=labels.tolist(), problems=reference_plan_ok(m, labels))
            break
    rec.update(seconds=round(time.perf_counter() - t0, 1), cpu=round(time.process_time() - c0, 1),
               menger_cuts=len(derived), cuts=sm.cuts[len(derived):])
    return rec


def check_record(m, rec: dict, seconds: float) -> list[str]:
    """Re-check a closed set: every cut valid by graph search, the rows infeasible again."""
    if "required" in rec:  # every set with these leads (the record of a family of sets)
        m = copy.copy(m)
        m.required = {m.cand.index(f) for f in rec["required"]}
    leads = tuple(m.cand.index(c) for c in rec["leads"]) if rec["leads"] != ["*"] else None
    sm = SetModel(m, leads, flows=rec.get("flows", False))
    sm.cuts = menger_cuts(sm) + rec["cuts"]
    out = check_cuts(sm)
    status, _, msg = sm.solve(seconds)
    if status != "infeasible":
        out.append(f"the rows are not infeasible ({msg})")
    return out


def load_records(path: Path) -> dict:
    """The saved records of ``path`` by lead set (a tuple of ids); a later record of a set (a
    retry) replaces the earlier."""
    out = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out[tuple(r["leads"])] = r
    return out


def saved_by_set(m, path: Path) -> dict[tuple[str, ...], dict | None]:
    """Every lead set of ``m`` (:func:`lead_sets`, as ids) with its saved record in ``path``
    (None: not run)."""
    saved = load_records(path)
    return {key: saved.get(key) for key in (tuple(m.cand[c] for c in s) for s in lead_sets(m))}


def plan_json(layers, m, labels, name: str, fam: dict, balance: float, note: str) -> dict:
    unit_ids = layers.units["id"].astype(str).tolist()
    cands = sorted({int(c) for c in labels})
    grid = {c: f"G{g + 1}" for g, c in enumerate(cands)}
    return {"city": name, "family": fam, "balance": balance, "note": note,
            "leads": {grid[c]: m.cand[c] for c in cands},
            "assignment": {u: grid[int(c)] for u, c in zip(unit_ids, labels, strict=True)}}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cities", nargs="+")
    ap.add_argument("--set-seconds", type=float, default=300.0)
    ap.add_argument("--solve-seconds", type=float, default=120.0)
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--sets", default="", help="positions of the sets to run (default: all)")
    ap.add_argument("--check", action="store_true", help="re-check the saved closed sets")
    ap.add_argument("--retry", action="store_true", help="also rerun sets saved as unknown")
    ap.add_argument("--no-flows", action="store_true",
                    help="cuts only (no flow rows): every solution is checked, cuts added")
    args = ap.parse_args(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    for name in args.cities:
        layers, request, m, fam = city(name)
        sets = lead_sets(m)
        path = args.results / f"{name}.jsonl"
        done = load_records(path)
        pick = [int(i) for i in args.sets.split(",")] if args.sets else range(len(sets))
        print(f"{name}: n={m.n} k={m.k}, {len(sets)} lead sets, band "
              f"[{(1 - m.balance) * m.w.sum() / m.k:.0f}, {(1 + m.balance) * m.w.sum() / m.k:.0f}]")
        for i in pick:
            leads = sets[i]
            key = tuple(m.cand[c] for c in leads)
            old = done.get(key)
            if args.check:
                if old and old["status"] == "closed":
                    t0 = time.perf_counter()
                    bad = check_record(m, old, args.solve_seconds)
                    print(f"  set {i:2d} {'-'.join(key)}: {bad if bad else 're-checked'} "
                          f"({old['menger_cuts']} + {len(old['cuts'])} cuts, {time.perf_counter() - t0:.1f} s)")
                continue
            if old and (old["status"] != "unknown" or not args.retry):
                print(f"  set {i:2d} {'-'.join(key)}: {old['status']} (saved)")
                continue
            rec = decide_set(m, leads, args.set_seconds, args.solve_seconds,
                             cuts=old["cuts"] if old else (),
                             flows=not args.no_flows)
            rec["set"] = i
            if old:
                rec["seconds"] = round(rec["seconds"] + old["seconds"], 1)
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            print(f"  set {i:2d} {'-'.join(key)}: {rec['status']} in {rec['seconds']} s, "
                  f"{rec['rounds']} rounds, {rec['menger_cuts']} + {len(rec['cuts'])} cuts, "
                  f"{rec['cpu']} CPU s ({rec['message']})", flush=True)
            if rec["status"] == "plan":
                print(f"    PLAN, reference_plan_ok: {rec['problems']}")
        status = [rec and rec["status"] for rec in saved_by_set(m, path).values()]
        counts = {s: status.count(s) for s in ("closed", "plan", "unknown")}
        print(f"{name}: {counts}, {len(sets) - sum(counts.values())} not run")


if __name__ == "__main__":
    main()
