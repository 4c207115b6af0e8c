"""Scenario store on both backends: round trips, names, owners, restarts, races between processes,
files that are not a store, and the upgrade of a store written by the single-user version (v1).

Every store test runs on an SQLite file and on a real PostgreSQL server (``store_location``; see
``tests/store_fixtures.py``).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import secrets
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from store_fixtures import PG_URL, drop_schema, new_schema, require_pg

from grid_planning.domain.plan import ChecklistEntry, FacilityEdit, Plan, PolicyException
from grid_planning.domain.request import request_from_plan, with_request
from grid_planning.store.identity import ANONYMOUS, User
from grid_planning.store.scenarios import (
    SCHEMA_VERSION,
    ScenarioStore,
    ScenarioStoreError,
    display_name,
    name_key,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
ALICE = User("alice@example.cn", "Alice", "header")
BOB = User("bob@example.cn", "Bob", "header")
BOSS = User("boss@example.cn", "Boss", "header", is_admin=True)


def _plan() -> Plan:
    assignment = pd.Series({"u1": "G1", "u2": "G1", "u3": "G2"}, name="grid_id")
    leads = pd.Series({"G1": "H1", "G2": "H2"})
    roles = pd.DataFrame(
        {
            "grid_id": ["G1", "G2", "", "G1"],
            "role": ["lead", "lead", "collaborator", "primary"],
            "home_grid": ["G1", "G2", "G1", "G1"],
            "supports": ["", "", "G1,G2", ""],
        },
        index=pd.Index(["H1", "H2", "P1", "C1"], name="id"),
    )
    return Plan(
        assignment=assignment,
        leads=leads,
        roles=roles,
        locks=(("u2", "G1"),),
        exceptions=(PolicyException("G5", "H2", "仅有的护理院在网格边界外 500 米"),),
        edits=(FacilityEdit("modify", "S1", (("level", "tertiary"),)),),
        params=(("k", 2), ("balance", 0.3)),
        checklist=(ChecklistEntry("H1", 2, "done", "章程已签署"),),
    )


def _save(store, name, plan=None, **kw):
    return store.save(name, plan or _plan(), city=kw.pop("city", "c"), city_fingerprint=kw.pop("fp", "f"), **kw)


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises(ScenarioStoreError) as err:
        fn(*args, **kwargs)
    return err.value.code


# ---- round trips ----------------------------------------------------------------------------------
def test_round_trip_keeps_every_part_of_the_plan(store_location):
    store = store_location.open()
    assert store.kind == store_location.kind
    plan = _plan()
    sid = store.save("方案 A", plan, city="武汉市", city_fingerprint="abc", note="k=2",
                     layer_fingerprints={"units": "u1", "facilities": "f1"})
    back = store.load(sid)
    assert back.assignment.to_dict() == plan.assignment.to_dict()
    assert back.leads.to_dict() == {"G1": "H1", "G2": "H2"}
    assert back.roles.loc["P1", "supports"] == "G1,G2"
    assert back.roles.loc["P1", "grid_id"] == ""
    assert back.locks == (("u2", "G1"),)
    assert back.exceptions == plan.exceptions
    assert back.edits == plan.edits
    assert back.param_map == {"k": 2, "balance": 0.3}
    assert back.checklist == plan.checklist
    assert store.load("方案 A").k == 2
    listed = store.list("abc")
    assert listed["name"].tolist() == ["方案 A"] and listed["k"].tolist() == [2]
    assert listed["owner"].tolist() == ["local"] and listed["note"].tolist() == ["k=2"]
    assert store.list("other").empty
    info = store.info(sid)
    assert info.layer_fingerprints == {"units": "u1", "facilities": "f1"}
    assert info.created == info.updated and info.created.endswith("+00:00")


def test_existing_name_is_never_overwritten_silently(store_location):
    store = store_location.open()
    _save(store, "A")
    assert _code(_save, store, "A", _plan().with_params(k=3)) == "name_taken"
    assert store.load("A").param_map["k"] == 2
    _save(store, "A", _plan().with_params(k=3), overwrite=True)
    assert store.load("A").param_map["k"] == 3
    assert len(store.list()) == 1


def test_create_rename_duplicate_note_delete_survive_a_restart(store_location):
    store = store_location.open()
    a = _save(store, "Option A", user=ALICE, note="first")
    b = _save(store, "Option B", user=ALICE)
    store.rename(a, "Option A2", user=ALICE)
    store.set_note(b, "moved the river units\nsecond line", user=ALICE)
    c = store.duplicate(b, "Option C", user=BOB)
    store.delete(a, user=ALICE)
    del store
    again = store_location.open()  # a new store object: the server restarted
    listed = again.list().set_index("name")
    assert sorted(listed.index) == ["Option B", "Option C"]
    assert listed.loc["Option B", "note"] == "moved the river units\nsecond line"
    assert listed.loc["Option C", "note"] == "moved the river units\nsecond line"
    assert (listed.loc["Option C", "owner"], listed.loc["Option C", "author"]) == (BOB.id, BOB.id)
    assert (listed.loc["Option B", "owner"], listed.loc["Option B", "author_name"]) == (ALICE.id, "Alice")
    assert again.load(c).assignment.to_dict() == _plan().assignment.to_dict()
    assert _code(again.load, a) == "not_found"
    assert _code(again.load, "Option A2") == "not_found"


# ---- names ----------------------------------------------------------------------------------------
SAME_NAMES = [
    "plan a",
    "Ｐｌａｎ Ａ",  # full width letters and ideographic space
    "Plan\u200bA",  # zero-width space
    "PLAN\u00ad A",  # soft hyphen
    "\u202ePlan A\u202c",  # bidi override
    "\ufeffplan\u2060a",  # BOM, word joiner
    "Plan A\ufe0f",  # variation selector
    "  plan\t\na  ",
    # Default_Ignorable code points a hand-made list missed: Mongolian FVS4, the Khitan filler,
    # an unassigned one (U+2065), a tag character.
    "Plan\u180f A",
    "Plan A\U00016fe4",
    "Plan\u2065 A",
    "Plan A\U000e0041",
]


def test_name_key_folds_width_case_space_and_invisibles():
    assert len({name_key(n) for n in SAME_NAMES}) == 1
    assert name_key("方案 A") == name_key("方案Ａ")
    assert name_key("方案 A") != name_key("方案 B")
    assert name_key("Straße") == name_key("STRASSE")  # full case folding
    assert name_key("\u200b\u200d \u00ad") == ""
    # Shown as typed, only the invisible characters gone and white space tidied.
    assert display_name("Ｐｌａｎ Ａ") == "Ｐｌａｎ Ａ"
    assert display_name("Plan\u200bA") == "PlanA"
    assert display_name("\u202ePlan  A\u202c\n") == "Plan A"


def test_one_name_however_it_is_typed(store_location):
    store = store_location.open()
    sid = _save(store, "Plan\u200b A\u00ad")
    assert store.info(sid).name == "Plan A"
    for variant in SAME_NAMES:
        assert _code(_save, store, variant) == "name_taken", repr(variant)
        assert store.info(variant).id == sid  # and it finds the scenario
    other = _save(store, "Plan B")
    assert _code(store.rename, other, "ｐｌａｎａ") == "name_taken"
    assert _code(store.duplicate, sid, "PLAN\u200dA") == "name_taken"
    assert _code(_save, store, "\u200b \u2060") == "empty_name"
    assert _code(_save, store, "x" * 121) == "name_too_long"
    assert len(store.list()) == 2


def test_name_and_note_bounds_are_settings(store_location, monkeypatch):
    store = store_location.open()
    monkeypatch.setenv("GRID_PLANNER_MAX_SCENARIO_NAME_CHARS", "8")
    monkeypatch.setenv("GRID_PLANNER_MAX_SCENARIO_NOTE_CHARS", "12")
    sid = _save(store, "方案甲乙丙丁戊己", note="备注" * 6)
    with pytest.raises(ScenarioStoreError) as err:
        _save(store, "方案甲乙丙丁戊己庚")
    assert err.value.code == "name_too_long"
    assert err.value.message("en") == "The scenario name has 9 characters, more than the 8 allowed; shorten it."
    assert _code(store.rename, sid, "方案甲乙丙丁戊己庚") == "name_too_long"
    assert _code(store.duplicate, sid, "x" * 9) == "name_too_long"
    assert _code(store.set_note, sid, "备注" * 6 + "。") == "note_too_long"
    assert _code(_save, store, "方案二", note="x" * 13) == "note_too_long"
    assert len(store.list()) == 1 and store.info(sid).note == "备注" * 6


# ---- owners ---------------------------------------------------------------------------------------
def test_only_owner_or_admin_changes_anybody_opens_and_duplicates(store_location):
    store = store_location.open()
    sid = _save(store, "Alice's", user=ALICE)
    for act in (
        lambda u: store.rename(sid, "Renamed", user=u),
        lambda u: store.set_note(sid, "mine now", user=u),
        lambda u: _save(store, "alice's", _plan().with_params(k=9), overwrite=True, user=u),
        lambda u: store.delete(sid, user=u),
    ):
        assert _code(act, BOB) == "not_owner"
        assert _code(act, ANONYMOUS) == "sign_in"
    assert store.load(sid).param_map["k"] == 2 and store.info(sid).name == "Alice's"
    # Bob may open and duplicate; the copy is his and Alice cannot delete it.
    assert store.load(sid).k == 2
    copy = store.duplicate(sid, "Bob's copy", user=BOB)
    assert store.info(copy).owner == BOB.id
    assert _code(store.delete, copy, user=ALICE) == "not_owner"
    # The owner may; identities compare without case.
    store.rename(sid, "Alice v2", user=User("ALICE@example.cn", "Alice", "auth"))
    # An administrator may change anybody's, and is recorded as the author.
    store.set_note(sid, "checked", user=BOSS)
    info = store.info(sid)
    assert (info.owner, info.author, info.note) == (ALICE.id, BOSS.id, "checked")
    _save(store, "alice v2", _plan().with_params(k=5), overwrite=True, user=BOSS)
    assert store.info(sid).owner == ALICE.id and store.load(sid).param_map["k"] == 5
    store.delete(sid, user=BOSS)
    store.delete(copy, user=BOB)
    assert store.list().empty
    assert _code(_save, store, "nobody's", user=ANONYMOUS) == "sign_in"


def test_not_owner_message_names_the_owner_not_the_identity_source(store_location):
    store = store_location.open()
    sid = _save(store, "A", user=ALICE)
    with pytest.raises(ScenarioStoreError) as err:
        store.delete(sid, user=BOB)
    assert "Alice" in err.value.message("en") and "Alice" in err.value.message("zh")


# ---- concurrency ----------------------------------------------------------------------------------
N_PROCESSES = 4


def _race(target, args_for) -> list[tuple]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(N_PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_for(i), barrier, results)) for i in range(N_PROCESSES)]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return out


def test_processes_saving_one_name_at_once_give_one_winner(store_location):
    from store_workers import save_same_name

    store_location.open()  # the store exists; the race is on the name
    out = _race(save_same_name, lambda i: (store_location.location, store_location.schema,
                                            ["Plan A", "plan a", "Ｐｌａｎ Ａ", "Plan\u200bA"][i], f"user{i}"))
    winners = [o for o in out if o[1] == "ok"]
    losers = [o for o in out if o[1] != "ok"]
    assert len(winners) == 1, out
    assert all(o[1:] == ("StoreError", "name_taken") for o in losers), out
    store = store_location.open()
    listed = store.list()
    assert len(listed) == 1 and listed["owner"].iloc[0] == winners[0][0]
    assert store.load(int(listed["id"].iloc[0])).param_map["saved_by"] == winners[0][0]


def test_processes_creating_one_new_sqlite_store_at_once(tmp_path):
    from store_workers import open_new_store

    path = tmp_path / "new" / "scenarios.sqlite"
    out = _race(open_new_store, lambda i: (str(path),))
    assert out == [("ok", 0)] * N_PROCESSES
    assert sorted(p.name for p in path.parent.iterdir()) == ["scenarios.sqlite"]  # no temp file left


# ---- files and schemas that are not a store -------------------------------------------------------
def _empty_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.execute("DROP TABLE t")
    con.commit()
    con.execute("VACUUM")
    con.close()


def _sqlite(*statements: str):
    """A maker of a SQLite file holding what ``statements`` make."""

    def make(path: Path) -> None:
        con = sqlite3.connect(path)
        for stmt in statements:
            con.execute(stmt)
        con.commit()
        con.close()

    return make


_PATIENTS = ("CREATE TABLE patients (id INTEGER, name TEXT)", "INSERT INTO patients VALUES (1, 'x')")
_foreign_sqlite = _sqlite(*_PATIENTS)
# In WAL mode even a read-only reader left -wal and -shm files beside it.
_foreign_wal_sqlite = _sqlite("PRAGMA journal_mode=WAL", *_PATIENTS)
# Tables with our names but not our content (no schema version): still not a store.
_LOOKALIKE = ("CREATE TABLE meta (key TEXT, value TEXT)", "CREATE TABLE scenarios (id INTEGER)")
_lookalike_sqlite = _sqlite(*_LOOKALIKE)
# Another program's meta says schema_version 1, as our unmarked schema 1 did: it was backed up
# and half-migrated ("cannot be reached right now") instead of refused.
_versioned_lookalike_sqlite = _sqlite(*_LOOKALIKE, "INSERT INTO meta VALUES ('schema_version', '1')")


@pytest.mark.parametrize("make", [
    lambda p: p.write_bytes(b""),
    _empty_sqlite,
    _foreign_sqlite,
    _foreign_wal_sqlite,
    _lookalike_sqlite,
    _versioned_lookalike_sqlite,
    lambda p: p.write_text("not a database at all\n" * 100),
    lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200),
], ids=["zero_bytes", "empty_sqlite", "foreign_sqlite", "foreign_wal", "lookalike_sqlite", "lookalike_v1", "text",
        "truncated_header"])
def test_a_file_that_is_not_a_store_is_never_modified(tmp_path, make):
    folder = tmp_path / "secret_server_folder"
    folder.mkdir()
    path = folder / "other.sqlite"
    make(path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    listing = sorted(p.name for p in folder.iterdir())
    with pytest.raises(ScenarioStoreError) as err:
        ScenarioStore(path)
    assert err.value.code == "not_a_store"
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in folder.iterdir()) == listing  # no journal, no backup
    for lang in ("zh", "en"):
        text = err.value.message(lang)
        assert "other.sqlite" in text and "secret_server_folder" not in text and str(tmp_path) not in text


def test_a_folder_is_not_a_store(tmp_path):
    (tmp_path / "dir.sqlite").mkdir()
    assert _code(ScenarioStore, tmp_path / "dir.sqlite") == "not_a_store"


def test_a_store_from_a_newer_version_is_left_alone(tmp_path):
    path = tmp_path / "s.sqlite"
    ScenarioStore(path)
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    before = path.read_bytes()
    assert _code(ScenarioStore, path) == "newer_store"
    assert path.read_bytes() == before


@pytest.mark.postgres
def test_a_foreign_postgres_schema_is_never_modified():
    import psycopg

    require_pg()
    schema = new_schema()
    try:
        with psycopg.connect(PG_URL, autocommit=True) as con:
            con.execute(f'CREATE SCHEMA "{schema}"')
            con.execute(f'CREATE TABLE "{schema}".patients (id int)')
        with pytest.raises(ScenarioStoreError) as err:
            ScenarioStore(PG_URL, schema=schema)
        assert err.value.code == "not_a_store"
        with psycopg.connect(PG_URL, autocommit=True) as con:
            tables = [r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))]
        assert tables == ["patients"]
        assert "@" not in err.value.message("en")  # no user or host in the message
    finally:
        drop_schema(schema)


@pytest.mark.postgres
def test_an_unreachable_server_is_a_message_without_the_password():
    require_pg()
    url = "postgresql://planner:s3cret@127.0.0.1:9/nowhere"
    with pytest.raises(ScenarioStoreError) as err:
        ScenarioStore(url, schema="x")
    assert err.value.code == "unavailable"
    assert "s3cret" not in err.value.message("en") and "nowhere" in err.value.message("en")


@pytest.mark.postgres
def test_a_malformed_url_never_puts_the_password_in_the_log(caplog):
    require_pg()
    for url in ("postgresql://planner:S3cret%zzPW@127.0.0.1:9/nowhere",
                "postgresql://planner:S3cretPW@[127.0.0.1:9/nowhere"):
        with caplog.at_level("WARNING"), pytest.raises(ScenarioStoreError):
            ScenarioStore(url, schema="x")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged and "S3cret" not in logged  # libpq quoted the token, or the whole URL


@pytest.mark.postgres
def test_a_key_value_connection_string_is_postgres_not_a_file_name(tmp_path, monkeypatch):
    """libpq's "host=… dbname=…" form was taken for a SQLite file of that name."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    require_pg()
    monkeypatch.chdir(tmp_path)
    schema = new_schema()
    try:
        store = ScenarioStore(make_conninfo(**conninfo_to_dict(PG_URL)), schema=schema)
        assert store.kind == "postgresql"
        _save(store, "A")
        assert list(ScenarioStore(PG_URL, schema=schema).list()["name"]) == ["A"]
        assert list(tmp_path.iterdir()) == []
    finally:
        drop_schema(schema)


@pytest.fixture()
def planner_role():
    """A login role of its own (the test server trusts local logins) and its URL; dropped after."""
    from urllib.parse import urlsplit

    import psycopg

    require_pg()
    role = f"planner_{secrets.token_hex(4)}"
    parts = urlsplit(PG_URL)
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f'CREATE ROLE "{role}" LOGIN')
        con.execute(f'GRANT CREATE ON DATABASE "{parts.path.lstrip("/")}" TO "{role}"')
        con.execute(f'GRANT CREATE ON SCHEMA public TO "{role}"')  # everyone's, before PostgreSQL 15
    yield role, f"postgresql://{role}@{parts.hostname}:{parts.port}{parts.path}"
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f'DROP OWNED BY "{role}" CASCADE')
        con.execute(f'DROP ROLE "{role}"')


def _public_tables() -> set[str]:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as con:
        return {r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


@pytest.mark.postgres
def test_postgres_rights_are_checked_not_worked_around(planner_role):
    """A schema the account may not use looked absent (information_schema lists only what it has
    rights on): the store was created in "public", the team's scenarios invisible; tables it
    could not read in another application's schema looked absent, and the store's were added."""
    import psycopg

    role, url = planner_role
    team, app = new_schema(), new_schema()
    public_before = _public_tables()
    try:
        _save(ScenarioStore(PG_URL, schema=team), "团队方案")
        with psycopg.connect(PG_URL, autocommit=True) as con:
            con.execute(f'CREATE SCHEMA "{app}"')
            con.execute(f'CREATE TABLE "{app}".patients (id int)')
            con.execute(f'GRANT USAGE, CREATE ON SCHEMA "{app}" TO "{role}"')
        with pytest.raises(ScenarioStoreError) as err:
            ScenarioStore(url, schema=team)
        assert err.value.code == "no_permission" and team in err.value.message("en")
        with pytest.raises(ScenarioStoreError) as err:
            ScenarioStore(url, schema=app)
        assert err.value.code == "not_a_store"
        # Reading granted, writing not: the list works, a save says why it cannot be done.
        with psycopg.connect(PG_URL, autocommit=True) as con:
            con.execute(f'GRANT USAGE ON SCHEMA "{team}" TO "{role}"')
            con.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{team}" TO "{role}"')
        reader = ScenarioStore(url, schema=team)
        assert list(reader.list()["name"]) == ["团队方案"]
        with pytest.raises(ScenarioStoreError) as err:
            _save(reader, "我的方案")
        assert err.value.code == "no_permission"
        with psycopg.connect(PG_URL, autocommit=True) as con:
            tables = {r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (app,))}
        assert tables == {"patients"}
        assert _public_tables() == public_before
    finally:
        drop_schema(team)
        drop_schema(app)


def test_a_duplicate_of_a_scenario_deleted_meanwhile_is_not_found(store_location, monkeypatch):
    """On PostgreSQL a delete landing between duplicate's two statements gave a TypeError."""
    store = store_location.open()
    sid = _save(store, "A")
    store.delete(sid)
    monkeypatch.setattr(store, "_row", lambda con, scenario, columns, lock=False: (sid,))
    assert _code(store.duplicate, sid, "B") == "not_found"


def test_a_store_location_that_cannot_be_a_folder_is_named_not_raised(tmp_path):
    (tmp_path / "afile").write_text("x")
    for where in (tmp_path / "afile" / "scenarios.sqlite", str(tmp_path / "a\0b.sqlite")):
        with pytest.raises(ScenarioStoreError) as err:
            ScenarioStore(where)
        assert err.value.code == "bad_location"
        assert str(tmp_path) not in err.value.message("en")


def test_a_read_only_store_says_so(tmp_path, monkeypatch):
    """A store the server may read but not write (a file mode, a read-only mount) said "cannot be
    reached right now, try again later"; asking again cannot help. The database is opened
    read-only the way SQLite reports it (mode=ro: SQLITE_READONLY, as for a read-only file;
    file modes do not bind the root user the suite may run as)."""
    import sqlite3

    from grid_planning.store.backends import SQLiteBackend

    path = tmp_path / "scenarios.sqlite"
    _save(ScenarioStore(path), "A")
    store = ScenarioStore(path)

    def read_only(self):
        return sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, isolation_level=None)

    monkeypatch.setattr(SQLiteBackend, "connect", read_only)
    assert list(store.list()["name"]) == ["A"]
    assert _code(_save, store, "B") == "no_permission"
    assert "scenarios.sqlite" in str(store.label)


# ---- upgrade of a v1 store ------------------------------------------------------------------------
def test_a_v1_store_is_upgraded_and_nothing_is_lost(tmp_path):
    # tests/fixtures/scenarios_v1.sqlite was written by the single-user store (schema 1, no owners):
    # "方案 A", "plan a" and "Plan A" (two names the new rule makes one).
    path = tmp_path / "scenarios.sqlite"
    shutil.copy(FIXTURES / "scenarios_v1.sqlite", path)
    old = sqlite3.connect(path)
    old_rows = {r[0]: r[1:] for r in old.execute("SELECT id, name, assignment, plan_meta FROM scenarios")}
    old.close()
    store = ScenarioStore(path)
    con = sqlite3.connect(path)
    assert dict(con.execute("SELECT key, value FROM meta"))["schema_version"] == str(SCHEMA_VERSION)
    con.close()
    assert (tmp_path / "scenarios.sqlite.v1.bak").exists()
    listed = store.list().set_index("id")
    assert sorted(listed.index) == sorted(old_rows)
    assert listed.loc[1, "name"] == "方案 A" and listed.loc[2, "name"] == "plan a"
    assert listed.loc[3, "name"] == "Plan A (2)"  # kept, numbered, not lost
    assert set(listed["owner"]) == {"local"}
    for sid, (_name, assignment, meta) in old_rows.items():
        plan = store.load(sid)
        parts = Plan.parts_from_meta(meta)
        assert plan.exceptions == parts["exceptions"] and plan.checklist == parts["checklist"]
        assert plan.leads.to_dict() == parts["leads"].to_dict()
        assert plan.assignment.to_dict() == json.loads(assignment)
    assert store.load(1).exceptions[0].reason == "护理院在边界外"
    assert store.load(1).checklist[0].note == "章程已签署"
    assert store.load(3).param_map["variant"] == "upper"
    # The local user owns the old scenarios; another user can only read them.
    store.rename(1, "方案 甲")
    assert _code(store.delete, 2, user=BOB) == "not_owner"
    # Opening it again (another process, a restart) does not migrate twice.
    again = ScenarioStore(path)
    assert len(again.list()) == 3 and again.info(1).name == "方案 甲"


def test_scenarios_of_a_v1_store_load_their_request(tmp_path):
    path = tmp_path / "scenarios.sqlite"
    shutil.copy(FIXTURES / "scenarios_v1.sqlite", path)
    store = ScenarioStore(path)
    req = request_from_plan(store.load(1))
    assert req.k == 2 and req.g5_waivers == (("F2", "护理院在边界外"),)
    # saved again, the request is kept in today's shape and reads back the same
    store.save("again", with_request(store.load(1), req), city="c", city_fingerprint="c")
    assert request_from_plan(store.load("again")) == req
