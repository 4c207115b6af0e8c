"""What the dashboard pages compute, kept out of the pages so it is tested without a browser.

- :func:`load_uploads`: the data page's upload handling (bytes from the browser -> a private
  temporary folder, removed as soon as the files are read -> :func:`grid_planning.city.layers.load_city`),
  never raising for bad files.
- :func:`upload_layers`: the layers or sheets of an uploaded file that the planner may choose from
  (the data page shows a select box when there are several).
- :data:`MAX_UPLOAD_BYTES` / :func:`max_upload_bytes`: the largest upload, from the setting
  ``max_upload_mb`` (the same number as Streamlit's ``server.maxUploadSize``).
- :func:`sweep_stale_temp`: removes temporary folders a killed process left (run once per process
  by the first :func:`load_uploads`).
- :func:`headline_figures`, :func:`provenance_rows`, :func:`report_table`: the home and data
  pages' figures and tables, already translated and formatted.
- :class:`Column`, :func:`format_table`: a page's figure table with its numbers formatted for
  the language (:mod:`grid_planning.base.numfmt`) and the headers of the columns to right-align.
- :func:`chrome_css`: Streamlit's own English texts (file upload button and limits, input hints)
  replaced by the catalogue's, in the session's language.
- :func:`seed_widget`, :func:`remember_widget`, :func:`kept_value`: what the planner chose in a
  widget survives page changes and the language switch (see :func:`seed_widget` for why Streamlit
  alone loses it).

No streamlit import here (the library never depends on the UI).
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from grid_planning.base import numfmt
from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.city.layers import CityLayers, load_city
from grid_planning.io import inputs, limits
from grid_planning.io.findings import ValidationReport

#: Upload slots of the data page: name -> (required, accepted file suffixes).
UPLOAD_SLOTS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "units": (True, ("geojson", "json", "gpkg", "zip", "csv", "xlsx")),
    "facilities": (True, ("csv", "xlsx", "geojson", "json", "gpkg", "zip")),
    "boundary": (False, ("geojson", "json", "gpkg", "zip")),
    "districts": (False, ("geojson", "json", "gpkg", "zip")),
    "roads": (False, ("geojson", "json", "gpkg", "zip")),
    # As ``--water`` / ``--crossings``: rivers and lakes (polygons or centrelines) that
    # straight-line travel crosses only at a crossing (bridge, tunnel, ferry: points or lon/lat).
    "water": (False, ("geojson", "json", "gpkg", "zip")),
    "crossings": (False, ("geojson", "json", "gpkg", "zip", "csv", "xlsx")),
}


#: Text encodings the data page offers for CSV/TXT uploads: codec name -> name shown. ``""`` is
#: automatic detection (UTF-8, GB18030/GBK, Big5/Big5-HKSCS, UTF-16), the default.
ENCODING_CHOICES: dict[str, str] = {
    "": "",
    "big5": "Big5",
    "big5hkscs": "Big5-HKSCS",
    "gbk": "GBK",
    "gb18030": "GB18030",
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
}


def max_upload_bytes() -> int:
    """Largest upload accepted per file: the setting ``max_upload_mb`` (default 100), read now.

    Streamlit refuses larger files itself when ``server.maxUploadSize`` in
    ``.streamlit/config.toml`` holds the same number (a test keeps the two equal).
    """
    return limits.limits().upload_mb * 1024 * 1024


def __getattr__(name: str) -> int:
    # ``MAX_UPLOAD_BYTES`` reads the setting on every access, so a server's configuration (and a
    # test's environment) is seen without a restart of the interpreter.
    if name == "MAX_UPLOAD_BYTES":
        return max_upload_bytes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Prefixes of the temporary folders this package makes (uploads; unpacked archives and copies;
#: exports being written; imported scenario files being read).
TEMP_PREFIXES = ("grid_upload_", "grid_read_", "grid_export_", "grid_import_")


#: A temporary folder of ours older than this is a leftover (a killed server, an older version
#: that kept every upload): reading one upload takes seconds.
STALE_AFTER_S = 3600.0


_swept = False


def sweep_stale_temp(folder: str | Path | None = None, *, older_than_s: float = STALE_AFTER_S) -> int:
    """Remove this package's temporary folders older than ``older_than_s`` from ``folder`` (the
    system temporary folder by default); returns how many were removed.

    Every upload's folder is removed as soon as it is read, and at interpreter exit; this clears
    what a killed process (or a version before that) left behind. Folders younger than the limit
    may be another server process's upload being read, so they are left alone.
    """
    root = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    now = time.time()
    removed = 0
    try:
        entries = list(root.iterdir())
    except OSError:
        return 0
    for entry in entries:
        try:
            if (
                entry.name.startswith(TEMP_PREFIXES)
                and entry.is_dir()
                and not entry.is_symlink()
                and now - entry.stat().st_mtime > older_than_s
            ):
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


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
    layers: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
) -> UploadResult:
    """Validate uploaded layers exactly as the CLI does.

    Parameters
    ----------
    files : mapping
        Slot (see :data:`UPLOAD_SLOTS`) -> ``(original file name, content)`` or ``None``.
    coords : {"wgs84", "gcj02", "bd09"}
        Coordinate system of lon/lat inputs (files with a projected CRS are never shifted).
    workdir : path, optional
        Folder in which the private temporary folder is made (default: the system's temporary
        folder). The files live there only while they are read: the folder is removed before
        this returns (the layers are read eagerly), whatever happens.
    city_name : str, optional
        Name shown for the uploaded city.
    layers : mapping, optional
        Slot -> layer or sheet to read from a file that holds several (see :func:`upload_layers`);
        ``None`` or ``""`` means automatic.
    encoding : str, optional
        Text encoding of CSV/TXT uploads (one of :data:`ENCODING_CHOICES`, or any name Python
        knows); ``None`` or ``""`` detects it. The report names a chosen encoding.

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

    limit = max_upload_bytes()
    for slot in UPLOAD_SLOTS:
        item = files.get(slot)
        if not item:
            continue
        original, content = item
        if len(content) > limit:
            report.error("upload_too_large", original, mb=limit // (1024 * 1024))
        elif len(content) == 0:
            report.error("upload_empty", original)
    if not report.ok:
        return UploadResult(None, report)

    global _swept
    if not _swept:  # once per process: leftovers of a killed server or an older version
        _swept = True
        sweep_stale_temp()
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="grid_upload_", dir=workdir) as tmp:
        paths: dict[str, Path] = {}
        labels: dict[str, str] = {}
        for slot in UPLOAD_SLOTS:
            item = files.get(slot)
            if not item:
                continue
            original, content = item
            paths[slot] = _write_upload(Path(tmp), slot, original, content)
            labels[slot] = str(original)
        try:
            city = load_city(
                paths["units"],
                paths["facilities"],
                paths.get("boundary"),
                paths.get("roads"),
                districts=paths.get("districts"),
                water=paths.get("water"),
                crossings=paths.get("crossings"),
                coords=coords,
                name=city_name,
                labels=labels,
                layers={k: v for k, v in (layers or {}).items() if v},
                encoding=encoding or None,
            )
        except Exception as exc:  # noqa: BLE001 - a bad file must never crash the page
            detail = limits.short_detail(exc, ", ".join(labels.values()), [tmp, *paths.values()])
            report.error(
                "upload_failed", ", ".join(labels.values()), detail=f"{type(exc).__name__}: {detail}"
            )
            return UploadResult(None, report)
    report.extend(city.report)
    return UploadResult(city, report)


def _write_upload(folder: Path, slot: str, original: str, content: bytes) -> Path:
    sub = folder / slot  # one folder per slot: two uploads with the same name do not clash
    sub.mkdir(exist_ok=True)
    path = sub / _safe_name(original, slot)
    path.write_bytes(content)
    return path


def upload_layers(slot: str, name: str, content: bytes) -> list[str]:
    """The layers or sheets of an uploaded file that the planner may choose from for ``slot``.

    Parameters
    ----------
    slot : str
        Upload slot (:data:`UPLOAD_SLOTS`); decides which layers fit (polygons for units, ...).
    name, content : str, bytes
        The file as uploaded.

    Returns
    -------
    list of str
        Names of the layers (GeoPackage, zip of several files) or sheets (XLSX) that hold data,
        those fitting the slot when any does; empty when the file has at most one such layer or
        cannot be opened (validation then reports why). The file is written to a private
        temporary folder, listed, and removed.
    """
    if not content or len(content) > max_upload_bytes() or slot not in UPLOAD_SLOTS:
        return []
    with tempfile.TemporaryDirectory(prefix="grid_upload_") as tmp:
        path = _write_upload(Path(tmp), slot, name, content)
        try:
            subs = inputs.list_layers(path, label=name)
        except Exception:  # noqa: BLE001 - the validation names the problem; no choice to offer
            return []
    names = [s.name for s in inputs.candidates(subs, slot)]
    return names if len(names) > 1 else []


def _num(value: float, digits: int = 0) -> str:
    return numfmt.number(value, digits)


@dataclass(frozen=True)
class Column:
    """One column of a figure table (:func:`format_table`).

    Attributes
    ----------
    header : str
        Catalogue key of the header.
    source : str
        Column of the frame (``""``: the frame's index).
    kind : {"text", "integer", "number", "percent", "signed_percent"}
        How the values read: as given, whole numbers with separators, ``digits`` decimals, or a
        share (0.557) as a percentage (``+12.0%`` for a signed deviation).
    digits : int
        Decimals of ``number`` and the percentages.
    """

    header: str
    source: str
    kind: str = "text"
    digits: int = 1


def format_table(
    frame: pd.DataFrame, columns: Sequence[Column], lang: str = DEFAULT_LANGUAGE
) -> tuple[pd.DataFrame, list[str]]:
    """A table to show: translated headers, every figure formatted for ``lang``.

    Returns
    -------
    (DataFrame, list of str)
        The table (text cells: ``12,326,518``, ``55.7%`` / ``55.7 %``, ``—`` for a missing value)
        and the headers of its figure columns, which the page right-aligns.
    """
    out: dict[str, list[str]] = {}
    figures = []
    for col in columns:
        values = frame.index if col.source == "" else frame[col.source]
        header = t(col.header, lang)
        if col.kind == "text":
            out[header] = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                           for v in values]
            continue
        figures.append(header)
        if col.kind == "integer":
            out[header] = [numfmt.integer(v, lang) for v in values]
        elif col.kind == "number":
            out[header] = [numfmt.number(v, col.digits, lang) for v in values]
        elif col.kind in ("percent", "signed_percent"):
            out[header] = [numfmt.percent(v, col.digits, lang, signed=col.kind == "signed_percent")
                           for v in values]
        else:
            raise ValueError(f"unknown column kind {col.kind!r}")
    return pd.DataFrame(out), figures


def headline_figures(summary: Mapping, lang: str = DEFAULT_LANGUAGE) -> list[tuple[str, str]]:
    """(label, formatted value) pairs for the home page metrics, from :func:`layers.summarise`."""
    return [
        (t("home.metric.population", lang), _num(summary["population"])),
        # one decimal, as the report's cover and the XLSX give the city's area
        (t("home.metric.area", lang), f"{_num(summary['area_km2'], 1)} km²"),
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


def report_table(report: ValidationReport, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The validation report as a table with translated headers (severity, file, row, ...)."""
    columns = ["severity", "file", "row", "column", "message", "advice"]
    frame = pd.DataFrame(report.to_records(lang), columns=columns)
    return frame.rename(columns={c: t(f"data.col.{c}", lang) for c in columns})


#: Session key of the values the planner chose in persistent widgets (``{widget key: value}``).
KEPT = "_kept_widgets"


#: Session key of when each persistent widget was last seeded (``{widget key: (lang, revision)}``).
SEEDED = "_seeded_widgets"


_UNSET = object()


def seed_widget(
    state: MutableMapping, key: str, value: object, *, lang: str, revision: object = None
) -> bool:
    """Give widget ``key`` the planner's ``value`` before it is drawn, whenever Streamlit would not.

    Streamlit loses a widget's value in two ways:

    - it deletes the state of every widget that a run does not draw, so opening another page (which
      draws other widgets) drops the choice and coming back shows the widget's default;
    - a radio, select box or multiselect remembers the *label* of the chosen option, so when the
      labels change language the choice no longer matches and falls back to the default.

    The value therefore lives outside the widget (a non-widget session key, the workspace's request
    ...) and is written into the widget's key when the key is missing, when the language differs
    from the one it was last seeded in, or when ``revision`` changed (the value was replaced from
    outside the widget, e.g. a scenario was opened). Otherwise the widget keeps what the planner
    is doing with it.

    Parameters
    ----------
    state : mutable mapping
        ``st.session_state`` (a plain dict in tests).
    key : str
        The widget's key.
    value : object
        The option value (not its label) to show.
    lang : str
        The language the page is drawn in now.
    revision : object, optional
        Changes whenever ``value`` was changed from outside the widget.

    Returns
    -------
    bool
        True when the widget was seeded.
    """
    marks = state.get(SEEDED)
    if marks is None:
        marks = state[SEEDED] = {}
    mark = (lang, revision)
    if key in state and marks.get(key) == mark:
        return False
    state[key] = value
    marks[key] = mark
    return True


def remember_widget(state: MutableMapping, key: str, value: object, *, lang: str) -> None:
    """Record what widget ``key`` shows now, drawn in ``lang`` (call right after drawing it): the
    value to seed it with later, and that the widget matches this language (no seed needed)."""
    kept = state.get(KEPT)
    if kept is None:
        kept = state[KEPT] = {}
    kept[key] = value
    marks = state.get(SEEDED)
    if marks is None:
        marks = state[SEEDED] = {}
    marks[key] = (lang, None)


def kept_value(state: Mapping, key: str, default: object = None) -> object:
    """The value last recorded for widget ``key`` by :func:`remember_widget`, else ``default``."""
    return (state.get(KEPT) or {}).get(key, default)


def keep_widget(state: MutableMapping, key: str, *, lang: str, default: object = _UNSET) -> None:
    """:func:`seed_widget` from the value recorded by :func:`remember_widget` (or ``default``);
    with neither, the widget starts at its own default."""
    value = kept_value(state, key, default)
    if value is not _UNSET:
        seed_widget(state, key, value, lang=lang)


def css_string(text: str) -> str:
    """``text`` as a CSS string literal: quotes and backslashes escaped, line breaks as ``\\A``,
    ``<`` and ``>`` as escapes (the CSS sits in a ``<style>`` element)."""
    out = []
    for ch in str(text):
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\A ")
        elif ch in "<>" or ord(ch) < 0x20:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def chrome_css(lang: str = DEFAULT_LANGUAGE) -> str:
    """CSS that shows the catalogue's words where Streamlit 1.67 writes fixed English.

    Streamlit has no setting for these texts: the file uploader's "Upload" button and its
    "100MB per file • CSV, XLSX" line, the "Press Enter to apply" hint under text fields and the
    "Stop" button beside the running indicator. Their text is hidden (``font-size: 0``, so it
    takes no room) and ours is drawn in its place with ``::after``; the upload limit is the
    setting ``max_upload_mb``. The accepted formats are in each uploader's own label. The
    viewer's main menu (Rerun, Settings, Print, About: English only) is hidden; "Deploy" is off
    in ``.streamlit/config.toml`` (``client.toolbarMode = "viewer"``).
    """
    mb = max_upload_bytes() // (1024 * 1024)
    button = css_string(t("dash.chrome.upload_button", lang))
    limit = css_string(t("dash.chrome.upload_limit", lang, mb=mb))
    enter = css_string(t("dash.chrome.enter", lang))
    ctrl_enter = css_string(t("dash.chrome.ctrl_enter", lang))
    stop = css_string(t("dash.chrome.stop", lang))
    drop = '[data-testid="stFileUploaderDropzone"]'
    hint = '[data-testid="InputInstructions"]'
    return "\n".join([
        f'{drop} button [data-testid="stMarkdownContainer"] p {{ font-size: 0; }}',
        f'{drop} button [data-testid="stMarkdownContainer"] p::after {{ content: {button}; font-size: 0.875rem; }}',
        f'{drop} [data-testid="stFileUploaderDropzoneInstructions"] span {{ font-size: 0; }}',
        f'{drop} [data-testid="stFileUploaderDropzoneInstructions"] span::after {{ content: {limit}; font-size: 0.875rem; }}',
        f"{hint} > span {{ display: none; }}",
        f"{hint}::after {{ content: {enter}; }}",
        f'[data-testid="stTextArea"] {hint}::after {{ content: {ctrl_enter}; }}',
        '[data-testid="stMainMenu"] { display: none; }',
        '[data-testid="stStatusWidget"] button { font-size: 0; }',
        f'[data-testid="stStatusWidget"] button::after {{ content: {stop}; font-size: 0.875rem; }}',
    ])
