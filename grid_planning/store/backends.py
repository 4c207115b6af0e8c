"""The two databases the scenario store runs on: an embedded SQLite file and a PostgreSQL server.

:mod:`grid_planning.store.scenarios` holds the store's logic once; this module holds only what differs
between the two engines: how to connect and open a transaction, the column types, how geometry is
written and read, how a unique-name race shows up, and how to tell that an existing file or schema is
a scenario store (and must otherwise be left alone).

SQL given to :meth:`Backend.execute` uses ``?`` placeholders; the PostgreSQL backend turns them into
psycopg's ``%s`` (the store's statements hold no other ``?`` or ``%``).

- **SQLite** (the default, one file under :func:`grid_planning.base.config.home`): a write transaction is
  ``BEGIN IMMEDIATE``, so two processes saving at once are serialised by the file lock; a new store
  is built in a temporary file and linked into place, so no other process ever sees a half-made one;
  an existing file is inspected read-only first and never modified unless it is a store. Grid
  outlines are kept as WKB blobs (readable by any GIS that reads WKB; the GeoPackage export is the
  file to give QGIS).
- **PostgreSQL** (given a ``postgresql://`` URL): the tables live in their own schema (setting
  ``store_schema``, default ``grid_planner``), so the store can share a database with anything
  else; schema changes run under an advisory lock; with PostGIS the grid outlines are a
  ``geometry(MultiPolygon, 4326)`` column that QGIS opens directly (view ``scenario_grid_map``).
  Without PostGIS (and no right to create the extension) they are kept as WKB ``bytea``, as on SQLite.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Protocol

from grid_planning.base.i18n import CatalogueError

log = logging.getLogger(__name__)


#: Advisory-lock key under which PostgreSQL schema changes run (any constant; "GRIDPLAN" in ASCII).
_PG_LOCK = 0x47524944504C414E


_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


#: Tables a store owns (the v1 store had ``meta`` and ``scenarios`` only).
STORE_TABLES = frozenset({"meta", "scenarios"})


class StoreError(CatalogueError):
    """A scenario store problem (catalogue key ``scenarios.error.<code>``)."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        super().__init__(f"scenarios.error.{code}", **params)


class Cursor(Protocol):
    """The rows of one statement, as sqlite3's and psycopg's cursors give them."""

    def fetchone(self) -> tuple | None: ...
    def fetchall(self) -> list[tuple]: ...
    def __iter__(self) -> Iterator[tuple]: ...


class Connection(Protocol):
    """A database connection as the store uses it: sqlite3's or psycopg's."""

    def execute(self, query: str, params: Sequence[object] = ..., /) -> Cursor: ...
    def close(self) -> None: ...


class Backend:
    """What a database engine must provide to the store (see the module docstring)."""

    def is_permission_error(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a refusal of rights (asking again will not help)."""
        return False

    def error_text(self, exc: BaseException) -> str:
        """``exc`` as the server log may hold it (never a password)."""
        return str(exc)

    kind: str = ""
    #: Column type of the primary key, timestamps and a scenario's grid outline.
    id_type: str = ""
    ts_type: str = ""
    geom_type: str = ""
    real_type: str = "DOUBLE PRECISION"
    ref_type: str = "INTEGER"

    @property
    def label(self) -> str:
        """The store as a planner may see it (a file name, a database name; never a path or a password)."""
        raise NotImplementedError

    def connect(self) -> Connection:
        raise NotImplementedError

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Connection]:
        """A connection inside one transaction: committed when the block ends, rolled back on error."""
        con = self.connect()
        try:
            con.execute(self.begin_sql(write))
            yield con
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def begin_sql(self, write: bool) -> str:
        return "BEGIN"

    def sql(self, text: str) -> str:
        return text

    def execute(self, con: Connection, text: str, params: Sequence[object] = ()) -> Cursor:
        """Run one statement (``?`` placeholders) and return its cursor."""
        return con.execute(self.sql(text), tuple(params))

    def is_unique_violation(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def is_database_error(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def ts(self, when: datetime) -> datetime | str:
        """A timestamp as the engine stores it."""
        return when.isoformat(timespec="seconds")

    @staticmethod
    def ts_text(value: datetime | str) -> str:
        """A stored timestamp as ISO 8601 UTC text (``2026-11-30T09:12:30+00:00``)."""
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat(timespec="seconds")
        return str(value)

    def geom_in(self) -> str:
        """SQL for a WKB parameter going into the outline column."""
        return "?"

    def geom_out(self, column: str) -> str:
        """SQL reading the outline column back as WKB."""
        return column

    def ddl(self) -> list[str]:
        """The statements creating the current schema (idempotent)."""
        return [
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            f"""CREATE TABLE IF NOT EXISTS scenarios (
                id {self.id_type},
                name TEXT NOT NULL,
                name_key TEXT NOT NULL,
                city TEXT NOT NULL,
                city_fingerprint TEXT NOT NULL,
                layer_fingerprints TEXT NOT NULL DEFAULT '{{}}',
                note TEXT NOT NULL DEFAULT '',
                owner TEXT NOT NULL,
                owner_name TEXT NOT NULL,
                author TEXT NOT NULL,
                author_name TEXT NOT NULL,
                created {self.ts_type} NOT NULL,
                updated {self.ts_type} NOT NULL,
                k INTEGER NOT NULL,
                assignment TEXT NOT NULL,
                roles TEXT NOT NULL,
                plan_meta TEXT NOT NULL
            )""",
            # The one rule that makes names unique, enforced by the database itself, so two
            # processes saving the same name at once cannot both succeed.
            "CREATE UNIQUE INDEX IF NOT EXISTS scenarios_name_key ON scenarios (name_key)",
            f"""CREATE TABLE IF NOT EXISTS scenario_grids (
                fid {self.id_type},
                scenario_id {self.ref_type} NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,
                grid_id TEXT NOT NULL,
                lead_id TEXT NOT NULL,
                population {self.real_type},
                geom {self.geom_type},
                UNIQUE (scenario_id, grid_id)
            )""",
        ]

    def describe(self) -> str:
        """Where the store is, for logs."""
        return self.label


# ---- SQLite ---------------------------------------------------------------------------------------
class SQLiteBackend(Backend):
    """One SQLite file (see the module docstring)."""

    kind = "sqlite"
    id_type = "INTEGER PRIMARY KEY AUTOINCREMENT"
    ts_type = "TEXT"
    geom_type = "BLOB"
    real_type = "REAL"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @property
    def label(self) -> str:
        return self.path.name

    def describe(self) -> str:
        return str(self.path)

    def connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are opened explicitly (BEGIN IMMEDIATE for writes).
        con = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        con.execute("PRAGMA foreign_keys = ON")
        return con

    def begin_sql(self, write: bool) -> str:
        # IMMEDIATE takes the write lock at once: a read-then-insert cannot interleave with another
        # process's, and a waiting writer waits (busy timeout) instead of failing on upgrade.
        return "BEGIN IMMEDIATE" if write else "BEGIN"

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc).upper()

    def is_database_error(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.Error)

    def is_permission_error(self, exc: BaseException) -> bool:
        # SQLITE_PERM (3), SQLITE_READONLY (8) and its extended codes; a folder that cannot be
        # written (the journal) gives SQLITE_CANTOPEN (14).
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(exc, PermissionError) or (code is not None and code & 0xFF in (3, 8, 14))

    def _read_only(self) -> sqlite3.Connection:
        """A connection that writes nothing next to the file either. A database in WAL mode
        makes even a read-only reader create ``-wal``/``-shm`` files and leave them; with no
        ``-wal`` file there (no writer has it open) all of it is in the file, and it is read as
        immutable, touching nothing."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        with self.path.open("rb") as fh:
            header = fh.read(20)
        wal = header.startswith(b"SQLite format 3\x00") and header[18:20] == b"\x02\x02"
        if wal and not self.path.with_name(self.path.name + "-wal").exists():
            uri += "&immutable=1"
        return sqlite3.connect(uri, uri=True, timeout=15)

    def inspect(self) -> tuple[set[str], dict[str, str]] | None:
        """The tables and ``meta`` of the existing file, read without writing anything.

        Returns ``None`` when there is no file. Raises :class:`StoreError` ``not_a_store`` when the
        path is not a SQLite database at all.
        """
        if not self.path.exists():
            return None
        if not self.path.is_file():
            raise StoreError("not_a_store", file=self.label)
        self.recover()
        try:
            with contextlib.closing(self._read_only()) as con:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                meta: dict[str, str] = {}
                if "meta" in tables:
                    meta = {str(k): str(v) for k, v in con.execute("SELECT key, value FROM meta")}
        except (sqlite3.Error, OSError) as exc:
            log.info("%s is not a scenario store: %s", self.path, exc)
            raise StoreError("not_a_store", file=self.label) from None
        return tables, meta

    def recover(self) -> bool:
        """Roll back a write a crash left half done, so that the store is read whole again.

        A process killed inside a write transaction leaves a *hot journal* (``<file>-journal``)
        holding the pages as they were. A read-only connection cannot roll it back and fails, so
        the store looked like "not a scenario store" and every scenario seemed gone. Opening the
        file read-write and reading it makes SQLite itself roll the journal back (under its
        locks, so a journal a live writer still holds is left alone). Only a real SQLite file
        with a journal next to it is opened so; the roll-back is logged.

        Returns
        -------
        bool
            Whether a journal was there and has now been rolled back.
        """
        journal = self.path.with_name(self.path.name + "-journal")
        try:
            if journal.stat().st_size == 0:
                return False
            with self.path.open("rb") as fh:
                if not fh.read(16).startswith(b"SQLite format 3\x00"):
                    return False
        except OSError:
            return False
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=15)) as con:
                con.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except sqlite3.Error as exc:
            log.warning("%s: an interrupted write could not be rolled back: %s", self.path, exc)
            return False
        gone = not journal.exists() or journal.stat().st_size == 0
        if gone:
            log.warning(
                "%s: a write interrupted by a crash was rolled back (hot journal %s); every "
                "committed scenario is kept",
                self.path,
                journal.name,
            )
        return gone

    def columns(self, table: str) -> set[str]:
        """The columns of ``table`` in the existing file, read without writing anything (empty
        when there is no such table)."""
        try:
            with contextlib.closing(self._read_only()) as con:
                return {str(r[1]) for r in con.execute("SELECT * FROM pragma_table_info(?)", (table,))}
        except (sqlite3.Error, OSError):
            return set()

    def create(self, init: Callable[[sqlite3.Connection], None]) -> None:
        """Create a new store file atomically: ``init(con)`` fills a temporary file in the same
        folder, which is then hard-linked to the path (never replacing a file made meanwhile)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            con = sqlite3.connect(tmp, isolation_level=None)
            try:
                con.execute("BEGIN")
                init(con)
                con.execute("COMMIT")
            finally:
                con.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another process made the store first: use theirs
            except OSError:
                # No hard links on this file system: exclusive create, then copy the bytes in.
                with contextlib.suppress(FileExistsError), open(self.path, "xb") as out:
                    out.write(tmp.read_bytes())
        finally:
            tmp.unlink(missing_ok=True)

    def backup(self, suffix: str) -> Path:
        """A copy of the store next to it (before a migration), made with SQLite's backup API."""
        target = self.path.with_name(f"{self.path.name}.{suffix}.bak")
        if not target.exists():
            with contextlib.closing(sqlite3.connect(self.path, timeout=15)) as src, \
                    contextlib.closing(sqlite3.connect(target)) as dst:
                src.backup(dst)
        return target


# ---- PostgreSQL -----------------------------------------------------------------------------------
#: A libpq key=value connection string ("host=db dbname=plans user=planner").
_CONNINFO = re.compile(r"^\s*(?:host|hostaddr|dbname|service|user|port)\s*=", re.I)


def is_postgres_url(location: object) -> bool:
    """Whether a store location is a PostgreSQL connection URL, or a libpq key=value string
    (which was taken for a file name: a SQLite store named "host=… dbname=…" appeared)."""
    return isinstance(location, str) and (
        location.startswith(("postgresql://", "postgres://")) or bool(_CONNINFO.match(location))
    )


class PostgresBackend(Backend):
    """A schema in a PostgreSQL database (see the module docstring)."""

    kind = "postgresql"
    id_type = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    ts_type = "TIMESTAMPTZ"
    ref_type = "BIGINT"

    def __init__(self, url: str, schema: str = "grid_planner") -> None:
        try:
            import psycopg  # why: psycopg (~0.3 s) loads only when a PostgreSQL store is opened
        except ImportError:  # pragma: no cover - psycopg is in requirements.txt
            raise StoreError("no_driver") from None
        self.psycopg: ModuleType = psycopg
        if not _SCHEMA_NAME.match(schema):
            raise StoreError("bad_schema", schema=schema)
        self.url = url
        self.schema = schema
        self.postgis = False
        self._gis_schema = "public"

    @property
    def geom_type(self) -> str:  # type: ignore[override]
        return f"{self._gis_schema}.geometry(MultiPolygon, 4326)" if self.postgis else "BYTEA"

    @property
    def label(self) -> str:
        try:
            info = self.psycopg.conninfo.conninfo_to_dict(self.url)
        except Exception:  # noqa: BLE001 - a label must never fail
            info = {}
        return f"PostgreSQL {info.get('dbname', '?')} · {self.schema}"

    def describe(self) -> str:
        conninfo = self.psycopg.conninfo
        with contextlib.suppress(Exception):
            info = conninfo.conninfo_to_dict(self.url)
            info.pop("password", None)
            return conninfo.make_conninfo(**info) + f" schema={self.schema}"
        return self.label

    def connect(self) -> Connection:
        try:
            con = self.psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except self.psycopg.Error as exc:
            log.warning("cannot connect to the scenario store %s: %s", self.describe(), self.error_text(exc))
            raise StoreError("unavailable", store=self.label) from None
        con.execute(f'SET search_path TO "{self.schema}", "{self._gis_schema}"')
        return con

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, self.psycopg.errors.UniqueViolation)

    def is_database_error(self, exc: BaseException) -> bool:
        return isinstance(exc, self.psycopg.Error)

    def is_permission_error(self, exc: BaseException) -> bool:
        return getattr(exc, "sqlstate", None) == "42501"  # insufficient_privilege

    def error_text(self, exc: BaseException) -> str:
        """libpq quotes the URL, or a token of it, when it cannot parse it: the password and
        the whole URL are cut out of what is logged."""
        text = str(exc)
        secrets_ = [self.url]
        found = re.match(r"[a-z]+://[^:/@\s]*:([^@\s]+)@", self.url)
        if found:
            secrets_.append(found.group(1))
        with contextlib.suppress(Exception):
            secrets_.append(str(self.psycopg.conninfo.conninfo_to_dict(self.url).get("password") or ""))
        for secret in sorted({x for x in secrets_ if x}, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def ts(self, when: datetime) -> datetime | str:
        return when

    def geom_in(self) -> str:
        if not self.postgis:
            return "?"
        return "ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB(?, 4326)), 3))"

    def geom_out(self, column: str) -> str:
        return f"ST_AsBinary({column})" if self.postgis else column

    def lock(self, con: Connection) -> None:
        """Serialise schema changes between processes (released at the end of the transaction)."""
        con.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))

    def inspect(self, con: Connection) -> tuple[set[str], dict[str, str]] | None:
        """The store schema's tables and ``meta``; ``None`` when the schema does not exist."""
        # The catalogues, not information_schema: that lists only what this account has rights
        # on, so a schema (or tables) it may not use looked absent, and the store was created
        # in "public" or beside another application's tables.
        row = con.execute(
            "SELECT has_schema_privilege(oid, 'USAGE') FROM pg_namespace WHERE nspname = %s",
            (self.schema,),
        ).fetchone()
        if row is None:
            return None
        if not row[0]:
            raise StoreError("no_permission", store=self.label)
        tables = {
            r[0]
            for r in con.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
                (self.schema,),
            )
        }
        meta: dict[str, str] = {}
        if "meta" in tables:
            meta = {str(k): str(v) for k, v in con.execute(f'SELECT key, value FROM "{self.schema}".meta')}
        return tables, meta

    def enable_postgis(self) -> None:
        """Use PostGIS when the database has it or lets us create it; otherwise WKB ``bytea``."""
        con = self.connect()
        try:
            row = con.execute(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'postgis'"
            ).fetchone()
            if row is None:
                try:
                    con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                except self.psycopg.Error as exc:
                    log.warning("PostGIS is not available in %s (%s); grid outlines are kept as WKB",
                                self.describe(), exc)
                row = con.execute(
                    "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'postgis'"
                ).fetchone()
            if row is not None:
                self.postgis = True
                self._gis_schema = str(row[0]).strip('"')
        finally:
            con.close()

    def outline_column_is_geometry(self, con: Connection) -> bool:
        """Whether an existing store keeps outlines as PostGIS geometry (it may predate PostGIS)."""
        row = con.execute(
            "SELECT udt_name FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'scenario_grids' AND column_name = 'geom'",
            (self.schema,),
        ).fetchone()
        return row is not None and row[0] == "geometry"

    def ddl(self) -> list[str]:
        out = [f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"', *super().ddl()]
        if self.postgis:
            out += [
                "CREATE INDEX IF NOT EXISTS scenario_grids_geom ON scenario_grids USING GIST (geom)",
                # What a GIS client opens: every scenario's grids with the scenario's name and owner.
                """CREATE OR REPLACE VIEW scenario_grid_map AS
                   SELECT g.fid, g.scenario_id, s.name AS scenario, s.city, g.grid_id, g.lead_id,
                          g.population, s.k, s.owner_name AS owner, s.updated, g.geom
                   FROM scenario_grids g JOIN scenarios s ON s.id = g.scenario_id""",
            ]
        return out
