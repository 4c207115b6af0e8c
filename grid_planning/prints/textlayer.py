"""A matplotlib figure in a reportlab document as a picture with its words as real text.

The PDF report places its maps as pictures (a vector map of the whole city would embed every unit
outline); a picture's words cannot be searched or selected. :func:`figure_flowable` lifts every text
of the figure (labels, legend, scale bar, titles) out of the picture and sets it with reportlab in
the vendored font at the same place and size, over the picture: a reader searching the report for
a hospital finds it on the map, as on the print map. A label's white halo stays in the picture
(drawn alone, :func:`grid_planning.prints.maplabels.halo_class`), the label's letters above it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.backend_bases import GraphicsContextBase, RendererBase
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable

from grid_planning.prints.fonts import TWO_EM_DASH, use_in_reportlab
from grid_planning.prints.maplabels import halo_class


@dataclass(frozen=True)
class TextLine:
    """One line of lifted text: where its baseline starts (points from the figure's lower left),
    its font size (points), bold or not, its colour (``#rrggbb``) and the clip rectangle
    (``x0, y0, x1, y1`` in points) or None."""

    text: str
    x: float
    y: float
    size: float
    bold: bool
    colour: str
    clip: tuple[float, float, float, float] | None


class LineRecorder:
    """A stand-in renderer that notes where matplotlib would draw each line of a text (its
    baseline's start, in display pixels) and draws nothing; everything else is the real renderer's."""

    def __init__(self, renderer: RendererBase) -> None:
        self.renderer = renderer
        self.lines: list[tuple[float, float, str]] = []

    def __getattr__(self, name: str) -> Any:  # any attribute of the renderer it stands in for
        return getattr(self.renderer, name)

    def draw_text(self, gc: GraphicsContextBase, x: float, y: float, s: str, prop: FontProperties,
                  angle: float, ismath: bool | str = False, mtext: Text | None = None) -> None:
        self.lines.append((float(x), float(y), str(s)))


def lift_texts(fig: Figure) -> list[TextLine]:
    """Every visible text of ``fig`` as :class:`TextLine` s, in points of the figure's size; the
    texts are then left out of the figure's picture (their halos stay).

    The figure is drawn once so that legends and labels have their final places; each text is then
    laid out by matplotlib itself (:class:`LineRecorder`), so every line starts where it would.
    """
    regular, bold = use_in_reportlab()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    to_pt = 72.0 / fig.dpi
    halo = halo_class()
    out: list[TextLine] = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip() or text.get_rotation() % 360:
            continue
        recorder = LineRecorder(renderer)
        Text.draw(text, recorder)  # the plain text's layout (a halo's own pass left out)
        if not recorder.lines:
            continue
        prop = text.get_fontproperties()
        heavy = prop.get_weight() in ("bold", "heavy", "black", "semibold", "demibold", 600, 700, 800, 900)
        clip = None
        if text.get_clip_on():
            c = text.get_clip_box()
            if c is None and text.get_clip_path() is not None:
                c = text.get_clip_path().get_fully_transformed_path().get_extents()
            if c is not None:
                clip = (c.x0 * to_pt, c.y0 * to_pt, c.x1 * to_pt, c.y1 * to_pt)
        colour = to_hex(text.get_color())
        size = float(prop.get_size_in_points())
        for x, y, line in recorder.lines:
            if renderer.flipy():  # Agg counts from the top (Text.draw flipped it)
                y = renderer.get_canvas_width_height()[1] - y
            out.append(TextLine(line.replace("\\$", "$").replace(TWO_EM_DASH, "——"), x * to_pt, y * to_pt, size, heavy, colour,
                                clip))
        if isinstance(text, halo):
            text.halo_only = True
        else:
            text.set_alpha(0.0)
    return out


def figure_flowable(fig: Figure, width_mm: float, dpi: int) -> Flowable:
    """``fig`` as a reportlab flowable ``width_mm`` wide: its picture at ``dpi`` with its words as
    real text above it (the figure is closed)."""
    try:
        lines = lift_texts(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        w_in, h_in = fig.get_size_inches()
    finally:
        plt.close(fig)
    return picture_with_text(buf.getvalue(), w_in * 72.0, h_in * 72.0, lines, width_mm * mm)


def picture_with_text(png: bytes, w_pt: float, h_pt: float, lines: list[TextLine],
                      width: float) -> Flowable:
    """A flowable drawing ``png`` (a figure ``w_pt`` x ``h_pt`` points) ``width`` points wide and
    ``lines`` over it at the same scale."""
    regular, bold = use_in_reportlab()
    scale = width / w_pt

    class PictureWithText(Flowable):
        def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
            return width, h_pt * scale

        def draw(self) -> None:
            canvas = self.canv
            canvas.drawImage(ImageReader(io.BytesIO(png)), 0, 0, width, h_pt * scale)
            for line in lines:
                canvas.saveState()
                if line.clip is not None:
                    x0, y0, x1, y1 = (v * scale for v in line.clip)
                    path = canvas.beginPath()
                    path.rect(x0, y0, x1 - x0, y1 - y0)
                    canvas.clipPath(path, stroke=0, fill=0)
                canvas.setFillColor(HexColor(line.colour))
                canvas.setFont(bold if line.bold else regular, line.size * scale)
                canvas.drawString(line.x * scale, line.y * scale, line.text)
                canvas.restoreState()

    return PictureWithText()
