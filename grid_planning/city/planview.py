"""A plan laid on its city: the facilities after what-if edits, each unit's grid, each
facility's unit and role, and travel minutes looked up for chosen units and facilities.

Shared by the figures, the checks, the rosters, the maps and the exports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from grid_planning.domain.plan import apply_facility_edits

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan


# ---- shared helpers ----------------------------------------------------------------------------
def effective_facilities(layers: CityLayers, plan: Plan) -> gpd.GeoDataFrame:
    """The facilities with the plan's what-if edits applied (upgrades, additions, closures).

    Uses :func:`grid_planning.domain.plan.apply_facility_edits` when the plan has edits; the source layers
    are never modified.
    """
    facilities = layers.facilities
    if plan is None or not getattr(plan, "edits", ()):
        return facilities
    return apply_facility_edits(facilities, plan.edits)


#: Ids as the tables hold them: an index, a column, an array or a list.
Ids = pd.Index | pd.Series | np.ndarray | Sequence[str]


def str_ids(values: Ids) -> np.ndarray:
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
    frame["id"] = str_ids(facilities["id"])
    frame = frame.drop_duplicates("id").set_index("id")
    frame.attrs = {}
    return frame


def cost_lookup(costs: CostMatrix | None, unit_ids: Ids, facility_ids: Ids) -> np.ndarray:
    """Minutes for ``unit_ids`` x ``facility_ids`` taken from a cost matrix.

    Facilities (or units) the matrix does not know, e.g. a planned hospital added after the costs
    were computed, get NaN rather than a wrong number.
    """
    unit_ids = str_ids(unit_ids)
    facility_ids = str_ids(facility_ids)
    out = np.full((len(unit_ids), len(facility_ids)), np.nan, dtype=float)
    if costs is None or len(unit_ids) == 0 or len(facility_ids) == 0:
        return out
    minutes = np.asarray(costs.minutes, dtype=float)
    upos = pd.Index(str_ids(costs.unit_ids)).get_indexer(unit_ids)
    fpos = pd.Index(str_ids(costs.facility_ids)).get_indexer(facility_ids)
    ok_u = upos >= 0
    ok_f = fpos >= 0
    if ok_u.any() and ok_f.any():
        sub = minutes[np.ix_(upos[ok_u], fpos[ok_f])]
        out[np.ix_(np.flatnonzero(ok_u), np.flatnonzero(ok_f))] = sub
    return out


def facility_units(layers: CityLayers, facilities: gpd.GeoDataFrame | None = None) -> pd.Series:
    """Unit id each facility lies in (the nearest unit when it lies outside every unit): one
    definition, so the planner, the checks, the rosters and the workspace locate facilities alike.

    Parameters
    ----------
    layers : CityLayers
        City layers.
    facilities : GeoDataFrame, optional
        Facilities to place; default ``layers.facilities``.

    Returns
    -------
    pandas.Series
        Index: facility id; values: unit id (str, object dtype). See
        :meth:`~grid_planning.city.index.CityIndex.locate` for whether a facility lies outside
        the city.
    """
    fac = layers.facilities if facilities is None else facilities
    loc = layers.index.locate(fac)
    return pd.Series(
        layers.index.unit_ids.to_numpy()[loc.unit],
        index=pd.Index(fac["id"].astype(str)),
        name="unit_id",
        dtype=object,
    )


# ---- unit, grid and city metrics ----------------------------------------------------------------
def grid_values(assignment: pd.Series) -> np.ndarray:
    """The assignment's grid ids as str, ``None`` where missing, as an object array (a pandas
    string column iterated value by value costs ~5 µs per unit, a city has thousands)."""
    values = assignment.to_numpy(dtype=object, na_value=None)
    missing = pd.isna(values)
    out = np.full(len(values), None, dtype=object)
    if (~missing).any():
        out[~missing] = pd.Index(values[~missing], dtype=object).astype(str).to_numpy(dtype=object)
    return out


def assignment_for(layers: CityLayers, plan: Plan) -> pd.Series:
    """Grid id (str, ``None`` when unassigned) per unit of ``layers``, in unit order; a unit listed
    twice in the plan counts once (its first grid)."""
    ids = str_ids(layers.units["id"])
    grids = grid_values(plan.assignment)
    plan_ids = str_ids(plan.assignment.index)
    index = pd.Index(ids, dtype=object)
    if len(plan_ids) == len(ids) and index.is_unique and np.array_equal(plan_ids, ids):
        # The plan lists the units in layer order, once each (every plan the planner makes):
        # the reindex below would give the same values (~0.05 s for 100,000 units).
        return pd.Series(grids, index=index, dtype=object)
    assignment = pd.Series(grids, index=pd.Index(plan_ids, dtype=object))
    assignment = assignment[~assignment.index.duplicated(keep="first")]
    out = assignment.reindex(index).to_numpy(dtype=object)
    out[pd.isna(out)] = None
    return pd.Series(out, index=index, dtype=object)


def unit_grids(layers: CityLayers, plan: Plan) -> np.ndarray:
    """The grid id of every unit of ``layers``, in unit order (``""`` when unassigned; a unit the
    plan lists twice counts once, with its first grid): how maps and tables read an assignment."""
    grids = assignment_for(layers, plan).to_numpy(dtype=object)
    return np.where(pd.isna(grids), "", grids).astype(object)


def plan_roles(plan: Plan) -> pd.DataFrame:
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


def split_ids(supports: object) -> list[str]:
    return [s.strip() for s in str(supports or "").split(",") if s.strip()]
