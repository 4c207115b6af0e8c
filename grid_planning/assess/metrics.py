"""What a plan does for residents: travel and coverage figures. Whether it keeps the rules is
:mod:`grid_planning.assess.checks`; :func:`plan_figures` carries both.

Metrics (issue 4 item 7, issue 5 item 4): per unit, the minutes to the grid's lead hospital, to the
nearest secondary-or-higher hospital and to the nearest primary-care facility; per grid and city-wide,
population, area, beds, travel-time statistics weighted by population, 15/30-minute shares (the
planner's own yardsticks: the policy documents set no travel-time standard), Polsby-Popper
compactness and contiguity.

The facilities measured to are :func:`grid_planning.domain.rules.hospital_masks` (secondary-or-higher
hospitals, primary care), as on the travel-time maps.

The travel costs are any object with ``minutes`` (float array, units x facilities), ``unit_ids`` and
``facility_ids`` (as :class:`grid_planning.city.costs.CostMatrix`); ``None`` leaves travel figures empty.
This module never imports the planner at module level (the planner imports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from grid_planning.assess.checks import CheckResult, check_policy
from grid_planning.base.frozen import FrozenList, ReadOnlyTables, frozen_frame, frozen_value
from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.base.numfmt import whole_people
from grid_planning.city.districts import plan_splits, splits_summary
from grid_planning.city.figures import city_figures, per_1000
from grid_planning.city.planview import (
    assignment_for,
    cost_lookup,
    effective_facilities,
    fac_table,
    plan_roles,
    split_ids,
    str_ids,
)
from grid_planning.domain import rules, schema
from grid_planning.domain.request import balance_deviation
from grid_planning.domain.rules import hospital_masks

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan

#: Travel-time yardsticks (minutes) for coverage shares; the policy sets none, these are ours.
THRESHOLDS: tuple[int, ...] = (15, 30)


def weighted_quantile(values: npt.ArrayLike, weights: npt.ArrayLike, q: float) -> float:
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


def unit_metrics(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None) -> pd.DataFrame:
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
    ids = str_ids(units["id"])
    facilities = effective_facilities(layers, plan)
    out = pd.DataFrame(index=pd.Index(ids, name="unit_id"))
    out["name"] = units["name"].astype(str).to_numpy() if "name" in units else ids
    out["grid_id"] = assignment_for(layers, plan).to_numpy()
    out["population"] = (
        pd.to_numeric(units["population"], errors="coerce").fillna(0).to_numpy(float)
    )
    if "pop_65plus" in units:
        out["pop_65plus"] = pd.to_numeric(units["pop_65plus"], errors="coerce").to_numpy(float)

    fids = str_ids(facilities["id"])
    minutes = cost_lookup(costs, ids, fids)
    leads = {str(g): str(f) for g, f in plan.leads.items()}
    fpos = {f: i for i, f in enumerate(fids)}
    lead_col = np.array([fpos.get(leads.get(g, ""), -1) if g else -1 for g in out["grid_id"]])
    t_lead = np.full(len(ids), np.nan)
    has = lead_col >= 0
    t_lead[has] = minutes[np.flatnonzero(has), lead_col[has]]
    out["t_lead"] = t_lead
    secondary, primary = hospital_masks(facilities)
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
    layers: CityLayers,
    plan: Plan,
    costs: CostMatrix | None = None,
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
        ``balance_dev`` (population / mean grid population - 1). ``population`` is exact (modelled
        residents carry decimals); ``population_shown`` is the same in whole people for every view
        and export, added up to the grids' rounded total (:func:`grid_planning.base.numfmt.whole_people`), so the grids of a
        plan that assigns every unit add up to the city's shown total.
    """
    ud = unit_metrics(layers, plan, costs) if unit_df is None else unit_df
    facilities = effective_facilities(layers, plan)
    fac = fac_table(facilities)
    fac_beds = pd.to_numeric(fac["beds"], errors="coerce") if "beds" in fac else None
    fac_generated = rules.is_illustrative(fac)
    roles = plan_roles(plan)
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
    # A grid's area is its territory's: its units plus the unpopulated land they surround, so the
    # grids tile the city and their areas add up to the city's (grid_planning.city.figures).
    area = pd.Series(index.territory_km2).groupby(labels).sum()
    # Compactness stays the units' (their area with their perimeter): one shape, not a mix.
    unit_area = pd.Series(index.area_km2).groupby(labels).sum()
    collab_supports = [
        split_ids(s) for s in roles.loc[roles["role"] == "collaborator", "supports"].tolist()
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
            "polsby_popper": 4 * math.pi * float(unit_area.get(grid, 0.0)) / p**2 if p > 0 else float("nan"),
            "n_parts": n_parts,
            "contiguous": n_parts == 1,
            "linked_islands": int(contiguity["linked_islands"].get(grid, 0)),
            "n_units": int(mask.sum()),
            "n_facilities": int(len(in_grid)),
            # collaborators are counted by whom they support; a facility outside the city is in no grid
            **{f"n_{r}": int(counts.get(r, 0)) for r in schema.ROLES if r not in ("collaborator", "outside")},
            "n_collaborator": n_collab,
            "balance_dev": balance_deviation(population, mean_pop)
            if mean_pop and mean_pop > 0
            else float("nan"),
        }
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame.insert(int(frame.columns.get_loc("population")) + 1, "population_shown",
                 whole_people(frame["population"]))
    return frame.set_index(pd.Index(frame["grid_id"], name=None))


def city_metrics(
    layers: CityLayers,
    plan: Plan,
    costs: CostMatrix | None = None,
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
        ``mean_polsby_popper``, ``n_units``, ``n_assumed_leads``, and the district splits
        (:func:`grid_planning.city.districts.splits_summary`): ``districts``, ``districts_cut``,
        ``district_smaller_parts`` (NaN when the city has no districts).
    """
    ud = unit_metrics(layers, plan, costs) if unit_df is None else unit_df
    gd = grid_metrics(layers, plan, costs, unit_df=ud) if grid_df is None else grid_df
    w = ud["population"].to_numpy(float)
    assigned = ud["grid_id"].notna().to_numpy()
    t_lead = ud["t_lead"].to_numpy(float)
    t_sec = ud["t_secondary"].to_numpy(float)
    t_pri = ud["t_primary"].to_numpy(float)
    population = float(w.sum())
    figures = city_figures(layers, effective_facilities(layers, plan))
    beds = figures["beds"]
    out: dict[str, float] = {
        "k": int(len(plan.leads)),
        "population": population,
        "assigned_population": float(w[assigned].sum()),
        "area_km2": figures["area_km2"],
        "beds": beds,
        "beds_collaborators": figures["beds_collaborators"],
        "beds_per_1000": per_1000(beds, population),
        "beds_illustrative_share": figures["beds_illustrative_share"],
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
    splits = plan_splits(layers, plan)
    split = splits_summary(splits) if splits is not None else {}
    out["districts"] = float(split.get("districts", np.nan))
    out["districts_cut"] = float(split.get("cut", np.nan))
    out["district_smaller_parts"] = float(split.get("smaller_parts", np.nan))
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


# ---- all of a plan's figures ------------------------------------------------------------------
@dataclass(frozen=True)
class Figures(ReadOnlyTables):
    """Everything the pages, the comparison and the exports show about one plan
    (:func:`plan_figures`). Shared by the sessions of a server, so read-only all the way down
    (:mod:`grid_planning.base.frozen`): each read of ``units``/``grids`` is a new frame over
    read-only storage, ``city`` and ``checks`` are a frozen dict and list."""

    _read_only_tables = frozenset({"units", "grids"})

    units: pd.DataFrame  # unit_metrics: t_lead, t_secondary, t_primary per unit
    grids: pd.DataFrame  # grid_metrics: one row per grid
    city: dict  # city_metrics
    checks: list  # check_policy: list of CheckResult
    #: Content key of what they were computed from (city, plan, what-if edits, travel model,
    #: language; see :meth:`grid_planning.session.workspace.Workspace.figures`); a view drawn from them
    #: is cached under it.
    key: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", frozen_frame(self.units))
        object.__setattr__(self, "grids", frozen_frame(self.grids))
        object.__setattr__(self, "city", frozen_value(dict(self.city)))
        object.__setattr__(self, "checks", FrozenList(
            replace(c, params=frozen_value(dict(c.params))) if isinstance(c, CheckResult) else c
            for c in self.checks))

    @property
    def n_failed(self) -> int:
        """Number of failed checks."""
        return rules.status_counts(self.checks)["fail"]

    @property
    def n_warnings(self) -> int:
        """Number of warnings (contiguity broken, assumed lead level ...)."""
        return rules.status_counts(self.checks)["warning"]


def plan_figures(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None, *,
                 lang: str = DEFAULT_LANGUAGE,
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
