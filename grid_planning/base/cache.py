"""Work shared by the sessions of one server: content digests and a cache that computes once.

A dashboard server does the same heavy work for many planners: every session opens the same city
overview, and plans made from the same request are the same plan, with the same figures and maps.
Each such result is kept per server under a *content* key (:func:`content_key`, built from a
layers fingerprint and :func:`plan_digest`, never a session or a revision counter), so two
sessions share a result exactly when it would come out the same, and an uploaded city's results are
only ever found by a session that has the same data. :class:`SharedCache` computes a missing key
once while other sessions asking for it wait, and keeps a bounded number of results.
:func:`memo` keeps a value derived from one object (a plan's digest, a city's display geometry)
as long as that object lives.

Every cache of the library that outlives a call is one of these two: :class:`SharedCache` for
results shared by the server's sessions (plans and figures in :mod:`grid_planning.session.workspace`,
a city's map geometry in :mod:`grid_planning.maps.mapview` and :mod:`grid_planning.maps.planmap`, a
city's facility locations and travel costs in :mod:`grid_planning.city.index`, the sample city, the
message catalogue and the fonts; rendered maps in ``pages._map.show_map``), bounded and locked;
:func:`memo` for values that live and die with one object. Values in either are shared: they are read-only (a plan's arrays cannot be
written, see :mod:`grid_planning.domain.plan`).
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Plan parameters that do not change what is drawn (the moment it was made, how long it took).
VOLATILE_PARAMS = frozenset({"created", "seconds"})


T = TypeVar("T")


_MEMO: dict[tuple, tuple[weakref.ref, object]] = {}


_MEMO_LOCK = threading.Lock()


def memo(owner: object, key: tuple, compute: Callable[[], T], *,
         lock: threading.Lock | None = None) -> T:
    """``compute()``, kept under ``key`` as long as ``owner`` lives (a plan, a city's layers).

    The per-object idiom beside :class:`SharedCache`: for values derived from one object that
    every session reuses (a plan's digest, a city's fingerprint and index, the display geometry
    of a city's outline). The value goes when its owner goes, so the memory it takes is bounded by
    the objects alive, never by a count; nothing is ever set on the owner (frozen dataclasses stay
    frozen). The value is shared: treat it as read-only.

    Parameters
    ----------
    owner : object
        Anything that can be weakly referenced.
    key : tuple
        What is kept, per owner.
    compute : callable
        Makes the value when it is missing.
    lock : threading.Lock, optional
        Compute under this lock (checking again first), so that sessions asking at once compute
        a costly value once.
    """
    k = (id(owner), key)
    with _MEMO_LOCK:
        hit = _MEMO.get(k)
    if hit is not None and hit[0]() is owner:
        return hit[1]
    if lock is not None:
        with lock:
            with _MEMO_LOCK:
                hit = _MEMO.get(k)
            if hit is not None and hit[0]() is owner:
                return hit[1]
            return _remember(owner, k, compute())
    return _remember(owner, k, compute())


def _remember(owner: object, k: tuple, value: T) -> T:
    ref = weakref.ref(owner)
    with _MEMO_LOCK:
        _MEMO[k] = (ref, value)
    # The entry dies with its owner (its id may be reused once the owner is gone).
    weakref.finalize(owner, _forget, k, ref)
    return value


def _forget(k: tuple, ref: weakref.ref) -> None:
    with _MEMO_LOCK:
        hit = _MEMO.get(k)
        if hit is not None and hit[0] is ref:
            del _MEMO[k]


def memo_size() -> int:
    """How many per-object values :func:`memo` holds (for tests and the server's health view)."""
    with _MEMO_LOCK:
        return len(_MEMO)


def _frame_bytes(obj: pd.Series | pd.DataFrame) -> bytes:
    """Bytes that change when any value, label or column of ``obj`` changes (order included)."""
    cols = list(obj.columns) if isinstance(obj, pd.DataFrame) else [obj.name]
    hashed = pd.util.hash_pandas_object(obj.astype(str), index=True).to_numpy()
    return json.dumps([str(c) for c in cols]).encode() + hashed.tobytes()


class PlanContent(Protocol):
    """What a plan's digest is made of: a :class:`~grid_planning.domain.plan.Plan` (a floor above)
    is one."""

    @property
    def assignment(self) -> pd.Series: ...
    @property
    def leads(self) -> pd.Series: ...
    @property
    def roles(self) -> pd.DataFrame: ...
    @property
    def locks(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def exceptions(self) -> tuple[object, ...]: ...
    @property
    def edits(self) -> tuple[object, ...]: ...
    @property
    def params(self) -> tuple[tuple[str, object], ...]: ...
    @property
    def checklist(self) -> tuple[object, ...]: ...


def plan_digest(plan: PlanContent) -> str:
    """A digest of a :class:`~grid_planning.domain.plan.Plan`'s content: assignment, leads, roles, locks,
    exceptions, what-if edits, checklist and parameters (less :data:`VOLATILE_PARAMS`).

    Two plans with the same digest draw the same maps and give the same figures; a moved unit, a
    lock, a changed role or a what-if edit gives another digest. Memoised per plan object (plans
    are immutable).
    """
    return memo(plan, ("digest",), lambda: _digest(plan))


def _digest(plan: PlanContent) -> str:
    h = hashlib.sha256()
    for part in (plan.assignment, plan.leads, plan.roles):
        h.update(_frame_bytes(part))
        h.update(b"\x1e")
    params = {k: v for k, v in plan.params if k not in VOLATILE_PARAMS}
    rest = [plan.locks, plan.exceptions, plan.edits, plan.checklist]
    h.update(json.dumps([repr(r) for r in rest] + [params], sort_keys=True, default=repr).encode())
    return h.hexdigest()


class CostContent(Protocol):
    """What a travel-cost matrix's digest is made of: a :class:`~grid_planning.city.costs.CostMatrix`
    (a floor above) is one."""

    @property
    def key(self) -> str | None: ...
    @property
    def minutes(self) -> np.ndarray: ...
    @property
    def unit_ids(self) -> pd.Index: ...
    @property
    def facility_ids(self) -> pd.Index: ...
    @property
    def mode(self) -> str: ...


def costs_digest(costs: CostContent | None) -> str | None:
    """A digest of a travel-cost matrix's content (minutes, unit and facility ids, mode), memoised
    per matrix object; None for a cost source that is not a
    :class:`~grid_planning.city.costs.CostMatrix` (nothing is shared on it)."""
    key = getattr(costs, "key", None)
    if key:
        # What the matrix is made from (city content, cost model, facilities), known without
        # computing every column of a matrix filled on demand.
        return str(key)
    if getattr(costs, "minutes", None) is None:
        return None

    def compute() -> str:
        h = hashlib.sha256(np.ascontiguousarray(costs.minutes).tobytes())
        for ids in (costs.unit_ids, costs.facility_ids):
            h.update(json.dumps([str(i) for i in ids], ensure_ascii=False).encode("utf-8"))
        h.update(str(costs.mode).encode())
        return h.hexdigest()

    return memo(costs, ("digest",), compute)


def content_key(kind: str, *parts: object) -> str:
    """A cache key for one result: its kind and everything it is made from (layers fingerprint,
    :func:`plan_digest`, language, tiles, options ...), hashed so that no part (a user's tile key,
    say) is kept in the clear."""
    text = json.dumps([kind, *parts], sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SharedCache(Generic[T]):
    """A bounded, thread-safe cache whose missing values are computed once: the one idiom for
    results the sessions of a server share.

    Sessions run in threads of one process; when twenty of them ask for the same missing key at
    once, one computes and the others wait for its result instead of repeating the work. Memory
    is bounded per city: a value may be filed under a city (its layers' fingerprint), and each
    city keeps at most ``per_city`` values, so one city explored at length cannot push every
    other city's results out, and a city nobody uses any more leaves with its least recently
    used values.

    Parameters
    ----------
    max_entries : int
        Results kept in all (least recently used dropped first).
    per_city : int, optional
        Results kept per city (default: ``max_entries``); values filed under no city count only
        against ``max_entries``.
    """

    def __init__(self, max_entries: int = 32, *, per_city: int | None = None) -> None:
        if max_entries < 1 or (per_city is not None and per_city < 1):
            raise ValueError("a cache keeps at least one value")
        self.max_entries = max_entries
        self.per_city = per_city or max_entries
        self._values: OrderedDict[Hashable, tuple[str | None, T]] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T],
            keep: Callable[[T], bool] | None = None, *, city: str | None = None) -> T:
        """The value under ``key``, computed by ``compute()`` if no session has done it yet.

        An exception from ``compute`` reaches the caller and nothing is kept; neither is a value
        ``keep`` rejects (a session waiting for it then computes its own). ``city`` files the
        value under a city for the per-city bound (a layers fingerprint).
        """
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key][1]
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._values:  # computed by another session while we waited
                    self._values.move_to_end(key)
                    return self._values[key][1]
            try:
                value = compute()
            except BaseException:
                with self._lock:
                    self._computing.pop(key, None)
                raise
            with self._lock:
                if keep is None or keep(value):
                    self._values[key] = (city, value)
                    self._evict(city)
                self._computing.pop(key, None)
            return value

    def _evict(self, city: str | None) -> None:
        """Drop least recently used values past the city's and the whole cache's bound."""
        if city is not None:
            mine = [k for k, (c, _) in self._values.items() if c == city]
            for k in mine[: max(0, len(mine) - self.per_city)]:
                del self._values[k]
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)

    def cities(self) -> dict[str | None, int]:
        """How many values each city holds (``None``: values filed under no city)."""
        with self._lock:
            out: dict[str | None, int] = {}
            for c, _ in self._values.values():
                out[c] = out.get(c, 0) + 1
            return out

    def clear(self, city: str | None = None) -> None:
        """Forget every value, or only those of ``city``."""
        with self._lock:
            if city is None:
                self._values.clear()
            else:
                for k in [k for k, (c, _) in self._values.items() if c == city]:
                    del self._values[k]

    def __len__(self) -> int:
        return len(self._values)


def facilities_key(facilities: gpd.GeoDataFrame) -> str:
    """Hash of facility ids and positions: what locations and travel times depend on."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, facilities["id"])).encode())
    h.update(np.ascontiguousarray(shapely.get_coordinates(facilities.geometry.values)).tobytes())
    h.update(str(facilities.crs).encode())
    return h.hexdigest()[:16]


def facilities_fingerprint(facilities: gpd.GeoDataFrame) -> str:
    """Hash of facility ids and positions (what travel times depend on)."""
    return facilities_key(facilities)
