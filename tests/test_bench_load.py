"""Smoke test of the load benchmark's driver (benchmarks/bench_load.py): three concurrent headless
Chromium sessions open the dashboard, run a plan and move a unit on the map, with nothing failing,
nothing leaving the machine, and no page rerunning by itself once drawn (a newly drawn plan map
used to report in, rerunning the page). The 20-session run stays a benchmark."""

from __future__ import annotations

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, benchmark_module

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]


def _bench():
    return benchmark_module("bench_load")


def test_three_sessions_open_home_plan_and_move_without_errors():
    bench = _bench()
    with bench.dashboard() as (url, pid, timing):
        res = bench.run_load(url, sessions=3, groups=["home", "plan", "move"], timeout_s=240,
                             idle_s=3.0, server_pid=pid, timing_log=timing)
    report = bench.report(res)
    assert res.errors == [] and res.external == [], report
    for step in ("home", "plan_open", "plan_run", "select", "move"):
        assert len(res.times(step)) == 3, report
    # The server's own time (its timing marks) and the time with the transfer (the browser's
    # network clock) are measured for every step, and neither exceeds what the user waited (the
    # three clocks are the machine's one monotonic clock).
    for r in res.results:
        assert r.server_s is not None and r.net_s is not None, report
        assert 0 < r.server_s <= r.seconds + 0.01 and 0 < r.net_s <= r.seconds + 0.01, report
    home = [r for r in res.results if r.step == "home"]
    assert all(0.5 < r.mbytes < 5 for r in home), report  # the overview map is sent, and packed
    assert 100 < res.peak_rss_mb < bench.TARGET_MEMORY_MB, report
    assert "home p95 (s, server's own time)" in report
