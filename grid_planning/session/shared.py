"""Work the dashboard's sessions share, each through the one server-wide cache idiom
(:class:`grid_planning.base.cache.SharedCache`: bounded, locked, bounded per city).

A new workspace's first request (a few planning runs to find the tightest balance the city
meets), the balance advice for a request, and the scenario store of a location are each computed
once for every session of the server. Travel costs are shared by :mod:`grid_planning.city.index`
already; the pages pass :func:`travel_costs` as the workspace's cost provider.
"""

from __future__ import annotations

from dataclasses import replace

from grid_planning.base.cache import SharedCache
from grid_planning.city.costs import travel_costs
from grid_planning.city.layers import CityLayers
from grid_planning.domain.request import BalanceAdvice, PlanRequest
from grid_planning.session.workspace import Workspace, first_request
from grid_planning.store.scenarios import ScenarioStore

#: The first request of each city (one value a city).
FIRST_REQUESTS: SharedCache[tuple[PlanRequest, BalanceAdvice]] = SharedCache(max_entries=16, per_city=1)
#: Balance advice by city and request (its planning runs are the cost).
BALANCE_ADVICE: SharedCache[BalanceAdvice] = SharedCache(max_entries=64, per_city=16)
#: One scenario store a location, checked and migrated once per server process.
STORES: SharedCache[ScenarioStore] = SharedCache(max_entries=8)


def shared_first_request(layers: CityLayers) -> tuple[PlanRequest, BalanceAdvice]:
    """:func:`grid_planning.session.workspace.first_request` of ``layers``, once for the server."""
    fp = layers.fingerprint()
    return FIRST_REQUESTS.get(
        ("first", fp), lambda: first_request(layers, travel_costs(layers, PlanRequest(k=2).cost)), city=fp)


def shared_balance_advice(ws: Workspace) -> BalanceAdvice:
    """:meth:`Workspace.balance_advice`, shared by every session on the same layers and request.

    A new workspace's request is the first request, whose advice is already known.
    """
    fp = ws.layers.fingerprint()
    key = repr(ws.balance_request())

    def compute() -> BalanceAdvice:
        first, advice = shared_first_request(ws.layers)
        return advice if repr(replace(first, balance=None)) == key else ws.balance_advice()

    return BALANCE_ADVICE.get(("advice", fp, key), compute, city=fp)


def shared_store(location: str) -> ScenarioStore:
    """The scenario store at ``location`` (one per server process and location)."""
    return STORES.get(("store", location), lambda: ScenarioStore(location))
