"""Streamlit plumbing shared by the compare and present pages: the saved options of the layers in
use and their figures, cached per scenario version so moving between the two pages (or several
people opening the same options) computes each option once.

The logic is :mod:`grid_planning.meeting.compare` and :mod:`grid_planning.meeting.meetingmap`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from grid_planning.base.i18n import CatalogueError
from grid_planning.base.localtime import local_stamp
from grid_planning.city.layers import CityLayers
from grid_planning.meeting.compare import Option, comparable_scenarios, option_keys
from grid_planning.meeting.shared import shared_option
from grid_planning.session.team import markdown_message
from grid_planning.store.scenarios import ScenarioStore
from pages._common import lang
from pages._ws import store

#: The scenario ids of the options chosen last in this session (compare and present share them).
CHOSEN = "meeting_ids"


def candidates(store: ScenarioStore, layers: CityLayers) -> tuple[pd.DataFrame, int]:
    """The comparable saved scenarios (:func:`comparable_scenarios`) and how many others exist."""
    found = comparable_scenarios(store, layers)
    total = len(store.list())
    return found, total - len(found)


def saved_options(layers: CityLayers) -> tuple[ScenarioStore, pd.DataFrame, int]:
    """The scenario store, its scenarios comparable on ``layers`` and how many others it holds
    (:func:`candidates`); a store that cannot be read stops the page with its message."""
    try:
        scen = store()
        found, others = candidates(scen, layers)
    except CatalogueError as exc:
        st.error(markdown_message(exc, lang()))
        st.stop()
    return scen, found, others


def options(store: ScenarioStore, layers: CityLayers, found: pd.DataFrame, ids: Sequence[int],
            lang: str) -> list[Option]:
    """The options of ``ids`` (in that order), each computed once per version and language."""
    updated = dict(zip(found["id"], found["updated"], strict=True))
    return [shared_option(store, int(i), str(updated[i]), layers, lang) for i in ids if i in updated]


def label(row: pd.Series | object, flag: str) -> str:
    """A scenario in a picker: name, k, last change, and the flag when its layers changed."""
    text = f"{row.name} · k={row.k} · {local_stamp(row.updated)}"  # the city's time, not UTC
    return text + (f" · {flag}" if flag else "")


def remember_requested() -> None:
    """Keep the options asked for in the address (``?ids=3,5``) in the session.

    Call before :func:`pages._common.ensure_navigation`: a first request that is sent through
    ``app.py`` loses the address's parameters on the way back.
    """
    raw = st.query_params.get_all("ids")
    if raw:
        st.session_state[CHOSEN] = option_keys(raw)


def requested_ids() -> list[int]:
    """Scenario ids asked for in the address (``?ids=3,5``), else the session's last choice."""
    raw = st.query_params.get_all("ids")
    if raw:
        return option_keys(raw)
    return list(st.session_state.get(CHOSEN, []))
