"""What the dashboard pages compute, kept out of the pages so it is tested without a browser.

- :func:`load_uploads`: the data page's upload handling (bytes from the browser -> temp files ->
  :func:`grid_planning.layers.load_city`), never raising for bad files.
- :func:`headline_figures`, :func:`provenance_rows`, :func:`report_table`: the home and data
  pages' figures and tables, already translated and formatted.

No streamlit import here (the library never depends on the UI).
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from grid_planning.i18n import DEFAULT_LANGUAGE, t
from grid_planning.layers import CityLayers, load_city
from grid_planning.report import ValidationReport

#: Upload slots of the data page: name -> (required, accepted file suffixes).
UPLOAD_SLOTS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "units": (True, ("geojson", "json", "gpkg", "zip", "csv", "xlsx")),
    "facilities": (True, ("csv", "xlsx", "geojson", "json", "gpkg", "zip")),
    "boundary": (False, ("geojson", "json", "gpkg", "zip")),
    "districts": (False, ("geojson", "json", "gpkg", "zip")),
    "roads": (False, ("geojson", "json", "gpkg", "zip")),
}

#: Largest upload accepted per file (a city's layers are a few MB; this stops accidents).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class UploadResult:
    """Outcome of :func:`load_uploads`.

    Attributes
    ----------
    layers : CityLayers or None
        The validated layers; ``None`` when required files are missing or loading failed outright.
    report : ValidationReport
        Every finding (also the ones about missing or unreadable uploads).
    """

    layers: CityLayers | None
    report: ValidationReport

    @property
    def usable(self) -> bool:
        """True when the layers may replace the sample city (loaded and without errors)."""
        return self.layers is not None and self.report.ok


def _safe_name(name: str, fallback: str) -> str:
    """A file name without directories or odd characters, keeping its suffix (readers use it)."""
    base = Path(str(name).replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w\-]+", "_", stem, flags=re.UNICODE).strip("_") or fallback
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix).lower()
    return f"{stem}.{suffix}" if suffix else stem


def load_uploads(
    files: Mapping[str, tuple[str, bytes] | None],
    *,
    coords: str = "wgs84",
    workdir: str | Path | None = None,
    city_name: str | None = None,
) -> UploadResult:
    """Validate uploaded layers exactly as the CLI does.

    Parameters
    ----------
    files : mapping
        Slot (see :data:`UPLOAD_SLOTS`) -> ``(original file name, content)`` or ``None``.
    coords : {"wgs84", "gcj02", "bd09"}
        Coordinate system of lon/lat inputs (files with a projected CRS are never shifted).
    workdir : path, optional
        Where to write the files (a new temporary directory by default; it is kept because the
        loaders may read lazily and the user may reload).
    city_name : str, optional
        Name shown for the uploaded city.

    Returns
    -------
    UploadResult
        Never raises for bad input: missing required files, oversize files, unknown slots and
        unexpected loader failures become error findings.
    """
    report = ValidationReport()
    unknown = set(files) - set(UPLOAD_SLOTS)
    for slot in sorted(unknown):
        report.error("upload_unknown_slot", slot)
    for slot, (required, _) in UPLOAD_SLOTS.items():
        if required and not files.get(slot):
            report.error("upload_missing", t(f"data.slot.{slot}", DEFAULT_LANGUAGE), slot=slot)
    if not report.ok:
        return UploadResult(None, report)

    folder = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="grid_upload_"))
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    labels: dict[str, str] = {}
    for slot in UPLOAD_SLOTS:
        item = files.get(slot)
        if not item:
            continue
        original, content = item
        if len(content) > MAX_UPLOAD_BYTES:
            report.error("upload_too_large", original, mb=MAX_UPLOAD_BYTES // (1024 * 1024))
            continue
        if len(content) == 0:
            report.error("upload_empty", original)
            continue
        sub = folder / slot  # one folder per slot: two uploads with the same name do not clash
        sub.mkdir(exist_ok=True)
        path = sub / _safe_name(original, slot)
        path.write_bytes(content)
        paths[slot] = path
        labels[slot] = str(original)
    if not report.ok:
        return UploadResult(None, report)

    try:
        layers = load_city(
            paths["units"],
            paths["facilities"],
            paths.get("boundary"),
            paths.get("roads"),
            districts=paths.get("districts"),
            coords=coords,
            name=city_name,
            labels=labels,
        )
    except Exception as exc:  # noqa: BLE001 - a bad file must never crash the page
        report.error(
            "upload_failed", ", ".join(labels.values()), detail=f"{type(exc).__name__}: {exc}"
        )
        return UploadResult(None, report)
    report.extend(layers.report)
    return UploadResult(layers, report)


# --- figures and tables for the pages ---------------------------------------------------------


def _num(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def headline_figures(summary: Mapping, lang: str = DEFAULT_LANGUAGE) -> list[tuple[str, str]]:
    """(label, formatted value) pairs for the home page metrics, from :func:`layers.summarise`."""
    return [
        (t("home.metric.population", lang), _num(summary["population"])),
        (t("home.metric.area", lang), f"{_num(summary['area_km2'])} km²"),
        (t("home.metric.units", lang), _num(summary["units"])),
        (t("home.metric.facilities", lang), _num(summary["facilities"])),
        (
            t("home.metric.beds_per_1000", lang)
            + (t("home.metric.illustrative_suffix", lang) if summary.get("beds_illustrative_share") else ""),
            _num(summary["beds_per_1000"], 2),
        ),
        (
            t("home.metric.eligible_leads", lang)
            + (
                t("home.metric.assumed_suffix", lang, count=summary["eligible_leads_assumed"])
                if summary.get("eligible_leads_assumed")
                else ""
            ),
            _num(summary["eligible_leads"]),
        ),
    ]


def counts_table(summary: Mapping, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """Facilities by level and by type, labelled, for a small table."""
    rows = [
        {
            t("home.col.group", lang): t("home.by_level", lang),
            t("home.col.value", lang): t(f"vocab.level.{k}", lang),
            t("home.col.count", lang): v,
        }
        for k, v in summary["by_level"].items()
    ] + [
        {
            t("home.col.group", lang): t("home.by_type", lang),
            t("home.col.value", lang): t(f"vocab.type.{k}", lang),
            t("home.col.count", lang): v,
        }
        for k, v in summary["by_type"].items()
    ]
    return pd.DataFrame(rows)


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
    illustrative = int((source == "illustrative").sum())
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


def report_table(report: ValidationReport, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The validation report as a table with translated headers (severity, file, row, ...)."""
    columns = ["severity", "file", "row", "column", "message", "advice"]
    frame = pd.DataFrame(report.to_records(lang), columns=columns)
    return frame.rename(columns={c: t(f"data.col.{c}", lang) for c in columns})
