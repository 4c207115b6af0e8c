"""Grid Planner: lay out tight urban medical groups on a grid (紧密型城市医疗集团网格化布局).

The library behind the dashboard and the CLI. It never imports streamlit. Its packages follow the
data one way (each imports only those before it): ``base`` -> ``domain`` -> ``geo`` -> ``io`` ->
``city`` -> ``assess`` -> ``planning`` -> ``maps`` -> ``prints`` -> ``exports`` -> ``store`` ->
``session`` -> ``meeting``; ``cli`` on top.

The names below are the curated API, for a script or a notebook::

    import grid_planning as gp

    layers = gp.load_sample_city()
    result = gp.plan_city(layers, gp.PlanRequest(k=4, balance=0.1))
    checks = gp.check_policy(layers, result.plan)
    pdf = gp.export_plan(layers, result.plan, fmt="report").data

Each is imported from its module on first use, so ``import grid_planning`` stays light.
"""

from __future__ import annotations

import importlib

from grid_planning.base.version import __version__

#: The curated API: name -> the module that defines it.
API: dict[str, str] = {
    "load_city": "grid_planning.city.layers",
    "CityLayers": "grid_planning.city.layers",
    "load_sample_city": "grid_planning.city.provenance",
    "synthetic_city": "grid_planning.city.synthetic",
    "travel_costs": "grid_planning.city.costs",
    "PlanRequest": "grid_planning.domain.request",
    "PlanResult": "grid_planning.domain.request",
    "Plan": "grid_planning.domain.plan",
    "plan_city": "grid_planning.planning.planner",
    "check_policy": "grid_planning.assess.checks",
    "plan_figures": "grid_planning.assess.metrics",
    "export_plan": "grid_planning.exports.formats",
    "read_plan": "grid_planning.exports.planfile",
    "write_plan": "grid_planning.exports.planfile",
    "ScenarioStore": "grid_planning.store.scenarios",
    "Workspace": "grid_planning.session.workspace",
}

__all__ = ["__version__", *API]


def __getattr__(name: str) -> object:
    # PEP 562: an API name is imported from its module when first asked for.
    if name in API:
        value = getattr(importlib.import_module(API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
