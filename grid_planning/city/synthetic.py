"""Seeded synthetic cities for tests and benchmarks.

A synthetic city is a square-ish block of square cells (the population units) laid out in a metric
CRS (UTM 50N, around Wuhan's longitude so that maps look plausible), with:

- a population surface made of a few Gaussian centres over a low base density;
- lakes (cells removed), one of which holds an island, so that the unit adjacency graph has holes
  and a separate component that the adjacency builder must link;
- facilities of every type and owner level, ``n_eligible`` of them eligible leads (G4) in distinct
  units, a few provincial / national tertiary hospitals (G8 collaborators), secondary general and
  continuing-care facilities (G5), cross-grid institutions (G7) and primary care (G6);
- optionally a road grid (arterials and collector roads, cut by the lakes, so that some parts of the
  road network are disconnected).

Everything is generated from ``numpy.random.default_rng(seed)``, so the same arguments give the same
city. All facilities are marked ``source="illustrative"``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from grid_planning.city.layers import CityLayers
from grid_planning.io.findings import ValidationReport

#: Metric CRS of synthetic cities (UTM zone 50N covers Wuhan).
SYNTHETIC_CRS = "EPSG:32650"


_CENTRE_LONLAT = (114.30, 30.59)


#: Side of the synthetic city in metres (constant, so travel times are comparable across sizes).
_CITY_SIDE_M = 36_000.0


def _centre_xy() -> tuple[float, float]:
    tr = Transformer.from_crs("EPSG:4326", SYNTHETIC_CRS, always_xy=True)
    x, y = tr.transform(*_CENTRE_LONLAT)
    return float(x), float(y)


def synthetic_city(
    n_units: int = 1000,
    n_facilities: int = 100,
    n_eligible: int = 15,
    seed: int = 0,
    *,
    lakes: bool = True,
    with_roads: bool = False,
    population: float = 5_000_000.0,
    name: str | None = None,
    road_spacing_m: float | None = None,
) -> CityLayers:
    """Build a synthetic city.

    Parameters
    ----------
    n_units : int
        Exact number of population units (square cells); at least 4.
    n_facilities : int
        Total number of facilities (at least ``n_eligible + 4``; raised if smaller).
    n_eligible : int
        Number of facilities that are eligible leads under G4, each in its own unit.
    seed : int
        Seed of the random generator; same arguments -> same city.
    lakes : bool
        Remove lake cells (one lake holds an island, a separate component of the adjacency graph).
    with_roads : bool
        Add a road network (``highway`` classes primary/secondary/residential, cut by the lakes).
    population : float
        Approximate total population.
    name : str, optional
        City name; default ``"synthetic-<n_units>-<seed>"``.
    road_spacing_m : float, optional
        Distance between parallel roads; default the larger of 600 m and the cell side. 87 m
        gives a network of about 300,000 edges (the roads benchmark).

    Returns
    -------
    CityLayers
        Layers in EPSG:4326 with ``metric_crs`` = :data:`SYNTHETIC_CRS`.
    """
    if n_units < 4:
        raise ValueError("a synthetic city needs at least 4 units")
    rng = np.random.default_rng(seed)
    cx, cy = _centre_xy()

    # Oversized grid, then keep the n_units land cells closest to the centre (an L4 norm gives a
    # rounded square outline).
    lake_specs: list[tuple[float, float, float, float]] = []  # (x, y, radius, island radius)
    if lakes and n_units >= 30:
        lake_specs = [
            (0.22, -0.18, 0.11, 0.045),  # lake with an island
            (-0.25, 0.2, 0.07, 0.0),
            (0.05, 0.33, 0.05, 0.0),
        ]
    water_share = sum(np.pi * (r * r - i * i) for _, _, r, i in lake_specs)
    n_side = int(np.ceil(np.sqrt(n_units / max(0.5, 0.78 - water_share)))) + 2
    cell = _CITY_SIDE_M / n_side
    ix, iy = np.meshgrid(np.arange(n_side), np.arange(n_side))
    ix, iy = ix.ravel(), iy.ravel()
    # Normalised coordinates in [-0.5, 0.5].
    u = (ix + 0.5) / n_side - 0.5
    v = (iy + 0.5) / n_side - 0.5
    land = np.ones(u.shape, dtype=bool)
    for lx, ly, r, ir in lake_specs:
        d = np.hypot(u - lx, v - ly)
        land &= ~((d <= r) & (d > ir))
    island = np.zeros(u.shape, dtype=bool)
    if lake_specs:
        lx, ly, _, ir = lake_specs[0]
        island = np.hypot(u - lx, v - ly) <= ir
    norm = (np.abs(u) ** 4 + np.abs(v) ** 4) ** 0.25 + rng.uniform(0, 1e-6, u.shape)
    norm[island] = -1.0  # the island is always kept
    cand = np.flatnonzero(land)
    keep = cand[np.argsort(norm[cand], kind="stable")[:n_units]]
    keep.sort()
    if len(keep) < n_units:
        raise ValueError("could not fit the requested number of units")

    x0 = cx - _CITY_SIDE_M / 2 + ix[keep] * cell
    y0 = cy - _CITY_SIDE_M / 2 + iy[keep] * cell
    geoms = shapely.box(x0, y0, x0 + cell, y0 + cell)

    # Population: a few Gaussian centres (the main one near the middle) over a base density.
    n_centres = 4
    centres = np.vstack([[0.0, 0.0], rng.uniform(-0.33, 0.33, (n_centres - 1, 2))])
    sigmas = np.concatenate([[0.16], rng.uniform(0.05, 0.1, n_centres - 1)])
    weights = np.concatenate([[1.0], rng.uniform(0.3, 0.8, n_centres - 1)])
    uu, vv = u[keep], v[keep]
    dens = 0.04 + sum(
        w * np.exp(-((uu - c[0]) ** 2 + (vv - c[1]) ** 2) / (2 * s * s))
        for c, s, w in zip(centres, sigmas, weights, strict=True)
    )
    dens *= rng.lognormal(0.0, 0.25, dens.shape)
    pop = np.round(dens / dens.sum() * population)

    tr = Transformer.from_crs(SYNTHETIC_CRS, "EPSG:4326", always_xy=True)
    unit_ids = np.array([f"U{i:05d}" for i in range(n_units)], dtype=object)
    units_m = gpd.GeoDataFrame(
        {
            "id": unit_ids,
            "name": [f"Cell {i}" for i in range(n_units)],
            "population": pop.astype(float),
        },
        geometry=geoms,
        crs=SYNTHETIC_CRS,
    )
    units = units_m.to_crs("EPSG:4326")

    facilities = _facilities(rng, n_facilities, n_eligible, keep, x0, y0, cell, pop, tr)
    boundary = gpd.GeoDataFrame(
        {"name": [name or f"synthetic-{n_units}-{seed}"]},
        geometry=[shapely.coverage_union_all(geoms)],
        crs=SYNTHETIC_CRS,
    ).to_crs("EPSG:4326")
    roads = (
        _roads(rng, cell, cx, cy, lake_specs, tr, road_spacing_m) if with_roads else None
    )
    return CityLayers(
        name=name or f"synthetic-{n_units}-{seed}",
        units=units,
        facilities=facilities,
        boundary=boundary,
        metric_crs=SYNTHETIC_CRS,
        report=ValidationReport(),
        roads=roads,
        sources={"units": "synthetic", "facilities": "synthetic"},
    )


# Facility mix after the eligible leads: (share, level, type, owner_level).
_MIX: tuple[tuple[float, str, str, str], ...] = (
    (0.16, "secondary", "general", "district"),
    (0.03, "secondary", "tcm", "district"),
    (0.03, "secondary", "rehabilitation", "municipal"),
    (0.03, "primary", "nursing", "other"),
    (0.03, "secondary", "maternal_child", "district"),
    (0.02, "other", "public_health", "district"),
    (0.05, "tertiary", "specialty", "municipal"),
    (0.02, "tertiary", "general", "other"),  # enterprise/university: designatable as a G4 exception
    (0.04, "secondary", "specialty", "other"),
    (0.32, "primary", "community_health_center", "district"),
    (0.05, "primary", "township_health_center", "county"),
    (0.22, "primary", "clinic", "other"),
)


def _facilities(
    rng: np.random.Generator,
    n_facilities: int,
    n_eligible: int,
    keep: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    cell: float,
    pop: np.ndarray,
    tr: Transformer,
) -> gpd.GeoDataFrame:
    n_units = len(keep)
    n_eligible = max(0, min(n_eligible, n_units))
    n_collab = 3 if n_facilities >= n_eligible + 8 else 1
    n_facilities = max(n_facilities, n_eligible + n_collab + 3)
    p = pop**0.7 + 1e-9
    p = p / p.sum()

    rows: list[tuple[str, str, str, str]] = []
    # Eligible leads: general (about 80 %) or TCM, municipal or district owned.
    for i in range(n_eligible):
        typ = "tcm" if i % 5 == 4 else "general"
        owner = ("municipal", "district", "county")[i % 3] if i % 7 else "municipal"
        rows.append(("tertiary", typ, owner, "lead"))
    for i in range(n_collab):
        rows.append(("tertiary", "general", "provincial" if i < 2 else "national", "collab"))
    rest = n_facilities - len(rows)
    shares = np.array([m[0] for m in _MIX])
    counts = np.floor(shares / shares.sum() * rest).astype(int)
    # Every kind appears at least once in cities big enough; the remainder goes to clinics.
    counts = np.maximum(counts, 1 if rest >= len(_MIX) else 0)
    while counts.sum() > rest:
        counts[np.argmax(counts)] -= 1
    counts[-1] += rest - counts.sum()
    for (_, level, typ, owner), c in zip(_MIX, counts, strict=True):
        rows.extend([(level, typ, owner, "other")] * int(c))

    n = len(rows)
    # Eligible leads in distinct units, spread: sample by population among units far enough apart.
    cells = np.empty(n, dtype=int)
    lead_cells = rng.choice(n_units, size=n_eligible, replace=False, p=p) if n_eligible else []
    cells[:n_eligible] = lead_cells
    cells[n_eligible:] = rng.choice(n_units, size=n - n_eligible, replace=True, p=p)
    fx = x0[cells] + rng.uniform(0.15, 0.85, n) * cell
    fy = y0[cells] + rng.uniform(0.15, 0.85, n) * cell
    lon, lat = tr.transform(fx, fy)

    level = np.array([r[0] for r in rows], dtype=object)
    typ = np.array([r[1] for r in rows], dtype=object)
    beds = np.where(
        level == "tertiary",
        rng.integers(600, 2500, n),
        np.where(
            level == "secondary",
            rng.integers(150, 600, n),
            np.where(
                np.isin(typ, ["nursing", "township_health_center"]), rng.integers(20, 150, n), 0
            ),
        ),
    ).astype(float)
    level_source = np.full(n, "data", dtype=object)
    # A few leads' levels are "assumed" (e.g. taken from a list title rather than the data).
    if n_eligible >= 4:
        level_source[rng.choice(n_eligible, size=max(1, n_eligible // 6), replace=False)] = (
            "assumed"
        )
    names = [f"{t.replace('_', ' ').title()} {i + 1}" for i, t in enumerate(typ)]
    return gpd.GeoDataFrame(
        {
            "id": [f"F{i + 1:04d}" for i in range(n)],
            "name": names,
            "level": level,
            "type": typ,
            "owner_level": [r[2] for r in rows],
            "beds": beds,
            "source": "illustrative",
            "level_source": level_source,
            "lon": lon,
            "lat": lat,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def _roads(
    rng: np.random.Generator,
    cell: float,
    cx: float,
    cy: float,
    lake_specs: list[tuple[float, float, float, float]],
    tr: Transformer,
    spacing_m: float | None = None,
) -> gpd.GeoDataFrame:
    """A grid of roads with a vertex at every crossing; segments inside lakes are dropped."""
    spacing = max(cell, 600.0) if spacing_m is None else float(spacing_m)
    n_lines = int(_CITY_SIDE_M // spacing) + 1
    coords = -_CITY_SIDE_M / 2 + np.arange(n_lines) * spacing
    lines, classes = [], []
    for orient in (0, 1):
        for j, c in enumerate(coords):
            cls = "primary" if j % 6 == 0 else ("secondary" if j % 3 == 0 else "residential")
            pts = np.column_stack([coords, np.full_like(coords, c)])
            if orient:
                pts = pts[:, ::-1]
            nu = pts[:, 0] / _CITY_SIDE_M
            nv = pts[:, 1] / _CITY_SIDE_M
            wet = np.zeros(len(pts), dtype=bool)
            for lx, ly, r, ir in lake_specs:
                d = np.hypot(nu - lx, nv - ly)
                wet |= (d <= r) & (d > ir)
            # Split the line into runs of dry vertices.
            run: list[int] = []
            for i in range(len(pts) + 1):
                if i < len(pts) and not wet[i]:
                    run.append(i)
                    continue
                if len(run) >= 2:
                    seg = pts[run] + [cx, cy]
                    lines.append(shapely.linestrings(seg))
                    classes.append(cls)
                run = []
    roads = gpd.GeoDataFrame(
        {"highway": classes, "speed_kmh": np.nan}, geometry=lines, crs=SYNTHETIC_CRS
    )
    return roads.to_crs("EPSG:4326")
