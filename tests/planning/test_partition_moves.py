"""The move loop's violation of one grid in plain floats is numpy's, value for value (the
heuristic's plans depend on it bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from grid_planning.planning.partition import Partition


def _part(balance, min_beds):
    rng = np.random.default_rng(3)
    n, k = 12, 3
    adj = sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")
    part = Partition(adj, rng.uniform(100, 900, n), rng.uniform(1, 30, (n, k)), np.array([0, 5, 11]))
    part.set_constraints(g5=np.zeros(n, np.int64), balance=balance, beds=rng.uniform(0, 50, n),
                         min_beds_per_1000=min_beds)
    return part


@pytest.mark.parametrize(("balance", "min_beds"), [(0.05, None), (0.1, 4.0), (None, 4.0), (None, None)])
def test_one_grid_violation_is_numpys(balance, min_beds):
    part = _part(balance, min_beds)
    rng = np.random.default_rng(0)
    pops = np.concatenate([rng.uniform(0, 5000, 200), [part.lo, part.hi, 0.0]])
    beds = np.concatenate([rng.uniform(0, 40, 200), [0.0, 10.0, 0.0]])
    pops, beds = pops[np.isfinite(pops)], beds[np.isfinite(pops)]
    want = part._viol(pops, beds)
    got = np.array([part._viol1(a, b) for a, b in zip(pops, beds, strict=True)])
    assert (want > 0).any() or (balance is None and min_beds is None)
    np.testing.assert_array_equal(got, want)
