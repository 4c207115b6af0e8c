"""Maps shared between sessions: content keys (grid_planning.base.cache) and the rendered map the
pages keep (pages._map.render_payload / show_map), which must be exactly what st_folium sends."""

from __future__ import annotations

import pytest
import streamlit_folium
from plan_fixtures import make_costs, make_layers, make_plan

from grid_planning.assess.metrics import unit_metrics
from grid_planning.base.cache import content_key, plan_digest
from grid_planning.domain.plan import FacilityEdit
from grid_planning.maps import overview, planmap


@pytest.fixture(scope="module")
def city():
    layers = make_layers()
    plan = make_plan()
    return layers, plan, unit_metrics(layers, plan, make_costs())


def test_plan_digest_follows_what_is_drawn_not_when_it_was_made(city):
    _, plan, _ = city
    base = plan_digest(plan)
    assert plan_digest(plan) == base  # memoised, stable
    # Made at another moment, in another time: the same plan.
    assert plan_digest(plan.with_params(created="2030-01-01T00:00:00", seconds=9.9)) == base
    # A copy with the same content (another session's plan): the same digest.
    twin = type(plan)(plan.assignment.copy(), plan.leads.copy(), plan.roles.copy(), params=plan.params)
    assert plan_digest(twin) == base
    # Anything drawn differently: another digest.
    moved = plan.assignment.copy()
    moved["U00"] = "G2"
    changed = [
        plan.with_assignment(moved),
        plan.with_locks(["U00"], "G1"),
        plan.with_params(k=3),
        type(plan)(plan.assignment, plan.leads.rename({"G1": "G1"}).replace({"F1": "F3"}), plan.roles,
                   params=plan.params),
        type(plan)(plan.assignment, plan.leads, plan.roles.assign(role="member"), params=plan.params),
        type(plan)(plan.assignment, plan.leads, plan.roles, params=plan.params,
                   edits=(FacilityEdit(action="close", facility_id="F3"),)),
    ]
    digests = [plan_digest(p) for p in changed]
    assert base not in digests and len(set(digests)) == len(digests)


def test_map_key_separates_every_part_and_keeps_none_in_the_clear():
    a = content_key("home", "fp1", "zh", "tianditu", "0123456789abcdef")
    assert a == content_key("home", "fp1", "zh", "tianditu", "0123456789abcdef")
    others = {
        content_key("home", "fp2", "zh", "tianditu", "0123456789abcdef"),
        content_key("home", "fp1", "en", "tianditu", "0123456789abcdef"),
        content_key("home", "fp1", "zh", "tianditu", "0123456789abcdeg"),
        content_key("plan", "fp1", "zh", "tianditu", "0123456789abcdef"),
        content_key("home", "fp1", "zh", ("tianditu", "0123456789abcdef")),
    }
    assert a not in others and len(others) == 5
    assert "0123456789abcdef" not in a and len(a) == 64


@pytest.mark.parametrize("which", ["home", "plan"])
def test_the_kept_map_is_exactly_what_st_folium_sends(city, which, monkeypatch):
    """show_map skips st_folium's rendering when the map is kept; our component (streamlit-folium's
    vendored front-end) must receive the same arguments as st_folium gives its own (a
    streamlit-folium upgrade that changes them fails here)."""
    from pages import _map

    layers, plan, ud = city

    def build():
        if which == "home":
            return overview.city_overview_map(layers, lang="en")
        return planmap.plan_map(layers, plan, unit_df=ud, selection=["U00"], lang="en", view_key="plan")

    sent: list[dict] = []
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: sent.append(kw))
    monkeypatch.setattr(_map, "map_component", lambda **kw: sent.append(kw))
    returned = ["last_clicked", "last_object_clicked", "last_object_clicked_count", "last_active_drawing"]
    streamlit_folium.st_folium(build(), key="m", height=500, use_container_width=True,
                               returned_objects=returned)
    _map.show_map(build, key="m", height=500, returned_objects=returned)
    payload = _map.render_payload(build())
    ours, theirs = sent[1], sent[0]
    assert ours.keys() == theirs.keys()
    for name in theirs:
        if name not in ("on_change", "default"):
            assert ours[name] == theirs[name], name
    # The one deliberate difference: the click count starts at 0, as in the browser (else every
    # newly drawn map sends a value and reruns the page).
    assert ours["default"] == {**theirs["default"], "last_object_clicked_count": 0}
    assert payload.script == theirs["script"] and payload.header == theirs["header"]


def test_a_kept_map_is_built_once_per_key(city, monkeypatch):
    from pages import _map

    layers, plan, ud = city
    sent: list[dict] = []
    monkeypatch.setattr(_map, "map_component", lambda **kw: sent.append(kw))
    built: list[str] = []

    def build(lang):
        built.append(lang)
        return overview.city_overview_map(layers, lang=lang)

    _map.clear_shared_maps()
    for lang in ("en", "en", "zh", "en"):
        _map.show_map(lambda lang=lang: build(lang), key="home_map",
                         cache_key=content_key("home", "test-city", lang))
    assert built == ["en", "zh"]
    assert sent[0]["script"] == sent[1]["script"] == sent[3]["script"] != sent[2]["script"]
    assert sent[0]["key"] == sent[3]["key"]  # the same component: the browser keeps its map
    _map.clear_shared_maps()


def test_shared_cache_computes_a_key_once_for_sessions_asking_together():
    import threading
    import time

    from grid_planning.base.cache import SharedCache

    cache: SharedCache[int] = SharedCache(max_entries=2)
    calls: list[str] = []

    def slow(key: str) -> int:
        calls.append(key)
        time.sleep(0.2)
        return len(calls)

    got: list[int] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("a", lambda: slow("a"))))
               for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert calls == ["a"] and got == [1] * 8
    # Bounded: the least recently used goes first.
    cache.get("b", lambda: 2)
    cache.get("a", lambda: 99)  # still there: 1
    cache.get("c", lambda: 3)  # drops "b"
    assert cache.get("a", lambda: 99) == 1 and cache.get("b", lambda: 42) == 42
    # A failure keeps nothing and is not hidden.
    with pytest.raises(ZeroDivisionError):
        cache.get("z", lambda: 1 / 0)
    assert cache.get("z", lambda: 5) == 5


def test_workspaces_on_the_same_plan_share_their_figures():
    from grid_planning.session.workspace import SHARED_FIGURES, Workspace

    layers, plan = make_layers(), make_plan()
    SHARED_FIGURES.clear()
    a, b = Workspace(layers), Workspace(layers)
    a.plan = plan
    b.plan = type(plan)(plan.assignment.copy(), plan.leads.copy(), plan.roles.copy(), params=plan.params)
    fa, fb = a.figures("en"), b.figures("en")
    assert fa is fb and len(SHARED_FIGURES) == 1
    assert a.figures("zh") is not fa  # another language: its own figures
    moved = plan.assignment.copy()
    moved["U00"] = "G2"
    b.plan = plan.with_assignment(moved)
    b.revision += 1
    assert b.figures("en") is not fa
    assert b.figures("en").units.loc["U00", "grid_id"] == "G2"


def test_shared_cache_bounds_memory_per_city():
    from grid_planning.base.cache import SharedCache

    cache: SharedCache[int] = SharedCache(max_entries=6, per_city=2)
    for i in range(5):  # one city explored at length keeps its two most recent results
        cache.get(("wuhan", i), lambda i=i: i, city="wuhan")
    cache.get(("dalian", 0), lambda: 100, city="dalian")
    cache.get("catalogue", lambda: -1)
    assert cache.cities() == {"wuhan": 2, "dalian": 1, None: 1}
    assert cache.get(("wuhan", 4), lambda: 99) == 4
    assert cache.get(("wuhan", 0), lambda: 99, city="wuhan") == 99  # dropped: computed again
    # ... and did not push the other city out
    assert cache.get(("dalian", 0), lambda: 99) == 100
    cache.clear("wuhan")
    assert cache.cities() == {"dalian": 1, None: 1}
    with pytest.raises(ValueError):
        SharedCache(max_entries=0)


def test_memo_values_live_and_die_with_their_owner():
    import gc

    from grid_planning.base.cache import memo, memo_size

    class Owner:
        pass

    gc.collect()  # owners left by earlier tests in this process die now, not mid-count
    before = memo_size()
    owners = [Owner() for _ in range(50)]
    computed = [0]

    def make(o: Owner) -> int:
        computed[0] += 1
        return id(o)

    for o in owners:
        assert memo(o, ("v",), lambda o=o: make(o)) == id(o)
        assert memo(o, ("v",), lambda: -1) == id(o)  # kept: computed once per owner
    assert computed[0] == 50 and memo_size() == before + 50
    del owners, o
    gc.collect()
    assert memo_size() == before  # nothing kept for owners that are gone


def test_map_geometry_caches_are_shared_bounded_per_city(city):
    from grid_planning.base.cache import SharedCache
    from grid_planning.maps import mapview

    layers = city[0]
    assert isinstance(planmap.UNIT_DISPLAYS, SharedCache) and isinstance(mapview.UNITS_GEOJSON, SharedCache)
    a = planmap.unit_display(layers)
    assert planmap.unit_display(layers) is a  # computed once
    other = type(layers)(**{**vars(layers), "name": "again"})  # same data, another object
    assert planmap.unit_display(other) is a  # shared by content
    planmap.unit_display(layers, gcj02=True)
    planmap.unit_display(layers, tolerance_m=10.0)  # a third view of one city drops its oldest
    assert planmap.UNIT_DISPLAYS.cities()[layers.fingerprint()] == 2
    # The units' own outlines (the dashboard's unit layer) are kept the same way.
    for view in ({}, {"gcj02": True}, {"tolerance_m": 10.0}):
        mapview.units_geojson_for(layers, **view)
    assert mapview.units_geojson_for(layers) is mapview.units_geojson_for(other)
    assert mapview.UNITS_GEOJSON.cities()[layers.fingerprint()] == 2
    with pytest.raises(ValueError):
        a.points[0, 0] = 0.0  # shared by every session: read-only
