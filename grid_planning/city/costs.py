"""Travel time in minutes from every population unit to every facility.

Two modes:

``straight``
    Euclidean distance between the unit's representative point and the facility, in the metric CRS,
    times a detour factor (default 1.3), at an urban speed (default 30 km/h).
``roads``
    Shortest path over the road network. The network is built from the line vertices (vertices
    within ``snap_m`` metres are merged, so lines that meet end-to-end or cross at a shared node are
    connected); each edge takes ``length / speed`` where the speed is the road's ``speed_kmh`` when
    given, else the speed of its ``highway`` class (:data:`DEFAULT_ROAD_SPEEDS`), else
    ``default_road_speed_kmh``. Units and facilities join the network at the nearest point of the
    nearest road, and that distance is travelled at ``access_speed_kmh``; a facility nearer to a
    unit than the two roads they would join is reached directly at that speed; fragments of the network (pieces under 1 % of
    its nodes) are not snapped to. Shortest paths come from
    :func:`scipy.sparse.csgraph.dijkstra` run from the facilities' nodes only.

    Before the shortest paths, lines that cross without a shared vertex are joined unless the
    layer marks grade separation, and chains of shape vertices are contracted away (exactly);
    see :mod:`grid_planning.geo.network`. Facilities become nodes where they join their road and
    units reach either end of their road segment, so the graph does not grow with the units.

    Disconnected networks: when a unit's node cannot reach a facility's node (separate road
    components, e.g. an island without a bridge in the data), that pair falls back to the
    straight-line time (x detour at ``speed_kmh``). Times are therefore always finite.

``auto`` picks ``roads`` when the layers have roads, else ``straight``.

A :class:`CostMatrix` computes a facility's column when it is first read (the planner reads its
candidate leads' columns, the roles a few facilities', the metrics and maps all of them), so a
plan of the roads benchmark's 100,000-unit city runs 80 shortest-path trees (40 candidate leads,
40 facilities whose roles depend on travel time) instead of one per facility (400).

Results are kept by the city's :class:`~grid_planning.city.index.CityIndex` (``layers.index``) per set
of facilities and parameters, and shared by content (units, roads, cost model, facilities) through
``grid_planning.city.index.SHARED_COSTS``, so every session planning the same city shares them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from grid_planning.domain.request import CostParams
from grid_planning.geo import network
from grid_planning.geo.water import water_distance

T = TypeVar("T")



class CostSource(Protocol):
    """What the travel costs read of a city: :class:`~grid_planning.city.index.CityIndex` is one
    (the index imports this module, so it is not imported here)."""

    @property
    def roads(self) -> gpd.GeoDataFrame | None: ...
    @property
    def metric_crs(self) -> str: ...
    @property
    def unit_ids(self) -> pd.Index: ...
    @property
    def population(self) -> np.ndarray: ...
    @property
    def points(self) -> np.ndarray: ...
    def costs(self, params: CostParams, facilities: gpd.GeoDataFrame) -> CostMatrix: ...
    def road_network(self, params: CostParams) -> RoadNetwork: ...
    def water_metric(self) -> tuple[shapely.Geometry, np.ndarray, np.ndarray] | None: ...


class CostedCity(Protocol):
    """A city whose facilities have travel costs: :class:`~grid_planning.city.layers.CityLayers`
    is one."""

    @property
    def facilities(self) -> gpd.GeoDataFrame: ...
    @property
    def index(self) -> CostSource: ...


class CostMatrix:
    """Travel minutes, units (rows, in ``layers.units`` order) x facilities (columns).

    The columns are computed when first asked for and kept: the planner needs the columns of its
    candidate leads, the roles those of a few facilities, the metrics and maps every column. A
    column is the same numbers whichever way it is reached (:meth:`cols` or :attr:`minutes`), and
    each is computed once however many sessions share the matrix (a lock guards the filling).

    Parameters
    ----------
    minutes : numpy.ndarray, optional
        The whole matrix, when it is already known.
    unit_ids, facility_ids : pandas.Index
        Row and column labels.
    mode : {"roads", "straight"}
        The mode actually used.
    columns : callable, optional
        ``columns(positions) -> (n_units, len(positions))`` float32 minutes of those facility
        columns; used instead of ``minutes``.
    key : str, optional
        What the minutes are made from (the city's content, the cost model, the facilities), when
        known: a digest of the matrix without reading it (:func:`grid_planning.base.cache.costs_digest`).

    Attributes
    ----------
    minutes : numpy.ndarray
        float32, shape ``(n_units, n_facilities)``, always finite (every column computed on first
        access).
    unit_ids, facility_ids, mode, key
        As given.
    """

    def __init__(
        self,
        minutes: np.ndarray | None = None,
        unit_ids: pd.Index | None = None,
        facility_ids: pd.Index | None = None,
        mode: str = "straight",
        *,
        columns: Callable[[np.ndarray], np.ndarray] | None = None,
        key: str | None = None,
    ) -> None:
        if minutes is None and columns is None:
            raise ValueError("a CostMatrix needs its minutes or a way to compute its columns")
        self.unit_ids = pd.Index(unit_ids if unit_ids is not None else [])
        self.facility_ids = pd.Index(facility_ids if facility_ids is not None else [])
        self.mode = mode
        self.key = key
        self._lock = threading.RLock()
        self._full = minutes
        self._columns = columns
        self._buf: np.ndarray | None = None
        self._have = np.zeros(len(self.facility_ids), dtype=bool)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_units, n_facilities)``, without computing anything."""
        return len(self.unit_ids), len(self.facility_ids)

    @property
    def computed(self) -> int:
        """How many columns are computed so far (all of them once :attr:`minutes` was read)."""
        return len(self.facility_ids) if self._full is not None else int(self._have.sum())

    @property
    def minutes(self) -> np.ndarray:
        """The whole matrix (float32, C order, read-only); computes the columns not yet known."""
        full = self._full
        if full is not None:
            return full
        with self._lock:
            if self._full is None:
                self._fill(np.arange(len(self.facility_ids)))
            return self._full

    def col_index(self, facility_ids) -> np.ndarray:
        """Column positions of ``facility_ids``; raises ``KeyError`` naming unknown ids."""
        ids = pd.Index([str(f) for f in np.atleast_1d(np.asarray(facility_ids, dtype=object))])
        pos = self.facility_ids.get_indexer(ids)
        if (pos < 0).any():
            raise KeyError(f"unknown facility ids: {list(ids[pos < 0])}")
        return pos

    def cols(self, facility_ids) -> np.ndarray:
        """Sub-matrix ``(n_units, len(facility_ids))`` for the given facility ids, in that order
        (only those columns are computed)."""
        return self.take(self.col_index(facility_ids))

    def take(self, positions) -> np.ndarray:
        """Sub-matrix of the columns at ``positions`` (C order, a copy)."""
        pos = np.asarray(positions, dtype=np.int64).ravel()
        full = self._full
        if full is not None:
            return full[:, pos]
        with self._lock:
            if self._full is not None:
                return self._full[:, pos]
            self._fill(pos)
            buf = self._buf if self._full is None else self._full
            return np.ascontiguousarray(buf[:, pos])

    def _fill(self, pos: np.ndarray) -> None:
        # Columns go into a Fortran-ordered buffer (a column is contiguous; untouched columns cost
        # no memory); once every column is known the C-ordered matrix replaces it.
        missing = np.unique(pos[~self._have[pos]]) if len(pos) else pos
        if len(missing):
            if self._buf is None:
                self._buf = np.empty(self.shape, dtype=np.float32, order="F")
            block = np.asarray(self._columns(missing), dtype=np.float32)
            self._buf[:, missing] = block
            self._have[missing] = True
        if self._have.all() and self._full is None:
            full = (
                np.ascontiguousarray(self._buf)
                if self._buf is not None
                else np.zeros(self.shape, dtype=np.float32)
            )
            full.setflags(write=False)
            self._full, self._buf = full, None

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a DataFrame (unit ids x facility ids)."""
        return pd.DataFrame(self.minutes, index=self.unit_ids, columns=self.facility_ids)


def travel_costs(
    layers: CostedCity,
    params: CostParams = CostParams(),  # noqa: B008 - frozen dataclass, safe default
    facilities: gpd.GeoDataFrame | None = None,
) -> CostMatrix:
    """Minutes from every unit to every facility.

    Parameters
    ----------
    layers : CityLayers
        City layers; ``layers.roads`` is used in ``roads``/``auto`` mode.
    params : CostParams
        Travel model.
    facilities : GeoDataFrame, optional
        Facilities to use instead of ``layers.facilities`` (e.g. after what-if edits).

    Returns
    -------
    CostMatrix
        Kept by the city's index (``layers.index``) per facilities and parameters.

    Raises
    ------
    ValueError
        ``mode="roads"`` without roads in the layers.
    """
    fac = layers.facilities if facilities is None else facilities
    return layers.index.costs(params, fac)


def compute_costs(
    index: CostSource, params: CostParams, facilities: gpd.GeoDataFrame, key: str | None = None
) -> CostMatrix:
    """The travel minutes of :func:`travel_costs` (no caching) from a city index: a
    :class:`CostMatrix` whose columns are computed when first asked for.

    Raises
    ------
    ValueError
        ``mode="roads"`` without roads (at once, not when a column is first asked for).
    """
    # Whether there are roads, without reprojecting them (a straight-line matrix never reads them).
    has_roads = index.roads is not None and len(index.roads) > 0
    mode = params.mode
    if mode == "auto":
        mode = "roads" if has_roads else "straight"
    if mode == "roads" and not has_roads:
        raise ValueError("cost mode 'roads' needs a road layer; use 'straight' or load roads")
    upts = index.points
    fpts = shapely.get_coordinates(facilities.to_crs(index.metric_crs).geometry.values)
    water = index.water_metric()
    if mode == "roads":
        times = _Lazy(lambda: RoadTimes(index.road_network(params), upts, fpts, params))

        def columns(pos: np.ndarray) -> np.ndarray:
            minutes = times.get().columns(pos)
            bad = ~np.isfinite(minutes)
            if bad.any():
                minutes[bad] = straight_minutes(upts, fpts[pos], params, water)[bad]
            return minutes
    else:

        def columns(pos: np.ndarray) -> np.ndarray:
            return straight_minutes(upts, fpts[pos], params, water)

    return CostMatrix(
        unit_ids=index.unit_ids,
        facility_ids=pd.Index(facilities["id"].astype(str), name="facility_id"),
        mode=mode,
        columns=columns,
        key=key,
    )


class _Lazy(Generic[T]):
    """A value made on first use, once (callers hold the cost matrix's lock)."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._value: T | None = None

    def get(self) -> T:
        if self._value is None:
            self._value = self._make()
        return self._value


def straight_minutes(
    upts: np.ndarray, fpts: np.ndarray, params: CostParams, water: tuple | None = None
) -> np.ndarray:
    """Straight-line minutes ``(n_units, n_facilities)``: distance x detour / speed (float32).

    With ``water`` (``(outline, water geometries, crossing coordinates)``, metric), a pair on
    different banks goes through the best crossings (:func:`grid_planning.geo.water.water_distance`).
    """
    if len(upts) == 0 or len(fpts) == 0:
        return np.zeros((len(upts), len(fpts)), dtype=np.float32)
    u = np.asarray(upts, dtype=np.float64)
    f = np.asarray(fpts, dtype=np.float64)
    # float64 euclidean in one C pass, or through the crossings where water lies between
    dist = water_distance(u, f, *water) if water is not None else cdist(u, f)
    dist *= params.detour * 60.0 / (params.speed_kmh * 1000.0)
    return dist.astype(np.float32)


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A road layer as a graph (see :func:`road_network`).

    Attributes
    ----------
    graph : scipy.sparse.csr_matrix
        Symmetric ``n_nodes x n_nodes`` matrix of edge minutes (the fastest of parallel edges).
    node_xy : numpy.ndarray
        ``(n_nodes, 2)`` metric coordinates of the nodes.
    crossings_joined : int
        Crossings without a shared vertex that were joined (0 when the layer was used as it is).
    noding : str
        ``"levels"`` (joined on the same grade level: the layer has ``bridge``/``tunnel``/``layer``
        columns), ``"all"`` (a CAD-style layer: every crossing joined) or ``"none"`` (the layer's
        crossings already share vertices).
    unnoded_share : float
        Share of sampled crossings without a shared vertex (NaN when not measured).
    """

    graph: sp.csr_matrix
    node_xy: np.ndarray
    crossings_joined: int = 0
    noding: str = "none"
    unnoded_share: float = float("nan")

    @property
    def piece(self) -> np.ndarray:
        """Connected piece of every node (0 = the largest)."""
        return network.pieces_by_size(self.graph)

    @property
    def snappable(self) -> np.ndarray:
        """Nodes units and facilities may be snapped to: those of pieces holding at least
        :data:`grid_planning.geo.network.FRAGMENT_SHARE` of the nodes (and always the largest).
        Smaller pieces are fragments (a driveway, a gap in the data): snapping a hospital to one
        would send all its trips to straight-line time."""
        return network.major_nodes(self.piece)


def road_graph(roads_m: gpd.GeoDataFrame, params: CostParams) -> tuple[sp.csr_matrix, np.ndarray]:
    """Road network as a sparse matrix of edge minutes, and node coordinates.

    Parameters
    ----------
    roads_m : GeoDataFrame
        Road lines in a metric CRS, optional ``highway`` and ``speed_kmh`` columns (and
        ``bridge``/``tunnel``/``layer`` for grade separation, see :mod:`grid_planning.geo.network`).
    params : CostParams
        Speeds and snapping tolerance.

    Returns
    -------
    (csr_matrix, ndarray)
        Symmetric ``n_nodes x n_nodes`` matrix of minutes (the fastest edge between two nodes) and
        ``(n_nodes, 2)`` node coordinates.
    """
    net = road_network(roads_m, params)
    return net.graph, net.node_xy


def road_network(roads_m: gpd.GeoDataFrame, params: CostParams) -> RoadNetwork:
    """The road layer as a graph, crossings joined as :mod:`grid_planning.geo.network` says."""
    lines, part_of = shapely.get_parts(roads_m.geometry.values, return_index=True)
    speeds = _road_speeds(roads_m, params)[part_of]
    if len(lines) == 0:
        return RoadNetwork(sp.csr_matrix((0, 0)), np.zeros((0, 2)))
    levels = network.grade_levels(roads_m)
    share = float("nan")
    if levels is not None:
        noding = "levels"
        levels = levels[part_of]
    else:
        unnoded, share = network.needs_noding(lines, params.snap_m)
        noding = "all" if unnoded else "none"
    if noding == "none":
        coords, line_idx = shapely.get_coordinates(lines, return_index=True)
        joined = 0
    else:
        coords, line_idx, joined = network.node_lines(lines, levels)
    if len(coords) < 2:
        return RoadNetwork(sp.csr_matrix((0, 0)), np.zeros((0, 2)), joined, noding, share)
    # Merge vertices within snap_m: exact duplicates first, then near-duplicates via a KD-tree.
    # Each (x, y) row read as one complex number: numpy orders complex values by real part, then
    # imaginary part, which is the row order of ``np.unique(axis=0)`` (the same unique rows and
    # inverse), with a 1-D sort instead of a structured one (~10x faster on 300,000 vertices).
    rows = np.ascontiguousarray(np.round(coords, 3), dtype=np.float64).view(np.complex128).ravel()
    uniq_c, inv = np.unique(rows, return_inverse=True)
    uniq = uniq_c.view(np.float64).reshape(-1, 2)
    inv = inv.ravel()
    parent = np.arange(len(uniq))
    if params.snap_m > 0 and len(uniq) > 1:
        pairs = cKDTree(uniq).query_pairs(params.snap_m, output_type="ndarray")
        if len(pairs):
            g = sp.csr_matrix(
                (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(uniq),) * 2
            )
            _, parent = connected_components(g, directed=False)
    node = parent[inv]
    n_nodes = int(node.max()) + 1
    node_xy = np.zeros((n_nodes, 2))
    np.add.at(node_xy, node, coords)
    node_xy /= np.bincount(node, minlength=n_nodes)[:, None]
    same_line = line_idx[1:] == line_idx[:-1]
    a, b = node[:-1][same_line], node[1:][same_line]
    seg_len = np.hypot(*(coords[1:][same_line] - coords[:-1][same_line]).T)
    minutes = seg_len / 1000.0 / speeds[line_idx[:-1][same_line]] * 60.0
    graph = network.symmetric_min(a, b, minutes, n_nodes)
    return RoadNetwork(graph, node_xy, joined, noding, share)


def _road_speeds(roads_m: gpd.GeoDataFrame, params: CostParams) -> np.ndarray:
    speed = np.full(len(roads_m), float(params.default_road_speed_kmh))
    if "highway" in roads_m.columns:
        by_class = dict(params.road_speeds)
        cls = roads_m["highway"].astype(object).where(roads_m["highway"].notna(), None)
        mapped = np.array(
            [by_class.get(str(c).strip().lower(), np.nan) if c else np.nan for c in cls]
        )
        speed = np.where(np.isfinite(mapped), mapped, speed)
    if "speed_kmh" in roads_m.columns:
        given = pd.to_numeric(roads_m["speed_kmh"], errors="coerce").to_numpy(dtype=float)
        speed = np.where(np.isfinite(given) & (given > 0), given, speed)
    return speed


def road_minutes(
    roads_m: gpd.GeoDataFrame | RoadNetwork,
    upts: np.ndarray,
    fpts: np.ndarray,
    params: CostParams,
) -> np.ndarray:
    """Network minutes ``(n_units, n_facilities)``; ``inf`` where no path exists (see module doc
    and :class:`RoadTimes`, which computes them column by column)."""
    net = roads_m if isinstance(roads_m, RoadNetwork) else road_network(roads_m, params)
    return RoadTimes(net, upts, fpts, params).columns(np.arange(len(fpts)))


class RoadTimes:
    """Units and facilities joined to a road network, ready for shortest paths by facility.

    Units and facilities join the network at the nearest point of the nearest road
    (:func:`grid_planning.geo.network.attach_points`); chains of shape vertices are then
    contracted away (:func:`grid_planning.geo.network.contract`, exact). :meth:`columns` runs one
    Dijkstra per distinct facility node asked for on the smaller graph. The joins are made for
    every facility at once, so a column is the same numbers whichever columns are asked with it.

    Parameters
    ----------
    net : RoadNetwork
        The road graph.
    upts, fpts : numpy.ndarray
        ``(n, 2)`` and ``(m, 2)`` metric coordinates of the units and facilities.
    params : CostParams
        Access speed.
    """

    def __init__(self, net: RoadNetwork, upts: np.ndarray, fpts: np.ndarray, params: CostParams) -> None:
        self.upts = np.asarray(upts, dtype=float).reshape(-1, 2)
        self.fpts = np.asarray(fpts, dtype=float).reshape(-1, 2)
        self.small: sp.csr_matrix | None = None
        self._tree: cKDTree | None = None
        n_f = len(self.fpts)
        if net.graph.shape[0] == 0 or n_f == 0:
            return
        # Facilities become nodes where they join their road; units are located on the segments
        # of that graph and reach either end of theirs (exact, without a node per unit: a city of
        # 100,000 units would otherwise grow its graph by 100,000 nodes for every Dijkstra run).
        segments: dict = {}  # the road segments' lines, built once for both joins
        graph, df, fxy = network.attach_points(
            net.graph, net.node_xy, net.snappable, self.fpts, segments=segments
        )
        n_nodes = net.graph.shape[0]
        snappable = np.r_[net.snappable, np.ones(n_f, dtype=bool)]
        loc = network.locate_on_segments(
            graph, np.vstack([net.node_xy, fxy]), snappable, self.upts, with_xy=False,
            segments=segments,
        )
        if len(loc["edge"]) == 0:
            return
        self.du = loc["dist"]
        keep = np.zeros(graph.shape[0], dtype=bool)
        keep[loc["lo"]] = True
        keep[loc["hi"]] = True
        keep[n_nodes:] = True
        self.small, pos = network.contract(graph, keep)
        self.ua, self.ub = pos[loc["lo"]], pos[loc["hi"]]
        self.along_a = (loc["frac"] * loc["w"]).astype(np.float32)
        self.along_b = ((1.0 - loc["frac"]) * loc["w"]).astype(np.float32)
        self.nf = pos[n_nodes + np.arange(n_f)]
        self.access = 60.0 / (params.access_speed_kmh * 1000.0)
        self.ufix = (self.du * self.access).astype(np.float32)
        self.df = np.asarray(df)
        self.ffix = (self.df * self.access).astype(np.float32)

    def columns(self, positions: np.ndarray) -> np.ndarray:
        """Minutes ``(n_units, len(positions))`` to the facilities at ``positions``; ``inf``
        where no path exists."""
        pos = np.asarray(positions, dtype=np.int64).ravel()
        out = np.full((len(self.upts), len(pos)), np.inf, dtype=np.float32)
        if self.small is None or len(pos) == 0:
            return out
        # Dijkstra from each distinct facility node, in chunks to bound memory (chunk x n_nodes
        # float64).
        fnodes, finv = np.unique(self.nf[pos], return_inverse=True)
        finv = finv.ravel()
        chunk = max(1, int(2e7 // max(1, self.small.shape[0])))
        for s in range(0, len(fnodes), chunk):
            src = fnodes[s : s + chunk]
            # directed=True on the symmetric graph: the same distances (each node's is the least
            # of the same sums), without scipy adding the transposed graph on every call (~25 %).
            dist = dijkstra(self.small, directed=True, indices=src).astype(np.float32)
            # The same float32 sums as ``minimum(dist[:, ua] + along_a, dist[:, ub] + along_b)``
            # and ``+ ufix + ffix``, added in place (fewer 100,000-row temporaries).
            via_a = dist[:, self.ua]
            via_a += self.along_a
            via_b = dist[:, self.ub]
            via_b += self.along_b
            block = np.minimum(via_a, via_b, out=via_a).T
            cols = np.flatnonzero((finv >= s) & (finv < s + len(src)))
            fcols = pos[cols]
            minutes = block[:, finv[cols] - s]
            minutes += self.ufix[:, None]
            minutes += self.ffix[None, fcols]
            self._direct(minutes, fcols)
            out[:, cols] = minutes
        return out

    def _direct(self, minutes: np.ndarray, fcols: np.ndarray) -> None:
        """A facility nearer than the roads both would join is reached directly (a hospital in
        the unit itself is not two road-access legs away); never across a river, since the
        direct line is then longer than the two short legs to the roads on each bank.

        Only units within reach of that rule are measured (a KD-tree query with a margin, then
        the exact test on ``cdist``'s own distances), not every unit and facility."""
        reach = float(self.du.max(initial=0.0))
        if not np.isfinite(reach):
            reach = np.inf
        if self._tree is None:
            self._tree = cKDTree(self.upts)
        for j, f in enumerate(fcols.tolist()):
            radius = (reach + self.df[f]) * (1 + 1e-9) + 1e-6
            cand = np.asarray(
                self._tree.query_ball_point(self.fpts[f], radius, return_sorted=True), dtype=np.int64
            ) if np.isfinite(radius) else np.arange(len(self.upts))
            if not len(cand):
                continue
            direct = cdist(self.upts[cand], self.fpts[f : f + 1])[:, 0]
            near = direct <= self.du[cand] + self.df[f]
            if near.any():
                rows = cand[near]
                minutes[rows, j] = np.minimum(
                    minutes[rows, j], (direct[near] * self.access).astype(np.float32)
                )


def network_report(index: CostSource, facilities: gpd.GeoDataFrame, params: CostParams = CostParams()) -> dict:  # noqa: B008
    """What a road layer gives the planner: its pieces and who falls back to straight-line time.

    Units and facilities are joined to the network exactly as :func:`road_minutes` joins them.
    A unit *falls back* when the piece of the network it joins holds fewer than half of the
    facilities: its trips to the others take straight-line time.

    Parameters
    ----------
    index : CityIndex
        The city's index (``layers.index``), with roads.
    facilities : GeoDataFrame
        The city's facilities.
    params : CostParams
        Speeds and snapping.

    Returns
    -------
    dict
        ``lines``, ``nodes``, ``edges``, ``pieces``, ``largest_share`` (of the nodes),
        ``fragments`` (pieces under 1 % of the nodes, not snapped to), ``noding``,
        ``crossings_joined``, ``unnoded_share``, ``fallback_units``, ``fallback_residents``,
        ``fallback_share`` (of all residents), ``fallback_unit_ids`` (up to 10).
    """
    net = index.road_network(params)
    piece = net.piece
    sizes = np.bincount(piece) if len(piece) else np.zeros(0, dtype=np.int64)
    upts = index.points
    fpts = shapely.get_coordinates(facilities.to_crs(index.metric_crs).geometry.values)
    graph, _, _ = network.attach_points(
        net.graph, net.node_xy, net.snappable, np.vstack([upts, fpts])
    )
    comp = network.pieces(graph)[net.graph.shape[0]:]
    u_comp, f_comp = comp[: len(upts)], comp[len(upts):]
    if len(f_comp):
        per_piece = pd.Series(f_comp).value_counts()
        covered = per_piece.index[per_piece.to_numpy() * 2 > len(f_comp)]
        falls = ~np.isin(u_comp, np.asarray(covered))
    else:
        falls = np.zeros(len(u_comp), dtype=bool)
    pop = index.population
    total = float(pop.sum())
    ids = index.unit_ids.to_numpy()[falls]
    order = np.argsort(-pop[falls], kind="stable")
    return {
        "lines": int(len(index.roads)),
        "nodes": int(net.graph.shape[0]),
        "edges": int(net.graph.nnz // 2),
        "pieces": int(len(sizes)),
        "largest_share": float(sizes.max() / sizes.sum()) if len(sizes) else 0.0,
        "fragments": int((sizes < network.FRAGMENT_SHARE * sizes.sum()).sum()) if len(sizes) else 0,
        "noding": net.noding,
        "crossings_joined": int(net.crossings_joined),
        "unnoded_share": float(net.unnoded_share),
        "fallback_units": int(falls.sum()),
        "fallback_residents": float(pop[falls].sum()),
        "fallback_share": float(pop[falls].sum() / total) if total > 0 else 0.0,
        "fallback_unit_ids": [str(u) for u in ids[order][:10]],
    }
