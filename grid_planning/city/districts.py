"""District lines under a plan: which district each unit belongs to, and which districts a plan cuts.

A grid that cuts a district makes that district's community health centres answer to two medical
groups, so every plan reports its *district splits*: the districts whose units lie in more than one
grid, and the residents in the smaller parts (those outside the grid holding most of the district).
The same holds for any administrative layer a planner gives (街道 polygons, ``--admin-units``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from grid_planning.base.cache import memo
from grid_planning.geo import graph

if TYPE_CHECKING:
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan


def unit_districts(layers: CityLayers, admin: gpd.GeoDataFrame | None = None) -> pd.Series | None:
    """The district (or administrative unit) of every population unit, in unit order.

    Parameters
    ----------
    layers : CityLayers
        The city.
    admin : GeoDataFrame, optional
        Administrative polygons with a ``name`` column (e.g. 街道); each unit goes to the polygon
        holding its representative point (the nearest one when it lies in none).

    Returns
    -------
    pandas.Series or None
        Index unit id, values the district name; None when the city has neither an ``admin``
        layer, a units ``district`` column nor district polygons.
    """
    index = layers.index
    polygons = admin if admin is not None else None
    if polygons is None and "district" in layers.units.columns:
        values = layers.units["district"].astype(object)
        values = values.where(values.notna() & (values.astype(str).str.strip() != ""), None)
        if values.notna().any():
            return pd.Series(values.to_numpy(), index=index.unit_ids, name="district")
    if polygons is None:
        polygons = getattr(layers, "districts", None)
    if polygons is None or not len(polygons):
        return None
    geoms = np.asarray(polygons.to_crs(index.metric_crs).geometry.values)
    pts = gpd.points_from_xy(index.points[:, 0], index.points[:, 1])
    where, _ = graph.locate_points(geoms, np.asarray(pts))
    names = polygons["name"].astype(str).to_numpy() if "name" in polygons else np.arange(len(polygons)).astype(str)
    return pd.Series(names[where], index=index.unit_ids, name="district", dtype=object)


def district_splits(
    assignment: pd.Series, districts: pd.Series, population: pd.Series | np.ndarray
) -> pd.DataFrame:
    """How a plan divides each district.

    Parameters
    ----------
    assignment : Series
        Grid id of every unit (index unit id).
    districts : Series
        District of every unit (:func:`unit_districts`), same index.
    population : Series or ndarray
        Residents of every unit, same order.

    Returns
    -------
    DataFrame
        Index district; ``residents``, ``grids`` (number of grids it lies in), ``main_grid`` (the
        grid with most of its residents), ``smaller_parts`` (residents outside the main grid),
        ``parts`` (``"G1 1,234,567; G3 45,678"``), sorted by ``smaller_parts`` descending.
    """
    frame = pd.DataFrame(
        {
            "district": districts.reindex(assignment.index).to_numpy(),
            "grid": assignment.astype(object).to_numpy(),
            "pop": np.asarray(population, dtype=float),
        }
    )
    frame = frame[frame["district"].notna() & frame["grid"].notna()]
    by = frame.groupby(["district", "grid"], sort=True)["pop"].sum().reset_index()
    rows = []
    for name, part in by.groupby("district", sort=True):
        part = part.sort_values(["pop", "grid"], ascending=[False, True])
        total = float(part["pop"].sum())
        rows.append(
            {
                "district": str(name),
                "residents": total,
                "grids": int(len(part)),
                "main_grid": str(part["grid"].iloc[0]),
                "smaller_parts": total - float(part["pop"].iloc[0]),
                "parts": "; ".join(f"{g} {p:,.0f}" for g, p in zip(part["grid"], part["pop"], strict=True)),
            }
        )
    out = pd.DataFrame(rows, columns=["district", "residents", "grids", "main_grid", "smaller_parts", "parts"])
    out = out.sort_values(["smaller_parts", "district"], ascending=[False, True]).set_index("district")
    return out


def splits_summary(splits: pd.DataFrame) -> dict:
    """``districts``, ``cut`` (districts in more than one grid), ``smaller_parts`` (residents in
    the smaller parts of all cut districts) and ``cut_names`` (largest smaller part first)."""
    cut = splits[splits["grids"] > 1]
    return {
        "districts": int(len(splits)),
        "cut": int(len(cut)),
        "smaller_parts": float(cut["smaller_parts"].sum()),
        "cut_names": [str(n) for n in cut.index],
    }


def district_pieces(layers: CityLayers, districts: pd.Series) -> pd.Series:
    """Districts that lie in several pieces on the units' adjacency (exclaves, units assigned to
    a district by majority area, corner-only contacts): a grid holding such a district whole is
    in pieces too unless its other districts join them. Index district, value pieces (> 1)."""
    table = layers.index.contiguity(districts.reindex(layers.index.unit_ids).to_numpy())
    parts = table["parts"]
    return parts[parts > 1].sort_values(ascending=False)


def city_districts(layers: CityLayers) -> pd.Series | None:
    """:func:`unit_districts` of the city's own districts, once per city (kept with its units):
    the districts every page, comparison and export of a plan speaks of."""
    return memo(layers.units, ("districts", "unit_districts"), lambda: unit_districts(layers))


def plan_splits(layers: CityLayers, plan: Plan) -> pd.DataFrame | None:
    """:func:`district_splits` of ``plan`` on the city's districts (:func:`city_districts`);
    None when the city has no districts."""
    districts = city_districts(layers)
    if districts is None:
        return None
    pop = pd.Series(layers.index.population, index=layers.index.unit_ids)
    return district_splits(plan.assignment, districts, pop.reindex(plan.assignment.index).fillna(0))


def grid_split_parts(
    assignment: pd.Series, districts: pd.Series, population: pd.Series | np.ndarray
) -> pd.DataFrame:
    """The district splits grid by grid: for every grid, ``districts_cut`` (cut districts with
    residents in it) and ``district_smaller_parts`` (its residents in a cut district whose main
    grid is another). The latter sums over grids to :func:`splits_summary`'s ``smaller_parts``.

    Parameters are as for :func:`district_splits`; the index is every grid of ``assignment``.
    """
    splits = district_splits(assignment, districts, population)
    main = splits["main_grid"]
    cut = set(splits.index[splits["grids"] > 1])
    frame = pd.DataFrame(
        {
            "district": districts.reindex(assignment.index).to_numpy(),
            "grid": assignment.astype(object).to_numpy(),
            "pop": np.asarray(population, dtype=float),
        }
    )
    frame = frame[frame["district"].notna() & frame["grid"].notna()]
    frame = frame[frame["district"].astype(str).isin(cut)]
    grids = pd.Index(sorted({str(g) for g in assignment.dropna()}), name="grid_id")
    touched = frame.groupby(frame["grid"].astype(str))["district"].nunique()
    minor = frame[frame["grid"].astype(str).to_numpy() != main.reindex(frame["district"].astype(str)).to_numpy()]
    smaller = minor.groupby(minor["grid"].astype(str))["pop"].sum()
    return pd.DataFrame(
        {
            "districts_cut": touched.reindex(grids).fillna(0).astype(int),
            "district_smaller_parts": smaller.reindex(grids).fillna(0.0).astype(float),
        },
        index=grids,
    )
