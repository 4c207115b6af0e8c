"""Search plans of an undecided reference city by recombination, lead set by lead set (issue 15).

Run ``python benchmarks/recombine_plans.py CITY [--sets I,J] [--seeds 0,1] [--seconds S]
[--save F]`` from the repository root (``CITY``: a reference-family name, see
``benchmarks/prove_undecided.py``).

A heuristic, not a proof: it finds plans, it never shows that none exists. Per lead set
(``exact.lead_sets``) and seed:

1. disjoint trees from each lead to its locked units and a G5 unit (``skeleton.trees``, the
   tree cost 1 per unit first, then random draws), grown into a partition (each unit left joins
   the least populated neighbouring grid): every grid connected, holding its lead, its locked
   units and a G5 unit;
2. recombination (ReCom) for ``S`` s: two neighbouring grids are merged, a random spanning tree
   of the union is drawn, and the union is cut at the tree edge on the path between the two
   leads that leaves both parts their locks and a G5 unit and the smallest sum of squared
   deviations from the mean grid population (annealed acceptance). Contiguity, leads, locks and
   G5 hold at every step; only the balance is sought.

Prints, per set and seed, the largest deviation from the mean reached (``maxdev``) and the grid
populations. ``--save F`` writes the best plan found (unit -> candidate position) as JSON; a
plan within the city's tolerance is checked by the tests' independent checker
(``tests/oracle.problems``). Found so, strip-300u-k8-edge10-8%-lock-s7535 has a plan at +-57 %
(tests/fixtures/plans/strip300_lock_loose_plan.json) and none came closer than that.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time

import numpy as np
import scipy.sparse as sp
from prove_undecided import _STATE, _problem, plan_of
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

from grid_planning.planning import exact, skeleton


def _grow(p, leads, allowed, rng, tree_seconds: float) -> np.ndarray | None:
    """Step 1 of the module doc: a partition around disjoint trees, or None (no trees found)."""
    n, k = p.n, len(leads)
    w = np.asarray(p.population, dtype=float)
    labels = None
    for attempt in range(3):
        cost = np.ones((k, n)) if attempt == 0 else rng.uniform(0.2, 1.8, (k, n))
        status, labels = skeleton.trees(p, leads, allowed, cost, tree_seconds)
        if status == "trees":
            break
    else:
        return None
    lab = np.asarray(labels).copy()
    pops = np.array([w[lab == g].sum() for g in range(k)])
    adj = sp.csr_matrix(p.adjacency)
    while (lab < 0).any():
        best = None
        for u in np.flatnonzero(lab < 0).tolist():
            for v in adj.indices[adj.indptr[u]:adj.indptr[u + 1]].tolist():
                if lab[v] >= 0 and (best is None or pops[lab[v]] < best[0]):
                    best = (pops[lab[v]], u, int(lab[v]))
        _, u, g = best
        lab[u] = g
        pops[g] += w[u]
    return lab


def recombine(name: str, leads: tuple[int, ...], seed: int, seconds: float,
              tree_seconds: float = 20.0) -> dict:
    """Steps 1-2 of the module doc for one lead set and seed."""
    from grid_planning.domain.request import balance_band

    p, base = _problem(name)
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    k = len(leads)
    w = np.asarray(p.population, dtype=float)
    mean = w.sum() / int(p.k)
    low, high = balance_band(mean, p.balance)
    roots = np.asarray(p.cand_unit, dtype=np.int64)[list(leads)]
    g5 = np.asarray(p.g5) > 0
    lock_grid = {int(u): list(leads).index(int(c)) for u, c in p.locks}
    adj = sp.csr_matrix(p.adjacency).astype(float)
    adj.setdiag(0)
    adj.eliminate_zeros()
    allowed = exact.lead_set_bounds(p, leads, base)
    out = {"leads": list(leads), "seed": seed}
    lab = None if allowed is None else _grow(p, leads, allowed, rng, tree_seconds)
    if lab is None:
        out["status"] = "no trees"
        return out

    def energy(pop: float) -> float:
        return ((pop - mean) / 1000.0) ** 2

    pops = np.array([w[lab == g].sum() for g in range(k)])
    temp, t0, steps = 2000.0, time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds and not ((pops >= low) & (pops <= high)).all():
        steps += 1
        a = rnd.randrange(k)
        ring = set(lab[adj[np.flatnonzero(lab == a)].indices].tolist()) - {a}
        if not ring:
            continue
        b = rnd.choice(sorted(ring))
        units = np.flatnonzero((lab == a) | (lab == b))
        at = {int(u): i for i, u in enumerate(units)}
        sub = adj[units][:, units].tocoo()
        drawn = sp.csr_matrix((rng.random(len(sub.data)) + 0.01, (sub.row, sub.col)), shape=(len(units),) * 2)
        tree = minimum_spanning_tree(drawn.maximum(drawn.T))
        tree = tree + tree.T
        ra, rb = at[int(roots[a])], at[int(roots[b])]
        order, pred = breadth_first_order(tree, ra, directed=False, return_predecessors=True)
        if len(order) < len(units):
            continue
        sw = w[units]
        sg = g5[units].astype(int)
        sl = np.array([{a: 1, b: 100}.get(lock_grid.get(int(u), -1), 0) for u in units])
        cw, cg, cl = sw.copy(), sg.copy(), sl.copy()
        for x in order[::-1]:  # the subtree below each unit
            if pred[x] >= 0:
                cw[pred[x]] += cw[x]
                cg[pred[x]] += cg[x]
                cl[pred[x]] += cl[x]
        best, x = None, rb
        while x != ra:  # cut above x: the subtree of x (holding b's lead) goes to b
            ok = cg[x] >= 1 and sg.sum() - cg[x] >= 1 and cl[x] % 100 == 0 and (sl.sum() - cl[x]) < 100
            if ok:
                val = energy(sw.sum() - cw[x]) + energy(cw[x])
                if best is None or val < best[0]:
                    best = (val, x)
            x = pred[x]
        if best is None:
            continue
        change = best[0] - energy(pops[a]) - energy(pops[b])
        if change > 0 and rnd.random() >= math.exp(-change / temp):
            continue
        to_b = np.zeros(len(units), bool)
        for y in order:
            to_b[y] = y == best[1] or (pred[y] >= 0 and to_b[pred[y]])
        lab[units[to_b]], lab[units[~to_b]] = b, a
        pops[a], pops[b] = sw[~to_b].sum(), sw[to_b].sum()
        if steps % 500 == 0:
            temp = max(1.0, temp * 0.97)
    out.update(status="plan" if ((pops >= low) & (pops <= high)).all() else "none",
               maxdev=round(float(np.abs(pops - mean).max() / mean) * 100, 1),
               pops=[int(x) for x in pops], steps=steps,
               labels=[int(leads[g]) for g in lab])
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("city")
    ap.add_argument("--sets", default="", help="set positions (comma separated; default all)")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--seconds", type=float, default=25.0, help="recombination per set and seed")
    ap.add_argument("--save", default="", help="write the best plan found here (JSON)")
    args = ap.parse_args(argv)
    p, _ = _problem(args.city)
    sets, _ = exact.lead_sets(p)
    chosen = [int(i) for i in args.sets.split(",")] if args.sets else list(range(len(sets)))
    best = None
    for i in chosen:
        for seed in (int(s) for s in args.seeds.split(",")):
            rec = recombine(args.city, sets[i], seed, args.seconds)
            print(f"  set {i:3d} leads {rec['leads']} seed {seed}: {rec['status']}"
                  + (f", maxdev {rec['maxdev']} %, grids {[x // 1000 for x in rec['pops']]} k"
                     if "pops" in rec else ""), flush=True)
            if "maxdev" in rec and (best is None or rec["maxdev"] < best["maxdev"]):
                best = dict(rec, set=i)
            if rec["status"] == "plan":
                import oracle

                from grid_planning.city.costs import travel_costs

                layers, request = _STATE["layers"], _STATE["request"]
                probs = oracle.problems(layers, request, plan_of(args.city, rec["labels"]),
                                        travel_costs(layers))
                print(f"    PLAN FOUND; oracle.problems: {probs or 'none'}", flush=True)
    if best is not None:
        print(f"{args.city}: best maxdev {best['maxdev']} % (set {best['set']}, seed {best['seed']}); "
              f"tolerance {p.balance:.0%}")
        if args.save:
            from pathlib import Path

            Path(args.save).write_text(json.dumps(best))


if __name__ == "__main__":
    main()
