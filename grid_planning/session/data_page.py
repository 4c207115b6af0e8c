"""What the data page says about an uploaded city beyond the validation report.

The water and crossings slots (as ``--water`` / ``--crossings``): how many water features and
crossings were read, on how many banks the units lie and how many crossings join two banks, so a
planner sees that the river is understood before planning on it.
"""

from __future__ import annotations

import numpy as np

from grid_planning.base.cache import memo
from grid_planning.base.i18n import t
from grid_planning.base.numfmt import integer
from grid_planning.city.layers import CityLayers
from grid_planning.geo.water import unit_sides


def water_banks(layers: CityLayers) -> tuple[int, int] | None:
    """``(banks holding units, crossings that join two of them)``, once per city; None unless the
    city has both water and crossings (with only one of them travel is unchanged, and the
    validation report says so)."""
    index = layers.index
    wet = index.water_metric()
    if wet is None:
        return None

    def count() -> tuple[int, int]:
        side, pairs = unit_sides(index.points, *wet)
        return int(len(np.unique(side))), int(len(pairs))

    return memo(layers.units, ("data_page", "water_banks"), count)


def water_line(layers: CityLayers, lang: str) -> str | None:
    """The data page's line on water: features and crossings read, banks and the crossings
    joining them; None when the city has no water layer and no crossings."""
    water = layers.water if layers.water is not None else ()
    crossings = layers.crossings if layers.crossings is not None else ()
    if not len(water) and not len(crossings):
        return None
    text = t("data.water.line", lang, water=integer(len(water), lang),
             crossings=integer(len(crossings), lang))
    banks = water_banks(layers)
    if banks is not None:
        text += t("data.water.banks", lang, banks=integer(banks[0], lang), joined=integer(banks[1], lang))
    return text
