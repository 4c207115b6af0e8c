"""Whether a plan keeps the policy's rules: one :class:`CheckResult` per rule and subject.

Rules G1-G8 of ``policy.md`` each give a :class:`CheckResult` that names the grid or lead and says
why; G2, G4 and G5 accept a recorded "in principle" exception and then report "passed by exception:
<reason>", never a silent pass. G6 and G7 pass or fail where the data holds facilities they speak
of and say "no content" otherwise. Contiguity and the plan's own request are reported as well.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from grid_planning.base.i18n import DEFAULT_LANGUAGE, listed, t
from grid_planning.base.numfmt import integer
from grid_planning.city.demand import DemandError, unit_demand, weighted
from grid_planning.city.planview import (
    assignment_for,
    effective_facilities,
    fac_table,
    grid_values,
    plan_roles,
    split_ids,
    str_ids,
)
from grid_planning.domain import rules
from grid_planning.domain.request import balance_band, balance_deviation, request_from_plan

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan

#: The statuses a result takes (defined once, in :mod:`grid_planning.domain.rules`).
STATUSES = rules.STATUSES


# ---- policy checks --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckResult:
    """The outcome of one rule for the city or one grid.

    Attributes
    ----------
    rule : str
        ``"G1"`` ... ``"G5"``, ``"G8"`` or ``"contiguity"``.
    status : {"pass", "fail", "exception", "warning"}
        ``exception`` = passed by a recorded "in principle" exception; ``warning`` does not fail
        the plan but must be seen (assumed lead level, a grid in several pieces ...).
    code : str
        Catalogue key suffix: the message is ``plan.check.<code>``.
    params : dict
        Values for the message (grid, lead, names, counts, reason ...).
    grid_id : str or None
        The grid concerned, ``None`` for city-wide results.
    """

    rule: str
    status: str
    code: str
    params: dict = field(default_factory=dict)
    grid_id: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")
        if self.rule not in rules.RULES:
            raise ValueError(f"unknown rule {self.rule!r}")

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The result in words; an exception shows its reason."""
        params = self.params
        if "ineligible" in params:  # what keeps a lead from G4, in the reader's language
            params = params | {"why": why_text(params, lang)}
        if "g9_error" in params:  # the G9 figures' problem, worded once (city.demand)
            params = params | {"detail": DemandError(params["g9_error"], **params).message(lang)}
        # A count of people reads as on every page (12,326,518), not as stored (12326518).
        params = {k: integer(v, lang) if isinstance(v, int | float) and not isinstance(v, bool)
                  and abs(v) >= 1_000 else v for k, v in params.items()}
        # Ids listed as one enumeration of the reader's language (A、B in Chinese), the rest
        # counted; plan files of earlier versions hold them joined already, shown as they are.
        params |= {k: listed(v, lang) + (t("plan.check.more", lang, n=params[f"{k}_more"])
                                         if f"{k}_more" in params else "")
                   for k, v in params.items() if isinstance(v, list | tuple)}
        return t(f"plan.check.{self.code}", lang, **params)

    def status_text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """``pass`` / ``passed by exception`` ... in words."""
        return t(f"plan.status.{self.status}", lang)

    def as_row(self, lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
        """A table row: rule, grid, status, message."""
        return {
            "rule": self.rule,
            "grid_id": self.grid_id or "",
            "status": self.status,
            "status_text": self.status_text(lang),
            "message": self.message(lang),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored in the plan GeoPackage)."""
        return {
            "rule": self.rule,
            "status": self.status,
            "code": self.code,
            "params": self.params,
            "grid_id": self.grid_id,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> CheckResult:
        """Inverse of :meth:`to_dict`."""
        return CheckResult(
            data["rule"],
            data["status"],
            data["code"],
            dict(data.get("params") or {}),
            data.get("grid_id"),
        )


def all_passed(results: list[CheckResult]) -> bool:
    """True when no check failed (every rule passed, or passed by a recorded exception).

    Warnings (an assumed lead level) are shown but do not fail the plan. A grid in several pieces
    or with no units fails: a hand edit may make one (and is allowed), but a plan that goes for
    approval must follow geography, so ``check`` exits 1 until it is mended.
    """
    return rules.status_counts(results)["fail"] == 0


def checks_table(results: list[CheckResult], lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The results as a table (rule, grid_id, status, status_text, message)."""
    return pd.DataFrame(
        [r.as_row(lang) for r in results],
        columns=["rule", "grid_id", "status", "status_text", "message"],
    )


#: Ids (or names) a check message lists; the rest are counted ("(+3)").
SHOWN_IDS = 5


def _ids(key: str, ids: list[str]) -> dict[str, Any]:
    """Message values listing ``ids``: the first :data:`SHOWN_IDS` under ``key`` (a list, joined
    in the reader's language when the message is read) and how many more under ``key_more``."""
    ids = [str(i) for i in ids]
    more = len(ids) - SHOWN_IDS
    return {key: ids[:SHOWN_IDS]} | ({f"{key}_more": more} if more > 0 else {})


def _population(units: pd.DataFrame) -> pd.Series:
    return pd.Series(
        pd.to_numeric(units["population"], errors="coerce").fillna(0).to_numpy(float),
        index=pd.Index(str_ids(units["id"]), dtype=object),  # object: read back without a copy
    )


def check_policy(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None) -> list[CheckResult]:
    """Check a plan against rules G1-G8 (plus contiguity and the plan's own request).

    Parameters
    ----------
    layers : CityLayers
        The city (source layers; the plan's facility edits are applied here).
    plan : Plan
        The plan to check.
    costs : CostMatrix, optional
        Not needed by the rules; accepted so callers can pass what they have.

    Returns
    -------
    list of CheckResult
        City-wide results first (G1, G2, G3 shared leads, G6, G7, G8), then per grid (G3, G4,
        G5, contiguity), then the request, each naming the grid or lead and why.
    """
    del costs  # the rules are about the layout, not travel times
    facilities = effective_facilities(layers, plan)
    fac = fac_table(facilities)
    roles = plan_roles(plan)
    leads = pd.Series(
        {str(g): ("" if pd.isna(f) else str(f)) for g, f in plan.leads.items()}, dtype=object
    )
    grids = list(leads.index)
    results: list[CheckResult] = []
    pop = _population(layers.units)  # read once for G1 and the request (100,000 ids: ~0.03 s)
    results += _check_g1(layers, plan, grids, pop)
    results += _check_g2(plan, grids)
    results += _check_g3_city(fac, leads)

    assignment = assignment_for(layers, plan)
    # the same dict as to_dict() (str ids, str or None grids), without boxing 100,000 values
    unit_grid = dict(zip(assignment.index.tolist(), assignment.tolist(), strict=True))
    location = layers.index.locate(facilities)
    unit_ids = layers.index.unit_ids
    fu = pd.Series(unit_ids.to_numpy()[location.unit], index=location.ids)
    fu = fu[~fu.index.duplicated()]
    first = ~location.ids.duplicated()
    outside = pd.Series(location.outside[first], index=location.ids[first])
    distance = pd.Series(location.distance_m[first], index=location.ids[first])
    eligible = pd.Series(
        rules.g4_leads_by_data(facilities, location.outside).to_numpy()[first],
        index=location.ids[first],
    )
    designatable = pd.Series(
        rules.g4_designatable(facilities, location.outside).to_numpy()[first],
        index=location.ids[first],
    )
    lead_ids = {f for f in leads if f}
    lies_in = {fid: unit_grid.get(unit) for fid, unit in fu.items()}
    results += _check_g6(facilities, fac, roles, lies_in, location.outside, lead_ids)
    results += _check_g7(facilities, fac, roles, lies_in, location.outside, lead_ids, set(grids))
    results += _check_g8(fac, roles, leads, plan)
    labels = np.asarray([g if g is not None else "" for g in assignment], dtype=object)
    contiguity = layers.index.contiguity(labels)
    by_whatif = whatif_eligible_ids(layers, facilities) if getattr(plan, "edits", ()) else set()
    for grid in grids:
        lead = leads[grid]
        name = _name(fac, lead)
        results += _check_g3_grid(grid, lead, name, fac, roles)
        if lead and lead in fac.index:
            results += _check_g4(
                grid,
                lead,
                name,
                fac.loc[lead],
                plan,
                unit_grid,
                fu,
                bool(outside.get(lead, False)),
                bool(eligible.get(lead, False)),
                bool(designatable.get(lead, False)),
                lead in by_whatif,
                float(distance.get(lead, 0.0)),
            )
            results.append(_check_g5(grid, lead, name, fac, roles, plan, outside))
        results.append(_check_contiguity(grid, name, contiguity))
    results += check_request(
        layers, plan, facilities=facilities, fu=fu, unit_grid=unit_grid, population=pop
    )
    return results


#: A grid may sit this little (relative) outside the balance band: rounding, not a breach.
_BALANCE_SLACK = 1e-9


def check_request(
    layers: CityLayers,
    plan: Plan,
    *,
    facilities: pd.DataFrame | None = None,
    fu: pd.Series | None = None,
    unit_grid: dict | None = None,
    population: pd.Series | None = None,
) -> list[CheckResult]:
    """Re-verify what the plan's own request asked for (rule ``request``): the balance tolerance,
    the minimum beds per 1,000 residents in every grid (collaborators' beds excluded, facilities
    counted in the grid of the unit they lie in, as the planner counts them), every lock, every
    fixed lead (leads a grid) and every excluded lead (leads none). One result per requirement
    asked, so ``check`` says which the plan was asked to meet; ``request_none`` when none was.
    A plan file edited after planning is judged against the request it stands with.
    ``population`` (residents by unit id, as the layers give them) spares reading them again
    when the caller has them.
    """
    try:
        req = request_from_plan(plan)
    except ValueError as exc:
        return [CheckResult("request", "fail", "request_unreadable", {"detail": str(exc)})]
    if facilities is None:
        facilities = effective_facilities(layers, plan)
    if unit_grid is None:
        unit_grid = assignment_for(layers, plan).to_dict()
    if fu is None:
        location = layers.index.locate(facilities)
        fu = pd.Series(layers.index.unit_ids.to_numpy()[location.unit], index=location.ids)
        fu = fu[~fu.index.duplicated()]
    leads = {str(g): ("" if pd.isna(f) else str(f)) for g, f in plan.leads.items()}
    grid_of_lead = {f: g for g, f in leads.items() if f}
    out: list[CheckResult] = []
    pop = _population(layers.units) if population is None else population
    if weighted(req) and req.balance is not None:
        # G9: the balance asked for is a balance of weighted demand, as the planner made it.
        try:
            pop = pd.Series(unit_demand(layers, req), index=layers.index.unit_ids)
        except DemandError as exc:
            return [CheckResult("G9", "fail", "g9_data", {"g9_error": exc.code} | exc.params)]
    grid_pop = _grid_population(unit_grid, pop, list(leads))
    if req.balance is not None and grid_pop:
        mean = sum(grid_pop.values()) / len(grid_pop)
        lo, hi = balance_band(mean, req.balance)
        slack = _BALANCE_SLACK * max(mean, 1.0)
        outside = {g: v for g, v in grid_pop.items() if not lo - slack <= v <= hi + slack}
        worst = max(grid_pop, key=lambda g: abs(grid_pop[g] - mean))
        dev = float(balance_deviation(grid_pop[worst], mean)) if mean > 0 else 0.0
        p = {"tolerance": f"{req.balance:.0%}", "worst": worst, "dev": f"{dev:+.1%}",
             **_ids("grids", sorted(outside)), "count": len(outside)}
        code = "request_demand_balance" if weighted(req) else "request_balance"
        out.append(CheckResult("request", "fail" if outside else "pass",
                               f"{code}_fail" if outside else f"{code}_ok", p))
    if req.min_beds_per_1000:
        beds_of = rules.grid_beds(fac_table(facilities))
        grid_beds = {g: 0.0 for g in leads}
        for fid, unit in fu.items():
            grid = unit_grid.get(unit)
            if grid in grid_beds and fid in beds_of.index:
                grid_beds[grid] += float(beds_of.loc[fid])
        per = {g: (grid_beds[g] * 1000.0 / grid_pop[g] if grid_pop[g] > 0 else np.inf)
               for g in grid_beds}
        low = sorted(g for g, v in per.items() if v < req.min_beds_per_1000 - 1e-9)
        lowest = min(per, key=per.get) if per else "-"
        p = {"value": f"{req.min_beds_per_1000:g}", **_ids("grids", low), "count": len(low),
             "lowest": lowest, "lowest_value": f"{per.get(lowest, 0.0):.2f}"}
        out.append(CheckResult("request", "fail" if low else "pass",
                               "request_beds_fail" if low else "request_beds_ok", p))
    for unit, lead in req.locks:
        grid = unit_grid.get(str(unit))
        p = {"unit": str(unit), "lead": str(lead), "grid": grid or "-",
             "expected": grid_of_lead.get(str(lead), "-")}
        ok = grid is not None and leads.get(grid) == str(lead)
        out.append(CheckResult("request", "pass" if ok else "fail",
                               "request_lock_ok" if ok else "request_lock_fail", p, grid))
    for fid in req.fixed_leads:
        grid = grid_of_lead.get(str(fid))
        code = "request_fixed_ok" if grid else "request_fixed_fail"
        out.append(CheckResult("request", "pass" if grid else "fail", code,
                               {"lead": str(fid), "grid": grid or "-"}, grid))
    for fid in req.excluded_leads:
        grid = grid_of_lead.get(str(fid))
        code = "request_excluded_fail" if grid else "request_excluded_ok"
        out.append(CheckResult("request", "fail" if grid else "pass", code,
                               {"lead": str(fid), "grid": grid or "-"}, grid))
    if not out:
        out.append(CheckResult("request", "pass", "request_none", {}))
    return out


def _grid_population(unit_grid: dict, pop: pd.Series, grids: list[str]) -> dict[str, float]:
    """Residents per grid, adding the units in ``unit_grid``'s order (a unit unknown to ``pop``
    counts 0). One bincount, not a lookup per unit: a city of 100,000 units took 1.5 s."""
    if not pop.index.is_unique:
        out = {g: 0.0 for g in grids}
        for unit, grid in unit_grid.items():
            if grid in out:
                out[grid] += float(pop.get(unit, 0.0))
        return out
    values = pop.reindex(pd.Index(list(unit_grid), dtype=object)).fillna(0.0).to_numpy(float)
    code = pd.Index(grids, dtype=object).get_indexer(pd.Index(list(unit_grid.values()), dtype=object))
    held = code >= 0
    sums = np.bincount(code[held], weights=values[held], minlength=len(grids))
    return {g: float(sums[i]) for i, g in enumerate(grids)}


def _check_contiguity(grid: str, name: str, contiguity: pd.DataFrame) -> CheckResult:
    """One grid in one piece on the adjacency graph (:meth:`CityIndex.contiguity`)."""
    n_parts = int(contiguity["parts"].get(grid, 0))
    islands = int(contiguity["linked_islands"].get(grid, 0))
    p = {"grid": grid, "lead_name": name}
    if n_parts == 1 and islands:
        return CheckResult(
            "contiguity", "pass", "contiguity_islands", p | {"islands": islands}, grid
        )
    if n_parts == 1:
        return CheckResult("contiguity", "pass", "contiguity_ok", p, grid)
    if n_parts == 0:
        return CheckResult("contiguity", "fail", "contiguity_empty", p, grid)
    return CheckResult("contiguity", "fail", "contiguity_broken", p | {"parts": n_parts}, grid)


def _name(fac: pd.DataFrame, fid: str) -> str:
    return str(fac.at[fid, "name"]) if fid in fac.index and "name" in fac.columns else fid


def _check_g1(
    layers: CityLayers, plan: Plan, grids: list[str], pop: pd.Series | None = None
) -> list[CheckResult]:
    if pop is None:
        pop = _population(layers.units)
    grid_of = grid_values(plan.assignment)
    ids = str_ids(plan.assignment.index)
    raw = pd.Series(np.where(pd.isna(grid_of), "", grid_of),
                    index=pd.Index(ids, dtype=object), dtype=object)
    out: list[CheckResult] = []
    dup = sorted(set(raw.index[raw.index.duplicated()]))
    if dup:
        out.append(
            CheckResult("G1", "fail", "g1_duplicate", {"count": len(dup), **_ids("ids", dup)})
        )
    # The plan lists every unit once, in layer order (every plan the planner makes): no unit is
    # unknown, and the units a valid grid holds are read by position, not looked up by id.
    unit_np = pop.index.to_numpy(dtype=object)
    in_order = not dup and pop.index.is_unique and np.array_equal(ids, unit_np)
    unknown_units = [] if in_order else sorted(set(raw.index[~raw.index.isin(pop.index)]))
    if unknown_units:
        out.append(
            CheckResult(
                "G1",
                "fail",
                "g1_unknown_unit",
                {"count": len(unknown_units), **_ids("ids", unknown_units)},
            )
        )
    held = raw.isin(grids)
    bad_grid = raw[(raw != "") & ~held]
    if len(bad_grid):
        out.append(
            CheckResult(
                "G1",
                "fail",
                "g1_unknown_grid",
                {"count": len(bad_grid), **_ids("grids", sorted(set(bad_grid)))},
            )
        )
    total = float(pop.sum())
    if in_order:
        mask = held.to_numpy(dtype=bool)
        missing = unit_np[~mask].tolist()
        assigned = float(pd.Series(pop.to_numpy()[mask]).fillna(0).sum())
    else:
        valid = raw[held]
        valid = valid[~valid.index.duplicated(keep="first")]
        unit_ids = pd.Index(pop.index, dtype=object)
        missing = unit_ids[~unit_ids.isin(valid.index)].tolist()
        assigned = float(pop.reindex(valid.index).fillna(0).sum())
    if missing:
        out.append(
            CheckResult(
                "G1",
                "fail",
                "g1_unassigned",
                {
                    "count": len(missing),
                    **_ids("ids", missing),
                    "shortfall": round(total - assigned),
                    "population": round(total),
                },
            )
        )
    if not out:
        out.append(
            CheckResult("G1", "pass", "g1_ok", {"n_units": len(pop), "population": round(total)})
        )
    return out


def _check_g2(plan: Plan, grids: list[str]) -> list[CheckResult]:
    k = len(grids)
    if k >= rules.MIN_GRIDS:
        return [CheckResult("G2", "pass", "g2_ok", {"k": k})]
    exc = plan.exception_for("G2", "city")
    if exc is not None:
        return [CheckResult("G2", "exception", "g2_exception", {"k": k, "reason": exc.reason})]
    return [CheckResult("G2", "fail", "g2_fail", {"k": k})]


def _check_g3_city(fac: pd.DataFrame, leads: pd.Series) -> list[CheckResult]:
    out = []
    named = leads[leads != ""]
    for lead, grids in named.groupby(named).groups.items():
        if len(grids) > 1:
            out.append(
                CheckResult(
                    "G3",
                    "fail",
                    "g3_shared_lead",
                    {
                        "lead": lead,
                        "lead_name": _name(fac, lead),
                        "grids": ", ".join(map(str, grids)),
                    },
                )
            )
    return out


def _check_g3_grid(
    grid: str, lead: str, name: str, fac: pd.DataFrame, roles: pd.DataFrame
) -> list[CheckResult]:
    p = {"grid": grid, "lead": lead, "lead_name": name}
    if not lead:
        return [CheckResult("G3", "fail", "g3_no_lead", p, grid)]
    if lead not in fac.index:
        return [CheckResult("G3", "fail", "g3_lead_unknown", p, grid)]
    others = [
        f for f in roles.index[(roles["role"] == "lead") & (roles["grid_id"] == grid)] if f != lead
    ]
    if others:
        return [CheckResult("G3", "fail", "g3_two_leads", p | _ids("others", others), grid)]
    if lead in roles.index and (
        roles.at[lead, "role"] != "lead" or roles.at[lead, "grid_id"] != grid
    ):
        return [
            CheckResult(
                "G3",
                "fail",
                "g3_role_mismatch",
                p | {"role": roles.at[lead, "role"], "role_grid": roles.at[lead, "grid_id"]},
                grid,
            )
        ]
    return [CheckResult("G3", "pass", "g3_ok", p, grid)]


#: Facility column -> catalogue prefix of its value labels (``vocab.<prefix>.<code>``).
_VOCAB_PREFIX = {"level": "level", "type": "type", "owner_level": "owner"}


def why_text(params: dict, lang: str) -> str:
    """Why a hospital cannot lead (G4): ``params["ineligible"]`` names the fields, each with its
    value in ``params``; ``level=secondary, type=specialty`` in English, the vocabulary labels in
    Chinese (checks, and a refused designation)."""
    parts = []
    for col in params["ineligible"]:
        if col == "location" and "distance_m" in params:
            parts.append(t("plan.check.outside_by_m", lang, distance_m=params["distance_m"],
                           tolerance_m=params.get("tolerance_m", "")))
            continue
        if col in ("location", "parent_id"):  # not a value: a fact about the hospital
            parts.append(t(f"plan.check.why_{col}", lang))
            continue
        value = str(params.get(col, ""))
        label = t(f"vocab.{_VOCAB_PREFIX.get(col, col)}.{value}", lang) if lang != "en" else value
        parts.append(
            t("plan.check.why_item", lang, field=t(f"plan.check.field.{col}", lang), value=label)
        )
    return t("plan.check.why_sep", lang).join(parts)


#: A lead this far or farther outside every unit (but within the outside tolerance) is reported
#: with its distance; closer is the precision of coordinates, not a place.
_NEAR_BOUNDARY_M = 1.0


def _check_g4(
    grid: str,
    lead: str,
    name: str,
    row: pd.Series,
    plan: Plan,
    unit_grid: dict,
    fu: pd.Series,
    outside: bool,
    eligible: bool,
    designatable: bool,
    by_whatif: bool = False,
    distance_m: float = 0.0,
) -> list[CheckResult]:
    """G4: the lead lies in its grid, inside the city, and is eligible (:mod:`grid_planning.domain.rules`)
    or designated under a recorded exception — which only a designatable hospital can have.

    A lead eligible only because a what-if edit changed its owner, type or level
    (:func:`whatif_eligible_ids`) is an exception: it passes by exception with its recorded
    reason, and fails without one.

    A lead outside the city's units is reported with its distance (``distance_m``) and the
    tolerance (:func:`rules.outside_city_m`): beyond it the lead is outside the city (an
    exception, or a failure); within it an eligible lead is taken as inside but warned about, never
    passed silently."""
    p = {
        "grid": grid,
        "lead": lead,
        "lead_name": name,
        "level": row["level"],
        "type": row["type"],
        "owner_level": row["owner_level"],
        "distance_m": f"{distance_m:,.0f}",
        "tolerance_m": f"{rules.outside_city_m():,.0f}",
    }
    out = []
    unit = fu.get(lead) if lead in fu.index else None
    located = unit_grid.get(unit) if unit is not None else None
    if located != grid:
        out.append(
            CheckResult(
                "G4",
                "fail",
                "g4_outside",
                p | {"unit": unit or "-", "located": located or "-"},
                grid,
            )
        )
    exc = plan.exception_for("G4", lead)
    if eligible and by_whatif:
        if exc is not None:
            out.append(CheckResult("G4", "exception", "g4_exception_whatif", p | {"reason": exc.reason}, grid))
        else:
            out.append(CheckResult("G4", "fail", "g4_whatif_no_reason", p, grid))
    elif eligible and str(row.get("level_source", "data")) == "assumed":
        out.append(CheckResult("G4", "warning", "g4_assumed", p, grid))
    elif eligible and distance_m >= _NEAR_BOUNDARY_M:
        out.append(CheckResult("G4", "warning", "g4_near_boundary", p, grid))
    elif eligible:
        out.append(CheckResult("G4", "pass", "g4_ok", p, grid))
    elif exc is not None and designatable:
        code = "g4_exception_outside" if outside else "g4_exception"
        out.append(CheckResult("G4", "exception", code, p | {"reason": exc.reason}, grid))
    else:
        fields = rules.g4_ineligible_fields(row, outside=outside)
        code = "g4_not_designatable" if exc is not None else "g4_ineligible"
        out.append(CheckResult("G4", "fail", code, p | {"ineligible": fields}, grid))
    return out


def whatif_eligible_ids(layers: CityLayers, facilities: pd.DataFrame) -> set[str]:
    """Ids of the facilities that lead by the data (G4) only after what-if edits: eligible by
    :func:`rules.g4_eligible` (owner, type, level) in ``facilities`` (the edited ones) but not in
    ``layers.facilities`` (the source). Such a lead is
    a G4 exception and needs a written reason (issue 15 item 2). A facility added by an edit (a
    planned hospital) is judged by its own data, as any other."""
    if facilities is layers.facilities:
        return set()
    after_ids = set(facilities.loc[rules.g4_eligible(facilities).to_numpy(), "id"].astype(str))
    source = layers.facilities
    before_ids = set(source.loc[rules.g4_eligible(source).to_numpy(), "id"].astype(str))
    source_ids = set(source["id"].astype(str))
    return (after_ids & source_ids) - before_ids


def _check_g5(
    grid: str,
    lead: str,
    name: str,
    fac: pd.DataFrame,
    roles: pd.DataFrame,
    plan: Plan,
    outside: pd.Series,
) -> CheckResult:
    """G5: a member of the grid (not its lead, not a collaborator, inside the city) qualifies
    under :func:`grid_planning.domain.rules.g5_member` (the definition the planner counts by)."""
    p = {"grid": grid, "lead": lead, "lead_name": name}
    ids = [f for f in roles.index[roles["grid_id"] == grid] if f in fac.index and f != lead]
    cand = fac.loc[ids].reset_index(names="id") if ids else fac.iloc[0:0].reset_index(names="id")
    member = rules.g5_member(
        cand, [bool(outside.get(f, False)) for f in ids], roles.loc[ids, "role"].tolist()
    )
    hits = cand[member.to_numpy()] if len(cand) else cand
    if len(hits):
        return CheckResult(
            "G5",
            "pass",
            "g5_ok",
            p | {"count": len(hits), "example": str(hits["name"].iloc[0])},
            grid,
        )
    exc = plan.exception_for("G5", lead)
    if exc is not None:
        return CheckResult("G5", "exception", "g5_exception", p | {"reason": exc.reason}, grid)
    return CheckResult("G5", "fail", "g5_fail", p, grid)


def _check_g8(
    fac: pd.DataFrame, roles: pd.DataFrame, leads: pd.Series, plan: Plan
) -> list[CheckResult]:
    """G8: provincial and national hospitals are collaborators; one that leads a grid does so
    only by a G4 exception, and says so here too."""
    frame = fac.reset_index(names="id")
    provincial = frame.loc[rules.collaborator_owner(frame).to_numpy(), "id"].tolist()
    lead_grid = {str(f): str(g) for g, f in leads.items() if f}
    out = []
    misplaced = []
    for fid in provincial:
        if fid in lead_grid:
            exc = plan.exception_for("G4", fid)
            p = {"grid": lead_grid[fid], "lead": fid, "lead_name": _name(fac, fid)}
            if exc is not None:
                out.append(
                    CheckResult(
                        "G8", "exception", "g8_leads_by_exception", p | {"reason": exc.reason},
                        lead_grid[fid],
                    )
                )
            continue  # without an exception G4 fails for it
        role = roles.at[fid, "role"] if fid in roles.index else ""
        if role not in ("collaborator", "outside"):  # one outside the city is no grid's concern
            misplaced.append(fid)
    if misplaced:
        out.append(
            CheckResult(
                "G8",
                "warning",
                "g8_not_collaborator",
                {
                    "count": len(misplaced),
                    **_ids("ids", misplaced),
                    **_ids("names", [_name(fac, f) for f in misplaced]),
                },
            )
        )
    collab = roles[roles["role"] == "collaborator"]
    orphan = [f for f in collab.index if not split_ids(collab.at[f, "supports"])]
    if orphan:
        out.append(
            CheckResult(
                "G8", "warning", "g8_no_support", {"count": len(orphan), **_ids("ids", orphan)}
            )
        )
    if not out:
        if len(collab):
            out.append(CheckResult("G8", "pass", "g8_ok", {"count": len(collab)}))
        else:
            out.append(CheckResult("G8", "pass", "g8_none", {}))
    return out


def _subjects(facilities: pd.DataFrame, mask: pd.Series, lead_ids: set[str]) -> list[str]:
    ids = facilities.loc[mask.to_numpy(), "id"].astype(str)
    return [f for f in dict.fromkeys(ids) if f not in lead_ids]


def _check_g6(
    facilities: pd.DataFrame,
    fac: pd.DataFrame,
    roles: pd.DataFrame,
    lies_in: dict,
    outside: np.ndarray,
    lead_ids: set[str],
) -> list[CheckResult]:
    """G6: every primary-care facility inside the city (:func:`rules.g6_facilities`) is primary
    care of the grid it lies in (by the plan's units, not the stored roles); "no content" when the
    data holds none."""
    ids = _subjects(facilities, rules.g6_facilities(facilities, outside), lead_ids)
    if not ids:
        return [CheckResult("G6", "pass", "g6_none", {})]
    bad = [
        f for f in ids
        if f not in roles.index
        or roles.at[f, "role"] != "primary"
        or not lies_in.get(f)
        or roles.at[f, "grid_id"] != lies_in.get(f)
    ]
    if bad:
        return [CheckResult("G6", "fail", "g6_fail", {
            "count": len(bad), "total": len(ids), **_ids("ids", bad),
            **_ids("names", [_name(fac, f) for f in bad])})]
    grids = {lies_in[f] for f in ids}
    return [CheckResult("G6", "pass", "g6_ok", {"count": len(ids), "grids": len(grids)})]


def _check_g7(
    facilities: pd.DataFrame,
    fac: pd.DataFrame,
    roles: pd.DataFrame,
    lies_in: dict,
    outside: np.ndarray,
    lead_ids: set[str],
    grids: set[str],
) -> list[CheckResult]:
    """G7: every maternal-child, public-health, rehabilitation or nursing institution inside the
    city (:func:`rules.g7_facilities`) keeps the grid it lies in as its home (as a cross-grid
    institution or a member; one made a collaborator is the planner's G8 choice), and a cross-grid
    one serves its home grid and only grids of the plan; "no content" when the data holds none."""
    ids = _subjects(facilities, rules.g7_facilities(facilities, outside), lead_ids)
    if not ids:
        return [CheckResult("G7", "pass", "g7_none", {})]
    bad, serving = [], 0
    for f in ids:
        role = roles.at[f, "role"] if f in roles.index else ""
        if role == "collaborator":
            continue
        home = lies_in.get(f)
        ok = role in ("cross_grid", "member") and bool(home) and roles.at[f, "grid_id"] == home
        if ok and role == "cross_grid":
            supports = split_ids(roles.at[f, "supports"])
            ok = home in supports and set(supports) <= grids
            serving += len(set(supports) - {home}) > 0
        if not ok:
            bad.append(f)
    if bad:
        return [CheckResult("G7", "fail", "g7_fail", {
            "count": len(bad), "total": len(ids), **_ids("ids", bad),
            **_ids("names", [_name(fac, f) for f in bad])})]
    return [CheckResult("G7", "pass", "g7_ok", {"count": len(ids), "serving": serving})]


#: Each rule's check over a plan (:func:`check_policy` runs them in this order). G6 and G7 also
#: decide roles (:func:`grid_planning.assess.roster.assign_roles`); their checks verify the plan
#: keeps them.
RULE_CHECKS: dict[str, tuple[Callable[..., Any], ...]] = {
    rules.G1.id: (_check_g1,),
    rules.G2.id: (_check_g2,),
    rules.G3.id: (_check_g3_city, _check_g3_grid),
    rules.G4.id: (_check_g4,),
    rules.G5.id: (_check_g5,),
    rules.G6.id: (_check_g6,),
    rules.G7.id: (_check_g7,),
    rules.G8.id: (_check_g8,),
    rules.CONTIGUITY.id: (_check_contiguity,),
    rules.REQUEST.id: (check_request,),
}


def checks_json(results: list[CheckResult]) -> str:
    """Results as JSON (kept in the plan GeoPackage's ``plan_meta``)."""
    return json.dumps([r.to_dict() for r in results], ensure_ascii=False, default=str)
