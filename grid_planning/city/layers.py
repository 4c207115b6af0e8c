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
- ``report``: :class:`grid_planning.io.findings.ValidationReport`.
- ``sources``: layer name -> file shown to the user.

Also: facilities carry ``lon``/``lat`` columns with their WGS84 position (after any GCJ-02/BD-09
conversion), and the boundary has one row (``name``, geometry: the dissolved outline).

How problems are reported
-------------------------
Every reader takes an optional :class:`~grid_planning.io.findings.ValidationReport`. With a report,
nothing raises for bad data: each problem becomes a finding naming the file, the row (1-based
spreadsheet row with the header as row 1, or the feature id for GIS files), the column as the user
named it, and what to do; rows that cannot be used are dropped from the returned layer. Without a
report, a reader raises :class:`LayerError` when it finds an error (warnings are then discarded).
:func:`load_city` never raises for bad data.

Choices worth knowing
---------------------
- Files are opened by :mod:`grid_planning.io.inputs`: limits checked before memory is spent (zip
  directory, feature count, line count, vertices), zips unpacked safely into a temporary folder
  removed after reading, and the layer or sheet chosen (``layer=`` / ``load_city(layers=...)``;
  without a choice the one layer with usable data, named in a warning when the file holds others;
  several candidates are an error listing them).
- Swapped lon/lat is fixed automatically, with a warning naming the rows, in the two cases where
  the swap is unambiguous: the latitude is beyond +-90 deg while the longitude is a valid latitude,
  or the point lies outside the city boundary and the swapped point lies inside it.
- Points outside the city boundary are kept with a warning when they are more than the setting
  ``outside_city_m`` (default :data:`OUTSIDE_TOLERANCE_M`, 500 m) beyond it (hospitals just across
  the city line are real and serve it).
- Point population (points, or a raster-like CSV of cell centres) becomes regular square cells of
  ``cell_m`` metres in the metric CRS, clipped to the boundary, with the population summed.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_planning.base.cache import memo
from grid_planning.base.i18n import t
from grid_planning.city.costs import network_report
from grid_planning.city.figures import city_area_km2, city_figures
from grid_planning.city.index import CityIndex
from grid_planning.domain import rules, schema
from grid_planning.domain.rules import OUTSIDE_CITY_M
from grid_planning.geo import coords as _coords
from grid_planning.io import limits
from grid_planning.io.findings import ValidationReport
from grid_planning.io.readers import (
    FACILITY_COLUMNS,
    read_boundary,
    read_crossings,
    read_districts,
    read_facilities,
    read_roads,
    read_water,
)
from grid_planning.io.rows import (
    FALLBACK_METRIC_CRS,
    WGS84,
    LayerInput,
    coord_system,
    empty_frame,
    file_label,
    rows_text,
)
from grid_planning.io.units import DEFAULT_CELL_M, UNIT_COLUMNS, read_units

#: Facilities farther than this outside the city boundary get a warning (the same distance makes a
#: hospital "outside the city" for the lead rule G4 and the roster). The default; the value in force
#: is the setting ``outside_city_m`` (:func:`grid_planning.domain.rules.outside_city_m`).
OUTSIDE_TOLERANCE_M = OUTSIDE_CITY_M


#: At most this many per-facility "outside the boundary" findings before they are grouped.
MAX_OUTSIDE_FINDINGS = 20


# Guards the creation of a city's index (two sessions asking at once get the same one).
_INDEX_LOCK = threading.Lock()


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
    water: gpd.GeoDataFrame | None = None
    crossings: gpd.GeoDataFrame | None = None

    @property
    def ok(self) -> bool:
        """True when no error blocks planning."""
        return self.report.ok

    @property
    def index(self) -> CityIndex:
        """The city's :class:`~grid_planning.city.index.CityIndex` (adjacency, facility locations,
        travel costs ...), built on first use and shared by everything that plans this city; it
        lives as long as these layers (:func:`~grid_planning.base.cache.memo`)."""
        return memo(self, ("index",),
                    lambda: CityIndex(self.units, self.metric_crs, self.roads, self.boundary,
                                      water=self.water, crossings=self.crossings),
                    lock=_INDEX_LOCK)

    def with_facilities(self, facilities: gpd.GeoDataFrame) -> CityLayers:
        """The same city with other facilities (what-if edits); it shares this city's index, since
        units, roads and the metric CRS are unchanged."""
        new = replace(self, facilities=facilities)
        index = self.index
        memo(new, ("index",), lambda: index)
        return new

    def fingerprint(self) -> str:
        """A stable hash of the units, facilities and roads (and the metric CRS): the key of
        everything computed from these layers (travel costs, figures, maps) and the city a
        scenario was made on. Computed once per object (it hashes every row)."""
        return memo(self, ("fingerprint",), self._fingerprint)

    def _fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(self.metric_crs.encode())
        for gdf in (self.units, self.facilities, self.roads):
            hash_frame(h, gdf)
        # Only when given, so that the fingerprints of cities without water do not change.
        for gdf in (self.water, self.crossings):
            if gdf is not None:
                hash_frame(h, gdf)
        return h.hexdigest()[:16]


def hash_frame(h: hashlib._Hash, frame: gpd.GeoDataFrame | None) -> None:
    """Feed one layer into the hash ``h``: its attributes as CSV and its geometry as WKB
    (``None``: a marker), as :meth:`CityLayers.fingerprint` does for each of its layers."""
    if frame is None:
        h.update(b"none")
        return
    cols = [c for c in frame.columns if c != frame.geometry.name]
    h.update(frame[cols].to_csv(index=False).encode())
    h.update(frame.geometry.to_wkb().sum() if len(frame) else b"")


# =============================================================================================
# The whole city
# =============================================================================================
def load_city(
    units: LayerInput,
    facilities: LayerInput,
    boundary: LayerInput | None = None,
    roads: LayerInput | None = None,
    *,
    districts: LayerInput | None = None,
    coords: str | Mapping[str, str] = "wgs84",
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    cell_m: float = DEFAULT_CELL_M,
    layers: Mapping[str, str] | None = None,
    encoding: str | None = None,
    water: LayerInput | None = None,
    crossings: LayerInput | None = None,
) -> CityLayers:
    """Load, validate and reproject a city's layers. Never raises for bad data.

    Parameters
    ----------
    units, facilities : str, Path or DataFrame
        Population units and facilities (see :func:`read_units`, :func:`read_facilities`).
    boundary, roads, districts : str, Path or DataFrame, optional
        City outline (default: the union of the units), road lines, district polygons.
    coords : {"wgs84", "gcj02", "bd09"} or mapping
        System of lon/lat input, for every layer or per layer (``{"facilities": "gcj02"}``;
        layers not named are WGS84). Layers with a projected CRS are never shifted.
    name : str, optional
        City name (default: the boundary's name or the units file's stem).
    labels : mapping, optional
        Layer -> name shown in findings (e.g. the uploaded file's original name).
    cell_m : float
        Cell side for point population.
    layers : mapping, optional
        Input -> layer or sheet to read from a file that holds several (``{"units": "streets",
        "facilities": "医院"}``). Without a choice, the one layer that holds usable data for that
        input is read (with a warning naming it when the file holds others); when several do, an
        error lists them.
    encoding : str, optional
        The text encoding of CSV units and facilities (``big5``, ``gbk``, ``utf-8`` ...); by
        default detected (UTF-8, UTF-16, GB18030, Big5-HKSCS), the choice named in the report.
    water, crossings : str, Path or DataFrame, optional
        Water (polygons or centrelines) and its crossings (points): straight-line travel then
        crosses water only at a crossing (:mod:`grid_planning.geo.water`).

    Returns
    -------
    CityLayers
        Layers in WGS84 with a report: errors mean the layers must not be used for planning.
    """
    report = ValidationReport()
    labels = dict(labels or {})
    sources: dict[str, str] = {}
    choices = {str(k): str(v) for k, v in (layers or {}).items() if v is not None and str(v).strip()}
    for slot in sorted(set(choices) - set(limits.KINDS)):
        report.error("layer_choice_unknown_input", "-", slot=slot)
        del choices[slot]

    def lab(layer: str, source: LayerInput | None) -> str:
        text = file_label(source, labels.get(layer), layer)
        sources[layer] = text
        return text

    try:
        loaded = _load_city(
            units, facilities, boundary, roads, districts, coords, name, lab, report, cell_m, choices,
            encoding,
        )
    except Exception as exc:  # a bug must not hide behind a traceback in the dashboard either
        detail = limits.short_detail(exc, "-", [units, facilities, boundary, roads, districts])
        report.error("internal_error", "-", detail=f"{type(exc).__name__}: {detail}"[:300])
        loaded = None
    if loaded is not None and water is not None:
        loaded["water"] = read_water(water, coord_system(coords, "water"), report,
                                     label=lab("water", water), layer=choices.get("water"))
    if loaded is not None and crossings is not None:
        loaded["crossings"] = read_crossings(
            crossings, coord_system(coords, "crossings"), report,
            label=lab("crossings", crossings), layer=choices.get("crossings"))
    if loaded is not None and (water is None) != (crossings is None):
        # Either alone changes nothing: say so rather than ignore a file silently.
        given = "water" if water is not None else "crossings"
        report.warning("water_needs_crossings", lab(given, water if water is not None else crossings))
    if loaded is None:
        empty_units = empty_frame(UNIT_COLUMNS)
        return CityLayers(
            name=name or "city",
            units=empty_units,
            facilities=empty_frame((*FACILITY_COLUMNS, "lon", "lat")),
            boundary=empty_frame(("name",)),
            metric_crs=FALLBACK_METRIC_CRS,
            report=report,
            sources=sources,
        )
    # The readers keep bookkeeping (row labels for findings) in DataFrame.attrs; pandas deep-copies
    # attrs on every operation, which costs ~0.1 s per map or metrics call on the sample city.
    # It has served its purpose once the report is written.
    for value in loaded.values():
        if isinstance(value, pd.DataFrame):
            value.attrs = {}
    city = CityLayers(**loaded, report=report, sources=sources)
    if len(city.units) and len(city.facilities):
        _lead_findings(city, sources.get("facilities", "facilities"), report)
        miscoded_findings(city.facilities, sources.get("facilities", "facilities"), report)
    if report.ok and len(city.units):
        _island_findings(city, sources.get("units", "units"), report)
    if report.ok and len(city.units) and city.roads is not None and len(city.roads):
        _road_findings(city, sources.get("roads", "roads"), report)
    return city


def _road_findings(layers: CityLayers, label: str, report: ValidationReport) -> None:
    """Say how the road layer was joined and who would fall back to straight-line time (a road
    layer that silently falls apart into pieces was the worst way to be wrong)."""
    net = network_report(layers.index, layers.facilities)
    if net["crossings_joined"]:
        report.warning("roads_noded", label, None, None, count=f"{net['crossings_joined']:,}",
                       share=f"{net['unnoded_share']:.0%}" if net["unnoded_share"] == net["unnoded_share"] else "-")
    if net["fallback_units"]:
        report.warning(
            "roads_fallback", label, rows_text(pd.Series(net["fallback_unit_ids"])), None,
            pieces=f"{net['pieces']:,}", units=f"{net['fallback_units']:,}",
            residents=f"{net['fallback_residents']:,.0f}", share=f"{net['fallback_share']:.1%}",
        )


def _island_findings(layers: CityLayers, label: str, report: ValidationReport) -> None:
    """Say every link the planner adds between separate parts of the city (islands, exclaves,
    units across water): contiguity through them is a choice the planner should see."""
    try:
        links = layers.index.links
    except ValueError as exc:  # a unit without geometry would be a reader bug: say it, don't crash
        report.error("internal_error", label, detail=str(exc)[:300])
        return
    for k, row in enumerate(links.itertuples()):
        if k == MAX_OUTSIDE_FINDINGS:
            rest = links.iloc[k:]
            report.warning(
                "island_links_many", label, rows_text(rest["unit_a"]), None, count=len(rest)
            )
            break
        report.warning(
            "island_link_corner" if row.distance_m < 1.0 else "island_link",
            label,
            f"{row.unit_a}, {row.unit_b}",
            None,
            unit_a=f"{row.unit_a} ({row.name_a})",
            unit_b=f"{row.unit_b} ({row.name_b})",
            distance_km=f"{row.distance_m / 1000:.2f}",
        )


def _load_city(
    units, facilities, boundary, roads, districts, coords, name, lab, report, cell_m, choices,
    encoding=None,
) -> dict:
    boundary_gdf = None
    if boundary is not None:
        boundary_gdf = read_boundary(
            boundary,
            coord_system(coords, "boundary"),
            report,
            label=lab("boundary", boundary),
            layer=choices.get("boundary"),
        )
        if len(boundary_gdf) == 0:
            boundary_gdf = None
    units_gdf = read_units(
        units,
        coord_system(coords, "units"),
        report,
        boundary=boundary_gdf,
        cell_m=cell_m,
        label=lab("units", units),
        layer=choices.get("units"),
        encoding=encoding,
    )
    facilities_gdf = read_facilities(
        facilities,
        coord_system(coords, "facilities"),
        report,
        label=lab("facilities", facilities),
        layer=choices.get("facilities"),
        encoding=encoding,
    )
    districts_gdf = None
    if districts is not None:
        districts_gdf = read_districts(
            districts,
            coord_system(coords, "districts"),
            report,
            label=lab("districts", districts),
            layer=choices.get("districts"),
        )
    roads_gdf = None
    if roads is not None:
        roads_gdf = read_roads(
            roads,
            coord_system(coords, "roads"),
            report,
            label=lab("roads", roads),
            layer=choices.get("roads"),
        )

    if boundary_gdf is None:
        outline = (
            shapely.union_all(np.asarray(units_gdf.geometry.values))
            if len(units_gdf)
            else shapely.Polygon()
        )
        city = name or Path(lab("units", units)).stem
        boundary_gdf = gpd.GeoDataFrame({"name": [city]}, geometry=[outline], crs=WGS84)
    city_name = name or (str(boundary_gdf["name"].iloc[0]) if len(boundary_gdf) else "city")

    metric_crs = FALLBACK_METRIC_CRS
    for gdf in (boundary_gdf, units_gdf, facilities_gdf):
        if gdf is not None and len(gdf) and not gdf.geometry.is_empty.all():
            metric_crs = _coords.pick_metric_crs(gdf[~gdf.geometry.is_empty])
            break

    if len(facilities_gdf) and len(boundary_gdf) and not boundary_gdf.geometry.is_empty.all():
        facilities_gdf = _check_inside(
            facilities_gdf, boundary_gdf, metric_crs, lab("facilities", facilities), report
        )
    if len(units_gdf) and float(units_gdf["population"].fillna(0).sum()) <= 0:
        report.error("population_zero", lab("units", units))  # nothing to plan for

    return {
        "name": city_name,
        "units": units_gdf,
        "facilities": facilities_gdf,
        "boundary": boundary_gdf,
        "metric_crs": metric_crs,
        "districts": districts_gdf,
        "roads": roads_gdf,
    }


def _check_inside(
    facilities: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    metric_crs: str,
    label: str,
    report: ValidationReport,
) -> gpd.GeoDataFrame:
    """Swap lon/lat where that puts an outside point inside the city; warn about far-away points."""
    labels = dict(facilities.attrs.get("row_labels", {}))

    def where(fid: str) -> str:
        return str(labels.get(fid, fid))

    outline = shapely.union_all(np.asarray(boundary.to_crs(metric_crs).geometry.values))
    pts = facilities.to_crs(metric_crs).geometry
    dist = pd.Series(shapely.distance(np.asarray(pts.values), outline), index=facilities.index)
    tolerance = rules.outside_city_m()
    outside = dist > tolerance
    if outside.any():
        # Only points whose swap is a valid lon/lat can be swapped (|lon| <= 90 to become a latitude).
        cand = facilities[outside & (facilities.geometry.x.abs() <= 90)]
        swapped = gpd.GeoSeries(
            gpd.points_from_xy(cand.geometry.y, cand.geometry.x), index=cand.index, crs=WGS84
        )
        sdist = shapely.distance(np.asarray(swapped.to_crs(metric_crs).values), outline)
        fix = pd.Series(sdist <= tolerance, index=cand.index)
        if len(cand) and fix.any():
            idx = fix.index[fix]
            facilities = facilities.copy()
            facilities.loc[idx, "geometry"] = swapped[idx]
            facilities.loc[idx, "lon"] = swapped[idx].x
            facilities.loc[idx, "lat"] = swapped[idx].y
            report.warning(
                "swapped_lonlat", label, rows_text(facilities.loc[idx, "id"].map(where)), "lon/lat"
            )
            outside[idx] = False
    far = facilities[outside]
    for k, (idx, row) in enumerate(far.iterrows()):
        if k == MAX_OUTSIDE_FINDINGS:
            rest = far.iloc[k:]
            report.warning(
                "outside_boundary_many",
                label,
                rows_text(rest["id"].map(where)),
                None,
                count=len(rest),
                tolerance_m=f"{tolerance:g}",
            )
            break
        report.warning(
            "outside_boundary",
            label,
            where(row["id"]),
            None,
            name=row["name"],
            distance_km=f"{dist[idx] / 1000:.1f}",
            tolerance_m=f"{tolerance:g}",
        )
    return facilities


def _lead_findings(layers: CityLayers, label: str, report: ValidationReport) -> None:
    """Who can lead (G4, :mod:`grid_planning.domain.rules`): an error only when nobody can, not even by a
    recorded designation; a warning when leads are few, lie outside the city or need one."""
    fac = layers.facilities
    if len(fac) == 0:
        return
    outside = layers.index.locate(fac).outside
    eligible = rules.g4_eligible(fac).to_numpy()
    designatable = rules.g4_designatable(fac, outside).to_numpy()
    inside = int((eligible & ~outside).sum())
    names = fac["name"].astype(str).to_numpy()
    for i in np.flatnonzero(eligible & outside):
        report.warning(
            "lead_outside_city", label, str(fac["id"].iloc[i]), None, name=names[i],
            tolerance_m=f"{rules.outside_city_m():g}",
        )
    listed = ", ".join(names[designatable][:5]) + (" …" if designatable.sum() > 5 else "")
    if inside == 0 and not designatable.any():
        report.error("no_eligible_lead", label)
    elif inside == 0:
        report.warning("no_eligible_lead_designatable", label, count=int(designatable.sum()), names=listed)
    elif inside < 2:
        report.warning(
            "few_eligible_leads", label, count=inside, designatable=int(designatable.sum()),
            names=listed or "-",
        )


#: Names that say "primary care" (a community health centre or station, a township health centre,
#: a clinic, an outpatient department): such a row coded as a hospital type or above primary
#: level is most likely mis-coded (a 30-bed 社区卫生服务中心 recorded as a tertiary general
#: hospital led a grid in issue 15).
PRIMARY_CARE_NAMES = ("社区卫生服务中心", "社区卫生服务站", "卫生院", "卫生室", "诊所", "门诊部")


#: Hospital types a primary-care name contradicts.
_HOSPITAL_TYPES = ("general", "tcm", "specialty", "maternal_child", "rehabilitation")


#: Beds below which a tertiary hospital is implausible, and above which a primary facility is
#: (the national grading: tertiary >= 500 beds, secondary 100-499, primary 20-99).
TERTIARY_MIN_BEDS = 100


PRIMARY_MAX_BEDS = 500


def miscoded_findings(fac: pd.DataFrame, label: str, report: ValidationReport) -> None:
    """Warnings naming each facility whose name, type, level and beds contradict each other
    (the planner confirms or fixes them; planning is not blocked)."""
    if len(fac) == 0:
        return
    names = fac["name"].astype(str).to_numpy() if "name" in fac else np.full(len(fac), "")
    level = fac["level"].astype(str).to_numpy() if "level" in fac else np.full(len(fac), "")
    typ = fac["type"].astype(str).to_numpy() if "type" in fac else np.full(len(fac), "")
    beds = pd.to_numeric(fac["beds"], errors="coerce").to_numpy() if "beds" in fac else None
    ids = fac["id"].astype(str).to_numpy()
    for i in range(len(fac)):
        primary_name = any(word in names[i] for word in PRIMARY_CARE_NAMES)
        if primary_name and (typ[i] in _HOSPITAL_TYPES or level[i] in ("tertiary", "secondary")):
            report.warning(
                "miscoded_primary_care", label, ids[i], "type", name=names[i], type=typ[i],
                level=level[i],
            )
        if beds is None or not np.isfinite(beds[i]) or beds[i] <= 0:
            continue
        if level[i] == "tertiary" and beds[i] < TERTIARY_MIN_BEDS:
            report.warning(
                "beds_contradict_level", label, ids[i], "beds", name=names[i], level=level[i],
                beds=f"{beds[i]:g}", expected=f">= {TERTIARY_MIN_BEDS}",
            )
        elif level[i] == "primary" and beds[i] > PRIMARY_MAX_BEDS:
            report.warning(
                "beds_contradict_level", label, ids[i], "beds", name=names[i], level=level[i],
                beds=f"{beds[i]:g}", expected=f"<= {PRIMARY_MAX_BEDS}",
            )


def summarise(layers: CityLayers) -> dict:
    """Headline figures of a city's layers.

    Returns
    -------
    dict
        ``population`` (float), ``area_km2`` (boundary area in the metric CRS), ``units`` (count),
        ``facilities`` (count), ``by_level`` / ``by_type`` / ``by_source`` (value -> count),
        ``beds`` (the beds that count: collaborators' excluded, :mod:`grid_planning.city.figures`),
        ``beds_collaborators`` (not counted), ``beds_per_1000`` (NaN without population or beds),
        ``beds_illustrative_share`` (share of those beds that are generated, not data: from
        illustrative facilities or ``capacity_source = illustrative``), ``eligible_leads`` (count
        under G4), ``eligible_leads_assumed`` (of which ``level_source = assumed``), ``real`` /
        ``illustrative`` (facility counts), ``errors`` / ``warnings`` (finding counts).
    """
    units, fac = layers.units, layers.facilities
    figures = city_figures(layers) if len(units) else {
        "area_km2": city_area_km2(layers) if len(layers.boundary) else 0.0, "population": 0.0,
        "beds": 0.0, "beds_per_1000": float("nan"), "beds_illustrative_share": 0.0,
        "beds_collaborators": 0.0,
    }
    by_source = fac["source"].value_counts().to_dict() if len(fac) else {}
    eligible = (
        rules.g4_leads_by_data(fac, layers.index.locate(fac).outside)
        if len(fac) and len(units)
        else pd.Series(False, index=fac.index)
    )
    assumed = (
        fac["level_source"].astype(str).eq("assumed")
        if "level_source" in fac.columns
        else pd.Series(False, index=fac.index)
    )
    return {
        "name": layers.name,
        "population": figures["population"],
        "area_km2": figures["area_km2"],
        "units": int(len(units)),
        "facilities": int(len(fac)),
        "by_level": _counts(fac, "level", schema.LEVELS),
        "by_type": _counts(fac, "type", schema.TYPES),
        "by_source": {str(k): int(v) for k, v in by_source.items()},
        # One definition with the report and the exports (grid_planning.city.figures).
        "beds": figures["beds"],
        "beds_collaborators": figures["beds_collaborators"],
        "beds_per_1000": figures["beds_per_1000"],
        "beds_illustrative_share": figures["beds_illustrative_share"],
        "eligible_leads": int(eligible.sum()),
        "eligible_leads_assumed": int((eligible & assumed).sum()),
        "real": int(by_source.get("real", 0)),
        "illustrative": int(by_source.get("illustrative", 0)),
        "errors": len(layers.report.errors),
        "warnings": len(layers.report.warnings),
        "roads": network_report(layers.index, fac)
        if layers.roads is not None and len(layers.roads) and len(units)
        else None,
    }


def _counts(df: pd.DataFrame, column: str, order: Sequence[str]) -> dict[str, int]:
    if len(df) == 0 or column not in df.columns:
        return {}
    counts = df[column].value_counts()
    return {k: int(counts[k]) for k in order if k in counts.index}


def format_summary(summary: Mapping, lang: str = "en") -> str:
    """The summary as plain text for the terminal (labels from the message catalogue)."""
    def num(v: float, digits: int = 0) -> str:
        return "-" if v != v else f"{v:,.{digits}f}"  # NaN check without numpy

    lines = [
        t("layers.summary.title", lang, name=summary["name"]),
        f"  {t('layers.summary.population', lang)}: {num(summary['population'])}",
        f"  {t('layers.summary.area', lang)}: {num(summary['area_km2'], 1)} km²",
        f"  {t('layers.summary.units', lang)}: {summary['units']:,}",
        f"  {t('layers.summary.facilities', lang)}: {summary['facilities']:,}"
        f" ({t('layers.summary.real', lang)} {summary['real']:,},"
        f" {t('layers.summary.illustrative', lang)} {summary['illustrative']:,})",
        f"  {t('layers.summary.by_level', lang)}: "
        + ", ".join(f"{t(f'vocab.level.{k}', lang)} {v}" for k, v in summary["by_level"].items()),
        f"  {t('layers.summary.by_type', lang)}: "
        + ", ".join(f"{t(f'vocab.type.{k}', lang)} {v}" for k, v in summary["by_type"].items()),
        f"  {t('layers.summary.beds', lang)}: {num(summary['beds'])}"
        f" ({t('layers.summary.beds_per_1000', lang)}: {num(summary['beds_per_1000'], 2)})"
        + (
            f" [{t('layers.summary.illustrative_share', lang, share=f'{share:.0%}')}]"
            if (share := summary.get("beds_illustrative_share", 0.0)) > 0
            else ""
        ),
        f"  {t('layers.summary.eligible_leads', lang)}: {summary['eligible_leads']}"
        + (
            f" [{t('layers.summary.assumed_count', lang, count=summary['eligible_leads_assumed'])}]"
            if summary.get("eligible_leads_assumed")
            else ""
        ),
    ]
    roads = summary.get("roads")
    if roads:
        lines.append(f"  {t('layers.summary.roads', lang)}: {roads_text(roads, lang)}")
    return "\n".join(lines)


def roads_text(roads: Mapping, lang: str = "en") -> str:
    """One sentence on a road network (:func:`grid_planning.city.costs.network_report`): lines,
    pieces, crossings joined and the residents who fall back to straight-line time."""
    return t("layers.summary.roads_detail", lang, lines=f"{roads['lines']:,}",
             pieces=f"{roads['pieces']:,}", largest=f"{roads['largest_share']:.1%}",
             joined=f"{roads['crossings_joined']:,}",
             fallback=f"{roads['fallback_residents']:,.0f}",
             share=f"{roads['fallback_share']:.1%}")


def roads_line(layers: CityLayers, lang: str = "en") -> str | None:
    """:func:`roads_text` for a city's road layer (None without roads): the data page's line."""
    if layers.roads is None or not len(layers.roads) or not len(layers.units):
        return None
    report = network_report(layers.index, layers.facilities)
    sep = "：" if lang == "zh" else ": "
    return f"{t('layers.summary.roads', lang)}{sep}{roads_text(report, lang)}"


