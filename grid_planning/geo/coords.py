"""Chinese map coordinates (GCJ-02, BD-09) to and from WGS84, and the metric CRS for a dataset.

Amap (高德), Tencent and Google China publish GCJ-02 ("Mars") coordinates; Baidu publishes BD-09,
a further shift of GCJ-02. A planner who copies points from those maps gets positions shifted by
several hundred metres, so the loaders convert them to WGS84 on request.

The forward GCJ-02 shift is the widely used public-domain formula (Krasovsky 1940 ellipsoid
constants). It has no closed-form inverse, so :func:`gcj02_to_wgs84` inverts it by fixed-point
iteration; the round trip WGS84 -> GCJ-02 -> WGS84 is well under 1 mm after a few iterations.
Points outside China's bounding box are left unchanged, which is the standard rule (the shift is
only applied inside China).

All functions take scalars or numpy arrays (any shape, broadcast together) and return numpy arrays
or floats of the same shape.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula


_EE = 0.00669342162296594323  # its first eccentricity squared


_X_PI = np.pi * 3000.0 / 180.0


#: Coordinate systems the loaders accept for lon/lat input.
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """True where a point lies outside China's bounding box (no GCJ-02 shift is applied there)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return ~((lon > 73.66) & (lon < 135.05) & (lat > 3.86) & (lat < 53.55))


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 shift (degrees) at a WGS84 position; zero outside China."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _out(lon: np.ndarray, lat: np.ndarray) -> tuple:
    # Scalars in, floats out, so ``wgs84_to_gcj02(114.3, 30.5)`` reads naturally.
    if lon.ndim == 0:
        return float(lon), float(lat)
    return lon, lat


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a, lat_a


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple:
    """WGS84 -> GCJ-02 (Amap/Tencent).

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(lon, 6), round(lat, 6)
    (116.410244, 39.916404)
    """
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _gcj_delta(lon, lat)
    return _out(lon + dlon, lat + dlat)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple:
    """GCJ-02 -> WGS84 by iterative inversion of the forward shift.

    Starting from the GCJ-02 position, the WGS84 guess is corrected by the residual of the forward
    shift until it moves less than ``tol_deg`` (1e-10 deg ~ 0.01 mm). The shift varies slowly in
    space, so this converges in 3-5 iterations.
    """
    lon, lat = _arrays(lon, lat)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(max_iter):
        dlon, dlat = _gcj_delta(wlon, wlat)
        rlon = lon - (wlon + dlon)
        rlat = lat - (wlat + dlat)
        wlon = wlon + rlon
        wlat = wlat + rlat
        if np.nanmax(np.abs(np.concatenate([np.ravel(rlon), np.ravel(rlat), [0.0]]))) < tol_deg:
            break
    return _out(wlon, wlat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple:
    """GCJ-02 -> BD-09 (Baidu)."""
    lon, lat = _arrays(lon, lat)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return _out(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple:
    """BD-09 (Baidu) -> GCJ-02.

    This is Baidu's published approximate inverse; its round trip error is a few centimetres.
    """
    lon, lat = _arrays(lon, lat)
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _out(z * np.cos(theta), z * np.sin(theta))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple:
    """BD-09 -> WGS84 (via GCJ-02)."""
    glon, glat = bd09_to_gcj02(lon, lat)
    return gcj02_to_wgs84(glon, glat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple:
    """WGS84 -> BD-09 (via GCJ-02)."""
    glon, glat = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(glon, glat)


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def normalise_coord_system(name: str | None) -> str:
    """Canonical name of a coordinate system ("wgs84", "gcj02" or "bd09").

    Raises
    ------
    ValueError
        For a name that is none of them.
    """
    if name is None:
        return "wgs84"
    folded = str(name).strip().lower().replace("-", "").replace("_", "")
    aliases = {
        "wgs84": "wgs84",
        "epsg4326": "wgs84",
        "gcj02": "gcj02",
        "gcj": "gcj02",
        "amap": "gcj02",
        "mars": "gcj02",
        "bd09": "bd09",
        "bd09ll": "bd09",
        "baidu": "bd09",
    }
    if folded not in aliases:
        raise ValueError(
            f"unknown coordinate system {name!r}; use one of {', '.join(COORD_SYSTEMS)}"
        )
    return aliases[folded]


def to_wgs84(lon: ArrayLike, lat: ArrayLike, from_: str = "wgs84") -> tuple:
    """Convert lon/lat given in ``from_`` ("wgs84", "gcj02", "bd09") to WGS84."""
    system = normalise_coord_system(from_)
    if system == "wgs84":
        return _out(*_arrays(lon, lat))
    return _TO_WGS84[system](lon, lat)


def convert_geometry(
    gdf: gpd.GeoDataFrame, from_: str = "gcj02", to: str = "wgs84"
) -> gpd.GeoDataFrame:
    """Shift every vertex of every geometry between WGS84, GCJ-02 and BD-09.

    Parameters
    ----------
    gdf : GeoDataFrame
        Geometries in lon/lat degrees (any geometry type; Z values are kept).
    from_, to : {"wgs84", "gcj02", "bd09"}
        Source and target systems.

    Returns
    -------
    GeoDataFrame
        A copy with shifted geometry and CRS EPSG:4326 (the shifted systems have no EPSG code;
        they are lon/lat degrees on WGS84 axes, shifted).
    """
    src = normalise_coord_system(from_)
    dst = normalise_coord_system(to)
    out = gdf.copy()
    if src == dst or len(gdf) == 0:
        return out

    def shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = xy[:, 0], xy[:, 1]
        if src != "wgs84":
            lon, lat = _TO_WGS84[src](lon, lat)
        if dst != "wgs84":
            lon, lat = _FROM_WGS84[dst](lon, lat)
        return np.column_stack([np.atleast_1d(lon), np.atleast_1d(lat)])

    out[gdf.geometry.name] = shapely.transform(np.asarray(gdf.geometry.values), shift)
    return out.set_crs("EPSG:4326", allow_override=True)


def utm_epsg(lon: float, lat: float) -> str:
    """EPSG code of the WGS84 UTM zone containing a point, e.g. Wuhan -> ``"EPSG:32650"``."""
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def pick_metric_crs(gdf: gpd.GeoDataFrame) -> str:
    """A metric CRS for areas and distances: the UTM zone of the data's centre.

    Parameters
    ----------
    gdf : GeoDataFrame
        Data in any geographic or projected CRS (assumed WGS84 when it has none).

    Returns
    -------
    str
        ``"EPSG:326xx"`` (north) or ``"EPSG:327xx"`` (south). A city spans far less than a
        6-degree zone, so scale distortion stays below 0.1 %.
    """
    geo = gdf if gdf.crs is None else gdf.to_crs("EPSG:4326")
    minx, miny, maxx, maxy = geo.total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        raise ValueError("cannot pick a metric CRS for empty data")
    return utm_epsg((minx + maxx) / 2.0, (miny + maxy) / 2.0)
