"""Scenarios in and out of the store as the plan GeoPackage, so two offices can exchange options.

The file is the plan GeoPackage of ``data-format.md`` (:func:`grid_planning.exports.planfile.write_plan` /
:func:`~grid_planning.exports.planfile.read_plan`); the scenario's name, note and owner travel in its
parameters (``scenario_name``, ``scenario_note``, ``scenario_owner``).

An imported file must be a plan of the city in use: its units must be the same units (by id);
otherwise it is refused, naming the file's city and the one in use. When the units are the same
but their populations, or the facilities (ids, level, type, ownership), differ from the layers in
use, the scenario is imported and recorded as made on other layers, so opening it flags what
changed, as for a scenario saved before the data were updated.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from grid_planning.base.i18n import DEFAULT_LANGUAGE, CatalogueError
from grid_planning.domain.plan import Plan
from grid_planning.exports.planfile import PlanFileError, read_plan, write_plan
from grid_planning.io.limits import limits
from grid_planning.store.identity import User
from grid_planning.store.scenarios import (
    ScenarioStore,
    display_name,
    grid_outlines,
    layer_fingerprints,
    part_fingerprint,
)

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers

#: Facility columns whose difference makes a plan "made on other facilities".
FACILITY_KEYS = ("level", "type", "owner_level")


#: Name of an imported file while it is read (never shown: messages name the user's file).
UPLOAD_NAME = "upload.gpkg"


class ExchangeError(CatalogueError):
    """A scenario file that cannot be exported or imported (``team.error.<code>``)."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        super().__init__(f"team.error.{code}", **params)


@dataclass(frozen=True)
class Imported:
    """What :func:`import_gpkg` stored.

    Attributes
    ----------
    id : int
        The new scenario's id.
    name : str
        Its name.
    city : str
        The city named in the file.
    changed : tuple of str
        Parts of the layers in use that differ from the file's (``units``, ``facilities``).
    """

    id: int
    name: str
    city: str
    changed: tuple[str, ...]


def _same_units(layers: CityLayers, plan: Plan) -> bool:
    return set(layers.units["id"].astype(str)) == set(plan.assignment.index.astype(str))


def scenario_gpkg(
    store: ScenarioStore, scenario: int | str, layers: CityLayers, costs: CostMatrix | None = None, *,
    lang: str = DEFAULT_LANGUAGE,
) -> bytes:
    """A saved scenario as the plan GeoPackage (bytes for a download).

    Parameters
    ----------
    store : ScenarioStore
    scenario : int or str
        Id or name.
    layers : CityLayers
        The layers in use; the scenario must be a plan of their units.
    costs : CostMatrix, optional
        Travel costs for the travel-time columns (empty without).
    lang : {"zh", "en"}

    Raises
    ------
    ExchangeError
        ``other_city`` when the scenario's units are not those of ``layers``.
    """
    info = store.info(scenario)
    plan = store.load(info.id)
    if not _same_units(layers, plan):
        raise ExchangeError("other_city", file=info.name, city=info.city, current=layers.name)
    plan = plan.with_params(scenario_name=info.name, scenario_note=info.note, scenario_owner=info.owner_name)
    with tempfile.TemporaryDirectory(prefix="grid_export_") as tmp:
        path = write_plan(Path(tmp) / "scenario.gpkg", layers, plan, costs, lang=lang)
        return path.read_bytes()


def _public(exc: PlanFileError, filename: str, tmp: str) -> ExchangeError | PlanFileError:
    """The reader's error with the upload's name in place of the temporary path."""
    def public(text: str) -> str:
        # read_plan's details name the file by its base name (limits.short_detail).
        return text.replace(str(Path(tmp) / UPLOAD_NAME), filename).replace(tmp, "").replace(UPLOAD_NAME, filename)

    params = {k: public(v) if isinstance(v, str) else v for k, v in exc.params.items()}
    params["file"] = filename
    return PlanFileError(exc.key, **params)


def _facility_table(fac: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in FACILITY_KEYS if c in fac.columns]
    out = pd.DataFrame({c: fac[c].astype(str).str.strip().to_numpy() for c in cols},
                       index=fac["id"].astype(str).to_numpy())
    return out.sort_index()


def _differences(file_layers: CityLayers, layers: CityLayers) -> tuple[str, ...]:
    changed = []
    mine = layers.units.set_index(layers.units["id"].astype(str))
    theirs = file_layers.units.set_index(file_layers.units["id"].astype(str))
    pop_a = pd.to_numeric(mine.get("population"), errors="coerce").reindex(theirs.index)
    pop_b = pd.to_numeric(theirs.get("population"), errors="coerce")
    if ((pop_a - pop_b).abs().fillna(math.inf) > 0.5).any():
        changed.append("units")
    fa, fb = _facility_table(layers.facilities), _facility_table(file_layers.facilities)
    if list(fa.index) != list(fb.index) or list(fa.columns) != list(fb.columns) or not fa.equals(fb):
        changed.append("facilities")
    return tuple(changed)


def _safe_filename(name: str) -> str:
    base = Path(str(name)).name  # never a client's path
    return display_name(re.sub(r"[\\/]", "_", base))[:120] or "scenario.gpkg"


def import_gpkg(
    store: ScenarioStore,
    data: bytes,
    filename: str,
    layers: CityLayers,
    *,
    user: User | None = None,
    name: str | None = None,
    note: str | None = None,
) -> Imported:
    """Store the scenario of a plan GeoPackage made on the city in use.

    Parameters
    ----------
    store : ScenarioStore
    data : bytes
        The file's content.
    filename : str
        The name the user gave the file (used in messages; never a server path).
    layers : CityLayers
        The layers in use.
    user : User, optional
        Who imports (the owner of the new scenario).
    name, note : str, optional
        Defaults: the name and note recorded in the file, else the file's name.

    Raises
    ------
    ExchangeError
        ``too_large``; ``other_city`` when the file's units are not those of ``layers``.
    PlanFileError
        When the file is not a readable plan GeoPackage (naming ``filename``).
    ScenarioStoreError
        ``name_taken`` and the store's other refusals.
    """
    filename = _safe_filename(filename)
    limit_mb = limits().upload_mb  # the upload limit: a plan file is an upload like any other
    if len(data) > limit_mb * 1024 * 1024:
        raise ExchangeError("too_large", file=filename, limit_mb=limit_mb)
    with tempfile.TemporaryDirectory(prefix="grid_import_") as tmp:
        path = Path(tmp) / UPLOAD_NAME
        path.write_bytes(data)
        try:
            file_layers, plan = read_plan(path)
        except PlanFileError as exc:
            raise _public(exc, filename, tmp) from None
    if not _same_units(layers, plan):
        raise ExchangeError("other_city", file=filename, city=file_layers.name, current=layers.name)
    changed = _differences(file_layers, layers)
    params: Mapping[str, object] = plan.param_map
    fps = layer_fingerprints(layers)
    for part in changed:  # the scenario was made on the file's version of that layer
        fps[part] = part_fingerprint(getattr(file_layers, part))
    city_fp = layers.fingerprint() if not changed else "imported:" + "|".join(f"{k}={v}" for k, v in sorted(fps.items()))
    title = name if name and display_name(name) else str(params.get("scenario_name") or Path(filename).stem)
    text = note if note is not None else str(params.get("scenario_note") or "")
    clean = replace(plan, params=tuple(
        (k, v) for k, v in plan.params if k not in ("scenario_name", "scenario_note", "scenario_owner")))
    sid = store.save(title, clean, city=layers.name, city_fingerprint=city_fp, note=text, user=user,
                     layer_fingerprints=fps, outlines=grid_outlines(layers, clean))
    return Imported(sid, store.info(sid).name, file_layers.name, changed)
