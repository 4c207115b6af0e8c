"""Every download format of a plan, from one function: :func:`export_plan`.

=============  =====================================================================================
format         what the file is
=============  =====================================================================================
``gpkg``       the plan GeoPackage of ``data-format.md`` (:func:`grid_planning.exports.planfile.write_plan`);
               read back by ``read_plan``: the exchange format between offices
``geojson``    a zip of three RFC 7946 GeoJSON files (WGS84, UTF-8): ``grids``, ``units``,
               ``facilities`` (GeoJSON holds one layer per file, and all three open in QGIS)
``shp``        a zipped Shapefile set ``grids``/``units``/``facilities`` with a ``.cpg`` saying
               UTF-8 and field names cut to the format's 10 characters (:data:`SHP_FIELDS`; the
               zip's ``fields.csv`` lists every original -> short name)
``csv``        a zip of CSV tables (UTF-8 with BOM, so Excel opens Chinese correctly): summary,
               roster, obligations, checks, checklist, units
``xlsx``       a workbook: summary sheet (one row per grid and a city total equal to
               :func:`metrics.city_metrics`), one sheet per grid (its figures, then its roster),
               the lead obligations, the checks and the checklist; numbers are numbers
``html``       a standalone interactive map (Leaflet inlined, no network needed)
``png``        the print-ready map, 300 dpi (:mod:`grid_planning.prints.printmap`)
``pdf``        the print-ready map as a vector PDF
``report``     the multi-page PDF plan report (:mod:`grid_planning.prints.report_pdf`)
=============  =====================================================================================

User text stays data in every format: spreadsheet cells go through
:func:`grid_planning.base.textsafe.write_xlsx` / :func:`~grid_planning.base.textsafe.spreadsheet_frame` (no
formula is ever evaluated), PDFs escape markup, the HTML map uses the map builders' escaping.
Temporary files live only inside a :class:`tempfile.TemporaryDirectory`.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyogrio

from grid_planning.assess.metrics import Figures, plan_figures
from grid_planning.base.i18n import DEFAULT_LANGUAGE, has, t
from grid_planning.base.textsafe import csv_bytes, invisible, text_cell, write_xlsx
from grid_planning.city.layers import CityLayers
from grid_planning.domain.plan import Plan
from grid_planning.exports.planfile import gpkg_bytes
from grid_planning.exports.tables import (
    BED_FIGURES,
    NUMBER_FORMATS,
    SUMMARY_COLUMNS,
    PlanTables,
    figure_label,
    plan_layers,
    plan_tables,
    workbook_sheets,
)
from grid_planning.prints.paper import PrintMapError, paper_size_mm

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix

#: format -> (file suffix, MIME type).
FORMATS: dict[str, tuple[str, str]] = {
    "gpkg": ("gpkg", "application/geopackage+sqlite3"),
    "geojson": ("geojson.zip", "application/zip"),
    "shp": ("shp.zip", "application/zip"),
    "csv": ("csv.zip", "application/zip"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "html": ("html", "text/html"),
    "png": ("png", "image/png"),
    "pdf": ("pdf", "application/pdf"),
    "report": ("report.pdf", "application/pdf"),
}


#: Formats that take paper size and orientation.
PAPER_FORMATS = frozenset({"png", "pdf"})


#: Short Shapefile field names (<= 10 characters) of the plan's own columns, per layer. Columns
#: not listed (a user's extra columns) are cut to 10 characters and made unique; ``fields.csv``
#: in the zip lists every mapping.
SHP_FIELDS: dict[str, dict[str, str]] = {
    "grids": {
        "grid_id": "grid_id", "name": "name", "lead_id": "lead_id", "lead_name": "lead_name",
        "lead_level_source": "lead_lvsrc", "population": "population", "area_km2": "area_km2",
        "beds": "beds", "beds_per_1000": "beds_p1000", "beds_illustrative_share": "beds_illus",
        "mean_travel_min": "t_mean", "p90_travel_min": "t_p90", "max_travel_min": "t_max",
        "share_15_lead": "sh15_lead", "share_30_lead": "sh30_lead", "share_15_secondary": "sh15_sec",
        "share_30_secondary": "sh30_sec", "polsby_popper": "polsby", "n_parts": "n_parts",
        "contiguous": "contiguous", "n_units": "n_units", "n_facilities": "n_facil",
        "balance_dev": "bal_dev",
    },
    "units": {
        "id": "id", "name": "name", "population": "population", "grid_id": "grid_id",
        "locked": "locked", "t_lead": "t_lead", "pop_65plus": "pop_65plus", "pop_20plus": "pop_20plus",
        "district": "district",
    },
    "facilities": {
        "id": "id", "name": "name", "level": "level", "type": "type", "owner_level": "owner_lvl",
        "beds": "beds", "outpatient_slots": "op_slots", "source": "source",
        "level_source": "level_src", "capacity_source": "cap_source", "grid_id": "grid_id",
        "role": "role", "home_grid": "home_grid", "supports": "supports", "parent_id": "parent_id",
        "district": "district", "note": "note", "lon": "lon", "lat": "lat",
    },
}


#: Shapefile text fields hold at most this many bytes (dBase); longer text is cut there.
SHP_TEXT_BYTES = 254


@dataclass(frozen=True)
class ExportFile:
    """A file ready for download.

    Attributes
    ----------
    data : bytes
    filename : str
        Suggested file name (``grid_plan_<city>_k4.xlsx`` ...).
    mime : str
        MIME type for the browser.
    """

    data: bytes
    filename: str
    mime: str


class ExportError(ValueError):
    """An unknown format or option (the message names the allowed values)."""


def file_name(city: str, k: int, fmt: str, *, paper: str = "A4", orientation: str = "landscape") -> str:
    """A file name for the export: ``grid_plan_<city>_k<k>[_A4_landscape].<suffix>``.

    Characters not allowed in file names on Windows are replaced; Chinese is kept. Characters
    that show as nothing (:func:`textsafe.invisible`: a right-to-left override would make
    ``…\u202egpj.exe`` read as ending in ``.jpg``) and DEL are dropped.
    """
    suffix = FORMATS[fmt][0]
    visible = "".join(ch for ch in str(city) if not invisible(ch))  # DEL is a control (Cc)
    safe = re.sub(r'[\\/:*?"<>|\x00-\x1f\s]+', "_", visible).strip("._") or "city"
    extra = f"_{paper}_{orientation}" if fmt in PAPER_FORMATS else ""
    return f"grid_plan_{safe[:40]}_k{k}{extra}.{suffix}"


def export_plan(
    layers: CityLayers,
    plan: Plan,
    costs: CostMatrix | None = None,
    fmt: str = "gpkg",
    *,
    lang: str = DEFAULT_LANGUAGE,
    paper: str = "A4",
    orientation: str = "landscape",
    sample: bool | None = None,
    source_names: Sequence[str] | None = None,
    figures: Figures | None = None,
) -> ExportFile:
    """The plan in one of :data:`FORMATS`.

    Parameters
    ----------
    layers : CityLayers
        The city as loaded (the plan's what-if edits are applied where facilities are shown).
    plan : Plan
    costs : CostMatrix, optional
        Travel costs; travel figures are empty without them.
    fmt : str
        A key of :data:`FORMATS`.
    lang : {"zh", "en"}
        Language of headers, legends and texts.
    paper, orientation : str
        Page of the print map (``png`` / ``pdf``): ``A4``/``A3``, ``landscape``/``portrait``.
    sample : bool, optional
        Cite the bundled sample city's sources (detected when omitted).
    source_names : sequence of str, optional
        The user's layer file names, for the sources line of maps and the report.
    figures : Figures, optional
        The plan's :func:`~grid_planning.assess.metrics.plan_figures` with the same ``costs`` and
        ``lang`` (a workspace passes the figures its pages show, so exporting every format
        computes them, and checks the policy, once). Computed here when not given.

    Returns
    -------
    ExportFile

    Raises
    ------
    ExportError
        Unknown format, paper size or orientation.
    """
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    try:
        paper_size_mm(paper, orientation)
    except PrintMapError as exc:
        raise ExportError(str(exc)) from None
    name = file_name(layers.name, plan.k, fmt, paper=paper, orientation=orientation)
    mime = FORMATS[fmt][1]
    if fmt in ("png", "pdf"):  # the print map draws the plan itself: no figures needed
        from grid_planning.prints.printmap import print_map  # why: matplotlib loads only to print

        data = print_map(layers, plan, fmt=fmt, paper=paper, orientation=orientation,
                         lang=lang, sample=sample, source_names=source_names)
        return ExportFile(data, name, mime)
    fig = figures if figures is not None else plan_figures(layers, plan, costs, lang=lang)
    if fmt == "gpkg":
        data = gpkg_bytes(layers, plan, costs, lang=lang, figures=fig)
    elif fmt == "geojson":
        data = geojson_zip(layers, plan, costs, lang=lang, figures=fig)
    elif fmt == "shp":
        data = shapefile_zip(layers, plan, costs, lang=lang, figures=fig)
    elif fmt == "csv":
        data = csv_zip(layers, plan, costs, lang=lang, figures=fig)
    elif fmt == "xlsx":
        data = xlsx_bytes(layers, plan, costs, lang=lang, figures=fig)
    elif fmt == "html":
        # why: folium, branca and jinja2 load only when an HTML map is written
        from grid_planning.maps.htmlmap import standalone_map_html

        # Unit tooltips show minutes only when there are travel costs (as without figures).
        data = standalone_map_html(layers, plan, costs, lang=lang,
                                   unit_df=fig.units if costs is not None else None).encode("utf-8")
    else:
        # why: reportlab (and matplotlib) load only when a report is made
        from grid_planning.prints.report_pdf import plan_report

        data = plan_report(layers, plan, costs, lang=lang, sample=sample, source_names=source_names,
                           figures=fig)
    return ExportFile(data, name, mime)


def geojson_zip(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None, *,
                lang: str = DEFAULT_LANGUAGE,
                figures: Figures | None = None) -> bytes:
    """A zip of ``grids.geojson``, ``units.geojson`` and ``facilities.geojson`` (RFC 7946), written
    from the plan's in-memory layers (:func:`~grid_planning.exports.tables.plan_layers`)."""
    out = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="grid_export_") as tmp, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, gdf in plan_layers(layers, plan, costs, lang=lang, figures=figures).items():
            path = Path(tmp) / f"{name}.geojson"
            pyogrio.write_dataframe(gdf, str(path), driver="GeoJSON", layer_options={"RFC7946": "YES"})
            zf.write(path, path.name)
    return out.getvalue()


def shp_field_names(layer: str, columns: Sequence[str]) -> dict[str, str]:
    """Original -> Shapefile field name (<= 10 characters, unique) for a layer's columns."""
    fixed = SHP_FIELDS.get(layer, {})
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        short = fixed.get(col) or _ascii_short(col)
        base, i = short, 1
        while short.lower() in used:
            tail = f"_{i}"
            short = base[: 10 - len(tail)] + tail
            i += 1
        used.add(short.lower())
        out[col] = short
    return out


def _ascii_short(name: str) -> str:
    # dBase field names are ASCII in practice (GDAL and QGIS mangle others): a non-ASCII user
    # column becomes "field"; fields.csv keeps its original name.
    text = re.sub(r"[^A-Za-z0-9_]", "_", str(name)).strip("_")
    return (text or "field")[:10]


def _cut_bytes(value: object) -> object:
    if not isinstance(value, str):
        return value
    raw = value.encode("utf-8")
    if len(raw) <= SHP_TEXT_BYTES:
        return value
    return raw[:SHP_TEXT_BYTES].decode("utf-8", errors="ignore")


def shapefile_zip(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None, *,
                  lang: str = DEFAULT_LANGUAGE,
                  figures: Figures | None = None) -> bytes:
    """Zipped Shapefiles ``grids``, ``units``, ``facilities`` (UTF-8 ``.cpg``) and ``fields.csv``,
    written from the plan's in-memory layers (:func:`~grid_planning.exports.tables.plan_layers`)."""
    out = io.BytesIO()
    rows = []
    with tempfile.TemporaryDirectory(prefix="grid_export_") as tmp, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, gdf in plan_layers(layers, plan, costs, lang=lang, figures=figures).items():
            cols = [c for c in gdf.columns if c != gdf.geometry.name]
            mapping = shp_field_names(name, cols)
            frame = gdf.rename(columns=mapping)
            for col in mapping.values():
                if pd.api.types.is_bool_dtype(frame[col]):
                    frame[col] = frame[col].astype(int)
                elif not pd.api.types.is_numeric_dtype(frame[col]):
                    frame[col] = frame[col].map(_cut_bytes)
            path = Path(tmp) / f"{name}.shp"
            pyogrio.write_dataframe(frame, str(path), driver="ESRI Shapefile", encoding="UTF-8")
            for part in sorted(Path(tmp).glob(f"{name}.*")):
                zf.write(part, part.name)
            rows += [{"layer": name, "column": c, "shapefile_field": s} for c, s in mapping.items()]
        # Column names are the user's headers: text, never a formula (textsafe.csv_bytes).
        zf.writestr("fields.csv", csv_bytes(pd.DataFrame(rows)))
    return out.getvalue()


def csv_zip(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None, *, lang: str = DEFAULT_LANGUAGE,
            tables: PlanTables | None = None, figures: Figures | None = None) -> bytes:
    """A zip of UTF-8-with-BOM CSV files: summary, roster, obligations, checks, checklist, units.

    Text cells that a spreadsheet would read as a formula are prefixed with ``'``
    (:func:`textsafe.spreadsheet_frame`).
    """
    tb = tables or plan_tables(layers, plan, costs, lang=lang, figures=figures)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, frame in workbook_sheets(tb, lang, per_grid=False).items():
            zf.writestr(f"{name}.csv", csv_bytes(frame))
    return out.getvalue()


def _display_width(value: object) -> int:
    """Excel column units a cell's text needs (CJK characters count double)."""
    if value is None:
        return 0
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    text = str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def xlsx_bytes(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None, *,
               lang: str = DEFAULT_LANGUAGE,
               tables: PlanTables | None = None, figures: Figures | None = None) -> bytes:
    """The workbook: summary, one sheet per grid (figures above its roster), obligations, checks,
    checklist. Every string is a text cell (:func:`textsafe.write_xlsx`); numbers are numbers with
    a display format; the summary's city row equals :func:`metrics.city_metrics`."""
    import openpyxl.styles  # why: openpyxl (~0.4 s) loads only when a workbook is written

    tb = tables or plan_tables(layers, plan, costs, lang=lang, figures=figures)
    sheets = workbook_sheets(tb, lang, per_grid=True)  # write_xlsx keeps only storable characters
    buf = io.BytesIO()
    write_xlsx(buf, sheets, index=False)
    buf.seek(0)
    wb = openpyxl.load_workbook(buf)
    headers = {t(f"plan.col.{c}", lang): c for c, _ in SUMMARY_COLUMNS} | {
        t(f"plan.col.{c}", lang): c for c in NUMBER_FORMATS if has(f"plan.col.{c}")} | {
        figure_label(c, lang, True): c for c in BED_FIGURES}
    bold = openpyxl.styles.Font(bold=True)
    grid_sheets = list(wb.worksheets)[1 : 1 + len(tb.grid_names)]
    for ws in wb.worksheets:
        for cell in ws[1]:
            cell.font = bold
        for col in ws.iter_cols(min_row=1, max_row=min(ws.max_row, 400)):
            key = headers.get(str(col[0].value))
            # Wide enough for the header and the values (a CJK character takes two columns).
            width = max([_display_width(c.value) for c in col] + [8])
            ws.column_dimensions[col[0].column_letter].width = min(width + 2, 60)
            if key:
                for cell in ws.iter_rows(min_row=2, min_col=col[0].column, max_col=col[0].column):
                    cell[0].number_format = NUMBER_FORMATS[key]
        ws.freeze_panes = "A2"
    summary = tb.summary.set_index("grid_id")
    for ws, grid in zip(grid_sheets, tb.grid_names, strict=True):
        row = summary.loc[grid]
        block = [(t("plan.col.grid_id", lang), grid, None),
                 (t("plan.col.name", lang), tb.grid_names[grid], None)]
        generated = float(row.get("beds_illustrative_share", 0) or 0) > 0
        block += [(figure_label(c, lang, generated), row[c], fmt) for c, fmt in SUMMARY_COLUMNS]
        ws.freeze_panes = None
        ws.insert_rows(1, amount=len(block) + 1)
        for i, (label, value, fmt) in enumerate(block, start=1):
            ws.cell(row=i, column=1, value=label).font = bold
            cell = ws.cell(row=i, column=2)
            if isinstance(value, str):
                text_cell(cell, value)  # a lead's name is user text: never a formula
            elif value is not None and not (isinstance(value, float) and np.isnan(value)):
                cell.value = float(value)
                cell.number_format = fmt or "General"
        for cell in ws[len(block) + 2]:
            cell.font = bold
        ws.column_dimensions["A"].width = max(ws.column_dimensions["A"].width or 0, 30)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def plan_tables_xlsx(
    path: str | Path,
    layers: CityLayers,
    plan: Plan,
    costs: CostMatrix | None = None,
    *,
    lang: str = DEFAULT_LANGUAGE,
) -> Path:
    """Tables for approval documents: the workbook of :func:`grid_planning.exports.formats.xlsx_bytes`
    (summary with the city total, one sheet per grid with its figures and roster, lead
    obligations, checks, checklist; every string a text cell, never a formula).

    Returns
    -------
    Path
        The file written.
    """

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(xlsx_bytes(layers, plan, costs, lang=lang))
    return path
