"""What the plan page offers, shows and decides, computed without Streamlit.

``pages/plan.py`` draws widgets and keeps session state; every choice it offers (eligible leads,
designation candidates, what-if targets), every table it formats, the advice it gives about the
balance tolerance, what a map click does, and where a planned hospital starts are decided here, so
that each is tested without a browser (``tests/session/test_plan_page.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from grid_planning.assess.checks import whatif_eligible_ids
from grid_planning.assess.factors import g9_panel, panel_notes, panel_table
from grid_planning.assess.metrics import Figures
from grid_planning.base.cache import memo
from grid_planning.base.i18n import listed_labelled, t
from grid_planning.base.numfmt import integer, number, percent
from grid_planning.city.costs import CostMatrix, network_report
from grid_planning.city.demand import demand_figures
from grid_planning.city.districts import (
    city_districts,
    district_pieces,
    plan_splits,
    splits_summary,
)
from grid_planning.city.layers import CityLayers
from grid_planning.domain import schema
from grid_planning.domain.plan import Plan
from grid_planning.domain.request import (
    BALANCE_CHOICES,
    MODES,
    BalanceAdvice,
    PlanRequest,
    request_from_plan,
)
from grid_planning.maps import planmap
from grid_planning.planning.candidates import designation_candidates, eligible_leads
from grid_planning.session.mapclicks import facility_label, interpret_click
from grid_planning.session.ui_state import Column
from grid_planning.session.workspace import Workspace, check_reason

#: What a click on the plan map does: select a unit, pick a facility, or place a planned hospital.
CLICK_MODES = ("select", "facility", "place")
UNIT_CHOICES = 50  # units offered per search in the hand-edit picker
#: What the map component returns about a click (a new value of any of them is a new click).
CLICK_KEYS = ("last_clicked", "last_object_clicked", "last_object_clicked_count")
#: The k-comparison table (planner.compare_k, with the page's texts added).
CMP_COLUMNS = (
    Column("ws.cmp.k", "k", "integer"), Column("ws.cmp.status", "status_text"),
    Column("ws.cmp.objective", "objective", "number", 1), Column("ws.cmp.balance", "max_balance_dev", "percent", 0),
    Column("ws.cmp.noncontig", "n_noncontiguous", "integer"), Column("ws.cmp.compliant", "compliant_text"),
    Column("ws.cmp.explanation", "why"),
)
#: The per-grid tables: size and resources, access and shape (grid_planning.assess.metrics.grid_metrics).
GRID_SIZE = (
    Column("ws.col.grid", ""), Column("ws.col.grid_name", "lead_short"),
    Column("ws.col.population", "population_shown", "integer"), Column("ws.col.area", "area_km2", "number", 1),
    Column("ws.col.balance", "balance_dev", "signed_percent", 1), Column("ws.col.beds", "beds", "integer"),
    Column("ws.col.beds_per_1000", "beds_per_1000", "number", 2), Column("ws.col.lead_level", "lead_level"),
)
GRID_ACCESS = (
    Column("ws.col.grid", ""), Column("ws.col.mean_min", "mean_travel_min", "number", 1),
    Column("ws.col.p90_min", "p90_travel_min", "number", 1), Column("ws.col.max_min", "max_travel_min", "number", 1),
    Column("ws.col.share15", "share_15_lead", "percent", 1), Column("ws.col.share30", "share_30_lead", "percent", 1),
    Column("ws.col.pp", "polsby_popper", "number", 2), Column("ws.col.parts", "n_parts", "integer"),
)
#: What a planned hospital starts as in the what-if form (the planner changes any of them).
ADD_LEVELS = ("secondary", "tertiary", "primary")
ADD_OWNERS = ("district", "municipal", "county", "provincial", "other")
ADD_BEDS = 300
#: The two "in principle" exceptions the sidebar records, as (rule, request field).
EXCEPTION_FIELDS = (("G4", "designated_leads"), ("G5", "g5_waivers"))


# ---- the lists the page offers ------------------------------------------------------------------
def facility_labels(fac: pd.DataFrame, lang: str) -> dict[str, str]:
    """Facility id -> the name it is listed under (:func:`~grid_planning.session.mapclicks.facility_label`)."""
    return {str(r["id"]): facility_label(r, lang) for r in fac.to_dict("records")}


def eligible(layers: CityLayers) -> pd.DataFrame:
    """The facilities the G4 rule lets lead (by data or assumed level), computed once for every
    session on the same layers (they change only with a what-if edit); shared, so read-only."""
    fac = layers.facilities
    return memo(fac, ("plan_page", "elig"), lambda: eligible_leads(fac, PlanRequest(k=2), layers))


def choices(layers: CityLayers, kind: str, lang: str) -> dict[str, str]:
    """What the plan page's lists offer (facility id -> label), per city layers and language.

    Computed once for every session on the same layers; the value is shared, so read-only.

    Parameters
    ----------
    layers : CityLayers
        The layers in use, with the what-if edits applied (``Workspace.effective_layers``).
    kind : {"elig", "designatable", "hospitals"}
        ``elig``: the G4-eligible leads (:func:`eligible`); ``designatable``: the hospitals the G4
        rule lets lead by designation; ``hospitals``: every facility that is not primary care
        (the what-if targets).
    lang : str
        Language of the labels.
    """
    fac = layers.facilities

    def compute() -> dict[str, str]:
        if kind == "elig":
            return facility_labels(eligible(layers), lang)
        if kind == "designatable":
            return facility_labels(designation_candidates(layers, fac), lang)
        if kind == "hospitals":
            return facility_labels(fac[~fac["type"].isin(sorted(schema.PRIMARY_CARE_TYPES))], lang)
        raise ValueError(f"unknown choice list {kind!r}")

    return memo(fac, ("plan_page", kind, lang), compute)


def whatif_leads(base: CityLayers, layers: CityLayers) -> set[str]:
    """Ids of the hospitals that may lead only because a what-if edit changed their owner, type or
    level (:func:`~grid_planning.assess.checks.whatif_eligible_ids`): a G4 exception, so the page
    offers them for designation with a reason, never as fixed leads (issue 15).

    Parameters
    ----------
    base : CityLayers
        The city as loaded (``Workspace.layers``).
    layers : CityLayers
        The same city with the what-if edits applied (``Workspace.effective_layers()``).
    """
    if layers is base or layers.facilities is base.facilities:
        return set()
    return whatif_eligible_ids(base, layers.facilities)


def fixed_choices(base: CityLayers, layers: CityLayers, lang: str) -> dict[str, str]:
    """What the "fixed leads" and "excluded leads" lists offer: the G4-eligible leads
    (:func:`choices` ``"elig"``) less those eligible only by a what-if edit (:func:`whatif_leads`)."""
    elig = choices(layers, "elig", lang)
    upgraded = whatif_leads(base, layers)
    return {f: label for f, label in elig.items() if f not in upgraded} if upgraded else elig


def designation_choices(base: CityLayers, layers: CityLayers, lang: str) -> dict[str, str]:
    """What the designation picker (a G4 exception with a written reason) offers: the hospitals
    the G4 rule lets lead by designation (:func:`choices` ``"designatable"``), then those eligible
    only by a what-if edit, labelled so."""
    labels = choices(layers, "designatable", lang)
    upgraded = whatif_leads(base, layers)
    if not upgraded:
        return labels
    fac = layers.facilities
    extra = facility_labels(fac[fac["id"].astype(str).isin(upgraded)], lang)
    tag = ("" if lang == "zh" else " ") + t("ws.exc.whatif_tag", lang)
    return {**labels, **{f: label + tag for f, label in extra.items() if f not in labels}}


def lead_labels(layers: CityLayers, request: PlanRequest, lang: str) -> dict[str, str]:
    """The facilities a G5 waiver can name: the eligible leads and the designated ones."""
    fac = layers.facilities
    ids = list(choices(layers, "elig", lang)) + [f for f, _ in request.designated_leads]
    return facility_labels(fac[fac["id"].astype(str).isin(ids)], lang)


def lead_count(layers: CityLayers, request: PlanRequest) -> int:
    """How many leads the request can have at most (eligible plus designated): the largest k."""
    return len(eligible(layers)) + len(request.designated_leads)


def assumed_leads(layers: CityLayers) -> int:
    """How many eligible leads rest on an assumed level (the page says so under the lists)."""
    return int((eligible(layers)["eligibility"] == "assumed").sum())


def cost_modes(layers: CityLayers) -> list[str]:
    """The travel models the city's layers allow (road travel only with a road layer)."""
    has_roads = layers.roads is not None and len(layers.roads) > 0
    return [m for m in MODES if has_roads or m != "roads"]


# ---- the request in the widgets -----------------------------------------------------------------
def percent_step(share: float) -> int:
    """A tolerance as the slider's whole percent (5 % steps, 5-100)."""
    return int(min(max(round(float(share) * 20) * 5, 5), 100))


def widget_values(request: PlanRequest, n_leads: int, elig_labels: Mapping[str, str],
                  modes: Sequence[str]) -> dict[str, object]:
    """The value each sidebar widget shows for ``request`` (widget key -> value).

    The request is the planner's choice, the widgets only display and change it: k within what the
    widget allows, only the leads it lists, the balance as the slider's percent, a travel model the
    city has.
    """
    return {
        "plan_k": int(min(max(request.k, 1), max(2, n_leads))),
        "plan_fixed": [f for f in request.fixed_leads if f in elig_labels],
        "plan_excluded": [f for f in request.excluded_leads if f in elig_labels],
        "plan_balance_on": request.balance is not None,
        "plan_balance": percent_step(request.balance if request.balance is not None else 0.3),
        "plan_cost_mode": request.cost.mode if request.cost.mode in modes else modes[0],
    }


@dataclass(frozen=True)
class BalanceNote:
    """What the sidebar says about the balance tolerance.

    Attributes
    ----------
    key : str
        Catalogue key of the caption.
    params : dict
        Its parameters, already formatted.
    offer : float or None
        A tolerance the planner can take with one button (the tightest the city meets), if it
        differs from the one in use.
    """

    key: str
    params: dict[str, object] = field(default_factory=dict)
    offer: float | None = None


def balance_note(advice: BalanceAdvice, request: PlanRequest, balance: float | None, lang: str) -> BalanceNote:
    """Which balance the city can meet and what the plan would look like without it.

    ``balance`` is the tolerance the widgets ask for (``None`` when the balance is off).
    """
    if advice.unbalanced_dev is None:
        return BalanceNote("dash.balance.unknown")
    without = percent(advice.unbalanced_dev, 0, lang)
    tol = advice.tolerance
    if tol is None:
        return BalanceNote("dash.balance.none_met",
                           {"dev": without, "max": percent(BALANCE_CHOICES[-1], 0, lang)})
    params = {"tol": percent(tol, 0, lang), "dev": without, "k": request.k}
    if balance is not None and abs(balance - tol) < 1e-9:
        return BalanceNote("dash.balance.on", params)
    return BalanceNote("dash.balance.suggest", params, offer=tol)


# ---- exceptions ---------------------------------------------------------------------------------
def with_exception(pairs: Iterable[tuple[str, str]], facility_id: str | None, reason: str) -> tuple[tuple[str, str], ...]:
    """``pairs`` (facility id, reason) with one more exception, or the reason of ``facility_id``
    replaced.

    Raises
    ------
    ValueError
        No facility chosen, or no written reason ("in principle" rules need a recorded reason).
    WorkspaceError
        ``reason_too_long``: the reason is longer than the setting ``max_reason_chars``.
    """
    reason = (reason or "").strip()
    if not facility_id or not reason:
        raise ValueError("an exception needs a facility and a written reason")
    check_reason(reason, facility_id)
    return tuple(dict(pairs, **{facility_id: reason}).items())


def without_exception(pairs: Iterable[tuple[str, str]], facility_id: str) -> tuple[tuple[str, str], ...]:
    """``pairs`` without the exception of ``facility_id``."""
    return tuple(p for p in pairs if p[0] != facility_id)


@dataclass(frozen=True)
class ExceptionRow:
    """One recorded exception as the sidebar lists it."""

    rule: str
    field: str
    facility_id: str
    label: str
    reason: str


def exception_rows(request: PlanRequest, *label_maps: Mapping[str, str]) -> list[ExceptionRow]:
    """The request's G4 designations and G5 waivers, each with the first label found for it."""
    rows = []
    for rule, name in EXCEPTION_FIELDS:
        for fid, reason in getattr(request, name):
            label = next((m[fid] for m in label_maps if m.get(fid)), fid)
            rows.append(ExceptionRow(rule, name, fid, label, reason))
    return rows


def fixed_lead(request: PlanRequest, facility_id: str) -> dict[str, tuple[str, ...]]:
    """The request change that makes ``facility_id`` a fixed lead (and no longer excluded)."""
    return {"fixed_leads": tuple(dict.fromkeys((*request.fixed_leads, facility_id))),
            "excluded_leads": tuple(f for f in request.excluded_leads if f != facility_id)}


def excluded_lead(request: PlanRequest, facility_id: str) -> dict[str, tuple[str, ...]]:
    """The request change that excludes ``facility_id`` as a lead (and no longer fixes it)."""
    return {"excluded_leads": tuple(dict.fromkeys((*request.excluded_leads, facility_id))),
            "fixed_leads": tuple(f for f in request.fixed_leads if f != facility_id)}


# ---- comparing k --------------------------------------------------------------------------------
def compare_range(n_leads: int) -> tuple[int, int, tuple[int, int]]:
    """The k-comparison slider: (lowest, highest, default range) for a city with ``n_leads`` leads."""
    hi = max(2, min(n_leads, 10))
    return 2, max(3, hi), (2, min(hi, 6))


def comparison_rows(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``Workspace.compare``'s table with the texts the page shows (status, compliance, why not)."""
    return table.assign(
        status_text=[t("ws.cmp.ok", lang) if s == "ok" else t("ws.cmp.infeasible", lang) for s in table["status"]],
        compliant_text=table["compliant"].map(lambda v: "–" if pd.isna(v) else ("✓" if bool(v) else "✗")),
        why=[inf.explain(lang) if inf is not None else "" for inf in table["infeasible"]],
    )


def plannable_ks(table: pd.DataFrame) -> list[int]:
    """The k of the comparison that gave a plan (offered as "use this k")."""
    return [int(k) for k, s in zip(table["k"], table["status"], strict=True) if s == "ok"]


# ---- map clicks ---------------------------------------------------------------------------------
def click_signature(returned: Mapping[str, Any] | None) -> str:
    """What identifies one click in what the map returned: the click counter tells a second click
    on the same spot (toggling a unit off) from a plain rerun."""
    return json.dumps([returned.get(k) for k in CLICK_KEYS] if returned else None, default=str)


@dataclass(frozen=True)
class ClickAction:
    """What a map click asks the page to do.

    Attributes
    ----------
    kind : {"place", "facility", "toggle", "none"}
        Put a planned hospital there, show a facility's card, toggle a unit's selection, or nothing.
    id : str or None
        Facility or unit id.
    lonlat : tuple of float or None
        Where the map was clicked (``place``).
    """

    kind: str
    id: str | None = None
    lonlat: tuple[float, float] | None = None


def click_action(ws: Workspace, returned: Mapping[str, Any] | None, mode: str) -> ClickAction:
    """What a click on the plan map does in click ``mode`` (one of :data:`CLICK_MODES`)."""
    click = interpret_click(ws, returned)
    if mode == "place" and click.lon is not None:
        return ClickAction("place", lonlat=(float(click.lon), float(click.lat)))
    if click.kind == "facility":
        return ClickAction("facility", click.id)
    if click.kind == "unit" and mode == "select":
        return ClickAction("toggle", click.id)
    return ClickAction("none")


# ---- what-if ------------------------------------------------------------------------------------
def city_centre(layers: CityLayers) -> tuple[float, float]:
    """Where a planned hospital starts (WGS84 lon, lat): the centre of the city in use.

    The centre of the units' extent when a unit covers it; else (a bay, a river bend, a city in
    two parts) the inside point of the unit nearest to it, so that the hospital starts in the city.
    Rounded to 5 decimals (about a metre), as the form shows it.
    """
    units = layers.units.to_crs(4326) if layers.units.crs is not None else layers.units

    def compute() -> tuple[float, float]:
        minx, miny, maxx, maxy = units.total_bounds
        centre = Point((minx + maxx) / 2, (miny + maxy) / 2)
        geoms = units.geometry
        if not geoms.contains(centre).any():
            metric = gpd.GeoSeries([centre], crs=4326).to_crs(layers.metric_crs).iloc[0]
            nearest = int(geoms.to_crs(layers.metric_crs).distance(metric).to_numpy().argmin())
            centre = geoms.iloc[nearest].representative_point()
        return round(float(centre.x), 5), round(float(centre.y), 5)

    return memo(layers.units, ("city_centre",), compute)


def place_default(layers: CityLayers, placed: tuple[float, float] | None) -> tuple[float, float]:
    """The position the "add a planned hospital" form starts with: where the planner clicked the
    map to place it, else the centre of the city in use."""
    return (float(placed[0]), float(placed[1])) if placed else city_centre(layers)


# ---- figures ------------------------------------------------------------------------------------
def grid_rows(fig: Figures, lang: str) -> pd.DataFrame:
    """The per-grid figures with the page's short lead name and the "assumed level" tag."""
    return fig.grids.assign(
        lead_short=[planmap.short_name(n, 16) for n in fig.grids["lead_name"]],
        lead_level=[t("source.assumed", lang) if s == "assumed" else "" for s in fig.grids["lead_level_source"]],
    )


def grid_columns(rows: pd.DataFrame, columns: Sequence[Column]) -> list[Column]:
    """The columns of ``columns`` the figures have (the row label column always)."""
    return [c for c in columns if c.source in rows.columns or c.source == ""]


def illustrative_beds_share(fig: Figures) -> float:
    """Share of the city's beds resting on generated (illustrative) capacity."""
    return float(fig.city.get("beds_illustrative_share", 0.0) or 0.0)


def city_metrics(fig: Figures, lang: str) -> list[tuple[str, str]]:
    """The city's headline figures under the grid tables: (catalogue key of the label, value)."""
    c = fig.city
    return [
        ("ws.city.population", integer(c["population"], lang)),
        ("ws.city.mean_min", number(c["mean_travel_min"], 1, lang)),
        ("ws.city.share30", percent(c["share_30_lead"], 1, lang)),
        ("ws.city.balance", "±" + percent(c["max_balance_dev"], 0, lang)),
        ("ws.city.contiguous", f"{c['n_contiguous']}/{c['k']}"),
    ]


def selection_summary(fig: Figures, selection: Sequence[str]) -> dict[str, object]:
    """The selected units' count, population and grids (the hand-edit caption's parameters)."""
    sel = fig.units.loc[list(selection)]
    return {"n": len(sel), "population": f"{sel['population'].sum():,.0f}",
            "grids": ", ".join(sorted(set(sel["grid_id"].dropna())))}


def grid_label(fig: Figures, grid_id: str) -> str:
    """A grid as the move target list shows it: id and lead."""
    return f"{grid_id} · {fig.grids.at[grid_id, 'lead_name']}" if grid_id in fig.grids.index else grid_id


# ---- district lines and road fallback (issue 17) -------------------------------------------------
def districts_of(layers: CityLayers) -> pd.Series | None:
    """The district of every unit (:func:`grid_planning.city.districts.unit_districts`), once per
    city; None when the city has no districts (the page then offers no "keep whole districts")."""
    return city_districts(layers)


def splits_note(layers: CityLayers, plan: Plan, lang: str) -> str | None:
    """The plan's district splits in one sentence, as ``plan`` prints them: districts cut and the
    residents in their smaller parts, then the cut districts (largest smaller part first).
    None when the city has no districts."""
    splits = plan_splits(layers, plan)
    if splits is None:
        return None
    s = splits_summary(splits)
    text = t("plan.cli.splits", lang, cut=s["cut"], districts=s["districts"],
             layer=t("plan.cli.layer_districts", lang), residents=integer(s["smaller_parts"], lang))
    if s["cut"]:
        rows = splits[splits["grids"] > 1]
        text += t("ws.plan.splits_names", lang, names=t("ws.plan.list_sep", lang).join(
            t("ws.plan.split_part", lang, name=name, parts=row["parts"]) for name, row in rows.iterrows()))
    return text


def pieces_note(layers: CityLayers, plan: Plan | None, lang: str) -> str | None:
    """After a plan that keeps whole districts: the districts that are themselves in several
    pieces among the units, and why a grid holding one whole may then be in pieces (as ``plan
    --whole-districts`` prints it). None for other plans or when every district is in one piece."""
    if plan is None or not plan.param_map.get("whole_districts"):
        return None
    districts = districts_of(layers)
    if districts is None:
        return None
    pieces = memo(layers.units, ("plan_page", "district_pieces"), lambda: district_pieces(layers, districts))
    if not len(pieces):
        return None
    return t("plan.cli.district_pieces", lang, count=len(pieces),
             names=listed_labelled(pieces.items(), lang))


def fallback_note(layers: CityLayers, costs: CostMatrix, lang: str) -> str | None:
    """When the plan travels on roads and some residents' units join a piece of the network that
    holds too few facilities, the share of residents whose times fall back to straight-line time
    (:func:`grid_planning.city.costs.network_report`); None when there are none or no roads."""
    if costs.mode != "roads":
        return None
    report = memo(layers.facilities, ("plan_page", "network_report"),
                  lambda: network_report(layers.index, layers.facilities))
    if report["fallback_share"] <= 0:
        return None
    return t("ws.plan.fallback", lang, share=percent(report["fallback_share"], 1, lang),
             residents=integer(report["fallback_residents"], lang), units=report["fallback_units"])


# ---- G9 planning factors --------------------------------------------------------------------------
#: Units columns never offered as a disease-burden column (they are the units' own figures).
NOT_BURDEN = ("id", "name", "population", "pop_65plus", "pop_20plus", "district", "geometry")


@dataclass(frozen=True)
class G9View:
    """What the plan page's G9 tab shows: notes (weights, definition, gaps, the mark) and the
    table (one row per grid and the city's, text in the page's language)."""

    notes: list[str]
    table: pd.DataFrame
    illustrative: bool


def g9_view(layers: CityLayers, plan: Plan, lang: str) -> G9View:
    """The plan's G9 panel (:func:`grid_planning.assess.factors.g9_panel`) as the page shows it."""
    panel = g9_panel(layers, plan)
    return G9View(panel_notes(panel, lang), panel_table(panel, lang), panel.illustrative)


def burden_choices(layers: CityLayers) -> list[str]:
    """The units columns a planner may name as the disease-burden column: the extra columns whose
    every value is a number of 0 or more (the units' own figures are left out)."""
    units = layers.units
    out = []
    for col in units.columns:
        if str(col) in NOT_BURDEN:
            continue
        values = pd.to_numeric(units[col], errors="coerce")
        if len(values) and values.notna().all() and (values >= 0).all():
            out.append(str(col))
    return out


def g9_weights(layers: CityLayers, age_weight: float, burden_column: str | None,
               burden_weight: float) -> dict[str, object]:
    """The request change the G9 form makes; a weight the units cannot meet raises
    :class:`grid_planning.city.demand.DemandError` (its message names the file, column and units),
    so the page says so instead of planning."""
    change = {"age_weight": float(age_weight), "burden_column": burden_column or None,
              "burden_weight": float(burden_weight) if burden_column else 0.0}
    demand_figures(layers, age_weight=change["age_weight"], burden_column=change["burden_column"],
                   burden_weight=change["burden_weight"])
    return change


def g9_balance_note(layers: CityLayers, plan: Plan, lang: str) -> str | None:
    """Under the grid table of a plan balanced on G9 weighted demand: its population deviation
    counts residents and may exceed the tolerance, which bounds the demand's. None without weights
    or without a balance."""
    panel = g9_panel(layers, plan)
    if not panel.weighted or request_from_plan(plan).balance is None:
        return None
    weights = t("g9.weights.and", lang).join(
        part for part in (
            t("g9.short.age", lang, weight=f"{panel.age_weight:g}") if panel.age_weight else "",
            t("g9.short.burden", lang, weight=f"{panel.burden_weight:g}", column=panel.burden_column or "-")
            if panel.burden_weight else "",
        ) if part
    )
    return t("g9.balance_note", lang, weights=weights)
