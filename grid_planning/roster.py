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
from typing import Any

import numpy as np
import pandas as pd

from grid_planning import schema
from grid_planning.i18n import CatalogueError, t
from grid_planning.metrics import _roles, _split, effective_facilities, fac_table, facility_units
from grid_planning.plan import ChecklistEntry, Plan, PolicyException

#: Share of the lead's beds and outpatient slots to be sent down to primary care (policy.md).
BEDS_SHARE_DOWN = 4  # 1/4 of beds
SLOTS_SHARE_DOWN = 3  # 1/3 of outpatient slots

_FAC_COLUMNS = (
    "name", "level", "type", "owner_level", "beds", "source", "level_source", "capacity_source"
)


def _capacity_source(row: pd.Series) -> str:
    """Where a facility's beds/slots come from: its ``capacity_source`` when given, else ``source``.

    A real hospital can carry generated capacity (the sample city has no bed counts), so the
    facility's own ``source`` alone would present invented beds as real.
    """
    cap = str(row.get("capacity_source", "") or "").strip()
    if cap and cap.lower() != "nan":
        return cap
    return str(row.get("source", "") or "unknown")


class RoleChangeError(CatalogueError):
    """A role change the policy does not allow; ``key`` and ``params`` give the catalogue message."""


def _facility_frame(layers: Any, plan: Plan) -> pd.DataFrame:
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
        "supports": _split(role.get("supports", "")),
    }


def grid_roster(layers: Any, plan: Plan) -> dict[str, dict[str, Any]]:
    """The roster of every grid.

    Returns
    -------
    dict
        ``{grid_id: {"grid_id", "lead" (record), "members" ({type: [records]}), "primary"
        ([records]), "cross_grid" ([records] whose home grid is this grid), "serving" ([records]
        of cross-grid institutions of other grids that list this grid in ``supports``),
        "collaborators" ([records], each with the grids it ``supports``), "counts" ({role: n}),
        "beds" (total of the lead, members, primary care and home cross-grid institutions)}}``.
        A record has ``id``, ``name``, ``level``, ``type``, ``owner_level``, ``beds``, ``source``,
        ``level_source``, ``capacity_source`` (where ``beds`` comes from), ``home_grid`` and
        ``supports`` (list of grid ids).
    """
    fac = _facility_frame(layers, plan)
    roles = _roles(plan)
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
            if grid in _split(roles.at[f, "supports"])
        ]
        collab = [
            _record(f, fac, roles)
            for f in roles.index[roles["role"] == "collaborator"]
            if grid in _split(roles.at[f, "supports"])
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


def roster_table(layers: Any, plan: Plan, lang: str | None = None) -> pd.DataFrame:
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
        ``home_grid``, ``supports``; sorted by grid then role.
    """
    fac = _facility_frame(layers, plan)
    roles = _roles(plan)
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
    return table.reset_index(drop=True)


def lead_obligations(layers: Any, plan: Plan) -> pd.DataFrame:
    """What each lead hospital owes primary care: 1/4 of its beds and 1/3 of its outpatient slots.

    Returns
    -------
    pandas.DataFrame
        One row per grid: ``grid_id``, ``lead_id``, ``lead_name``, ``beds``, ``outpatient_slots``,
        ``beds_to_primary`` (``ceil(beds / 4)``), ``slots_to_primary`` (``ceil(slots / 3)``), NaN
        where the capacity is unknown, and ``capacity_source`` (the facility's ``capacity_source``
        column, else its ``source``: "real"/"data", "illustrative", the user's label, or "unknown"
        when no capacity figure exists) so a view can say the figures are illustrative.
    """
    fac = _facility_frame(layers, plan)
    rows = []
    for grid, lead in plan.leads.items():
        lead = str(lead)
        row = fac.loc[lead] if lead in fac.index else pd.Series(dtype=object)
        beds = _beds(row.get("beds"))
        slots = _beds(row.get("outpatient_slots"))
        known = not (math.isnan(beds) and math.isnan(slots))
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
        ],
    )


# ---- role changes ---------------------------------------------------------------------------------
def _home_grid(layers: Any, plan: Plan, fid: str, roles: pd.DataFrame) -> str:
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
    layers: Any,
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
      owned) leads only with a written ``reason``, recorded as a G4 "in principle" exception.
      The grid's G5 waiver and checklist entries move to the new lead.
    - ``member``: hospitals only; a provincial/national hospital stays a collaborator (G8); a
      current lead cannot step down this way (make another facility lead instead).
    - ``primary``: primary-care facilities only.
    - ``cross_grid``: maternal-child, public-health, rehabilitation and nursing institutions only (G7).
    - ``collaborator``: any hospital that is not a lead; it supports the grid it lies in.

    Returns
    -------
    Plan
        A new plan; the input is unchanged.
    """
    fid = str(facility_id)
    fac = _facility_frame(layers, plan)
    roles = _roles(plan)
    if new_role not in schema.ROLES:
        raise RoleChangeError("plan.role_error.unknown_role", role=new_role)
    if fid not in fac.index:
        raise RoleChangeError("plan.role_error.unknown_facility", id=fid)
    row = fac.loc[fid]
    name = str(row.get("name", fid))
    level, type_, owner = str(row["level"]), str(row["type"]), str(row["owner_level"])
    current = roles.at[fid, "role"] if fid in roles.index else ""
    p = {"id": fid, "name": name, "role": new_role, "current": current}
    if current == new_role:
        raise RoleChangeError("plan.role_error.same_role", **p)
    is_primary_care = type_ in schema.PRIMARY_CARE_TYPES or level == "primary"
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
        eligible = schema.is_eligible_lead(level, type_, owner)
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
            if old_row is not None and str(old_row["type"]) in schema.CROSS_GRID_TYPES:
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
        if owner in schema.COLLABORATOR_OWNER_LEVELS:
            raise RoleChangeError("plan.role_error.provincial_member", **p)
        if is_primary_care:
            raise RoleChangeError("plan.role_error.primary_not_member", **p)
        new_roles.loc[fid, ["grid_id", "role", "supports"]] = [home, "member", ""]
    elif new_role == "primary":
        if not is_primary_care:
            raise RoleChangeError("plan.role_error.not_primary_care", type=type_, level=level, **p)
        new_roles.loc[fid, ["grid_id", "role", "supports"]] = [home, "primary", ""]
    elif new_role == "cross_grid":
        if type_ not in schema.CROSS_GRID_TYPES:
            raise RoleChangeError("plan.role_error.not_cross_grid", type=type_, **p)
        supports = roles.at[fid, "supports"] if fid in roles.index else ""
        new_roles.loc[fid, ["grid_id", "role", "supports"]] = [home, "cross_grid", supports or home]
    elif new_role == "collaborator":
        if is_primary_care:
            raise RoleChangeError("plan.role_error.primary_not_collaborator", **p)
        supports = roles.at[fid, "supports"] if fid in roles.index else ""
        new_roles.loc[fid, ["grid_id", "role", "supports"]] = ["", "collaborator", supports or home]
    return replace(new_plan, roles=new_roles)
