"""Lead selection: the bounded swap search takes the moves of summing every swap."""

from __future__ import annotations

import numpy as np
import pytest

from grid_planning.planning import leads


def _instance(seed: int, n: int, m: int, *, ties: bool):
    rng = np.random.default_rng(seed)
    units, cands = rng.random((n, 2)), rng.random((m, 2))
    dm = (np.hypot(*(units[:, None, :] - cands[None]).transpose(2, 0, 1)) * 60).astype(np.float32)
    if ties:
        dm = np.round(dm)  # whole minutes: many swaps of equal value
        cands[m // 2] = cands[0]  # and two hospitals at one place
        dm[:, m // 2] = dm[:, 0]
    w = rng.integers(0, 800, n).astype(np.float64)
    cand_unit = np.arange(m)
    cand_unit[1] = cand_unit[2]  # two candidates in one unit: never leads together
    return dm, w, cand_unit


@pytest.mark.parametrize("seed", range(12))
def test_bounded_swaps_take_the_moves_of_summing_every_swap(seed):
    # Most swaps are ruled out by a lower bound instead of being summed; the search must still
    # take, pass after pass, the move (and value) of the search that sums every swap, ties
    # included (equal minutes, two hospitals at one place), with and without a required lead.
    n = 20_000 if seed == 0 else 1_500 + 300 * seed
    dm, w, cand_unit = _instance(seed, n, 14 + seed % 5, ties=seed % 2 == 0)
    dt = np.ascontiguousarray(dm.T)
    required = [3] if seed % 3 == 0 else []
    free = [j for j in range(dm.shape[1]) if j not in required]
    rng = np.random.default_rng(100 + seed)
    passes = []
    for k in (2, 4, 6):
        start = list(required) + [int(j) for j in rng.permutation([f for f in free if f != 2])]
        start = start[:k]
        summed = leads._swap(dt, w, start, required, free, cand_unit)
        bounded = leads._swap(dt, w, start, required, free, cand_unit, dm)
        assert bounded == summed
        passes.append(summed[2])
    assert max(passes) >= 3  # moves were taken, not only a first pass without any


def test_swap_bounds_lie_below_every_swap_value_and_rule_most_out():
    dm, w, cand_unit = _instance(7, 30_000, 24, ties=False)
    dt = np.ascontiguousarray(dm.T)
    cur = [0, 5, 9, 13, 17, 21]
    out = [j for j in range(dm.shape[1]) if j not in cur]
    low, *_ = leads._swap_bounds(dt, dm, w, cur, out)
    best = np.inf
    for i, opts, vals in leads._swaps(dt, w, cur, [], out, cand_unit):
        p = cur.index(i)
        row = [out.index(j) for j in opts]
        assert (low[p, row] <= vals).all()
        # the bound is close: within 1.5 % (float32 sums of 30,000 terms, bounded rigorously)
        assert (low[p, row] >= vals * 0.985).all()
        best = min(best, float(vals.min()))
    assert (low > best).mean() > 0.5


def test_unboundable_minutes_fall_back_to_summing_every_swap():
    dm, w, cand_unit = _instance(3, 2_000, 10, ties=False)
    assert leads._boundable(dm, w)
    dm[5, 4] = np.inf
    assert not leads._boundable(dm, w)
    dm[5, 4] = 1.0
    w[0] = -1.0
    assert not leads._boundable(dm, w)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_reads_whole_rows_and_picks_as_from_columns(seed):
    # The greedy start takes candidates' minutes from the rows of the transposed matrix; einsum
    # must see the same values with the same strides, so every sum and every pick is the same.
    dm, w, cand_unit = _instance(seed, 5_000 + 4_000 * seed, 16, ties=seed % 2 == 1)
    dt = np.ascontiguousarray(dm.T)
    free = list(range(dm.shape[1]))
    opts = free[4:]
    assert dt[opts].T.strides == dm[:, opts].strides
    best = dm[:, :2].min(axis=1)
    same = np.einsum("uc,u->c", np.minimum(best[:, None], dt[opts].T), w)
    assert np.array_equal(same, np.einsum("uc,u->c", np.minimum(best[:, None], dm[:, opts]), w))
    for k in (1, 3, 7):
        assert leads._greedy(dm, w, k, [], free, cand_unit, dt) == leads._greedy(
            dm, w, k, [], free, cand_unit
        )
