"""The policy's rules (``/work/shared/policy.md``), each defined once.

Every rule is one :class:`Rule` object (:data:`RULES`: G1-G9, contiguity and the request) naming whether it
holds "in principle" (and so accepts a recorded exception, which request field records it and
which refusal option offers it) and the predicates below it is made of; its check over a plan is
:data:`grid_planning.assess.checks.RULE_CHECKS`. The planner, the checks, the rosters, the
checklist, the maps and the exports all ask these — never their own copy:

- **G2** the minimum number of grids: :data:`MIN_GRIDS`.
- **G4** who may lead: :func:`g4_eligible` (by the data), :func:`g4_leads_by_data` (and inside
  the city), :func:`g4_designatable` (only with a recorded "in principle" exception),
  :func:`g4_ineligible_fields` (why not), and :func:`lead_candidates` (the facilities a request
  may choose leads from, with how each is eligible: by the data, by an assumed level, or
  designated).
- **G5** which members count: :func:`g5_qualifies`, and :func:`g5_member`, the one membership
  the planner counts and the check judges by.
- **G9** the planning factors: :func:`g9_demand`, the one definition of a unit's weighted demand
  (residents, plus weighted residents 65+ and a weighted disease-burden figure) that the planner
  balances and assigns by, the checks re-verify and the G9 panel shows.
- **G6-G8** what role a facility takes: :func:`collaborator_owner`, :func:`cross_grid_type`,
  :func:`primary_care` (used by :func:`grid_planning.assess.roster.assign_roles`), and what the
  G6/G7 checks judge: :func:`g6_facilities`, :func:`g7_facilities`.
- Figures: :func:`secondary_hospital` and :func:`hospital_masks` (the "nearest
  secondary-or-higher hospital" and primary care), :func:`is_illustrative` (generated data, which
  every view must mark), check statuses (:data:`STATUSES`, :data:`STATUS_ORDER`,
  :func:`status_counts`).

Where a facility lies (its unit, whether it is outside the city) comes from the city's index
(:meth:`grid_planning.city.index.CityIndex.locate`): a lead outside every unit is not a candidate
unless it is designated with a reason, and then the check shows the exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from grid_planning.base.config import setting
from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.domain import schema
from grid_planning.domain.schema import (
    COLLABORATOR_OWNER_LEVELS,
    CONTINUING_CARE_TYPES,
    CROSS_GRID_TYPES,
    LEAD_OWNER_LEVELS,
    LEAD_TYPES,
    PRIMARY_CARE_TYPES,
)

#: A facility farther than this from every unit lies outside the city (it is still placed in the
#: nearest unit for travel times, but it cannot lead a grid without a recorded G4 designation, is
#: listed as "outside" rather than as a member or primary care of a grid unless the planner assigns
#: it, and never counts as a G5 member). Closer than this it is taken to lie in the nearest unit
#: (coordinate noise at a river bank or a simplified boundary); a lead that close but outside is
#: reported with its distance. The default of the setting ``outside_city_m``
#: (:func:`outside_city_m`; README "Settings").
OUTSIDE_CITY_M = 500.0


def _metres(value: str | float) -> float:
    number = float(value)
    if not np.isfinite(number) or number < 0:
        raise ValueError(value)
    return number


def outside_city_m() -> float:
    """The outside tolerance in metres: setting ``outside_city_m`` (environment variable
    ``GRID_PLANNER_OUTSIDE_CITY_M`` or the settings file), default :data:`OUTSIDE_CITY_M`.

    Raises
    ------
    grid_planning.base.config.SettingError
        When the setting is not a number of metres >= 0.
    """
    return setting("outside_city_m", OUTSIDE_CITY_M, _metres)


def _values(fac: pd.DataFrame, name: str) -> np.ndarray:
    """A column as a plain object array (missing -> ""): the rules are element-wise tests on a
    few vocabulary columns, and plain arrays keep them cheap (the checks run on every edit)."""
    if name not in fac.columns:
        return np.full(len(fac), "", dtype=object)
    values = fac[name].to_numpy(dtype=object)
    return np.where(pd.isna(values), "", values)


def _isin(fac: pd.DataFrame, name: str, allowed: Iterable[str]) -> np.ndarray:
    return np.isin(_values(fac, name), list(allowed))


def _mask(fac: pd.DataFrame, values: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=bool), index=fac.index)


#: ``parent_id`` texts that name no parent (empty cells as spreadsheets and pandas write them).
_NO_PARENT = frozenset({"", "nan", "none", "<na>"})


def names_parent(value: object) -> bool:
    """Whether one ``parent_id`` cell names a parent institution (the row is then a campus)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return False
    return str(value).strip().lower() not in _NO_PARENT


def is_campus(fac: pd.DataFrame) -> pd.Series:
    """Rows that are a campus of another institution (``parent_id`` set): never a separate lead."""
    return _mask(fac, np.array([names_parent(v) for v in _values(fac, "parent_id")], dtype=bool))


def g4_eligible(fac: pd.DataFrame) -> pd.Series:
    """G4 by the data: a tertiary general or TCM hospital owned by a municipality, district or
    county (a campus belongs to its parent). Where it lies is not judged here (see
    :func:`lead_candidates`)."""
    return _mask(
        fac,
        _isin(fac, "level", ["tertiary"])
        & _isin(fac, "type", LEAD_TYPES)
        & _isin(fac, "owner_level", LEAD_OWNER_LEVELS)
        & ~is_campus(fac).to_numpy(),
    )


def g4_leads_by_data(fac: pd.DataFrame, outside: Iterable[bool] | None = None) -> pd.Series:
    """G4 without an exception: eligible by the data (:func:`g4_eligible`) and inside the city
    (``outside``: one flag per row, from ``CityIndex.locate``)."""
    out = np.zeros(len(fac), bool) if outside is None else np.asarray(list(outside), dtype=bool)
    return _mask(fac, g4_eligible(fac).to_numpy() & ~out)


def g4_designatable(fac: pd.DataFrame, outside: Iterable[bool] | None = None) -> pd.Series:
    """Hospitals that may lead only with a written G4 exception.

    A tertiary general or TCM hospital (not a campus) that is not eligible by its owner
    (enterprise, university, army, private, unknown, provincial or national), or an eligible one
    lying outside the city (``outside``: one flag per row, from ``CityIndex.locate``). A
    community health centre, a secondary or a specialty hospital can never lead.
    """
    tertiary_general = (
        _isin(fac, "level", ["tertiary"])
        & _isin(fac, "type", LEAD_TYPES)
        & ~is_campus(fac).to_numpy()
    )
    out = np.zeros(len(fac), bool) if outside is None else np.asarray(list(outside), dtype=bool)
    return _mask(fac, tertiary_general & (~g4_eligible(fac).to_numpy() | out))


def g4_ineligible_fields(row: pd.Series | dict, *, outside: bool = False) -> list[str]:
    """What keeps one facility from leading under G4: among ``level``, ``type``, ``owner_level``,
    ``parent_id`` (a campus) and ``location`` (outside the city)."""
    get = row.get
    fields = []
    if str(get("level", "")) != "tertiary":
        fields.append("level")
    if str(get("type", "")) not in LEAD_TYPES:
        fields.append("type")
    if str(get("owner_level", "")) not in LEAD_OWNER_LEVELS:
        fields.append("owner_level")
    if names_parent(get("parent_id")):
        fields.append("parent_id")
    if outside:
        fields.append("location")
    return fields


def lead_candidates(
    fac: pd.DataFrame,
    outside: Iterable[bool] | None = None,
    *,
    designated: Iterable[str] = (),
    excluded: Iterable[str] = (),
) -> pd.DataFrame:
    """The facilities a request may choose leads from.

    Parameters
    ----------
    fac : DataFrame
        Facilities (after what-if edits), schema columns.
    outside : iterable of bool, optional
        Per row: lies outside the city (``CityIndex.locate(fac).outside``).
    designated : iterable of str
        Ids designated under a G4 exception; only :func:`g4_designatable` ones count.
    excluded : iterable of str
        Ids that must not lead.

    Returns
    -------
    DataFrame
        The candidate rows (ordered by id) with a column ``eligibility``: ``"data"`` (eligible by
        the data), ``"assumed"`` (eligible, but its level was assumed rather than read) or
        ``"designated"`` (a recorded G4 exception).
    """
    out_flags = pd.Series(
        np.zeros(len(fac), bool) if outside is None else np.asarray(list(outside), dtype=bool),
        index=fac.index,
    )
    ids = fac["id"].astype(str)
    designated = {str(f) for f in designated}
    by_data = g4_leads_by_data(fac, out_flags)
    by_designation = g4_designatable(fac, out_flags) & ids.isin(designated)
    keep = (by_data | by_designation) & ~ids.isin({str(f) for f in excluded})
    cand = pd.DataFrame(fac[keep]).copy()
    assumed = _isin(cand, "level_source", ["assumed"])
    cand["eligibility"] = np.where(
        by_designation[keep] & ~by_data[keep],
        "designated",
        np.where(assumed, "assumed", "data"),
    )
    return cand.sort_values("id", kind="stable")


def g5_qualifies(fac: pd.DataFrame) -> pd.Series:
    """G5: a secondary general (or TCM) hospital, or any continuing-care (rehabilitation, nursing)
    facility — not a provincial or national one, which is an external collaborator (G8), not a
    member. A facility that leads never counts for its own grid (leads are tertiary anyway)."""
    secondary_general = _isin(fac, "level", ["secondary"]) & _isin(fac, "type", LEAD_TYPES)
    care = _isin(fac, "type", CONTINUING_CARE_TYPES)
    return _mask(fac, (secondary_general | care) & ~collaborator_owner(fac).to_numpy())


def collaborator_owner(fac: pd.DataFrame) -> pd.Series:
    """G8: provincial and national institutions are external collaborators of the groups."""
    return _mask(fac, _isin(fac, "owner_level", COLLABORATOR_OWNER_LEVELS))


def cross_grid_type(fac: pd.DataFrame) -> pd.Series:
    """G7: maternal-child, public-health, rehabilitation and nursing institutions may serve across
    grids."""
    return _mask(fac, _isin(fac, "type", CROSS_GRID_TYPES))


def primary_care(fac: pd.DataFrame) -> pd.Series:
    """G6: community / township health centres, clinics and level-primary facilities."""
    return _mask(fac, _isin(fac, "type", PRIMARY_CARE_TYPES) | _isin(fac, "level", ["primary"]))


def _inside(fac: pd.DataFrame, outside: Iterable[bool] | None) -> np.ndarray:
    return ~(np.zeros(len(fac), bool) if outside is None else np.asarray(list(outside), dtype=bool))


def g6_facilities(fac: pd.DataFrame, outside: Iterable[bool] | None = None) -> pd.Series:
    """What G6 speaks of: primary care (:func:`primary_care`) inside the city that is neither a
    cross-grid institution (G7) nor provincial/national (G8). Each is primary care of the grid it
    lies in (:func:`grid_planning.assess.roster.assign_roles` gives it that role; the check
    verifies it)."""
    keep = (primary_care(fac).to_numpy() & ~cross_grid_type(fac).to_numpy()
            & ~collaborator_owner(fac).to_numpy() & _inside(fac, outside))
    return _mask(fac, keep)


def g7_facilities(fac: pd.DataFrame, outside: Iterable[bool] | None = None) -> pd.Series:
    """What G7 speaks of: maternal-child, public-health, rehabilitation and nursing institutions
    (:func:`cross_grid_type`) inside the city that are not provincial/national (G8). Each keeps the
    grid it lies in as its home and may serve others (``supports``)."""
    keep = cross_grid_type(fac).to_numpy() & ~collaborator_owner(fac).to_numpy() & _inside(fac, outside)
    return _mask(fac, keep)


def grid_beds(fac: pd.DataFrame) -> pd.Series:
    """Beds that count for the grid a facility lies in: collaborators' beds do not (G8)."""
    beds = pd.to_numeric(fac["beds"], errors="coerce") if "beds" in fac else None
    if beds is None:
        return pd.Series(0.0, index=fac.index)
    return beds.fillna(0.0).where(~collaborator_owner(fac), 0.0)


class Location(Protocol):
    """Where facilities lie: a :class:`~grid_planning.city.index.FacilityLocation` (a floor above)
    is one."""

    @property
    def ids(self) -> pd.Index: ...
    @property
    def outside(self) -> np.ndarray: ...


def row_outside(location: Location, facility_id: str) -> bool:
    """Whether one facility lies outside the city, from a ``FacilityLocation`` (False if unknown)."""
    try:
        i = location.ids.get_loc(str(facility_id))
    except KeyError:
        return False
    return bool(location.outside[i])


#: Facility types that are not hospitals for the "nearest secondary-or-higher hospital" figure.
NON_HOSPITAL_TYPES = frozenset({"public_health"}) | schema.PRIMARY_CARE_TYPES


def secondary_hospital(fac: pd.DataFrame) -> pd.Series:
    """A secondary-or-higher hospital: level secondary or tertiary, and not a primary-care or
    public-health institution (the "nearest secondary-or-higher hospital" of the travel figures,
    the shared centres of checklist item 9 and the map drawn for them)."""
    return _mask(
        fac, _isin(fac, "level", schema.SECONDARY_OR_HIGHER) & ~_isin(fac, "type", NON_HOSPITAL_TYPES)
    )


def hospital_masks(facilities: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(secondary-or-higher hospitals, primary care) as boolean arrays over the rows."""
    return secondary_hospital(facilities).to_numpy(), primary_care(facilities).to_numpy()


# ---- G5 membership ----------------------------------------------------------------------------
#: Roles under which a facility counts as a member of its grid for G5 (a lead never does, a
#: collaborator serves the groups from outside them, primary care never qualifies).
G5_MEMBER_ROLES: tuple[str, ...] = ("member", "cross_grid")


def g5_member(
    fac: pd.DataFrame,
    outside: Iterable[bool] | None = None,
    roles: Iterable[str] | None = None,
) -> pd.Series:
    """G5 membership, the one definition the planner and the check count by.

    A facility is a G5 member of the grid it belongs to when it qualifies (:func:`g5_qualifies`),
    lies inside the city and, once a plan gives it a role, holds one of :data:`G5_MEMBER_ROLES`.
    The planner counts before roles exist (``roles`` omitted): a qualifying facility then always
    becomes a member or cross-grid institution of the grid it lies in (:func:`assign_roles`), so
    both count the same facilities; a hand-made role change is honoured by the check.

    Parameters
    ----------
    fac : DataFrame
        Facilities, schema columns.
    outside : iterable of bool, optional
        Per row: lies outside the city (``CityIndex.locate(fac).outside``).
    roles : iterable of str, optional
        Per row: the facility's role in the plan.
    """
    out = np.zeros(len(fac), bool) if outside is None else np.asarray(list(outside), dtype=bool)
    keep = g5_qualifies(fac).to_numpy() & ~out
    if roles is not None:
        keep &= np.isin(np.asarray(list(roles), dtype=object), list(G5_MEMBER_ROLES))
    return _mask(fac, keep)


# ---- G9: the planning factors ---------------------------------------------------------------------
#: The units column of residents aged 65 and over (its aliases: :data:`schema.UNIT_ALIASES`).
AGE65_COLUMN = "pop_65plus"


def g9_demand(
    population: np.ndarray,
    pop65: np.ndarray | None = None,
    burden: np.ndarray | None = None,
    *,
    age_weight: float = 0.0,
    burden_weight: float = 0.0,
) -> np.ndarray:
    """A unit's weighted demand (G9): residents + age weight x residents 65+ + burden weight x
    the burden figure.

    With an age weight of 1 every resident aged 65 and over counts twice; a burden column holds a
    count of people (e.g. registered chronic-disease patients) and each counts ``burden_weight``
    more. Both weights 0 (the default) give the residents themselves, so a plan asked without G9
    weights is the plan of the residents.

    Parameters
    ----------
    population : ndarray
        Residents per unit (>= 0).
    pop65 : ndarray, optional
        Residents aged 65+ per unit; needed (and free of NaN) when ``age_weight`` is not 0.
    burden : ndarray, optional
        The burden figure per unit; needed when ``burden_weight`` is not 0.
    age_weight, burden_weight : float
        Weights >= 0.

    Returns
    -------
    ndarray
        Weighted demand per unit, float.

    Raises
    ------
    ValueError
        A negative weight, or a weight without its figures.
    """
    out = np.asarray(population, dtype=float).copy()
    for name, weight, values in (("age_weight", age_weight, pop65), ("burden_weight", burden_weight, burden)):
        if not weight >= 0:
            raise ValueError(f"{name} must be >= 0, got {weight!r}")
        if weight == 0:
            continue
        if values is None:
            raise ValueError(f"{name} {weight:g} needs its figures per unit")
        out += float(weight) * np.asarray(values, dtype=float)
    return out


# ---- illustrative data ------------------------------------------------------------------------
#: The ``source`` / ``capacity_source`` value of generated (not real) data.
ILLUSTRATIVE = "illustrative"

#: What :func:`is_illustrative` asks about: the facility itself (``source``) or anything of it,
#: its beds and slots included (``source`` or ``capacity_source``).
_PART_COLUMNS = {"any": ("source", "capacity_source"), "facility": ("source",)}


def is_illustrative(data: pd.DataFrame | pd.Series | Mapping, *, part: str = "any") -> pd.Series | bool:
    """Whether facility data is generated rather than real: the one test every view uses.

    Parameters
    ----------
    data : DataFrame, Series or mapping
        Facility rows (a frame gives one flag per row) or one row.
    part : {"any", "facility"}
        ``"any"``: the facility or its beds/slots are generated, so any figure built on the row
        must say so (``source`` or ``capacity_source``: a real hospital can carry generated
        capacity, as the sample city's do). ``"facility"``: the facility itself is invented
        (``source``; drawn hollow on maps, tagged in tooltips).

    Returns
    -------
    Series of bool or bool
    """
    columns = _PART_COLUMNS[part]
    if isinstance(data, pd.DataFrame):
        flags = pd.Series(False, index=data.index)
        for col in columns:
            if col in data.columns:
                flags |= data[col].astype(str).eq(ILLUSTRATIVE)
        return flags
    return any(str(data.get(col, "")) == ILLUSTRATIVE for col in columns)


def any_illustrative(data: pd.DataFrame | None, *, part: str = "any") -> bool:
    """Whether any row of ``data`` is illustrative (:func:`is_illustrative`); False for None."""
    return data is not None and bool(is_illustrative(data, part=part).any())


# ---- check statuses ---------------------------------------------------------------------------
#: The statuses a check result takes: ``exception`` = passed by a recorded "in principle"
#: exception; ``warning`` does not fail the plan but must be seen.
STATUSES: tuple[str, ...] = ("pass", "fail", "exception", "warning")

#: The order results are listed in: what needs attention first.
STATUS_ORDER: tuple[str, ...] = ("fail", "warning", "exception", "pass")


def status_rank(status: str) -> int:
    """Position of ``status`` in :data:`STATUS_ORDER` (unknown statuses last)."""
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


def status_counts(checks: Iterable[Any]) -> dict[str, int]:
    """How many results have each status (every status of :data:`STATUSES` present, 0 if none)."""
    counts = dict.fromkeys(STATUSES, 0)
    for c in checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    return counts


# ---- the rules as objects ---------------------------------------------------------------------
#: G2: a city is divided into at least this many grids, unless a reason is recorded.
MIN_GRIDS = 2


@dataclass(frozen=True)
class Rule:
    """One rule of ``policy.md``, defined once.

    Attributes
    ----------
    id : str
        ``"G1"`` ... ``"G8"`` or ``"contiguity"``.
    in_principle : bool
        "原则上": the rule accepts a recorded exception with a written reason.
    predicates : tuple of callables
        The facility predicates of this module the rule is made of (empty for rules about the
        layout, such as G1).
    exception_subject : str or None
        What a recorded exception names: ``"city"`` (G2) or ``"lead"`` (the facility id of the
        designated lead, G4, or of the grid's lead, G5); None when no exception is possible.
    request_field : str or None
        The :class:`grid_planning.domain.request.PlanRequest` field that records the exception.
    option_kind : str or None
        The refusal option step (:class:`grid_planning.domain.request.Option`) that records it.
    severity : {"fail", "warning"}
        What a breach is: a failure, or a warning that must be seen but does not fail the plan.

    The check of a rule over a plan is :data:`grid_planning.assess.checks.RULE_CHECKS` ``[id]``
    (the checks sit above the plan in the flow, this module below it).
    """

    id: str
    in_principle: bool = False
    predicates: tuple[Callable[..., Any], ...] = ()
    exception_subject: str | None = None
    request_field: str | None = None
    option_kind: str | None = None
    severity: str = "fail"


G1 = Rule("G1")
G2 = Rule("G2", in_principle=True, exception_subject="city", request_field="g2_reason",
          option_kind="g2_reason")
G3 = Rule("G3")
G4 = Rule("G4", in_principle=True, predicates=(g4_eligible, g4_leads_by_data, g4_designatable,
                                                g4_ineligible_fields, lead_candidates),
          exception_subject="lead", request_field="designated_leads", option_kind="designate")
G5 = Rule("G5", in_principle=True, predicates=(g5_qualifies, g5_member), exception_subject="lead",
          request_field="g5_waivers", option_kind="g5_waiver")
G6 = Rule("G6", predicates=(primary_care, g6_facilities))
G7 = Rule("G7", predicates=(cross_grid_type, g7_facilities))
G8 = Rule("G8", predicates=(collaborator_owner, grid_beds))
#: G9 is a planning factor, not a test of a layout: the planner balances and assigns by
#: :func:`g9_demand`, and the balance the request asked for is re-verified on it.
G9 = Rule("G9", predicates=(g9_demand,))
CONTIGUITY = Rule("contiguity")
#: What the plan's own request asked for (balance, beds, locks, fixed and excluded leads), re-verified.
REQUEST = Rule("request")

#: Every rule by id, in the policy's order.
RULES: dict[str, Rule] = {r.id: r for r in (G1, G2, G3, G4, G5, G6, G7, G8, G9, CONTIGUITY, REQUEST)}



def rule_label(rule: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A rule as a reader names it in every table and export: the policy's own codes (G1-G10) as
    they are, the other checks in words from the catalogue (``rules.label.<id>``: contiguity is
    空间连续, the plan's request 申请要求); an id that is no rule is shown as it is."""
    if re.fullmatch(r"G\d+", str(rule)):
        return str(rule)
    return t(f"rules.label.{rule}", lang) if rule in RULES else str(rule)


#: Rules that hold "in principle" (原则上) and so accept a recorded exception.
EXCEPTION_RULES: tuple[str, ...] = tuple(r.id for r in RULES.values() if r.in_principle)

#: Refusal option step -> the rule whose exception it records.
OPTION_RULES: dict[str, str] = {r.option_kind: r.id for r in RULES.values() if r.option_kind}
