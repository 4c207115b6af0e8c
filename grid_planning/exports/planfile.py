"""The plan GeoPackage (``data-format.md``): the deliverable and the scenario exchange format.

Layers written (all WGS84):

- ``units``: every population unit with its columns (user extras kept), ``grid_id``, ``locked``
  and ``t_lead`` (minutes to its grid's lead, NaN without travel costs);
- ``grids``: one dissolved polygon per grid with its figures (:func:`metrics.grid_metrics`);
- ``facilities``: the facilities the plan works with (what-if edits applied) with ``grid_id``
  (``""`` for collaborators), ``role``, ``home_grid`` and ``supports``;
- ``facilities_source``: only when the plan has what-if edits: the facilities as loaded, so that
  reading the file back gives the user's own data plus the edits, never the edits twice;
- ``boundary``: the city outline;
- ``districts``: district outlines, when the city has them (print maps draw them);
- ``plan_meta`` (attribute table, ``key``/``value``): format, tool version, created time, method,
  parameters, the plan's own state (:meth:`Plan.meta_json`: leads, locks, exceptions, edits,
  params, checklist), the metric CRS and the policy check results.

:func:`read_plan` is the inverse: a plan written and read back compares equal in assignment,
leads, roles, locks, exceptions, edits, params and checklist.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from grid_planning.assess.checks import CheckResult, all_passed, checks_json
from grid_planning.assess.metrics import Figures, plan_figures
from grid_planning.assess.roster import rehome
from grid_planning.base.i18n import DEFAULT_LANGUAGE, CatalogueError, has, t
from grid_planning.base.version import __version__
from grid_planning.city.layers import CityLayers
from grid_planning.city.planview import effective_facilities, plan_roles
from grid_planning.domain.plan import Plan
from grid_planning.domain.rules import rule_label
from grid_planning.io.gis import check_gpkg_text, check_layer_size, check_text_lengths
from grid_planning.io.limits import InputError, SubLayer, limits, short_detail

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix

FORMAT = "grid-planner-plan/1"


UNIT_PLAN_COLUMNS = ("grid_id", "locked", "t_lead")


ROLE_COLUMNS = ("grid_id", "role", "home_grid", "supports")


GRID_COLUMNS = (
    "grid_id",
    "name",
    "lead_id",
    "lead_name",
    "lead_level_source",
    "population",
    "area_km2",
    "beds",
    "beds_per_1000",
    "beds_illustrative_share",
    "mean_travel_min",
    "p90_travel_min",
    "max_travel_min",
    "share_15_lead",
    "share_30_lead",
    "share_15_secondary",
    "share_30_secondary",
    "polsby_popper",
    "n_parts",
    "contiguous",
    "n_units",
    "n_facilities",
    "balance_dev",
)


REQUIRED_LAYERS = ("units", "facilities", "plan_meta")


#: Every layer :func:`read_plan` reads (the input limits apply to each).
READ_LAYERS = (*REQUIRED_LAYERS, "facilities_source", "boundary", "districts")


#: Longest value of ``plan_meta`` (characters): the plan's own JSON (parameters, locks, reasons,
#: checks, metrics), 3,600 characters at most for the sample city's 7,065 units, so a thousand
#: times that leaves room for any city's locks and reasons; a 90 MB value took 700 MB to read.
META_VALUE_CHARS = 4_000_000


class PlanFileError(CatalogueError):
    """A plan GeoPackage that cannot be read; ``key``/``params`` give the catalogue message."""


#: Single geometry type -> its multi type, for layers that mix the two.
_MULTI = {"Polygon": ("MultiPolygon", shapely.multipolygons),
          "LineString": ("MultiLineString", shapely.multilinestrings),
          "Point": ("MultiPoint", shapely.multipoints)}


def _promoted(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A layer mixing single and multi parts of one kind (Polygon and MultiPolygon) with the
    single parts made multi, as the GeoPackage writer stores them: the in-memory layers then
    equal the file, and GeoJSON and Shapefile get what they got when read back from it."""
    if gdf.geometry.name not in gdf.columns or not len(gdf):
        return gdf
    types = gdf.geometry.geom_type
    kinds = set(types.dropna().unique())
    for single, (multi, make) in _MULTI.items():
        if kinds == {single, multi}:
            mask = (types == single).to_numpy()
            geoms = gdf.geometry.to_numpy().copy()
            geoms[mask] = [make([g]) for g in geoms[mask]]
            gdf[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return gdf


def _writable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Make every attribute column storable in a GeoPackage (mixed objects become text) and mixed
    single/multi geometries multi (:func:`_promoted`)."""
    out = gdf.copy()
    if isinstance(out, gpd.GeoDataFrame):
        out = _promoted(out)
    for col in out.columns:
        if col == out.geometry.name:
            continue
        s = out[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            continue
        if pd.api.types.is_datetime64_any_dtype(s):
            continue
        out[col] = s.map(
            lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        )
    return out


def _write(gdf: gpd.GeoDataFrame | pd.DataFrame, path: Path, layer: str) -> None:
    pyogrio.write_dataframe(gdf, str(path), layer=layer, driver="GPKG")


def plan_frames(
    layers: CityLayers,
    plan: Plan,
    costs: CostMatrix | None = None,
    *,
    lang: str = DEFAULT_LANGUAGE,
    figures: Figures | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """The plan's spatial layers in memory, as :func:`write_plan` stores them (WGS84, every
    attribute storable): ``units``, ``grids`` (when the plan has grids), ``facilities``, and when
    present ``facilities_source``, ``boundary`` and ``districts``, in that order.

    Every spatial format (GeoPackage, GeoJSON, Shapefile) is written from these frames, so all
    carry the same columns and values.

    Parameters
    ----------
    layers : CityLayers
    plan : Plan
    costs : CostMatrix, optional
    lang : {"zh", "en"}
        Language of grid names.
    figures : Figures, optional
        The plan's :func:`~grid_planning.assess.metrics.plan_figures` (same costs and language);
        computed here when not given.

    Returns
    -------
    dict of str to GeoDataFrame
    """
    fig = figures if figures is not None else plan_figures(layers, plan, costs, lang=lang)
    ud, gm = fig.units, fig.grids
    out: dict[str, gpd.GeoDataFrame] = {}
    units = layers.units.copy().to_crs(4326)
    units["id"] = units["id"].astype(str)
    units["grid_id"] = ud["grid_id"].fillna("").to_numpy()
    lock = plan.lock_map
    units["locked"] = units["id"].map(lambda u: u in lock).astype(bool)
    units["t_lead"] = ud["t_lead"].to_numpy(float)
    out["units"] = _writable(units)

    if len(gm):
        # A grid's outline is its units' territory (units plus the unpopulated land around
        # them): the grids tile the city, as their area_km2 does.
        geo = gpd.GeoDataFrame(
            {"grid_id": units["grid_id"].to_numpy()}, geometry=list(layers.index.territory),
            crs=layers.metric_crs,
        )
        geo = geo[geo["grid_id"] != ""]
        dissolved = geo.dissolve(by="grid_id").to_crs(4326)
        grids = gpd.GeoDataFrame(
            gm[[c for c in GRID_COLUMNS if c in gm.columns]].reset_index(drop=True),
            geometry=dissolved.geometry.reindex(gm["grid_id"]).to_numpy(),
            crs=4326,
        )
        out["grids"] = _writable(grids)

    fac = effective_facilities(layers, plan).copy().to_crs(4326)
    fac["id"] = fac["id"].astype(str)
    roles = plan_roles(plan)
    for col in ROLE_COLUMNS:
        fac[col] = fac["id"].map(roles[col]).fillna("").astype(str) if len(roles) else ""
    out["facilities"] = _writable(fac)
    if plan.edits:
        src = layers.facilities.copy().to_crs(4326)
        src["id"] = src["id"].astype(str)
        out["facilities_source"] = _writable(src)
    if layers.boundary is not None and len(layers.boundary):
        out["boundary"] = _writable(layers.boundary.to_crs(4326))
    districts = getattr(layers, "districts", None)
    if districts is not None and len(districts):
        out["districts"] = _writable(districts.to_crs(4326))
    return out


def write_plan(
    path: str | Path,
    layers: CityLayers,
    plan: Plan,
    costs: CostMatrix | None = None,
    *,
    lang: str = DEFAULT_LANGUAGE,
    figures: Figures | None = None,
    frames: dict[str, gpd.GeoDataFrame] | None = None,
) -> Path:
    """Write the plan GeoPackage of ``data-format.md``.

    Parameters
    ----------
    path : str or Path
        Output file (``.gpkg``); replaced when it exists.
    layers : CityLayers
        The city as loaded (the plan's what-if edits are applied for the ``facilities`` layer).
    plan : Plan
        The plan.
    costs : CostMatrix, optional
        Travel costs; without them travel-time columns are empty (NaN).
    lang : {"zh", "en"}
        Language of grid names and stored check messages.
    figures : Figures, optional
        The plan's figures and checks (:func:`~grid_planning.assess.metrics.plan_figures` with the
        same costs and language), when the caller has them; computed here otherwise.
    frames : dict, optional
        The plan's :func:`plan_frames` made from those figures, when the caller has them.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    fig = figures if figures is not None else plan_figures(layers, plan, costs, lang=lang)
    checks = fig.checks
    frames = frames if frames is not None else plan_frames(layers, plan, costs, lang=lang, figures=fig)
    for name, frame in frames.items():
        _write(frame, path, name)

    params = plan.param_map
    created = str(params.get("created") or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    meta: list[tuple[str, str]] = [
        ("format", FORMAT),
        ("tool_version", __version__),
        ("created", created),
        ("written", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")),
        ("method", str(params.get("method", ""))),
        ("city", str(layers.name)),
        ("metric_crs", str(layers.metric_crs)),
        ("k", str(plan.k)),
        ("parameters", json.dumps(params, ensure_ascii=False, default=str)),
        ("plan", plan.meta_json()),
        ("checks", checks_json(checks)),
        ("all_passed", json.dumps(all_passed(checks))),
        ("costs_mode", str(getattr(costs, "mode", "")) if costs is not None else ""),
        ("sources", json.dumps(dict(layers.sources), ensure_ascii=False, default=str)),
    ]
    if costs is not None:
        meta.append(("city_metrics", json.dumps(fig.city, default=float)))
    meta += [
        (f"param.{k}", json.dumps(v, ensure_ascii=False, default=str)) for k, v in params.items()
    ]
    _write(pd.DataFrame(meta, columns=["key", "value"]), path, "plan_meta")
    return path


def _detail(exc: BaseException, path: Path) -> str:
    """A reader's error without server paths or GDAL's advice (:func:`grid_planning.io.limits.short_detail`)."""
    return short_detail(exc, path.name, [path])


def _read_layer(path: Path, layer: str, **kwargs: Any) -> pd.DataFrame:
    try:
        frame = pyogrio.read_dataframe(str(path), layer=layer, **kwargs)
    except Exception as exc:  # pyogrio raises several types for broken files
        raise PlanFileError(
            "plan.file_error.layer_unreadable", file=str(path), layer=layer, detail=_detail(exc, path)
        ) from exc
    if layer != "plan_meta":  # its values are the plan's own JSON (locks, reasons, metrics)
        try:
            # Names and ids as bounded as in any input: a 90 MB facility name held the PDF
            # report for 14 minutes at 6 GB.
            check_text_lengths(frame, limits())
        except InputError as exc:
            raise PlanFileError(
                f"plan.file_error.{exc.code}", file=str(path), layer=layer, **exc.params
            ) from None
    return frame


def _check_limits(path: Path, names: list[str]) -> None:
    """The input limits (:func:`grid_planning.io.limits.limits`) for the layers a plan file is read from: a plan
    GeoPackage is a user's file like any other, however it was made."""
    lim = limits()
    for name in (n for n in READ_LAYERS if n in names):
        try:
            info = pyogrio.read_info(str(path), layer=name, force_feature_count=True)
        except Exception as exc:  # noqa: BLE001 - a broken layer
            raise PlanFileError(
                "plan.file_error.layer_unreadable", file=str(path), layer=name, detail=_detail(exc, path)
            ) from exc
        geometry = info.get("geometry_type")
        sub = SubLayer(name, int(info.get("features") or 0),
                       None if geometry in (None, "", "None") else str(geometry), (), path, name)
        try:
            check_layer_size(sub, lim)  # the rule every GIS input is read by
            # Before a 90 MB name is read at all; plan_meta's values are the plan's own JSON
            # (locks, reasons), longer than a name but bounded too.
            meta = dataclasses.replace(lim, cell_chars=META_VALUE_CHARS)
            check_gpkg_text(path, name, meta if name == "plan_meta" else lim)
        except InputError as exc:
            raise PlanFileError(f"plan.file_error.{exc.code}", file=str(path), layer=name, **exc.params) from None


def _finite(frame: pd.DataFrame, column: str, layer: str, path: Path) -> pd.Series:
    """``column`` as numbers; a value that is infinite or below zero refuses the file."""
    values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    bad = np.isinf(values.to_numpy()) | (values.to_numpy() < 0)
    if bad.any():
        row = str(frame["id"].iloc[int(np.flatnonzero(bad)[0])])
        raise PlanFileError(
            "plan.file_error.bad_value", file=str(path), layer=layer, column=column, id=row
        )
    return values


def read_meta(path: str | Path) -> dict[str, str]:
    """The ``plan_meta`` table of a plan GeoPackage as ``{key: value}``."""
    path = Path(path)
    _require_layers(path)
    meta = _read_layer(path, "plan_meta", read_geometry=False)
    if not {"key", "value"} <= set(meta.columns):
        column = "key" if "key" not in meta.columns else "value"
        raise PlanFileError(
            "plan.file_error.missing_column", file=str(path), layer="plan_meta", column=column
        )
    return {
        str(k): ("" if v is None else str(v))
        for k, v in zip(meta["key"], meta["value"], strict=True)
    }


def _require_layers(path: Path) -> list[str]:
    if not path.exists():
        raise PlanFileError("plan.file_error.missing", file=str(path))
    try:
        names = [str(n) for n in pyogrio.list_layers(str(path))[:, 0]]
    except Exception as exc:
        raise PlanFileError("plan.file_error.not_gpkg", file=str(path), detail=_detail(exc, path)) from exc
    missing = [n for n in REQUIRED_LAYERS if n not in names]
    if missing:
        raise PlanFileError(
            "plan.file_error.missing_layers", file=str(path), layers=", ".join(missing)
        )
    return names


def _clean_str(values: Iterable[object]) -> list[str]:
    # a column as a list first: iterating pandas' Arrow-backed strings builds a scalar per value
    items = values.tolist() if isinstance(values, (pd.Series, pd.Index, np.ndarray)) else values
    return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in items]


def read_plan(path: str | Path) -> tuple[CityLayers, Plan]:
    """Read a plan GeoPackage written by :func:`write_plan`.

    Returns
    -------
    (CityLayers, Plan)
        The layers as the user loaded them (what-if edits are not baked in: they come back in
        ``plan.edits``) and the plan.

    Raises
    ------
    PlanFileError
        With a catalogue key when the file is missing, not a GeoPackage, lacks a layer or has an
        unreadable ``plan_meta``.
    """
    path = Path(path)
    names = _require_layers(path)
    _check_limits(path, names)
    meta = read_meta(path)
    if "plan" not in meta:
        raise PlanFileError("plan.file_error.bad_entry", file=str(path), entry="plan")
    try:
        parts = Plan.parts_from_meta(meta["plan"])
    except Exception as exc:  # noqa: BLE001 - any shape that is not the one written (RecursionError too)
        raise PlanFileError("plan.file_error.bad_entry", file=str(path), entry="plan") from exc

    units = _read_layer(path, "units")
    for col in ("id", "population", "grid_id"):
        if col not in units.columns:
            raise PlanFileError(
                "plan.file_error.missing_column", file=str(path), layer="units", column=col
            )
    units["id"] = _clean_str(units["id"])
    assignment = pd.Series(_clean_str(units["grid_id"]), index=pd.Index(units["id"]), dtype=object)
    assignment = assignment[assignment != ""]
    units = units.drop(columns=[c for c in UNIT_PLAN_COLUMNS if c in units.columns])
    if "name" in units:
        units["name"] = _clean_str(units["name"])
    units["population"] = _finite(units, "population", "units", path)

    planned = _read_layer(path, "facilities")
    for col in ("id", *ROLE_COLUMNS):
        if col not in planned.columns:
            raise PlanFileError(
                "plan.file_error.missing_column", file=str(path), layer="facilities", column=col
            )
    planned["id"] = _clean_str(planned["id"])
    roles = pd.DataFrame(
        {c: _clean_str(planned[c]) for c in ROLE_COLUMNS}, index=pd.Index(planned["id"])
    )
    roles = roles[roles["role"] != ""]
    facilities = _read_layer(path, "facilities_source") if "facilities_source" in names else planned
    facilities = facilities.drop(columns=[c for c in ROLE_COLUMNS if c in facilities.columns])
    facilities["id"] = _clean_str(facilities["id"])
    if "beds" in facilities:
        facilities["beds"] = _finite(facilities, "beds", "facilities", path)
    for col in ("name", "level", "type", "owner_level", "source", "level_source"):
        if col in facilities:
            facilities[col] = _clean_str(facilities[col])

    boundary = _read_layer(path, "boundary") if "boundary" in names else None
    if boundary is None or not len(boundary):
        boundary = gpd.GeoDataFrame(
            {"name": [meta.get("city", "")]}, geometry=[units.union_all()], crs=4326
        )
    metric_crs = meta.get("metric_crs") or _utm_for(units)
    districts = _read_layer(path, "districts") if "districts" in names else None
    layers = CityLayers(
        name=meta.get("city", path.stem),
        units=units,
        facilities=facilities,
        boundary=boundary,
        metric_crs=metric_crs,
        districts=districts if districts is not None and len(districts) else None,
        sources={"plan": str(path)},
    )
    grids = set(assignment.unique())
    leads = parts["leads"]
    known = set(facilities["id"]) | {e.facility_id for e in parts["edits"] if e.action == "add"}
    if set(leads.index) != grids or not set(leads.astype(str)) <= known:
        # A lead for a grid no unit belongs to, or a lead that is no facility of the file (nor
        # a what-if hospital the plan adds).
        raise PlanFileError("plan.file_error.bad_entry", file=str(path), entry="plan")
    plan = Plan(
        assignment=assignment,
        leads=leads,
        roles=roles,
        locks=parts["locks"],
        exceptions=parts["exceptions"],
        edits=parts["edits"],
        params=parts["params"],
        checklist=parts["checklist"],
    )
    # Units reassigned outside this tool (the file edited in a GIS): the facilities' grids are
    # taken from where they lie, as the dashboard gives them, so the checks judge the file afresh.
    return layers, rehome(layers, plan)


def _utm_for(gdf: gpd.GeoDataFrame) -> str:
    c = gdf.to_crs(4326).union_all().centroid
    zone = int((c.x + 180) // 6) + 1
    return f"EPSG:{32600 + zone if c.y >= 0 else 32700 + zone}"


def stored_checks(path: str | Path) -> list:
    """The check results stored when the plan was written (for a quick look without recomputing)."""
    raw = read_meta(path).get("checks", "[]")
    try:
        return [CheckResult.from_dict(d) for d in json.loads(raw or "[]")]
    except Exception as exc:  # noqa: BLE001 - any shape that is not the one written
        raise PlanFileError("plan.file_error.bad_entry", file=str(path), entry="checks") from exc


def column_headers(frame: pd.DataFrame, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The frame with column headers in words where the catalogue has them (``plan.col.<name>``).

    Parameters
    ----------
    frame : DataFrame
        A table of this package (grid metrics, roster, obligations, checks, checklist).
    lang : {"zh", "en"}
        Language of the headers; columns without a catalogue entry keep their name.

    Returns
    -------
    DataFrame
        A renamed copy.
    """
    return frame.rename(columns={c: t(f"plan.col.{c}", lang) for c in frame.columns if has(f"plan.col.{c}")})


# ---- plain-text views (CLI) -------------------------------------------------------------------------
def _fmt_num(value: object, digits: int = 1, pct: bool = False) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "-"
    if pct:
        return f"{100 * v:.0f}%"
    return f"{v:,.{digits}f}"


def summary_text(grid_df: pd.DataFrame, lang: str = DEFAULT_LANGUAGE) -> str:
    """Per-grid summary table for the terminal.

    Columns: grid, lead (``*`` marks a lead whose level was assumed), population, area, beds per
    1,000, mean and p90 minutes to the lead, 15/30-minute shares, contiguity. Notes below the table
    say when a lead's level was assumed and how much of the beds are illustrative.
    """
    yes, no = t("plan.cli.yes", lang), t("plan.cli.no", lang)
    rows = []
    for _, g in grid_df.iterrows():
        assumed = str(g.get("lead_level_source", "")) == "assumed"
        rows.append(
            {
                t("plan.col.grid_id", lang): g["grid_id"],
                t("plan.col.lead_name", lang): f"{g['lead_name']} ({g['lead_id']})"
                + (" *" if assumed else ""),
                t("plan.col.population", lang): _fmt_num(g.get("population_shown", g["population"]), 0),
                t("plan.col.area_km2", lang): _fmt_num(g["area_km2"], 1),
                t("plan.col.beds_per_1000", lang): _fmt_num(g["beds_per_1000"], 2),
                t("plan.col.mean_travel_min", lang): _fmt_num(g["mean_travel_min"], 1),
                t("plan.col.p90_travel_min", lang): _fmt_num(g["p90_travel_min"], 1),
                t("plan.cli.within15", lang): _fmt_num(g["share_15_lead"], pct=True),
                t("plan.cli.within30", lang): _fmt_num(g["share_30_lead"], pct=True),
                t("plan.col.contiguous", lang): yes
                if bool(g["contiguous"])
                else f"{no} ({int(g['n_parts'])})",
            }
        )
    text = pd.DataFrame(rows).to_string(index=False)
    if (grid_df.get("lead_level_source", pd.Series(dtype=str)) == "assumed").any():
        text += "\n" + t("plan.cli.assumed_note", lang)
    if "beds_illustrative_share" in grid_df and grid_df["beds"].sum() > 0:
        generated = float((grid_df["beds"] * grid_df["beds_illustrative_share"]).sum())
        if generated > 0:
            share = generated / float(grid_df["beds"].sum())
            text += "\n" + t("plan.cli.beds_illustrative_note", lang, share=f"{share:.0%}")
    return text + "\n" + t("plan.cli.yardstick_note", lang)


def checks_text(results: list, lang: str = DEFAULT_LANGUAGE) -> str:
    """One line per check: rule, status, message."""
    marks = {"pass": "PASS", "fail": "FAIL", "exception": "EXC ", "warning": "WARN"}

    def padded(label: str, width: int = 11) -> str:  # a CJK character takes two terminal columns
        return label + " " * max(width - sum(2 if ord(ch) > 0x2E80 else 1 for ch in label), 1)

    return "\n".join(
        f"{marks.get(r.status, r.status):4} {padded(rule_label(r.rule, lang))}{r.status_text(lang)}: {r.message(lang)}"
        for r in results
    )


# ---- spatial layers ---------------------------------------------------------------------------
def gpkg_bytes(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None, *,
               lang: str = DEFAULT_LANGUAGE,
               figures: Figures | None = None,
               frames: dict[str, gpd.GeoDataFrame] | None = None) -> bytes:
    """The plan GeoPackage as bytes (``figures``/``frames``: as :func:`write_plan`)."""

    with tempfile.TemporaryDirectory(prefix="grid_export_") as tmp:
        path = Path(tmp) / "plan.gpkg"
        write_plan(path, layers, plan, costs, lang=lang, figures=figures, frames=frames)
        return path.read_bytes()
