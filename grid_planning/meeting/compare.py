"""Two or three options side by side: what a meeting compares, computed without a user interface.

An *option* (:class:`Option`) is a plan with its figures: a saved scenario opened exactly as the
plan page opens it (:func:`load_option`, through :meth:`Workspace.load`, so its travel model,
what-if facilities and exceptions are the scenario's own), or any plan with its costs
(:func:`plan_option`). From two or three options this module builds:

- :func:`metrics_table`: one table of figures, city-wide and per grid, the cells formatted for the
  reader's language (:mod:`grid_planning.base.numfmt`), each row marked when the options differ, each
  option's value marked better or worse than the first option's, and the difference written out;
- :func:`changed_units` and :func:`change_summary`: the units whose grid changes between two
  plans, with the residents affected, the grid and lead they leave and the one they join. Grids
  are matched by their **lead hospital**, never by id: the planner renumbers grids on every run, so
  "G2" of one option and "G2" of another are unrelated, while "the grid led by 市一医院" is the same
  grid wherever it appears;
- :func:`check_rows`, :func:`exception_rows`, :func:`check_counts`: each option's policy checks
  (failures and exceptions first, with their reasons) and the recorded exceptions;
- :func:`key_figures`: the six figures a presentation shows over the map;
- :func:`comparable_scenarios`: the saved scenarios that can be compared on the layers in use,
  with those saved on since-changed layers flagged.

User text (scenario names, facility and unit names, exception reasons) is returned as typed: a
data grid shows it as data; Markdown callers escape it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from grid_planning.assess.metrics import Figures, plan_figures
from grid_planning.base import numfmt
from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.base.textsafe import display_text
from grid_planning.city.planview import effective_facilities, fac_table, unit_grids
from grid_planning.domain.plan import Plan
from grid_planning.domain.rules import rule_label, status_rank
from grid_planning.maps.shared import GRID_PALETTE, short_name
from grid_planning.session.team import parts_text
from grid_planning.session.workspace import Workspace
from grid_planning.store.scenarios import (
    ScenarioInfo,
    ScenarioStore,
    changed_parts,
    layer_fingerprints,
)

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers

#: How many options a comparison holds (the compare page's maps sit side by side).
MIN_OPTIONS, MAX_OPTIONS = 2, 3


#: Symbols of a check's status (plain characters: they render in every CJK font).
STATUS_ICONS = {"pass": "✓", "fail": "✗", "exception": "◐", "warning": "⚠"}




#: Cell styles of the metrics table: a row where the options differ, and an option's value
#: better (1) or worse (-1) than the first option's.
DIFFERS_CSS = "background-color: #fff3cd; font-weight: 600"


VERDICT_CSS = {1: "background-color: #e3f4e6; color: #14632d", -1: "background-color: #fbe3e4; color: #a11a2b"}


# ---- options --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    """One option of a comparison: a plan, its figures and where it came from.

    Attributes
    ----------
    key : int or str
        The scenario id (or any label for a plan that is not saved).
    name : str
        The scenario's name as typed.
    plan : Plan
    figures : Figures
        :class:`grid_planning.assess.metrics.Figures` (units, grids, city, checks).
    changed : tuple of str
        Parts of the layers that changed since the scenario was saved (``units``, ``facilities``,
        ``roads``, ``crs`` or ``layers``); empty when it was made on the layers in use.
    info : ScenarioInfo, optional
        The store's record (owner, note, times) for a saved scenario.
    """

    key: int | str
    name: str
    plan: Plan
    figures: Figures
    changed: tuple[str, ...] = ()
    info: ScenarioInfo | None = None

    @property
    def k(self) -> int:
        """Number of grids."""
        return self.plan.k


def plan_option(layers: CityLayers, plan: Plan, name: str, costs: CostMatrix | None = None, *,
                key: int | str | None = None,
                lang: str = DEFAULT_LANGUAGE) -> Option:
    """An :class:`Option` of a plan that is not (necessarily) saved (its figures:
    :func:`grid_planning.assess.metrics.plan_figures`)."""
    return Option(name if key is None else key, str(name), plan, plan_figures(layers, plan, costs, lang=lang))


def load_option(
    store: ScenarioStore,
    scenario: int | str,
    layers: CityLayers,
    *,
    cost_provider: Callable | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> Option:
    """A saved scenario as the plan page shows it once opened.

    The scenario is opened in a fresh :class:`~grid_planning.session.workspace.Workspace`, so its travel
    model (the cost mode it was planned with), its what-if facilities and its recorded exceptions
    are applied exactly as on the plan page, and its figures are the plan page's figures.

    Parameters
    ----------
    store : ScenarioStore
    scenario : int or str
        Id or name.
    layers : CityLayers
        The layers in use.
    cost_provider : callable, optional
        ``(layers, params, facilities or None) -> CostMatrix`` (a page passes its cached one).
    lang : {"zh", "en"}

    Raises
    ------
    WorkspaceError
        ``other_city`` when the scenario is a plan of other units.
    ScenarioStoreError
        ``not_found``.
    """
    ws = Workspace(layers) if cost_provider is None else Workspace(layers, cost_provider=cost_provider)
    ws.load(store, scenario)
    loaded = ws.loaded
    assert loaded is not None and ws.plan is not None
    info = store.info(loaded.id)
    return Option(info.id, info.name, ws.plan, ws.figures(lang), tuple(loaded.changed), info)


def comparable_scenarios(store: ScenarioStore, layers: CityLayers) -> pd.DataFrame:
    """The saved scenarios that are plans of the units in use, most recently changed first.

    A scenario saved on these very layers is comparable as it is; one saved before the
    facilities, roads or populations changed is comparable but flagged (``changed`` names what
    differs); one of other units (another city, or the units were redrawn) is left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``name``, ``k``, ``updated``, ``owner``, ``owner_name``, ``changed``
        (tuple of str, empty when made on the layers in use).
    """
    saved = store.list()
    fp = layers.fingerprint()
    current = layer_fingerprints(layers)
    units = set(layers.units["id"].astype(str))
    rows = []
    for r in saved.itertuples(index=False):
        if r.city_fingerprint == fp:
            changed: tuple[str, ...] = ()
        else:
            parts = changed_parts(r.layer_fingerprints, current)
            if not {"units", "crs", "layers"} & set(parts) and parts:
                changed = parts  # same unit geometry and ids: only facilities or roads differ
            else:
                try:
                    plan = store.load(int(r.id))
                except Exception:  # noqa: BLE001 - a scenario that cannot be read is not offered
                    continue
                if set(plan.assignment.index.astype(str)) != units:
                    continue
                changed = parts or ("layers",)
        rows.append({"id": int(r.id), "name": r.name, "k": int(r.k), "updated": r.updated,
                     "owner": r.owner, "owner_name": r.owner_name, "changed": changed})
    return pd.DataFrame(rows, columns=["id", "name", "k", "updated", "owner", "owner_name", "changed"])


def option_label(position: int, name: str) -> str:
    """How an option is named in headers: its number in the comparison and its name (``2 · 方案乙``),
    shown by :func:`~grid_planning.base.textsafe.display_text`'s rule (no control or bidi character)."""
    return f"{position + 1} · {display_text(name)}"


# ---- the metrics table ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricSpec:
    """One figure of the comparison.

    Attributes
    ----------
    key : str
        Catalogue key suffix of its label (``meeting.metric.<key>``).
    kind : {"int", "min", "pct", "dev", "absdev", "num2", "count"}
        How it is written.
    better : {1, -1, 0}
        1 when more is better, -1 when less is better, 0 when neither (k, grid sizes).
    """

    key: str
    kind: str
    better: int


#: City-wide rows, in order.
CITY_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("k", "int", 0),
    MetricSpec("residents", "int", 1),
    MetricSpec("grid_pop_min", "int", 0),
    MetricSpec("grid_pop_max", "int", 0),
    MetricSpec("balance", "absdev", -1),
    MetricSpec("mean_min", "min", -1),
    MetricSpec("p90_min", "min", -1),
    MetricSpec("share_15", "pct", 1),
    MetricSpec("share_30", "pct", 1),
    MetricSpec("beds_per_1000", "num2", 1),
    MetricSpec("beds_min", "num2", 1),
    MetricSpec("compactness", "num2", 1),
    MetricSpec("compactness_min", "num2", 1),
    MetricSpec("not_contiguous", "count", -1),
    MetricSpec("districts_cut", "count", -1),
    MetricSpec("district_smaller_parts", "int", -1),
    MetricSpec("checks_failed", "count", -1),
    MetricSpec("checks_warning", "count", -1),
    MetricSpec("checks_exception", "count", 0),
    MetricSpec("checks_passed", "count", 0),
)


#: City rows shown only when the city has districts.
DISTRICT_METRICS = frozenset({"districts_cut", "district_smaller_parts"})


#: Per-grid rows (grids matched by lead), in order.
GRID_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("population", "int", 0),
    MetricSpec("balance_dev", "dev", 0),
    MetricSpec("mean_min", "min", -1),
    MetricSpec("share_30", "pct", 1),
    MetricSpec("beds_per_1000", "num2", 1),
    MetricSpec("compactness", "num2", 1),
)


_GRID_SOURCE = {"population": "population_shown", "balance_dev": "balance_dev", "mean_min": "mean_travel_min",
                "share_30": "share_30_lead", "beds_per_1000": "beds_per_1000", "compactness": "polsby_popper"}


#: Decimals each kind is shown with (also the precision two values are compared at).
_DIGITS = {"int": 0, "count": 0, "min": 1, "pct": 3, "dev": 3, "absdev": 3, "num2": 2}


def check_counts(checks: Iterable[Any]) -> dict[str, int]:
    """How many checks failed, warned, passed by exception and passed."""
    out = {s: 0 for s in ("fail", "warning", "exception", "pass")}
    for c in checks:
        out[c.status] = out.get(c.status, 0) + 1
    return out


def _f(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def city_values(option: Option) -> dict[str, float | None]:
    """The raw values of :data:`CITY_METRICS` for one option (``None`` where undefined)."""
    c = option.figures.city
    g = option.figures.grids
    counts = check_counts(option.figures.checks)
    pops = g["population_shown"] if len(g) else pd.Series(dtype=float)
    beds = pd.to_numeric(g["beds_per_1000"], errors="coerce") if len(g) else pd.Series(dtype=float)
    return {
        "k": float(c["k"]),
        "residents": _f(c["assigned_population"]),
        "grid_pop_min": _f(pops.min()) if len(pops) else None,
        "grid_pop_max": _f(pops.max()) if len(pops) else None,
        "balance": _f(c["max_balance_dev"]),
        "mean_min": _f(c["mean_travel_min"]),
        "p90_min": _f(c["p90_travel_min"]),
        "share_15": _f(c["share_15_lead"]),
        "share_30": _f(c["share_30_lead"]),
        "beds_per_1000": _f(c["beds_per_1000"]),
        "beds_min": _f(beds.min()) if beds.notna().any() else None,
        "compactness": _f(c["mean_polsby_popper"]),
        "compactness_min": _f(c["min_polsby_popper"]),
        "not_contiguous": float(int(c["k"]) - int(c["n_contiguous"])),
        # District splits (issue 17): None for a city without districts (the rows are left out).
        "districts_cut": _f(c.get("districts_cut")),
        "district_smaller_parts": _f(c.get("district_smaller_parts")),
        "checks_failed": float(counts["fail"]),
        "checks_warning": float(counts["warning"]),
        "checks_exception": float(counts["exception"]),
        "checks_passed": float(counts["pass"]),
    }


def format_value(value: float | None, kind: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A figure of the comparison as text (``—`` when missing)."""
    if value is None:
        return numfmt.MISSING
    if kind in ("int", "count"):
        return numfmt.integer(value, lang)
    if kind == "min":
        return numfmt.with_unit(value, t("meeting.unit.min", lang), 1, lang)
    if kind == "pct":
        return numfmt.percent(value, 1, lang)
    if kind == "dev":
        return numfmt.percent(value, 1, lang, signed=True)
    if kind == "absdev":
        return "±" + numfmt.percent(value, 1, lang)
    return numfmt.number(value, _DIGITS.get(kind, 2), lang)


def format_delta(delta: float | None, kind: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A difference to the first option (``+1,200``, ``−2.5 分钟``, ``+3.1 个百分点``); empty when
    there is none to show."""
    if delta is None:
        return ""
    digits = 1 if kind in ("pct", "dev", "absdev") else _DIGITS.get(kind, 2)
    value = delta * 100 if kind in ("pct", "dev", "absdev") else delta
    if round(value, digits) == 0:
        return t("meeting.delta.same", lang)
    sign = "+" if value > 0 else "−"  # a real minus sign: a hyphen reads as a dash in a table
    body = numfmt.number(abs(value), digits, lang)
    if kind == "min":
        body = numfmt.with_unit(abs(value), t("meeting.unit.min", lang), 1, lang)
    elif kind in ("pct", "dev", "absdev"):
        body = t("meeting.unit.points", lang, value=body)
    return sign + body


def _rounded(value: float | None, kind: str) -> float | None:
    if value is None:
        return None
    digits = _DIGITS.get(kind, 2)
    return round(value, digits)


@dataclass(frozen=True)
class MetricRow:
    """One row of the comparison.

    Attributes
    ----------
    section : str
        ``"city"``, or the lead facility id of the grid the row is about.
    key : str
        The metric (:class:`MetricSpec` key).
    label : str
        The metric in words.
    values : tuple of float or None
        One raw value per option (``None``: not defined, or the option has no grid led by that
        hospital).
    texts : tuple of str
        The values as shown.
    deltas : tuple of str
        The difference of each option to the first (empty for the first).
    differs : bool
        Whether the options show different values.
    verdict : tuple of int
        Per option, 1 when better than the first option, -1 when worse, 0 when equal, neutral
        or not comparable.
    """

    section: str
    key: str
    label: str
    values: tuple[float | None, ...]
    texts: tuple[str, ...]
    deltas: tuple[str, ...]
    differs: bool
    verdict: tuple[int, ...]


def _row(section: str, spec: MetricSpec, label: str, values: Sequence[float | None], lang: str,
         suffixes: Sequence[str] = ()) -> MetricRow:
    texts = [format_value(v, spec.kind, lang) for v in values]
    if suffixes:
        texts = [x + s if x != numfmt.MISSING else x for x, s in zip(texts, suffixes, strict=True)]
    rounded = [_rounded(v, spec.kind) for v in values]
    base = rounded[0]
    deltas, verdict = [""], [0]
    for v in rounded[1:]:
        if v is None or base is None:
            deltas.append("")
            verdict.append(0)
            continue
        deltas.append(format_delta(v - base, spec.kind, lang))
        verdict.append(int(np.sign(v - base)) * spec.better)
    return MetricRow(section, spec.key, label, tuple(values), tuple(texts), tuple(deltas),
                     len(set(texts)) > 1, tuple(verdict))


@dataclass(frozen=True)
class ComparisonTable:
    """:func:`metrics_table`: rows and the names of the options and grids.

    Attributes
    ----------
    options : tuple of str
        Option headers (:func:`option_label`).
    rows : tuple of MetricRow
        City rows first (section ``"city"``), then per grid (section = lead id), grids in the
        order they first appear (the first option's order, then leads new in later options).
    grid_names : dict
        Lead id -> the grid's name (``"<lead name>网格"``).
    notes : tuple of str
        What the reader must know (illustrative beds ...).
    """

    options: tuple[str, ...]
    rows: tuple[MetricRow, ...]
    grid_names: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def city(self) -> list[MetricRow]:
        """The city-wide rows."""
        return [r for r in self.rows if r.section == "city"]

    def grids(self) -> list[MetricRow]:
        """The per-grid rows."""
        return [r for r in self.rows if r.section != "city"]

    def row(self, section: str, key: str) -> MetricRow:
        """The row of ``key`` in ``section`` (``"city"`` or a lead id)."""
        for r in self.rows:
            if r.section == section and r.key == key:
                return r
        raise KeyError((section, key))

    def frame(self, part: str = "city", lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
        """The city or grid rows as a table for a page or a spreadsheet.

        Columns: (for ``part="grids"`` the grid), the metric, one column per option, the
        difference of each later option to the first (``Δ 2``, ``Δ 3``) and ``differs`` (a mark,
        ``≠``, on rows where the options differ).
        """
        rows = self.city() if part == "city" else self.grids()
        records = []
        for r in rows:
            rec: dict[str, object] = {}
            if part != "city":
                rec[t("meeting.col.grid", lang)] = self.grid_names.get(r.section, r.section)
            rec[t("meeting.col.metric", lang)] = r.label
            for name, text in zip(self.options, r.texts, strict=True):
                rec[name] = text
            for i, d in enumerate(r.deltas[1:], start=2):
                rec[t("meeting.col.delta", lang, n=i)] = d
            rec[t("meeting.col.differs", lang)] = "≠" if r.differs else ""
            records.append(rec)
        return pd.DataFrame(records)

    def styles(self, part: str = "city") -> pd.DataFrame:
        """CSS for each cell of :meth:`frame` (same shape, positional): rows where the options
        differ are shaded, an option's value better than the first option's green, worse red."""
        rows = self.city() if part == "city" else self.grids()
        lead = 1 if part != "city" else 0
        out = []
        for r in rows:
            shade = DIFFERS_CSS if r.differs else ""
            cells = [""] * lead + [shade]
            cells += [VERDICT_CSS.get(v, "") if r.differs else "" for v in r.verdict]
            cells += [VERDICT_CSS.get(v, "") for v in r.verdict[1:]]
            cells.append(shade)
            out.append(cells)
        return pd.DataFrame(out)


def lead_order(options: Sequence[Option]) -> list[str]:
    """Every lead of the options, in the order they first appear (the first option's grids first)."""
    seen: dict[str, None] = {}
    for o in options:
        for lead in o.plan.leads.astype(str):
            seen.setdefault(lead, None)
    return list(seen)


def metrics_table(options: Sequence[Option], lang: str = DEFAULT_LANGUAGE) -> ComparisonTable:
    """One table of the options' figures, differences marked.

    City rows (:data:`CITY_METRICS`): grids, residents covered, smallest and largest grid, the
    largest deviation from the mean grid population, mean and 90th-percentile minutes to the lead,
    15- and 30-minute shares, beds per 1,000 (city, and the lowest grid), compactness (mean and
    lowest Polsby-Popper), grids not in one piece, the district splits (districts cut, residents in
    their smaller parts; when the city has districts), and the checks failed, warned, passed by
    exception and passed. Per grid (:data:`GRID_METRICS`), for every lead of any option: its
    grid's residents, deviation from the mean, mean minutes, 30-minute share, beds per 1,000 and
    compactness; an option in which that hospital leads no grid shows ``—``.

    Beds resting on illustrative (generated) capacity carry the catalogue's illustrative mark.

    Parameters
    ----------
    options : sequence of Option
        Two or three (one is accepted: nothing differs).
    lang : {"zh", "en"}
    """
    names = tuple(option_label(i, o.name) for i, o in enumerate(options))
    ill = t("meeting.illustrative_mark", lang)
    rows: list[MetricRow] = []
    vals = [city_values(o) for o in options]
    for spec in CITY_METRICS:
        if spec.key in DISTRICT_METRICS and all(v[spec.key] is None for v in vals):
            continue
        suffixes: list[str] = []
        if spec.key in ("beds_per_1000", "beds_min"):
            suffixes = [ill if float(o.figures.city.get("beds_illustrative_share", 0.0) or 0.0) > 0 else ""
                        for o in options]
        rows.append(_row("city", spec, t(f"meeting.metric.{spec.key}", lang), [v[spec.key] for v in vals],
                         lang, suffixes))
    leads = lead_order(options)
    grid_names: dict[str, str] = {}
    by_lead = []
    for o in options:
        g = o.figures.grids
        frame = g.set_index(g["lead_id"].astype(str)) if len(g) else g
        by_lead.append(frame)
        for lead, name in zip(frame.index, frame["name"] if len(frame) else [], strict=True):
            grid_names.setdefault(str(lead), str(name))
    for lead in leads:
        for spec in GRID_METRICS:
            col = _GRID_SOURCE[spec.key]
            values = [_f(f.at[lead, col]) if lead in f.index else None for f in by_lead]
            suffixes = []
            if spec.key == "beds_per_1000":
                suffixes = [ill if lead in f.index and float(f.at[lead, "beds_illustrative_share"] or 0) > 0
                            else "" for f in by_lead]
            rows.append(_row(lead, spec, t(f"meeting.grid_metric.{spec.key}", lang), values, lang, suffixes))
    notes = []
    if any(float(o.figures.city.get("beds_illustrative_share", 0.0) or 0.0) > 0 for o in options):
        notes.append(t("meeting.note.illustrative_beds", lang, mark=ill.strip()))
    notes.append(t("meeting.note.matched_by_lead", lang))
    return ComparisonTable(names, tuple(rows), grid_names, tuple(notes))


# ---- units that change grid -----------------------------------------------------------------------
def _lead_names(layers: CityLayers, plans: Iterable[Plan]) -> dict[str, str]:
    names: dict[str, str] = {}
    for plan in plans:
        fac = fac_table(effective_facilities(layers, plan))
        for lead in plan.leads.astype(str):
            names.setdefault(lead, str(fac.at[lead, "name"]) if lead in fac.index and "name" in fac else lead)
    return names


def _unit_leads(layers: CityLayers, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Per unit of ``layers`` (in order): its grid id and its grid's lead id (``""`` when none)."""
    grids = unit_grids(layers, plan)
    leads = {str(g): str(f) for g, f in plan.leads.items()}
    return grids, np.asarray([leads.get(g, "") for g in grids], dtype=object)


#: Columns of :func:`changed_units`.
CHANGE_COLUMNS = ("unit_id", "name", "population", "from_grid", "from_lead", "from_lead_name",
                  "to_grid", "to_lead", "to_lead_name")


def changed_units(layers: CityLayers, a: Plan, b: Plan) -> pd.DataFrame:
    """The units whose grid changes from plan ``a`` to plan ``b``, most residents first.

    A unit changes grid when the lead hospital of its grid differs between the plans (grids are
    matched by lead, since ids are renumbered); a unit in a grid of ``a`` and ``b`` with the same
    lead has not moved even if the grid's id changed.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CHANGE_COLUMNS`: unit id and name, residents, the grid id, lead id and lead
        name in ``a`` (``from_*``) and in ``b`` (``to_*``).
    """
    ga, la = _unit_leads(layers, a)
    gb, lb = _unit_leads(layers, b)
    moved = la != lb
    units = layers.units
    names = _lead_names(layers, (a, b))
    pop = pd.to_numeric(units["population"], errors="coerce").fillna(0).to_numpy(float)
    frame = pd.DataFrame({
        "unit_id": units["id"].astype(str).to_numpy()[moved],
        "name": (units["name"].astype(str).to_numpy() if "name" in units
                 else units["id"].astype(str).to_numpy())[moved],
        "population": pop[moved],
        "from_grid": ga[moved],
        "from_lead": la[moved],
        "from_lead_name": [names.get(x, x) for x in la[moved]],
        "to_grid": gb[moved],
        "to_lead": lb[moved],
        "to_lead_name": [names.get(x, x) for x in lb[moved]],
    }, columns=list(CHANGE_COLUMNS))
    return frame.sort_values(["population", "unit_id"], ascending=[False, True], kind="stable",
                             ignore_index=True)


@dataclass(frozen=True)
class ChangeSummary:
    """How much changes from one option to another.

    Attributes
    ----------
    n_units : int
        Units that change grid.
    residents : float
        Residents of those units.
    share : float
        ``residents`` over the city's population.
    flows : pandas.DataFrame
        One row per (from lead, to lead): ``from_lead``, ``from_lead_name``, ``to_lead``,
        ``to_lead_name``, ``n_units``, ``residents``; most residents first.
    leads_dropped : tuple of str
        Leads of ``a`` that lead no grid in ``b``.
    leads_new : tuple of str
        Leads of ``b`` that led no grid in ``a``.
    """

    n_units: int
    residents: float
    share: float
    flows: pd.DataFrame
    leads_dropped: tuple[str, ...]
    leads_new: tuple[str, ...]

    def text(self, lang: str = DEFAULT_LANGUAGE, *, a: str = "", b: str = "") -> str:
        """The summary in one sentence (names as given; Markdown callers escape them)."""
        if not self.n_units:
            return t("meeting.changes.none", lang, a=a, b=b)
        return t("meeting.changes.summary", lang, a=a, b=b, n=numfmt.integer(self.n_units, lang),
                 residents=numfmt.integer(self.residents, lang), share=numfmt.percent(self.share, 1, lang))


def change_summary(layers: CityLayers, a: Plan, b: Plan,
                   changes: pd.DataFrame | None = None) -> ChangeSummary:
    """Residents who change grid from ``a`` to ``b``, in total and per pair of leads."""
    changes = changed_units(layers, a, b) if changes is None else changes
    total = float(pd.to_numeric(layers.units["population"], errors="coerce").fillna(0).sum())
    flows = (
        changes.groupby(["from_lead", "from_lead_name", "to_lead", "to_lead_name"], sort=False)
        .agg(n_units=("unit_id", "size"), residents=("population", "sum"))
        .reset_index()
        .sort_values(["residents", "from_lead", "to_lead"], ascending=[False, True, True], kind="stable",
                     ignore_index=True)
    ) if len(changes) else pd.DataFrame(columns=["from_lead", "from_lead_name", "to_lead", "to_lead_name",
                                                 "n_units", "residents"])
    la, lb = list(a.leads.astype(str)), list(b.leads.astype(str))
    residents = float(changes["population"].sum())
    return ChangeSummary(
        n_units=len(changes), residents=residents, share=residents / total if total > 0 else float("nan"),
        flows=flows, leads_dropped=tuple(x for x in la if x not in lb),
        leads_new=tuple(x for x in lb if x not in la),
    )


def changes_frame(changes: pd.DataFrame, lang: str = DEFAULT_LANGUAGE, limit: int | None = None) -> pd.DataFrame:
    """:func:`changed_units` as a table a reader understands (headers in ``lang``; residents as
    numbers so the grid sorts them)."""
    shown = changes if limit is None else changes.head(limit)

    def where(grid: str, name: str) -> str:
        return f"{grid} · {name}" if grid else t("meeting.changes.unassigned", lang)

    return pd.DataFrame({
        t("meeting.col.unit", lang): shown["unit_id"].to_numpy(),
        t("meeting.col.unit_name", lang): shown["name"].to_numpy(),
        t("meeting.col.residents", lang): shown["population"].round(0).astype("int64").to_numpy(),
        t("meeting.col.from", lang): [where(g, n) for g, n in zip(shown["from_grid"], shown["from_lead_name"],
                                                                  strict=True)],
        t("meeting.col.to", lang): [where(g, n) for g, n in zip(shown["to_grid"], shown["to_lead_name"],
                                                                strict=True)],
    })


def flows_frame(summary: ChangeSummary, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The moves between grids (:attr:`ChangeSummary.flows`) as a table: residents, units, from, to
    (the figures first: they stay on screen when the names are long)."""
    f = summary.flows
    unassigned = t("meeting.changes.unassigned", lang)

    def names(leads: pd.Series, texts: pd.Series) -> list[str]:
        # Short names (no bracketed alias) keep the four columns on screen beside the map.
        return [short_name(n, 18) if lead else unassigned for lead, n in zip(leads, texts, strict=True)]

    return pd.DataFrame({
        t("meeting.col.residents", lang): f["residents"].round(0).astype("int64").to_numpy(),
        t("meeting.col.n_units", lang): f["n_units"].astype("int64").to_numpy(),
        t("meeting.col.from_lead", lang): names(f["from_lead"], f["from_lead_name"]),
        t("meeting.col.to_lead", lang): names(f["to_lead"], f["to_lead_name"]),
    })


# ---- checks and exceptions ------------------------------------------------------------------------
def check_rows(option: Option, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """An option's checks, failures first, then warnings, exceptions (with their reasons) and passes.

    Columns (headers in ``lang``): status (symbol and words), rule, grid (id and lead name, or
    "city"), message.
    """
    names = dict(zip(option.figures.grids["grid_id"], option.figures.grids["lead_name"], strict=True)) \
        if len(option.figures.grids) else {}
    rows = sorted(option.figures.checks, key=lambda c: (status_rank(c.status), c.rule, c.grid_id or ""))
    return pd.DataFrame({
        t("meeting.col.status", lang): [f"{STATUS_ICONS.get(c.status, '')} {c.status_text(lang)}" for c in rows],
        t("meeting.col.rule", lang): [rule_label(c.rule, lang) for c in rows],
        t("meeting.col.grid", lang): [f"{c.grid_id} · {names.get(c.grid_id, '')}".rstrip(" ·") if c.grid_id
                                      else t("meeting.city", lang) for c in rows],
        t("meeting.col.message", lang): [c.message(lang) for c in rows],
    })


def attention(option: Option, lang: str = DEFAULT_LANGUAGE) -> list[tuple[str, str, str]]:
    """The checks that need a reader's attention (failed, warned, passed by exception), failures
    first: ``(symbol, "rule · grid lead", message)``, the message with the exception's reason."""
    names = dict(zip(option.figures.grids["grid_id"], option.figures.grids["lead_name"], strict=True)) \
        if len(option.figures.grids) else {}
    rows = sorted((c for c in option.figures.checks if c.status != "pass"),
                  key=lambda c: (status_rank(c.status), c.rule, c.grid_id or ""))
    out = []
    for c in rows:
        where = f"{c.grid_id} {names.get(c.grid_id, '')}".strip() if c.grid_id else t("meeting.city", lang)
        out.append((STATUS_ICONS.get(c.status, ""), f"{rule_label(c.rule, lang)} · {where}", c.message(lang)))
    return out


def exception_rows(layers: CityLayers, option: Option, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The "in principle" exceptions recorded in an option: rule, who (the hospital or the city),
    the grid, and the written reason."""
    plan = option.plan
    fac = fac_table(effective_facilities(layers, plan))
    lead_grid = {str(f): str(g) for g, f in plan.leads.items()}
    records = []
    for exc in plan.exceptions:
        if exc.subject == "city":
            who, grid = t("meeting.city", lang), ""
        else:
            who = str(fac.at[exc.subject, "name"]) if exc.subject in fac.index and "name" in fac else exc.subject
            grid = lead_grid.get(exc.subject, "")
        records.append({
            t("meeting.col.rule", lang): exc.rule,
            t("meeting.col.subject", lang): who,
            t("meeting.col.grid", lang): grid,
            t("meeting.col.reason", lang): exc.reason,
        })
    return pd.DataFrame(records, columns=[t(f"meeting.col.{c}", lang) for c in ("rule", "subject", "grid", "reason")])


def checks_text(checks: Iterable[Any], lang: str = DEFAULT_LANGUAGE) -> str:
    """The checks in a few words: ``✓ 全部通过（2 项例外）`` or ``✗ 1 项未通过`` (with warnings)."""
    n = check_counts(checks)
    if n["fail"]:
        text = t("meeting.checks.failed", lang, n=n["fail"])
    else:
        text = t("meeting.checks.passed", lang)
        if n["exception"]:
            text += t("meeting.checks.exceptions", lang, n=n["exception"])
    if n["warning"]:
        text += t("meeting.checks.warnings", lang, n=n["warning"])
    return text


# ---- presentation ---------------------------------------------------------------------------------
#: The figures shown over the presentation map, in order (catalogue ``meeting.figure.<key>``).
KEY_FIGURES = ("k", "residents", "mean_min", "share_30", "balance", "checks")


def key_figures(option: Option, lang: str = DEFAULT_LANGUAGE) -> list[tuple[str, str, str]]:
    """The figures a presentation shows for an option: ``(key, label, value)`` in
    :data:`KEY_FIGURES` order, values formatted for ``lang``.

    ``checks`` is :func:`checks_text`; its key tells a view to colour it (``fail`` when any check
    failed is read from :func:`check_counts`).
    """
    v = city_values(option)
    values = {
        "k": format_value(v["k"], "int", lang),
        "residents": format_value(v["residents"], "int", lang),
        "mean_min": format_value(v["mean_min"], "min", lang),
        "share_30": format_value(v["share_30"], "pct", lang),
        "balance": format_value(v["balance"], "absdev", lang),
        "checks": checks_text(option.figures.checks, lang),
    }
    return [(k, t(f"meeting.figure.{k}", lang), values[k]) for k in KEY_FIGURES]


def flag_text(changed: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """``""`` for an option made on the layers in use, else what changed since it was saved."""
    if not changed:
        return ""

    if tuple(changed) == ("layers",):
        return t("meeting.flag.changed_unknown", lang)
    return t("meeting.flag.changed", lang, parts=parts_text(changed, lang))


def lead_colours(options: Sequence[Option] | Sequence[Plan]) -> dict[str, str]:
    """One colour per lead hospital across all options, so a grid keeps its colour from map to map
    (the first option's grids take the planner's usual colours, in order)."""
    plans = [o.plan if isinstance(o, Option) else o for o in options]
    seen: dict[str, str] = {}
    for plan in plans:
        for lead in plan.leads.astype(str):
            if lead not in seen:
                seen[lead] = GRID_PALETTE[len(seen) % len(GRID_PALETTE)]
    return seen


def option_keys(values: Iterable[object], limit: int = 9) -> list[int]:
    """Scenario ids from a request (``"3,5,7"``, a list of strings): integers only, each once, at
    most ``limit``; anything else is ignored."""
    out: list[int] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part.isdigit() and len(part) < 12 and int(part) not in out:
                out.append(int(part))
    return out[:limit]
