"""G9 demand of a city's units: the figures the planning factors rest on, read from the units layer.

The one definition of weighted demand is :func:`grid_planning.domain.rules.g9_demand`; this module
reads its figures (residents, residents 65+, a burden column the planner names) from the city's
units and refuses, with the file, the column and what to do, when a weight asks for a figure the
units do not have. :func:`unit_demand` is what the planner balances and assigns by and what the
request's balance is re-verified on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from grid_planning.base.i18n import CatalogueError
from grid_planning.domain import rules
from grid_planning.domain.schema import UNIT_ALIASES, fold_text

if TYPE_CHECKING:
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.request import PlanRequest

#: Unit ids named in a refusal (the count says how many more).
SHOWN_IDS = 5

#: Columns of the units file listed when a burden column is not among them.
SHOWN_COLUMNS = 20

#: A burden column name is repeated in a refusal up to this many characters (it is the user's text).
SHOWN_NAME_CHARS = 80


class DemandError(CatalogueError):
    """A G9 weight asks for a figure the units do not have.

    Attributes
    ----------
    code : str
        The message is ``planner.infeasible.g9_<code>``, the same text the planner's refusal (code
        ``g9_<code>``), the CLI and the plan page show.
    params : dict
        Message values: ``file``, ``column``, ``aliases``, ``count``, ``ids``, ``columns``.
    """

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        super().__init__(f"planner.infeasible.g9_{code}", **params)


@dataclass(frozen=True)
class DemandFigures:
    """The G9 figures per unit (unit order of the city's index).

    Attributes
    ----------
    population : ndarray
        Residents.
    pop65 : ndarray or None
        Residents 65+ (NaN where a unit lacks them); None when the units have no such column.
    burden : ndarray or None
        The burden column's values; None without a burden column.
    burden_column : str or None
        The column as the units layer names it.
    demand : ndarray
        Weighted demand (:func:`grid_planning.domain.rules.g9_demand`).
    """

    population: np.ndarray
    pop65: np.ndarray | None
    burden: np.ndarray | None
    burden_column: str | None
    demand: np.ndarray


def weighted(request: PlanRequest) -> bool:
    """Whether ``request`` asks for G9 weights (an age or burden weight other than 0)."""
    return bool(getattr(request, "age_weight", 0.0) or getattr(request, "burden_weight", 0.0))


def find_column(units: pd.DataFrame, column: str) -> str | None:
    """The units column ``column`` names: itself, or the one that differs only in case, width or
    separators (``Chronic_Patients`` for ``chronic patients``); None when there is none."""
    if column in units.columns:
        return column
    folded = fold_text(column)
    return next((str(c) for c in units.columns if c != "geometry" and fold_text(c) == folded), None)


def _ids(index: pd.Index, mask: np.ndarray) -> tuple[int, str]:
    bad = [str(u) for u in index[mask]]
    shown = ", ".join(bad[:SHOWN_IDS]) + (f" (+{len(bad) - SHOWN_IDS})" if len(bad) > SHOWN_IDS else "")
    return len(bad), shown


def demand_figures(
    layers: CityLayers,
    *,
    age_weight: float = 0.0,
    burden_column: str | None = None,
    burden_weight: float = 0.0,
) -> DemandFigures:
    """The city's G9 figures and weighted demand.

    Parameters
    ----------
    layers : CityLayers
    age_weight : float
        Weight of residents 65+ (0: not used, and the units need not have them).
    burden_column : str, optional
        The units column holding the disease-burden figure (a count of people per unit).
    burden_weight : float
        Weight of the burden figure (needs ``burden_column``).

    Returns
    -------
    DemandFigures

    Raises
    ------
    DemandError
        A negative weight; an age weight without a 65+ column or with units lacking 65+ figures; a
        burden weight without a column; a burden column the units do not have, or with values
        that are not numbers >= 0 (the units are named).
    """
    units = layers.units
    index = layers.index.unit_ids
    file = str(layers.sources.get("units", "units"))
    for name, weight in (("age_weight", age_weight), ("burden_weight", burden_weight)):
        if not (np.isfinite(weight) and weight >= 0):
            raise DemandError("bad_weight", name=name, value=weight)
    population = np.asarray(layers.index.population)
    pop65 = None
    if rules.AGE65_COLUMN in units.columns:
        pop65 = pd.to_numeric(units[rules.AGE65_COLUMN], errors="coerce").to_numpy(dtype=float)
    if age_weight:
        aliases = " / ".join(UNIT_ALIASES[rules.AGE65_COLUMN])
        if pop65 is None:
            raise DemandError("age_column_missing", file=file, column=rules.AGE65_COLUMN, aliases=aliases)
        lacking = ~np.isfinite(pop65) | (pop65 < 0)
        if lacking.any():
            count, ids = _ids(index, lacking)
            raise DemandError("age_missing_units", file=file, column=rules.AGE65_COLUMN, count=count, ids=ids)
    burden = None
    found = None
    if burden_column:
        found = find_column(units, burden_column)
        if found is None:
            shown = [str(c) for c in units.columns if c != "geometry"]
            listed = ", ".join(shown[:SHOWN_COLUMNS]) + (
                f" (+{len(shown) - SHOWN_COLUMNS})" if len(shown) > SHOWN_COLUMNS else "")
            raise DemandError("burden_column_missing", file=file, column=burden_column[:SHOWN_NAME_CHARS],
                              columns=listed)
        burden = pd.to_numeric(units[found], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(burden) | (burden < 0)
        if bad.any():
            count, ids = _ids(index, bad)
            raise DemandError("burden_bad_units", file=file, column=found, count=count, ids=ids)
    elif burden_weight:
        raise DemandError("burden_column_needed", value=burden_weight)
    if not (age_weight or burden_weight):
        demand = population  # exactly the residents: a plan without G9 weights is today's plan
    else:
        demand = rules.g9_demand(
            population, pop65, burden, age_weight=age_weight, burden_weight=burden_weight
        )
        demand.setflags(write=False)
    return DemandFigures(population, pop65, burden, found, demand)


def unit_demand(layers: CityLayers, request: PlanRequest) -> np.ndarray:
    """Weighted demand per unit for ``request`` (its ``age_weight``, ``burden_column`` and
    ``burden_weight``): what the planner balances and assigns by. The residents themselves
    (the index's own array) when the request has no G9 weights; a burden column named without a
    weight is still verified (the G9 panel shows it).

    Raises
    ------
    DemandError
        See :func:`demand_figures`.
    """
    if not weighted(request) and not getattr(request, "burden_column", None):
        return layers.index.population
    return demand_figures(
        layers,
        age_weight=float(request.age_weight),
        burden_column=request.burden_column,
        burden_weight=float(request.burden_weight),
    ).demand
