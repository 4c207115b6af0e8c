"""Where the scenario-store tests run: an SQLite file and, when a server is given, PostgreSQL.

``store_location`` is parametrized over both backends. The PostgreSQL cases need a server URL in
``GRID_PLANNER_TEST_PG_URL`` (``.ci/run`` starts a real PostgreSQL with PostGIS and exports it); without
it they are skipped with that reason. Each test gets its own PostgreSQL schema, dropped afterwards, so
tests running in parallel never see each other's scenarios.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

PG_URL_ENV = "GRID_PLANNER_TEST_PG_URL"
PG_URL = os.environ.get(PG_URL_ENV, "")
NO_PG = f"no PostgreSQL server given ({PG_URL_ENV} is not set; .ci/run starts one)"


def require_pg() -> None:
    """Skip without a server URL, except in CI, where the store must be tested on PostgreSQL."""
    if PG_URL:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{NO_PG}; in CI the PostgreSQL tests must run")
    pytest.skip(NO_PG)


@dataclass(frozen=True)
class Location:
    """A store location: what ``ScenarioStore(location, schema=...)`` takes."""

    kind: str
    location: str
    schema: str | None = None

    def open(self):
        from grid_planning.store.scenarios import ScenarioStore

        return ScenarioStore(self.location, schema=self.schema)


def new_schema() -> str:
    return f"test_{secrets.token_hex(6)}"


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_location(request, tmp_path) -> Iterator[Location]:
    """A fresh, empty store location on each backend."""
    if request.param == "sqlite":
        yield Location("sqlite", str(tmp_path / "scenarios.sqlite"))
        return
    require_pg()
    schema = new_schema()
    yield Location("postgresql", PG_URL, schema)
    drop_schema(schema)
