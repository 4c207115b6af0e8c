"""The one message catalogue: every piece of UI and report text, in Chinese (default) and English.

The catalogue lives in ``grid_planning/base/messages/*.toml`` (one file per area so that pages, layers and
the planner can each keep their own wording), loaded once into a single flat dictionary. Each entry is
a TOML table with a ``zh`` and an ``en`` string; ``{name}`` placeholders are filled by :func:`t`.

    [home.title]
    zh = "网格化布局规划"
    en = "Grid layout planner"
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from grid_planning.base.cache import SharedCache

LANGUAGES: tuple[str, ...] = ("zh", "en")


DEFAULT_LANGUAGE = "zh"


_MESSAGES_DIR = Path(__file__).with_name("messages")


def _flatten(table: dict, prefix: str = "") -> dict[str, dict[str, str]]:
    """``{dotted key: {"zh": ..., "en": ...}}`` from a parsed catalogue file.

    A table may hold its own texts *and* sub-tables (``[data.coords]`` with ``zh``/``en`` and
    ``[data.coords.wgs84]`` below it): both are entries. A scalar that is not a language (a typo
    such as ``cn = ...``) is refused, so a text never silently goes missing.
    """
    out: dict[str, dict[str, str]] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if not isinstance(value, dict):
            raise ValueError(f"catalogue entry {name!r} must be a table of languages, not {value!r}")
        texts = {k: v for k, v in value.items() if not isinstance(v, dict)}
        unknown = sorted(set(texts) - set(LANGUAGES))
        if unknown:
            raise ValueError(f"catalogue entry {name!r} has fields that are not languages: {unknown}")
        if texts:
            out[name] = {k: str(v) for k, v in texts.items()}
        subs = {k: v for k, v in value.items() if isinstance(v, dict)}
        if subs:
            out.update(_flatten(subs, f"{name}."))
    return out


#: The merged message catalogue, read once per process.
CATALOGUE: SharedCache = SharedCache(max_entries=1)


def catalogue() -> dict[str, dict[str, str]]:
    """All messages, ``{key: {"zh": ..., "en": ...}}``, merged from every catalogue file, read
    once per process (:data:`CATALOGUE`; shared: read-only).

    Raises
    ------
    ValueError
        If two files define the same key (a silent override would hide a wording change).
    """
    return CATALOGUE.get("messages", _read_catalogue)


def _read_catalogue() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(_MESSAGES_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            entries = _flatten(tomllib.load(fh))
        clash = merged.keys() & entries.keys()
        if clash:
            raise ValueError(f"{path.name} redefines message keys already defined: {sorted(clash)}")
        merged.update(entries)
    return merged


#: Placeholders that carry a vocabulary code (``schema.LEVELS`` ...) and are shown in words.
_VOCAB_PARAMS = {
    "level": "vocab.level.",
    "type": "vocab.type.",
    "owner": "vocab.owner.",
    "owner_level": "vocab.owner.",
}

#: A place in a file as a reader gives it, in English words (``line 2``, ``byte 38 name``): a
#: ``cell`` placeholder holding one is shown in words of ``lang`` (the numbers and names kept).
_PLACE = re.compile(r"(line|byte) ([\d,]+)(.*)", re.S)


def t(key: str, lang: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """Translate ``key`` into ``lang`` and fill its ``{placeholders}`` from ``params``.

    A key missing from the catalogue is returned as itself (visible, never a crash); a language
    missing for a key falls back to Chinese. A ``level``, ``type``, ``owner`` or ``owner_level``
    placeholder holding a vocabulary code (``tertiary``, ``general``, ``municipal`` ...) is shown
    in words of ``lang``, so no code leaks into a sentence; so is a ``cell`` placeholder holding
    a place in a file (``line 2``); any other value is kept as given.
    """
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get(DEFAULT_LANGUAGE) or key
    for name, prefix in _VOCAB_PARAMS.items():
        value = params.get(name)
        if isinstance(value, str) and (word := catalogue().get(prefix + value)) is not None:
            params[name] = word.get(lang) or word.get(DEFAULT_LANGUAGE) or value
    cell = params.get("cell")
    if isinstance(cell, str) and (place := _PLACE.fullmatch(cell)) is not None:
        params["cell"] = t(f"file.place.{place[1]}", lang, n=place[2]) + place[3]
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def has(key: str) -> bool:
    """Whether ``key`` is in the catalogue."""
    return key in catalogue()


def listed(items: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """``items`` as one enumeration in ``lang``: the enumeration comma in Chinese (A、B), a comma
    and a space in English (A, B)."""
    return ("、" if lang == "zh" else ", ").join(map(str, items))


def labelled(ident: object, name: object | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """A facility or unit as a planner reads it: its name, its id in brackets (full-width in
    Chinese: 第2医院（T2）; 第2医院 (T2) in English); the id alone when it has no other name."""
    ident = str(ident)
    if name is None or str(name) in ("", ident):
        return ident
    return f"{name}（{ident}）" if lang == "zh" else f"{name} ({ident})"


def listed_labelled(pairs: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """``(name, id)`` pairs as one enumeration, each :func:`labelled` (第2医院（T2）、第0医院（T0）
    in Chinese; 第2医院 (T2), 第0医院 (T0) in English); also a name with a figure of its own in
    brackets (江岸区（3））."""
    return listed([labelled(ident, name, lang) for name, ident in pairs], lang)


def source_text(source: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """Where a figure comes from (``real``, ``illustrative``, ``user``, ``what_if`` ...) in words.

    A code the catalogue does not know (a user's own label) is shown as given.
    """
    code = str(source or "").strip()
    return t(f"source.{code}", lang) if code and has(f"source.{code}") else code


class CatalogueError(ValueError):
    """An error a planner reads: its text is a catalogue ``key`` with ``params``, in any language.

    ``str(exc)`` is the English text (for logs and the CLI); views call :meth:`message` with the
    user's language. Library errors that reach a planner derive from this class, so a page needs
    one ``except`` and never shows a traceback.
    """

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(t(key, "en", **params))

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The problem in words, in ``lang``."""
        return t(self.key, lang, **self.params)
