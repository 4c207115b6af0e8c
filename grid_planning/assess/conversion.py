"""G10 conversion suggestions: secondary general hospitals in grids rich in secondary capacity.

Policy G10 encourages *some secondary hospitals in resource-rich areas* to become rehabilitation
hospitals or nursing homes serving as members of their group. The documents give no threshold, so
"resource-rich" is read against the plan's own grids: a grid is rich when it has more secondary
general hospitals than the city's median grid *and* more of their beds per 1,000 residents (both
above the median, and at least two such hospitals, so a conversion never leaves a grid without
one). Every secondary general hospital of a rich grid (not its lead, not a provincial or national
collaborator) is a candidate; grids without continuing care (no rehabilitation hospital or
nursing home lying in the grid) come first, as the policy's need is greatest there.

A suggestion is only a suggestion: it changes nothing until a planner turns it into a what-if
edit (:func:`conversion_edit`, the facility's ``type`` changed), which the plan then carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.base.numfmt import integer, number
from grid_planning.city.planview import assignment_for, effective_facilities, plan_roles, str_ids
from grid_planning.domain import rules, schema
from grid_planning.domain.plan import FacilityEdit

if TYPE_CHECKING:
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan

#: What a secondary hospital may be converted into (G10): the continuing-care types.
CONVERSION_TARGETS: tuple[str, ...] = tuple(sorted(schema.CONTINUING_CARE_TYPES))

#: A rich grid keeps at least one secondary general hospital after any single conversion.
MIN_COUNT = 2


@dataclass(frozen=True)
class ConversionCandidate:
    """One G10 candidate: a secondary general hospital in a grid rich in secondary capacity.

    Attributes
    ----------
    facility_id, name : str
        The hospital.
    grid_id : str
        The grid it lies in.
    beds : float
        Its beds (NaN when unknown).
    grid_count, median_count : float
        Secondary general hospitals in the grid, and in the city's median grid.
    grid_per_1000, median_per_1000 : float
        Their beds per 1,000 residents in the grid, and in the city's median grid.
    care_count : int
        Rehabilitation hospitals and nursing homes lying in the grid (0: the grid lacks continuing
        care, and the candidate is listed first).
    illustrative : bool
        The hospital or its beds are generated data (:func:`grid_planning.domain.rules.is_illustrative`).
    """

    facility_id: str
    name: str
    grid_id: str
    beds: float
    grid_count: float
    median_count: float
    grid_per_1000: float
    median_per_1000: float
    care_count: int
    illustrative: bool

    @property
    def lacks_continuing_care(self) -> bool:
        """The grid has no rehabilitation hospital or nursing home."""
        return self.care_count == 0

    def reason(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """Why this hospital is suggested, in words, with the figures it rests on."""
        care = (
            t("conversion.care_missing", lang)
            if self.lacks_continuing_care
            else t("conversion.care_present", lang, count=self.care_count)
        )
        text = t(
            "conversion.reason",
            lang,
            grid=self.grid_id,
            count=integer(self.grid_count, lang),
            median_count=number(self.median_count, 1, lang),
            per_1000=number(self.grid_per_1000, 2, lang),
            median_per_1000=number(self.median_per_1000, 2, lang),
            care=care,
        )
        if self.illustrative:
            text += t("conversion.illustrative", lang)
        return text

    def line(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """One line for a listing: the hospital, its beds and the reason."""
        beds = integer(self.beds, lang) if np.isfinite(self.beds) else t("conversion.beds_unknown", lang)
        return t(
            "conversion.line",
            lang,
            id=self.facility_id,
            name=self.name,
            beds=beds,
            reason=self.reason(lang),
        )


def grid_secondary_capacity(layers: CityLayers, plan: Plan) -> pd.DataFrame:
    """Secondary general capacity and continuing care per grid of ``plan``.

    Returns
    -------
    DataFrame
        Index grid id (every grid of the plan); columns ``population``, ``count`` (secondary
        general hospitals lying in the grid, collaborators not counted), ``beds`` (theirs),
        ``per_1000`` (their beds per 1,000 residents; NaN for an empty grid) and ``care``
        (rehabilitation hospitals and nursing homes lying in the grid).
    """
    grids = [str(g) for g in plan.leads.index]
    assignment = assignment_for(layers, plan)
    pop = pd.Series(
        pd.to_numeric(layers.units["population"], errors="coerce").fillna(0.0).to_numpy(float),
        index=assignment.index,
    )
    population = pop.groupby(assignment.to_numpy()).sum().reindex(grids).fillna(0.0)
    fac = effective_facilities(layers, plan).reset_index(drop=True)
    ids = str_ids(fac["id"])
    home = plan_roles(plan)["home_grid"].reindex(ids).fillna("").to_numpy(dtype=object)
    secondary = secondary_general(fac).to_numpy()
    care = fac["type"].astype(str).isin(schema.CONTINUING_CARE_TYPES).to_numpy()
    beds = rules.grid_beds(fac).to_numpy(float)
    out = pd.DataFrame(index=pd.Index(grids, name="grid_id"))
    out["population"] = population.to_numpy(float)
    out["count"] = [int((secondary & (home == g)).sum()) for g in grids]
    out["beds"] = [float(beds[secondary & (home == g)].sum()) for g in grids]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["per_1000"] = np.where(out["population"] > 0, out["beds"] / out["population"] * 1000, np.nan)
    out["care"] = [int((care & (home == g)).sum()) for g in grids]
    return out


def secondary_general(fac: pd.DataFrame) -> pd.Series:
    """A secondary general hospital a grid owns (G10): level secondary, type general, not a
    provincial or national collaborator (G8)."""
    keep = (
        fac["level"].astype(str).eq("secondary")
        & fac["type"].astype(str).eq("general")
        & ~rules.collaborator_owner(fac).to_numpy()
    )
    return pd.Series(keep.to_numpy(bool), index=fac.index)


def conversion_candidates(layers: CityLayers, plan: Plan) -> list[ConversionCandidate]:
    """The G10 conversion candidates of a plan, grids lacking continuing care first.

    Parameters
    ----------
    layers : CityLayers
        The city as loaded (the plan's what-if edits are applied here).
    plan : Plan

    Returns
    -------
    list of ConversionCandidate
        Empty for a plan of fewer than two grids (no median to compare with).
    """
    if len(plan.leads) < 2:
        return []
    cap = grid_secondary_capacity(layers, plan)
    median_count = float(cap["count"].median())
    median_per_1000 = float(cap["per_1000"].fillna(0.0).median())
    rich = cap[
        (cap["count"] > median_count)
        & (cap["count"] >= MIN_COUNT)
        & (cap["per_1000"].fillna(0.0) > median_per_1000)
    ]
    if rich.empty:
        return []
    fac = effective_facilities(layers, plan).reset_index(drop=True)
    ids = str_ids(fac["id"])
    home = plan_roles(plan)["home_grid"].reindex(ids).fillna("").to_numpy(dtype=object)
    secondary = secondary_general(fac).to_numpy()
    illustrative = np.asarray(rules.is_illustrative(fac), bool)
    beds = pd.to_numeric(fac["beds"], errors="coerce").to_numpy(float) if "beds" in fac else np.full(len(fac), np.nan)
    leads = {str(f) for f in plan.leads.to_numpy() if isinstance(f, str)}
    out: list[ConversionCandidate] = []
    for grid, row in rich.iterrows():
        for i in np.flatnonzero(secondary & (home == grid)):
            if ids[i] in leads:
                continue
            out.append(
                ConversionCandidate(
                    facility_id=str(ids[i]),
                    name=str(fac["name"].iloc[i]) if "name" in fac else str(ids[i]),
                    grid_id=str(grid),
                    beds=float(beds[i]),
                    grid_count=float(row["count"]),
                    median_count=median_count,
                    grid_per_1000=float(row["per_1000"]),
                    median_per_1000=median_per_1000,
                    care_count=int(row["care"]),
                    illustrative=bool(illustrative[i]),
                )
            )
    # Grids without continuing care first, then the richest grids; smaller hospitals first within
    # a grid (the typical candidates, and the loss of acute beds is smallest).
    out.sort(key=lambda c: (c.care_count > 0, -c.grid_per_1000, c.grid_id,
                            c.beds if np.isfinite(c.beds) else np.inf, c.facility_id))
    return out


def conversion_edit(facility_id: str, target: str) -> FacilityEdit:
    """The what-if edit converting a hospital into ``target`` (``rehabilitation`` or ``nursing``).

    Raises
    ------
    ValueError
        ``target`` is not a continuing-care type.
    """
    if target not in CONVERSION_TARGETS:
        raise ValueError(f"cannot convert into {target!r}: use one of {', '.join(CONVERSION_TARGETS)}")
    return FacilityEdit("modify", str(facility_id), (("type", target),))


def conversions_of(plan: Plan) -> list[tuple[str, str]]:
    """``(facility id, new type)`` of the plan's what-if edits that are G10 conversions."""
    out = []
    for edit in getattr(plan, "edits", ()):
        if (target := conversion_of(edit)) is not None:
            out.append((edit.facility_id, target))
    return out


def conversion_of(edit: FacilityEdit) -> str | None:
    """The continuing-care type a what-if edit converts its facility into (G10), or None when
    the edit is not a conversion (only the type changed, into one of :data:`CONVERSION_TARGETS`)."""
    values = edit.values
    if edit.action == "modify" and set(values) == {"type"} and values["type"] in CONVERSION_TARGETS:
        return str(values["type"])
    return None


def conversion_text(facility_id: str, name: str, target: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A conversion in words, the new type named as the catalogue names it ("... 转为康复医院")."""
    return t("conversion.item", lang, id=facility_id, name=name, type=t(f"vocab.type.{target}", lang))
