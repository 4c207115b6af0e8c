"""Who belongs to which medical group: rosters per grid, the lead's obligations, role changes.

The roster follows the policy (G3-G8): one lead per grid, members (other hospitals lying in it),
primary care (community / township health centres, clinics), cross-grid institutions
(maternal-child, public health, rehabilitation, nursing: they keep a home grid and may serve
others) and collaborators (provincial and national hospitals supporting one or more groups).

The lead's obligations come from the pilot plan: at least 1/4 of inpatient beds and 1/3 of
outpatient slots go down to primary care / family-doctor teams. They are computed from the
facility's own capacity figures; where these are illustrative the table says so.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from grid_planning.assess.checks import whatif_eligible_ids
from grid_planning.base.config import text_limit, text_too_long
from grid_planning.base.i18n import CatalogueError, t
from grid_planning.city.planview import (
    effective_facilities,
    fac_table,
    facility_units,
    plan_roles,
    split_ids,
)
from grid_planning.domain import rules, schema
from grid_planning.domain.plan import ChecklistEntry, Plan, PolicyException

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers

#: Share of the lead's beds and outpatient slots to be sent down to primary care (policy.md).
BEDS_SHARE_DOWN = 4  # 1/4 of beds


SLOTS_SHARE_DOWN = 3  # 1/3 of outpatient slots


_FAC_COLUMNS = (
    "name", "level", "type", "owner_level", "beds", "source", "level_source", "capacity_source"
)


def _capacity_source(row: pd.Series) -> str:
    """Where a facility's beds/slots come from: its ``capacity_source`` when given, else ``source``.

    A real hospital can carry generated capacity (the sample city has no bed counts), so the
    facility's own ``source`` alone would present invented beds as real; an invented facility's
    capacity is invented too (:func:`rules.is_illustrative`).
    """
    if rules.is_illustrative(row):
        return rules.ILLUSTRATIVE
    cap = str(row.get("capacity_source", "") or "").strip()
    if cap and cap.lower() != "nan":
        return cap
    return str(row.get("source", "") or "unknown")


class RoleChangeError(CatalogueError):
    """A role change the policy does not allow; ``key`` and ``params`` give the catalogue message."""


def _facility_frame(layers: CityLayers, plan: Plan) -> pd.DataFrame:
    frame = fac_table(effective_facilities(layers, plan))
    for col in _FAC_COLUMNS:
        if col not in frame:
            frame[col] = np.nan if col == "beds" else ""
    return frame


def _beds(value: object) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _record(fid: str, fac: pd.DataFrame, roles: pd.DataFrame) -> dict[str, Any]:
    row = fac.loc[fid] if fid in fac.index else pd.Series(dtype=object)
    role = roles.loc[fid] if fid in roles.index else pd.Series(dtype=object)
    return {
        "id": fid,
        "name": str(row.get("name", fid)),
        "level": str(row.get("level", "")),
        "type": str(row.get("type", "")),
        "owner_level": str(row.get("owner_level", "")),
        "beds": _beds(row.get("beds")),
        "source": str(row.get("source", "")),
        "level_source": str(row.get("level_source", "")),
        "capacity_source": _capacity_source(row),
        "home_grid": str(role.get("home_grid", "")),
        "supports": split_ids(role.get("supports", "")),
    }


def grid_roster(layers: CityLayers, plan: Plan) -> dict[str, dict[str, Any]]:
    """The roster of every grid.

    Returns
    -------
    dict
        ``{grid_id: {"grid_id", "lead" (record), "members" ({type: [records]}), "primary"
        ([records]), "cross_grid" ([records] whose home grid is this grid), "serving" ([records]
        of cross-grid institutions of other grids that list this grid in ``supports``),
        "collaborators" ([records], each with the grids it ``supports``), "outside" ([records]
        of facilities outside the city whose nearest grid is this one: listed, never members),
        "counts" ({role: n}),
        "beds" (total of the lead, members, primary care and home cross-grid institutions)}}``.
        A record has ``id``, ``name``, ``level``, ``type``, ``owner_level``, ``beds``, ``source``,
        ``level_source``, ``capacity_source`` (where ``beds`` comes from), ``home_grid`` and
        ``supports`` (list of grid ids).
    """
    fac = _facility_frame(layers, plan)
    roles = plan_roles(plan)
    out: dict[str, dict[str, Any]] = {}
    for grid, lead in plan.leads.items():
        grid, lead = str(grid), str(lead)
        inside = roles[(roles["grid_id"] == grid) & (roles["role"] != "collaborator")]
        members: dict[str, list[dict]] = {}
        for fid in inside.index[inside["role"] == "member"]:
            rec = _record(fid, fac, roles)
            members.setdefault(rec["type"], []).append(rec)
        primary = [_record(f, fac, roles) for f in inside.index[inside["role"] == "primary"]]
        cross = [_record(f, fac, roles) for f in inside.index[inside["role"] == "cross_grid"]]
        serving = [
            _record(f, fac, roles)
            for f in roles.index[(roles["role"] == "cross_grid") & (roles["grid_id"] != grid)]
            if grid in split_ids(roles.at[f, "supports"])
        ]
        collab = [
            _record(f, fac, roles)
            for f in roles.index[roles["role"] == "collaborator"]
            if grid in split_ids(roles.at[f, "supports"])
        ]
        # outside the city, nearest this grid: listed, not members (the planner may assign them)
        away = [
            _record(f, fac, roles)
            for f in roles.index[(roles["role"] == "outside") & (roles["home_grid"] == grid)]
        ]
        beds = pd.Series(
            [_beds(fac.at[f, "beds"]) if f in fac.index else np.nan for f in inside.index]
        )
        out[grid] = {
            "grid_id": grid,
            "lead": _record(lead, fac, roles),
            "members": members,
            "primary": primary,
            "cross_grid": cross,
            "serving": serving,
            "collaborators": collab,
            "outside": away,
            "counts": {
                "lead": 1,
                "member": sum(len(v) for v in members.values()),
                "primary": len(primary),
                "cross_grid": len(cross),
                "collaborator": len(collab),
            },
            "beds": float(beds.sum(min_count=0)),
        }
    return out


def roster_table(layers: CityLayers, plan: Plan, lang: str | None = None) -> pd.DataFrame:
    """One row per facility with its place in the plan.

    Parameters
    ----------
    layers, plan
        The city and plan (what-if facility edits applied).
    lang : {"zh", "en"}, optional
        When given, a ``role_text`` column holds the role in words.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``grid_id`` (``""`` for collaborators), ``role``, ``name``, ``level``,
        ``type``, ``owner_level``, ``beds``, ``source`` (real / illustrative / user),
        ``level_source`` (data / assumed), ``capacity_source`` (where ``beds`` comes from),
        ``home_grid``, ``supports``; sorted by grid then role. With ``lang``, also ``role_text``
        and ``exception_text`` ("G4 passed by exception: <reason>" for a lead by exception).
    """
    fac = _facility_frame(layers, plan)
    roles = plan_roles(plan)
    rows = []
    order = {r: i for i, r in enumerate(schema.ROLES)}
    for fid in fac.index:
        role = roles.loc[fid] if fid in roles.index else None
        rows.append(
            {
                "id": fid,
                "grid_id": "" if role is None else role["grid_id"],
                "role": "" if role is None else role["role"],
                **{
                    c: (_beds(fac.at[fid, c]) if c == "beds" else str(fac.at[fid, c]))
                    for c in _FAC_COLUMNS
                },
                "home_grid": "" if role is None else role["home_grid"],
                "supports": "" if role is None else role["supports"],
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["capacity_source"] = [_capacity_source(fac.loc[fid]) for fid in table["id"]]
    table["_o"] = table["role"].map(order).fillna(len(order))
    table = table.sort_values(["grid_id", "_o", "id"], kind="stable").drop(columns="_o")
    if lang is not None:
        table["role_text"] = table["role"].map(lambda r: t(f"plan.role.{r}", lang) if r else "")
        table["exception_text"] = [_lead_exception_text(plan, f, r, lang)
                                   for f, r in zip(table["id"], table["role"], strict=True)]
    return table.reset_index(drop=True)


def _lead_exception_text(plan: Plan, fid: str, role: str, lang: str) -> str:
    """"G4 passed by exception: <reason>" for a lead that leads by a recorded G4 exception (a
    designation, or eligibility made by a what-if edit); "" otherwise."""
    exc = plan.exception_for("G4", fid) if role == "lead" else None
    if exc is None:
        return ""
    return t("plan.roster.g4_exception", lang, reason=exc.reason)


def lead_obligations(layers: CityLayers, plan: Plan) -> pd.DataFrame:
    """What each lead hospital owes primary care: 1/4 of its beds and 1/3 of its outpatient slots.

    Returns
    -------
    pandas.DataFrame
        One row per grid: ``grid_id``, ``lead_id``, ``lead_name``, ``beds``, ``outpatient_slots``,
        ``beds_to_primary`` (``ceil(beds / 4)``), ``slots_to_primary`` (``ceil(slots / 3)``), NaN
        where the capacity is unknown, and ``capacity_source`` (the facility's ``capacity_source``
        column, else its ``source``: "real"/"data", "illustrative", the user's label, or "unknown"
        when no capacity figure exists) so a view can say the figures are illustrative;
        ``beds_down`` and ``slots_down``: what the data records as actually sent down (the
        facility's ``beds_down`` / ``slots_down`` columns, 下沉床位 / 下沉号源), NaN when not
        recorded. Checklist item 8 compares these with the targets; capacity alone never meets it.
    """
    fac = _facility_frame(layers, plan)
    rows = []
    for grid, lead in plan.leads.items():
        lead = str(lead)
        row = fac.loc[lead] if lead in fac.index else pd.Series(dtype=object)
        beds = _beds(row.get("beds"))
        slots = _beds(row.get("outpatient_slots"))
        known = not (math.isnan(beds) and math.isnan(slots))
        beds_down = _beds(row.get("beds_down"))
        slots_down = _beds(row.get("slots_down"))
        rows.append(
            {
                "grid_id": str(grid),
                "lead_id": lead,
                "lead_name": str(row.get("name", lead)),
                "beds": beds,
                "outpatient_slots": slots,
                "beds_to_primary": math.ceil(beds / BEDS_SHARE_DOWN)
                if not math.isnan(beds)
                else np.nan,
                "slots_to_primary": math.ceil(slots / SLOTS_SHARE_DOWN)
                if not math.isnan(slots)
                else np.nan,
                "capacity_source": _capacity_source(row) if known else "unknown",
                "beds_down": beds_down,
                "slots_down": slots_down,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "grid_id",
            "lead_id",
            "lead_name",
            "beds",
            "outpatient_slots",
            "beds_to_primary",
            "slots_to_primary",
            "capacity_source",
            "beds_down",
            "slots_down",
        ],
    )


# ---- roles -------------------------------------------------------------------------------------------
#: A cross-grid institution (G7) supports every grid whose lead is within this many minutes.
CROSS_GRID_SUPPORT_MINUTES = 30.0


def _located(
    layers: CityLayers, facilities: pd.DataFrame, assignment: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each facility's unit position (``layers.index.locate``: the unit it lies in, the nearest
    for one outside the city), the grid of that unit (its home grid, the one it joins if the
    planner assigns it) and whether it lies outside the city."""
    index = layers.index
    location = index.locate(facilities)
    fu = location.unit
    unit_grid = assignment.reindex(index.unit_ids).to_numpy(dtype=object)
    home = np.asarray(unit_grid[fu], dtype=object) if len(fu) else np.array([], dtype=object)
    return fu, home, np.asarray(location.outside, dtype=bool)


#: Roles whose grid is the grid the facility lies in (a lead's is the grid it leads; a
#: collaborator has none).
_HOME_ROLES = ("member", "primary", "cross_grid")


def rehome(layers: CityLayers, plan: Plan) -> Plan:
    """``plan`` with every member's, primary-care and cross-grid institution's grid the grid it
    lies in, as :func:`assign_roles` gives it; roles themselves (a planner's choices too) are kept.

    For a plan whose units were reassigned outside this tool (a plan file edited in a GIS): its
    stored facility grids no longer say where the facilities are, and G5 counted members of a
    grid that none of them lies in any more. A cross-grid institution's ``supports`` gains its
    new home grid.
    """
    roles = plan.roles.copy()
    if roles.empty:
        return plan
    facilities = effective_facilities(layers, plan)
    _fu, home, _out = _located(layers, facilities, plan.assignment)
    where = pd.Series(home, index=facilities["id"].astype(str).to_numpy()).reindex(roles.index.astype(str))
    known = where.notna().to_numpy()
    new_home = where.where(known, roles["home_grid"].to_numpy()).astype(str).to_numpy()
    moves = known & roles["role"].isin(_HOME_ROLES).to_numpy() & (roles["grid_id"].astype(str).to_numpy() != new_home)
    if not moves.any() and (roles["home_grid"].astype(str).to_numpy() == new_home).all():
        return plan
    roles["home_grid"] = new_home
    roles.loc[moves, "grid_id"] = new_home[moves]
    cross = moves & (roles["role"] == "cross_grid").to_numpy()
    for i in np.flatnonzero(cross):
        grids = [g for g in str(roles["supports"].iloc[i]).split(",") if g.strip()]
        roles.iloc[i, roles.columns.get_loc("supports")] = ",".join(dict.fromkeys([new_home[i], *grids]))
    return replace(plan, roles=roles)


def assign_roles(
    layers: CityLayers, facilities: pd.DataFrame, assignment: pd.Series, leads: pd.Series, costs: CostMatrix
) -> pd.DataFrame:
    """Roles of every facility (G6-G8), from the rules in :mod:`grid_planning.domain.rules`.

    In order of precedence:

    - ``lead``: the lead of each grid (a designated provincial hospital included).
    - ``collaborator`` (:func:`rules.collaborator_owner`, G8): ``grid_id`` is ``""``; ``supports``
      lists the grid it lies in and every grid without a collaborator inside it for which it is the
      nearest collaborator (minutes from that grid's lead).
    - ``cross_grid`` (:func:`rules.cross_grid_type`, G7): keeps its home grid as ``grid_id``;
      ``supports`` = home grid plus every grid whose lead is within
      :data:`CROSS_GRID_SUPPORT_MINUTES` minutes of it.
    - ``primary`` (:func:`rules.primary_care`, G6).
    - ``outside``: a facility lying outside the city (``layers.index.locate(...).outside``,
      farther than :func:`rules.outside_city_m` from every unit) that does not lead: ``grid_id``
      is ``""``; it is never a member, primary care or collaborator of a grid (nor counted for
      G5) unless the planner assigns it (:func:`change_role`).
    - ``member``: everything else (other tertiary, secondary, specialty, unknown level).

    A facility's home grid is the grid of the unit it lies in (``layers.index.locate``; the
    nearest unit for one outside the city, the grid it joins when the planner assigns it).

    Parameters
    ----------
    layers : CityLayers
    facilities : DataFrame
        Facilities (after edits) with schema columns.
    assignment : Series
        Unit id -> grid id.
    leads : Series
        Grid id -> lead facility id.
    costs : CostMatrix
        Travel minutes covering ``facilities``.

    Returns
    -------
    DataFrame
        Index facility id; columns ``grid_id``, ``role``, ``home_grid``, ``supports``.
    """
    fac_ids = facilities["id"].astype(str).to_numpy()
    fu, home, outside = _located(layers, facilities, assignment)
    grid_ids = [str(g) for g in leads.index]
    lead_set = {str(v): str(g) for g, v in leads.items()}
    fac_pos = pd.Index(fac_ids)
    lead_rows = np.array(
        [int(fu[fac_pos.get_loc(str(leads[g]))]) for g in leads.index], dtype=np.int64
    )
    role = np.full(len(fac_ids), "member", dtype=object)
    grid = home.copy()
    supports: list[list[str]] = [[] for _ in fac_ids]
    is_lead = np.array([f in lead_set for f in fac_ids], dtype=bool)
    away = outside & ~is_lead
    collab = rules.collaborator_owner(facilities).to_numpy() & ~is_lead & ~away
    cross = rules.cross_grid_type(facilities).to_numpy() & ~is_lead & ~collab & ~away
    # minutes from each grid's lead unit to the collaborators and cross-grid institutions
    # (k x n_fac; only those columns are read, so only those are computed)
    to_fac = np.full((len(grid_ids), len(fac_ids)), np.nan, dtype=np.float32)
    need = np.flatnonzero(collab | cross)
    if len(grid_ids) and len(need):
        to_fac[:, need] = costs.cols(fac_ids[need])[lead_rows]
    primary = rules.primary_care(facilities).to_numpy() & ~is_lead & ~collab & ~cross & ~away
    role[primary] = "primary"
    role[cross] = "cross_grid"
    role[collab] = "collaborator"
    role[away] = "outside"
    role[is_lead] = "lead"
    grid[away] = ""
    for i in np.flatnonzero(is_lead):
        grid[i] = lead_set[fac_ids[i]]
    for i in np.flatnonzero(collab):
        grid[i] = ""
        supports[i].append(home[i])
    gpos = {g: j for j, g in enumerate(grid_ids)}
    collab_idx = np.flatnonzero(collab)
    if len(collab_idx):
        covered = {home[i] for i in collab_idx}
        for g in grid_ids:
            if g in covered:
                continue
            j = collab_idx[int(np.argmin(to_fac[gpos[g], collab_idx]))]
            supports[j].append(g)
    for i in np.flatnonzero(cross):
        near = [g for g in grid_ids if to_fac[gpos[g], i] <= CROSS_GRID_SUPPORT_MINUTES]
        supports[i] = [home[i]] + [g for g in near if g != home[i]]
    sup_text = [",".join(sorted(set(s), key=lambda g: gpos.get(g, 1 << 30))) for s in supports]
    return pd.DataFrame(
        {
            "grid_id": [str(g) for g in grid],
            "role": role.astype(str),
            "home_grid": [str(h) for h in home],
            "supports": sup_text,
        },
        index=pd.Index(fac_ids, name="id"),
    )


# ---- role changes ---------------------------------------------------------------------------------
def _home_grid(layers: CityLayers, plan: Plan, fid: str, roles: pd.DataFrame) -> str:
    home = roles.at[fid, "home_grid"] if fid in roles.index else ""
    if home:
        return home
    fac = effective_facilities(layers, plan)
    unit = facility_units(layers, fac[fac["id"].astype(str) == fid]).get(fid)
    assignment = plan.assignment.copy()
    assignment.index = assignment.index.map(str)
    grid = assignment.get(unit) if unit is not None else None
    return "" if grid is None or pd.isna(grid) else str(grid)


def change_role(
    layers: CityLayers,
    plan: Plan,
    facility_id: str,
    new_role: str,
    *,
    reason: str | None = None,
) -> Plan:
    """Give a facility a new role, keeping the plan within the policy.

    Rules enforced (each refusal is a :class:`RoleChangeError` with a catalogue key):

    - ``lead``: the facility leads the grid it lies in and the former lead becomes a member. Primary
      care never leads. A hospital not eligible under G4 (e.g. provincial, secondary, enterprise-
      owned) leads only with a written ``reason``, recorded as a G4 "in principle" exception. A
      reason longer than the setting ``max_reason_chars`` is refused (``reason_too_long``).
      The grid's G5 waiver and checklist entries move to the new lead.
    - ``member``: hospitals only; a provincial/national hospital stays a collaborator (G8); a
      current lead cannot step down this way (make another facility lead instead).
    - ``primary``: primary-care facilities only.
    - ``cross_grid``: maternal-child, public-health, rehabilitation and nursing institutions only (G7).
    - ``collaborator``: any hospital that is not a lead; it supports the grid it lies in.
    - ``outside``: only a facility lying outside the city (back to the role it gets by default);
      any other role assigns an outside facility to the grid nearest to it (listed there, still
      not counted for G5).

    Returns
    -------
    Plan
        A new plan; the input is unchanged.
    """
    fid = str(facility_id)
    fac = _facility_frame(layers, plan)
    roles = plan_roles(plan)
    if new_role not in schema.ROLES:
        raise RoleChangeError("plan.role_error.unknown_role", role=new_role)
    if fid not in fac.index:
        raise RoleChangeError("plan.role_error.unknown_facility", id=fid)
    row = fac.loc[fid]
    name = str(row.get("name", fid))
    level, type_, owner = str(row["level"]), str(row["type"]), str(row["owner_level"])
    current = roles.at[fid, "role"] if fid in roles.index else ""
    p = {"id": fid, "name": name, "role": new_role, "current": current}
    # The same setting bounds every written reason (a request's, the plan page's, this one).
    if (length := text_too_long(reason, "max_reason_chars")) is not None:
        limit = text_limit("max_reason_chars")
        raise RoleChangeError("plan.role_error.reason_too_long", length=f"{length:,}", limit=f"{limit:,}", **p)
    if current == new_role:
        raise RoleChangeError("plan.role_error.same_role", **p)
    one = fac.loc[[fid]].reset_index()
    is_primary_care = bool(rules.primary_care(one).iloc[0])
    leads = plan.leads.map(str)
    current_grid = plan.grid_of_lead(fid)
    if current_grid is not None:
        raise RoleChangeError("plan.role_error.lead_steps_down", grid=current_grid, **p)
    home = _home_grid(layers, plan, fid, roles)
    if not home and new_role != "collaborator":
        raise RoleChangeError("plan.role_error.no_grid", **p)

    new_roles = roles.copy()
    if fid not in new_roles.index:
        new_roles.loc[fid] = {"grid_id": "", "role": "", "home_grid": home, "supports": ""}
    new_plan = plan
    if new_role == "lead":
        if is_primary_care:
            raise RoleChangeError("plan.role_error.primary_cannot_lead", **p)
        edited = effective_facilities(layers, plan)
        outside = rules.row_outside(layers.index.locate(edited), fid)
        # eligible only by a what-if edit (owner, type or level): a G4 exception with a reason
        by_whatif = fid in whatif_eligible_ids(layers, edited)
        eligible = bool(rules.g4_eligible(one).iloc[0]) and not outside and not by_whatif
        if not eligible and not by_whatif and not bool(rules.g4_designatable(one, [outside]).iloc[0]):
            raise RoleChangeError(
                "plan.role_error.cannot_lead", level=level, type=type_, owner=owner, **p
            )
        if not eligible and not (reason and reason.strip()):
            raise RoleChangeError(
                "plan.role_error.lead_needs_reason", level=level, type=type_, owner=owner, **p
            )
        old = leads[home]
        new_leads = leads.copy()
        new_leads[home] = fid
        if old in new_roles.index:
            old_row = fac.loc[old] if old in fac.index else None
            demoted = "member"
            if old_row is not None and bool(rules.cross_grid_type(fac.loc[[old]]).iloc[0]):
                demoted = "cross_grid"
            new_roles.loc[old, ["grid_id", "role"]] = [home, demoted]
        new_roles.loc[fid, ["grid_id", "role", "supports"]] = [home, "lead", ""]
        exceptions = []
        for exc in plan.exceptions:
            if exc.rule == "G4" and exc.subject == old:
                continue  # the former lead no longer needs its designation
            if exc.rule == "G5" and exc.subject == old:
                exc = PolicyException("G5", fid, exc.reason)  # the grid's waiver follows its lead
            exceptions.append(exc)
        if not eligible:
            exceptions = [e for e in exceptions if (e.rule, e.subject) != ("G4", fid)]
            exceptions.append(PolicyException("G4", fid, reason.strip()))
        checklist = tuple(
            ChecklistEntry(fid, c.item, c.status, c.note) if c.grid_lead == old else c
            for c in plan.checklist
        )
        new_plan = replace(plan, leads=new_leads, exceptions=tuple(exceptions), checklist=checklist)
    elif new_role == "member":
        if bool(rules.collaborator_owner(one).iloc[0]):
            raise RoleChangeError("plan.role_error.provincial_member", **p)
        if is_primary_care:
            raise RoleChangeError("plan.role_error.primary_not_member", **p)
        new_roles.loc[fid, ["grid_id", "role", "supports"]] = [home, "member", ""]
    elif new_role == "primary":
        if not is_primary_care:
            raise RoleChangeError("plan.role_error.not_primary_care", type=type_, level=level, **p)
        new_roles.loc[fid, ["grid_id", "role", "supports"]] = [home, "primary", ""]
    elif new_role == "cross_grid":
        if not bool(rules.cross_grid_type(one).iloc[0]):
            raise RoleChangeError("plan.role_error.not_cross_grid", type=type_, **p)
        supports = roles.at[fid, "supports"] if fid in roles.index else ""
        new_roles.loc[fid, ["grid_id", "role", "supports"]] = [home, "cross_grid", supports or home]
    elif new_role == "outside":
        edited = effective_facilities(layers, plan)
        if not rules.row_outside(layers.index.locate(edited), fid):
            raise RoleChangeError("plan.role_error.not_outside", **p)
        new_roles.loc[fid, ["grid_id", "role", "supports"]] = ["", "outside", ""]
    elif new_role == "collaborator":
        if is_primary_care:
            raise RoleChangeError("plan.role_error.primary_not_collaborator", **p)
        supports = roles.at[fid, "supports"] if fid in roles.index else ""
        new_roles.loc[fid, ["grid_id", "role", "supports"]] = ["", "collaborator", supports or home]
    return replace(new_plan, roles=new_roles)
