"""What every drawing of a plan shares, without folium: grid colours, facility marker colours and
sizes, the one way units are dissolved into grids, grid label positions, the facilities with their
plan roles and short facility names.

The interactive maps (:mod:`grid_planning.maps.planmap`, :mod:`grid_planning.maps.markers`), the print
map (:mod:`grid_planning.prints.printmap`) and the meeting comparison use these; a print therefore
loads neither folium, branca nor jinja2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from grid_planning.city.planview import effective_facilities

#: Distinct grid colours (ColorBrewer Set3 / Paired, light enough to read labels on); cycled
#: beyond 20 grids.
GRID_PALETTE: tuple[str, ...] = (
    "#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5", "#ffed6f",
    "#bc80bd", "#ccebc5", "#a6cee3", "#fb9a99", "#cab2d6", "#b2df8a", "#fdbf6f", "#d9d9d9",
    "#e5c494", "#66c2a5", "#e78ac3", "#a6d854",
)


#: Marker colour by facility type (fill for real data, outline for illustrative).
TYPE_COLOURS: dict[str, str] = {
    "general": "#1f4e9c",
    "tcm": "#2e8b57",
    "specialty": "#7b3fa0",
    "maternal_child": "#d6378a",
    "rehabilitation": "#e07b00",
    "nursing": "#b8860b",
    "public_health": "#008b8b",
    "community_health_center": "#4f6d7a",
    "township_health_center": "#6b8e23",
    "clinic": "#8c8c8c",
    "other": "#555555",
}


#: Marker radius (px) by level: the hierarchy should read at a glance.
LEVEL_RADIUS: dict[str, float] = {
    "tertiary": 8.0,
    "secondary": 6.0,
    "primary": 3.5,
    "other": 3.5,
    "unknown": 5.0,
}


def grid_colours(grid_ids: Sequence[str]) -> dict[str, str]:
    """A distinct colour per grid, stable for a given grid order."""
    return {str(g): GRID_PALETTE[i % len(GRID_PALETTE)] for i, g in enumerate(grid_ids)}


def dissolve(parts: np.ndarray, grid_size: float | None = 1e-5):
    """The union of some units' polygons (a grid, the units that changed grid): the one way
    every map and print dissolves units.

    A coverage union is exact and fast when the units tile the area; units that do not
    (overlaps, a repaired bowtie touching itself at a point) make it fail or come out invalid,
    and the robust union is used instead.

    Parameters
    ----------
    parts : array of shapely geometries
    grid_size : float or None
        Precision of the result in the parts' units (default ~1 m for WGS84 display geometry);
        None keeps full precision (metric print geometry).
    """
    def rounded(shape, mode: str = "valid_output"):
        return shape if grid_size is None else shapely.set_precision(shape, grid_size, mode=mode)

    try:
        shape = shapely.coverage_union_all(parts)
        if shape.is_valid:
            return rounded(shape)
    except shapely.errors.GEOSException:
        pass
    return rounded(shapely.make_valid(shapely.union_all(shapely.make_valid(parts))), "pointwise")


def label_points(pts: np.ndarray, xy: np.ndarray, labels: np.ndarray,
                 population: np.ndarray) -> dict[str, tuple[float, float]]:
    """A label position per grid: a unit deep inside the grid, near its population centre (the
    rule of the plan map and the print map).

    Snapping to a unit keeps the label inside the grid even when the grid is crescent-shaped.
    Only units at least half as far from the other grids as the grid's innermost unit are
    candidates: a grid whose people live along its border with the centre (a suburban grid next to
    the core) is otherwise labelled on that border, on top of the neighbouring grid's label.

    Parameters
    ----------
    pts : ndarray
        ``(n_units, 2)`` a point inside each unit (NaN where a unit has none), in the output CRS.
    xy : ndarray
        The same points in (roughly) metric coordinates, for the distances.
    labels : ndarray
        Grid of each unit (``""`` or None for none).
    population : ndarray
        Residents of each unit.
    """
    out: dict[str, tuple[float, float]] = {}
    finite = np.isfinite(pts[:, 0])
    for grid in pd.unique(labels):
        if not grid:
            continue
        mine = (labels == grid) & finite
        idx = np.flatnonzero(mine)
        if len(idx) == 0:
            continue
        others = np.flatnonzero(~mine & finite)
        if len(others):
            depth, _ = cKDTree(xy[others]).query(xy[idx])
            idx = idx[depth >= 0.5 * depth.max()]
        w = population[idx]
        w = w if w.sum() > 0 else np.ones(len(idx))
        cx, cy = np.average(pts[idx, 0], weights=w), np.average(pts[idx, 1], weights=w)
        j = idx[int(np.argmin((pts[idx, 0] - cx) ** 2 + (pts[idx, 1] - cy) ** 2))]
        out[str(grid)] = (float(pts[j, 0]), float(pts[j, 1]))
    return out


def plan_facilities(layers: object, plan: object) -> gpd.GeoDataFrame:
    """The effective facilities (what-if edits applied) with the plan's ``grid_id`` and ``role``."""
    fac = effective_facilities(layers, plan).copy()
    fac["id"] = fac["id"].astype(str)
    roles = plan.roles.copy()
    roles.index = roles.index.map(str)
    for col in ("grid_id", "role", "supports"):
        fac[col] = fac["id"].map(roles[col]).fillna("").astype(str) if col in roles else ""
    return fac


_TRAILING_ALIAS = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")


def short_name(name: str, limit: int = 12) -> str:
    """A facility name short enough for a map label: without a trailing bracketed alias
    (``武汉市中心医院（华中科技大学…）``), cut at ``limit``. Brackets inside the name stay
    (``阜新矿业（集团）总医院`` is not ``阜新矿业``)."""
    base = _TRAILING_ALIAS.sub("", str(name)).strip() or str(name)
    return base if len(base) <= limit else base[: limit - 1] + "…"
