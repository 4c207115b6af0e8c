"""Process entry points for the concurrency tests (importable by a spawned interpreter)."""

from __future__ import annotations


def save_same_name(location: str, schema: str | None, name: str, user_id: str, barrier, results) -> None:
    """Open the store, wait for every other process, then save ``name``; report the outcome."""
    from plan_fixtures import make_plan

    from grid_planning.store.identity import User
    from grid_planning.store.scenarios import ScenarioStore

    store = ScenarioStore(location, schema=schema)
    plan = make_plan().with_params(saved_by=user_id)
    barrier.wait(timeout=60)
    try:
        sid = store.save(name, plan, city="c", city_fingerprint="f", user=User(user_id, user_id, "header"))
        results.put((user_id, "ok", sid))
    except Exception as exc:  # noqa: BLE001 - the test asserts on the exact type and code
        results.put((user_id, type(exc).__name__, getattr(exc, "code", str(exc))))


def open_new_store(location: str, barrier, results) -> None:
    """Open (create) the same new store as other processes at the same moment."""
    from grid_planning.store.scenarios import ScenarioStore

    barrier.wait(timeout=60)
    try:
        store = ScenarioStore(location)
        results.put(("ok", len(store.list())))
    except Exception as exc:  # noqa: BLE001
        results.put((type(exc).__name__, str(exc)))
