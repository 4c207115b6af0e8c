"""Cities nobody prepared for, seeds 0-149 (see ``tests/any_city.py``)."""

import pytest
from any_city import DRAWN_SEEDS, SHAPES, check_city
from awkward_cities import awkward_city


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(0, 150))
def test_awkward_city(seed, tmp_path):
    check_city(seed, tmp_path)


@pytest.mark.slow
def test_drawn_cities_hold_every_shape(tmp_path):
    """The cities whose drawn exports are made still hold every shape of the corpus, the most units
    and both scripts of names (generating a city's files takes milliseconds; planning is not needed)."""
    cities = {seed: awkward_city(seed, tmp_path / str(seed)) for seed in range(300)}
    drawn = [cities[seed] for seed in DRAWN_SEEDS]
    corpus_shapes = {f for c in cities.values() for f in c.features} & SHAPES
    assert corpus_shapes == SHAPES  # the generator still makes each of them
    assert {f for c in drawn for f in c.features} >= SHAPES
    assert max(c.n_units for c in drawn) == max(c.n_units for c in cities.values())
    assert {c.extra["chinese"] for c in drawn} == {True, False}
    most_grids = max(DRAWN_SEEDS, key=lambda seed: cities[seed].k)
    assert cities[most_grids].k == max(c.k for c in cities.values())
