"""The small two-grid city and its plan every assess test reads (tests/plan_fixtures.py), built
once per module."""

from __future__ import annotations

import pytest
from plan_fixtures import make_layers, make_plan


@pytest.fixture(scope="module")
def city():
    return make_layers()


@pytest.fixture(scope="module")
def plan():
    return make_plan()
