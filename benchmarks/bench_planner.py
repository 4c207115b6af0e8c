"""Planner benchmark: our planner vs an exact lower bound (HiGHS MIP) and spopt's PMedian.

Run ``python benchmarks/bench_planner.py [--quick]`` from the repository root. One process, the same
instances and the same cost matrix for every method:

- instances: the Wuhan sample city (when it loads) and seeded synthetic cities of 1k, 5k and 20k units;
- ours: ``grid_planning.planning.planner.plan_city`` -- "cold" = every cache (costs, adjacency, reprojected
  geometry) cleared first, i.e. the full plan from layers; "warm" = costs and adjacency cached (what
  the dashboard sees when only k or a tolerance changes); both best of 3 (the machine is shared);
- bound: exact p-median over the same candidates (population-weighted minutes, leads in distinct
  units) *without* contiguity, G5 or balance, solved as a MIP by HiGHS (highspy) with a time limit;
  the reported bound is HiGHS' dual bound, "proven" when HiGHS closes the gap. Our objective (with
  contiguity, G5 and roles) can only be >= the optimum of that relaxation, so the gap is an upper
  bound of our distance to the true optimum;
- spopt: ``PMedian.from_cost_matrix`` on the same matrix, solved by PuLP's HiGHS interface with a
  time limit (skipped where building the PuLP model alone would exceed the limit; said so).

Printed per instance and k: times, objectives, gap to the bound, time ratio to spopt, contiguity and
balance deviation; then the cost on top of each balance tolerance, and peak memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grid_planning.city.costs import travel_costs  # noqa: E402
from grid_planning.city.planview import facility_units  # noqa: E402
from grid_planning.city.synthetic import synthetic_city  # noqa: E402
from grid_planning.domain.request import PlanRequest
from grid_planning.geo.graph import is_contiguous  # noqa: E402
from grid_planning.planning.candidates import eligible_leads
from grid_planning.planning.planner import plan_city  # noqa: E402


def cold(layers):
    """The same city with a fresh index (adjacency, locations and costs computed again)."""
    gc.collect()
    return dataclasses.replace(layers)


def instances(quick: bool):
    out = []
    try:
        from grid_planning.city.provenance import load_sample_city

        out.append(("wuhan-sample", load_sample_city))
    except Exception as exc:  # noqa: BLE001 - the sample is optional here
        print(f"(sample city not loadable: {exc})")
    out.append(("synthetic-1k", lambda: synthetic_city(1000, 100, 15, seed=1)))
    if not quick:
        out.append(("synthetic-5k", lambda: synthetic_city(5000, 150, 20, seed=2)))
    out.append(("synthetic-20k", lambda: synthetic_city(20000, 300, 30, seed=3)))
    return out


# ---- exact p-median bound with HiGHS ------------------------------------------------------------------
def pmedian_bound(
    dmat: np.ndarray, w: np.ndarray, k: int, groups: list[list[int]], time_limit: float
) -> dict:
    """Exact p-median (leads in distinct units) by HiGHS; returns bound, incumbent, proven, seconds.

    Formulation (Elloumi 2010, chained): y_j open; for each unit u with candidates sorted by time
    d_u(1) <= ... <= d_u(m), z_u^h = 1 when none of the h-1 nearest is open:
    z_u^2 + y_(1) >= 1, z_u^h - z_u^(h-1) + y_(h-1) >= 0, objective
    sum_u w_u [d_u(1) + sum_h (d_u(h) - d_u(h-1)) z_u^h]. Levels h > m-k+1 are always 0 and dropped.
    """
    import highspy

    t0 = time.perf_counter()
    n, m = dmat.shape
    order = np.argsort(dmat, axis=1, kind="stable")
    ds = np.take_along_axis(dmat.astype(np.float64), order, axis=1)
    H = m - k + 1  # noqa: N806 - the formulation's name
    levels = max(H - 1, 0)  # h = 2..H
    n_z = n * levels
    n_col = m + n_z
    cost = np.zeros(n_col)
    zidx = m + np.arange(n_z).reshape(n, levels) if levels else np.zeros((n, 0), dtype=int)
    if levels:
        cost[m:] = (w[:, None] * (ds[:, 1:H] - ds[:, : H - 1])).ravel()
    offset = float(w @ ds[:, 0])
    rows, cols, vals = [], [], []
    lower = []
    r = 0
    if levels:
        # h = 2 rows: z_u^2 + y_(1) >= 1
        ridx = np.arange(n)
        rows += [ridx, ridx]
        cols += [zidx[:, 0], order[:, 0]]
        vals += [np.ones(n), np.ones(n)]
        lower.append(np.ones(n))
        r = n
        for h in range(1, levels):
            ridx = r + np.arange(n)
            rows += [ridx, ridx, ridx]
            cols += [zidx[:, h], zidx[:, h - 1], order[:, h]]
            vals += [np.ones(n), -np.ones(n), np.ones(n)]
            lower.append(np.zeros(n))
            r += n
    # sum y = k
    rows.append(np.full(m, r))
    cols.append(np.arange(m))
    vals.append(np.ones(m))
    lower.append(np.array([k]))
    upper_extra = [k]
    r += 1
    # leads in distinct units
    for grp in groups:
        rows.append(np.full(len(grp), r))
        cols.append(np.asarray(grp))
        vals.append(np.ones(len(grp)))
        lower.append(np.array([0.0]))
        upper_extra.append(1)
        r += 1
    row_lo = np.concatenate(lower)
    row_hi = np.full(r, np.inf)
    n_chain = r - 1 - len(groups)
    row_hi[n_chain] = k
    for i in range(len(groups)):
        row_hi[n_chain + 1 + i] = 1
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n_col)
    )
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = r
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.concatenate([np.ones(m), np.full(n_z, np.inf)])
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    lp.offset_ = offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * n_z
    h.passModel(lp)
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    bound = info.mip_dual_bound
    incumbent = info.objective_function_value
    result = {
        "bound": bound / w.sum() if np.isfinite(bound) else np.nan,
        "incumbent": incumbent / w.sum() if np.isfinite(incumbent) else np.nan,
        "proven": status == highspy.HighsModelStatus.kOptimal,
        "seconds": time.perf_counter() - t0,
    }
    return result


def lagrangian_bound(
    dmat: np.ndarray, w: np.ndarray, k: int, groups: list[list[int]], ub: float, iters: int = 600
) -> dict:
    """Lagrangian lower bound of the same p-median (assignment constraints relaxed; Beasley 1993).

    For any multipliers lambda, L(lambda) = sum(lambda) + min over lead sets S (|S| = k, at most
    one lead per unit) of sum_{j in S} sum_u min(0, w_u d_uj - lambda_u) is a valid lower bound
    (weak duality); the inner minimum is exact by a greedy pick (a partition matroid). Subgradient
    steps Polyak-style towards ``ub``. The p-median Lagrangian dual equals its LP bound.
    """
    t0 = time.perf_counter()
    wd = (w[:, None] * dmat.astype(np.float64)).astype(np.float64)
    n, m = wd.shape
    group_of = np.arange(m)
    for gi, grp in enumerate(groups):
        group_of[grp] = m + gi
    lam = np.sort(wd, axis=1)[:, min(k, m - 1)].copy()  # a decent start: k-th nearest
    best = -np.inf
    theta = 1.0
    stall = 0
    for _ in range(iters):
        red = np.minimum(0.0, wd - lam[:, None])
        rho = red.sum(axis=0)
        chosen, used = [], set()
        for j in np.argsort(rho, kind="stable"):
            if group_of[j] in used:
                continue
            chosen.append(int(j))
            used.add(group_of[j])
            if len(chosen) == k:
                break
        val = lam.sum() + rho[chosen].sum()
        if val > best + 1e-9 * abs(best if np.isfinite(best) else 1):
            best, stall = val, 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
                if theta < 1e-5:
                    break
        g = 1.0 - (wd[:, chosen] < lam[:, None]).sum(axis=1)
        norm = float(g @ g)
        if norm == 0:
            break  # the relaxed solution is feasible: L = optimum
        lam = lam + theta * (ub - val) / norm * g
    return {"bound": best / w.sum(), "seconds": time.perf_counter() - t0}


# ---- spopt ----------------------------------------------------------------------------------------------
def run_spopt(dmat: np.ndarray, w: np.ndarray, k: int, time_limit: float) -> dict:
    import pulp
    from spopt.locate import PMedian

    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(dmat.astype(np.float64), w.astype(np.float64), p_facilities=k)
    build = time.perf_counter() - t0
    solver = (
        pulp.HiGHS(msg=False, timeLimit=time_limit)
        if "HiGHS" in pulp.listSolvers(onlyAvailable=True)
        else pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
    )
    model.solve(solver, results=False)
    seconds = time.perf_counter() - t0
    status = pulp.LpStatus[model.problem.status]
    obj = pulp.value(model.problem.objective)
    return {
        "seconds": seconds,
        "build": build,
        "objective": (obj / w.sum()) if obj is not None else np.nan,
        "status": status,
        "timed_out": seconds >= time_limit,
    }


# ---- main -------------------------------------------------------------------------------------------------
def prepare(layers) -> dict:
    """Costs, adjacency, candidate matrix and distinct-unit groups of one instance (timed)."""
    t0 = time.perf_counter()
    costs = travel_costs(layers)
    t_costs = time.perf_counter() - t0
    t0 = time.perf_counter()
    adj = layers.index.adjacency
    t_adj = time.perf_counter() - t0
    cand_ids = eligible_leads(layers.facilities, PlanRequest(k=2), layers)["id"].astype(str).tolist()
    fu = facility_units(layers)[cand_ids].to_numpy()
    groups = [
        [int(i) for i in idx]
        for _, idx in pd.Series(range(len(fu))).groupby(fu).groups.items()
        if len(idx) > 1
    ]
    return {
        "costs": costs,
        "adj": adj,
        "t_costs": t_costs,
        "t_adj": t_adj,
        "cand_ids": cand_ids,
        "max_k": len(set(fu)),
        "dmat": costs.cols(cand_ids),
        "w": layers.units["population"].to_numpy(dtype=float),
        "groups": groups,
    }


def run_ours(name, layers, prep, k) -> dict:
    t_cold = np.inf
    for _ in range(3):  # best of 3 (each from cleared caches): the machine is shared
        fresh = cold(layers)
        t0 = time.perf_counter()
        res = plan_city(fresh, PlanRequest(k=k))
        t_cold = min(t_cold, time.perf_counter() - t0)
    t_warm = np.inf
    for _ in range(3):  # best of 3: the machine is shared
        t0 = time.perf_counter()
        res = plan_city(layers, PlanRequest(k=k), costs=prep["costs"])
        t_warm = min(t_warm, time.perf_counter() - t0)
    row = {"instance": name, "units": len(layers.units), "cands": len(prep["cand_ids"]), "k": k}
    if not res.ok:
        return row | {"status": res.infeasible.code}
    parts = is_contiguous(prep["adj"], res.plan.assignment.to_numpy())
    return row | {
        "status": "ok",
        "cold_s": t_cold,
        "warm_s": t_warm,
        "ours": res.stats["objective"],
        "pmedian": res.stats["pmedian_objective"],
        "exact_lb": res.stats["lower_bound"],
        "method": res.stats["method"],
        "contiguous": all(p == 1 for p in parts.values()),
        "bal_dev": res.stats["max_balance_dev"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="fewer instances and k values, shorter limits"
    )
    ap.add_argument("--mip-limit", type=float, default=None, help="HiGHS time limit per MIP (s)")
    ap.add_argument(
        "--spopt-limit", type=float, default=None, help="spopt time limit per solve (s)"
    )
    ap.add_argument("--only", default=None, help="run only instances whose name contains this")
    args = ap.parse_args()
    import os

    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores; other jobs inflate times)")
    ks = [2, 4, 8] if args.quick else list(range(2, 9))
    mip_limit = args.mip_limit or (20.0 if args.quick else 60.0)
    spopt_limit = args.spopt_limit or (60.0 if args.quick else 300.0)
    # spopt/PuLP and the HiGHS MIP build one variable per unit x candidate; past these sizes the
    # model alone does not fit the time limit, so those runs are skipped (and reported as such).
    spopt_max_vars = 250_000
    mip_max_vars = 300_000

    # Phase 1: our planner only, so that the peak memory measured after it is ours.
    built = []
    rows, balance_rows = [], []
    for name, make in instances(args.quick):
        if args.only and args.only not in name:
            continue
        layers = make()
        prep = prepare(layers)
        print(
            f"== {name}: {len(layers.units):,} units, {len(layers.facilities)} facilities, "
            f"{len(prep['cand_ids'])} eligible leads; costs {prep['t_costs']:.2f} s "
            f"({prep['costs'].mode}), adjacency {prep['t_adj']:.2f} s",
            flush=True,
        )
        for k in ks:
            if k > prep["max_k"]:
                continue
            row = run_ours(name, layers, prep, k)
            rows.append(row)
            if row["status"] != "ok":
                continue
            for tol in (0.5, 0.3, 0.2):
                t0 = time.perf_counter()
                rb = plan_city(
                    layers,
                    PlanRequest(k=k, balance=tol),
                    costs=prep["costs"],
                )
                balance_rows.append(
                    {
                        "instance": name,
                        "k": k,
                        "tolerance": tol,
                        "status": "ok" if rb.ok else rb.infeasible.code,
                        "extra_pct": 100 * (rb.stats["objective"] / row["ours"] - 1)
                        if rb.ok
                        else np.nan,
                        "seconds": time.perf_counter() - t0,
                    }
                )
        built.append((name, layers, prep))
    planner_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Phase 2: bounds and the peer on the same matrices.
    by_key = {(r["instance"], r["k"]): r for r in rows}
    for name, _layers, prep in built:
        dmat, w, groups = prep["dmat"], prep["w"], prep["groups"]
        n_vars = dmat.shape[0] * dmat.shape[1]
        for k in ks:
            row = by_key.get((name, k))
            if row is None or row["status"] != "ok":
                continue
            lag = lagrangian_bound(dmat, w, k, groups, row["pmedian"] * w.sum())
            row.update(lagr=lag["bound"], lagr_s=lag["seconds"])
            bound, src = lag["bound"], "lagrangian"
            if n_vars <= mip_max_vars:
                mip = pmedian_bound(dmat, w, k, groups, mip_limit)
                row.update(mip=mip["bound"], mip_opt=mip["proven"], mip_s=mip["seconds"])
                if np.isfinite(mip["bound"]) and mip["bound"] >= bound - 1e-9:
                    bound, src = mip["bound"], "MIP" + (" optimal" if mip["proven"] else "")
            else:
                row.update(mip_opt=False, mip_note=f"skipped (> {mip_max_vars:,} vars)")
            if row.get("exact_lb") is not None and row["exact_lb"] >= bound - 1e-9:
                bound, src = row["exact_lb"], "enumeration"
            row.update(bound=bound, bound_src=src, gap_pct=100 * (row["ours"] - bound) / bound)
            if n_vars <= spopt_max_vars:
                try:
                    sp_res = run_spopt(dmat, w, k, spopt_limit)
                    row.update(
                        spopt_s=sp_res["seconds"],
                        spopt_obj=sp_res["objective"],
                        spopt_status=sp_res["status"]
                        + (" (time limit)" if sp_res["timed_out"] else ""),
                        x_cold=sp_res["seconds"] / row["cold_s"],
                        x_warm=sp_res["seconds"] / row["warm_s"],
                    )
                except Exception as exc:  # noqa: BLE001 - report, do not abort the benchmark
                    row.update(spopt_status=f"error: {exc}")
            else:
                row.update(spopt_status=f"skipped (> {spopt_max_vars:,} vars)")
            print(
                f"  {name} k={k}: ours {row['ours']:.3f} min ({row['cold_s']:.2f} s cold, "
                f"{row['warm_s']:.3f} s warm); bound {bound:.3f} [{src}]; gap {row['gap_pct']:.2f} %; "
                f"spopt {row.get('spopt_s', float('nan')):.1f} s {row.get('spopt_status', '')}",
                flush=True,
            )

    table = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    print(
        "\n=== Planner vs bound vs spopt PMedian (objective = population-weighted mean minutes to the lead)"
    )
    cols = [
        "instance",
        "units",
        "cands",
        "k",
        "status",
        "cold_s",
        "warm_s",
        "ours",
        "bound",
        "bound_src",
        "gap_pct",
        "spopt_s",
        "spopt_obj",
        "spopt_status",
        "x_cold",
        "x_warm",
        "contiguous",
        "bal_dev",
    ]
    print(
        table[[c for c in cols if c in table.columns]].to_string(
            index=False, float_format=lambda v: f"{v:.3f}"
        )
    )
    ok = table[table["status"] == "ok"]
    print("\n=== Targets")
    print(
        f"gap to a proven lower bound (balance off): max {ok['gap_pct'].max():.2f} %, "
        f"median {ok['gap_pct'].median():.2f} % over {len(ok)} runs (target <= 1 %)"
    )
    big = ok[ok["units"] >= 20000]
    if len(big):
        print(
            f"20k-unit full plan from layers (cold, caches cleared): max {big['cold_s'].max():.2f} s "
            f"(target <= 2 s); with costs/adjacency cached: max {big['warm_s'].max():.2f} s"
        )
    if "x_cold" in ok.columns and ok["x_cold"].notna().any():
        xc, xw = ok["x_cold"].dropna(), ok["x_warm"].dropna()
        print(
            f"speed-up over spopt: vs our cold plan min x{xc.min():.0f} / median x{xc.median():.0f}; "
            f"vs our plan on the same precomputed matrix min x{xw.min():.0f} / median x{xw.median():.0f} "
            f"(target >= 100x) over {len(xc)} runs"
        )
    print(f"all plans contiguous: {bool(ok['contiguous'].all())}")
    bt = pd.DataFrame(balance_rows)
    if len(bt):
        print("\n=== What a balance tolerance costs on top (objective increase vs balance off)")
        summary = bt.groupby("tolerance").agg(
            feasible=("status", lambda s: f"{(s == 'ok').sum()}/{len(s)}"),
            mean_extra_pct=("extra_pct", "mean"),
            max_extra_pct=("extra_pct", "max"),
            max_seconds=("seconds", "max"),
        )
        print(summary.to_string(float_format=lambda v: f"{v:.2f}"))
        infeasible = bt[bt["status"] != "ok"]
        if len(infeasible):
            print(
                "infeasible (explained):",
                ", ".join(
                    f"{r.instance} k={r.k} ±{r.tolerance}: {r.status}"
                    for r in infeasible.itertuples()
                ),
            )
    total_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\npeak memory: planner phase (all instances built and planned) {planner_peak_mb:.0f} MB "
        f"(target <= 1.5 GB); whole process incl. spopt/PuLP and HiGHS {total_peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
