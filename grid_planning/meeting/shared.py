"""Meeting work the dashboard's sessions share, each through the one server-wide cache idiom
(:class:`grid_planning.base.cache.SharedCache`): a saved option opened once per version and
language, the options' side-by-side maps and the changes between two options once per version.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import pandas as pd

from grid_planning.base.cache import SharedCache
from grid_planning.base.frozen import frozen_frame
from grid_planning.city.layers import CityLayers
from grid_planning.meeting.compare import (
    ChangeSummary,
    Option,
    change_summary,
    changed_units,
    load_option,
)
from grid_planning.meeting.meetingmap import changes_html, compare_html
from grid_planning.store.scenarios import ScenarioStore

#: Opened options by store, scenario, last change, city and language.
OPTIONS: SharedCache[Option] = SharedCache(max_entries=32, per_city=16)
#: The compare page's maps, and the changes between two options, by options' versions and language.
COMPARE_MAPS: SharedCache[str] = SharedCache(max_entries=8, per_city=4)
CHANGES: SharedCache[tuple[pd.DataFrame, ChangeSummary, str]] = SharedCache(max_entries=8, per_city=4)


def store_where(store: ScenarioStore) -> str:
    """Where a store is (a full path, or a server and schema): two stores may share a file name."""
    return f"{store.backend.describe()}|{getattr(store.backend, 'schema', '')}"


def shared_option(store: ScenarioStore, sid: int, updated: str, layers: CityLayers,
                  lang: str) -> Option:
    """:func:`load_option` once per scenario version (``updated``: an overwritten scenario is a
    new entry), city and language."""
    fp = layers.fingerprint()
    return OPTIONS.get(("option", store_where(store), int(sid), str(updated), fp, lang),
                       lambda: load_option(store, sid, layers, lang=lang), city=fp)


def shared_compare_html(version: Hashable, layers: CityLayers, options: Sequence[Option],
                        lang: str) -> str:
    """:func:`compare_html` once per ``version`` (the layers' fingerprint and the options' keys
    and last changes) and language."""
    fp = layers.fingerprint()
    return COMPARE_MAPS.get(("maps", version, lang), lambda: compare_html(layers, options, lang), city=fp)


def shared_changes(version: Hashable, layers: CityLayers, a: Option, b: Option,
                   colours: Mapping[str, str], lang: str) -> tuple[pd.DataFrame, ChangeSummary, str]:
    """The units that change grid from ``a`` to ``b``, their summary and their map, once per
    ``version`` (which options, at which versions) and language."""
    fp = layers.fingerprint()

    def compute() -> tuple[pd.DataFrame, ChangeSummary, str]:
        changes = changed_units(layers, a.plan, b.plan)
        # Shared by sessions: read-only, so no session can change what another sees.
        return (frozen_frame(changes), change_summary(layers, a.plan, b.plan, changes),
                changes_html(layers, a, b, changes, colours, lang))

    return CHANGES.get(("changes", version, lang), compute, city=fp)
