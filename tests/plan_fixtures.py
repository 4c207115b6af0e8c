"""A hand-built 4 x 4 city with a two-grid plan, for exact metric and check values.

Units are 1 km squares in UTM zone 50N (Wuhan's zone), stored in WGS84 as CityLayers requires.
Unit ``U{r}{c}`` (row r, column c, both 0..3) has its centre at (c + 0.5, r + 0.5) km from the origin
and population ``100 * (1 + 4 r + c)`` (total 13,600). Facilities sit at unit centres:

====  ======================================  =======  ======  ===================
id    what                                    unit     beds    plan role
====  ======================================  =======  ======  ===================
F1    tertiary general, municipal             U00      1000    lead of G1
F2    tertiary general, district              U33      800     lead of G2
F3    secondary general, district             U01      200     member G1 (G5)
F4    secondary rehabilitation, district      U32      100     cross_grid G2 (G5)
F5    community health centre                 U11      20      primary G1
F6    community health centre                 U22      NaN     primary G2
F7    tertiary general, provincial            U12      2000    collaborator (G1,G2)
F8    secondary maternal-child, municipal     U20      150     cross_grid G2
====  ======================================  =======  ======  ===================

The plan: G1 = the 2 x 2 block of rows 0-1, columns 0-1 (a square); G2 = the other 12 units (an L).
Travel costs: straight-line distance between centres at 30 km/h, i.e. 2 minutes per km.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from grid_planning.city.layers import CityLayers
from grid_planning.domain.plan import Plan

CRS = "EPSG:32650"
X0, Y0 = 230_000.0, 3_380_000.0  # near Wuhan


def unit_rc(uid: str) -> tuple[int, int]:
    return int(uid[1]), int(uid[2])


FACILITIES = [
    # id, name, level, type, owner, beds, slots, unit
    ("F1", "市一医院", "tertiary", "general", "municipal", 1000.0, 3000.0, "U00"),
    ("F2", "区人民医院", "tertiary", "general", "district", 800.0, np.nan, "U33"),
    ("F3", "区二医院", "secondary", "general", "district", 200.0, np.nan, "U01"),
    ("F4", "康复医院", "secondary", "rehabilitation", "district", 100.0, np.nan, "U32"),
    ("F5", "社区中心甲", "primary", "community_health_center", "district", 20.0, np.nan, "U11"),
    ("F6", "社区中心乙", "primary", "community_health_center", "district", np.nan, np.nan, "U22"),
    ("F7", "省人民医院", "tertiary", "general", "provincial", 2000.0, np.nan, "U12"),
    ("F8", "妇幼保健院", "secondary", "maternal_child", "municipal", 150.0, np.nan, "U20"),
]


def make_layers(extra_unit_col: bool = True) -> CityLayers:
    rows, geoms = [], []
    for r in range(4):
        for c in range(4):
            rows.append(
                {"id": f"U{r}{c}", "name": f"街道{r}{c}", "population": 100.0 * (1 + 4 * r + c)}
            )
            geoms.append(
                box(X0 + c * 1000, Y0 + r * 1000, X0 + (c + 1) * 1000, Y0 + (r + 1) * 1000)
            )
    units = gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS)
    if extra_unit_col:
        units["district"] = ["东区" if c < 2 else "西区" for r in range(4) for c in range(4)]
    units = units.to_crs(4326)
    frows, fgeoms = [], []
    for fid, name, level, type_, owner, beds, slots, unit in FACILITIES:
        r, c = unit_rc(unit)
        frows.append(
            {
                "id": fid,
                "name": name,
                "level": level,
                "type": type_,
                "owner_level": owner,
                "beds": beds,
                "outpatient_slots": slots,
                "source": "illustrative",
                "level_source": "data",
                "note": f"extra {fid}",
            }
        )
        fgeoms.append(Point(X0 + (c + 0.5) * 1000, Y0 + (r + 0.5) * 1000))
    facilities = gpd.GeoDataFrame(frows, geometry=fgeoms, crs=CRS).to_crs(4326)
    boundary = gpd.GeoDataFrame({"name": ["city"]}, geometry=[units.union_all()], crs=4326)
    return CityLayers("grid4", units, facilities, boundary, CRS)


def grid_of(uid: str) -> str:
    r, c = unit_rc(uid)
    return "G1" if r < 2 and c < 2 else "G2"


def make_plan() -> Plan:
    ids = [f"U{r}{c}" for r in range(4) for c in range(4)]
    assignment = pd.Series([grid_of(u) for u in ids], index=ids, dtype=object)
    leads = pd.Series({"G1": "F1", "G2": "F2"}, dtype=object)
    roles = pd.DataFrame(
        {
            "grid_id": ["G1", "G2", "G1", "G2", "G1", "G2", "", "G2"],
            "role": [
                "lead",
                "lead",
                "member",
                "cross_grid",
                "primary",
                "primary",
                "collaborator",
                "cross_grid",
            ],
            "home_grid": ["G1", "G2", "G1", "G2", "G1", "G2", "G2", "G2"],
            "supports": ["", "", "", "G1,G2", "", "", "G1,G2", "G1,G2"],
        },
        index=pd.Index([f[0] for f in FACILITIES]),
    )
    return Plan(assignment, leads, roles, params=(("k", 2), ("method", "hand")))


@dataclass(frozen=True)
class HandCosts:
    """Unit -> facility minutes computed by hand (2 minutes per km between centres)."""

    minutes: np.ndarray
    unit_ids: list
    facility_ids: list
    mode: str = "straight"


def centre_km(uid: str) -> tuple[float, float]:
    r, c = unit_rc(uid)
    return c + 0.5, r + 0.5


def make_costs(min_per_km: float = 2.0) -> HandCosts:
    uids = [f"U{r}{c}" for r in range(4) for c in range(4)]
    fids = [f[0] for f in FACILITIES]
    m = np.zeros((len(uids), len(fids)), dtype=np.float32)
    for i, u in enumerate(uids):
        ux, uy = centre_km(u)
        for j, f in enumerate(FACILITIES):
            fx, fy = centre_km(f[7])
            m[i, j] = min_per_km * np.hypot(ux - fx, uy - fy)
    return HandCosts(m, uids, fids)


def minutes(uid: str, fid: str, min_per_km: float = 2.0) -> float:
    ux, uy = centre_km(uid)
    fx, fy = centre_km({f[0]: f[7] for f in FACILITIES}[fid])
    return min_per_km * float(np.hypot(ux - fx, uy - fy))
