"""The planning workspace: one planner's live session on one city, without any user interface.

A :class:`Workspace` holds the city layers, the current :class:`~grid_planning.domain.plan.Plan`, the
request that produced it, an undo/redo history of plans, and the units currently selected on the
map. Every action a planner takes in the browser is one method here, so the dashboard pages stay
thin and every interaction is testable without a browser:

- plan (:meth:`Workspace.run`), compare a range of k (:meth:`Workspace.compare`), re-plan keeping
  locks, exceptions and what-if edits (:meth:`Workspace.replan`);
- hand edits: select units (:meth:`Workspace.select`, :meth:`Workspace.unit_at`), move them
  (:meth:`Workspace.move`), lock/unlock them (:meth:`Workspace.lock`, :meth:`Workspace.unlock`);
- what-if: change a facility (:meth:`Workspace.modify_facility`), add a planned hospital
  (:meth:`Workspace.add_facility`), close one (:meth:`Workspace.close_facility`), remove a change
  (:meth:`Workspace.remove_edit`). These live in ``plan.edits`` and are applied through
  :func:`grid_planning.domain.plan.effective_layers`; the user's files are never touched;
- roles (:meth:`Workspace.change_role`) and checklist entries (:meth:`Workspace.record`);
- undo/redo (:meth:`Workspace.undo`, :meth:`Workspace.redo`);
- save/load through a :class:`~grid_planning.store.scenarios.ScenarioStore`.

Because plans are immutable values, the history is simply a list of earlier plans: undo swaps the
current plan with the last one, and nothing needs to be recomputed but the metrics.

Errors a planner can cause (moving to a grid that does not exist, loading a scenario made on another
city ...) raise :class:`WorkspaceError` with a catalogue key (``workspace.error.<code>``), so a page
shows a sentence, never a traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_planning.assess.checklist import record
from grid_planning.assess.conversion import (
    CONVERSION_TARGETS,
    conversion_edit,
    conversion_of,
    secondary_general,
)
from grid_planning.assess.metrics import Figures, plan_figures
from grid_planning.assess.roster import change_role
from grid_planning.base.cache import SharedCache, content_key, costs_digest, plan_digest
from grid_planning.base.config import text_limit, text_too_long
from grid_planning.base.i18n import CatalogueError, t
from grid_planning.city.costs import CostMatrix, travel_costs
from grid_planning.city.layers import CityLayers
from grid_planning.city.planview import facility_units
from grid_planning.domain.plan import FacilityEdit, Plan, apply_facility_edits, effective_layers
from grid_planning.domain.request import (
    BalanceAdvice,
    CostParams,
    Option,
    PlanRequest,
    PlanResult,
    request_from_plan,
    with_request,
)
from grid_planning.domain.rules import MIN_GRIDS
from grid_planning.exports.formats import PAPER_FORMATS, export_plan
from grid_planning.planning.candidates import eligible_leads
from grid_planning.planning.districts import plan_whole_districts
from grid_planning.planning.planner import compare_k, move_units, plan_city, replan, suggest_balance
from grid_planning.store.identity import User
from grid_planning.store.scenarios import (
    ScenarioStore,
    changed_parts,
    grid_outlines,
    layer_fingerprints,
)

#: Signature of a cost provider: ``(layers, params, facilities or None) -> CostMatrix``, as
#: :func:`grid_planning.city.costs.travel_costs` (the default, cached per fingerprint). ``facilities`` is
#: given when what-if edits change them. Pages may pass one wrapped in ``st.cache_resource``.
CostProvider = Callable[[CityLayers, CostParams, "gpd.GeoDataFrame | None"], CostMatrix]


#: Progress callback of the planner: ``(fraction in [0, 1], message key)``.
Progress = Callable[[float, str], None]


#: How many earlier plans undo can go back to (plans are small: ids only).
HISTORY_LIMIT = 50


#: Figures of recent plans, shared by every workspace of the process (the sessions of a server).
SHARED_FIGURES: SharedCache = SharedCache(max_entries=32, per_city=12)


def check_reason(reason: object, subject: str) -> None:
    """Refuse a written reason for an "in principle" exception longer than the setting
    ``max_reason_chars`` (the planner refuses such a request too: one rule, checked early).

    Raises
    ------
    WorkspaceError
        ``reason_too_long`` naming ``subject`` (a rule or a facility), the length and the limit.
    """
    if (length := text_too_long(reason, "max_reason_chars")) is not None:
        limit = text_limit("max_reason_chars")
        raise WorkspaceError("reason_too_long", subject=subject, length=f"{length:,}", limit=f"{limit:,}")


#: Results of recent planning runs by content (city, request, travel costs): the planner gives
#: the same result for the same input, so sessions that ask for it at once wait for one run
#: instead of queueing twenty on the server's one interpreter (:meth:`Workspace.run`).
SHARED_PLANS: SharedCache = SharedCache(max_entries=32, per_city=12)


class WorkspaceError(CatalogueError):
    """A planner's action that cannot be carried out, with a catalogue key for the message.

    Attributes
    ----------
    code : str
        Key suffix: the message is ``workspace.error.<code>``.
    params : dict
        Placeholder values for the message.
    """

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        super().__init__(f"workspace.error.{code}", **params)


@dataclass(frozen=True)
class Step:
    """One entry of the undo history: the plan *before* an action, and what the action was."""

    plan: Plan | None
    action: str  # catalogue key suffix: workspace.action.<action>
    params: tuple[tuple[str, object], ...] = ()

    def label(self, lang: str = "zh") -> str:
        """A short description of the action (for the undo/redo buttons)."""
        return t(f"workspace.action.{self.action}", lang, **dict(self.params))


def _default_costs(layers: CityLayers, params: CostParams,
                   facilities: gpd.GeoDataFrame | None = None) -> CostMatrix:
    return travel_costs(layers, params, facilities)


@dataclass(eq=False)
class Workspace:
    """A planner's session on one city (mutable; holds immutable plans).

    Parameters
    ----------
    layers : CityLayers
        The city as loaded from the user's files (or the sample city). Never modified.
    request : PlanRequest, optional
        The planning parameters (k, fixed/excluded leads, exceptions, balance, cost mode ...).
    cost_provider : callable, optional
        ``(layers, CostParams) -> CostMatrix``; defaults to :func:`grid_planning.city.costs.travel_costs`.
    history_limit : int
        How many steps undo can go back.
    """

    layers: CityLayers
    request: PlanRequest = field(default_factory=lambda: PlanRequest(k=2))
    cost_provider: CostProvider = _default_costs
    history_limit: int = HISTORY_LIMIT
    plan: Plan | None = None
    selection: tuple[str, ...] = ()
    last_result: PlanResult | None = None
    _undo: list[Step] = field(default_factory=list)
    _redo: list[Step] = field(default_factory=list)
    _pending_edits: tuple[FacilityEdit, ...] = ()
    _eff_cache: dict[Any, CityLayers] = field(default_factory=dict)
    _figures: dict[Any, Figures] = field(default_factory=dict)
    #: Incremented whenever the current plan changes (pages key their caches on it).
    revision: int = 0
    #: Incremented when the request is replaced from outside the plan page's widgets (a scenario
    #: load, a lead fixed from the map): the page re-seeds its widgets from the request.
    request_revision: int = 0
    #: The scenario last opened with :meth:`load` (see :attr:`loaded_scenario`).
    loaded: LoadedScenario | None = None

    # ---- derived state ---------------------------------------------------------------------
    @property
    def edits(self) -> tuple[FacilityEdit, ...]:
        """The active what-if changes (of the current plan, or pending before the first plan)."""
        return self.plan.edits if self.plan is not None else self._pending_edits

    def effective_layers(self) -> CityLayers:
        """The layers with the active what-if changes applied (the base layers when there are none).

        Cached per set of edits, so the pages can call it on every rerun.
        """
        edits = self.edits
        if not edits:
            return self.layers
        hit = self._eff_cache.get(edits)
        if hit is None:
            hit = effective_layers(self.layers, edits)
            self._eff_cache.clear()  # only the current set of edits is worth keeping
            self._eff_cache[edits] = hit
        return hit

    def costs(self, edits: tuple[FacilityEdit, ...] | None = None,
              params: CostParams | None = None) -> CostMatrix:
        """Travel costs from every unit to every facility of the effective layers.

        Parameters
        ----------
        edits : tuple of FacilityEdit, optional
            What-if changes to cost (default: the active ones).
        params : CostParams, optional
            Travel model (default: the request's).
        """
        edits = self.edits if edits is None else edits
        params = self.request.cost if params is None else params
        fac = apply_facility_edits(self.layers.facilities, edits) if edits else None
        return self.cost_provider(self.layers, params, fac)

    # ---- planning --------------------------------------------------------------------------
    def set_request(self, **changes: object) -> PlanRequest:
        """Replace fields of the request (``k``, ``balance``, ``fixed_leads`` ...) and return it.

        Raises
        ------
        WorkspaceError
            ``unknown_parameter`` for a field the request does not have.
        """
        names = {f.name for f in dataclasses.fields(PlanRequest)}
        for key in changes:
            if key not in names:
                raise WorkspaceError("unknown_parameter", name=key)
        self.request = replace(self.request, **changes)
        return self.request

    def change_request(self, **changes: object) -> PlanRequest:
        """:meth:`set_request` for a change made anywhere but the widgets that show the request
        (a button, a suggestion taken): the widgets are told to show it (:attr:`request_revision`)."""
        request = self.set_request(**changes)
        self.request_revision += 1
        return request

    def apply_option(self, option: Option, reason: str | Mapping[str, str] | None = None) -> PlanRequest:
        """Take one of a refusal's options (:attr:`grid_planning.domain.request.Infeasible.options`): the
        request changes as the option says, and the widgets showing it are told so
        (:attr:`request_revision`).

        Parameters
        ----------
        option : Option
        reason : str or mapping, optional
            The written reason the option's "in principle" exceptions are recorded with: one text,
            or one per rule of :attr:`Option.reason_rules` (``{"G4": ..., "G5": ...}``).

        Raises
        ------
        WorkspaceError
            ``reason_required`` (naming the rule) when an exception the option records has no reason,
            ``reason_too_long`` when a reason is longer than the setting ``max_reason_chars``.
        """
        reasons = reason if isinstance(reason, Mapping) else dict.fromkeys(option.reason_rules, reason)
        for rule in option.reason_rules:
            if not (reasons.get(rule) or "").strip():
                raise WorkspaceError("reason_required", rule=rule)
            check_reason(reasons[rule], rule)
        self.request = option.apply(self.request, reason)
        self.request_revision += 1
        return self.request

    def _base_for_replan(self, plan: Plan, edits: tuple[FacilityEdit, ...]) -> Plan:
        """The plan to re-plan from: its exceptions replaced by the request's (the planner may
        have withdrawn a designation or a waiver on the plan page) and the given edits."""
        req = self.request
        kept = []
        for exc in plan.exceptions:
            if exc.rule == "G4" and exc.subject not in dict(req.designated_leads):
                continue
            if exc.rule == "G5" and exc.subject not in dict(req.g5_waivers):
                continue
            if exc.rule == "G2" and not req.g2_reason:
                continue
            kept.append(exc)
        return replace(plan, exceptions=tuple(kept), edits=tuple(edits))

    def _request_for(self, plan: Plan | None, edits: tuple[FacilityEdit, ...]) -> PlanRequest:
        locks = plan.locks if plan is not None else self.request.locks
        lock_leads = _locks_to_leads(plan, locks) if plan is not None else tuple(locks)
        return replace(self.request, edits=tuple(edits), locks=lock_leads)

    def run(self, progress: Progress | None = None, *, districts: pd.Series | None = None) -> PlanResult:
        """Plan the city from scratch with the current request (keeping locks and what-if edits).

        With ``districts`` (the district of every unit) every district stays in one grid, as
        ``plan --whole-districts`` (:func:`grid_planning.planning.districts.plan_whole_districts`;
        the request's locks are not kept), or the refusal names the districts that cannot.

        A feasible result becomes the current plan (undoable); an infeasible one leaves the plan
        unchanged and is returned for the page to explain.
        """
        request = self._request_for(self.plan, self.edits)
        self.request = request
        costs = self.costs()
        digest = costs_digest(costs)
        if districts is not None:
            result = plan_whole_districts(self.layers, request, districts)
        elif digest is None:
            result = plan_city(self.layers, request, costs=costs, progress=progress)
        else:
            result = self._shared_run(request, costs, digest, progress)
        self.last_result = result
        if result.ok:
            self._push("run", result.plan, k=result.plan.k)
        return result

    def _shared_run(self, request: PlanRequest, costs: CostMatrix, digest: str,
                    progress: Progress | None) -> PlanResult:
        """:func:`plan_city` through :data:`SHARED_PLANS`. Only plans are kept: a refusal may rest
        on a time limit under load, and asking again must try again. The run goes on for the
        sessions waiting on it when this session's progress display is interrupted (the planner
        clicked elsewhere); the interruption reaches this session afterwards."""
        interrupted: list[BaseException] = []

        def report(fraction: float, message: str) -> None:
            if progress is not None and not interrupted:
                try:
                    progress(fraction, message)
                except BaseException as exc:  # noqa: BLE001 - Streamlit's stop/rerun, re-raised below
                    interrupted.append(exc)

        key = content_key("plan_city", self.layers.fingerprint(), self.layers.name, repr(request),
                          digest)
        t0 = time.perf_counter()
        result = SHARED_PLANS.get(key, lambda: plan_city(self.layers, request, costs=costs,
                                                         progress=report),
                                  keep=lambda r: r.ok, city=self.layers.fingerprint())
        if interrupted:
            raise interrupted[0]
        # This planner's result: made now, in the time they waited (the shared run may be older);
        # its own stats dict, the shared one left as it was.
        stats = {**result.stats, "seconds": time.perf_counter() - t0}
        if not result.ok:
            return replace(result, stats=stats)
        plan = result.plan.with_params(created=datetime.now(UTC).isoformat(timespec="seconds"))
        return replace(result, plan=plan, stats=stats)

    def replan(self, progress: Progress | None = None) -> PlanResult:
        """Re-plan from the current plan, keeping its locks, exceptions, edits and checklist."""
        if self.plan is None:
            return self.run(progress)
        request = self._request_for(self.plan, self.plan.edits)
        self.request = request
        base = self._base_for_replan(self.plan, self.plan.edits)
        result = replan(self.layers, base, request, costs=self.costs(), progress=progress)
        self.last_result = result
        if result.ok:
            self._push("replan", _carry_over(self.plan, result.plan), k=result.plan.k)
        return result

    def balance_request(self) -> PlanRequest:
        """The request :meth:`balance_advice` judges: the current one (with locks and what-if
        edits, as :meth:`run` would plan it) without its balance. Pages key caches on it."""
        return replace(self._request_for(self.plan, self.edits), balance=None)

    def balance_advice(self) -> BalanceAdvice:
        """The tightest population tolerance (10/20/30/50 %) the current request can meet, and
        the largest deviation from the mean grid without any balance (a few planning runs:
        pages cache it per city and :meth:`balance_request`)."""
        return suggest_balance(self.layers, self.balance_request(), costs=self.costs())

    def compare(self, ks: Iterable[int]) -> pd.DataFrame:
        """The k-comparison table (k, status, objective, balance, contiguity, compliance)."""
        request = self._request_for(self.plan, self.edits)
        return compare_k(self.layers, [int(k) for k in ks], request, costs=self.costs())

    # ---- selection -------------------------------------------------------------------------
    def select(self, unit_ids: Iterable[str], mode: str = "replace") -> tuple[str, ...]:
        """Change the selection: ``replace`` it, ``add`` to it, ``remove`` from it or ``toggle``.

        Unknown unit ids are ignored (a stale click after loading another city must not crash).
        """
        known = set(self.layers.units["id"].astype(str))
        ids = [str(u) for u in unit_ids if str(u) in known]
        current = list(self.selection)
        if mode == "replace":
            current = list(dict.fromkeys(ids))
        elif mode == "add":
            current += [u for u in ids if u not in current]
        elif mode == "remove":
            current = [u for u in current if u not in set(ids)]
        elif mode == "toggle":
            for u in ids:
                if u in current:
                    current.remove(u)
                else:
                    current.append(u)
        else:
            raise ValueError(f"unknown selection mode {mode!r}")
        self.selection = tuple(current)
        return self.selection

    def clear_selection(self) -> None:
        """Select nothing."""
        self.selection = ()

    def unit_choices(self, query: str = "", limit: int = 50) -> dict[str, str]:
        """Units to offer in a picker: the current selection, then up to ``limit`` units whose id
        or name contains ``query`` (case-insensitive), as ``{unit id: "name · id"}``."""
        units = self.layers.units
        ids = units["id"].astype(str)
        names = units["name"].astype(str) if "name" in units else ids
        label = names + " · " + ids
        keep = ids.isin(self.selection)
        q = query.strip().lower()
        if q:
            hits = ids.str.lower().str.contains(q, regex=False) | names.str.lower().str.contains(q, regex=False)
            keep |= hits & (hits.cumsum() <= limit)
        return dict(zip(ids[keep], label[keep], strict=True))

    def unit_at(self, lon: float, lat: float) -> str | None:
        """The id of the unit containing a WGS84 point (a map click), or ``None`` outside the city."""
        units = self.layers.units
        hits = units.sindex.query(shapely.Point(float(lon), float(lat)), predicate="intersects")
        if len(hits) == 0:
            return None
        return str(units["id"].iloc[int(hits[0])])

    def facility_at(self, lon: float, lat: float, tolerance_m: float = 150.0) -> str | None:
        """The id of the facility nearest a WGS84 point within ``tolerance_m`` metres, or ``None``.

        A clicked marker reports its own coordinates, so the tolerance only has to absorb rounding.
        """
        fac = self.effective_layers().facilities
        if fac.empty:
            return None
        lon0, lat0 = float(lon), float(lat)
        # Equirectangular metres: exact enough at a marker's scale and far cheaper than reprojecting.
        dx = (fac.geometry.x.to_numpy() - lon0) * 111_320.0 * np.cos(np.radians(lat0))
        dy = (fac.geometry.y.to_numpy() - lat0) * 110_540.0
        d = np.hypot(dx, dy)
        i = int(np.argmin(d))
        return str(fac["id"].iloc[i]) if d[i] <= tolerance_m else None

    # ---- hand edits ------------------------------------------------------------------------
    def _require_plan(self) -> Plan:
        if self.plan is None:
            raise WorkspaceError("no_plan")
        return self.plan

    def _units_or_selection(self, unit_ids: Iterable[str] | None) -> list[str]:
        ids = list(self.selection) if unit_ids is None else [str(u) for u in unit_ids]
        if not ids:
            raise WorkspaceError("nothing_selected")
        plan = self._require_plan()
        unknown = [u for u in ids if u not in plan.assignment.index]
        if unknown:
            raise WorkspaceError("unknown_units", ids=", ".join(unknown[:5]))
        return ids

    def move(self, grid_id: str, unit_ids: Iterable[str] | None = None) -> Plan:
        """Move units (the selection by default) to ``grid_id``; roles are recomputed.

        The move is made even when it breaks contiguity or a rule: the check panel flags it.
        Locked units that move stay locked, now to their new grid.
        """
        plan = self._require_plan()
        ids = self._units_or_selection(unit_ids)
        if grid_id not in plan.grid_ids:
            raise WorkspaceError("unknown_grid", grid=grid_id)

        fac = self.effective_layers().facilities
        fu = facility_units(self.layers, fac)
        for gid, lead in plan.leads.items():
            unit = fu.get(str(lead))
            if unit in ids and gid != grid_id:
                raise WorkspaceError("lead_unit", unit=unit, grid=gid, name=self._name(str(lead)))
        costs = self.costs()
        new = move_units(self.layers, plan, ids, grid_id, costs=costs)
        locked = [u for u in ids if u in plan.lock_map]
        if locked:
            new = new.with_locks(locked, grid_id)
        self._push("move", _carry_over(plan, new), n=len(ids), grid=grid_id)
        return self.plan

    def lock(self, unit_ids: Iterable[str] | None = None) -> Plan:
        """Lock units (the selection by default) to the grid they are in now."""
        plan = self._require_plan()
        ids = self._units_or_selection(unit_ids)
        by_grid: dict[str, list[str]] = {}
        for uid in ids:
            by_grid.setdefault(str(plan.assignment[uid]), []).append(uid)
        new = plan
        for gid, members in by_grid.items():
            new = new.with_locks(members, gid)
        self._push("lock", new, n=len(ids))
        return self.plan

    def unlock(self, unit_ids: Iterable[str] | None = None) -> Plan:
        """Unlock units (the selection by default)."""
        plan = self._require_plan()
        ids = self._units_or_selection(unit_ids)
        self._push("unlock", plan.with_locks(ids, None), n=len(ids))
        return self.plan

    # ---- what-if ---------------------------------------------------------------------------
    def _apply_edits(self, edits: tuple[FacilityEdit, ...], action: str,
                     progress: Progress | None = None, **params: object) -> PlanResult | None:
        """Make ``edits`` the active what-if changes and re-plan so the plan reflects them.

        Before the first plan the edits are only remembered. When the re-plan is infeasible (e.g.
        the lead was closed and no other hospital may lead) the edits are still recorded on the
        current plan, so the planner sees the change and the checks that now fail; the result is
        returned for the page to explain.
        """
        if self.plan is None:
            self._pending_edits = edits
            return None
        base = self._base_for_replan(self.plan, edits)
        request = self._request_for(base, edits)
        self.request = request
        self._eff_cache.clear()
        result = replan(self.layers, base, request, costs=self.costs(edits), progress=progress)
        self.last_result = result
        new = _carry_over(base, result.plan) if result.ok else base
        self._push(action, replace(new, edits=edits), **params)
        return result

    def _name(self, facility_id: str) -> str:
        fac = self.effective_layers().facilities
        hit = fac.loc[fac["id"].astype(str) == str(facility_id), "name"]
        return str(hit.iloc[0]) if len(hit) else str(facility_id)

    def _facility(self, facility_id: str) -> pd.Series:
        fac = self.effective_layers().facilities
        hit = fac[fac["id"].astype(str) == str(facility_id)]
        if hit.empty:
            raise WorkspaceError("unknown_facility", id=facility_id)
        return hit.iloc[0]

    def modify_facility(self, facility_id: str, progress: Progress | None = None,
                        **changes: object) -> PlanResult | None:
        """What-if: change columns of a facility (``level="tertiary"``, ``type=...``, ``beds=...``)."""
        row = self._facility(facility_id)
        clean = {k: v for k, v in changes.items() if v is not None and row.get(k) != v}
        if not clean:
            raise WorkspaceError("no_change", id=facility_id)
        if "level" in clean:
            # The level is now the planner's what-if decision, neither read from data nor assumed.
            clean["level_source"] = "what_if"
        edits = _merge_edit(self.edits, FacilityEdit("modify", str(facility_id), tuple(clean.items())))
        return self._apply_edits(edits, "modify", progress, name=str(row.get("name", facility_id)))

    def add_facility(self, name: str, lon: float, lat: float, *, level: str, type_: str,
                     beds: float | None = None, owner_level: str = "municipal",
                     progress: Progress | None = None) -> tuple[str, PlanResult | None]:
        """What-if: a planned facility at a WGS84 location. Returns its new id and the re-plan.

        Raises
        ------
        WorkspaceError
            ``outside_city`` when the location is not inside any population unit; ``empty_name``.
        """
        if not str(name).strip():
            raise WorkspaceError("empty_name")
        if self.unit_at(lon, lat) is None:
            raise WorkspaceError("outside_city", lon=f"{float(lon):.5f}", lat=f"{float(lat):.5f}")
        taken = set(self.layers.facilities["id"].astype(str)) | {e.facility_id for e in self.edits}
        n = 1
        while f"planned-{n}" in taken:
            n += 1
        fid = f"planned-{n}"
        changes: list[tuple[str, object]] = [
            ("name", str(name).strip()), ("lon", float(lon)), ("lat", float(lat)),
            ("level", level), ("type", type_), ("owner_level", owner_level),
            ("beds", float(beds) if beds is not None else float("nan")),
            ("source", "planned"), ("level_source", "data"),
        ]
        edits = self.edits + (FacilityEdit("add", fid, tuple(changes)),)
        return fid, self._apply_edits(edits, "add", progress, name=str(name).strip())

    def close_facility(self, facility_id: str, progress: Progress | None = None) -> PlanResult | None:
        """What-if: the facility is closed (removed from planning)."""
        row = self._facility(facility_id)
        if any(e.action == "add" and e.facility_id == str(facility_id) for e in self.edits):
            # Closing a facility that only exists as a what-if is removing that what-if.
            edits = tuple(e for e in self.edits if e.facility_id != str(facility_id))
        else:
            edits = tuple(e for e in self.edits if e.facility_id != str(facility_id))
            edits += (FacilityEdit("close", str(facility_id)),)
        return self._apply_edits(edits, "close", progress, name=str(row.get("name", facility_id)))

    def convert_facility(self, facility_id: str, target: str,
                         progress: Progress | None = None) -> PlanResult | None:
        """What-if: the G10 conversion ``plan --convert ID=TARGET`` makes (``rehabilitation`` or
        ``nursing``), re-planned; ``not_convertible`` unless a secondary general hospital."""
        row = self._facility(facility_id)
        one = pd.DataFrame([row.to_dict()])
        if target not in CONVERSION_TARGETS or not bool(secondary_general(one).iloc[0]):
            raise WorkspaceError("not_convertible", id=facility_id, name=str(row.get("name", "")))
        edits = _merge_edit(self.edits, conversion_edit(facility_id, target))
        return self._apply_edits(edits, "convert", progress, name=str(row.get("name", facility_id)))

    def remove_edit(self, index: int, progress: Progress | None = None) -> PlanResult | None:
        """Drop the ``index``-th active what-if change and re-plan."""
        edits = list(self.edits)
        if not 0 <= index < len(edits):
            raise WorkspaceError("unknown_edit", index=index)
        gone = edits.pop(index)
        return self._apply_edits(tuple(edits), "remove_edit", progress, id=gone.facility_id)

    def describe_edits(self, lang: str = "zh") -> pd.DataFrame:
        """The active what-if changes as a table (index = position, for :meth:`remove_edit`)."""
        base = self.layers.facilities.set_index(self.layers.facilities["id"].astype(str))
        rows = []
        for e in self.edits:
            vals = e.values
            name = vals.get("name") or (base.loc[e.facility_id, "name"] if e.facility_id in base.index else e.facility_id)
            detail = ", ".join(
                f"{k}: {v}" for k, v in vals.items() if k not in ("name", "lon", "lat", "source", "level_source")
            )
            target = conversion_of(e)  # a G10 conversion says so, its new type in words
            rows.append({
                "action": t("workspace.edit.convert" if target else f"workspace.edit.{e.action}", lang),
                "facility_id": e.facility_id,
                "name": str(name),
                "detail": t(f"vocab.type.{target}", lang) if target else detail,
            })
        return pd.DataFrame(rows, columns=["action", "facility_id", "name", "detail"])

    # ---- roles and checklist ---------------------------------------------------------------
    def change_role(self, facility_id: str, new_role: str, *, reason: str | None = None) -> Plan:
        """Change a facility's role with validation (see :func:`grid_planning.assess.roster.change_role`).

        Raises :class:`grid_planning.assess.roster.RoleChangeError` (with a catalogue key) when invalid.
        """
        plan = self._require_plan()
        new = change_role(self.layers, plan, facility_id, new_role, reason=reason)
        self._push("role", new, id=facility_id, role=new_role)
        return self.plan

    def record(self, grid_lead: str, item: int, status: str, note: str = "") -> Plan:
        """Record a checklist item (1-15) for the grid led by ``grid_lead``."""
        plan = self._require_plan()
        new = record(plan, grid_lead, int(item), status, note)
        self._push("record", new, item=int(item))
        return self.plan

    # ---- history ---------------------------------------------------------------------------
    def _push(self, action: str, plan: Plan, **params: object) -> None:
        self._undo.append(Step(self.plan, action, tuple(params.items())))
        del self._undo[: -self.history_limit]
        self._redo.clear()
        self.plan = plan
        self.revision += 1
        self._sync_request()

    def _sync_request(self) -> None:
        """Locks, edits and recorded exceptions live on the plan; mirror them into the request so
        the next run or re-plan keeps them (and undo brings back the request of that plan)."""
        if self.plan is None:
            return
        plan = self.plan
        g4 = dict(self.request.designated_leads)
        g5 = dict(self.request.g5_waivers)
        g2 = self.request.g2_reason
        for exc in plan.exceptions:
            if exc.rule == "G4":
                g4[exc.subject] = exc.reason
            elif exc.rule == "G5":
                g5[exc.subject] = exc.reason
            elif exc.rule == "G2":
                g2 = exc.reason
        self.request = replace(
            self.request, locks=_locks_to_leads(plan, plan.locks), edits=plan.edits,
            designated_leads=tuple(sorted(g4.items())), g5_waivers=tuple(sorted(g5.items())),
            g2_reason=g2,
        )

    @property
    def can_undo(self) -> bool:
        """Whether there is an action to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone action to redo."""
        return bool(self._redo)

    def undo_label(self, lang: str = "zh") -> str | None:
        """What :meth:`undo` would undo, or ``None``."""
        return self._undo[-1].label(lang) if self._undo else None

    def redo_label(self, lang: str = "zh") -> str | None:
        """What :meth:`redo` would redo, or ``None``."""
        return self._redo[-1].label(lang) if self._redo else None

    def undo(self) -> Plan | None:
        """Go back to the plan before the last action; returns the now current plan."""
        if not self._undo:
            raise WorkspaceError("nothing_to_undo")
        step = self._undo.pop()
        self._redo.append(Step(self.plan, step.action, step.params))
        self.plan = step.plan
        self.revision += 1
        self._sync_request()
        return self.plan

    def redo(self) -> Plan | None:
        """Re-apply the last undone action."""
        if not self._redo:
            raise WorkspaceError("nothing_to_redo")
        step = self._redo.pop()
        self._undo.append(Step(self.plan, step.action, step.params))
        self.plan = step.plan
        self.revision += 1
        self._sync_request()
        return self.plan

    # ---- metrics ---------------------------------------------------------------------------
    def figures(self, lang: str = "zh") -> Figures:
        """Unit, grid and city figures and the policy checks of the current plan, computed once per
        plan content, travel model and language for the whole server (the pages call this on every
        rerun; :data:`SHARED_FIGURES`). The frames are shared: read them, never change them."""

        plan = self._require_plan()
        key = (self.revision, lang, id(plan))
        hit = self._figures.get(key)
        if hit is None:
            # The same plan on the same city gives the same figures in every session: computed
            # once per server (sessions must treat them as read-only).
            shared = content_key("figures", self.layers.fingerprint(), plan_digest(plan),
                                 repr(self.edits), repr(self.request.cost), lang)
            hit = SHARED_FIGURES.get(
                shared, lambda: plan_figures(self.layers, plan, self.costs(), lang=lang, key=shared),
                city=self.layers.fingerprint(),
            )
            self._figures.clear()
            self._figures[key] = hit
        return hit

    # ---- export ----------------------------------------------------------------------------
    def export_file(self, kind: str, lang: str = "zh", **options: Any):
        """The current plan as a download: an :class:`grid_planning.exports.formats.ExportFile` (bytes,
        file name, MIME type).

        Parameters
        ----------
        kind : str
            A format of :data:`grid_planning.exports.formats.FORMATS`: ``gpkg``, ``geojson``, ``shp``,
            ``csv``, ``xlsx``, ``html``, ``png``, ``pdf`` (print map) or ``report``.
        lang : {"zh", "en"}
        **options
            ``paper`` ("A4"/"A3"), ``orientation`` ("landscape"/"portrait") for the print map,
            ``sample`` (cite the sample city's sources), ``source_names``.
        """
        plan = with_request(self._require_plan(), self.request)
        # The figures the pages show (computed once per plan for the server) feed every format;
        # the print map draws without them. The request stored with the plan changes no figure.
        figures = None if kind in PAPER_FORMATS else self.figures(lang)
        return export_plan(self.layers, plan, self.costs(), kind, lang=lang, figures=figures, **options)

    def export_bytes(self, kind: str, lang: str = "zh", **options: Any) -> bytes:
        """The bytes of :meth:`export_file` (``"gpkg"`` is the plan GeoPackage of
        ``data-format.md``, ``"xlsx"`` the tables for approval documents)."""
        return self.export_file(kind, lang, **options).data

    # ---- scenarios -------------------------------------------------------------------------
    def save(self, store: ScenarioStore, name: str, *, note: str = "", overwrite: bool = False,
             user: User | None = None) -> int:
        """Save the current plan (with its locks, exceptions, edits and checklist) as a scenario,
        with the fingerprints of each layer and the grid outlines (see :meth:`ScenarioStore.save`)."""
        plan = with_request(self._require_plan(), self.request)
        return store.save(name, plan, city=self.layers.name, city_fingerprint=self.layers.fingerprint(),
                          note=note, overwrite=overwrite, user=user,
                          layer_fingerprints=layer_fingerprints(self.layers),
                          outlines=grid_outlines(self.layers, plan))

    def load(self, store: ScenarioStore, scenario: int | str) -> Plan:
        """Load a saved scenario as the current plan (undoable).

        When the layers in use differ from those the scenario was saved on (but have the same
        units), the plan is loaded and :attr:`loaded` says which parts changed.

        Raises
        ------
        WorkspaceError
            ``other_city`` when the scenario's units are not this city's units.
        """
        info = store.info(scenario)
        plan = store.load(info.id)
        changed: tuple[str, ...] = ()
        if info.city_fingerprint != self.layers.fingerprint():
            units = set(self.layers.units["id"].astype(str))
            if set(plan.assignment.index.astype(str)) != units:
                raise WorkspaceError("other_city", name=info.name)
            changed = changed_parts(info.layer_fingerprints, layer_fingerprints(self.layers)) or ("layers",)
        self._push("load", plan, name=info.name)
        # A request this version cannot read (a newer tool's, a damaged store) is left as it was:
        # the plan still loads, and its locks, exceptions and edits come over below.
        with contextlib.suppress(ValueError):
            self.request = request_from_plan(plan, self.request)
        self.request_revision += 1
        self._sync_request()
        self.selection = ()
        self.loaded = LoadedScenario(info.id, info.name, changed, self.revision)
        return self.plan

    @property
    def loaded_scenario(self) -> LoadedScenario | None:
        """The scenario last opened, while the plan on screen is still the one it loaded."""
        hit = self.loaded
        return hit if hit is not None and hit.revision == self.revision else None


@dataclass(frozen=True)
class LoadedScenario:
    """Which scenario the current plan came from, and which layers changed since it was saved.

    Attributes
    ----------
    id : int
    name : str
    changed : tuple of str
        Parts of the layers that differ (``units``, ``facilities``, ``roads``, ``crs``, or
        ``layers`` when the scenario cannot say which); empty when it was made on these layers.
    revision : int
        The workspace revision it was loaded at (a later edit makes it no longer "the" scenario).
    """

    id: int
    name: str
    changed: tuple[str, ...]
    revision: int


def default_k(layers: CityLayers) -> int:
    """A sensible first k: a handful of grids (4), never more than the eligible leads allow,
    never fewer than 2 (G2)."""
    n = len(eligible_leads(layers.facilities, PlanRequest(k=MIN_GRIDS), layers))
    return max(MIN_GRIDS, min(4, n))


def first_request(layers: CityLayers, costs: CostMatrix | None = None) -> tuple[PlanRequest, BalanceAdvice]:
    """The request a new workspace starts from, and the balance advice behind it.

    k is :func:`default_k`; population balance is on at the tightest tolerance of
    :data:`~grid_planning.domain.request.BALANCE_CHOICES` the city meets at that k
    (:func:`~grid_planning.planning.planner.suggest_balance`), off only when none does or the city cannot
    be planned without exceptions yet. Unbalanced, the sample city's k = 4 plan puts 7.0 M
    residents in one grid and 1.55 M in another: not a plan anyone would present.
    """
    request = PlanRequest(k=default_k(layers))
    advice = suggest_balance(layers, request, costs=costs)
    if advice.tolerance is not None:
        request = replace(request, balance=advice.tolerance)
    return request, advice


# ---- helpers -------------------------------------------------------------------------------
def _locks_to_leads(plan: Plan, locks: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Plan locks are (unit, grid id); requests lock to a lead (grid ids change on re-plan)."""
    out = []
    for uid, gid in locks:
        if gid in plan.leads.index:
            out.append((str(uid), str(plan.leads[gid])))
        else:
            out.append((str(uid), str(gid)))  # already a lead id
    return tuple(out)


def _carry_over(old: Plan, new: Plan) -> Plan:
    """Keep what the planner recorded (checklist) on a recomputed plan."""
    if old.checklist and not new.checklist:
        new = replace(new, checklist=old.checklist)
    return new


def _merge_edit(edits: tuple[FacilityEdit, ...], edit: FacilityEdit) -> tuple[FacilityEdit, ...]:
    """Fold a ``modify`` into an existing change of the same facility (one row per facility)."""
    out = list(edits)
    for i, e in enumerate(out):
        if e.facility_id == edit.facility_id and e.action in ("modify", "add"):
            merged = e.values | edit.values
            out[i] = FacilityEdit(e.action, e.facility_id, tuple(merged.items()))
            return tuple(out)
    return tuple(out) + (edit,)
