"""Server settings: one place that reads them, so every module agrees and the README can list them.

A setting ``name`` is looked up, first match wins:

1. the environment variable ``GRID_PLANNER_<NAME>`` (upper case), e.g. ``GRID_PLANNER_STORE_URL``;
2. the TOML file named by ``GRID_PLANNER_CONFIG`` (default ``$GRID_PLANNER_HOME/config.toml``,
   ``GRID_PLANNER_HOME`` defaulting to ``~/.grid_planner``), key ``name`` at top level;
3. the default the calling module gives.

Modules read settings when they need them (not at import), so a test can set an environment
variable and see it. A value that cannot be read as the expected type raises :class:`SettingError`
naming the setting, where it came from and the value.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


ENV_PREFIX = "GRID_PLANNER_"


class SettingError(ValueError):
    """A setting whose value cannot be used (the message names it and its source)."""


def home() -> Path:
    """The server's own folder: ``$GRID_PLANNER_HOME`` (default ``~/.grid_planner``)."""
    return Path(os.environ.get(f"{ENV_PREFIX}HOME", Path.home() / ".grid_planner"))


def config_path() -> Path:
    """The settings file: ``$GRID_PLANNER_CONFIG`` or ``<home>/config.toml``."""
    explicit = os.environ.get(f"{ENV_PREFIX}CONFIG")
    return Path(explicit) if explicit else home() / "config.toml"


def _file_settings() -> dict[str, Any]:
    path = config_path()
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingError(f"settings file {path.name} cannot be read: {exc}") from None


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(value)


def setting(name: str, default: T, cast: Callable[[Any], T] | None = None) -> T:
    """The value of setting ``name`` (see the module docstring), cast like ``default``.

    Parameters
    ----------
    name : str
        Lower-case setting name, e.g. ``"store_url"``.
    default : object
        Returned when the setting is not given anywhere.
    cast : callable, optional
        Converts the raw value; defaults to the type of ``default`` (``bool`` understands
        ``1/0/true/false/yes/no/on/off``). ``None`` defaults are returned as given (strings).

    Raises
    ------
    SettingError
        When the value cannot be converted.
    """
    env = os.environ.get(ENV_PREFIX + name.upper())
    source, raw = (f"{ENV_PREFIX}{name.upper()}", env) if env is not None else (None, None)
    if raw is None:
        values = _file_settings()
        if name not in values:
            return default
        source, raw = f"{config_path().name}:{name}", values[name]
    if cast is None:
        if isinstance(default, bool):
            cast = _bool
        elif default is None:
            return raw
        else:
            cast = type(default)
    try:
        return cast(raw)
    except (TypeError, ValueError):
        raise SettingError(f"setting {source} = {raw!r} is not a valid {name}") from None


#: Longest texts a planner writes, as settings (name -> default): a written reason for an "in
#: principle" exception (G4 designation by a role change or a request, G5 waiver, G2 single grid),
#: a checklist entry's note, a scenario's name and note. The README's "Limits" table lists them.
TEXT_LIMITS: dict[str, int] = {
    "max_reason_chars": 2_000,
    "max_checklist_note_chars": 2_000,
    "max_scenario_name_chars": 120,
    "max_scenario_note_chars": 4_000,
}


def _positive_int(value: str | int) -> int:
    number = int(value)
    if isinstance(value, bool) or number < 1 or str(value).strip() != str(number):
        raise ValueError(value)
    return number


def text_limit(name: str) -> int:
    """The longest text allowed by setting ``name`` (one of :data:`TEXT_LIMITS`), read now.

    Raises
    ------
    SettingError
        When the setting is not a whole number of at least 1.
    KeyError
        For a name that is not one of :data:`TEXT_LIMITS`.
    """
    return setting(name, TEXT_LIMITS[name], _positive_int)


def text_too_long(text: object, name: str) -> int | None:
    """The length of ``text`` when it is longer than setting ``name`` allows, else ``None``.

    One rule for every place that takes such a text (the planner's request check, the plan page,
    the scenario store), so they refuse the same texts.
    """
    length = len(str(text or ""))
    return length if length > text_limit(name) else None
