"""One index per city: what the planner, the checks, the rosters and the maps derive from the units.

A :class:`CityIndex` is built from a city's layers (``layers.index``, made on first use) and holds,
computed once and on demand:

- the units' geometry in the metric CRS, their representative points, areas and perimeters, and
  the boundary length each pair of touching units shares (compactness);
- each unit's territory (the unit plus the unpopulated land nearest to it), which tiles the city's
  boundary: grids are drawn and measured from it (:mod:`grid_planning.geo.territory`);
- the adjacency graph (:func:`grid_planning.geo.graph.build_adjacency`) with the island links it added;
- where each facility lies (:meth:`CityIndex.locate`: unit, distance outside the city), per set of
  facilities (what-if edits make new sets);
- travel costs (:meth:`CityIndex.costs`), per cost model and set of facilities.

It replaces the module-level caches the planner, graph, costs and metrics modules used to keep:
there is one object per city, it dies with the layers, and it is safe when several browser
sessions plan at once (Streamlit runs sessions in threads): every value is computed under the
index's lock, so two threads asking for the same thing compute it once and get the same object.
The values are read-only (numpy arrays are marked non-writeable).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_planning.base.cache import SharedCache, content_key, facilities_key
from grid_planning.base.gcpause import paused_collection
from grid_planning.city.costs import CostMatrix, RoadNetwork, compute_costs, road_network
from grid_planning.domain.rules import outside_city_m
from grid_planning.geo import graph, territory
from grid_planning.geo.water import unit_sides

if TYPE_CHECKING:
    import scipy.sparse as sp

    from grid_planning.domain.request import CostParams

T = TypeVar("T")


#: How many facility sets and cost matrices an index keeps (what-if edits make new ones).
FACILITY_CACHE = 8


#: How many cost matrices an index keeps, and the server keeps per city.
COST_CACHE = 6


#: Travel-cost matrices shared by every session of the server, by content (units, roads, cost
#: model, facilities): two planners who upload the same city compute its road times once.
SHARED_COSTS: SharedCache[CostMatrix] = SharedCache(max_entries=2 * COST_CACHE, per_city=COST_CACHE)


#: Columns of a road layer that travel times depend on (besides the geometry).
ROAD_COLUMNS = ("highway", "speed_kmh", "bridge", "tunnel", "layer")


@dataclass(frozen=True)
class FacilityLocation:
    """Where a set of facilities lies among the units (see :func:`graph.locate_points`).

    Attributes
    ----------
    ids : pandas.Index
        Facility ids (str), in the order of the facilities given.
    unit : numpy.ndarray
        Position of the unit each facility lies in (nearest unit when outside).
    distance_m : numpy.ndarray
        Metres outside every unit (0 inside).
    """

    ids: pd.Index
    unit: np.ndarray
    distance_m: np.ndarray

    @property
    def outside(self) -> np.ndarray:
        """True where a facility lies outside the city (beyond :func:`grid_planning.domain.rules.outside_city_m`)."""
        return self.distance_m > outside_city_m()

    def unit_of(self, facility_id: str) -> int:
        """Unit position of one facility (``KeyError`` for an unknown id)."""
        return int(self.unit[self.ids.get_loc(str(facility_id))])


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


class CityIndex:
    """Derived structures of one city's units (see the module docstring).

    Parameters
    ----------
    units : GeoDataFrame
        The city's population units (validated: every geometry usable).
    metric_crs : str
        The projected CRS the layers chose.
    roads : GeoDataFrame, optional
        Road lines, for road travel times.
    boundary : GeoDataFrame, optional
        The city's outline, which the units' territories tile (:attr:`territory`) and the water
        cuts into banks (default for the banks: the union of the units).
    water, crossings : GeoDataFrame, optional
        Water and its crossings: straight-line travel crosses water only at a crossing.
    """

    def __init__(
        self,
        units: gpd.GeoDataFrame,
        metric_crs: str,
        roads: gpd.GeoDataFrame | None = None,
        boundary: gpd.GeoDataFrame | None = None,
        *,
        water: gpd.GeoDataFrame | None = None,
        crossings: gpd.GeoDataFrame | None = None,
    ) -> None:
        self.units = units
        self.metric_crs = str(metric_crs)
        self.roads = roads
        self.boundary = boundary
        self.water = water if water is not None and len(water) else None
        self.crossings = crossings if crossings is not None and len(crossings) else None
        self.outline = boundary
        self._lock = threading.RLock()
        self._values: dict[str, Any] = {}
        # This city's facility locations and cost matrices (what-if edits make new ones): bounded
        # per city, computed once when sessions ask at once (the server's one cache idiom).
        self._facilities: SharedCache = SharedCache(max_entries=FACILITY_CACHE)
        self._costs: SharedCache[CostMatrix] = SharedCache(max_entries=COST_CACHE)

    def _once(self, name: str, make: Callable[[], T]) -> T:
        # A per-object memo, not a server-wide cache: the city's own geometry, adjacency and
        # graph, one of each, living and dying with this index (which lives with its layers).
        hit = self._values.get(name)
        if hit is not None:
            return hit
        with self._lock:
            hit = self._values.get(name)
            if hit is None:
                with paused_collection():  # bulk allocations: see grid_planning.base.gcpause
                    hit = make()
                self._values[name] = hit
            return hit

    # ---- units ---------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.units)

    @property
    def unit_ids(self) -> pd.Index:
        """Unit ids (str) in layer order."""
        return self._once("unit_ids", lambda: pd.Index(self.units["id"].astype(str), name="unit_id"))

    @property
    def geometry(self) -> np.ndarray:
        """Unit polygons in the metric CRS."""
        return self._once(
            "geometry", lambda: _frozen(graph.metric_geometry(self.units, self.metric_crs))
        )

    @property
    def population(self) -> np.ndarray:
        """Residents per unit (float, missing = 0)."""
        return self._once(
            "population",
            lambda: _frozen(
                pd.to_numeric(self.units["population"], errors="coerce")
                .fillna(0.0)
                .clip(lower=0)
                .to_numpy(dtype=np.float64)
            ),
        )

    @property
    def points(self) -> np.ndarray:
        """``(n, 2)`` metric coordinates of each unit's representative point: the centroid when
        it lies inside the unit (the usual case), else a point on the surface (crescents)."""

        def make() -> np.ndarray:
            g = self.geometry
            c = shapely.centroid(g)
            inside = shapely.contains(g, c)
            if not inside.all():
                c = np.where(inside, c, shapely.point_on_surface(g))
            return _frozen(shapely.get_coordinates(c))

        return self._once("points", make)

    @property
    def area_km2(self) -> np.ndarray:
        """Unit areas (km²)."""
        return self._once("area_km2", lambda: _frozen(shapely.area(self.geometry) / 1e6))

    @property
    def territory(self) -> np.ndarray:
        """Each unit's territory in the metric CRS: the unit plus the unpopulated land nearest
        to it, so that the territories tile the city's boundary
        (:func:`grid_planning.geo.territory.tile`). Grids are drawn and measured from these."""

        return self._once("territory", lambda: _frozen(territory.tile(self.geometry, None, self._land_pieces)))

    @property
    def _land_pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """The unpopulated land in pieces and the unit each goes to
        (:func:`grid_planning.geo.territory.land_pieces`): what :attr:`territory` and
        :attr:`territory_land` are made of, computed once."""

        def make() -> tuple[np.ndarray, np.ndarray]:
            b = self.boundary
            outline = None
            if b is not None and len(b) and not b.geometry.is_empty.all():
                outline = shapely.make_valid(b.to_crs(self.metric_crs).geometry.union_all())
            return territory.land_pieces(self.geometry, outline)

        return self._once("land_pieces", make)

    @property
    def territory_land(self) -> np.ndarray:
        """The unpopulated land each unit's :attr:`territory` adds to the unit (territory minus
        unit; empty where the territory is the unit), in the metric CRS. A grid's territory is the
        union of its units and of their land: the units form a coverage (a fast, exact coverage
        union), the land pieces are few."""

        return self._once("territory_land",
                          lambda: _frozen(territory.land(self.geometry, self._land_pieces)))

    @property
    def territory_km2(self) -> np.ndarray:
        """Area of each unit's :attr:`territory` (km²); they add up to the city's area."""
        return self._once("territory_km2", lambda: _frozen(shapely.area(self.territory) / 1e6))

    @property
    def perimeter_km(self) -> np.ndarray:
        """Unit perimeters (km)."""
        return self._once("perimeter_km", lambda: _frozen(shapely.length(self.geometry) / 1e3))

    @property
    def shared_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Pairs of touching units ``(m, 2)`` and the boundary length (km) each pair shares."""

        def make() -> tuple[np.ndarray, np.ndarray]:
            geoms = self.geometry
            left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
            keep = left < right
            left, right = left[keep], right[keep]
            shared = shapely.length(shapely.intersection(geoms[left], geoms[right])) / 1e3
            pairs = (
                np.column_stack([left, right]).astype(np.int64)
                if len(left)
                else np.zeros((0, 2), np.int64)
            )
            return _frozen(pairs), _frozen(np.asarray(shared, dtype=float))

        return self._once("shared_edges", make)

    @property
    def graph(self) -> graph.Adjacency:
        """Rook adjacency with island links (:func:`grid_planning.geo.graph.build_adjacency`);
        with water and crossings, units on different banks touch only at a crossing
        (:func:`grid_planning.geo.graph.connect_across`)."""

        def make() -> graph.Adjacency:
            adj = graph.build_adjacency(self.geometry)
            wet = self.water_metric()
            if wet is None:
                return adj
            side, bridges = unit_sides(self.points, *wet)
            return graph.connect_across(self.geometry, adj, side, bridges)

        return self._once("graph", make)

    @property
    def adjacency(self) -> sp.csr_matrix:
        """The adjacency matrix (csr) of :attr:`graph`."""
        return self.graph.matrix

    @property
    def neighbours(self) -> list[list[int]]:
        """Neighbour positions of every unit (from :attr:`adjacency`)."""

        def make() -> list[list[int]]:
            adj = self.adjacency.tocsr()
            # one tolist and list slices, not a numpy slice and a tolist per unit (100,000 units)
            ptr, idx = adj.indptr.tolist(), adj.indices.tolist()
            return [idx[ptr[i] : ptr[i + 1]] for i in range(adj.shape[0])]

        return self._once("neighbours", make)

    @property
    def links(self) -> pd.DataFrame:
        """The island links, with unit ids and names: ``a``, ``b`` (positions), ``unit_a``,
        ``unit_b``, ``name_a``, ``name_b``, ``distance_m``."""

        def make() -> pd.DataFrame:
            links = self.graph.links.copy()
            ids = self.unit_ids.to_numpy()
            names = (
                self.units["name"].astype(str).to_numpy() if "name" in self.units else ids
            )
            for side in ("a", "b"):
                links[f"unit_{side}"] = ids[links[side].to_numpy()]
                links[f"name_{side}"] = names[links[side].to_numpy()]
            return links

        return self._once("links", make)

    # ---- contiguity ------------------------------------------------------------------------------
    def contiguity(self, labels: np.ndarray | pd.Series | list) -> pd.DataFrame:
        """Pieces and linked islands of every grid: the one contiguity rule.

        Parameters
        ----------
        labels : array-like
            Grid label of every unit (in unit order); ``None``/``""`` for an unassigned unit.

        Returns
        -------
        DataFrame
            Index grid label; ``parts`` (connected pieces on the adjacency graph, links
            included; 1 = contiguous) and ``linked_islands`` (links the grid depends on).
        """
        lab = np.array(labels, dtype=object)  # a copy; plain objects, not a string column
        lab[pd.isna(lab) | (lab == "")] = None
        codes, uniques = pd.factorize(lab, sort=True)
        parts = graph.component_counts(self.adjacency, codes, len(uniques))
        islands = graph.linked_islands(self.graph.links, codes, len(uniques))
        return pd.DataFrame(
            {"parts": parts.astype(int), "linked_islands": islands.astype(int)},
            index=pd.Index([str(u) for u in uniques], name="grid_id"),
        )

    # ---- facilities ------------------------------------------------------------------------------
    def locate(self, facilities: gpd.GeoDataFrame) -> FacilityLocation:
        """Where each facility lies: its unit and how far outside the city (see
        :func:`grid_planning.geo.graph.locate_points`), kept per set of facilities."""
        return self._facilities.get(facilities_key(facilities), lambda: self._locate(facilities))

    def _locate(self, facilities: gpd.GeoDataFrame) -> FacilityLocation:
        if len(facilities):
            pts = np.asarray(facilities.to_crs(self.metric_crs).geometry.values)
            unit, dist = graph.locate_points(self.geometry, pts)
        else:
            unit, dist = np.zeros(0, dtype=np.int64), np.zeros(0)
        return FacilityLocation(
            pd.Index(facilities["id"].astype(str).to_numpy(), name="id"),
            _frozen(unit),
            _frozen(np.asarray(dist, dtype=float)),
        )

    def costs(self, params: CostParams, facilities: gpd.GeoDataFrame) -> CostMatrix:
        """Travel minutes from every unit to every facility (:mod:`grid_planning.city.costs`), kept
        per cost model and set of facilities, and shared through :data:`SHARED_COSTS` with every
        other index of the same units and roads (another session's upload of the same files)."""
        fkey = facilities_key(facilities)

        def shared() -> CostMatrix:
            key = content_key("costs", self.content_digest, repr(params), fkey)
            return SHARED_COSTS.get(key, lambda: compute_costs(self, params, facilities, key),
                                    city=self.content_digest)

        return self._costs.get((params, fkey), shared)

    @property
    def content_digest(self) -> str:
        """A digest of what travel times depend on: unit ids and points, the metric CRS, and the
        road lines with their speed and grade columns."""

        def make() -> str:
            h = hashlib.sha256(self.metric_crs.encode())
            # tolist() first: iterating an Arrow-backed index yields one value per call (~0.3 s
            # for 100,000 ids); the joined text is the same.
            h.update("\x1f".join(self.unit_ids.to_numpy(dtype=object).tolist()).encode("utf-8"))
            h.update(np.ascontiguousarray(self.points).tobytes())
            for extra in (self.water, self.crossings):
                if extra is not None:
                    h.update(np.ascontiguousarray(
                        shapely.get_coordinates(extra.geometry.values)).tobytes())
            if self.roads is not None and len(self.roads):
                h.update(np.ascontiguousarray(
                    shapely.get_coordinates(self.roads.geometry.values)).tobytes())
                for col in ROAD_COLUMNS:
                    if col in self.roads.columns:
                        h.update(col.encode())
                        h.update(pd.util.hash_pandas_object(
                            self.roads[col].astype(str), index=False).to_numpy().tobytes())
            return h.hexdigest()

        return self._once("content_digest", make)

    def road_network(self, params: CostParams) -> RoadNetwork:
        """The road graph (:func:`grid_planning.city.costs.road_network`) for a cost model, kept
        per speeds and snapping (a what-if's new facilities reuse it)."""
        key = ("road_network", params.road_speeds, params.default_road_speed_kmh, params.snap_m)
        return self._once(repr(key), lambda: road_network(self.roads_metric(), params))

    def roads_metric(self) -> gpd.GeoDataFrame | None:
        """The road lines in the metric CRS (None without roads)."""
        if self.roads is None or not len(self.roads):
            return None

        def make() -> gpd.GeoDataFrame:
            r = self.roads
            return gpd.GeoDataFrame(
                r.drop(columns=r.geometry.name),
                geometry=graph.metric_geometry(r, self.metric_crs),
                crs=self.metric_crs,
            )

        return self._once("roads_metric", make)

    def water_metric(self) -> tuple[shapely.Geometry, np.ndarray, np.ndarray] | None:
        """``(outline, water geometries, crossing coordinates)`` in the metric CRS, or None
        without water and crossings."""
        if self.water is None or self.crossings is None:
            return None

        def make() -> tuple[shapely.Geometry, np.ndarray, np.ndarray]:
            if self.outline is not None and len(self.outline):
                outline = shapely.union_all(graph.metric_geometry(self.outline, self.metric_crs))
            else:
                outline = shapely.union_all(self.geometry)
            water = graph.metric_geometry(self.water, self.metric_crs)
            xy = shapely.get_coordinates(graph.metric_geometry(self.crossings, self.metric_crs))
            return outline, water, _frozen(xy)

        return self._once("water_metric", make)
