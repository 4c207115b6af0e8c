"""Search plans of an undecided reference city by recombination, lead set by lead set (issue 15).

Run ``python benchmarks/recombine_plans.py CITY [--sets I,J] [--seeds 0,1] [--steps N]
[--seconds S] [--save F]`` from the repository root (``CITY``: a reference-family name, see
``benchmarks/prove_undecided.py``).

A heuristic, not a proof: it finds plans, it never shows that none exists. Per lead set
(``exact.lead_sets``) and seed:

1. disjoint trees from each lead to its locked units and a G5 unit (``skeleton.trees``, the
   tree cost 1 per unit first, then random draws), grown into a partition (each unit left joins
   the least populated neighbouring grid): every grid connected, holding its lead, its locked
   units and a G5 unit;
2. recombination (ReCom), ``N`` steps (``S`` s at most), the library's
   :class:`grid_planning.planning.recombine.Recombination` (the planner's last fallback stage):
   two neighbouring grids are merged, a random spanning tree of the union is drawn, and the
   union is cut at the tree edge on the path between the two leads that leaves both parts their
   locks and a G5 unit and the smallest sum of squared deviations from the mean grid population
   (annealed acceptance). Contiguity, leads, locks and G5 hold at every step; only the balance
   is sought.

Prints, per set and seed, the largest deviation from the mean reached (``maxdev``) and the grid
populations. ``--save F`` writes the best plan found (unit -> candidate position) as JSON; a
plan within the city's tolerance is checked by the tests' independent checker
(``tests/oracle.problems``). Found so, strip-300u-k8-edge10-8%-lock-s7535 has a plan at +-57 %
(tests/fixtures/plans/strip300_lock_loose_plan.json) and none came closer than that.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from prove_undecided import _STATE, _problem, plan_of

from grid_planning.planning import exact, skeleton
from grid_planning.planning.clock import Budget
from grid_planning.planning.recombine import Recombination


def _trees(p, leads, allowed, rng, tree_seconds: float) -> np.ndarray | None:
    """Step 1 of the module doc: disjoint trees (grid per unit, -1 off them), or None."""
    for attempt in range(3):
        cost = np.ones((len(leads), p.n)) if attempt == 0 else rng.uniform(0.2, 1.8, (len(leads), p.n))
        status, labels = skeleton.trees(p, leads, allowed, cost, tree_seconds)
        if status == "trees":
            return labels
    return None


def recombine(name: str, leads: tuple[int, ...], seed: int, steps: int, seconds: float,
              tree_seconds: float = 20.0) -> dict:
    """Steps 1-2 of the module doc for one lead set and seed (the library's
    :class:`grid_planning.planning.recombine.Recombination`)."""
    from grid_planning.domain.request import balance_band

    p, base = _problem(name)
    r = _STATE["run"]
    rng = np.random.default_rng(seed)
    allowed = exact.lead_set_bounds(p, leads, base)
    out = {"leads": list(leads), "seed": seed}
    tree = None if allowed is None else _trees(p, leads, allowed, rng, tree_seconds)
    if tree is None:
        out["status"] = "no trees"
        return out
    rec = Recombination(p.adjacency, p.population, p.g5)
    w = np.asarray(p.population, dtype=float)
    mean = w.sum() / int(p.k)
    lead_ids = [r.cand_ids[c] for c in leads]
    res = rec.run(rec.grow(tree), np.asarray(p.cand_unit)[list(leads)], r._lock_grid(lead_ids),
                  ~r._waived(lead_ids), balance_band(mean, p.balance), steps, seed,
                  Budget(seconds))
    pops = np.bincount(res.labels, weights=w, minlength=len(leads))
    out.update(status="plan" if res.balanced else "none", maxdev=round(res.max_dev * 100, 1),
               pops=[int(x) for x in pops], steps=res.steps,
               labels=[int(leads[g]) for g in res.labels])
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("city")
    ap.add_argument("--sets", default="", help="set positions (comma separated; default all)")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--steps", type=int, default=30000, help="recombination steps per set and seed")
    ap.add_argument("--seconds", type=float, default=60.0, help="safety limit per set and seed")
    ap.add_argument("--save", default="", help="write the best plan found here (JSON)")
    args = ap.parse_args(argv)
    p, _ = _problem(args.city)
    sets, _ = exact.lead_sets(p)
    chosen = [int(i) for i in args.sets.split(",")] if args.sets else list(range(len(sets)))
    best = None
    for i in chosen:
        for seed in (int(s) for s in args.seeds.split(",")):
            rec = recombine(args.city, sets[i], seed, args.steps, args.seconds)
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
