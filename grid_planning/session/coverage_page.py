"""What the coverage page shows, computed without Streamlit: the city's travel figures for the
chosen travel time, the 15/30-minute shares per grid, the underserved units and the travel-time
distribution (``pages/coverage.py`` draws them; ``tests/session/test_coverage_page.py``)."""

from __future__ import annotations

import pandas as pd

from grid_planning.assess.metrics import Figures, travel_distribution, underserved_units
from grid_planning.base.numfmt import number
from grid_planning.maps import planmap
from grid_planning.session.ui_state import Column

SHARE_COLUMNS = (
    Column("ws.col.grid", "grid"), Column("ws.cov.lead15", "lead15", "percent"),
    Column("ws.cov.lead30", "lead30", "percent"), Column("ws.cov.sec15", "sec15", "percent"),
    Column("ws.cov.sec30", "sec30", "percent"), Column("ws.cov.pri15", "pri15", "percent"),
)
UNDER_COLUMNS = (
    Column("ws.cov.unit", "unit"), Column("ws.col.grid", "grid_id"),
    Column("ws.col.population", "population", "integer"), Column("ws.cov.minutes", "minutes", "number", 1),
    Column("ws.cov.excess", "excess_min", "number", 1),
)
#: Travel-time column of the unit figures -> the name its city figures carry.
KINDS = {"t_lead": "lead", "t_secondary": "secondary", "t_primary": "primary"}
#: Travel-time column -> the city's population-weighted mean of it.
MEANS = {"t_lead": "mean_travel_min", "t_secondary": "mean_secondary_min", "t_primary": "mean_primary_min"}
UNDER_SHOWN = 25  # underserved units listed (the most people first)


def city_travel(fig: Figures, column: str) -> tuple[float, float, float]:
    """The city's mean minutes and 15/30-minute population shares for a travel-time ``column``
    (one of :data:`grid_planning.maps.planmap.TRAVEL_COLUMNS`)."""
    c, kind = fig.city, KINDS[column]
    return float(c[MEANS[column]]), float(c[f"share_15_{kind}"]), float(c[f"share_30_{kind}"])


def primary_share_15(units: pd.DataFrame) -> float | None:
    """Share of the population within 15 minutes of primary care (``None`` without population)."""
    w = units["population"]
    total = w.sum()
    return float(w[units["t_primary"] <= 15].sum() / total) if total else None


def share_rows(fig: Figures, city_label: str) -> pd.DataFrame:
    """The 15/30-minute shares per grid (to the lead, to a secondary-or-higher hospital, and to
    primary care within 15 minutes), then the city's row labelled ``city_label``."""
    ud = fig.units
    rows = []
    for grid, row in fig.grids.iterrows():
        rows.append({
            "grid": f"{grid} · {planmap.short_name(row['lead_name'])}",
            "lead15": row["share_15_lead"], "lead30": row["share_30_lead"],
            "sec15": row["share_15_secondary"], "sec30": row["share_30_secondary"],
            "pri15": primary_share_15(ud[ud["grid_id"] == grid]),
        })
    c = fig.city
    rows.append({"grid": city_label, "lead15": c["share_15_lead"], "lead30": c["share_30_lead"],
                 "sec15": c["share_15_secondary"], "sec30": c["share_30_secondary"], "pri15": c["share_15_primary"]})
    return pd.DataFrame(rows)


def underserved(fig: Figures, threshold_min: float, column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every unit over ``threshold_min`` minutes (for the people count) and the first
    :data:`UNDER_SHOWN` of them with a ``unit`` label (name · id) for the table."""
    under = underserved_units(fig.units, threshold_min=float(threshold_min), column=column)
    top = under.head(UNDER_SHOWN).assign(unit=lambda d: d["name"].astype(str) + " · " + d.index.astype(str))
    return under, top


def excess_texts(excess_min: pd.Series, lang: str) -> list[str]:
    """Minutes over the threshold as the table shows them: a few seconds over is over it, never
    shown as "0.0"."""
    return ["<" + number(0.1, 1, lang) if 0 < v < 0.05 else number(v, 1, lang) for v in excess_min]


def distribution(fig: Figures, column: str) -> pd.DataFrame:
    """Population share per travel-time bin and grid, with the share in percent for the chart."""
    dist = travel_distribution(fig.units, column=column)
    return dist.assign(share_pct=dist["share"] * 100)
