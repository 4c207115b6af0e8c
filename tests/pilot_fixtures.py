"""Fixtures of the session tests: a city that is not Wuhan, planned (registered in conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from awkward_cities import pilot_city

from grid_planning.city.layers import CityLayers
from grid_planning.domain.request import PlanRequest
from grid_planning.session.ui_state import UploadResult, load_uploads
from grid_planning.session.workspace import Workspace

REASONS = {"G4": "市政府文件指定该院牵头第二网格", "G5": "接续性医疗机构跨网格提供服务"}


def upload_pilot(folder: Path, city_name: str = "Fuxin pilot") -> UploadResult:
    """The pilot city (awkward_cities.pilot_city, street units) written to ``folder`` and uploaded
    as a planner would (both files through ``load_uploads``)."""
    units, facilities = pilot_city(folder, "streets")
    return load_uploads(
        {"units": (units.name, units.read_bytes()), "facilities": (facilities.name, facilities.read_bytes())},
        city_name=city_name, workdir=folder / "tmp",
    )


@pytest.fixture(scope="session")
def fuxin(tmp_path_factory) -> CityLayers:
    uploaded = upload_pilot(tmp_path_factory.mktemp("fuxin"))
    assert uploaded.usable
    return uploaded.layers


@pytest.fixture(scope="session")
def planned(fuxin) -> Workspace:
    """The pilot city (awkward_cities.pilot_city: Fuxin, Liaoning) planned with k=2 through the
    refusal's first option (a designation and the G5 waiver it needs, each with its reason)."""
    ws = Workspace(fuxin, request=PlanRequest(k=2))
    refused = ws.run()
    assert not refused.ok and refused.infeasible.options
    ws.apply_option(refused.infeasible.options[0], REASONS)
    result = ws.run()
    assert result.ok and ws.plan.k == 2
    return ws
