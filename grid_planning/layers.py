"""City layers: load, validate and reproject the files a planner brings.

CONTRACT (filled in by the layers work; other modules rely only on what is written here):

``CityLayers`` holds, all in EPSG:4326 (WGS84) unless stated:

- ``units``: GeoDataFrame, RangeIndex; ``id`` (str, unique), ``name`` (str), ``population``
  (float >= 0), optional ``pop_65plus`` (float), optional ``district`` (str), user extras kept;
  valid Polygon/MultiPolygon geometry.
- ``facilities``: GeoDataFrame of Points; ``id`` (str, unique), ``name``, ``level``
  (:data:`schema.LEVELS`), ``type`` (:data:`schema.TYPES`), ``owner_level``
  (:data:`schema.OWNER_LEVELS`), ``beds`` (float, NaN when unknown), ``source`` ("real",
  "illustrative" or the user's own text, default "user"), ``level_source`` ("data" or "assumed"),
  optional ``district``, ``outpatient_slots``; extras kept.
- ``boundary``: GeoDataFrame with the city outline (union of the units when no file is given).
- ``districts``: GeoDataFrame (``name``, geometry) or ``None``.
- ``roads``: GeoDataFrame of LineStrings (``highway`` str or None, ``speed_kmh`` float or NaN) or None.
- ``metric_crs``: a projected CRS string chosen from the data (UTM zone of the centroid).
- ``report``: :class:`grid_planning.report.ValidationReport`.
- ``sources``: layer name -> file shown to the user.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import geopandas as gpd

from grid_planning.report import ValidationReport


@dataclass(frozen=True, eq=False)
class CityLayers:
    """Validated layers of one city (see the module docstring for the column contract)."""

    name: str
    units: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    metric_crs: str
    report: ValidationReport = field(default_factory=ValidationReport)
    districts: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no error blocks planning."""
        return self.report.ok

    def fingerprint(self) -> str:
        """A stable hash of the units, facilities and roads, used as a cache key for travel costs."""
        h = hashlib.sha256()
        h.update(self.metric_crs.encode())
        for gdf in (self.units, self.facilities, self.roads):
            if gdf is None:
                h.update(b"none")
                continue
            cols = [c for c in gdf.columns if c != gdf.geometry.name]
            h.update(gdf[cols].to_csv(index=False).encode())
            h.update(gdf.geometry.to_wkb().sum() if len(gdf) else b"")
        return h.hexdigest()[:16]
