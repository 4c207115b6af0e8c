"""The garbage collector paused while a city index builds its bulk of objects."""

from __future__ import annotations

import dataclasses
import gc
import threading

import pytest

from grid_planning.base.gcpause import paused_collection
from grid_planning.city.synthetic import synthetic_city


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_restored_after_nested_and_on_error(collector_on):
    with paused_collection():
        assert not gc.isenabled()
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block is still open
    assert gc.isenabled()
    with pytest.raises(ValueError), paused_collection():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off(collector_on):
    gc.disable()
    with paused_collection():
        pass
    assert not gc.isenabled()


def test_overlapping_threads_leave_the_collector_on(collector_on):
    inside, release = threading.Barrier(3), threading.Event()

    def work():
        with paused_collection():
            inside.wait()
            release.wait()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    assert not gc.isenabled()
    release.set()
    for t in threads:
        t.join()
    assert gc.isenabled()


def test_building_a_city_index_runs_no_collection_until_it_is_built(collector_on):
    # 3,000 units: 3,000 metric polygons, 3,000 neighbour lists, temporary points and boxes,
    # which would set off a dozen collections; none runs while the index builds them, one young
    # collection runs when the build is over (the objects are collected as usual).
    city = dataclasses.replace(synthetic_city(3000, 30, 5, seed=2))
    runs = []

    def count(phase, info):
        if phase == "start":
            runs.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        neighbours = city.index.neighbours
        points = city.index.points
    finally:
        gc.callbacks.remove(count)
    assert runs in ([], [0])
    assert len(neighbours) == len(points) == 3000
    assert gc.isenabled()
