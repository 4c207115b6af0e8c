"""Plans that keep every district whole (``plan --whole-districts``, ``--admin-units``).

The city is planned with each district as one unit: its travel minutes to a facility are the
population-weighted mean of its units' minutes (so the objective is the same sum of resident
minutes as the unit-level plan's), its neighbours are the districts it touches. That plan's leads
and district-to-grid assignment are then given to the real units (a plan with those leads, each
district's units moved to its grid), so the plan that comes back is an ordinary plan (checks, rosters, maps) whose grids follow district lines.

A refusal names the districts that cannot stay whole and why: a district with more residents than
the population tolerance allows one grid, or the blocker of the district-level plan (with as few
districts as most cities have, that plan is solved exactly, so its refusal is a proof).
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_planning.city.costs import CostMatrix, travel_costs
from grid_planning.city.demand import DemandError, demand_figures, unit_demand, weighted
from grid_planning.city.districts import district_pieces
from grid_planning.city.layers import CityLayers
from grid_planning.domain import rules
from grid_planning.domain.request import Infeasible, PlanRequest, PlanResult
from grid_planning.planning.planner import move_units, plan_city


def district_city(
    layers: CityLayers, districts: pd.Series, request: PlanRequest | None = None
) -> tuple[CityLayers, np.ndarray]:
    """The city with one unit per district (geometry dissolved, residents summed), and the
    district position of every real unit. The G9 figures ``request`` weighs (65+, its burden
    column) are summed too: weighted demand is linear, so a district's is its units' sum."""
    codes, names = pd.factorize(districts.reindex(layers.index.unit_ids).fillna("—").to_numpy(), sort=True)
    geoms = np.asarray(layers.index.geometry)
    merged = [shapely.union_all(geoms[codes == i]) for i in range(len(names))]
    pop = layers.index.population
    columns = {
        "id": [str(n) for n in names],
        "name": [str(n) for n in names],
        "population": np.bincount(codes, weights=pop, minlength=len(names)),
    }
    if request is not None and (weighted(request) or request.burden_column):
        fig = demand_figures(layers, age_weight=request.age_weight, burden_column=request.burden_column,
                             burden_weight=request.burden_weight)
        for col, values in ((rules.AGE65_COLUMN, fig.pop65), (fig.burden_column, fig.burden)):
            if col is not None and values is not None:
                columns[col] = np.bincount(codes, weights=values, minlength=len(names))
    units = gpd.GeoDataFrame(
        columns,
        geometry=merged,
        crs=layers.metric_crs,
    ).to_crs(layers.units.crs or layers.metric_crs)
    city = CityLayers(
        name=layers.name,
        units=units,
        facilities=layers.facilities,
        boundary=layers.boundary,
        metric_crs=layers.metric_crs,
        districts=None,
        roads=None,
        sources=dict(layers.sources),
    )
    return city, codes


def district_costs(costs: CostMatrix, codes: np.ndarray, population: np.ndarray, ids) -> CostMatrix:
    """Population-weighted mean minutes of each district's units to every facility."""
    n = int(codes.max()) + 1 if len(codes) else 0
    w = np.maximum(np.asarray(population, dtype=float), 0.0)
    # Units without residents still count a little, so an empty district has finite minutes.
    w = w + 1e-9
    num = np.zeros((n, costs.minutes.shape[1]))
    np.add.at(num, codes, costs.minutes.astype(float) * w[:, None])
    den = np.bincount(codes, weights=w, minlength=n)
    minutes = (num / den[:, None]).astype(np.float32)
    minutes.setflags(write=False)
    return CostMatrix(minutes, pd.Index([str(i) for i in ids], name="unit_id"), costs.facility_ids, costs.mode)


def oversized(districts: pd.Series, population: np.ndarray, request: PlanRequest) -> list[tuple[str, float, float]]:
    """Districts with more residents than one grid may hold under the request's tolerance:
    ``(name, residents, the most a grid may hold)``."""
    if request.balance is None or request.k <= 0:
        return []
    pop = pd.Series(np.asarray(population, dtype=float), index=districts.index)
    per = pop.groupby(districts.to_numpy()).sum()
    cap = float(pop.sum()) / request.k * (1.0 + request.balance)
    return [(str(n), float(p), cap) for n, p in per.sort_values(ascending=False).items() if p > cap]


def pieces_advice(layers: CityLayers, districts: pd.Series) -> tuple[tuple[str, dict], ...]:
    """The refusal's advice naming the districts that are themselves in several pieces among the
    units (:func:`grid_planning.city.districts.district_pieces`) and why that matters: a grid
    holding such a district whole may be in pieces too. Empty when every district is in one piece."""
    pieces = district_pieces(layers, districts)
    if not len(pieces):
        return ()
    names = [(str(n), str(p)) for n, p in pieces.items()]  # name (pieces), as plan prints them
    return (("district_pieces", {"count": len(pieces), "names": names}),)


def plan_whole_districts(layers: CityLayers, request: PlanRequest, districts: pd.Series) -> PlanResult:
    """Plan with every district in one grid, or refuse naming the districts that cannot be.

    Parameters
    ----------
    layers : CityLayers
        The city.
    request : PlanRequest
        The request (its own locks are not combined with whole districts: they are replaced).
    districts : Series
        District of every unit (:func:`grid_planning.city.districts.unit_districts`).

    Returns
    -------
    PlanResult
        A plan whose grids follow district lines, or a refusal (``whole_districts``) naming the
        districts and the reason.
    """
    try:  # G9: districts are weighed, balanced and sized by the same weighted demand as units
        pop = unit_demand(layers, request)
    except DemandError as exc:
        return PlanResult(None, Infeasible(f"g9_{exc.code}", dict(exc.params), binding=("request",)))
    big = oversized(districts, pop, request)
    if big:
        return PlanResult(None, Infeasible(
            "whole_districts_oversized",
            {"districts": [(str(n), f"{p:,.0f}") for n, p, _ in big],
             "cap": f"{big[0][2]:,.0f}", "balance": f"{request.balance:.0%}"},
            binding=("balance", "districts"),
            suggestions=pieces_advice(layers, districts),
        ))
    city, codes = district_city(layers, districts, request)
    costs = travel_costs(layers, request.cost)
    dcosts = district_costs(costs, codes, pop, city.units["id"])
    coarse = plan_city(city, dataclasses.replace(request, locks=()), costs=dcosts)
    if coarse.plan is None:
        inf = coarse.infeasible
        return PlanResult(None, Infeasible(
            "whole_districts_blocked",
            {"districts": "、".join(str(n) for n in city.units["name"]),
             "reason": inf.message("zh") if inf else "", "reason_en": inf.message("en") if inf else ""},
            binding=("districts", *(inf.binding if inf else ())),
            proven=bool(inf.proven) if inf else False,
            suggestions=pieces_advice(layers, districts),
        ), coarse.stats)
    lead_of = {str(d): str(coarse.plan.leads[g]) for d, g in coarse.plan.assignment.items()}
    leads = tuple(sorted(set(lead_of.values())))
    base = plan_city(layers, dataclasses.replace(request, k=len(leads), fixed_leads=leads, locks=()),
                     costs=costs)
    if base.plan is None:
        base = plan_city(layers, dataclasses.replace(
            request, k=len(leads), fixed_leads=leads, locks=(), balance=None), costs=costs)
    if base.plan is None:
        return base
    grid_of_lead = {str(f): str(g) for g, f in base.plan.leads.items()}
    names = city.units["id"].astype(str).to_numpy()
    unit_ids = layers.index.unit_ids.to_numpy()
    want = np.array([grid_of_lead[lead_of[names[c]]] for c in codes], dtype=object)
    plan = base.plan
    for grid in sorted(set(want)):
        move = unit_ids[(want == grid) & (plan.assignment.reindex(unit_ids).to_numpy() != grid)]
        if len(move):
            plan = move_units(layers, plan, move, grid, costs=costs)
    plan = plan.with_params(whole_districts=True, manual_moves=0)
    return PlanResult(plan, None, {**base.stats, "objective": plan.param_map.get("objective")})
