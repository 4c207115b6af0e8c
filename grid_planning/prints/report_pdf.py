"""The multi-page PDF plan report for an approval file (reportlab platypus).

Pages: a cover (city, grids, key figures, check summary, the illustrative-data note), the city map
(with the core enlarged when grids there are small), one section per grid (map of the grid, its
figures, roster, the lead's obligations, its checks with exceptions and their written reasons),
the 15-item evaluation checklist, and the data provenance (sources, licences, method, parameters).

Every user-supplied string (names, reasons, notes, the city name) is XML-escaped before it reaches
a :class:`~reportlab.platypus.Paragraph`, which would otherwise read ``<b>`` or ``<img src=...>`` as
markup; it is printed exactly as typed. Chinese is set in the vendored Noto Sans SC
(:mod:`grid_planning.prints.fonts`), embedded as a subset. Maps are drawn by :mod:`grid_planning.prints.printmap`
and placed as 200 dpi images (vector maps are the separate print-map PDF).
"""

from __future__ import annotations

import datetime as _dt
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from grid_planning.assess.checklist import CRITERIA, checklist_table
from grid_planning.assess.conversion import conversion_candidates, conversion_text, conversions_of
from grid_planning.assess.factors import g9_panel, panel_notes, panel_table, weights_text
from grid_planning.assess.metrics import Figures, plan_figures
from grid_planning.assess.roster import lead_obligations, roster_table
from grid_planning.base import localtime
from grid_planning.base.i18n import DEFAULT_LANGUAGE, source_text, t
from grid_planning.base.numfmt import MISSING, integer, number, percent
from grid_planning.base.textsafe import terminal_text
from grid_planning.base.version import __version__
from grid_planning.city import provenance
from grid_planning.city.provenance import city_name_in
from grid_planning.domain.request import CostParams, request_from_plan
from grid_planning.domain.rules import is_illustrative, rule_label, status_counts
from grid_planning.prints import printmap, textlayer
from grid_planning.prints.fonts import use_in_reportlab
from grid_planning.prints.mapdata import MapData

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan

#: Resolution of the map images inside the report.
REPORT_DPI = 200


#: Grid figures shown on each grid page: (column, kind) with kind int / num1 / num2 / pct / signed.
GRID_FIGURES: tuple[tuple[str, str], ...] = (
    ("population", "int"),
    ("area_km2", "num1"),
    ("n_units", "int"),
    ("beds", "int"),
    ("beds_per_1000", "num2"),
    ("beds_illustrative_share", "pct"),
    ("mean_travel_min", "num1"),
    ("p90_travel_min", "num1"),
    ("max_travel_min", "num1"),
    ("share_15_lead", "pct"),
    ("share_30_lead", "pct"),
    ("share_30_secondary", "pct"),
    ("polsby_popper", "num2"),
    ("balance_dev", "signed"),
    ("n_facilities", "int"),
)


#: Figures shown from another column than their label's: residents in whole people that add up to
#: the city's total (grid_metrics' ``population_shown``).
SHOWN = {"population": "population_shown"}


def text(value: object, limit: int | None = None) -> str:
    """User text for a Paragraph: escaped (markup shown as typed), line breaks kept.

    Control characters, terminal escape sequences and bidirectional overrides are dropped
    (:func:`textsafe.terminal_text`): they have no glyph and would print as boxes or reorder what
    the reader sees. ``limit`` cuts the text (with "…") before it is escaped, for a cell that
    cannot grow: a table's header row is repeated on every page and must fit on one.
    """
    plain = terminal_text(value)
    if limit is not None and len(plain) > limit:
        plain = plain[: limit - 1] + "…"
    return escape(plain).replace("\n", "<br/>")


#: Characters of a grid id shown in a column header (the full id is in the tables above it).
HEADER_CHARS = 40


def fmt(value: object, kind: str, lang: str) -> str:
    """A figure in the reader's format (``kind`` as in :data:`GRID_FIGURES`)."""
    if kind == "int":
        return integer(value, lang)
    if kind == "num1":
        return number(value, 1, lang)
    if kind == "num2":
        return number(value, 2, lang)
    if kind == "pct":
        return percent(value, 1, lang)
    if kind == "signed":
        return percent(value, 1, lang, signed=True)
    return MISSING if value is None else str(value)


class _Styles:
    def __init__(self) -> None:
        regular, bold = use_in_reportlab()
        base = dict(fontName=regular, wordWrap="CJK", textColor=colors.HexColor("#222222"))
        self.regular, self.bold = regular, bold
        self.title = ParagraphStyle("gp-title", fontSize=24, leading=32, fontName=bold,
                                    **{k: v for k, v in base.items() if k != "fontName"})
        self.subtitle = ParagraphStyle("gp-sub", fontSize=13, leading=19, **base)
        self.h1 = ParagraphStyle("gp-h1", fontSize=15, leading=21, spaceBefore=4, spaceAfter=6,
                                 fontName=bold, **{k: v for k, v in base.items() if k != "fontName"})
        self.h2 = ParagraphStyle("gp-h2", fontSize=11, leading=15, spaceBefore=8, spaceAfter=3,
                                 fontName=bold, **{k: v for k, v in base.items() if k != "fontName"})
        self.body = ParagraphStyle("gp-body", fontSize=9, leading=13, **base)
        self.small = ParagraphStyle("gp-small", fontSize=7.5, leading=10.5, **base)
        self.cell = ParagraphStyle("gp-cell", fontSize=7.5, leading=9.8, **base)
        self.cell_bold = ParagraphStyle("gp-cellb", fontSize=7.5, leading=9.8, fontName=bold,
                                        **{k: v for k, v in base.items() if k != "fontName"})
        self.note = ParagraphStyle("gp-note", fontSize=8.5, leading=12.5, borderPadding=5,
                                   backColor=colors.HexColor("#fff4e5"),
                                   borderColor=colors.HexColor("#e0a050"), borderWidth=0.6,
                                   spaceBefore=6, spaceAfter=8, **base)


def _table(rows: Sequence[Sequence[Any]], widths: Sequence[float], st: _Styles, *,
           header: bool = True, zebra: bool = True, status_col: int | None = None):
    """A table of Paragraph cells (strings are wrapped in an escaped Paragraph)."""
    data = []
    for r, row in enumerate(rows):
        style = st.cell_bold if header and r == 0 else st.cell
        data.append([c if not isinstance(c, str) else Paragraph(c, style) for c in row])
    # splitInRow: a row taller than a page (a long checklist note, a long name) goes on over the
    # page instead of failing the whole report with LayoutError.
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0, splitInRow=1)
    cmds = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        cmds += [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                 ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#555555"))]
    if zebra:
        for r in range(1 if header else 0, len(data)):
            if r % 2 == 0:
                cmds.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f7f7f5")))
    table.setStyle(TableStyle(cmds))
    return table


_STATUS_COLOURS = {"pass": "#1a7f37", "exception": "#9a6700", "warning": "#9a6700", "fail": "#c62828",
                   "met": "#1a7f37", "done": "#1a7f37", "not_met": "#c62828", "todo": "#666666",
                   "in_progress": "#9a6700", "not_applicable": "#666666", "not_evaluated": "#666666"}


def _status(code: str, label: str) -> str:
    colour = _STATUS_COLOURS.get(code, "#222222")
    return f'<font color="{colour}"><b>{text(label)}</b></font>'


def _map_image(fig: Figure, width_mm: float) -> Image:
    """A matplotlib figure as a report image ``width_mm`` wide (figure closed)."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=REPORT_DPI)
    finally:
        plt.close(fig)
    buf.seek(0)
    w_in, h_in = fig.get_size_inches()
    return Image(buf, width=width_mm * mm, height=width_mm * mm * h_in / w_in)


def _grid_figure(data: MapData, grid: str, lang: str, width_mm: float, height_mm: float) -> Figure:
    matplotlib.use("Agg", force=False)
    fig = plt.figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=100)
    ax = fig.add_axes([0.005, 0.005, 0.99, 0.99])
    printmap.draw_plan(ax, data, lang=lang, focus=grid, label_size=9, margin=0.06)
    printmap.add_scalebar(ax, lang=lang, fontsize=7)
    printmap.add_north_arrow(ax, data.crs, lang=lang, size=0.09)
    return fig


def plan_report(
    layers: CityLayers,
    plan: Plan,
    costs: CostMatrix | None = None,
    *,
    lang: str = DEFAULT_LANGUAGE,
    sample: bool | None = None,
    source_names: Sequence[str] | None = None,
    title: str | None = None,
    today: _dt.date | None = None,
    figures: Figures | None = None,
) -> bytes:
    """The plan report as PDF bytes.

    Parameters
    ----------
    layers : CityLayers
    plan : Plan
    costs : CostMatrix, optional
        Travel costs (travel figures and checklist items 9 and 12 are empty without them).
    lang : {"zh", "en"}
    sample : bool, optional
        Cite the sample city's sources (detected when omitted).
    source_names : sequence of str, optional
        The user's layer file names for the sources line.
    title : str, optional
        Replaces the default title (shown as typed).
    today : date, optional
        Print date (default today).
    figures : Figures, optional
        The plan's :func:`~grid_planning.assess.metrics.plan_figures` (same costs and language)
        when the caller has them; computed here otherwise.

    Returns
    -------
    bytes
        A PDF (A4 portrait).
    """
    matplotlib.use("Agg", force=False)

    st = _Styles()
    today = today or localtime.today()
    city = city_name_in(layers.name, lang)
    fig = figures if figures is not None else plan_figures(layers, plan, costs, lang=lang)
    gm, cm, checks = fig.grids, fig.city, fig.checks
    roster = roster_table(layers, plan, lang=lang)
    obligations = lead_obligations(layers, plan).set_index("grid_id")
    checklist = checklist_table(layers, plan, costs, lang=lang, checks=checks)
    data = printmap.map_data(layers, plan)
    sources = provenance.source_lines(layers, lang, sample=sample, source_names=source_names)
    doc_title = title if title is not None else t("exports.report.title", lang, city=city)
    frame_w = 180.0  # mm between 15 mm margins

    story: list = []
    # ---- cover --------------------------------------------------------------------------------
    story += [Spacer(1, 28 * mm), Paragraph(text(doc_title), st.title), Spacer(1, 4 * mm),
              Paragraph(text(t("exports.report.subtitle", lang, k=plan.k,
                                   population=integer(cm["population"], lang))), st.subtitle),
              Spacer(1, 2 * mm),
              Paragraph(text(t("exports.report.dates", lang,
                                   created=localtime.local_stamp(plan.param_map.get("created"),
                                                                 with_time=False) or MISSING,
                                   printed=today.isoformat())), st.body),
              Spacer(1, 8 * mm)]
    n = status_counts(checks)
    # A figure resting on generated beds carries the illustrative mark (示意) on the cover too.
    mark = t("exports.report.illustrative_mark", lang) if cm.get("beds_illustrative_share", 0) > 0 else ""
    key_rows = [
        [t("exports.report.figure", lang), t("exports.report.value", lang)],
        [_cap(t("plan.col.population", lang)), integer(cm["population"], lang)],
        [t("exports.report.grids", lang), integer(cm["k"], lang)],
        [_cap(t("plan.col.area_km2", lang)), number(cm["area_km2"], 1, lang)],
        [t("exports.report.beds_counted", lang) + mark, integer(cm["beds"], lang)],
        [_cap(t("plan.col.beds_per_1000", lang)) + mark, number(cm["beds_per_1000"], 2, lang)],
        [_cap(t("plan.col.mean_travel_min", lang)), number(cm["mean_travel_min"], 1, lang)],
        [_cap(t("plan.col.share_30_lead", lang)), percent(cm["share_30_lead"], 1, lang)],
    ]
    if (splits := district_splits_text(cm, lang)) is not None:
        key_rows.append([t("exports.report.district_splits", lang), splits])
    story.append(_table(key_rows, [70 * mm, 90 * mm], st))
    story.append(Paragraph(text(t("exports.report.coverage", lang)), st.small))
    # Two kinds of checks, told apart: the policy rules (G1-G8, exceptions allowed) and the
    # 15-item evaluation checklist (met / not met / not recorded, per grid).
    story.append(Paragraph(text(t("exports.report.checks_summary", lang)), st.h2))
    story.append(Paragraph(text(t("exports.report.checks_counts", lang, passed=n["pass"],
                                  exceptions=n["exception"], warnings=n["warning"],
                                  failed=n["fail"])), st.body))
    story.append(Paragraph(text(t("exports.report.checklist_summary", lang)), st.h2))
    story.append(Paragraph(text(_checklist_counts(checklist, lang)), st.body))
    story.append(Paragraph(text(t("exports.report.travel_note", lang)), st.small))
    if t("exports.note.illustrative", lang) in sources:
        story.append(Paragraph(text(t("exports.note.illustrative", lang)), st.note))
    exceptions = [r for r in checks if r.status == "exception"]
    if exceptions:
        story.append(Paragraph(text(t("exports.report.exceptions", lang)), st.h2))
        for r in exceptions:
            story.append(Paragraph("• " + text(r.message(lang)), st.body))
    story.append(PageBreak())

    # ---- city map -----------------------------------------------------------------------------
    story.append(Paragraph(text(t("exports.report.city_map", lang)), st.h1))
    fig = printmap.print_figure(layers, plan, paper="A4", orientation="portrait", lang=lang,
                                data=data, chrome=False, size_mm=(frame_w, 228.0), dpi=REPORT_DPI)
    story.append(textlayer.figure_flowable(fig, frame_w, REPORT_DPI))  # labels searchable
    story.append(PageBreak())

    # ---- one section per grid -----------------------------------------------------------------
    for grid in plan.grid_ids:
        row = gm.loc[grid]
        story.append(Paragraph(text(f"{grid} · {row['name']}"), st.h1))
        story.append(_map_image(_grid_figure(data, grid, lang, frame_w, 95.0), frame_w))
        story.append(Spacer(1, 2 * mm))
        figs = [[t("exports.report.figure", lang), t("exports.report.value", lang),
                 t("exports.report.figure", lang), t("exports.report.value", lang)]]
        generated = float(row.get("beds_illustrative_share") or 0) > 0
        items = [(_cap(t(f"plan.col.{c}", lang))
                  + (t("exports.report.illustrative_mark", lang) if generated and c in ("beds", "beds_per_1000") else ""),
                  fmt(row.get(SHOWN.get(c, c)), kind, lang)) for c, kind in GRID_FIGURES]
        half = (len(items) + 1) // 2
        for i in range(half):
            left = items[i]
            right = items[i + half] if i + half < len(items) else ("", "")
            figs.append([text(left[0]), text(left[1]), text(right[0]), text(right[1])])
        story.append(Paragraph(text(t("exports.report.grid_figures", lang)), st.h2))
        story.append(_table(figs, [55 * mm, 35 * mm, 55 * mm, 35 * mm], st))
        # lead obligations
        ob = obligations.loc[grid]
        story.append(Paragraph(text(t("exports.report.obligations", lang)), st.h2))
        story.append(Paragraph(text(t(
            "exports.report.obligation_line", lang, lead=ob["lead_name"],
            beds=integer(ob["beds"], lang), down=integer(ob["beds_to_primary"], lang),
            slots=integer(ob["outpatient_slots"], lang),
            slots_down=integer(ob["slots_to_primary"], lang),
            source=_source_word(ob["capacity_source"], lang))), st.body))
        # roster: every institution in full, primary care as one compact list of names
        sup = roster["supports"].astype(str).map(lambda v: [x.strip() for x in v.split(",")])
        mine_r = roster[((roster["grid_id"] == grid) & (roster["role"] != "primary"))
                        | ((roster["role"] == "collaborator") & sup.map(lambda v, g=grid: g in v))]
        order = {"lead": 0, "member": 1, "cross_grid": 2, "collaborator": 3}
        mine_r = mine_r.assign(_o=mine_r["role"].map(order).fillna(9)).sort_values(
            ["_o", "level", "name"], kind="stable")
        primary = roster[(roster["grid_id"] == grid) & (roster["role"] == "primary")]
        story.append(CondPageBreak(40 * mm))
        # One count per kind, the same as the grid's figures (机构数 = the group; collaborators apart).
        roles = mine_r["role"].value_counts()
        story.append(Paragraph(text(t(
            "exports.report.roster", lang, group=integer(row.get("n_facilities"), lang),
            lead=int(roles.get("lead", 0)), member=int(roles.get("member", 0)),
            cross=int(roles.get("cross_grid", 0)), primary=len(primary),
            collab=int(roles.get("collaborator", 0)))), st.h2))
        rrows = [[t("plan.col.role", lang), t("plan.col.name", lang), t("plan.col.level", lang),
                  t("plan.col.type", lang), t("plan.col.beds", lang), t("plan.col.source", lang)]]
        generated_beds = False
        for _, f in mine_r.iterrows():
            beds = integer(f["beds"], lang)
            if is_illustrative(f) and beds != MISSING:
                beds += " ※"  # the facility may be real, its bed count is not
                generated_beds = True
            rrows.append([text(t(f"plan.role.{f['role']}", lang)), text(f["name"]),
                          text(t(f"vocab.level.{f['level']}", lang)),
                          text(t(f"vocab.type.{f['type']}", lang)), beds,
                          text(_source_word(f["source"], lang))])
        story.append(_table(rrows, [24 * mm, 70 * mm, 17 * mm, 30 * mm, 14 * mm, 25 * mm], st))
        if generated_beds:
            story.append(Paragraph(text(t("exports.report.beds_note", lang)), st.small))
        if len(primary):
            sep = "、" if lang == "zh" else "; "
            story.append(Spacer(1, 2 * mm))
            story.append(Paragraph(
                "<b>" + text(t("exports.report.primary_list", lang, count=len(primary))) + "</b> "
                + text(sep.join(primary["name"].astype(str))), st.small))
        # checks
        mine = [r for r in checks if r.grid_id == grid]
        story.append(CondPageBreak(30 * mm))
        story.append(Paragraph(text(t("exports.report.grid_checks", lang)), st.h2))
        crow = [[t("plan.col.rule", lang), t("plan.col.status_text", lang), t("plan.col.message", lang)]]
        for r in mine:
            crow.append([text(rule_label(r.rule, lang)), _status(r.status, r.status_text(lang)), text(r.message(lang))])
        story.append(_table(crow, [18 * mm, 26 * mm, 136 * mm], st))
        story.append(PageBreak())

    # ---- checklist ----------------------------------------------------------------------------
    story.append(Paragraph(text(t("exports.report.checklist", lang)), st.h1))
    story.append(Paragraph(text(t("exports.report.checklist_intro", lang)), st.body))
    story.append(Spacer(1, 3 * mm))
    grids = plan.grid_ids
    per_page = 6
    for start in range(0, len(grids), per_page):
        chunk = grids[start:start + per_page]
        col_w = min(22.0, (frame_w - 70) / max(len(chunk), 1))
        head = [t("plan.col.item", lang), t("plan.col.criterion", lang)] + [text(g, HEADER_CHARS) for g in chunk]
        rows = [head]
        for crit in CRITERIA:
            line = [str(crit.number), text(crit.text(lang))]
            for g in chunk:
                sel = checklist[(checklist["grid_id"] == g) & (checklist["item"] == crit.number)]
                code = str(sel["status"].iloc[0]) if len(sel) else "todo"
                line.append(_status(code, t(f"plan.checklist.status.{code}", lang)))
            rows.append(line)
        widths = [10 * mm, (frame_w - 10 - col_w * len(chunk)) * mm] + [col_w * mm] * len(chunk)
        story.append(_table(rows, widths, st))
        story.append(Spacer(1, 4 * mm))
    notes = checklist[(checklist["detail"].astype(str) != "") | (checklist["note"].astype(str) != "")]
    if len(notes):
        story.append(Paragraph(text(t("exports.report.checklist_details", lang)), st.h2))
        drows = [[t("plan.col.grid_id", lang), t("plan.col.item", lang), t("plan.col.detail", lang),
                  t("plan.col.note", lang)]]
        for _, r in notes.iterrows():
            drows.append([text(r["grid_id"]), str(r["item"]), text(r["detail"]), text(r["note"])])
        story.append(_table(drows, [14 * mm, 12 * mm, 100 * mm, 54 * mm], st))
    story.append(PageBreak())

    # ---- G9 planning factors, then G10 conversion suggestions (one page when they fit) --------
    story += g9_section(layers, plan, lang, st, frame_w)
    story.append(Spacer(1, 6 * mm))
    story += g10_section(layers, plan, lang, st, frame_w)
    story.append(PageBreak())

    # ---- provenance ---------------------------------------------------------------------------
    story.append(Paragraph(text(t("exports.report.provenance", lang)), st.h1))
    for line in sources:
        story.append(Paragraph("• " + text(line), st.body))
    story.append(Paragraph(text(t("exports.report.city_checks", lang)), st.h2))
    crow = [[t("plan.col.rule", lang), t("plan.col.status_text", lang), t("plan.col.message", lang)]]
    for r in checks:
        if r.grid_id is None:
            crow.append([text(rule_label(r.rule, lang)), _status(r.status, r.status_text(lang)), text(r.message(lang))])
    story.append(_table(crow, [18 * mm, 26 * mm, 136 * mm], st))
    story.append(Paragraph(text(t("exports.report.method", lang)), st.h2))
    prow = [[t("exports.report.parameter", lang), t("exports.report.value", lang)]]
    prow += [[text(label), text(value)] for label, value in method_lines(plan, layers, lang)]
    story.append(KeepTogether(_table(prow, [50 * mm, 130 * mm], st)))
    story.append(Paragraph(text(t("exports.report.glossary", lang)), st.h2))
    for key in GLOSSARY:
        story.append(Paragraph("• " + text(t(f"exports.glossary.{key}", lang)), st.body))
    story.append(Spacer(1, 4 * mm))
    story.append(Paragraph(text(t("exports.report.colophon", lang, version=__version__)), st.small))
    story.append(Paragraph(text(t("exports.report.fonts", lang)), st.small))

    buf = io.BytesIO()
    footer = terminal_text(t("exports.report.footer", lang, city=city, printed=today.isoformat()))

    def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(st.regular, 7)
        canvas.setFillColorRGB(0.4, 0.4, 0.4)
        canvas.drawString(15 * mm, 9 * mm, footer)
        canvas.restoreState()

    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=14 * mm, bottomMargin=16 * mm, title=str(doc_title),
                            author="Grid Planner", creator=f"Grid Planner {__version__}",
                            lang="zh-CN" if lang == "zh" else "en")
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page,
              canvasmaker=_numbered_canvas(st.regular, lang, A4[0] - 15 * mm, 9 * mm))
    return buf.getvalue()


def g9_section(layers: CityLayers, plan: Plan, lang: str, st: _Styles, frame_w: float) -> list:
    """The G9 section: the plan's weights in plain words and the factors by grid beside the city's
    (:func:`grid_planning.assess.factors.g9_panel`, the table the plan page and ``check`` show)."""
    panel = g9_panel(layers, plan)
    story: list = [Paragraph(text(t("exports.report.g9_title", lang)), st.h1)]
    story += [Paragraph(text(note), st.body) for note in panel_notes(panel, lang)]
    table = panel_table(panel, lang)
    rows = [[text(h) for h in table.columns]]
    rows += [[text(v) for v in row] for row in table.itertuples(index=False)]
    first = 16.0
    rest = (frame_w - first) / max(len(table.columns) - 1, 1)
    story.append(_table(rows, [first * mm] + [rest * mm] * (len(table.columns) - 1), st))
    return story


def g10_section(layers: CityLayers, plan: Plan, lang: str, st: _Styles, frame_w: float) -> list:
    """The G10 section: the plan's conversions (what-if) and its conversion suggestions."""
    story: list = [Paragraph(text(t("exports.report.g10_title", lang)), st.h1),
                   Paragraph(text(t("exports.report.g10_intro", lang)), st.body)]
    done = conversions_of(plan)
    if done:
        fac = layers.facilities
        names = dict(zip(fac["id"].astype(str), fac["name"].astype(str), strict=False))
        items = "; ".join(
            conversion_text(fid, names.get(fid, ""), kind, lang) for fid, kind in done
        )
        story.append(Paragraph(text(t("exports.report.g10_applied", lang, items=items)), st.body))
    candidates = conversion_candidates(layers, plan)
    if not candidates:
        story.append(Paragraph(text(t("conversion.none", lang)), st.body))
        return story
    rows = [[t("exports.report.g10_col_hospital", lang), t("exports.report.g10_col_grid", lang),
             t("exports.report.g10_col_beds", lang), t("exports.report.g10_col_reason", lang)]]
    generated_beds = False
    for c in candidates:
        beds = integer(c.beds, lang) if c.beds == c.beds else MISSING
        if c.illustrative and beds != MISSING:
            beds += " ※"  # marked as in the grids' rosters: the bed count is generated
            generated_beds = True
        rows.append([text(f"{c.facility_id} {c.name}"), text(c.grid_id), beds, text(c.reason(lang))])
    story.append(_table(rows, [44 * mm, 14 * mm, 16 * mm, (frame_w - 74) * mm], st))
    if generated_beds:
        story.append(Paragraph(text(t("exports.report.g10_beds_note", lang)), st.small))
    return story


def district_splits_text(cm: Mapping[str, object], lang: str) -> str | None:
    """The plan's district splits for the cover (districts cut of all, residents in the smaller
    parts), from the city figures; None when the city has no districts."""
    cut = float(cm.get("districts_cut", float("nan")))
    if cut != cut:
        return None
    return t("exports.report.district_splits_value", lang, cut=integer(cut, lang),
             districts=integer(cm["districts"], lang),
             residents=integer(cm["district_smaller_parts"], lang))


#: Figures defined in the report's glossary (``exports.glossary.<key>``), one definition each.
GLOSSARY = ("area", "population", "demand", "beds", "beds_per_1000", "members", "travel", "illustrative")


def method_lines(plan: Plan, layers: CityLayers, lang: str) -> list[tuple[str, str]]:
    """The planning method and parameters in plain words (no program names, no CRS codes)."""
    params = plan.param_map
    lines = [(t("exports.method.grids", lang), integer(plan.k, lang))]
    method = str(params.get("method", "") or "")
    if method:
        key = "exact" if "exact" in method else "heuristic"
        lines.append((t("exports.method.method", lang), t(f"exports.method.method_{key}", lang)))
    balance = params.get("balance")
    try:
        balance_value = float(balance) if balance not in (None, "") else None
    except (TypeError, ValueError):
        balance_value = None
    lines.append((t("exports.method.balance", lang),
                  t("exports.method.balance_on", lang, pct=f"{balance_value * 100:.0f}")
                  if balance_value else t("exports.method.balance_off", lang)))
    lines.append((t("exports.method.g9", lang), weights_text(g9_panel(layers, plan), lang)))
    cost = str(params.get("cost_mode", "") or "")
    model = params.get("cost") if isinstance(params.get("cost"), dict) else {}
    if cost == "roads":
        speeds = _road_speeds(plan, model)
        travel = t("exports.method.travel_roads", lang, default=f"{speeds.default_road_speed_kmh:g}",
                   access=f"{speeds.access_speed_kmh:g}")
    else:
        travel = t("exports.method.travel_straight", lang, detour=f"{float(model.get('detour', 1.3)):g}",
                   speed=f"{float(model.get('speed_kmh', 30.0)):g}")
    lines.append((t("exports.method.travel", lang), travel))
    if params.get("whole_districts"):
        lines.append((t("exports.method.whole_districts", lang), t("exports.method.whole_districts_on", lang)))
    created = localtime.local_stamp(params.get("created"))
    if created:
        lines.append((t("exports.method.created", lang), created))
    lines.append((t("exports.method.projection", lang), t("exports.method.projection_text", lang)))
    return lines


def _cap(label: str) -> str:
    """A column header (lower case in the spreadsheets) as a row label of the report's tables."""
    return label[:1].upper() + label[1:]


def _road_speeds(plan: Plan, model: dict) -> CostParams:
    """The road speeds the plan used: its request's, else the ``cost`` it kept (older plans)."""
    try:
        return request_from_plan(plan).cost
    except ValueError:
        return CostParams.from_dict(model)


def _checklist_counts(checklist: pd.DataFrame, lang: str) -> str:
    """Met / not met / not recorded across every grid's 15 items."""
    status = checklist["status"].astype(str) if len(checklist) else pd.Series([], dtype=str)
    met = int(status.isin(["met", "done"]).sum())
    not_met = int(status.eq("not_met").sum())
    na = int(status.eq("not_applicable").sum())
    other = int(len(status) - met - not_met - na)
    return t("exports.report.checklist_counts", lang, met=met, not_met=not_met, open=other,
             na=na, grids=checklist["grid_id"].nunique() if len(checklist) else 0)


def _numbered_canvas(font: str, lang: str, x: float, y: float) -> type[Canvas]:
    """A reportlab canvas class that prints "page x / y" once the page count is known."""
    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.saveState()
                self.setFont(font, 7)
                self.setFillColorRGB(0.4, 0.4, 0.4)
                self.drawRightString(x, y, t("exports.report.page", lang, page=self._pageNumber,
                                             total=total))
                self.restoreState()
                super().showPage()
            super().save()

    return NumberedCanvas


def _source_word(source: object, lang: str) -> str:
    value = "" if source is None or (isinstance(source, float) and pd.isna(source)) else str(source)
    return source_text(value, lang) if value else MISSING
