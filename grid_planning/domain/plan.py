"""The plan as a value: units -> grid, grids -> lead, facilities -> grid and role, plus everything the
planner decided *with* it (locks, "in principle" exceptions, what-if facility edits, parameters,
the evaluation checklist).

A :class:`Plan` is immutable (like a GerryChain ``Partition``): every edit returns a new plan, so undo
is keeping the previous value, comparing two options is comparing two values, and saving is
serialising one. It never holds the layers themselves, only ids, so it stays small and can be stored
in a scenario database or a GeoPackage ``plan_meta`` table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol, Self, TypeVar

import geopandas as gpd
import pandas as pd
import shapely

from grid_planning.base.frozen import ReadOnlyTables, frozen_frame, frozen_series, frozen_value
from grid_planning.base.textsafe import has_visible_text
from grid_planning.domain import schema
from grid_planning.domain.rules import EXCEPTION_RULES


@dataclass(frozen=True)
class PolicyException:
    """A justified departure from an "in principle" rule.

    Attributes
    ----------
    rule : {"G2", "G4", "G5"}
        G2: fewer than two grids; G4: an otherwise ineligible hospital designated as lead;
        G5: a grid without a secondary general / continuing-care member.
    subject : str
        ``"city"`` for G2; the facility id of the designated lead for G4; the lead facility id of
        the grid concerned for G5 (grids are identified by their lead, since grid ids are renumbered
        when the plan changes).
    reason : str
        The planner's written justification; never empty.
    """

    rule: str
    subject: str
    reason: str

    def __post_init__(self) -> None:
        if self.rule not in EXCEPTION_RULES:
            raise ValueError(f"rule {self.rule!r} is not an 'in principle' rule; use one of {EXCEPTION_RULES}")
        if not str(self.reason).strip():
            raise ValueError(f"an exception to {self.rule} for {self.subject!r} needs a written reason")


@dataclass(frozen=True)
class FacilityEdit:
    """A what-if change to the facilities, kept in the plan and never written to the user's files.

    Attributes
    ----------
    action : {"modify", "add", "close"}
        ``modify`` changes columns of an existing facility (e.g. upgrade level), ``add`` creates a
        planned facility, ``close`` removes one from planning.
    facility_id : str
        The facility concerned (for ``add``, the new id).
    changes : tuple of (column, value)
        New values (``level``, ``type``, ``owner_level``, ``beds``, ``name``, ``lon``, ``lat``...).
    """

    action: str
    facility_id: str
    changes: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        if self.action not in ("modify", "add", "close"):
            raise ValueError(f"unknown facility edit action {self.action!r}")

    @property
    def values(self) -> dict[str, object]:
        """The changes as a dict."""
        return dict(self.changes)


@dataclass(frozen=True)
class ChecklistEntry:
    """A planner-recorded status for one evaluation criterion (1-15) of one grid."""

    grid_lead: str
    item: int
    status: str  # "todo" | "in_progress" | "done" | "not_applicable"
    note: str = ""


@dataclass(frozen=True)
class Plan(ReadOnlyTables):
    """An immutable grid plan.

    Attributes
    ----------
    assignment : pandas.Series
        Index: unit id (str); values: grid id (``"G1"`` ...). Every unit of the city appears once.
    leads : pandas.Series
        Index: grid id; values: lead facility id.
    roles : pandas.DataFrame
        Index: facility id. Columns ``grid_id`` (str; ``""`` for collaborators), ``role`` (one of
        :data:`grid_planning.domain.schema.ROLES`), ``home_grid`` (the grid the facility lies in) and
        ``supports`` (comma-separated grid ids a collaborator or cross-grid institution serves).
    locks : tuple of (unit id, grid id)
        Units the planner pinned to a grid; re-planning keeps them.
    exceptions : tuple of PolicyException
        Recorded "in principle" exceptions.
    edits : tuple of FacilityEdit
        What-if changes applied to the facilities before planning.
    params : tuple of (key, value)
        JSON-serialisable parameters (k, balance, cost mode, method, created, version ...).
    checklist : tuple of ChecklistEntry
        Planner-recorded evaluation criteria.
    """

    assignment: pd.Series
    leads: pd.Series
    roles: pd.DataFrame
    locks: tuple[tuple[str, str], ...] = ()
    exceptions: tuple[PolicyException, ...] = ()
    edits: tuple[FacilityEdit, ...] = ()
    params: tuple[tuple[str, object], ...] = ()
    checklist: tuple[ChecklistEntry, ...] = field(default=())

    # ---- deep immutability -----------------------------------------------------------------
    # A plan is shared by every session of a server that asked for it (the plan cache), so no
    # session may change it in place: the tables hold read-only storage, each read of
    # ``assignment``/``leads``/``roles`` gives a new pandas object over it (a change to that stays
    # in it, pandas copying on write; see grid_planning.base.frozen), and the other fields are
    # tuples and frozen mappings.
    _read_only_tables = frozenset({"assignment", "leads", "roles"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "assignment", frozen_series(self.assignment))
        object.__setattr__(self, "leads", frozen_series(self.leads))
        object.__setattr__(self, "roles", frozen_frame(self.roles))
        for name in ("exceptions", "edits", "checklist"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "locks", tuple(tuple(p) for p in self.locks))
        object.__setattr__(self, "params", tuple((k, frozen_value(v)) for k, v in self.params))

    # ---- read-only views -------------------------------------------------------------------
    @property
    def grid_ids(self) -> list[str]:
        """Grid ids in order (G1, G2, ...)."""
        return list(self.leads.index)

    @property
    def k(self) -> int:
        """Number of grids."""
        return len(self.leads)

    @property
    def lock_map(self) -> dict[str, str]:
        """Locks as ``{unit id: grid id}``."""
        return dict(self.locks)

    @property
    def param_map(self) -> dict[str, object]:
        """Parameters as a dict."""
        return dict(self.params)

    def lead_of(self, grid_id: str) -> str:
        """Lead facility id of a grid."""
        return str(self.leads[grid_id])

    def grid_of_lead(self, facility_id: str) -> str | None:
        """Grid id led by ``facility_id``, or ``None``."""
        hit = self.leads[self.leads == facility_id]
        return None if hit.empty else str(hit.index[0])

    def exception_for(self, rule: str, subject: str) -> PolicyException | None:
        """The recorded exception for ``rule`` and ``subject``, if any. One whose reason shows
        nothing (only spaces or invisible characters such as U+200B) is no exception: the check
        then fails the rule instead of printing "passed by exception: " and nothing."""
        for exc in self.exceptions:
            if exc.rule == rule and exc.subject == subject and has_visible_text(exc.reason):
                return exc
        return None

    def units_of(self, grid_id: str) -> list[str]:
        """Unit ids assigned to a grid."""
        return list(self.assignment.index[self.assignment == grid_id])

    # ---- edits return new plans ------------------------------------------------------------
    def with_assignment(self, assignment: pd.Series, roles: pd.DataFrame | None = None) -> Plan:
        """A copy with a new unit assignment (and, if given, recomputed roles)."""
        return replace(self, assignment=assignment.copy(), roles=self.roles if roles is None else roles)

    def with_locks(self, unit_ids: Iterable[str], grid_id: str | None) -> Plan:
        """Lock ``unit_ids`` to ``grid_id`` (or unlock them when ``grid_id`` is ``None``)."""
        locks = self.lock_map
        for uid in unit_ids:
            if grid_id is None:
                locks.pop(str(uid), None)
            else:
                locks[str(uid)] = grid_id
        return replace(self, locks=tuple(sorted(locks.items())))

    def with_exception(self, exc: PolicyException) -> Plan:
        """Add (or replace) an exception for the same rule and subject."""
        kept = tuple(e for e in self.exceptions if (e.rule, e.subject) != (exc.rule, exc.subject))
        return replace(self, exceptions=kept + (exc,))

    def without_exception(self, rule: str, subject: str) -> Plan:
        """Drop the exception for ``rule`` and ``subject``."""
        return replace(
            self, exceptions=tuple(e for e in self.exceptions if (e.rule, e.subject) != (rule, subject))
        )

    def with_checklist(self, entry: ChecklistEntry) -> Plan:
        """Record (or replace) one checklist entry."""
        kept = tuple(
            c for c in self.checklist if (c.grid_lead, c.item) != (entry.grid_lead, entry.item)
        )
        return replace(self, checklist=kept + (entry,))

    def with_params(self, **params: object) -> Plan:
        """A copy with parameters added or replaced."""
        merged = self.param_map | params
        return replace(self, params=tuple(merged.items()))

    # ---- serialisation ---------------------------------------------------------------------
    def meta_json(self) -> str:
        """Everything but the tables, as JSON (stored in ``plan_meta``)."""
        return json.dumps(
            {
                "leads": {str(k): str(v) for k, v in self.leads.items()},
                "locks": [list(p) for p in self.locks],
                "exceptions": [vars(e) for e in self.exceptions],
                "edits": [
                    {"action": e.action, "facility_id": e.facility_id, "changes": [list(c) for c in e.changes]}
                    for e in self.edits
                ],
                "params": dict(self.params),
                "checklist": [vars(c) for c in self.checklist],
            },
            ensure_ascii=False,
            default=str,
        )

    @staticmethod
    def parts_from_meta(meta: str | Mapping) -> dict[str, object]:
        """Inverse of :meth:`meta_json` for the non-table fields (used by the GeoPackage reader).

        Raises
        ------
        ValueError, TypeError, KeyError
            When ``meta`` does not have the shape :meth:`meta_json` writes (a file that was
            altered or damaged): a plan is never rebuilt from a guess.
        """
        data = json.loads(meta) if isinstance(meta, str) else dict(meta)
        if not isinstance(data, dict):
            raise TypeError("not an object")
        leads = data.get("leads", {})
        if not isinstance(leads, dict) or not all(
            isinstance(g, str) and isinstance(f, str) for g, f in leads.items()
        ):
            raise TypeError("leads")
        locks = data.get("locks", [])
        if not isinstance(locks, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) for v in pair)
            for pair in locks
        ):
            raise TypeError("locks")
        for key in ("exceptions", "edits", "checklist"):
            if not isinstance(data.get(key, []), list):
                raise TypeError(key)
        if not isinstance(data.get("params", {}), dict):
            raise TypeError("params")
        return {
            "leads": pd.Series(data.get("leads", {}), dtype=object),
            "locks": tuple(tuple(p) for p in data.get("locks", [])),
            "exceptions": tuple(PolicyException(**e) for e in data.get("exceptions", [])),
            "edits": tuple(
                FacilityEdit(e["action"], e["facility_id"], tuple(tuple(c) for c in e.get("changes", [])))
                for e in data.get("edits", [])
            ),
            "params": tuple(data.get("params", {}).items()),
            "checklist": tuple(ChecklistEntry(**c) for c in data.get("checklist", [])),
        }


# ---- what-if facility edits -------------------------------------------------------------------------
#: Columns a facility edit may set, with the schema normaliser for vocabulary columns.
_EDIT_NORMALISERS = {"level": "normalise_level", "type": "normalise_type", "owner_level": "normalise_owner"}


def apply_facility_edits(
    facilities: gpd.GeoDataFrame, edits: Iterable[FacilityEdit]
) -> gpd.GeoDataFrame:
    """The facilities with what-if edits applied, in order; the input is not modified.

    ``modify`` sets columns of an existing facility (``level``/``type``/``owner_level`` values are
    normalised through :mod:`grid_planning.domain.schema`, ``lon``/``lat`` move the point); ``add`` appends a
    planned facility (needs ``lon`` and ``lat`` in WGS84; ``source`` defaults to ``"what_if"``);
    ``close`` removes one.

    Parameters
    ----------
    facilities : GeoDataFrame
        Facilities in the layers' contract (EPSG:4326 points).
    edits : iterable of FacilityEdit

    Returns
    -------
    GeoDataFrame
        A new frame with a fresh RangeIndex.

    Raises
    ------
    ValueError
        Unknown facility id (modify/close), duplicate id (add), missing coordinates (add), or a value
        that cannot be read as a level/type/owner level. The message names the facility.
    """
    edits = tuple(edits)
    if not edits:
        return facilities
    fac = facilities.copy()
    fac["id"] = fac["id"].astype(str)
    for edit in edits:
        fid = str(edit.facility_id)
        values = dict(edit.values)
        for col, fn_name in _EDIT_NORMALISERS.items():
            if col in values:
                norm = getattr(schema, fn_name)(values[col])
                if norm is None:
                    raise ValueError(f"facility {fid}: cannot read {col}={values[col]!r}")
                values[col] = norm
        if "beds" in values:
            try:
                values["beds"] = float(values["beds"])
            except (TypeError, ValueError):
                raise ValueError(f"facility {fid}: beds={values['beds']!r} is not a number") from None
        exists = fac["id"].eq(fid)
        if edit.action == "close":
            if not exists.any():
                raise ValueError(f"cannot close facility {fid}: no such facility")
            fac = fac[~exists]
            continue
        if edit.action == "modify":
            if not exists.any():
                raise ValueError(f"cannot modify facility {fid}: no such facility")
            idx = fac.index[exists]
            for col, val in values.items():
                if col in ("lon", "lat", "geometry"):
                    continue
                if col not in fac.columns:
                    fac[col] = None
                fac.loc[idx, col] = val
            if "lon" in values or "lat" in values:
                old = fac.loc[idx[0], fac.geometry.name]
                lon = float(values.get("lon", old.x))
                lat = float(values.get("lat", old.y))
                fac.loc[idx, fac.geometry.name] = shapely.Point(lon, lat)
                if "lon" in fac.columns:
                    fac.loc[idx, "lon"] = lon
                if "lat" in fac.columns:
                    fac.loc[idx, "lat"] = lat
            continue
        # add
        if exists.any():
            raise ValueError(f"cannot add facility {fid}: the id is already used")
        try:
            lon, lat = float(values["lon"]), float(values["lat"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"cannot add facility {fid}: lon and lat are needed") from None
        row = {
            "id": fid,
            "name": str(values.get("name", fid)),
            "level": values.get("level", "unknown"),
            "type": values.get("type", "other"),
            "owner_level": values.get("owner_level", "unknown"),
            "beds": values.get("beds", float("nan")),
            "source": values.get("source", "what_if"),
            "level_source": values.get("level_source", "data"),
            "lon": lon,
            "lat": lat,
        } | {k: v for k, v in values.items() if k not in ("lon", "lat")}
        new = gpd.GeoDataFrame([row], geometry=[shapely.Point(lon, lat)], crs=fac.crs)
        fac = pd.concat([fac, new], ignore_index=True)
    fac = fac.reset_index(drop=True)
    return gpd.GeoDataFrame(fac, geometry=fac.geometry.name, crs=facilities.crs)


class EditableCity(Protocol):
    """A city whose facilities can be swapped for edited ones:
    :class:`~grid_planning.city.layers.CityLayers` (a floor above) is one."""

    @property
    def facilities(self) -> gpd.GeoDataFrame: ...
    def with_facilities(self, facilities: gpd.GeoDataFrame) -> Self: ...


City = TypeVar("City", bound=EditableCity)


def effective_layers(layers: City, edits: Iterable[FacilityEdit]) -> City:
    """The layers with what-if facility edits applied (a new ``CityLayers``; the input is kept)."""
    edits = tuple(edits)
    if not edits:
        return layers
    return layers.with_facilities(apply_facility_edits(layers.facilities, edits))
