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

Used by :meth:`grid_planning.session.workspace.Workspace.run` (plans), :meth:`~grid_planning.session.workspace.
Workspace.figures` (figures and policy checks) and by the pages' map display
(``pages._map.show_map``: rendered maps).
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Plan parameters that do not change what is drawn (the moment it was made, how long it took).
VOLATILE_PARAMS = frozenset({"created", "seconds"})


T = TypeVar("T")


_MEMO: dict[tuple, tuple[weakref.ref, object]] = {}


_MEMO_LOCK = threading.Lock()


def memo(owner: object, key: tuple, compute: Callable[[], T]) -> T:
    """``compute()``, kept under ``key`` as long as ``owner`` lives (a plan, a layer of a city).

    For values derived from one object that every session reuses: a plan's digest, the display
    geometry of a city's outline and districts, the plan page's lists of a city's hospitals. The
    value is shared: treat it as read-only.
    """
    k = (id(owner), key)
    with _MEMO_LOCK:
        hit = _MEMO.get(k)
    if hit is not None and hit[0]() is owner:
        return hit[1]
    value = compute()
    with _MEMO_LOCK:
        if len(_MEMO) > 256:  # drop the entries of objects that are gone
            for dead in [d for d, (ref, _) in _MEMO.items() if ref() is None]:
                del _MEMO[dead]
        _MEMO[k] = (weakref.ref(owner), value)
    return value


def _frame_bytes(obj: pd.Series | pd.DataFrame) -> bytes:
    """Bytes that change when any value, label or column of ``obj`` changes (order included)."""
    cols = list(obj.columns) if isinstance(obj, pd.DataFrame) else [obj.name]
    hashed = pd.util.hash_pandas_object(obj.astype(str), index=True).to_numpy()
    return json.dumps([str(c) for c in cols]).encode() + hashed.tobytes()


def plan_digest(plan: Any) -> str:
    """A digest of a :class:`~grid_planning.domain.plan.Plan`'s content: assignment, leads, roles, locks,
    exceptions, what-if edits, checklist and parameters (less :data:`VOLATILE_PARAMS`).

    Two plans with the same digest draw the same maps and give the same figures; a moved unit, a
    lock, a changed role or a what-if edit gives another digest. Memoised per plan object (plans
    are immutable).
    """
    return memo(plan, ("digest",), lambda: _digest(plan))


def _digest(plan: Any) -> str:
    h = hashlib.sha256()
    for part in (plan.assignment, plan.leads, plan.roles):
        h.update(_frame_bytes(part))
        h.update(b"\x1e")
    params = {k: v for k, v in plan.params if k not in VOLATILE_PARAMS}
    rest = [plan.locks, plan.exceptions, plan.edits, plan.checklist]
    h.update(json.dumps([repr(r) for r in rest] + [params], sort_keys=True, default=repr).encode())
    return h.hexdigest()


def costs_digest(costs: Any) -> str | None:
    """A digest of a travel-cost matrix's content (minutes, unit and facility ids, mode), memoised
    per matrix object; None for a cost source that is not a
    :class:`~grid_planning.city.costs.CostMatrix` (nothing is shared on it)."""
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
    """A bounded, thread-safe cache whose missing values are computed once.

    Sessions run in threads of one process; when twenty of them ask for the same missing key at
    once, one computes and the others wait for its result instead of repeating the work.

    Parameters
    ----------
    max_entries : int
        Results kept (least recently used dropped first).
    """

    def __init__(self, max_entries: int = 32) -> None:
        self.max_entries = max_entries
        self._values: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T],
            keep: Callable[[T], bool] | None = None) -> T:
        """The value under ``key``, computed by ``compute()`` if no session has done it yet.

        An exception from ``compute`` reaches the caller and nothing is kept; neither is a value
        ``keep`` rejects (a session waiting for it then computes its own).
        """
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._values:  # computed by another session while we waited
                    self._values.move_to_end(key)
                    return self._values[key]
            try:
                value = compute()
            except BaseException:
                with self._lock:
                    self._computing.pop(key, None)
                raise
            with self._lock:
                if keep is None or keep(value):
                    self._values[key] = value
                    while len(self._values) > self.max_entries:
                        self._values.popitem(last=False)
                self._computing.pop(key, None)
            return value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()

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
