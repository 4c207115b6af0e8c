"""Scenario store: named plans a team keeps, on an embedded SQLite file or a PostgreSQL server.

A scenario is a :class:`~grid_planning.domain.plan.Plan` plus a name, a note, who owns it and who changed it
last (and when), the fingerprints of the city layers it was made on, and the outline of each grid
(so a GIS client can show a team's options straight from the database). Plans are stored as JSON
(the assignment, the roles table and :meth:`Plan.meta_json`): any SQL client can read them and
nothing is pickled.

The rules, one implementation over both databases (:mod:`grid_planning.store.backends` holds what
differs between them):

- **Names.** Two names are the same when they are equal after NFKC normalisation, removal of
  invisible characters (zero-width, bidirectional controls, soft hyphen, variation selectors ...),
  case folding and removal of all white space: ``plan a``, ``Ｐｌａｎ Ａ``, ``Plan\\u200bA`` and
  ``PLAN-A``'s neighbour ``plana`` are one name, and so are ``方案 A`` and ``方案A`` (spacing around
  CJK text is not something planners agree on, so it cannot tell two options apart). What is
  shown keeps what the user typed, without the invisible characters and with runs of white space
  made one space (:func:`display_name`). The database holds a unique index on the comparison key
  (:func:`name_key`), so of two processes saving one name at once exactly one wins; the other gets
  ``name_taken``.
- **Ownership.** The user who first saves a name owns the scenario; only the owner or an
  administrator (:mod:`grid_planning.store.identity`) may overwrite, rename, change the note of or delete
  it. Anybody may open and duplicate it; a duplicate belongs to whoever made it.
- **Never lose work.** Nothing is overwritten silently (``overwrite=True`` is needed); every write
  is one transaction; a file that is not a store (a 0-byte file, an empty or foreign SQLite
  database, a text file) is never modified, and the message names the file by its name only; a
  store of schema version 1 (before owners) is upgraded in one transaction after a backup copy is
  written next to it (``<file>.v1.bak``); its scenarios belong to the local user.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import unicodedata
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import geopandas as gpd
import pandas as pd
import shapely

from grid_planning.base import config
from grid_planning.base.config import text_limit, text_too_long
from grid_planning.base.textsafe import invisible
from grid_planning.city.layers import hash_frame
from grid_planning.domain.plan import Plan
from grid_planning.store.backends import (
    STORE_TABLES,
    Backend,
    Connection,
    PostgresBackend,
    SQLiteBackend,
    StoreError,
    is_postgres_url,
)
from grid_planning.store.identity import LOCAL_USER_ID, User, local_user

if TYPE_CHECKING:
    from grid_planning.city.layers import CityLayers

log = logging.getLogger(__name__)

T = TypeVar("T")


SCHEMA_VERSION = 2


#: The columns of schema 1's scenarios table (all of them are read by the migration).
V1_COLUMNS = frozenset(
    ("id", "name", "city", "city_fingerprint", "note", "created", "updated", "k", "assignment",
     "roles", "plan_meta")
)


#: Marker in ``meta`` saying the tables are a Grid Planner scenario store.
STORE_MARK = "grid_planner_scenarios"


#: Kept for callers of the single-user store: same class.
ScenarioStoreError = StoreError


# ---- names ----------------------------------------------------------------------------------------
def display_name(name: object) -> str:
    """A name as stored and shown: the user's text without invisible or control characters, runs
    of white space (line breaks included) made one space, trimmed."""
    text = "".join(" " if ch.isspace() else ch for ch in str(name))
    text = "".join(ch for ch in text if not invisible(ch))
    return " ".join(text.split())


def name_key(name: object) -> str:
    """The comparison key of a name: NFKC, no invisible characters, case-folded, no white space.

    >>> name_key("plan a") == name_key("Ｐｌａｎ Ａ") == name_key("Plan\\u200bA")
    True
    """
    text = unicodedata.normalize("NFKC", display_name(name))
    text = unicodedata.normalize("NFKC", text.casefold())
    return "".join(ch for ch in text if not invisible(ch) and not ch.isspace())


def clean_note(note: object) -> str:
    """A note as stored: line breaks kept, other control and invisible characters removed."""
    lines = str(note or "").replace("\r\n", "\n").split("\n")
    return "\n".join("".join(ch for ch in line if not invisible(ch)).rstrip() for line in lines).strip()


# ---- plans as records -----------------------------------------------------------------------------
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


# ---- what a scenario was made on --------------------------------------------------------------------
#: The parts of the layers whose change is reported separately.
LAYER_PARTS: tuple[str, ...] = ("units", "facilities", "roads")


_PART_FINGERPRINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def part_fingerprint(frame: gpd.GeoDataFrame | None) -> str:
    """A stable hash of one layer (attributes and geometry), as ``CityLayers.fingerprint`` does
    for all of them together."""
    h = hashlib.sha256()
    hash_frame(h, frame)
    return h.hexdigest()[:16]


def layer_fingerprints(layers: CityLayers) -> dict[str, str]:
    """Fingerprints of the units, facilities and roads (and the metric CRS) of ``layers``,
    memoised per object, so a changed scenario can say *what* changed."""
    with contextlib.suppress(KeyError, TypeError):
        return dict(_PART_FINGERPRINTS[layers])
    fps = {part: part_fingerprint(getattr(layers, part, None)) for part in LAYER_PARTS}
    fps["crs"] = str(getattr(layers, "metric_crs", ""))
    with contextlib.suppress(TypeError):
        _PART_FINGERPRINTS[layers] = dict(fps)
    return fps


def changed_parts(saved: Mapping[str, str], current: Mapping[str, str]) -> tuple[str, ...]:
    """Which parts (``units``, ``facilities``, ``roads``, ``crs``) differ; ``("layers",)`` when the
    scenario predates per-part fingerprints and so cannot say more."""
    if not saved:
        return ("layers",)
    return tuple(p for p in (*LAYER_PARTS, "crs") if p in saved and saved[p] != current.get(p))


def grid_outlines(layers: CityLayers, plan: Plan) -> list[tuple[str, str, float, bytes | None]]:
    """Each grid's dissolved outline as WGS84 WKB (a MultiPolygon), with its lead and population.

    Units are dissolved in the layers' metric CRS (exact topology), then projected to EPSG:4326.
    """
    units = layers.units
    ids = units["id"].astype(str)
    grid = ids.map(plan.assignment.astype(str).to_dict())
    # The units' territories (units plus the unpopulated land around them): the outlines tile the
    # city as the maps and the plan file do (grid_planning.geo.territory).
    metric = units.geometry.to_crs(layers.metric_crs)
    territory = getattr(getattr(layers, "index", None), "territory", None)
    if territory is not None and len(territory) == len(metric):
        metric = metric.__class__(list(territory), index=metric.index, crs=layers.metric_crs)
    pop = pd.to_numeric(units.get("population"), errors="coerce") if "population" in units else None
    out = []
    for gid in plan.grid_ids:
        mask = (grid == gid).to_numpy()
        geom = metric[mask]
        wkb = None
        if len(geom):
            shape = shapely.make_valid(geom.union_all())
            parts = [g for g in getattr(shape, "geoms", [shape]) if g.geom_type in ("Polygon", "MultiPolygon")]
            polys = [p for g in parts for p in getattr(g, "geoms", [g])]
            if polys:
                multi = shapely.MultiPolygon(polys)

                wgs = gpd.GeoSeries([multi], crs=layers.metric_crs).to_crs(4326).iloc[0]
                wkb = shapely.to_wkb(wgs)
        people = float(pop[mask].sum()) if pop is not None else None
        out.append((str(gid), str(plan.leads[gid]), people, wkb))
    return out


# ---- the store ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScenarioInfo:
    """What the store knows about a scenario besides its plan."""

    id: int
    name: str
    city: str
    k: int
    note: str
    owner: str
    owner_name: str
    author: str
    author_name: str
    created: str
    updated: str
    city_fingerprint: str
    layer_fingerprints: dict[str, str] = field(default_factory=dict)


_INFO_COLUMNS = (
    "id", "name", "city", "k", "note", "owner", "owner_name", "author", "author_name",
    "created", "updated", "city_fingerprint", "layer_fingerprints",
)


def default_store_url() -> str:
    """Where scenarios live: the setting ``store_url``, else ``<home>/scenarios.sqlite``."""
    return str(config.setting("store_url", str(config.home() / "scenarios.sqlite")))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class ScenarioStore:
    """Named plans of a team, in SQLite or PostgreSQL.

    Parameters
    ----------
    location : str or Path, optional
        A ``postgresql://`` URL, a ``sqlite:///`` URL or a file path. Defaults to
        :func:`default_store_url` (setting ``store_url``).
    schema : str, optional
        PostgreSQL schema holding the tables (setting ``store_schema``, default ``grid_planner``).

    Raises
    ------
    ScenarioStoreError
        ``not_a_store`` when the file or schema exists but is not a scenario store (it is left
        untouched); ``newer_store`` when it was made by a newer version; ``unavailable`` when the
        database server cannot be reached.
    """

    def __init__(self, location: str | os.PathLike | None = None, *, schema: str | None = None) -> None:
        location = default_store_url() if location is None else location
        self.backend: Backend
        if is_postgres_url(location):
            schema = schema or str(config.setting("store_schema", "grid_planner"))
            self.backend = PostgresBackend(str(location), schema)
        else:
            text = str(location)
            if text.startswith("sqlite:///"):  # sqlite:///relative or sqlite:////absolute (SQLAlchemy's form)
                text = text[len("sqlite:///"):]
            self.backend = SQLiteBackend(Path(text))
        self._open()

    # ---- opening and migrating --------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.backend.kind

    @property
    def label(self) -> str:
        """The store as a planner may see it: a file name or a database and schema name."""
        return self.backend.label

    @property
    def path(self) -> Path | None:
        """The SQLite file (``None`` on PostgreSQL)."""
        return getattr(self.backend, "path", None)

    def _check(self, found: tuple[set[str], dict[str, str]] | None, *, empty_ok: bool) -> int | None:
        """The schema version of an existing store; ``None`` when there is none yet."""
        if found is None:
            return None
        tables, meta = found
        if not tables and empty_ok:
            return None
        version = meta.get("schema_version", "")
        ours = tables >= STORE_TABLES and version.isdigit() and (
            meta.get("store") == STORE_MARK or (version == "1" and self._looks_like_v1())
        )
        if not ours:
            raise StoreError("not_a_store", file=self.label)
        if int(version) > SCHEMA_VERSION:
            raise StoreError("newer_store", file=self.label, version=version)
        return int(version)

    def _looks_like_v1(self) -> bool:
        """A schema-1 store had no mark; its scenarios table's columns are the proof (before
        anything is written, a backup included): another program's ``meta`` and ``scenarios``
        tables are not migrated."""
        be = self.backend
        return isinstance(be, SQLiteBackend) and be.columns("scenarios") >= V1_COLUMNS

    def _init_schema(self, con: Connection) -> None:
        for stmt in self.backend.ddl():
            con.execute(stmt)
        self.backend.execute(
            con, "INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('store', ?)",
            (str(SCHEMA_VERSION), STORE_MARK),
        )

    def _open(self) -> None:
        be = self.backend
        try:
            if isinstance(be, SQLiteBackend):
                version = self._check(be.inspect(), empty_ok=False)
                if version is None:
                    be.create(self._init_schema)
                    version = self._check(be.inspect(), empty_ok=False)
                if version == 1:
                    self._migrate_v1()
            else:
                assert isinstance(be, PostgresBackend)
                be.enable_postgis()
                with be.transaction(write=True) as con:
                    be.lock(con)
                    version = self._check(be.inspect(con), empty_ok=True)
                    if version is None:
                        self._init_schema(con)
                    elif not be.outline_column_is_geometry(con):
                        be.postgis = False  # an older store keeps WKB; leave its columns as they are
        except StoreError:
            raise
        except Exception as exc:
            if (problem := self._database_error(exc, "cannot be opened")) is not None:
                raise problem from None
            if isinstance(exc, OSError | ValueError):  # a folder that is a file, a NUL in the path
                log.warning("scenario store %s cannot be opened: %s", be.describe(), exc)
                raise StoreError("bad_location", store=be.label) from None
            raise

    def _migrate_v1(self) -> None:
        """Schema 1 (no owner, names unique as typed) to 2, in one transaction, after a backup."""
        be = self.backend
        assert isinstance(be, SQLiteBackend)
        backup = be.backup("v1")
        with be.transaction(write=True) as con:
            version = dict(con.execute("SELECT key, value FROM meta").fetchall()).get("schema_version")
            if version != "1":
                return  # another process migrated it meanwhile
            con.execute("ALTER TABLE scenarios RENAME TO scenarios_v1")
            for stmt in be.ddl():
                con.execute(stmt)
            rows = con.execute(
                "SELECT id, name, city, city_fingerprint, note, created, updated, k, assignment, roles, "
                "plan_meta FROM scenarios_v1 ORDER BY id"
            ).fetchall()
            taken: set[str] = set()
            for sid, name, city, cfp, note, created, updated, k, assignment, roles, meta in rows:
                shown = display_name(name) or f"#{sid}"
                key, n = name_key(shown), 1
                while key in taken:  # names the new rule makes equal: keep both, numbered
                    n += 1
                    key = name_key(f"{shown} ({n})")
                if n > 1:
                    shown = f"{shown} ({n})"
                taken.add(key)
                con.execute(
                    "INSERT INTO scenarios (id, name, name_key, city, city_fingerprint, layer_fingerprints, "
                    "note, owner, owner_name, author, author_name, created, updated, k, assignment, roles, "
                    "plan_meta) VALUES (?, ?, ?, ?, ?, '{}', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sid, shown, key, city, cfp, note, LOCAL_USER_ID, LOCAL_USER_ID, LOCAL_USER_ID,
                     LOCAL_USER_ID, created, updated, k, assignment, roles, meta),
                )
            con.execute("DROP TABLE scenarios_v1")
            con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('store', ?)", (STORE_MARK,))
        log.info("scenario store %s upgraded to schema %d (backup: %s)", be.describe(), SCHEMA_VERSION,
                 backup.name)

    # ---- helpers ----------------------------------------------------------------------------
    def _run(self, fn: Callable[[Connection], T], *, write: bool) -> T:
        """Run ``fn(con)`` in one transaction; database failures become a planner's message."""
        be = self.backend
        try:
            with be.transaction(write=write) as con:
                return fn(con)
        except StoreError:
            raise
        except Exception as exc:
            if be.is_unique_violation(exc):
                raise _NameRaceError() from None
            if (problem := self._database_error(exc, "failed")) is not None:
                raise problem from None
            raise

    def _database_error(self, exc: BaseException, what: str) -> StoreError | None:
        """The planner's message for a database failure, logged without secrets; ``None`` when
        ``exc`` is no database failure. Refused rights are "no permission" (asking again will
        not help), anything else "unavailable"."""
        be = self.backend
        if be.is_permission_error(exc):
            code = "no_permission"
        elif be.is_database_error(exc):
            code = "unavailable"
        else:
            return None
        log.warning("scenario store %s %s: %s", be.describe(), what, be.error_text(exc))
        return StoreError(code, store=be.label)

    def _row(self, con: Connection, scenario: int | str, columns: str, *, lock: bool = False) -> tuple:
        be = self.backend
        if not isinstance(scenario, str):
            where, arg = "id = ?", int(scenario)
        else:
            where, arg = "name_key = ?", name_key(scenario)
        suffix = " FOR UPDATE" if lock and be.kind == "postgresql" else ""
        row = be.execute(con, f"SELECT {columns} FROM scenarios WHERE {where}{suffix}", (arg,)).fetchone()
        if row is None:
            raise StoreError("not_found", name=str(scenario))
        return tuple(row)

    @staticmethod
    def _user(user: User | None) -> User:
        return local_user() if user is None else user

    @staticmethod
    def _may_change(user: User, owner: str, owner_name: str, name: str) -> None:
        if user.anonymous:
            raise StoreError("sign_in", name=name)
        if not user.can_change(owner):
            raise StoreError("not_owner", name=name, owner=owner_name or owner)

    @staticmethod
    def _valid_name(name: object) -> tuple[str, str]:
        shown = display_name(name)
        key = name_key(shown)
        if not key:
            raise StoreError("empty_name")
        # The longest name and note are settings (a name is a label, a note a paragraph).
        if (length := text_too_long(shown, "max_scenario_name_chars")) is not None:
            limit = text_limit("max_scenario_name_chars")
            raise StoreError("name_too_long", limit=f"{limit:,}", length=f"{length:,}")
        return shown, key

    @staticmethod
    def _valid_note(note: object) -> str:
        text = clean_note(note)
        if (length := text_too_long(text, "max_scenario_note_chars")) is not None:
            limit = text_limit("max_scenario_note_chars")
            raise StoreError("note_too_long", limit=f"{limit:,}", length=f"{length:,}")
        return text

    def _insert_grids(self, con: Connection, sid: int, outlines: Sequence[tuple[str, str,
                      float | None, bytes | None]]) -> None:
        be = self.backend
        for gid, lead, pop, wkb in outlines:
            be.execute(
                con,
                "INSERT INTO scenario_grids (scenario_id, grid_id, lead_id, population, geom) "
                f"VALUES (?, ?, ?, ?, {be.geom_in() if wkb is not None else '?'})",
                (sid, gid, lead, pop, wkb),
            )

    # ---- writing ----------------------------------------------------------------------------
    def save(
        self,
        name: str,
        plan: Plan,
        *,
        city: str,
        city_fingerprint: str,
        note: str = "",
        overwrite: bool = False,
        user: User | None = None,
        layer_fingerprints: Mapping[str, str] | None = None,
        outlines: Sequence[tuple[str, str, float | None, bytes | None]] = (),
    ) -> int:
        """Store ``plan`` under ``name`` and return its id.

        Parameters
        ----------
        name, note : str
            As the user typed them (see :func:`display_name`, :func:`name_key`).
        city, city_fingerprint : str
            The city's name and ``CityLayers.fingerprint()`` of the layers the plan was made on.
        overwrite : bool
            Replace the plan of an existing scenario of that name (its owner or an admin only).
        user : User, optional
            Who saves (default: the local user). Becomes the owner of a new scenario and the
            author of the change.
        layer_fingerprints : mapping, optional
            :func:`layer_fingerprints` of those layers (to say later *what* changed).
        outlines : sequence, optional
            :func:`grid_outlines` of the plan (kept as geometry for GIS clients).

        Raises
        ------
        ScenarioStoreError
            ``empty_name``, ``name_too_long``, ``note_too_long``; ``name_taken`` when the name
            exists and ``overwrite`` is false, or another process saved it at the same moment;
            ``not_owner`` / ``sign_in`` when the user may not overwrite it.
        """
        user = self._user(user)
        shown, key = self._valid_name(name)
        note = self._valid_note(note)
        if user.anonymous:
            raise StoreError("sign_in", name=shown)
        rec = plan_to_record(plan)
        fps = json.dumps(dict(layer_fingerprints or {}), sort_keys=True)
        be = self.backend

        def write(con: Connection) -> int:
            now = be.ts(_now())
            existing = be.execute(
                con, "SELECT id, name, owner, owner_name FROM scenarios WHERE name_key = ?"
                + (" FOR UPDATE" if be.kind == "postgresql" else ""), (key,)
            ).fetchone()
            if existing is not None:
                sid, old_name, owner, owner_name = existing
                if not overwrite:
                    raise StoreError("name_taken", name=old_name)
                self._may_change(user, owner, owner_name, old_name)
                be.execute(
                    con,
                    "UPDATE scenarios SET name = ?, city = ?, city_fingerprint = ?, layer_fingerprints = ?, "
                    "note = ?, author = ?, author_name = ?, updated = ?, k = ?, assignment = ?, roles = ?, "
                    "plan_meta = ? WHERE id = ?",
                    (shown, city, city_fingerprint, fps, note, user.id, user.name, now, plan.k,
                     rec["assignment"], rec["roles"], rec["plan_meta"], sid),
                )
                be.execute(con, "DELETE FROM scenario_grids WHERE scenario_id = ?", (sid,))
            else:
                sid = be.execute(
                    con,
                    "INSERT INTO scenarios (name, name_key, city, city_fingerprint, layer_fingerprints, note, "
                    "owner, owner_name, author, author_name, created, updated, k, assignment, roles, plan_meta) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (shown, key, city, city_fingerprint, fps, note, user.id, user.name, user.id, user.name,
                     now, now, plan.k, rec["assignment"], rec["roles"], rec["plan_meta"]),
                ).fetchone()[0]
            self._insert_grids(con, int(sid), outlines)
            return int(sid)

        # A unique-index violation means another process saved this name between our look and our
        # insert: with ``overwrite`` look again (the row is there now), otherwise the name is taken.
        for attempt in range(2):
            try:
                return self._run(write, write=True)
            except _NameRaceError:
                if not overwrite or attempt:
                    raise StoreError("name_taken", name=shown) from None
        raise AssertionError("unreachable")

    def rename(self, scenario: int | str, new_name: str, *, user: User | None = None) -> None:
        """Give a scenario another name (its owner or an admin only).

        Raises
        ------
        ScenarioStoreError
            ``not_found``, ``not_owner``, ``sign_in``, ``empty_name``, ``name_too_long``,
            ``name_taken`` (another scenario has that name).
        """
        user = self._user(user)
        shown, key = self._valid_name(new_name)
        be = self.backend

        def write(con: Connection) -> None:
            sid, name, owner, owner_name = self._row(con, scenario, "id, name, owner, owner_name", lock=True)
            self._may_change(user, owner, owner_name, name)
            other = be.execute(con, "SELECT name FROM scenarios WHERE name_key = ? AND id <> ?",
                               (key, sid)).fetchone()
            if other is not None:
                raise StoreError("name_taken", name=other[0])
            be.execute(con, "UPDATE scenarios SET name = ?, name_key = ?, author = ?, author_name = ?, "
                            "updated = ? WHERE id = ?", (shown, key, user.id, user.name, be.ts(_now()), sid))

        try:
            self._run(write, write=True)
        except _NameRaceError:
            raise StoreError("name_taken", name=shown) from None

    def set_note(self, scenario: int | str, note: str, *, user: User | None = None) -> None:
        """Replace a scenario's note (its owner or an admin only)."""
        user = self._user(user)
        note = self._valid_note(note)
        be = self.backend

        def write(con: Connection) -> None:
            sid, name, owner, owner_name = self._row(con, scenario, "id, name, owner, owner_name", lock=True)
            self._may_change(user, owner, owner_name, name)
            be.execute(con, "UPDATE scenarios SET note = ?, author = ?, author_name = ?, updated = ? "
                            "WHERE id = ?", (note, user.id, user.name, be.ts(_now()), sid))

        self._run(write, write=True)

    def duplicate(self, scenario: int | str, new_name: str, *, user: User | None = None) -> int:
        """Copy a scenario (anybody who is signed in may); the copy belongs to ``user``."""
        user = self._user(user)
        shown, key = self._valid_name(new_name)
        if user.anonymous:
            raise StoreError("sign_in", name=shown)
        be = self.backend

        def write(con: Connection) -> int:
            # Locked: a delete in another session waits for the copy (or the copy sees it gone).
            (src,) = self._row(con, scenario, "id", lock=True)
            taken = be.execute(con, "SELECT name FROM scenarios WHERE name_key = ?", (key,)).fetchone()
            if taken is not None:
                raise StoreError("name_taken", name=taken[0])
            now = be.ts(_now())
            row = be.execute(
                con,
                "INSERT INTO scenarios (name, name_key, city, city_fingerprint, layer_fingerprints, note, "
                "owner, owner_name, author, author_name, created, updated, k, assignment, roles, plan_meta) "
                "SELECT ?, ?, city, city_fingerprint, layer_fingerprints, note, ?, ?, ?, ?, ?, ?, k, "
                "assignment, roles, plan_meta FROM scenarios WHERE id = ? RETURNING id",
                (shown, key, user.id, user.name, user.id, user.name, now, now, src),
            ).fetchone()
            if row is None:
                raise StoreError("not_found", name=str(scenario))
            sid = row[0]
            be.execute(
                con,
                "INSERT INTO scenario_grids (scenario_id, grid_id, lead_id, population, geom) "
                "SELECT ?, grid_id, lead_id, population, geom FROM scenario_grids WHERE scenario_id = ?",
                (sid, src),
            )
            return int(sid)

        try:
            return self._run(write, write=True)
        except _NameRaceError:
            raise StoreError("name_taken", name=shown) from None

    def delete(self, scenario: int | str, *, user: User | None = None) -> None:
        """Remove a scenario (by id or name; its owner or an admin only)."""
        user = self._user(user)
        be = self.backend

        def write(con: Connection) -> None:
            sid, name, owner, owner_name = self._row(con, scenario, "id, name, owner, owner_name", lock=True)
            self._may_change(user, owner, owner_name, name)
            be.execute(con, "DELETE FROM scenario_grids WHERE scenario_id = ?", (sid,))
            be.execute(con, "DELETE FROM scenarios WHERE id = ?", (sid,))

        self._run(write, write=True)

    # ---- reading ----------------------------------------------------------------------------
    def _info(self, row: Sequence[Any]) -> ScenarioInfo:
        values = dict(zip(_INFO_COLUMNS, row, strict=True))
        values["id"] = int(values["id"])
        values["k"] = int(values["k"])
        for col in ("created", "updated"):
            values[col] = self.backend.ts_text(values[col])
        try:
            fps = json.loads(values["layer_fingerprints"] or "{}")
        except ValueError:
            fps = {}
        values["layer_fingerprints"] = {str(k): str(v) for k, v in fps.items()} if isinstance(fps, dict) else {}
        return ScenarioInfo(**values)

    def list(self, city_fingerprint: str | None = None) -> pd.DataFrame:
        """Saved scenarios, most recently changed first: one row per scenario with the columns of
        :class:`ScenarioInfo`."""
        sql = f"SELECT {', '.join(_INFO_COLUMNS)} FROM scenarios"
        args: tuple = ()
        if city_fingerprint is not None:
            sql += " WHERE city_fingerprint = ?"
            args = (city_fingerprint,)
        rows = self._run(lambda con: self.backend.execute(
            con, sql + " ORDER BY updated DESC, id DESC", args).fetchall(), write=False)
        infos = [vars(self._info(r)) for r in rows]
        return pd.DataFrame(infos, columns=list(_INFO_COLUMNS))

    def info(self, scenario: int | str) -> ScenarioInfo:
        """Name, owner, times, note and fingerprints of a scenario (``not_found`` when none)."""
        return self._info(self._run(lambda con: self._row(con, scenario, ", ".join(_INFO_COLUMNS)), write=False))

    def load(self, scenario: int | str) -> Plan:
        """The plan saved under an id or a name (``not_found`` when none)."""
        row = self._run(lambda con: self._row(con, scenario, "assignment, roles, plan_meta"), write=False)
        return plan_from_record(*row)

    def outlines(self, scenario: int | str):
        """The scenario's grid outlines as a GeoDataFrame in EPSG:4326 (grid_id, lead_id, population)."""
        be = self.backend

        def read(con: Connection) -> list:
            (sid,) = self._row(con, scenario, "id")
            return be.execute(
                con, f"SELECT grid_id, lead_id, population, {be.geom_out('geom')} FROM scenario_grids "
                     "WHERE scenario_id = ? ORDER BY fid", (sid,)).fetchall()

        rows = self._run(read, write=False)
        geoms = [shapely.from_wkb(bytes(r[3])) if r[3] is not None else None for r in rows]
        return gpd.GeoDataFrame(
            {"grid_id": [r[0] for r in rows], "lead_id": [r[1] for r in rows],
             "population": [r[2] for r in rows]}, geometry=geoms, crs=4326)


class _NameRaceError(Exception):
    """Internal: the unique name index refused a write (another process was first)."""
