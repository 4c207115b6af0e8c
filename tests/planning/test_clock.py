"""The planner's clock: budgets in the planning thread's CPU seconds, capped on the wall clock."""

from __future__ import annotations

import threading
import time

import highspy
import numpy as np
import pytest

from grid_planning.planning import clock
from grid_planning.planning.clock import NEVER, WALL_FACTOR, Budget
from grid_planning.planning.exact import new_highs


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class FakeTime:
    """The thread's CPU seconds and the wall clock, moved by the test."""

    def __init__(self, monkeypatch):
        self.cpu, self.wall = 100.0, 5000.0
        monkeypatch.setattr(time, "thread_time", lambda: self.cpu)
        monkeypatch.setattr(time, "perf_counter", lambda: self.wall)

    def run(self, cpu: float, wall: float) -> None:
        self.cpu += cpu
        self.wall += wall


@pytest.mark.parametrize("wall_per_cpu", [1.0, 2.0])
def test_a_budget_is_its_cpu_seconds_quiet_or_loaded(monkeypatch, wall_per_cpu):
    """Quiet (1) or the planner given half a core (2: the wall clock runs twice as fast as its
    CPU seconds): the budget ends on the CPU seconds (on the wall clock a loaded one had ended
    halfway)."""
    fake = FakeTime(monkeypatch)
    b = Budget(2.0)
    fake.run(cpu=1.5, wall=1.5 * wall_per_cpu)
    assert b.spent() == pytest.approx(1.5) and not b.over()
    fake.run(cpu=0.6, wall=0.6 * wall_per_cpu)
    assert b.over()


def test_the_wall_clock_caps_a_budget(monkeypatch):
    """A starved planner (a tenth of a core) answers after WALL_FACTOR times its budget."""
    fake = FakeTime(monkeypatch)
    b = Budget(2.0)
    fake.run(cpu=0.5, wall=5.0)
    assert b.spent() == pytest.approx(5.0 / WALL_FACTOR) and not b.over()
    fake.run(cpu=0.1, wall=2.0 * WALL_FACTOR - 5.0)
    assert b.over() and b.spent() == pytest.approx(2.0)


def test_waiting_spends_the_wall_cap_not_the_budget():
    """The real clocks: sleeping costs no CPU, only the wall clock over its factor."""
    b = Budget(1.0)
    t = time.perf_counter()
    time.sleep(0.3)
    wall = time.perf_counter() - t
    assert b.spent() == pytest.approx(wall / WALL_FACTOR, abs=0.02)


def test_work_spends_the_budget():
    b = Budget(0.2)
    _burn(0.25)
    assert b.over() and b.spent() >= 0.25


def test_another_threads_work_is_not_this_budgets():
    """Streamlit plans in one thread per session: a busy neighbour slows this plan's wall clock
    but does not spend its budget."""
    b = Budget(1.0)
    t = time.perf_counter()
    other = threading.Thread(target=_burn, args=(0.4,))
    other.start()
    other.join()
    # the neighbour's 0.4 s of CPU are not counted, only the wall time over the factor
    assert b.spent() == pytest.approx((time.perf_counter() - t) / WALL_FACTOR, abs=0.02)


def test_never_never_ends():
    assert NEVER.left() == float("inf") and not NEVER.over()


def _hard_mip(n: int = 300, m: int = 25):
    """A multi-dimensional knapsack HiGHS does not solve in seconds (threads 1, as every
    program of the planner)."""
    rng = np.random.default_rng(0)
    w = rng.integers(10, 100, (m, n)).astype(float)
    h = new_highs()
    h.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = -rng.integers(10, 100, n).astype(float)
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.row_lower_, lp.row_upper_ = np.full(m, -highspy.kHighsInf), w.sum(axis=1) / 2
    a = highspy.HighsSparseMatrix()
    a.format_ = highspy.MatrixFormat.kRowwise
    a.start_, a.index_ = np.arange(0, n * m + 1, n), np.tile(np.arange(n), m)
    a.value_, a.num_col_, a.num_row_ = w.ravel(), n, m
    lp.a_matrix_ = a
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    return h


def test_highs_stops_on_the_budgets_cpu_seconds(monkeypatch):
    # a wall cap far off, so that the suite's own load cannot reach it first
    monkeypatch.setattr(clock, "WALL_FACTOR", 100.0)
    h = _hard_mip()
    b = Budget(0.4)
    cpu = time.thread_time()
    b.limit(h)
    # HiGHS's own limit is the wall cap; the CPU budget is enforced by the interrupt
    assert h.getOptionValue("time_limit")[1] == pytest.approx(0.4 * 100.0, abs=0.5)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kInterrupt
    assert 0.3 <= time.thread_time() - cpu < 0.8


def test_highs_on_a_spent_budget_stops_at_once():
    h = _hard_mip()
    b = Budget(0.1)
    _burn(0.15)
    cpu = time.thread_time()
    b.limit(h)
    h.run()
    assert h.getModelStatus() in (highspy.HighsModelStatus.kInterrupt,
                                  highspy.HighsModelStatus.kTimeLimit)
    assert time.thread_time() - cpu < 0.2
