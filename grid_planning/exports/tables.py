"""The plan's tables and layers, built in memory once per plan: grids, units, facilities
and rosters with readable headers, shared by every export format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from grid_planning.assess.checklist import checklist_table
from grid_planning.assess.checks import checks_table
from grid_planning.assess.metrics import Figures, plan_figures
from grid_planning.assess.roster import lead_obligations, roster_table
from grid_planning.base.i18n import DEFAULT_LANGUAGE, has, source_text, t
from grid_planning.city.districts import city_districts, grid_split_parts
from grid_planning.city.provenance import city_name_in
from grid_planning.domain.rules import rule_label
from grid_planning.exports.planfile import plan_frames

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan


def plan_layers(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None, *,
                lang: str = DEFAULT_LANGUAGE, figures: Figures | None = None,
                frames: dict[str, gpd.GeoDataFrame] | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The plan's three spatial layers (WGS84), exactly as in the GeoPackage: ``grids``,
    ``units``, ``facilities``, built in memory by :func:`~grid_planning.exports.planfile.plan_frames`
    (``frames`` when the caller has them; ``figures``: the plan's figures, computed when not given)."""
    frames = frames if frames is not None else plan_frames(layers, plan, costs, lang=lang, figures=figures)
    out = {}
    for name in ("grids", "units", "facilities"):
        if name in frames:
            frame = frames[name].reset_index(drop=True)
            geom = frame.geometry.name  # last, as a file read back gives it
            out[name] = frame[[c for c in frame.columns if c != geom] + [geom]]
    return out


# ---- tables -----------------------------------------------------------------------------------
#: Summary columns (per grid and city total): (column, Excel number format).
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("population", "#,##0"), ("area_km2", "#,##0.0"), ("n_units", "#,##0"), ("beds", "#,##0"),
    ("beds_per_1000", "0.00"), ("beds_illustrative_share", "0.0%"), ("mean_travel_min", "0.0"),
    ("p90_travel_min", "0.0"), ("max_travel_min", "0.0"), ("share_15_lead", "0.0%"),
    ("share_30_lead", "0.0%"), ("share_15_secondary", "0.0%"), ("share_30_secondary", "0.0%"),
    ("polsby_popper", "0.00"), ("balance_dev", "+0.0%;-0.0%;0.0%"), ("n_facilities", "#,##0"),
)


NUMBER_FORMATS = dict(SUMMARY_COLUMNS) | {
    "beds_to_primary": "#,##0", "slots_to_primary": "#,##0", "outpatient_slots": "#,##0",
    "value": "0.0", "t_lead": "0.0", "districts_cut": "#,##0", "district_smaller_parts": "#,##0",
}


@dataclass
class PlanTables:
    """The tables every spreadsheet format shows (codes, not yet translated)."""

    summary: pd.DataFrame  # one row per grid + the city total
    roster: pd.DataFrame
    obligations: pd.DataFrame
    checks: pd.DataFrame
    checklist: pd.DataFrame
    units: pd.DataFrame
    grid_names: dict[str, str]
    city: dict


def plan_tables(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None, *,
                lang: str = DEFAULT_LANGUAGE,
                figures: Figures | None = None) -> PlanTables:
    """Compute the tables once (metrics, roster, obligations, checks, checklist, units);
    ``figures``: the plan's :func:`~grid_planning.assess.metrics.plan_figures` (same costs and
    language) when the caller has them."""
    fig = figures if figures is not None else plan_figures(layers, plan, costs, lang=lang)
    ud, gm, cm = fig.units, fig.grids, fig.city
    cols = [c for c, _ in SUMMARY_COLUMNS]
    summary = gm[["grid_id", "name", "lead_id", "lead_name", *cols]].reset_index(drop=True)
    # Residents are people: whole numbers that add up to the city's (units carry decimals).
    summary["population"] = gm["population_shown"].to_numpy() if len(gm) else summary["population"]
    total = {"grid_id": t("exports.table.city_total", lang), "name": city_name_in(layers.name, lang), "lead_id": "",
             "lead_name": ""}
    for c in cols:
        total[c] = cm.get(c, np.nan)
    total["n_units"] = cm["n_units"]
    total["n_facilities"] = float(gm["n_facilities"].sum()) if len(gm) else 0.0
    total["balance_dev"] = cm["max_balance_dev"]
    total["polsby_popper"] = cm["mean_polsby_popper"]
    summary = pd.concat([summary, pd.DataFrame([total])], ignore_index=True)
    summary = _with_district_splits(summary, layers, plan, cm)
    summary["population"] = pd.to_numeric(summary["population"], errors="coerce").round(0)
    checklist = checklist_table(layers, plan, costs, lang=lang, checks=fig.checks)
    units = ud.reset_index().rename(columns={"unit_id": "id"})
    return PlanTables(
        summary=summary,
        # with the written reason of a lead by exception (``exception_text``); ``role`` is put in
        # words by readable(), so the duplicate ``role_text`` goes
        roster=roster_table(layers, plan, lang=lang).drop(columns=["role_text"], errors="ignore"),
        obligations=lead_obligations(layers, plan),
        checks=checks_table(fig.checks, lang),
        checklist=checklist,
        units=units[[c for c in ("id", "name", "grid_id", "population", "t_lead", "t_secondary",
                                 "t_primary") if c in units]],
        grid_names=dict(zip(gm["grid_id"], gm["name"], strict=True)) if len(gm) else {},
        city=cm,
    )


def _with_district_splits(summary: pd.DataFrame, layers: CityLayers, plan: Plan, cm: dict) -> pd.DataFrame:
    """The summary with the district splits (issue 17) when the city has districts: per grid its
    cut districts and its residents in their smaller parts, the city row the plan's figures."""
    districts = city_districts(layers)
    if districts is None or not np.isfinite(float(cm.get("districts_cut", np.nan))):
        return summary
    pop = pd.Series(layers.index.population, index=layers.index.unit_ids)
    per = grid_split_parts(plan.assignment, districts, pop.reindex(plan.assignment.index).fillna(0))
    out = summary.copy()
    grid = out["grid_id"].astype(str)
    out["districts_cut"] = grid.map(per["districts_cut"]).astype(float)
    out["district_smaller_parts"] = grid.map(per["district_smaller_parts"]).astype(float).round(0)
    out.loc[out.index[-1], ["districts_cut", "district_smaller_parts"]] = [
        float(cm["districts_cut"]), round(float(cm["district_smaller_parts"]))]
    return out


#: Columns that count people, beds, slots, units or facilities: written as integers ("2330", not
#: "2330.0") when every value is whole (a unit's modelled residents carry decimals and stay so).
COUNT_COLUMNS = frozenset({
    "population", "n_units", "n_facilities", "beds", "outpatient_slots", "beds_to_primary",
    "slots_to_primary", "beds_down", "slots_down", "districts_cut", "district_smaller_parts",
})


def _whole(column: pd.Series) -> pd.Series:
    """A float column of whole numbers as integers (missing values stay missing)."""
    values = pd.to_numeric(column, errors="coerce")
    finite = values[np.isfinite(values)]
    if len(finite) < values.notna().sum() or not (finite == np.round(finite)).all():
        return column
    return values.astype("Int64")


def readable(frame: pd.DataFrame, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """A table for people: vocabulary codes in words, headers in the language
    (``plan.col.*`` / ``exports.col.*``); numbers stay numbers, counts whole
    (:data:`COUNT_COLUMNS`)."""
    out = frame.copy()
    for col in COUNT_COLUMNS & set(out.columns):
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = _whole(out[col])
    vocab = {"level": "vocab.level.", "type": "vocab.type.", "owner_level": "vocab.owner.",
             "role": "plan.role.", "status": None}
    for col, prefix in vocab.items():
        if col not in out or prefix is None:
            continue
        out[col] = out[col].map(lambda v, p=prefix: t(f"{p}{v}", lang) if v and has(f"{p}{v}") else v)
    if "rule" in out:  # contiguity and the request in words, G1-G10 as they are
        out["rule"] = out["rule"].map(lambda v: rule_label(v, lang) if isinstance(v, str) else v)
    if "status" in out and "status_text" not in out:
        out["status"] = out["status"].map(
            lambda v: t(f"plan.checklist.status.{v}", lang) if has(f"plan.checklist.status.{v}") else v)
    for col in ("source", "level_source", "capacity_source"):
        if col in out:
            out[col] = out[col].map(lambda v: source_text(v, lang) if isinstance(v, str) else v)
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = out[col].map(lambda v: t("exports.table.yes", lang) if v else t("exports.table.no", lang))
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].replace([np.inf, -np.inf], np.nan)
    headers = {}
    for c in out.columns:
        for key in (f"plan.col.{c}", f"exports.col.{c}"):
            if has(key):
                headers[c] = t(key, lang)
                break
    return out.rename(columns=headers)


#: Figures that rest on the facilities' beds: marked illustrative (示意) when the beds are generated.
BED_FIGURES = ("beds", "beds_per_1000")


def figure_label(column: str, lang: str, generated: bool) -> str:
    """A summary figure's header; a bed figure resting on generated beds carries the illustrative
    mark ("床位（示意）"), as on the report's cover and grid pages."""
    label = t(f"plan.col.{column}", lang)
    if generated and column in BED_FIGURES:
        label += t("exports.report.illustrative_mark", lang)
    return label


def workbook_sheets(tb: PlanTables, lang: str, *, per_grid: bool) -> dict[str, pd.DataFrame]:
    checklist = tb.checklist.drop(columns=["spatial"], errors="ignore")
    generated = float(tb.city.get("beds_illustrative_share", 0) or 0) > 0
    summary = readable(tb.summary, lang).rename(
        columns={t(f"plan.col.{c}", lang): figure_label(c, lang, generated) for c in BED_FIGURES})
    sheets = {t("exports.sheet.summary", lang) if per_grid else "summary": summary}
    if per_grid:
        for grid, name in tb.grid_names.items():
            sheets[grid_sheet_name(grid, name)] = readable(_grid_roster(tb.roster, grid), lang)
    else:
        sheets["roster"] = readable(tb.roster, lang)
    for key, frame in (("obligations", tb.obligations), ("checks", tb.checks.drop(columns=["status"])),
                       ("checklist", checklist), ("units", tb.units)):
        if per_grid and key == "units":
            continue
        sheets[t(f"exports.sheet.{key}", lang) if per_grid else key] = readable(frame, lang)
    return sheets


#: Excel's limit on a sheet name.
SHEET_CHARS = 31


def grid_sheet_name(grid: str, name: str) -> str:
    """A grid's sheet name that Excel keeps whole: the grid id and its name without the
    parenthesised parts; when that is still too long, the grid id alone (never cut mid-word)."""
    short = re.sub(r"[（(][^）)]*[）)]", "", str(name)).strip()
    full = f"{grid} {short}".strip()
    return full if len(full) <= SHEET_CHARS else str(grid)  # a long id is cut by sheet_names


def _grid_roster(roster: pd.DataFrame, grid: str) -> pd.DataFrame:
    """The facilities of a grid and the collaborators supporting it, lead first."""
    sup = roster["supports"].astype(str).map(lambda v: [x.strip() for x in v.split(",")])
    mine = roster[(roster["grid_id"] == grid)
                  | ((roster["role"] == "collaborator") & sup.map(lambda v: grid in v))]
    order = {"lead": 0, "member": 1, "cross_grid": 2, "collaborator": 3, "primary": 4}
    mine = mine.assign(_o=mine["role"].map(order).fillna(9)).sort_values(["_o", "id"], kind="stable")
    return mine.drop(columns="_o").reset_index(drop=True)
