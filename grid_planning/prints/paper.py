"""Paper sizes, orientations and formats of the print map, without matplotlib: the command line,
the export tab and the export's argument checks read them (and refuse a wrong one) before anything
is drawn, so :mod:`grid_planning.prints.printmap` and its libraries load only when a map is printed.
"""

from __future__ import annotations

#: Paper sizes in millimetres (portrait width, height).
PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}


ORIENTATIONS: tuple[str, ...] = ("landscape", "portrait")


FORMATS: tuple[str, ...] = ("png", "pdf")


PRINT_DPI = 300


MM_PER_INCH = 25.4


class PrintMapError(ValueError):
    """An unknown paper size, orientation or format (the message names the allowed values)."""


def paper_size_mm(paper: str = "A4", orientation: str = "landscape") -> tuple[float, float]:
    """(width, height) of the page in millimetres."""
    if paper not in PAPER_MM:
        raise PrintMapError(f"paper must be one of {', '.join(PAPER_MM)}, not {paper!r}")
    if orientation not in ORIENTATIONS:
        raise PrintMapError(f"orientation must be one of {', '.join(ORIENTATIONS)}, not {orientation!r}")
    w, h = PAPER_MM[paper]
    return (h, w) if orientation == "landscape" else (w, h)


def paper_pixels(paper: str = "A4", orientation: str = "landscape", dpi: int = PRINT_DPI) -> tuple[int, int]:
    """(width, height) in pixels of a page rendered at ``dpi`` (A4 landscape, 300 dpi: 3508 x 2480)."""
    w, h = paper_size_mm(paper, orientation)
    return round(w / MM_PER_INCH * dpi), round(h / MM_PER_INCH * dpi)
