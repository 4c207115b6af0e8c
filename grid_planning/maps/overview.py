"""The home page's city overview: population density by unit, the city outline, districts with their names, water and its crossings, and the facilities.
"""

from __future__ import annotations

from grid_planning.base.i18n import DEFAULT_LANGUAGE
from grid_planning.maps.mapview import (
    PlannerMap,
    add_choropleth,
    add_districts,
    add_outline,
    add_water,
    base_map,
    finish,
    units_geojson_for,
)
from grid_planning.maps.markers import add_facilities


def city_overview_map(
    layers: object,
    *,
    tiles: str = "none",
    tianditu_key: str | None = None,
    lang: str = DEFAULT_LANGUAGE,
    tolerance_m: float = 30.0,
) -> PlannerMap:
    """The home page map: outline, districts with labels, density choropleth, facilities, legends.

    Parameters
    ----------
    layers : CityLayers
    tiles, tianditu_key, lang : see :func:`base_map`.
    tolerance_m : float
        Simplification tolerance for the units (metres).

    Returns
    -------
    PlannerMap
        Finished (layer control added, assets localised): ready for ``st_folium`` or :func:`map_html`.
    """
    m = base_map(layers.boundary.total_bounds, tiles=tiles, tianditu_key=tianditu_key, lang=lang)
    data, breaks = units_geojson_for(layers, gcj02=m.gcj02, tolerance_m=tolerance_m)
    add_choropleth(m, data, breaks)
    add_outline(m, layers.boundary)
    add_districts(m, layers.districts)
    add_water(m, getattr(layers, "water", None), getattr(layers, "crossings", None))
    add_facilities(m, layers.facilities)
    return finish(m)
