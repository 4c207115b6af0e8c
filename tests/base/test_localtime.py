"""Times shown in the city's time zone, without a program's offset (issue 16: the report and the
scenario list showed UTC stamps such as ``2026-12-07T02:58:53+00:00``)."""

from __future__ import annotations

from grid_planning.base import localtime


def test_a_utc_stamp_reads_in_shanghai_time_by_default(monkeypatch):
    monkeypatch.delenv("GRID_PLANNER_TIMEZONE", raising=False)
    assert localtime.local_stamp("2026-12-07T02:58:53+00:00") == "2026-12-07 10:58"
    assert localtime.local_stamp("2026-12-07T20:10:00+00:00", with_time=False) == "2026-12-08"
    assert localtime.local_stamp("2026-12-07") == "2026-12-07"  # a date stays a date
    assert localtime.local_stamp("") == ""


def test_the_time_zone_is_a_setting(monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_TIMEZONE", "Asia/Urumqi")
    assert localtime.local_stamp("2026-12-07T02:58:53Z") == "2026-12-07 08:58"
    monkeypatch.setenv("GRID_PLANNER_TIMEZONE", "Nowhere/Atlantis")  # unknown: the default
    assert localtime.local_stamp("2026-12-07T02:58:53Z") == "2026-12-07 10:58"
