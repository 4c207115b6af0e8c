"""Cities nobody prepared the planner for: small, seeded, written to real files.

:func:`awkward_city` draws a city from a seed with a random mix of what real cities bring:

- no provincial hospital (most seeds, like both Liaoning pilot cities), or one;
- one eligible lead plus an enterprise-owned tertiary hospital in the same unit; two leads in one
  unit; an eligible lead across the city line; no eligible lead at all;
- islands, an exclave, a unit reachable only through a narrow bridge unit, a unit that touches the
  rest only at a corner, a unit with a hole and an enclave inside it, a multi-part unit;
- degenerate rings (too few points), zero-area and empty polygons, null geometry and a
  self-intersecting bowtie, with and without residents, inside another unit or not;
- zero-population and very large units; a facility exactly on a shared border;
- Chinese headers and names in a GBK-encoded CSV (half of the seeds), English UTF-8 otherwise.

It also draws a request (k, balance, beds, G2 reason, G4 designations, G5 waivers, locks) from the
same seed. :func:`pilot_city` builds the city of the issue's "done when": no provincial hospital,
one eligible municipal lead and an enterprise tertiary hospital in the same district, with
population as district units, street units or points aggregated onto cells.

Geometry is built in UTM 51N around Fuxin (阜新) and written as WGS84 GeoJSON by hand (shapely
refuses to build some of the broken rings a real file can hold).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

CRS = "EPSG:32651"
_ORIGIN = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(121.67, 42.02)
_TO_WGS = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)

REASON = "市卫健委批准（测试）"


@dataclass
class AwkwardCity:
    """Files of one generated city and the request drawn for it."""

    seed: int
    folder: Path
    units: Path
    facilities: Path
    features: tuple[str, ...]
    n_units: int
    k: int
    balance: float | None = None
    min_beds: float | None = None
    g2_reason: str | None = None
    designate: tuple[str, ...] = ()
    waive: tuple[str, ...] = ()
    locks: tuple[tuple[str, str], ...] = ()
    fixed: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def plan_args(self, out: Path) -> list[str]:
        """``python -m grid_planning plan`` arguments for this city and request."""
        args = [
            "plan", "--units", str(self.units), "--facilities", str(self.facilities),
            "--grids", str(self.k), "--out", str(out), "--lang", "en",
        ]
        if self.balance is not None:
            args += ["--balance", str(self.balance)]
        if self.min_beds is not None:
            args += ["--min-beds-per-1000", str(self.min_beds)]
        if self.g2_reason:
            args += ["--g2-reason", self.g2_reason]
        if self.designate:
            args += ["--designate-lead", *[f"{f}={REASON}" for f in self.designate]]
        if self.waive:
            args += ["--waive-g5", *[f"{f}={REASON}" for f in self.waive]]
        if self.fixed:
            args += ["--fix-lead", *self.fixed]
        if self.locks:
            args += ["--lock", *[f"{u}={f}" for u, f in self.locks]]
        return args

    def request(self):
        """The same request as a :class:`grid_planning.domain.request.PlanRequest`."""
        from grid_planning.domain.request import PlanRequest

        return PlanRequest(
            k=self.k,
            balance=self.balance,
            min_beds_per_1000=self.min_beds,
            g2_reason=self.g2_reason,
            designated_leads=tuple((f, REASON) for f in self.designate),
            g5_waivers=tuple((f, REASON) for f in self.waive),
            locks=self.locks,
            fixed_leads=self.fixed,
        )


# ---- geometry helpers -----------------------------------------------------------------------------------
def _ring(coords) -> list[list[float]]:
    xs, ys = _TO_WGS.transform([c[0] + _ORIGIN[0] for c in coords], [c[1] + _ORIGIN[1] for c in coords])
    return [[round(float(x), 7), round(float(y), 7)] for x, y in zip(xs, ys, strict=True)]


def _square(x, y, s) -> list:
    return [(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]


def _poly(*rings) -> dict:
    return {"type": "Polygon", "coordinates": [_ring(r) for r in rings]}


def _multi(*polys) -> dict:
    return {"type": "MultiPolygon", "coordinates": [[_ring(r) for r in p] for p in polys]}


def _flat(x, y, length) -> dict:
    """A polygon whose ring is a straight line in lon/lat: zero area in any CRS."""
    a, b = _lonlat(x, y), _lonlat(x + length, y + length / 3)
    mid = [round((a[0] + b[0]) / 2, 7), round((a[1] + b[1]) / 2, 7)]
    # Exactly collinear after rounding: the middle point is the rounded mean of the two ends.
    a, b = [a[0], a[1]], [2 * mid[0] - a[0], 2 * mid[1] - a[1]]
    return {"type": "Polygon", "coordinates": [[a, mid, b, a]]}


def _lonlat(x, y) -> tuple[float, float]:
    lon, lat = _TO_WGS.transform(x + _ORIGIN[0], y + _ORIGIN[1])
    return round(float(lon), 7), round(float(lat), 7)


# ---- the awkward city ----------------------------------------------------------------------------------
def awkward_city(seed: int, folder: Path) -> AwkwardCity:
    """Draw one awkward city and request from ``seed`` and write its files into ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    nx, ny = int(rng.integers(2, 5)), int(rng.integers(2, 4))
    s = float(rng.choice([1500.0, 3000.0, 6000.0]))
    feats: list[str] = []

    def want(name: str, p: float) -> bool:
        if rng.random() < p:
            feats.append(name)
            return True
        return False

    units: list[dict] = []  # {"id", "name", "population", "geometry" (GeoJSON dict or None), "shape"}
    cells: dict[tuple[int, int], int] = {}
    for j in range(ny):
        for i in range(nx):
            cells[(i, j)] = len(units)
            units.append(
                {"id": f"U{len(units) + 1:02d}", "shape": shapely.box(i * s, j * s, (i + 1) * s, (j + 1) * s)}
            )
    if want("hole_enclave", 0.2):
        host = units[cells[(0, 0)]]
        inner = shapely.box(0.3 * s, 0.3 * s, 0.7 * s, 0.7 * s)
        host["shape"] = shapely.box(0, 0, s, s).difference(inner)
        units.append({"id": f"U{len(units) + 1:02d}", "shape": inner, "tag": "enclave"})
    if want("island", 0.25):
        gap = float(rng.uniform(0.3, 1.5)) * s
        units.append({"id": f"U{len(units) + 1:02d}", "shape": shapely.box(nx * s + gap, 0, nx * s + gap + s, s)})
    if want("exclave", 0.15):
        units.append({"id": f"U{len(units) + 1:02d}", "shape": shapely.box(-1.5 * s, ny * s + 0.5 * s, -0.5 * s, ny * s + 1.5 * s)})
    if want("bridge", 0.2):
        y0 = (ny - 1) * s + 0.45 * s
        units.append({"id": f"U{len(units) + 1:02d}", "shape": shapely.box(nx * s, y0, nx * s + s, y0 + 0.1 * s), "tag": "bridge"})
        units.append({"id": f"U{len(units) + 1:02d}", "shape": shapely.box(nx * s + s, (ny - 1) * s, nx * s + 2 * s, ny * s)})
    if want("corner", 0.2):
        units.append({"id": f"U{len(units) + 1:02d}", "shape": shapely.box(nx * s, ny * s, nx * s + s, ny * s + s)})
    if want("multipart", 0.15):
        host = units[cells[(nx - 1, 0)]]
        host["shape"] = shapely.MultiPolygon([host["shape"], shapely.box(nx * s + 0.2 * s, -1.4 * s, nx * s + 0.8 * s, -0.6 * s)])
    if want("bowtie", 0.15):
        host = units[cells[(nx - 1, ny - 1)]]
        x, y = (nx - 1) * s, (ny - 1) * s
        host["geometry"] = _poly([(x, y), (x + s, y + s), (x + s, y), (x, y + s), (x, y)])
    pops = rng.integers(0, 60_000, len(units)).astype(float)
    if want("zero_population", 0.3):
        pops[rng.choice(len(units), size=max(1, len(units) // 4), replace=False)] = 0
    if want("huge_unit", 0.2):
        pops[int(rng.integers(len(units)))] *= 25
    if pops.sum() == 0:
        pops[0] = 1000
    for u, p in zip(units, pops, strict=True):
        u["population"] = float(p)
        u.setdefault("geometry", None)
    n_real = len(units)
    # Broken features appended after the real units (they never count as units of their own).
    if want("degenerate_inside", 0.2):  # a 3-point ring inside cell (0, ny-1): residents move there
        x, y = 0.2 * s, (ny - 1) * s + 0.2 * s
        units.append({"id": f"U{len(units) + 1:02d}", "population": float(rng.integers(1, 9000)),
                      "geometry": {"type": "Polygon", "coordinates": [_ring([(x, y), (x + 0.1 * s, y), (x, y)])]}})
    if want("zero_area_inside", 0.15):  # collinear ring, residents move to the cell it lies in
        x, y = 0.5 * s, 0.5 * s + (s if ny > 1 else 0)
        units.append({"id": f"U{len(units) + 1:02d}", "population": float(rng.integers(1, 9000)),
                      "geometry": _flat(x, y, 0.3 * s)})
    if want("empty_no_residents", 0.15):
        units.append({"id": f"U{len(units) + 1:02d}", "population": 0.0, "geometry": {"type": "Polygon", "coordinates": []}})
    if want("null_no_residents", 0.1):
        units.append({"id": f"U{len(units) + 1:02d}", "population": 0.0, "geometry": None, "null": True})
    if want("lost_residents", 0.06):  # zero-area ring far outside: its residents cannot be placed
        x, y = -5 * s, -5 * s
        units.append({"id": f"U{len(units) + 1:02d}", "population": 1234.0, "geometry": _flat(x, y, s)})

    chinese = bool(rng.random() < 0.5)
    names = {u["id"]: (f"街道{k + 1}" if chinese else f"Street {k + 1}") for k, u in enumerate(units)}
    features = []
    for u in units:
        geom = u["geometry"]
        if geom is None and not u.get("null") and "shape" in u:
            shape = u["shape"]
            geom = (
                _multi(*[[list(g.exterior.coords), *[list(r.coords) for r in g.interiors]] for g in shape.geoms])
                if shape.geom_type == "MultiPolygon"
                else _poly(list(shape.exterior.coords), *[list(r.coords) for r in shape.interiors])
            )
        features.append({"type": "Feature", "geometry": geom,
                         "properties": {"id": u["id"], "name": names[u["id"]], "population": u["population"]}})
    units_path = folder / "units.geojson"
    units_path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8")

    # ---- facilities ----------------------------------------------------------------------------------
    real_shapes = [u.get("shape") for u in units[:n_real]]
    inner = [i for i, sh in enumerate(real_shapes) if sh is not None and units[i].get("tag") != "bridge"]
    rows: list[dict] = []

    def place(i: int) -> tuple[float, float]:
        sh = real_shapes[i]
        minx, miny, maxx, maxy = sh.bounds
        for _ in range(50):
            p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if sh.contains(p):
                return p.x, p.y
        p = sh.representative_point()
        return p.x, p.y

    def add(kind: str, level: str, typ: str, owner: str, x: float, y: float, beds: float) -> str:
        fid = f"F{len(rows) + 1:02d}"
        rows.append({"id": fid, "kind": kind, "level": level, "type": typ, "owner": owner, "x": x, "y": y, "beds": beds})
        return fid

    n_elig = int(rng.choice([0, 1, 1, 2, 2, 3, 4], p=[0.05, 0.2, 0.1, 0.25, 0.15, 0.15, 0.1]))
    lead_units = list(rng.choice(inner, size=min(n_elig, len(inner)), replace=False))
    eligible = [add("lead", "tertiary", "general" if k % 3 else "tcm", ("municipal", "district")[k % 2],
                    *place(int(u)), float(rng.integers(500, 2000))) for k, u in enumerate(lead_units)]
    if eligible and want("two_leads_one_unit", 0.15):
        eligible.append(add("lead", "tertiary", "general", "municipal", *place(int(lead_units[0])), 800.0))
    enterprise = None
    if want("enterprise_same_unit", 0.35):
        u = int(lead_units[0]) if lead_units else int(rng.choice(inner))
        enterprise = add("enterprise", "tertiary", "general", "enterprise", *place(u), 900.0)
    outside_lead = None
    if want("lead_outside_city", 0.15):
        outside_lead = add("lead", "tertiary", "general", "municipal", -3 * s, -3 * s, 1200.0)
    if want("provincial", 0.3):
        add("provincial", "tertiary", "general", "provincial", *place(int(rng.choice(inner))), 2500.0)
    for _ in range(int(rng.integers(0, 4))):
        add("secondary", "secondary", "general", "district", *place(int(rng.choice(inner))), float(rng.integers(100, 500)))
    for _ in range(int(rng.integers(0, 3))):
        add("care", "secondary", str(rng.choice(["rehabilitation", "nursing"])), "district", *place(int(rng.choice(inner))), 80.0)
    for _ in range(int(rng.integers(1, 6))):
        add("chc", "primary", "community_health_center", "district", *place(int(rng.choice(inner))), 0.0)
    if want("on_border", 0.25) and nx >= 2:
        add("secondary", "secondary", "general", "district", s, 0.5 * s, 200.0)  # edge of cells (0,0)-(1,0)
    if rng.random() < 0.3:
        add("mch", "secondary", "maternal_child", "municipal", *place(int(rng.choice(inner))), 120.0)

    words = {
        "lead": ("第{n}人民医院", "People's Hospital {n}"),
        "enterprise": ("矿务局总医院{n}", "Mining Group General Hospital {n}"),
        "provincial": ("省医院{n}", "Provincial Hospital {n}"),
        "secondary": ("区医院{n}", "District Hospital {n}"),
        "care": ("康复护理院{n}", "Rehab and Nursing {n}"),
        "chc": ("社区卫生服务中心{n}", "Community Health Centre {n}"),
        "mch": ("妇幼保健院{n}", "Maternal-Child Hospital {n}"),
    }
    zh_level = {"tertiary": "三级甲等", "secondary": "二级", "primary": "一级"}
    zh_type = {"general": "综合医院", "tcm": "中医医院", "rehabilitation": "康复医院", "nursing": "护理院",
               "community_health_center": "社区卫生服务中心", "maternal_child": "妇幼保健院"}
    zh_owner = {"municipal": "市属", "district": "区属", "provincial": "省属", "enterprise": "企业"}
    table = []
    for k, r in enumerate(rows):
        lon, lat = _lonlat(r["x"], r["y"])
        name = words[r["kind"]][0 if chinese else 1].format(n=k + 1)
        if chinese:
            table.append({"编号": r["id"], "机构名称": name, "等级": zh_level[r["level"]], "类型": zh_type[r["type"]],
                          "隶属": zh_owner[r["owner"]], "床位数": int(r["beds"]), "经度": lon, "纬度": lat})
        else:
            table.append({"id": r["id"], "name": name, "level": r["level"], "type": r["type"],
                          "owner_level": "other" if r["owner"] == "enterprise" else r["owner"],
                          "beds": int(r["beds"]), "lon": lon, "lat": lat})
    fac_path = folder / "facilities.csv"
    frame = pd.DataFrame(table)
    if chinese:
        fac_path.write_bytes(frame.to_csv(index=False).encode("gb18030"))
    else:
        frame.to_csv(fac_path, index=False)

    # ---- the request ---------------------------------------------------------------------------------
    k = int(rng.choice([1, 2, 2, 2, 3, 3, 4]))
    city = AwkwardCity(seed, folder, units_path, fac_path, tuple(feats), n_real, k)
    city.balance = rng.choice([None, None, None, 0.3, 0.6])
    city.min_beds = rng.choice([None, None, None, None, 0.5, 3.0])
    designable = [f for f in (enterprise, outside_lead) if f]
    if designable and rng.random() < 0.7:
        city.designate = tuple(designable[: int(rng.integers(1, len(designable) + 1))])
    if rng.random() < 0.6:  # mostly ask for what the hospitals can give; sometimes for more
        city.k = k = max(1, min(k, len(set(eligible) - {outside_lead}) + len(city.designate)))
    if k == 1 and rng.random() < 0.6:
        city.g2_reason = REASON
    leads = eligible + list(city.designate)
    if leads and rng.random() < 0.3:
        city.waive = tuple(leads)
    if leads and rng.random() < 0.1:
        lock_unit = units[int(rng.choice(inner))]["id"]
        city.locks = ((lock_unit, str(rng.choice(leads))),)
    if eligible and rng.random() < 0.1:
        city.fixed = (eligible[-1],)
    city.extra = {"eligible": eligible, "enterprise": enterprise, "outside_lead": outside_lead, "chinese": chinese}
    return city


# ---- the pilot city ---------------------------------------------------------------------------------------
#: Districts of the pilot-shaped city (3 x 2 blocks of 8 km, like a small prefecture city's core).
_PILOT_DISTRICTS = ("海州区", "细河区", "太平区", "新邱区", "清河门区", "阜蒙新区")
PILOT_SHARED_DISTRICT = "细河区"


def pilot_city(folder: Path, units: str = "streets") -> tuple[Path, Path]:
    """A city shaped like the Liaoning pilots, written to ``folder``.

    No provincial hospital; one eligible municipal tertiary hospital and an enterprise-owned
    tertiary hospital (a mining group's general hospital) in the same district (细河区); one
    secondary general hospital in a far district, so a second grid needs a G5 exception.

    Parameters
    ----------
    units : {"districts", "streets", "cells"}
        Population as 6 district polygons, as 4 street polygons per district, or as points
        (``lon, lat, population`` CSV) aggregated onto cells by the loader.

    Returns
    -------
    (Path, Path)
        The units (GeoJSON, or CSV for ``cells``) and facilities (GBK CSV with Chinese headers).
    """
    folder.mkdir(parents=True, exist_ok=True)
    d = 8000.0
    blocks = [(i, j) for j in range(2) for i in range(3)]
    pops = [420_000, 300_000, 180_000, 90_000, 60_000, 120_000]
    feats = []
    if units == "districts":
        for k, ((i, j), name) in enumerate(zip(blocks, _PILOT_DISTRICTS, strict=True)):
            feats.append({"type": "Feature", "geometry": _poly(_square(i * d, j * d, d)),
                          "properties": {"编号": f"D{k + 1}", "名称": name, "常住人口": pops[k]}})
    elif units == "streets":
        for k, ((i, j), name) in enumerate(zip(blocks, _PILOT_DISTRICTS, strict=True)):
            for q, (a, b) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
                share = (0.4, 0.3, 0.2, 0.1)[q]
                feats.append({"type": "Feature",
                              "geometry": _poly(_square(i * d + a * d / 2, j * d + b * d / 2, d / 2)),
                              "properties": {"编号": f"D{k + 1}S{q + 1}", "名称": f"{name}第{q + 1}街道",
                                             "常住人口": round(pops[k] * share)}})
    elif units != "cells":
        raise ValueError(units)
    if units == "cells":
        rows = []
        for k, (i, j) in enumerate(blocks):
            for a in range(4):
                for b in range(4):
                    lon, lat = _lonlat(i * d + (a + 0.5) * d / 4, j * d + (b + 0.5) * d / 4)
                    rows.append({"经度": lon, "纬度": lat, "常住人口": round(pops[k] / 16)})
        units_path = folder / "population_points.csv"
        units_path.write_bytes(pd.DataFrame(rows).to_csv(index=False).encode("gb18030"))
    else:
        units_path = folder / f"units_{units}.geojson"
        units_path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False), encoding="utf-8")
    fac = [
        ("P01", "阜新市中心医院", "三级甲等", "综合医院", "市属", 1500, d + 0.25 * d, 0.25 * d),
        ("P02", "阜新矿业（集团）总医院", "三级甲等", "综合医院", "企业", 1200, d + 0.75 * d, 0.75 * d),
        ("P03", "太平区人民医院", "二级甲等", "综合医院", "区属", 300, 2 * d + 0.6 * d, 0.5 * d),
        ("P04", "海州社区卫生服务中心", "一级", "社区卫生服务中心", "区属", 20, 0.4 * d, 0.4 * d),
        ("P05", "细河社区卫生服务中心", "一级", "社区卫生服务中心", "区属", 20, d + 0.4 * d, 0.6 * d),
        ("P06", "新邱区卫生院", "一级", "乡镇卫生院", "区属", 30, 0.5 * d, 1.5 * d),
        ("P07", "阜新市妇幼保健院", "二级甲等", "妇幼保健院", "市属", 200, 0.6 * d, 0.6 * d),
    ]
    table = []
    for fid, name, level, typ, owner, beds, x, y in fac:
        lon, lat = _lonlat(x, y)
        table.append({"机构编码": fid, "机构名称": name, "医院等级": level, "机构类别": typ, "隶属关系": owner,
                      "床位数": beds, "经度": lon, "纬度": lat})
    fac_path = folder / "facilities.csv"
    fac_path.write_bytes(pd.DataFrame(table).to_csv(index=False).encode("gb18030"))
    return units_path, fac_path
