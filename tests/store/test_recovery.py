"""A crash never hides the store: a writer killed (SIGKILL) inside a write transaction leaves a hot
journal; the next process rolls it back, logs it, and sees every committed scenario."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from plan_fixtures import make_plan

from grid_planning.store.identity import User
from grid_planning.store.scenarios import ScenarioStore, StoreError

ROOT = Path(__file__).resolve().parents[2]

#: A writer that opens the store's own write transaction, changes every scenario and writes
#: enough grid rows to spill SQLite's page cache into the file, then waits to be killed.
_WRITER = r"""
import sys, time
from grid_planning.store.backends import SQLiteBackend
be = SQLiteBackend(sys.argv[1])
with be.transaction(write=True) as con:
    con.execute("PRAGMA cache_size = 10")
    con.execute("UPDATE scenarios SET note = 'half-written', name = name || ' (lost)'")
    for i in range(3000):
        con.execute(
            "INSERT INTO scenario_grids (scenario_id, grid_id, lead_id, population, geom) "
            "SELECT id, ?, 'x', 0, randomblob(2000) FROM scenarios LIMIT 1", (f"crash{i}",)
        )
    print("inside", flush=True)
    time.sleep(600)
"""


def _kill_a_writer(path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert writer.stdout.readline().strip() == "inside"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)


def test_a_writer_killed_mid_transaction_leaves_every_scenario_readable(tmp_path, caplog):
    path = tmp_path / "scenarios.sqlite"
    store = ScenarioStore(path)
    me = User("wang", "王工", "header")
    for i in range(5):
        store.save(f"方案{i}", make_plan(), city="c", city_fingerprint="f", user=me)
    size = path.stat().st_size

    _kill_a_writer(path)
    journal = path.with_name(path.name + "-journal")
    assert journal.exists() and journal.stat().st_size > 0
    assert path.stat().st_size > size  # the half-made write reached the file itself
    # What every process did before: a read-only look at a file with a hot journal fails.
    with (
        pytest.raises(sqlite3.Error),
        contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as con,
    ):
        con.execute("SELECT count(*) FROM scenarios").fetchall()

    with caplog.at_level(logging.WARNING, logger="grid_planning.store.backends"):
        reopened = ScenarioStore(path)
        names = sorted(reopened.list()["name"])
    assert names == [f"方案{i}" for i in range(5)]
    assert not journal.exists() or journal.stat().st_size == 0
    assert any("rolled back" in r.getMessage() for r in caplog.records)
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert con.execute(
            "SELECT count(*) FROM scenario_grids WHERE grid_id LIKE 'crash%'"
        ).fetchone() == (0,)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # And the store takes writes again.
    reopened.save("方案5", make_plan(), city="c", city_fingerprint="f", user=me)
    assert len(reopened.list()) == 6


def test_a_file_that_is_not_a_store_is_still_refused_and_left_alone(tmp_path):
    path = tmp_path / "notes.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("CREATE TABLE notes (t TEXT)")
        con.commit()
    before = path.read_bytes()
    with pytest.raises(StoreError) as err:
        ScenarioStore(path)
    assert err.value.code == "not_a_store" and path.read_bytes() == before
    text = tmp_path / "plain.sqlite"
    text.write_text("not a database")
    (tmp_path / "plain.sqlite-journal").write_bytes(b"x" * 512)
    with pytest.raises(StoreError) as err:
        ScenarioStore(text)
    assert err.value.code == "not_a_store" and text.read_text() == "not a database"
