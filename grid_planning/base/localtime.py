"""Times as the city reads them: in its time zone (setting ``timezone``, default Asia/Shanghai).

Plans record their creation time in UTC (``2026-12-07T02:58:53+00:00``); a document a director signs
shows it in the city's own time, without the offset a program writes.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grid_planning.base.config import setting

#: The time zone used when the setting is absent or unknown.
DEFAULT_TIMEZONE = "Asia/Shanghai"


def city_zone() -> dt.tzinfo:
    """The configured time zone (``GRID_PLANNER_TIMEZONE`` or ``timezone`` in the settings file)."""
    name = str(setting("timezone", DEFAULT_TIMEZONE) or DEFAULT_TIMEZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def now() -> dt.datetime:
    """The current time in the city's time zone."""
    return dt.datetime.now(city_zone())


def today() -> dt.date:
    """Today's date in the city's time zone."""
    return now().date()


def local_stamp(value: object, *, with_time: bool = True) -> str:
    """An ISO time stamp (any offset, or naive = UTC) as ``2026-12-07 10:58`` in the city's zone.

    Text that is not a time stamp (a date alone, an empty value) is returned as it is.
    """
    raw = "" if value is None else str(value).strip()
    if not raw or len(raw) <= 10:
        return raw
    try:
        stamp = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return raw
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    local = stamp.astimezone(city_zone())
    return local.strftime("%Y-%m-%d %H:%M") if with_time else local.date().isoformat()
