"""Where a city's data came from: the bundled sample city's files, and the source lines
shown under maps and in reports (which facts are real, which are illustrative).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from grid_planning.base.cache import SharedCache
from grid_planning.base.i18n import DEFAULT_LANGUAGE, listed, t
from grid_planning.city.layers import CityLayers, load_city
from grid_planning.domain.rules import any_illustrative, is_illustrative

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data" / "wuhan"


# =============================================================================================
# The sample city and the summary
# =============================================================================================
def sample_paths() -> dict[str, Path]:
    """Files of the bundled sample city (Wuhan)."""
    return {
        "units": SAMPLE_DIR / "population_units.geojson",
        "facilities": SAMPLE_DIR / "facilities.csv",
        "boundary": SAMPLE_DIR / "city_boundary.geojson",
        "districts": SAMPLE_DIR / "districts.geojson",
        "roads": SAMPLE_DIR / "roads.geojson",
    }


#: The sample city, once per server (sessions opening the dashboard at once wait for one load).
SAMPLE: SharedCache = SharedCache(max_entries=1)


def load_sample_city() -> CityLayers:
    """The bundled sample city (Wuhan), loaded once per process (:data:`SAMPLE`).

    The returned layers are shared by every caller: treat them as read-only (copy before editing).
    """
    return SAMPLE.get("sample", _load_sample)


def _load_sample() -> CityLayers:
    paths = sample_paths()
    districts = paths["districts"] if paths["districts"].exists() else None
    # The OpenStreetMap roads: the sample plans on them by default (cost mode "auto").
    roads = paths["roads"] if paths["roads"].exists() else None
    return load_city(
        paths["units"],
        paths["facilities"],
        paths["boundary"],
        roads=roads,
        districts=districts,
        name="武汉市 Wuhan",
    )


def source_lines(layers: CityLayers, lang: str = DEFAULT_LANGUAGE, *, sample: bool | None = None,
                 source_names: Sequence[str] | None = None) -> list[str]:
    """Data sources, provenance and the illustrative-data note, as sentences for a page footer.

    Parameters
    ----------
    layers : CityLayers
    sample : bool, optional
        The bundled sample city (its sources and licences are cited); detected when omitted.
    source_names : sequence of str, optional
        The user's file names (never server paths) when not the sample city.
    """

    if sample is None:
        sample = is_sample_city(layers)
    lines = []
    if sample:
        lines.append(t("exports.sources.sample", lang))
        # The sample's roads file is its OpenStreetMap layer: credited when the layers hold it or
        # name it among their sources (a print made from a plan file reads no roads).
        if getattr(layers, "roads", None) is not None or "roads" in (getattr(layers, "sources", None) or {}):
            lines.append(t("exports.sources.sample_roads", lang))
    else:
        names = list(source_names or [])
        if not names:
            names = [file_basename(v) for v in getattr(layers, "sources", {}).values()]
        if names:
            lines.append(t("exports.sources.user", lang, files=listed(names, lang)))
        else:
            lines.append(t("exports.sources.user_unnamed", lang))
    lines += provenance_rows(layers, lang, sample=False)
    if any_illustrative(layers.facilities):
        lines.append(t("exports.note.illustrative", lang))
    return lines


def file_basename(value: object) -> str:
    text = str(value).replace("\\", "/").rstrip("/")
    return text.rsplit("/", 1)[-1]


#: The sample city's name and files (``layers.load_sample_city``).
SAMPLE_CITY = "武汉市 Wuhan"


SAMPLE_FILES = frozenset({"city_boundary.geojson", "population_units.geojson", "facilities.csv",
                          "districts.geojson", "roads.geojson"})


def is_sample_city(layers: CityLayers, sources: Mapping[str, object] | None = None) -> bool:
    """True for the bundled Wuhan sample (name and source files match), whose sources and licences
    are then cited; ``sources`` overrides ``layers.sources`` (e.g. those stored in a plan file)."""
    srcs = dict(sources if sources is not None else getattr(layers, "sources", {}) or {})
    files = {file_basename(v) for v in srcs.values()}
    return str(getattr(layers, "name", "")) == SAMPLE_CITY and bool(files) and files <= SAMPLE_FILES


def provenance_rows(
    layers: CityLayers, lang: str = DEFAULT_LANGUAGE, *, sample: bool = False
) -> list[str]:
    """Plain sentences saying which layers are real and which are illustrative, with counts.

    ``sample=True`` adds the bundled city's layer-level provenance (outline, districts and
    population are real data; see ``sample_data/SOURCES.md``).
    """
    fac = layers.facilities
    source = fac["source"].astype(str) if "source" in fac.columns else pd.Series([], dtype=str)
    real = int((source == "real").sum())
    illustrative = int(is_illustrative(fac, part="facility").sum())
    other = int(len(fac) - real - illustrative)
    assumed = (
        int((fac["level_source"].astype(str) == "assumed").sum())
        if "level_source" in fac.columns
        else 0
    )
    rows = []
    if sample:
        rows.append(t("home.prov.sample_boundary", lang))
        rows.append(t("home.prov.sample_units", lang, count=f"{len(layers.units):,}"))
    if real:
        rows.append(t("home.prov.real_facilities", lang, count=f"{real:,}"))
    if illustrative:
        rows.append(t("home.prov.illustrative_facilities", lang, count=f"{illustrative:,}"))
    if other:
        rows.append(t("home.prov.user_facilities", lang, count=f"{other:,}"))
    if assumed:
        rows.append(t("home.prov.assumed_levels", lang, count=f"{assumed:,}"))
    return rows


def city_name_in(name: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """A bilingual city name ("武汉市 Wuhan") in one language: the Chinese part in a Chinese
    document, the Latin part in an English one; any other name as it is."""
    text = str(name or "").strip()
    head, sep, tail = text.partition(" ")
    has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in head)
    latin_tail = bool(tail) and not any("\u4e00" <= ch <= "\u9fff" for ch in tail)
    if not (sep and has_cjk and latin_tail):
        return text
    return head if lang == "zh" else tail.strip()
