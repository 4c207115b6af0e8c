"""Values shared between the sessions of a server, made so that none can change them in place.

A plan or a plan's figures computed once for the server (:mod:`grid_planning.base.cache`) is read
by every session that asked for it. Python cannot make a pandas object immutable, so a shared
value keeps its tables over *read-only storage* (numpy arrays marked non-writeable; Arrow-backed
strings are immutable already) and every read of a table gives a *new* pandas object over that
storage (:class:`ReadOnlyTables`): a session that changes what it read (``s.iloc[0] = ...``,
``df["c"] = ...``) changes its own object, pandas copying on write, and writing through numpy
(``s.to_numpy()[0] = ...``) raises ``ValueError``. Dicts and lists inside become
:class:`FrozenDict` / :class:`FrozenList`, which read, compare and serialise as dicts and lists and
refuse every change with ``TypeError``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_REFUSED = "a shared value cannot be changed in place; make a new one (Plan.with_params, ...)"


class ReadOnlyTables:
    """Mixin for frozen dataclasses that share pandas tables: each read of an attribute named in
    ``_read_only_tables`` gives a new shallow pandas object over the stored, read-only one."""

    _read_only_tables: frozenset[str] = frozenset()

    def __getattribute__(self, name: str) -> object:
        value = object.__getattribute__(self, name)
        if name in type(self)._read_only_tables:
            return value.copy(deep=False)
        return value


class FrozenDict(dict):
    """A dict that cannot be changed (a plan parameter's value, a figure's city totals): reads,
    ``json`` and ``==`` as a dict; every change raises ``TypeError``."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError(_REFUSED)

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = __ior__ = _refuse  # type: ignore[assignment]

    def __copy__(self) -> dict:
        return dict(self)

    def __deepcopy__(self, memo: dict) -> dict:
        return {k: _thawed(v) for k, v in self.items()}

    def __reduce__(self) -> tuple:
        return (FrozenDict, (dict(self),))


class FrozenList(list):
    """A list that cannot be changed (a plan parameter's value, a figure's checks): reads,
    ``json`` and ``==`` as a list; every change raises ``TypeError``."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError(_REFUSED)

    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = sort = reverse = _refuse  # type: ignore[assignment]
    __iadd__ = __imul__ = _refuse  # type: ignore[assignment]

    def __copy__(self) -> list:
        return list(self)

    def __deepcopy__(self, memo: dict) -> list:
        return [_thawed(v) for v in self]

    def __reduce__(self) -> tuple:
        return (FrozenList, (list(self),))


def _thawed(value: object) -> object:
    if isinstance(value, dict):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_thawed(v) for v in value]
    return value


def frozen_value(value: object) -> object:
    """``value`` with every dict and list in it made unchangeable (:class:`FrozenDict`,
    :class:`FrozenList`); other values as they are."""
    if isinstance(value, dict) and not isinstance(value, FrozenDict):
        return FrozenDict({k: frozen_value(v) for k, v in value.items()})
    if isinstance(value, list) and not isinstance(value, FrozenList):
        return FrozenList(frozen_value(v) for v in value)
    return value


def _read_only(values: object) -> object:
    """The values of a column with read-only storage: Arrow-backed arrays are immutable already;
    numpy data is copied once (unless it is read-only) and marked read-only."""
    if isinstance(values, pd.api.extensions.ExtensionArray) and not isinstance(
        values, pd.arrays.NumpyExtensionArray
    ):
        if "pyarrow" in str(getattr(values.dtype, "storage", "")) or hasattr(values, "_pa_array"):
            return values
        values = values.copy()
        inner = getattr(values, "_ndarray", None)
        if isinstance(inner, np.ndarray):
            inner.flags.writeable = False
        return values
    arr = np.asarray(values)
    # A read-only view of writable data is not read-only data: copied too.
    base = arr.base if isinstance(arr.base, np.ndarray) else None
    if arr.flags.writeable or (base is not None and base.flags.writeable):
        arr = arr.copy()
        arr.flags.writeable = False
    return arr


def frozen_series(series: pd.Series) -> pd.Series:
    """A new Series with the values, index and name of ``series`` over read-only storage."""
    values = _read_only(series.array)
    return pd.Series(values, index=series.index, name=series.name, dtype=series.dtype, copy=False)


def frozen_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A new DataFrame with the columns (and their dtypes) of ``frame``, each over read-only
    storage."""
    # Side by side without a copy (pandas copies on write), each column keeping its storage.
    out = (pd.concat([frozen_series(frame.iloc[:, i]) for i in range(frame.shape[1])], axis=1)
           if frame.shape[1] else pd.DataFrame(index=frame.index))
    out.columns = frame.columns
    return out
