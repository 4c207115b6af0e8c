"""The city's own figures, each with one definition used by every page, export and the CLI.

- **Area**: the area of the city's boundary (km², in the layers' metric CRS). The grids tile it
  (:attr:`grid_planning.city.index.CityIndex.territory`), so the grids' areas add up to it. Without a
  boundary, the units' area.
- **Residents**: the sum of the population units' ``population``.
- **Beds**: the beds of the facilities in the city that belong to the medical groups (leads,
  members, primary care, cross-grid services): provincial and national hospitals are the groups'
  external collaborators (G8) and their beds are **not** counted (they are reported apart as
  ``beds_collaborators``). The grids' beds add up to the city's.
- **Beds per 1,000 residents**: beds / residents x 1,000.

A figure that rests on generated (illustrative) data carries the share of it that is generated,
so every view can mark it 示意.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from grid_planning.domain import rules

if TYPE_CHECKING:
    import geopandas as gpd

    from grid_planning.city.index import CityIndex


class CityParts(Protocol):
    """What the city's figures are made of: :class:`~grid_planning.city.layers.CityLayers` is one
    (the layers module uses this one, so it is not imported here)."""

    @property
    def units(self) -> gpd.GeoDataFrame: ...
    @property
    def facilities(self) -> gpd.GeoDataFrame: ...
    @property
    def boundary(self) -> gpd.GeoDataFrame: ...
    @property
    def metric_crs(self) -> str: ...
    @property
    def index(self) -> CityIndex: ...


def city_area_km2(layers: CityParts) -> float:
    """The city's area (km²): its boundary's, else its units' (see the module docstring)."""
    boundary = getattr(layers, "boundary", None)
    if boundary is not None and len(boundary) and not boundary.geometry.is_empty.all():
        return float(boundary.to_crs(layers.metric_crs).geometry.union_all().area) / 1e6
    return float(np.sum(layers.index.area_km2))


def bed_figures(facilities: pd.DataFrame, inside: np.ndarray | pd.Series | None = None) -> dict[str, float]:
    """The beds that count (collaborators excluded) and how many of them are generated.

    Parameters
    ----------
    facilities : DataFrame
        Facilities with ``beds`` (and ``owner_level``, ``source``, ``capacity_source``).
    inside : array of bool, optional
        Which facilities lie in the city (default: all).

    Returns
    -------
    dict
        ``beds`` (counted), ``beds_known`` (1.0 when any facility states beds, else 0.0),
        ``beds_collaborators`` (beds of collaborators, not counted), ``beds_generated`` (of the
        counted beds, those generated) and ``beds_illustrative_share``.
    """
    if not len(facilities) or "beds" not in facilities.columns:
        return {"beds": 0.0, "beds_known": 0.0, "beds_collaborators": 0.0, "beds_generated": 0.0,
                "beds_illustrative_share": 0.0}
    keep = np.ones(len(facilities), bool) if inside is None else np.asarray(inside, bool)
    raw = pd.to_numeric(facilities["beds"], errors="coerce").fillna(0.0).to_numpy(float)
    counted = rules.grid_beds(facilities).to_numpy(float)
    generated = np.asarray(rules.is_illustrative(facilities), bool)
    beds = float(counted[keep].sum())
    beds_generated = float(counted[keep & generated].sum())
    return {
        "beds": beds,
        "beds_known": float(pd.to_numeric(facilities["beds"], errors="coerce").notna().any()),
        "beds_collaborators": float((raw - counted)[keep].sum()),
        "beds_generated": beds_generated,
        "beds_illustrative_share": beds_generated / beds if beds > 0 else 0.0,
    }


def per_1000(beds: float, population: float) -> float:
    """Beds per 1,000 residents (NaN without residents)."""
    return beds / population * 1000 if population > 0 else float("nan")


def city_figures(layers: CityParts, facilities: pd.DataFrame | None = None) -> dict[str, float]:
    """Area, residents, beds and beds per 1,000 of a city, as defined in the module docstring.

    Parameters
    ----------
    layers : CityLayers
    facilities : DataFrame, optional
        The facilities to count (a plan's, with its what-if edits); default the layers'.

    Returns
    -------
    dict
        ``area_km2``, ``population``, ``beds``, ``beds_collaborators``, ``beds_generated``,
        ``beds_illustrative_share``, ``beds_per_1000`` (NaN when no facility states beds).
    """
    fac = layers.facilities if facilities is None else facilities
    population = float(np.sum(layers.index.population)) if len(layers.units) else 0.0
    inside = ~layers.index.locate(fac).outside if len(fac) and len(layers.units) else None
    beds = bed_figures(fac, inside)
    known = bool(beds.pop("beds_known"))
    return {
        "area_km2": city_area_km2(layers),
        "population": population,
        **beds,
        "beds_per_1000": per_1000(beds["beds"], population) if known else float("nan"),
    }
