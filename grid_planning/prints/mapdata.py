"""What a print map draws, computed once from a plan (:func:`grid_planning.prints.printmap.map_data`)
and drawn many times: the page, the report's city map and its grid maps, the legend and the labels
read it."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import shapely


@dataclass
class MapData:
    """Everything a plan map draws, in the metric CRS.

    Attributes
    ----------
    grids : GeoDataFrame
        One dissolved polygon per grid: ``grid_id``, ``colour``, ``lead_id``, ``lead_name``,
        ``label`` (``"G1 <the lead's full name>"``), ``population``.
    borders : shapely geometry
        The lines where two grids meet.
    boundary, districts : GeoDataFrame or None
        City outline and district outlines (``name`` kept for labels).
    facilities : GeoDataFrame
        The plan's facilities (what-if edits applied) with ``grid_id``, ``role``, ``illustrative``,
        ``assumed``.
    label_points : dict
        Grid id -> (x, y) of its label, deep inside the grid near its population centre.
    crs : str
        The metric CRS of every geometry.
    """

    grids: gpd.GeoDataFrame
    borders: shapely.Geometry
    boundary: gpd.GeoDataFrame | None
    districts: gpd.GeoDataFrame | None
    facilities: gpd.GeoDataFrame
    label_points: dict[str, tuple[float, float]]
    crs: str
    city: str
    k: int
    created: str
    extra: dict = field(default_factory=dict)
