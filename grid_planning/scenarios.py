"""Scenario store: named plans kept in an embedded SQLite database, so work survives a closed browser.

A scenario is a :class:`~grid_planning.plan.Plan` plus a name, a note and the fingerprint of the city
layers it was made on (a plan only makes sense on the layers it partitions). Plans are stored as JSON
(the assignment, the roles table and :meth:`Plan.meta_json`), so the database stays readable with any
SQLite client and needs no pickling.

Saving never overwrites silently: :meth:`ScenarioStore.save` refuses an existing name unless
``overwrite=True``; every write is one transaction; a file that is not a scenario database is never
modified — the store raises :class:`ScenarioStoreError` naming the file instead.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from grid_planning.i18n import CatalogueError
from grid_planning.plan import Plan

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scenarios (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL,
    city_fingerprint TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    k INTEGER NOT NULL,
    assignment TEXT NOT NULL,
    roles TEXT NOT NULL,
    plan_meta TEXT NOT NULL
);
"""


class ScenarioStoreError(CatalogueError):
    """A scenario database problem, with a catalogue key and parameters for the message.

    Attributes
    ----------
    code : str
        Catalogue key suffix (``scenarios.error.<code>``).
    params : dict
        Placeholder values (``path``, ``name`` ...).
    """

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        super().__init__(f"scenarios.error.{code}", **params)


def default_store_path() -> Path:
    """Where scenarios live: ``$GRID_PLANNER_HOME/scenarios.sqlite`` (default ``~/.grid_planner``)."""
    home = Path(os.environ.get("GRID_PLANNER_HOME", Path.home() / ".grid_planner"))
    return home / "scenarios.sqlite"


def plan_to_record(plan: Plan) -> dict[str, str]:
    """Serialise a plan into JSON strings (``assignment``, ``roles``, ``plan_meta``)."""
    roles = plan.roles.copy()
    roles.index = roles.index.astype(str)
    return {
        "assignment": json.dumps({str(k): str(v) for k, v in plan.assignment.items()}, ensure_ascii=False),
        "roles": roles.to_json(orient="index", force_ascii=False),
        "plan_meta": plan.meta_json(),
    }


def plan_from_record(assignment: str, roles: str, plan_meta: str) -> Plan:
    """Inverse of :func:`plan_to_record`."""
    parts = Plan.parts_from_meta(plan_meta)
    assign = pd.Series(json.loads(assignment), dtype=object, name="grid_id")
    assign.index = assign.index.astype(str)
    roles_df = pd.DataFrame.from_dict(json.loads(roles), orient="index")
    roles_df.index = roles_df.index.astype(str)
    roles_df.index.name = "id"
    for col in ("grid_id", "role", "home_grid", "supports"):
        if col in roles_df.columns:
            roles_df[col] = roles_df[col].fillna("").astype(str)
    return Plan(assignment=assign, roles=roles_df, **parts)


class ScenarioStore:
    """Named plans in one SQLite file.

    Parameters
    ----------
    path : str or Path, optional
        The database file; created (with its folder) when missing. Defaults to
        :func:`default_store_path`.

    Raises
    ------
    ScenarioStoreError
        ``not_a_store`` when the file exists but is not a scenario database (it is left untouched).
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init()

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10)
        con.execute("PRAGMA foreign_keys = ON")
        return con

    def _init(self) -> None:
        try:
            with closing(self._connect()) as con:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if tables and not {"meta", "scenarios"} <= tables:
                    raise ScenarioStoreError("not_a_store", path=str(self.path))
                with con:
                    con.executescript(_SCHEMA)
                    con.execute(
                        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
        except sqlite3.DatabaseError as exc:
            raise ScenarioStoreError("not_a_store", path=str(self.path), detail=str(exc)) from exc

    def save(
        self,
        name: str,
        plan: Plan,
        *,
        city: str,
        city_fingerprint: str,
        note: str = "",
        overwrite: bool = False,
    ) -> int:
        """Store ``plan`` under ``name`` and return its id.

        Raises
        ------
        ScenarioStoreError
            ``empty_name`` for a blank name; ``name_taken`` when the name exists and
            ``overwrite`` is false.
        """
        name = name.strip()
        if not name:
            raise ScenarioStoreError("empty_name")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rec = plan_to_record(plan)
        with closing(self._connect()) as con, con:
            row = con.execute("SELECT id FROM scenarios WHERE name = ?", (name,)).fetchone()
            if row is not None and not overwrite:
                raise ScenarioStoreError("name_taken", name=name)
            if row is not None:
                con.execute(
                    "UPDATE scenarios SET city=?, city_fingerprint=?, note=?, updated=?, k=?, "
                    "assignment=?, roles=?, plan_meta=? WHERE id=?",
                    (city, city_fingerprint, note, now, plan.k, rec["assignment"], rec["roles"],
                     rec["plan_meta"], row[0]),
                )
                return int(row[0])
            cur = con.execute(
                "INSERT INTO scenarios(name, city, city_fingerprint, note, created, updated, k, "
                "assignment, roles, plan_meta) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (name, city, city_fingerprint, note, now, now, plan.k, rec["assignment"], rec["roles"],
                 rec["plan_meta"]),
            )
            return int(cur.lastrowid)

    def list(self, city_fingerprint: str | None = None) -> pd.DataFrame:
        """Saved scenarios (id, name, city, k, note, created, updated, city_fingerprint), newest first."""
        sql = "SELECT id, name, city, k, note, created, updated, city_fingerprint FROM scenarios"
        args: tuple = ()
        if city_fingerprint is not None:
            sql += " WHERE city_fingerprint = ?"
            args = (city_fingerprint,)
        with closing(self._connect()) as con:
            return pd.read_sql_query(sql + " ORDER BY updated DESC, id DESC", con, params=args)

    def load(self, scenario: int | str) -> Plan:
        """The plan saved under an id or a name.

        Raises
        ------
        ScenarioStoreError
            ``not_found`` when no such scenario exists.
        """
        col = "id" if isinstance(scenario, int) else "name"
        with closing(self._connect()) as con:
            row = con.execute(
                f"SELECT assignment, roles, plan_meta FROM scenarios WHERE {col} = ?", (scenario,)
            ).fetchone()
        if row is None:
            raise ScenarioStoreError("not_found", name=str(scenario))
        return plan_from_record(*row)

    def fingerprint_of(self, scenario: int | str) -> str:
        """The city fingerprint a scenario was saved with."""
        col = "id" if isinstance(scenario, int) else "name"
        with closing(self._connect()) as con:
            row = con.execute(
                f"SELECT city_fingerprint FROM scenarios WHERE {col} = ?", (scenario,)
            ).fetchone()
        if row is None:
            raise ScenarioStoreError("not_found", name=str(scenario))
        return str(row[0])

    def delete(self, scenario: int | str) -> None:
        """Remove a scenario (by id or name)."""
        col = "id" if isinstance(scenario, int) else "name"
        with closing(self._connect()) as con, con:
            cur = con.execute(f"DELETE FROM scenarios WHERE {col} = ?", (scenario,))
        if cur.rowcount == 0:
            raise ScenarioStoreError("not_found", name=str(scenario))
