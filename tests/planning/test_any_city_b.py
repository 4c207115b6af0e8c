"""Cities nobody prepared for, seeds 150-299 (see ``tests/any_city.py``)."""

import pytest
from any_city import check_city


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(150, 300))
def test_awkward_city(seed, tmp_path):
    check_city(seed, tmp_path)
