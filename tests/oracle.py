"""An independent reading of the policy, for checking the planner on small cities.

Nothing here calls the planner, the rules module or the checks: the oracle locates facilities
itself, decides who may lead and which members count from the policy text (``policy.md``), and
enumerates every assignment of units to grids. It shares only the adjacency graph (the definition
of "touching" units, island links included) and the travel minutes.

- :func:`model` turns layers + request into arrays (or says why the request cannot be met at all);
- :func:`brute_force` finds the best plan or proves there is none, on cities of up to
  :data:`MAX_UNITS` units;
- :func:`problems` lists every rule a returned plan breaks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

MAX_UNITS = 11
MAX_ASSIGNMENTS = 200_000
OUTSIDE_M = 500.0
LEAD_TYPES = {"general", "tcm"}
LEAD_OWNERS = {"municipal", "district", "county"}
COLLABORATORS = {"provincial", "national"}


@dataclass
class Model:
    n: int
    k: int
    w: np.ndarray
    minutes: np.ndarray  # units x candidates
    cand: list[str]
    cand_unit: np.ndarray
    required: set[int]
    locks: dict[int, int]  # unit -> candidate
    g5: np.ndarray  # qualifying members per unit
    waived: set[int]  # candidates whose grid needs no G5 member
    balance: float | None
    beds: np.ndarray
    min_beds: float | None
    nbrs: list[set[int]]


def locate(layers, fac) -> tuple[np.ndarray, np.ndarray]:
    """Unit of each facility (covering unit with the lowest position, else nearest) and whether it
    lies more than 500 m from every unit."""
    units = np.asarray(layers.units.to_crs(layers.metric_crs).geometry.values)
    pts = np.asarray(fac.to_crs(layers.metric_crs).geometry.values)
    unit = np.zeros(len(pts), dtype=int)
    out = np.zeros(len(pts), dtype=bool)
    for i, p in enumerate(pts):
        hits = [j for j, g in enumerate(units) if g.intersects(p)]
        if hits:
            unit[i] = min(hits)
        else:
            d = [g.distance(p) for g in units]
            unit[i] = int(np.argmin(d))
            out[i] = min(d) > OUTSIDE_M
    return unit, out


def model(layers, request, costs) -> Model | str:
    """Arrays of the request, or a sentence saying why it cannot be met whatever the partition."""
    fac = layers.facilities.reset_index(drop=True)
    ids = fac["id"].astype(str).tolist()
    unit, out = locate(layers, fac)
    level, typ = fac["level"].astype(str), fac["type"].astype(str)
    owner = fac["owner_level"].astype(str)
    campus = (
        fac["parent_id"].fillna("").astype(str).str.strip().ne("")
        if "parent_id" in fac
        else np.zeros(len(fac), bool)
    )
    tertiary_general = (level == "tertiary") & typ.isin(LEAD_TYPES) & ~np.asarray(campus)
    eligible = tertiary_general & owner.isin(LEAD_OWNERS) & ~out
    designatable = tertiary_general & (~owner.isin(LEAD_OWNERS) | out)
    designated = [str(f) for f, _ in request.designated_leads]
    if request.k < 1:
        return "k < 1"
    if request.k == 1 and not (request.g2_reason or "").strip():
        return "one grid without a G2 reason"
    for f in designated:
        if not designatable[ids.index(f)]:
            return f"{f} cannot be designated"
    cand = [ids[i] for i in range(len(ids)) if eligible[i] or (designatable[i] and ids[i] in designated)]
    cand = [c for c in cand if c not in set(request.excluded_leads)]
    req_ids = set(map(str, request.fixed_leads)) | set(designated) | {str(f) for _, f in request.locks}
    if not req_ids <= set(cand):
        return "a required lead cannot lead"
    unit_ids = layers.units["id"].astype(str).tolist()
    locks = {unit_ids.index(str(u)): cand.index(str(f)) for u, f in request.locks}
    qual = (((level == "secondary") & typ.isin(LEAD_TYPES)) | typ.isin({"rehabilitation", "nursing"})) & ~owner.isin(
        COLLABORATORS
    ) & ~out
    n = len(unit_ids)
    g5 = np.bincount(unit[np.asarray(qual)], minlength=n)
    beds = np.bincount(
        unit,
        weights=np.where(owner.isin(COLLABORATORS), 0.0, fac["beds"].fillna(0).astype(float)),
        minlength=n,
    )
    adj = layers.index.adjacency.tocsr()
    nbrs = [set(adj.indices[adj.indptr[i] : adj.indptr[i + 1]].tolist()) for i in range(n)]
    minutes = costs.minutes[:, costs.col_index(cand)] if cand else np.zeros((n, 0))
    waivers = {str(f) for f, _ in request.g5_waivers}
    return Model(
        n=n,
        k=request.k,
        w=layers.units["population"].fillna(0).to_numpy(float),
        minutes=np.asarray(minutes, dtype=float),
        cand=cand,
        cand_unit=np.array([unit[ids.index(c)] for c in cand], dtype=int),
        required={cand.index(c) for c in req_ids},
        locks=locks,
        g5=g5,
        waived={cand.index(c) for c in cand if c in waivers},
        balance=request.balance,
        beds=beds,
        min_beds=request.min_beds_per_1000 or None,
        nbrs=nbrs,
    )


def _connected(members: list[int], nbrs: list[set[int]]) -> bool:
    if not members:
        return False
    todo, seen, inside = [members[0]], {members[0]}, set(members)
    while todo:
        for v in nbrs[todo.pop()]:
            if v in inside and v not in seen:
                seen.add(v)
                todo.append(v)
    return len(seen) == len(inside)


def brute_force(m: Model) -> tuple[bool, float | None]:
    """(a plan exists, its best objective in weighted minutes) by enumerating every lead set and
    every assignment; only for ``m.n <= MAX_UNITS``."""
    assert m.n <= MAX_UNITS, m.n
    k = m.k
    best = None
    for leads in itertools.combinations(range(len(m.cand)), k):
        if not m.required <= set(leads):
            continue
        lu = [int(m.cand_unit[c]) for c in leads]
        if len(set(lu)) < k:
            continue
        if any(c not in leads for c in m.locks.values()):
            continue
        free = [u for u in range(m.n) if u not in lu]
        if k ** len(free) > MAX_ASSIGNMENTS:
            raise ValueError("instance too large for brute force")
        labels = np.zeros((k ** len(free), m.n), dtype=int)
        if free:
            grid = np.array(list(itertools.product(range(k), repeat=len(free))), dtype=int)
            labels[:, free] = grid
        for g, u in enumerate(lu):
            labels[:, u] = g
        ok = np.ones(len(labels), bool)
        for u, c in m.locks.items():
            ok &= labels[:, u] == leads.index(c)
        onehot = labels[:, :, None] == np.arange(k)[None, None, :]
        pops = np.einsum("auk,u->ak", onehot, m.w)
        if m.balance is not None:
            mean = m.w.sum() / k
            ok &= (np.abs(pops - mean) <= m.balance * mean + 1e-6).all(axis=1)
        if m.min_beds is not None:
            beds = np.einsum("auk,u->ak", onehot, m.beds)
            ok &= (beds * 1000.0 >= m.min_beds * pops - 1e-6).all(axis=1)
        g5 = np.einsum("auk,u->ak", onehot, m.g5.astype(float))
        for g, c in enumerate(leads):
            if c not in m.waived:
                ok &= g5[:, g] >= 1
        cost = (m.w[None, :] * m.minutes[np.arange(m.n)[None, :], np.asarray(leads)[labels]]).sum(axis=1)
        for a in np.flatnonzero(ok)[np.argsort(cost[ok], kind="stable")]:
            if best is not None and cost[a] >= best - 1e-6:
                break
            if all(_connected([u for u in range(m.n) if labels[a, u] == g], m.nbrs) for g in range(k)):
                best = float(cost[a])
                break
    return best is not None, best


def problems(layers, request, plan, costs) -> list[str]:
    """Every rule of the policy (and every requirement of the request) the plan breaks."""
    m = model(layers, request, costs)
    if isinstance(m, str):
        return [f"the request cannot be met ({m}) yet a plan came back"]
    out = []
    unit_ids = layers.units["id"].astype(str).tolist()
    a = plan.assignment.reindex(unit_ids)
    if a.isna().any():
        out.append(f"units without a grid: {list(a.index[a.isna()])[:5]}")
        return out
    grids = list(plan.leads.index)
    if len(grids) != request.k:
        out.append(f"{len(grids)} grids for k={request.k}")
    lead_ids = [str(plan.leads[g]) for g in grids]
    if len(set(lead_ids)) != len(lead_ids):
        out.append("a lead leads two grids")
    labels = np.array([grids.index(g) for g in a], dtype=int)
    for g, lid in enumerate(lead_ids):
        if lid not in m.cand:
            out.append(f"{lid} may not lead")
            continue
        c = m.cand.index(lid)
        if labels[m.cand_unit[c]] != g:
            out.append(f"lead {lid} lies outside its grid")
        members = [u for u in range(m.n) if labels[u] == g]
        if not _connected(members, m.nbrs):
            out.append(f"grid {grids[g]} is not contiguous")
        if c not in m.waived and m.g5[members].sum() < 1:
            out.append(f"grid {grids[g]} lacks a G5 member")
    for c in m.required:
        if m.cand[c] not in lead_ids:
            out.append(f"required lead {m.cand[c]} does not lead")
    for u, c in m.locks.items():
        if lead_ids[labels[u]] != m.cand[c]:
            out.append(f"locked unit {unit_ids[u]} moved")
    pops = np.bincount(labels, weights=m.w, minlength=len(grids))
    if m.balance is not None:
        mean = m.w.sum() / len(grids)
        if (np.abs(pops - mean) > m.balance * mean + 1e-6).any():
            out.append("balance not met")
    if m.min_beds is not None:
        beds = np.bincount(labels, weights=m.beds, minlength=len(grids))
        if (beds * 1000.0 < m.min_beds * pops - 1e-6).any():
            out.append("beds not met")
    return out


def objective(layers, plan, costs) -> float:
    """Population-weighted total minutes of a plan."""
    unit_ids = layers.units["id"].astype(str)
    w = layers.units["population"].fillna(0).to_numpy(float)
    lead = plan.assignment.reindex(unit_ids).map(plan.leads).astype(str).to_numpy()
    cols = costs.col_index(lead)
    return float((w * costs.minutes[np.arange(len(w)), cols]).sum())
