"""The G9 panel: how the planning factors (age 65+, disease burden) differ by grid.

Per grid: residents, residents 65+ and their share, the burden figure (when the plan names a
burden column) and its rate per 1,000 residents, and the weighted demand the plan was balanced
on (:func:`grid_planning.domain.rules.g9_demand`, with the plan's own weights), each beside the
city's figure. The grids' rows add up to the city's row. Figures resting on generated units are
marked illustrative. The plan page, ``check`` and the report all show this one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.base.numfmt import integer, number, percent, whole_people
from grid_planning.city.demand import DemandError, demand_figures
from grid_planning.city.planview import assignment_for
from grid_planning.domain import rules
from grid_planning.domain.request import request_from_plan

if TYPE_CHECKING:
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan

#: The city's row of :attr:`G9Panel.table`.
CITY_ROW = "city"

#: Columns of :attr:`G9Panel.table`.
COLUMNS: tuple[str, ...] = (
    "residents", "pop65", "share65", "burden", "burden_per_1000", "demand", "demand_share",
    "demand_dev", "demand_per_resident",
)


@dataclass(frozen=True)
class G9Panel:
    """The G9 figures of a plan.

    Attributes
    ----------
    table : DataFrame
        One row per grid (``G1`` ...) and the city's row (:data:`CITY_ROW`), columns
        :data:`COLUMNS`: ``residents``; ``pop65`` and ``share65`` (NaN when the units have no
        65+ figures); ``burden`` and ``burden_per_1000`` (NaN without a burden column);
        ``demand`` (weighted demand), ``demand_share`` (of the city's), ``demand_dev`` (from the
        mean grid's: the deviation the balance tolerance bounds; NaN on the city's row) and
        ``demand_per_resident``.
    age_weight, burden_weight : float
        The plan's weights (0: the factor does not weigh).
    burden_column : str or None
        The burden column the plan names.
    age_complete : bool
        Every unit has a 65+ figure (False: the 65+ figures cover only the units that have one).
    illustrative : bool
        The units are generated (a synthetic city, or a ``source`` of "illustrative").
    error : DemandError or None
        The plan's weights need figures these units do not have: the table then shows the
        residents' figures only.
    """

    table: pd.DataFrame
    age_weight: float
    burden_weight: float
    burden_column: str | None
    age_complete: bool
    illustrative: bool
    error: DemandError | None = None

    @property
    def weighted(self) -> bool:
        """Whether the plan was balanced on weighted demand rather than residents."""
        return bool(self.age_weight or self.burden_weight) and self.error is None


def units_illustrative(layers: CityLayers) -> bool:
    """Whether the city's units are generated data (a synthetic city, or a ``source`` column
    saying "illustrative"): every figure built on them carries the mark."""
    if str(getattr(layers, "sources", {}).get("units", "")) == "synthetic":
        return True
    return rules.any_illustrative(layers.units, part="facility")


def g9_panel(layers: CityLayers, plan: Plan) -> G9Panel:
    """The G9 panel of ``plan`` on ``layers`` (see the module docstring).

    Never raises for data the weights need and the units lack: the panel then carries the
    problem (:attr:`G9Panel.error`) and the residents' figures.
    """
    req = request_from_plan(plan)
    error = None
    try:
        figures = demand_figures(
            layers, age_weight=req.age_weight, burden_column=req.burden_column,
            burden_weight=req.burden_weight,
        )
    except DemandError as exc:
        error = exc
        figures = demand_figures(layers)
    grids = assignment_for(layers, plan).to_numpy(dtype=object)
    order = [str(g) for g in plan.leads.index]
    frame = pd.DataFrame({"grid": grids, "residents": figures.population, "demand": figures.demand})
    pop65 = figures.pop65
    has65 = pop65 is not None
    if has65:
        known = np.isfinite(pop65)
        frame["pop65"] = np.where(known, pop65, 0.0)
        # the share of the residents of the units that have a 65+ figure
        frame["residents65"] = np.where(known, figures.population, 0.0)
    burden = figures.burden if error is None else None
    if burden is not None:
        frame["burden"] = burden
    sums = frame.groupby("grid", sort=False).sum(numeric_only=True).reindex(order).fillna(0.0)
    sums.loc[CITY_ROW] = frame.drop(columns="grid").sum(numeric_only=True)
    table = pd.DataFrame(index=pd.Index([*order, CITY_ROW], name="grid_id"))
    table["residents"] = sums["residents"]
    if has65:
        table["pop65"] = sums["pop65"]
        table["share65"] = sums["pop65"] / sums["residents65"].where(sums["residents65"] > 0)
    else:
        table["pop65"] = table["share65"] = np.nan
    if burden is not None:
        table["burden"] = sums["burden"]
        table["burden_per_1000"] = sums["burden"] * 1000.0 / sums["residents"].where(sums["residents"] > 0)
    else:
        table["burden"] = table["burden_per_1000"] = np.nan
    table["demand"] = sums["demand"]
    city_demand = float(sums.loc[CITY_ROW, "demand"])
    table["demand_share"] = sums["demand"] / city_demand if city_demand > 0 else np.nan
    grid_demand = sums["demand"].drop(index=CITY_ROW)
    mean = float(grid_demand.mean()) if len(grid_demand) else 0.0
    table["demand_dev"] = (sums["demand"] / mean - 1).where(sums.index != CITY_ROW) if mean > 0 else np.nan
    table["demand_per_resident"] = sums["demand"] / sums["residents"].where(sums["residents"] > 0)
    return G9Panel(
        table=table[list(COLUMNS)],
        age_weight=float(req.age_weight),
        burden_weight=float(req.burden_weight),
        burden_column=figures.burden_column if error is None else req.burden_column,
        age_complete=bool(has65 and np.isfinite(pop65).all()),
        illustrative=units_illustrative(layers),
        error=error,
    )


def weights_text(panel: G9Panel, lang: str = DEFAULT_LANGUAGE) -> str:
    """The weights the plan used, in one plain sentence (or that it used residents only)."""
    if not (panel.age_weight or panel.burden_weight):
        return t("g9.weights.none", lang)
    parts = []
    if panel.age_weight:
        parts.append(t("g9.weights.age", lang, weight=number(panel.age_weight, 2, lang).rstrip("0").rstrip(".")))
    if panel.burden_weight:
        parts.append(t("g9.weights.burden", lang, column=panel.burden_column or "-",
                       weight=number(panel.burden_weight, 2, lang).rstrip("0").rstrip(".")))
    return t("g9.weights.used", lang, parts=t("g9.weights.and", lang).join(parts))


def _people(column: pd.Series, lang: str) -> list[str]:
    """A people column of the panel for a reader: the grids in whole people that add up to the
    city's row (:func:`whole_people`, as the grid figures), the city's row rounded."""
    grids = column.index != CITY_ROW
    shown = column.astype(object).copy()
    if grids.any() and column[grids].notna().all():
        shown[grids] = whole_people(column[grids].to_numpy(float))
    return [integer(v, lang) for v in shown]


def panel_table(panel: G9Panel, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The panel as display text: one row per grid and the city's row, headers in ``lang``;
    columns without figures (no 65+ data, no burden column) are left out."""
    tab = panel.table
    out = pd.DataFrame(index=range(len(tab)))
    out[t("g9.col.grid", lang)] = [t("g9.city", lang) if g == CITY_ROW else str(g) for g in tab.index]
    out[t("g9.col.residents", lang)] = _people(tab["residents"], lang)
    if tab["pop65"].notna().any():
        out[t("g9.col.pop65", lang)] = _people(tab["pop65"], lang)
        out[t("g9.col.share65", lang)] = [percent(v, 1, lang) for v in tab["share65"]]
    if tab["burden"].notna().any():
        out[t("g9.col.burden", lang, column=panel.burden_column or "-")] = [integer(v, lang) for v in tab["burden"]]
        out[t("g9.col.burden_per_1000", lang)] = [number(v, 1, lang) for v in tab["burden_per_1000"]]
    out[t("g9.col.demand", lang)] = _people(tab["demand"], lang)
    out[t("g9.col.demand_share", lang)] = [percent(v, 1, lang) for v in tab["demand_share"]]
    out[t("g9.col.demand_dev", lang)] = [percent(v, 1, lang, signed=True) for v in tab["demand_dev"]]
    out[t("g9.col.demand_per_resident", lang)] = [number(v, 2, lang) for v in tab["demand_per_resident"]]
    return out


def panel_notes(panel: G9Panel, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """What a reader must know beside the table: the definition, the weights, gaps, the mark."""
    notes = [weights_text(panel, lang), t("g9.definition", lang)]
    if panel.error is not None:
        notes.append(t("g9.error", lang, detail=panel.error.message(lang)))
    if panel.table["pop65"].notna().any() and not panel.age_complete:
        notes.append(t("g9.age_partial", lang))
    if panel.table["pop65"].isna().all():
        notes.append(t("g9.no_age", lang))
    if panel.illustrative:
        notes.append(t("g9.illustrative", lang))
    return notes


def panel_lines(panel: G9Panel, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """The panel as plain text lines (``check`` and the CLI): title, notes, one line per row."""
    tab = panel_table(panel, lang)
    lines = [t("g9.title", lang), *("  " + n for n in panel_notes(panel, lang))]
    headers = list(tab.columns)
    widths = [max(len(str(h)), *(len(str(v)) for v in tab[h])) for h in headers]
    lines.append("  " + "  ".join(str(h).rjust(w) for h, w in zip(headers, widths, strict=True)))
    for _, row in tab.iterrows():
        lines.append("  " + "  ".join(str(row[h]).rjust(w) for h, w in zip(headers, widths, strict=True)))
    return lines
