"""Numbers as a reader of the chosen language expects them: the one place that formats figures.

Every view that shows a figure to a person (pages, tables, maps, PDF, CLI) formats it here, so the
same population reads ``12,326,518`` everywhere and a share reads ``55.7%`` in Chinese and
``55.7 %`` in English (SI style: a no-break space before the sign, so it never wraps alone).
Missing values (``None``, NaN, infinities) show as an em dash, never as ``nan``.

Chinese official documents group digits by thousands with commas as English does (GB/T 15835
allows it and approval tables use it), so grouping is the same in both languages; what differs is
the spacing of the percent sign and of units.

Examples
--------
>>> number(12326518.0)
'12,326,518'
>>> number(33.79, 1)
'33.8'
>>> percent(0.5571, lang="zh"), percent(0.5571, lang="en")
('55.7%', '55.7\\xa0%')
>>> number(float("nan"))
'—'
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import numpy.typing as npt

from grid_planning.base.i18n import DEFAULT_LANGUAGE

#: Shown for a missing value.
MISSING = "—"


#: Between a number and ``%`` per language (no-break space in English, SI style).
_PERCENT_SEP = {"zh": "", "en": "\u00a0"}


#: Between a number and a unit word per language (``12.3 分钟`` reads ``12.3分钟`` in Chinese).
_UNIT_SEP = {"zh": "", "en": "\u00a0"}


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, Real):
        v = float(value)
        return v if math.isfinite(v) else None
    try:
        v = float(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def number(value: object, digits: int = 0, lang: str = DEFAULT_LANGUAGE) -> str:
    """``value`` with thousands separators and ``digits`` decimals (``—`` when missing).

    Parameters
    ----------
    value : number or numeric text
    digits : int
        Decimals shown (rounded half to even, as Python's format does).
    lang : {"zh", "en"}
        Accepted for symmetry with the other functions; grouping is the same in both.
    """
    del lang  # same grouping in both languages (see the module docstring)
    v = _finite(value)
    if v is None:
        return MISSING
    digits = max(int(digits), 0)
    if round(v, digits) == 0:
        v = 0.0  # no "-0.0"
    return f"{v:,.{digits}f}"


def integer(value: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """``value`` rounded to a whole number with thousands separators."""
    return number(value, 0, lang)


def percent(share: object, digits: int = 1, lang: str = DEFAULT_LANGUAGE, *, signed: bool = False) -> str:
    """A share (0.557) as a percentage (``55.7%`` / ``55.7 %``).

    Parameters
    ----------
    share : number
        The fraction (1.0 = 100 %).
    digits : int
        Decimals of the percentage.
    lang : {"zh", "en"}
    signed : bool
        Show ``+`` for positive values (deviations such as the population balance).
    """
    v = _finite(share)
    if v is None:
        return MISSING
    body = f"{v * 100:{'+' if signed else ''},.{digits}f}"
    return body + _PERCENT_SEP.get(lang, _PERCENT_SEP["en"]) + "%"


def with_unit(value: object, unit: str, digits: int = 1, lang: str = DEFAULT_LANGUAGE) -> str:
    """``value`` followed by a unit word already in the reader's language (``12.3 min``)."""
    text = number(value, digits, lang)
    if text == MISSING:
        return text
    return text + _UNIT_SEP.get(lang, _UNIT_SEP["en"]) + unit


def whole_people(values: npt.ArrayLike) -> np.ndarray:
    """Populations as whole people that add up to their rounded total (largest-remainder rounding).

    Units carry modelled, fractional residents; rounding every grid on its own can make the grids
    add up to one more or one less than the city's figure. Each value is floored, then the people
    still missing to the rounded total go one each to the largest remainders (ties to the earlier
    value). Missing and negative values count as 0. Grid figures become whole people here
    (:func:`grid_planning.assess.metrics.grid_metrics`' ``population_shown``, the G9 panel); every
    computation keeps the exact values.

    >>> whole_people([1.6, 2.6, 3.8]).tolist()  # rounded one by one: 2 + 3 + 4 = 9, total 8.0
    [2, 2, 4]
    """
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    v = np.maximum(v, 0.0)
    floor = np.floor(v)
    missing = int(round(float(v.sum()))) - int(floor.sum())
    out = floor.astype(np.int64)
    if missing > 0:
        order = np.argsort(-(v - floor), kind="stable")
        out[order[:missing]] += 1
    return out
