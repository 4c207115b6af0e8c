"""Sweep: the planner against the exact reference on cities it was not tuned on (issue 15).

Run ``python benchmarks/sweep_new_cities.py [--only GROUP,..] [--cache F] [--workers 2]
[--ref-seconds 120] [--follow] [--follow-seconds S]`` from the repository root.

Issue 15's done criterion is "no city of up to 300 units is refused while a plan exists; no
refusal above that claims impossibility". The tests check it on the reference family the planner
was tuned on (``family(..., seed=0)``, ``seed=1``, ``seed=2``). This sweep asks it of new cities:

- ``fam3`` ... ``fam6``: ``family((60, 100, 200, 300), 4, seed=3)`` to ``seed=6``, new draws of the
  same generator (tests/reference_cities.py);
- ``above``: ``family((320, 400), 2, seed=3)``, past 300 units: no refusal may claim
  impossibility (the reference is not run there);
- ``other``: cities of other generators at sizes, tolerances and locks they are not used at
  (:func:`other_cities`: planted cities of tests/corner_cities.py, where a plan is known to exist,
  so any refusal is false; corner cities larger than the tests use; the Fuxin-shaped pilot of
  tests/awkward_cities.py on coarse units at tight tolerances; the G9 strip of tests/g9_city.py
  with a lock whose path to its lead walls the other lead in).

Per city, in one worker process (at most ``--workers``, default 2): ``plan_city(...,
analyse=False)`` with its normal 20 s (wall and CPU seconds); a plan is checked by
``oracle.problems``; a refusal must say "not found" and "does not prove" unless it is proven.
Then ``reference_cities.reference_decide`` (scipy ``milp``, the tests' own reading of the policy)
with ``--ref-seconds`` (default 120; it stops at its first plan) on a refusal, ``--check-seconds``
(default 20) on a plan: a plan that passes the oracle already answers the question, and the
reference can only contradict it by a proof of "none". A planar proof is also checked
on its evidence (``planar_proof_problems``). The verdict column:

- ``ok``: both agree, or the planner planned and the reference ran out of time;
- ``FALSE REFUSAL``: the planner said "not found", the reference found a plan;
- ``WRONG PROOF``: the planner proved no plan, the reference found one (a serious bug);
- ``BAD PLAN`` / ``REF NONE``: a plan the oracle rejects / a plan for a city the reference
  proves impossible (a bug in one of the two);
- ``undecided``: a "not found" that the reference did not decide either; ``--follow`` then runs
  the offline deciders of ``benchmarks/prove_undecided.py`` (skeleton trees, then HiGHS with the
  leads fixed, per lead set) and the recombination of ``benchmarks/recombine_plans.py`` on each
  lead set, ``--follow-seconds`` each.

Results go to a JSON-lines cache (default ``/tmp/sweep_new_cities.jsonl``), one record per city;
a rerun skips cities already there, so the sweep can be stopped and resumed. The table is
printed from the cache at the end, with the counts and the CPU seconds spent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import oracle  # noqa: E402
from reference_cities import (  # noqa: E402
    family,
    planar_proof_problems,
    reference_decide,
    reference_plan_ok,
    shaped_city,
)

from grid_planning.city.costs import travel_costs  # noqa: E402
from grid_planning.domain.request import PlanRequest  # noqa: E402
from grid_planning.planning.planner import plan_city  # noqa: E402

REASON = "市卫健委批准（测试）"


def _family(seed: int) -> dict:
    return {c.name: (f"fam{seed}", lambda c=c: shaped_city(c))
            for c in family((60, 100, 200, 300), 4, seed=seed)}


def _planted(n: int, k: int, seed: int, balance: float, spread: float, lock: bool):
    from corner_cities import planted_city

    layers, witness = planted_city(n, k, seed, spread=spread)
    locks: tuple = ()
    if lock:  # the unit of one G5 hospital pinned to the lead the witness gives it
        fac = layers.facilities.set_index("id")
        hit = layers.units[layers.units.intersects(fac.geometry["S1"])]
        unit = str(hit["id"].iloc[0])
        locks = ((unit, witness[unit]),)
    return layers, PlanRequest(k=k, balance=balance, locks=locks)


def _corner(n: int, k: int, seed: int, balance: float, edge: bool):
    from corner_cities import corner_city

    return corner_city(n, k, seed, edge=edge), PlanRequest(k=k, balance=balance)


def _pilot(units: str, k: int, balance: float):
    import tempfile

    from awkward_cities import pilot_city

    from grid_planning.session.ui_state import load_uploads

    folder = Path(tempfile.mkdtemp(prefix="sweep-pilot-"))
    u, f = pilot_city(folder, units)
    up = load_uploads({"units": (u.name, u.read_bytes()), "facilities": (f.name, f.read_bytes())},
                      city_name=f"pilot-{units}", workdir=folder / "tmp")
    # the enterprise hospital designated to lead (the pilots' case), its grid waived from G5:
    # the city has one secondary general hospital for two grids
    return up.layers, PlanRequest(k=k, balance=balance, designated_leads=(("P02", REASON),),
                                  g5_waivers=(("P02", REASON),))


def _g9(balance: float):
    from g9_city import g9_layers, unit_id

    # the west corner unit pinned to the EAST lead: its grid runs the whole south row, walling
    # the west lead's grid off from the west G5 hospital (column 2, south row) unless it goes round
    return g9_layers(), PlanRequest(k=2, balance=balance, locks=((unit_id(0, 0), "E1"),))


def other_cities() -> dict:
    """Cities of other generators (see the module doc), name -> (group, builder)."""
    out = {
        # a plan meeting G5 within the spread is planted: any refusal is false
        "planted-250u-k7-4%-s5": lambda: _planted(250, 7, 5, 0.04, 0.04, False),
        "planted-300u-k8-3%-lock-s6": lambda: _planted(300, 8, 6, 0.03, 0.03, True),
        "planted-200u-k8-2%-s7": lambda: _planted(200, 8, 7, 0.02, 0.02, False),
        # corner cities (G5 only in the corners / along one side) well past the tests' 20-60 units
        "corner-250u-k7-5%-s11": lambda: _corner(250, 7, 11, 0.05, False),
        "corner-edge-200u-k6-8%-s12": lambda: _corner(200, 6, 12, 0.08, True),
        # the Fuxin-shaped pilot: few coarse units, no collaborator, one secondary hospital
        "pilot-streets-k2-3%": lambda: _pilot("streets", 2, 0.03),
        "pilot-cells-k2-2%": lambda: _pilot("cells", 2, 0.02),
        "pilot-cells-k2-5%": lambda: _pilot("cells", 2, 0.05),
        # the G9 strip with a lock across the city
        "g9-lock-k2-10%": lambda: _g9(0.10),
        "g9-lock-k2-3%": lambda: _g9(0.03),
    }
    return {name: ("other", build) for name, build in out.items()}


def _above() -> dict:
    """Past 300 units (no exact search runs there): a refusal must never claim impossibility."""
    return {c.name: ("above", lambda c=c: shaped_city(c)) for c in family((320, 400), 2, seed=3)}


def all_cities() -> dict:
    return {**_family(3), **_family(4), **_family(5), **_family(6), **other_cities(), **_above()}


def _plan_json(layers, m, labels) -> dict:
    """A reference plan (candidate position per unit) as fixture JSON: leads and assignment."""
    unit_ids = layers.units["id"].astype(str).tolist()
    cands = sorted({int(c) for c in labels})
    grid = {c: f"G{g + 1}" for g, c in enumerate(cands)}
    return {"leads": {grid[c]: m.cand[c] for c in cands},
            "assignment": {u: grid[int(c)] for u, c in zip(unit_ids, labels, strict=True)}}


class SavedPlan:
    """A plan read back from JSON, shaped like the planner's for ``oracle.problems``."""

    def __init__(self, saved: dict) -> None:
        import pandas as pd

        self.assignment = pd.Series(saved["assignment"])
        self.leads = pd.Series(saved["leads"])


def sweep_one(name: str, ref_seconds: float, check_seconds: float) -> dict:
    """Planner, oracle and reference for one city (see the module doc)."""
    group, build = all_cities()[name]
    cpu0 = time.process_time()
    layers, request = build()
    costs = travel_costs(layers)
    m = oracle.model(layers, request, costs)
    rec = {"city": name, "group": group, "n": int(layers.index.n), "k": request.k,
           "balance": request.balance}
    t0, c0 = time.perf_counter(), time.process_time()
    res = plan_city(layers, request, costs=costs, analyse=False)
    rec["planner_s"] = round(time.perf_counter() - t0, 1)
    rec["planner_cpu"] = round(time.process_time() - c0, 1)
    if res.ok:
        rec["planner"] = "plan"
        rec["method"] = str(res.stats.get("method", "")) if hasattr(res, "stats") else ""
        rec["oracle"] = oracle.problems(layers, request, res.plan, costs)
    else:
        inf = res.infeasible
        rec["planner"] = "proof" if inf.proven else "not found"
        rec["code"] = inf.code
        rec["message"] = inf.message("en")[:300]
        rec["proof"] = inf.params.get("proof", "")
        if not inf.proven:
            en, zh = inf.message("en"), inf.message("zh")
            rec["wording_ok"] = ("does not prove" in en and "cannot" not in en and "不证明" in zh)
        elif inf.params.get("proof") == "planar" and not isinstance(m, str):
            rec["planar_problems"] = planar_proof_problems(layers, m, inf.params)
    if rec["n"] > 300:  # the criterion there is the wording alone; the reference is not run
        rec.update(ref="not run", ref_s=0.0)
    elif isinstance(m, str):  # the oracle itself says no plan whatever the partition
        rec.update(ref="none", ref_s=0.0, ref_why=m)
    else:
        t0 = time.perf_counter()
        v = reference_decide(m, time_limit=check_seconds if res.ok else ref_seconds)
        rec["ref"] = v.status
        rec["ref_s"] = round(time.perf_counter() - t0, 1)
        if v.status == "plan":
            rec["ref_plan_problems"] = reference_plan_ok(m, v.labels)
            saved = _plan_json(layers, m, v.labels)
            rec["ref_oracle"] = oracle.problems(layers, request, SavedPlan(saved), costs)
            if rec["planner"] != "plan":
                rec["ref_plan"] = saved
    rec["verdict"] = verdict(rec)
    rec["cpu"] = round(time.process_time() - cpu0, 1)
    return rec


def verdict(rec: dict) -> str:
    """The agreement column (see the module doc)."""
    p, r = rec["planner"], rec.get("ref")
    if p == "plan":
        if rec.get("oracle"):
            return "BAD PLAN"
        return "REF NONE" if r == "none" else "ok"
    if p == "proof" and rec["n"] > 300:
        return "PROOF ABOVE 300"
    if p == "proof":
        if r == "plan" and not rec.get("ref_oracle"):
            return "WRONG PROOF"
        if rec.get("planar_problems"):
            return "BAD PLANAR EVIDENCE"
        return "ok" if r == "none" or rec.get("proof") == "planar" else "proof unconfirmed"
    if not rec.get("wording_ok", True):
        return "BAD WORDING"
    if r == "plan" and not rec.get("ref_oracle"):
        return "FALSE REFUSAL"
    if r in ("none", "not run"):
        return "ok"
    follow = rec.get("follow", {}).get("outcome")
    if follow == "plan":
        return "FALSE REFUSAL"
    if follow == "none":
        return "ok"
    return "undecided"


def follow_one(name: str, seconds: float, budget: float, share: float = 0.5) -> dict:
    """The offline tools on an undecided city, lead set by lead set, within ``budget`` s:

    1. recombination (``recombine_plans.recombine``, seed 0, ``seconds / 3`` per set) on every
       set, in at most ``share`` of the budget: it finds plans, it proves nothing;
    2. then the deciders (``prove_undecided.decide_set``: the trees, then HiGHS with the leads
       fixed, ``seconds`` each) on every set, in the rest: a set is closed (no plan with these
       leads), planned, or left open. Sets not reached count as open.

    A plan found is checked by ``oracle.problems``; the city has none when every set is closed."""
    import prove_undecided as pu
    import recombine_plans as rp

    from grid_planning.planning import exact, run

    _, build = all_cities()[name]
    layers, request = build()
    r = run._Run(layers, request, None, lambda _f, _k: None)
    p = r.exact_problem()
    pu._STATE.update(name=name, layers=layers, request=request, run=r, problem=p,
                     base=exact.reach(p)[0])
    sets, _ = exact.lead_sets(p)
    t0, c0 = time.perf_counter(), time.process_time()
    out = {"sets": len(sets), "recombined": 0, "best_maxdev": None, "decided": 0, "closed": 0}
    costs = travel_costs(layers)

    def found(labels, how) -> bool:
        plan = pu.plan_of(name, labels)
        out["oracle"] = oracle.problems(layers, request, plan, costs)
        if out["oracle"]:
            return False
        out.update(outcome="plan", found_by=how,
                   plan={"leads": plan.leads.to_dict(), "assignment": plan.assignment.to_dict()})
        return True

    for leads in sets:
        if time.perf_counter() - t0 > budget * share:
            break
        rc = rp.recombine(name, leads, 0, seconds / 3, tree_seconds=seconds / 3)
        out["recombined"] += 1
        if rc.get("maxdev") is not None and (out["best_maxdev"] is None or rc["maxdev"] < out["best_maxdev"]):
            out["best_maxdev"] = rc["maxdev"]
        if rc["status"] == "plan" and found(rc["labels"], "recombination"):
            break
    if out.get("outcome") != "plan":
        for leads in sets:
            if time.perf_counter() - t0 > budget:
                break
            rec = pu.decide_set(name, leads, seconds)
            out["decided"] += 1
            if rec["how"] in ("bounds", "trees", "highs"):
                out["closed"] += 1
            elif rec.get("labels") is not None and found(rec["labels"], "highs, leads fixed"):
                break
        if out.get("outcome") != "plan":
            out["outcome"] = "none" if out["closed"] == len(sets) else "unknown"
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["cpu"] = round(time.process_time() - c0, 1)
    return out


def patient_one(name: str, seconds: float) -> dict:
    """The planner again on a city it refused as "not found", given ``seconds`` instead of its
    20 s (``run.FALLBACK_SECONDS``, a wall-clock limit): tells a refusal that more CPU would
    turn into a plan (the machine was loaded) from one it would not."""
    from grid_planning.planning import run

    _, build = all_cities()[name]
    layers, request = build()
    costs = travel_costs(layers)
    run.FALLBACK_SECONDS = seconds
    t0, c0 = time.perf_counter(), time.process_time()
    res = plan_city(layers, request, costs=costs, analyse=False)
    out = {"limit": seconds, "seconds": round(time.perf_counter() - t0, 1),
           "cpu": round(time.process_time() - c0, 1)}
    if res.ok:
        out.update(outcome="plan", method=str(res.stats.get("method", "")),
                   oracle=oracle.problems(layers, request, res.plan, costs))
    else:
        out.update(outcome="proof" if res.infeasible.proven else "not found")
    return out


def _load(cache: Path) -> dict:
    out = {}
    if cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                out[rec["city"]] = rec
    return out


def _save(cache: Path, records: dict) -> None:
    cache.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records.values()),
                     encoding="utf-8")


def offline(name: str) -> tuple[int, int, int] | None:
    """The lead sets of ``name`` closed, with a plan, and in all, by the saved records of
    ``benchmarks/decide_unknown.py`` (None: it was not run on the city)."""
    import decide_unknown

    path = decide_unknown.RESULTS / f"{name}.jsonl"
    if not path.exists():
        return None
    _, _, m, _ = decide_unknown.city(name)
    status = [rec and rec["status"] for rec in decide_unknown.saved_by_set(m, path).values()]
    return status.count("closed"), status.count("plan"), len(status)


def table(records: dict, names: list[str]) -> None:
    """The table, the counts and the CPU seconds. A refusal the reference left open reads as
    decided when ``benchmarks/decide_unknown.py`` closed every lead set (its saved records)."""
    print(f"{'city':44s} {'n':>4s} {'planner':>10s} {'s':>6s} {'cpu':>6s} {'reference':>9s} "
          f"{'s':>6s}  verdict")
    counts: dict[str, int] = {}
    cpu = 0.0
    for name in names:
        rec = records.get(name)
        if rec is None:
            continue
        follow = rec.get("follow")
        extra = ""
        if follow:
            extra = (f"  [follow: {follow.get('outcome')}, {follow['closed']} of {follow['sets']} lead sets "
                     f"closed ({follow['decided']} tried), recombination on {follow['recombined']} sets: "
                     + (f"best {follow['best_maxdev']} % off" if follow.get("best_maxdev") is not None
                        else "no trees")
                     + f", {follow['seconds']} s]")
            cpu += follow.get("cpu", 0.0)
        if rec.get("patient"):
            pt = rec["patient"]
            extra += (f"  [planner given {pt['limit']:.0f} s: {pt['outcome']} in {pt['seconds']} s, "
                      f"{pt['cpu']} CPU s]")
            cpu += pt["cpu"]
        decided = offline(name) if rec["verdict"] in ("undecided", "proof unconfirmed") else None
        if decided is not None:
            closed, plans, sets = decided
            extra += f"  [decide_unknown: {closed} of {sets} lead sets closed, {plans} with a plan]"
            if plans:
                rec = rec | {"verdict": "FALSE REFUSAL" if rec["planner"] == "not found" else "WRONG PROOF"}
            elif closed == sets:
                rec = rec | {"verdict": "ok"}
        print(f"{name:44s} {rec['n']:4d} {rec['planner']:>10s} {rec['planner_s']:6.1f} "
              f"{rec['planner_cpu']:6.1f} {rec['ref']:>9s} {rec['ref_s']:6.1f}  {rec['verdict']}{extra}")
        counts[rec["verdict"]] = counts.get(rec["verdict"], 0) + 1
        cpu += rec["cpu"]
    done = [records[n] for n in names if n in records]
    planned = [r for r in done if r["planner"] == "plan"]
    print(f"\n{len(done)} cities ({min(r['n'] for r in done)}-{max(r['n'] for r in done)} units): "
          f"{len(planned)} planned, {sum(r['planner'] == 'proof' for r in done)} proven refusals, "
          f"{sum(r['planner'] == 'not found' for r in done)} 'not found'; verdicts {counts}")
    if planned:
        t = np.array([r["planner_s"] for r in planned])
        print(f"planner seconds to a plan: median {np.median(t):.1f}, max {t.max():.1f}; "
              f"CPU spent by the sweep (workers): {cpu:.0f} s")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="groups (fam3-fam6, other, above) or city names, comma separated")
    ap.add_argument("--cache", default="/tmp/sweep_new_cities.jsonl")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ref-seconds", type=float, default=120.0)
    ap.add_argument("--check-seconds", type=float, default=20.0,
                    help="the reference's time on a city the planner planned (only a 'none' would matter)")
    ap.add_argument("--follow", action="store_true", help="run the offline deciders on undecided cities")
    ap.add_argument("--follow-seconds", type=float, default=30.0, help="per lead set and step")
    ap.add_argument("--follow-budget", type=float, default=420.0, help="per city")
    ap.add_argument("--recombine-share", type=float, default=0.5,
                    help="share of the follow budget given to recombination (step 1)")
    ap.add_argument("--refollow", action="store_true",
                    help="follow the undecided cities again (the earlier follow kept as follow_first)")
    ap.add_argument("--patient", type=float, default=0.0,
                    help="run the planner again with this many seconds on the 'not found' cities "
                         "that are false refusals or undecided")
    args = ap.parse_args(argv)
    cities = all_cities()
    want = set(args.only.split(",")) if args.only else None
    names = [n for n, (g, _) in cities.items() if want is None or g in want or n in want]
    cache = Path(args.cache)
    records = _load(cache)
    todo = [n for n in names if n not in records]
    print(f"{len(names)} cities, {len(names) - len(todo)} cached in {cache}, {len(todo)} to run "
          f"({args.workers} workers)", flush=True)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futs = {pool.submit(sweep_one, n, args.ref_seconds, args.check_seconds): n for n in todo}
        for fut in as_completed(futs):
            rec = fut.result()
            records[rec["city"]] = rec
            _save(cache, records)
            print(f"  {rec['city']}: planner {rec['planner']} {rec['planner_s']} s, reference "
                  f"{rec['ref']} {rec['ref_s']} s -> {rec['verdict']}", flush=True)
        if args.follow:
            open_ = [n for n in names if records[n]["verdict"] == "undecided"
                     and (args.refollow or "follow" not in records[n])]
            futs = {pool.submit(follow_one, n, args.follow_seconds, args.follow_budget,
                                args.recombine_share): n for n in open_}
            for fut in as_completed(futs):
                n = futs[fut]
                if "follow" in records[n]:
                    records[n].setdefault("follow_first", records[n]["follow"])
                records[n]["follow"] = fut.result()
                records[n]["verdict"] = verdict(records[n])
                _save(cache, records)
                print(f"  follow {n}: {records[n]['follow'].get('outcome')} -> {records[n]['verdict']}",
                      flush=True)
        if args.patient:
            again = [n for n in names if records[n]["planner"] == "not found"
                     and records[n]["verdict"] != "ok" and "patient" not in records[n]]
            futs = {pool.submit(patient_one, n, args.patient): n for n in again}
            for fut in as_completed(futs):
                n = futs[fut]
                records[n]["patient"] = fut.result()
                _save(cache, records)
                print(f"  patient {n}: {records[n]['patient']}", flush=True)
    print()
    table(records, names)


if __name__ == "__main__":
    main()
