"""What a plan does for residents, and whether it keeps the rules.

Metrics (issue 4 item 7, issue 5 item 4): per unit, the minutes to the grid's lead hospital, to the
nearest secondary-or-higher hospital and to the nearest primary-care facility; per grid and city-wide,
population, area, beds, travel-time statistics weighted by population, 15/30-minute shares (the
planner's own yardsticks: the policy documents set no travel-time standard), Polsby-Popper
compactness and contiguity.

Checks: rules G1-G5 of ``policy.md`` each give a :class:`CheckResult` that names the grid or lead and
says why; G2, G4 and G5 accept a recorded "in principle" exception and then report "passed by
exception: <reason>", never a silent pass. Contiguity and G8 are reported as well (warning level).

The travel costs are any object with ``minutes`` (float array, units x facilities), ``unit_ids`` and
``facility_ids`` (as :class:`grid_planning.costs.CostMatrix`); ``None`` leaves travel figures empty.
This module never imports the planner at module level (the planner imports it).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from grid_planning import graph, rules, schema
from grid_planning.i18n import DEFAULT_LANGUAGE, t
from grid_planning.plan import apply_facility_edits

#: Travel-time yardsticks (minutes) for coverage shares; the policy sets none, these are ours.
THRESHOLDS: tuple[int, ...] = (15, 30)
#: Facility types that are not hospitals for the "nearest secondary-or-higher hospital" figure.
NON_HOSPITAL_TYPES = frozenset({"public_health"}) | schema.PRIMARY_CARE_TYPES

STATUSES: tuple[str, ...] = ("pass", "fail", "exception", "warning")


# ---- shared helpers ----------------------------------------------------------------------------
def effective_facilities(layers: Any, plan: Any) -> gpd.GeoDataFrame:
    """The facilities with the plan's what-if edits applied (upgrades, additions, closures).

    Uses :func:`grid_planning.plan.apply_facility_edits` when the plan has edits; the source layers
    are never modified.
    """
    facilities = layers.facilities
    if plan is None or not getattr(plan, "edits", ()):
        return facilities
    return apply_facility_edits(facilities, plan.edits)


def _str_ids(values: Any) -> np.ndarray:
    idx = values if isinstance(values, pd.Index) else pd.Index(np.asarray(values, dtype=object))
    return idx.astype(str).to_numpy(dtype=object)


def fac_table(facilities: pd.DataFrame) -> pd.DataFrame:
    """Facilities as a plain table indexed by str id (first of duplicate ids), without geometry.

    Dropping the geometry and ``attrs`` (the loader keeps row labels there) keeps scalar lookups
    cheap: pandas deep-copies ``attrs`` on every derived frame.
    """
    cols = [
        c for c in facilities.columns if c != getattr(facilities, "_geometry_column_name", None)
    ]
    frame = pd.DataFrame({c: facilities[c].to_numpy() for c in cols})
    frame["id"] = _str_ids(facilities["id"])
    frame = frame.drop_duplicates("id").set_index("id")
    frame.attrs = {}
    return frame


def cost_lookup(costs: Any, unit_ids: Any, facility_ids: Any) -> np.ndarray:
    """Minutes for ``unit_ids`` x ``facility_ids`` taken from a cost matrix.

    Facilities (or units) the matrix does not know, e.g. a planned hospital added after the costs
    were computed, get NaN rather than a wrong number.
    """
    unit_ids = _str_ids(unit_ids)
    facility_ids = _str_ids(facility_ids)
    out = np.full((len(unit_ids), len(facility_ids)), np.nan, dtype=float)
    if costs is None or len(unit_ids) == 0 or len(facility_ids) == 0:
        return out
    minutes = np.asarray(costs.minutes, dtype=float)
    upos = pd.Index(_str_ids(costs.unit_ids)).get_indexer(unit_ids)
    fpos = pd.Index(_str_ids(costs.facility_ids)).get_indexer(facility_ids)
    ok_u = upos >= 0
    ok_f = fpos >= 0
    if ok_u.any() and ok_f.any():
        sub = minutes[np.ix_(upos[ok_u], fpos[ok_f])]
        out[np.ix_(np.flatnonzero(ok_u), np.flatnonzero(ok_f))] = sub
    return out


def weighted_quantile(values: Any, weights: Any, q: float) -> float:
    """Population-weighted quantile: the smallest value ``v`` such that the weight at or below ``v``
    is at least ``q`` of the total (non-finite values and zero weights ignored).

    Examples
    --------
    >>> weighted_quantile([1, 2, 3, 4], [10, 10, 10, 10], 0.9)
    4.0
    >>> weighted_quantile([1, 2, 3, 4], [70, 10, 10, 10], 0.5)
    1.0
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = np.isfinite(v) & (w > 0)
    if not keep.any():
        return float("nan")
    v, w = v[keep], w[keep]
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cum = np.cumsum(w) / w.sum()
    idx = int(np.searchsorted(cum, q - 1e-12, side="left"))
    return float(v[min(idx, len(v) - 1)])


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    keep = np.isfinite(values) & (weights > 0)
    if not keep.any():
        return float("nan")
    return float(np.average(values[keep], weights=weights[keep]))


def _share_within(values: np.ndarray, weights: np.ndarray, limit: float) -> float:
    total = float(weights.sum())
    if total <= 0:
        return float("nan")
    # Unreachable (NaN / inf) units count as outside every threshold.
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(values) & (values <= limit)
    return float(weights[inside].sum() / total)


def _finite_max(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else float("nan")


def facility_units(layers: Any, facilities: gpd.GeoDataFrame | None = None) -> pd.Series:
    """Unit id containing each facility (nearest unit for a facility just outside every unit).

    :func:`grid_planning.graph.facility_units` (cached) as an object Series, so the checks locate
    facilities exactly as the planner does.
    """
    return graph.facility_units(layers, facilities).astype(object)


# ---- unit, grid and city metrics ----------------------------------------------------------------
def _grid_values(assignment: pd.Series) -> np.ndarray:
    """The assignment's grid ids as str, ``None`` where missing, as an object array (a pandas
    string column iterated value by value costs ~5 µs per unit, a city has thousands)."""
    values = assignment.to_numpy(dtype=object, na_value=None)
    missing = pd.isna(values)
    out = np.full(len(values), None, dtype=object)
    if (~missing).any():
        out[~missing] = pd.Index(values[~missing], dtype=object).astype(str).to_numpy(dtype=object)
    return out


def _assignment_for(layers: Any, plan: Any) -> pd.Series:
    """Grid id (str, ``None`` when unassigned) per unit of ``layers``, in unit order; a unit listed
    twice in the plan counts once (its first grid)."""
    ids = _str_ids(layers.units["id"])
    assignment = pd.Series(_grid_values(plan.assignment),
                           index=pd.Index(_str_ids(plan.assignment.index), dtype=object))
    assignment = assignment[~assignment.index.duplicated(keep="first")]
    out = assignment.reindex(pd.Index(ids, dtype=object)).to_numpy(dtype=object)
    out[pd.isna(out)] = None
    return pd.Series(out, index=pd.Index(ids, dtype=object), dtype=object)


def unit_grids(layers: Any, plan: Any) -> np.ndarray:
    """The grid id of every unit of ``layers``, in unit order (``""`` when unassigned; a unit the
    plan lists twice counts once, with its first grid): how maps and tables read an assignment."""
    grids = _assignment_for(layers, plan).to_numpy(dtype=object)
    return np.where(pd.isna(grids), "", grids).astype(object)


def _hospital_masks(facilities: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    level = facilities["level"].astype(str)
    type_ = facilities["type"].astype(str)
    secondary = level.isin(schema.SECONDARY_OR_HIGHER) & ~type_.isin(NON_HOSPITAL_TYPES)
    primary = type_.isin(schema.PRIMARY_CARE_TYPES) | level.eq("primary")
    return secondary.to_numpy(), primary.to_numpy()


def unit_metrics(layers: Any, plan: Any, costs: Any = None) -> pd.DataFrame:
    """Travel times of every population unit under a plan.

    Parameters
    ----------
    layers : CityLayers
        The city.
    plan : Plan
        The plan (its facility edits are applied: an upgraded hospital counts at its new level).
    costs : CostMatrix or None
        Minutes from units to facilities; ``None`` leaves the travel columns NaN.

    Returns
    -------
    pandas.DataFrame
        Index unit id; columns ``name``, ``grid_id``, ``population``, ``pop_65plus`` (when the units
        have it), ``t_lead`` (minutes to the lead of the unit's grid), ``t_secondary`` (nearest
        secondary-or-higher hospital) and ``t_primary`` (nearest primary-care facility).
    """
    units = layers.units
    ids = _str_ids(units["id"])
    facilities = effective_facilities(layers, plan)
    out = pd.DataFrame(index=pd.Index(ids, name="unit_id"))
    out["name"] = units["name"].astype(str).to_numpy() if "name" in units else ids
    out["grid_id"] = _assignment_for(layers, plan).to_numpy()
    out["population"] = (
        pd.to_numeric(units["population"], errors="coerce").fillna(0).to_numpy(float)
    )
    if "pop_65plus" in units:
        out["pop_65plus"] = pd.to_numeric(units["pop_65plus"], errors="coerce").to_numpy(float)

    fids = _str_ids(facilities["id"])
    minutes = cost_lookup(costs, ids, fids)
    leads = {str(g): str(f) for g, f in plan.leads.items()}
    fpos = {f: i for i, f in enumerate(fids)}
    lead_col = np.array([fpos.get(leads.get(g, ""), -1) if g else -1 for g in out["grid_id"]])
    t_lead = np.full(len(ids), np.nan)
    has = lead_col >= 0
    t_lead[has] = minutes[np.flatnonzero(has), lead_col[has]]
    out["t_lead"] = t_lead
    secondary, primary = _hospital_masks(facilities)
    out["t_secondary"] = _nanmin_rows(minutes[:, secondary])
    out["t_primary"] = _nanmin_rows(minutes[:, primary])
    return out


def _nanmin_rows(block: np.ndarray) -> np.ndarray:
    if block.shape[1] == 0:
        return np.full(block.shape[0], np.nan)
    filled = np.where(np.isnan(block), np.inf, block)
    res = filled.min(axis=1)
    return np.where(np.isinf(res), np.nan, res)


def _travel_stats(values: np.ndarray, weights: np.ndarray, prefix: str = "") -> dict[str, float]:
    return {
        f"{prefix}mean_travel_min": _weighted_mean(values, weights),
        f"{prefix}p90_travel_min": weighted_quantile(values, weights, 0.9),
        f"{prefix}max_travel_min": _finite_max(values),
    }


def grid_metrics(
    layers: Any,
    plan: Any,
    costs: Any = None,
    *,
    lang: str = DEFAULT_LANGUAGE,
    unit_df: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row of figures per grid.

    Parameters
    ----------
    layers, plan, costs
        As for :func:`unit_metrics`.
    lang : {"zh", "en"}
        Language of the grid names ("<lead name>网格").
    unit_df : DataFrame, optional
        A precomputed :func:`unit_metrics` result (saves recomputing it).

    Returns
    -------
    pandas.DataFrame
        Index grid id (in plan order); columns ``grid_id``, ``name``, ``lead_id``, ``lead_name``,
        ``lead_level_source``, ``population``, ``area_km2``, ``beds`` (facilities of the grid,
        collaborators excluded), ``beds_per_1000``, ``beds_illustrative_share`` (share of those
        beds that are generated, not data: a view must say so), ``mean_travel_min``, ``p90_travel_min``,
        ``max_travel_min`` (to the lead, population-weighted), ``share_15_lead``, ``share_30_lead``,
        ``share_15_secondary``, ``share_30_secondary`` (population shares), ``polsby_popper``,
        ``n_parts``, ``contiguous``, ``n_units``, ``n_facilities``, ``n_lead``, ``n_member``,
        ``n_primary``, ``n_cross_grid``, ``n_collaborator`` (collaborators supporting the grid) and
        ``balance_dev`` (population / mean grid population - 1).
    """
    ud = unit_metrics(layers, plan, costs) if unit_df is None else unit_df
    facilities = effective_facilities(layers, plan)
    fac = fac_table(facilities)
    fac_beds = pd.to_numeric(fac["beds"], errors="coerce") if "beds" in fac else None
    fac_generated = schema.generated_capacity_mask(fac)
    roles = _roles(plan)
    index = layers.index
    labels = np.asarray([g if g is not None else "" for g in ud["grid_id"]], dtype=object)
    contiguity = index.contiguity(labels)

    # Perimeter of a dissolved grid = its units' perimeters minus both sides of every edge shared
    # inside the grid; exact for a tiling and avoids a costly dissolve on every edit.
    pairs, shared_km = index.shared_edges
    same = labels[pairs[:, 0]] == labels[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
    inner = pd.Series(shared_km[same]).groupby(labels[pairs[same, 0]]).sum()
    outer = pd.Series(index.perimeter_km).groupby(labels).sum()
    perim = outer - 2 * inner.reindex(outer.index, fill_value=0.0)
    area = pd.Series(index.area_km2).groupby(labels).sum()
    collab_supports = [
        _split(s) for s in roles.loc[roles["role"] == "collaborator", "supports"].tolist()
    ]

    pop = ud["population"].to_numpy(float)
    grid_pops = {g: float(pop[labels == g].sum()) for g in plan.leads.index.map(str)}
    mean_pop = np.mean(list(grid_pops.values())) if grid_pops else float("nan")

    rows = []
    for grid, lead in plan.leads.items():
        grid, lead = str(grid), str(lead)
        mask = labels == grid
        w = pop[mask]
        t_lead = ud["t_lead"].to_numpy(float)[mask]
        t_sec = ud["t_secondary"].to_numpy(float)[mask]
        lead_row = fac.loc[lead] if lead in fac.index else None
        lead_name = str(lead_row["name"]) if lead_row is not None else lead
        in_grid = roles[(roles["grid_id"] == grid) & (roles["role"] != "collaborator")]
        in_grid_ids = [f for f in in_grid.index if f in fac.index]
        grid_beds = fac_beds.loc[in_grid_ids] if fac_beds is not None else pd.Series(dtype=float)
        beds = float(grid_beds.sum(min_count=0)) if in_grid_ids else 0.0
        generated_beds = float(grid_beds[fac_generated.loc[grid_beds.index]].sum())
        population = grid_pops[grid]
        a = float(area.get(grid, 0.0))
        p = float(perim.get(grid, 0.0))
        counts = in_grid["role"].value_counts()
        # Counted in Python: a text column's .map(...).sum() is "" under pandas' string dtype
        # when a city has no collaborator at all (both Liaoning pilot cities).
        n_collab = sum(1 for sup in collab_supports if grid in sup)
        n_parts = int(contiguity["parts"].get(grid, 0))
        row = {
            "grid_id": grid,
            "name": t("plan.grid.name", lang, lead=lead_name),
            "lead_id": lead,
            "lead_name": lead_name,
            "lead_level_source": str(lead_row.get("level_source", "data"))
            if lead_row is not None
            else "",
            "population": population,
            "area_km2": a,
            "beds": float(beds),
            "beds_per_1000": float(beds) / population * 1000 if population > 0 else float("nan"),
            "beds_illustrative_share": generated_beds / beds if beds > 0 else 0.0,
            **_travel_stats(t_lead, w),
            "share_15_lead": _share_within(t_lead, w, 15),
            "share_30_lead": _share_within(t_lead, w, 30),
            "share_15_secondary": _share_within(t_sec, w, 15),
            "share_30_secondary": _share_within(t_sec, w, 30),
            "polsby_popper": 4 * math.pi * a / p**2 if p > 0 else float("nan"),
            "n_parts": n_parts,
            "contiguous": n_parts == 1,
            "linked_islands": int(contiguity["linked_islands"].get(grid, 0)),
            "n_units": int(mask.sum()),
            "n_facilities": int(len(in_grid)),
            **{f"n_{r}": int(counts.get(r, 0)) for r in schema.ROLES if r != "collaborator"},
            "n_collaborator": n_collab,
            "balance_dev": population / mean_pop - 1 if mean_pop and mean_pop > 0 else float("nan"),
        }
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.set_index(pd.Index(frame["grid_id"], name=None))


def city_metrics(
    layers: Any,
    plan: Any,
    costs: Any = None,
    *,
    unit_df: pd.DataFrame | None = None,
    grid_df: pd.DataFrame | None = None,
) -> dict[str, float]:
    """The figures of :func:`grid_metrics` for the whole city, plus summaries across grids.

    Returns
    -------
    dict
        ``k``, ``population`` (city), ``assigned_population``, ``area_km2``, ``beds``,
        ``beds_per_1000``, ``beds_illustrative_share``, ``mean/p90/max_travel_min`` (to the lead), ``share_15_lead``,
        ``share_30_lead``, ``share_15_secondary``, ``share_30_secondary``, ``share_15_primary``,
        ``share_30_primary``, ``mean_secondary_min``, ``mean_primary_min``, ``n_contiguous``,
        ``max_balance_dev`` (largest absolute deviation), ``min_polsby_popper``,
        ``mean_polsby_popper``, ``n_units``, ``n_assumed_leads``.
    """
    ud = unit_metrics(layers, plan, costs) if unit_df is None else unit_df
    gd = grid_metrics(layers, plan, costs, unit_df=ud) if grid_df is None else grid_df
    w = ud["population"].to_numpy(float)
    assigned = ud["grid_id"].notna().to_numpy()
    t_lead = ud["t_lead"].to_numpy(float)
    t_sec = ud["t_secondary"].to_numpy(float)
    t_pri = ud["t_primary"].to_numpy(float)
    population = float(w.sum())
    beds = float(gd["beds"].sum()) if len(gd) else 0.0
    generated_beds = (
        float((gd["beds"] * gd["beds_illustrative_share"]).sum())
        if len(gd) and "beds_illustrative_share" in gd
        else 0.0
    )
    out: dict[str, float] = {
        "k": int(len(plan.leads)),
        "population": population,
        "assigned_population": float(w[assigned].sum()),
        "area_km2": float(layers.index.area_km2.sum()),
        "beds": beds,
        "beds_per_1000": beds / population * 1000 if population > 0 else float("nan"),
        "beds_illustrative_share": generated_beds / beds if beds > 0 else 0.0,
        **_travel_stats(t_lead, w),
        "share_15_lead": _share_within(t_lead, w, 15),
        "share_30_lead": _share_within(t_lead, w, 30),
        "share_15_secondary": _share_within(t_sec, w, 15),
        "share_30_secondary": _share_within(t_sec, w, 30),
        "share_15_primary": _share_within(t_pri, w, 15),
        "share_30_primary": _share_within(t_pri, w, 30),
        "mean_secondary_min": _weighted_mean(t_sec, w),
        "mean_primary_min": _weighted_mean(t_pri, w),
        "n_contiguous": int(gd["contiguous"].sum()) if len(gd) else 0,
        "max_balance_dev": float(gd["balance_dev"].abs().max()) if len(gd) else float("nan"),
        "min_polsby_popper": float(gd["polsby_popper"].min()) if len(gd) else float("nan"),
        "mean_polsby_popper": float(gd["polsby_popper"].mean()) if len(gd) else float("nan"),
        "n_units": int(len(ud)),
        "n_assumed_leads": int((gd["lead_level_source"] == "assumed").sum()) if len(gd) else 0,
    }
    return out


def underserved_units(
    unit_df: pd.DataFrame, threshold_min: float = 30, column: str = "t_lead"
) -> pd.DataFrame:
    """Units whose travel time exceeds ``threshold_min``, most people affected first.

    Units the cost matrix cannot reach (NaN) are included: nobody there is served within the
    threshold. The result keeps the unit columns and adds ``minutes`` (the figure compared) and
    ``excess_min`` (minutes over the threshold, NaN when unreachable).
    """
    values = pd.to_numeric(unit_df[column], errors="coerce")
    bad = values.isna() | (values > threshold_min)
    out = unit_df.loc[bad & (unit_df["population"] > 0)].copy()
    out["minutes"] = values[out.index]
    out["excess_min"] = out["minutes"] - threshold_min
    return out.sort_values(["population", "minutes"], ascending=[False, False], kind="stable")


def travel_distribution(
    unit_df: pd.DataFrame, column: str = "t_lead", step: float = 5, cap: float = 60
) -> pd.DataFrame:
    """Population-weighted histogram of travel time per grid (long format, for plotly bars).

    Bins are ``[0, step), [step, 2 step) ... [cap, inf)``; unreachable units fall in the last bin.

    Returns
    -------
    pandas.DataFrame
        Columns ``grid_id``, ``bin_start``, ``bin_end`` (inf for the open bin), ``bin`` (label such
        as ``"10-15"`` or ``"60+"``), ``population`` and ``share`` (of the grid's population).
    """
    edges = np.arange(0, cap + step / 2, step)
    labels = [f"{int(a)}-{int(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True)] + [
        f"{int(cap)}+"
    ]
    starts = list(edges[:-1]) + [cap]
    ends = list(edges[1:]) + [math.inf]
    values = pd.to_numeric(unit_df[column], errors="coerce").fillna(math.inf).to_numpy(float)
    idx = np.minimum(np.searchsorted(edges, values, side="right") - 1, len(labels) - 1)
    frame = pd.DataFrame(
        {
            "grid_id": unit_df["grid_id"].fillna("").to_numpy(),
            "b": idx,
            "population": unit_df["population"].to_numpy(float),
        }
    )
    rows = []
    for grid, sub in frame.groupby("grid_id", sort=True):
        total = sub["population"].sum()
        hist = sub.groupby("b")["population"].sum()
        for b, label in enumerate(labels):
            popb = float(hist.get(b, 0.0))
            rows.append(
                {
                    "grid_id": grid,
                    "bin_start": float(starts[b]),
                    "bin_end": float(ends[b]),
                    "bin": label,
                    "population": popb,
                    "share": popb / total if total > 0 else float("nan"),
                }
            )
    return pd.DataFrame(
        rows, columns=["grid_id", "bin_start", "bin_end", "bin", "population", "share"]
    )


# ---- policy checks --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckResult:
    """The outcome of one rule for the city or one grid.

    Attributes
    ----------
    rule : str
        ``"G1"`` ... ``"G5"``, ``"G8"`` or ``"contiguity"``.
    status : {"pass", "fail", "exception", "warning"}
        ``exception`` = passed by a recorded "in principle" exception; ``warning`` does not fail
        the plan but must be seen (assumed lead level, a grid in several pieces ...).
    code : str
        Catalogue key suffix: the message is ``plan.check.<code>``.
    params : dict
        Values for the message (grid, lead, names, counts, reason ...).
    grid_id : str or None
        The grid concerned, ``None`` for city-wide results.
    """

    rule: str
    status: str
    code: str
    params: dict = field(default_factory=dict)
    grid_id: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The result in words; an exception shows its reason."""
        params = self.params
        if "ineligible" in params:  # what keeps a lead from G4, in the reader's language
            params = params | {"why": _why_text(params, lang)}
        return t(f"plan.check.{self.code}", lang, **params)

    def status_text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """``pass`` / ``passed by exception`` ... in words."""
        return t(f"plan.status.{self.status}", lang)

    def as_row(self, lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
        """A table row: rule, grid, status, message."""
        return {
            "rule": self.rule,
            "grid_id": self.grid_id or "",
            "status": self.status,
            "status_text": self.status_text(lang),
            "message": self.message(lang),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored in the plan GeoPackage)."""
        return {
            "rule": self.rule,
            "status": self.status,
            "code": self.code,
            "params": self.params,
            "grid_id": self.grid_id,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> CheckResult:
        """Inverse of :meth:`to_dict`."""
        return CheckResult(
            data["rule"],
            data["status"],
            data["code"],
            dict(data.get("params") or {}),
            data.get("grid_id"),
        )


def all_passed(results: list[CheckResult]) -> bool:
    """True when no check failed (every rule passed, or passed by a recorded exception).

    Warnings (an assumed lead level) are shown but do not fail the plan. A grid in several pieces
    or with no units fails: a hand edit may make one (and is allowed), but a plan that goes for
    approval must follow geography, so ``check`` exits 1 until it is mended.
    """
    return not any(r.status == "fail" for r in results)


def checks_table(results: list[CheckResult], lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The results as a table (rule, grid_id, status, status_text, message)."""
    return pd.DataFrame(
        [r.as_row(lang) for r in results],
        columns=["rule", "grid_id", "status", "status_text", "message"],
    )


def _roles(plan: Any) -> pd.DataFrame:
    roles = plan.roles.copy()
    roles.index = roles.index.map(str)
    for col in ("grid_id", "role", "home_grid", "supports"):
        if col not in roles:
            roles[col] = ""
        roles[col] = roles[col].map(
            lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        )
    roles.attrs = {}
    return roles


def _split(supports: object) -> list[str]:
    return [s.strip() for s in str(supports or "").split(",") if s.strip()]


def _fmt_ids(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" (+{len(ids) - limit})" if len(ids) > limit else "")


def _population(units: pd.DataFrame) -> pd.Series:
    return pd.Series(
        pd.to_numeric(units["population"], errors="coerce").fillna(0).to_numpy(float),
        index=_str_ids(units["id"]),
    )


def check_policy(layers: Any, plan: Any, costs: Any = None) -> list[CheckResult]:
    """Check a plan against rules G1-G5 (plus contiguity and G8).

    Parameters
    ----------
    layers : CityLayers
        The city (source layers; the plan's facility edits are applied here).
    plan : Plan
        The plan to check.
    costs : CostMatrix, optional
        Not needed by the rules; accepted so callers can pass what they have.

    Returns
    -------
    list of CheckResult
        City-wide results first (G1, G2, G3 shared leads, G8), then per grid (G3, G4, G5,
        contiguity), each naming the grid or lead and why.
    """
    del costs  # the rules are about the layout, not travel times
    facilities = effective_facilities(layers, plan)
    fac = fac_table(facilities)
    roles = _roles(plan)
    leads = pd.Series(
        {str(g): ("" if pd.isna(f) else str(f)) for g, f in plan.leads.items()}, dtype=object
    )
    grids = list(leads.index)
    results: list[CheckResult] = []
    results += _check_g1(layers, plan, grids)
    results += _check_g2(plan, grids)
    results += _check_g3_city(fac, leads)
    results += _check_g8(fac, roles, leads, plan)

    assignment = _assignment_for(layers, plan)
    unit_grid = assignment.to_dict()
    location = layers.index.locate(facilities)
    unit_ids = layers.index.unit_ids
    fu = pd.Series(unit_ids.to_numpy()[location.unit], index=location.ids)
    fu = fu[~fu.index.duplicated()]
    first = ~location.ids.duplicated()
    outside = pd.Series(location.outside[first], index=location.ids[first])
    eligible = pd.Series(
        rules.g4_eligible(facilities).to_numpy()[first] & ~location.outside[first],
        index=location.ids[first],
    )
    designatable = pd.Series(
        rules.g4_designatable(facilities, location.outside).to_numpy()[first],
        index=location.ids[first],
    )
    labels = np.asarray([g if g is not None else "" for g in assignment], dtype=object)
    contiguity = layers.index.contiguity(labels)
    for grid in grids:
        lead = leads[grid]
        name = _name(fac, lead)
        results += _check_g3_grid(grid, lead, name, fac, roles)
        if lead and lead in fac.index:
            results += _check_g4(
                grid,
                lead,
                name,
                fac.loc[lead],
                plan,
                unit_grid,
                fu,
                bool(outside.get(lead, False)),
                bool(eligible.get(lead, False)),
                bool(designatable.get(lead, False)),
            )
            results.append(_check_g5(grid, lead, name, fac, roles, plan, outside))
        results.append(_check_contiguity(grid, name, contiguity))
    return results


def _check_contiguity(grid: str, name: str, contiguity: pd.DataFrame) -> CheckResult:
    """One grid in one piece on the adjacency graph (:meth:`CityIndex.contiguity`)."""
    n_parts = int(contiguity["parts"].get(grid, 0))
    islands = int(contiguity["linked_islands"].get(grid, 0))
    p = {"grid": grid, "lead_name": name}
    if n_parts == 1 and islands:
        return CheckResult(
            "contiguity", "pass", "contiguity_islands", p | {"islands": islands}, grid
        )
    if n_parts == 1:
        return CheckResult("contiguity", "pass", "contiguity_ok", p, grid)
    if n_parts == 0:
        return CheckResult("contiguity", "fail", "contiguity_empty", p, grid)
    return CheckResult("contiguity", "fail", "contiguity_broken", p | {"parts": n_parts}, grid)


def _name(fac: pd.DataFrame, fid: str) -> str:
    return str(fac.at[fid, "name"]) if fid in fac.index and "name" in fac.columns else fid


def _check_g1(layers: Any, plan: Any, grids: list[str]) -> list[CheckResult]:
    pop = _population(layers.units)
    grid_of = _grid_values(plan.assignment)
    raw = pd.Series(np.where(pd.isna(grid_of), "", grid_of),
                    index=pd.Index(_str_ids(plan.assignment.index), dtype=object), dtype=object)
    out: list[CheckResult] = []
    dup = sorted(set(raw.index[raw.index.duplicated()]))
    if dup:
        out.append(
            CheckResult("G1", "fail", "g1_duplicate", {"count": len(dup), "ids": _fmt_ids(dup)})
        )
    unknown_units = sorted(set(raw.index) - set(pop.index))
    if unknown_units:
        out.append(
            CheckResult(
                "G1",
                "fail",
                "g1_unknown_unit",
                {"count": len(unknown_units), "ids": _fmt_ids(unknown_units)},
            )
        )
    bad_grid = raw[(raw != "") & ~raw.isin(grids)]
    if len(bad_grid):
        out.append(
            CheckResult(
                "G1",
                "fail",
                "g1_unknown_grid",
                {"count": len(bad_grid), "grids": _fmt_ids(sorted(set(bad_grid)))},
            )
        )
    valid = raw[raw.isin(grids)]
    valid = valid[~valid.index.duplicated(keep="first")]
    unit_ids = pd.Index(pop.index, dtype=object)
    missing = unit_ids[~unit_ids.isin(valid.index)].tolist()
    total = float(pop.sum())
    assigned = float(pop.reindex(valid.index).fillna(0).sum())
    if missing:
        out.append(
            CheckResult(
                "G1",
                "fail",
                "g1_unassigned",
                {
                    "count": len(missing),
                    "ids": _fmt_ids(missing),
                    "shortfall": round(total - assigned),
                    "population": round(total),
                },
            )
        )
    if not out:
        out.append(
            CheckResult("G1", "pass", "g1_ok", {"n_units": len(pop), "population": round(total)})
        )
    return out


def _check_g2(plan: Any, grids: list[str]) -> list[CheckResult]:
    k = len(grids)
    if k >= 2:
        return [CheckResult("G2", "pass", "g2_ok", {"k": k})]
    exc = plan.exception_for("G2", "city")
    if exc is not None:
        return [CheckResult("G2", "exception", "g2_exception", {"k": k, "reason": exc.reason})]
    return [CheckResult("G2", "fail", "g2_fail", {"k": k})]


def _check_g3_city(fac: pd.DataFrame, leads: pd.Series) -> list[CheckResult]:
    out = []
    named = leads[leads != ""]
    for lead, grids in named.groupby(named).groups.items():
        if len(grids) > 1:
            out.append(
                CheckResult(
                    "G3",
                    "fail",
                    "g3_shared_lead",
                    {
                        "lead": lead,
                        "lead_name": _name(fac, lead),
                        "grids": ", ".join(map(str, grids)),
                    },
                )
            )
    return out


def _check_g3_grid(
    grid: str, lead: str, name: str, fac: pd.DataFrame, roles: pd.DataFrame
) -> list[CheckResult]:
    p = {"grid": grid, "lead": lead, "lead_name": name}
    if not lead:
        return [CheckResult("G3", "fail", "g3_no_lead", p, grid)]
    if lead not in fac.index:
        return [CheckResult("G3", "fail", "g3_lead_unknown", p, grid)]
    others = [
        f for f in roles.index[(roles["role"] == "lead") & (roles["grid_id"] == grid)] if f != lead
    ]
    if others:
        return [CheckResult("G3", "fail", "g3_two_leads", p | {"others": _fmt_ids(others)}, grid)]
    if lead in roles.index and (
        roles.at[lead, "role"] != "lead" or roles.at[lead, "grid_id"] != grid
    ):
        return [
            CheckResult(
                "G3",
                "fail",
                "g3_role_mismatch",
                p | {"role": roles.at[lead, "role"], "role_grid": roles.at[lead, "grid_id"]},
                grid,
            )
        ]
    return [CheckResult("G3", "pass", "g3_ok", p, grid)]


#: Facility column -> catalogue prefix of its value labels (``vocab.<prefix>.<code>``).
_VOCAB_PREFIX = {"level": "level", "type": "type", "owner_level": "owner"}


def _why_text(params: dict, lang: str) -> str:
    """``level=secondary, type=specialty`` in English, the vocabulary labels in Chinese."""
    parts = []
    for col in params["ineligible"]:
        if col in ("location", "parent_id"):  # not a value: a fact about the hospital
            parts.append(t(f"plan.check.why_{col}", lang))
            continue
        value = str(params.get(col, ""))
        label = t(f"vocab.{_VOCAB_PREFIX.get(col, col)}.{value}", lang) if lang != "en" else value
        parts.append(
            t("plan.check.why_item", lang, field=t(f"plan.check.field.{col}", lang), value=label)
        )
    return t("plan.check.why_sep", lang).join(parts)


def _check_g4(
    grid: str,
    lead: str,
    name: str,
    row: pd.Series,
    plan: Any,
    unit_grid: dict,
    fu: pd.Series,
    outside: bool,
    eligible: bool,
    designatable: bool,
) -> list[CheckResult]:
    """G4: the lead lies in its grid, inside the city, and is eligible (:mod:`grid_planning.rules`)
    or designated under a recorded exception — which only a designatable hospital can have."""
    p = {
        "grid": grid,
        "lead": lead,
        "lead_name": name,
        "level": row["level"],
        "type": row["type"],
        "owner_level": row["owner_level"],
    }
    out = []
    unit = fu.get(lead) if lead in fu.index else None
    located = unit_grid.get(unit) if unit is not None else None
    if located != grid:
        out.append(
            CheckResult(
                "G4",
                "fail",
                "g4_outside",
                p | {"unit": unit or "-", "located": located or "-"},
                grid,
            )
        )
    exc = plan.exception_for("G4", lead)
    if eligible and str(row.get("level_source", "data")) == "assumed":
        out.append(CheckResult("G4", "warning", "g4_assumed", p, grid))
    elif eligible:
        out.append(CheckResult("G4", "pass", "g4_ok", p, grid))
    elif exc is not None and designatable:
        code = "g4_exception_outside" if outside else "g4_exception"
        out.append(CheckResult("G4", "exception", code, p | {"reason": exc.reason}, grid))
    else:
        fields = rules.g4_ineligible_fields(row, outside=outside)
        code = "g4_not_designatable" if exc is not None else "g4_ineligible"
        out.append(CheckResult("G4", "fail", code, p | {"ineligible": fields}, grid))
    return out


def _check_g5(
    grid: str,
    lead: str,
    name: str,
    fac: pd.DataFrame,
    roles: pd.DataFrame,
    plan: Any,
    outside: pd.Series,
) -> CheckResult:
    """G5: a member of the grid (not its lead, not a collaborator, inside the city) qualifies
    under :func:`grid_planning.rules.g5_qualifies`."""
    p = {"grid": grid, "lead": lead, "lead_name": name}
    inside = roles[(roles["grid_id"] == grid) & roles["role"].isin(["member", "cross_grid"])]
    ids = [f for f in inside.index if f in fac.index and f != lead and not outside.get(f, False)]
    cand = fac.loc[ids].reset_index(names="id") if ids else fac.iloc[0:0].reset_index(names="id")
    hits = cand[rules.g5_qualifies(cand).to_numpy()] if len(cand) else cand
    if len(hits):
        return CheckResult(
            "G5",
            "pass",
            "g5_ok",
            p | {"count": len(hits), "example": str(hits["name"].iloc[0])},
            grid,
        )
    exc = plan.exception_for("G5", lead)
    if exc is not None:
        return CheckResult("G5", "exception", "g5_exception", p | {"reason": exc.reason}, grid)
    return CheckResult("G5", "fail", "g5_fail", p, grid)


def _check_g8(
    fac: pd.DataFrame, roles: pd.DataFrame, leads: pd.Series, plan: Any
) -> list[CheckResult]:
    """G8: provincial and national hospitals are collaborators; one that leads a grid does so
    only by a G4 exception, and says so here too."""
    frame = fac.reset_index(names="id")
    provincial = frame.loc[rules.collaborator_owner(frame).to_numpy(), "id"].tolist()
    lead_grid = {str(f): str(g) for g, f in leads.items() if f}
    out = []
    misplaced = []
    for fid in provincial:
        if fid in lead_grid:
            exc = plan.exception_for("G4", fid)
            p = {"grid": lead_grid[fid], "lead": fid, "lead_name": _name(fac, fid)}
            if exc is not None:
                out.append(
                    CheckResult(
                        "G8", "exception", "g8_leads_by_exception", p | {"reason": exc.reason},
                        lead_grid[fid],
                    )
                )
            continue  # without an exception G4 fails for it
        role = roles.at[fid, "role"] if fid in roles.index else ""
        if role != "collaborator":
            misplaced.append(fid)
    if misplaced:
        out.append(
            CheckResult(
                "G8",
                "warning",
                "g8_not_collaborator",
                {
                    "count": len(misplaced),
                    "ids": _fmt_ids(misplaced),
                    "names": _fmt_ids([_name(fac, f) for f in misplaced]),
                },
            )
        )
    collab = roles[roles["role"] == "collaborator"]
    orphan = [f for f in collab.index if not _split(collab.at[f, "supports"])]
    if orphan:
        out.append(
            CheckResult(
                "G8", "warning", "g8_no_support", {"count": len(orphan), "ids": _fmt_ids(orphan)}
            )
        )
    if not out:
        if len(collab):
            out.append(CheckResult("G8", "pass", "g8_ok", {"count": len(collab)}))
        else:
            out.append(CheckResult("G8", "pass", "g8_none", {}))
    return out


def checks_json(results: list[CheckResult]) -> str:
    """Results as JSON (kept in the plan GeoPackage's ``plan_meta``)."""
    return json.dumps([r.to_dict() for r in results], ensure_ascii=False, default=str)


# ---- all of a plan's figures ------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    """Everything the pages, the comparison and the exports show about one plan
    (:func:`plan_figures`)."""

    units: pd.DataFrame  # unit_metrics: t_lead, t_secondary, t_primary per unit
    grids: pd.DataFrame  # grid_metrics: one row per grid
    city: dict  # city_metrics
    checks: list  # check_policy: list of CheckResult
    #: Content key of what they were computed from (city, plan, what-if edits, travel model,
    #: language; see :meth:`grid_planning.workspace.Workspace.figures`); a view drawn from them
    #: is cached under it.
    key: str = ""

    @property
    def n_failed(self) -> int:
        """Number of failed checks."""
        return sum(1 for c in self.checks if c.status == "fail")

    @property
    def n_warnings(self) -> int:
        """Number of warnings (contiguity broken, assumed lead level ...)."""
        return sum(1 for c in self.checks if c.status == "warning")


def plan_figures(layers: Any, plan: Any, costs: Any = None, *, lang: str = DEFAULT_LANGUAGE,
                 key: str = "") -> Figures:
    """The figures of ``plan``: unit, grid and city metrics and the policy checks.

    Parameters
    ----------
    layers : CityLayers
    plan : Plan
    costs : CostMatrix, optional
        Travel minutes over the plan's effective facilities (what-if edits applied); ``None``
        leaves the travel figures empty.
    lang : {"zh", "en"}
    key : str
        :attr:`Figures.key`.
    """
    ud = unit_metrics(layers, plan, costs)
    gd = grid_metrics(layers, plan, costs, lang=lang, unit_df=ud)
    return Figures(units=ud, grids=gd, city=city_metrics(layers, plan, costs, unit_df=ud, grid_df=gd),
                   checks=check_policy(layers, plan), key=key)
