"""What the scenarios page shows about a team's saved scenarios, computed without Streamlit.

- :func:`scenario_table`: one row per scenario (name, k, note, owner, author of the last change,
  created and updated times, whether it was made on the layers in use, and if not what changed);
- :func:`user_label`, :func:`person`: who is signed in and who owns what, in words;
- :func:`changes_text`: the warning when an opened scenario was saved on other layers.

User text (names, notes, identities) is returned as typed: callers that put it into Markdown
escape it with :func:`grid_planning.base.textsafe.escape_markdown`; a data grid shows it as data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from grid_planning.base import localtime
from grid_planning.base.i18n import DEFAULT_LANGUAGE, CatalogueError, t
from grid_planning.base.textsafe import escape_markdown, markdown_params
from grid_planning.store.identity import LOCAL_USER_ID, User
from grid_planning.store.scenarios import changed_parts, layer_fingerprints

if TYPE_CHECKING:
    from grid_planning.city.layers import CityLayers

#: Columns of :func:`scenario_table`, in order (catalogue keys ``team.col.<name>``).
TABLE_COLUMNS = ("name", "k", "note", "owner", "author", "created", "updated", "layers")


def person(identity: str, name: str = "", lang: str = DEFAULT_LANGUAGE) -> str:
    """An owner or author in words: their name, or "local user" for the single local user."""
    if identity == LOCAL_USER_ID:
        return t("team.local_user", lang)
    return name or identity


def user_label(user: User, lang: str = DEFAULT_LANGUAGE) -> str:
    """Who is using the dashboard, and as what (signed in, from the proxy, local, administrator)."""
    if user.source in ("repeated_header", "unidentified"):
        return t(f"team.user.{user.source}", lang)
    if user.anonymous:
        return t("team.user.anonymous", lang)
    text = t(f"team.user.{user.source}", lang, name=person(user.id, user.name, lang))
    return text + (t("team.user.admin", lang) if user.is_admin else "")


def parts_text(parts: Iterable[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """``("units", "facilities")`` as words of ``lang``, joined."""
    sep = "、" if lang == "zh" else ", "
    return sep.join(t(f"team.part.{p}", lang) for p in parts)


def layers_status(info: pd.Series | Mapping[str, object], layers: CityLayers, layers_fp: str,
                  lang: str = DEFAULT_LANGUAGE) -> str:
    """Whether a scenario was made on the layers in use; if not, what differs."""
    if info["city_fingerprint"] == layers_fp:
        return t("team.layers.same", lang)
    parts = changed_parts(info["layer_fingerprints"], layer_fingerprints(layers))
    if not parts or "units" in parts or "layers" in parts or "crs" in parts:
        return t("team.layers.other", lang)
    return t("team.layers.changed", lang, parts=parts_text(parts, lang))


def _time(value: str) -> str:
    # Stored as ISO 8601 UTC; shown in the city's time zone, to the minute: "2026-11-30 17:12".
    return localtime.local_stamp(value)


def scenario_table(saved: pd.DataFrame, layers: CityLayers, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The list of scenarios for the page's data grid, headers in ``lang``.

    Parameters
    ----------
    saved : DataFrame
        :meth:`ScenarioStore.list`.
    layers : CityLayers
        The layers in use (for the "made on these layers" column).
    """
    fp = layers.fingerprint()
    rows = [
        {
            "name": r["name"],
            "k": int(r["k"]),
            "note": r["note"],
            "owner": person(r["owner"], r["owner_name"], lang),
            "author": person(r["author"], r["author_name"], lang),
            "created": _time(r["created"]),
            "updated": _time(r["updated"]),
            "layers": layers_status(r, layers, fp, lang),
        }
        for _, r in saved.iterrows()
    ]
    frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return frame.rename(columns={c: t(f"team.col.{c}", lang) for c in TABLE_COLUMNS})


def changes_text(changed: Iterable[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """The warning for a scenario opened on layers other than those it was saved on."""
    parts = tuple(changed)
    if not parts or parts == ("layers",):
        return t("team.opened_changed_unknown", lang)
    return t("team.opened_changed", lang, parts=parts_text(parts, lang))


def markdown_message(exc: Exception, lang: str = DEFAULT_LANGUAGE) -> str:
    """A library error as Markdown: a catalogue message with every parameter escaped (they hold
    names and notes the user typed), or the error's text escaped."""
    if isinstance(exc, CatalogueError):
        return t(exc.key, lang, **markdown_params(exc.params))
    return t("app.error", lang, detail=escape_markdown(str(exc)))
