"""The plan page's G10 list: conversion suggestions, each one click from a what-if.

A suggestion (:func:`grid_planning.assess.conversion.conversion_candidates`) becomes the what-if
``plan --convert ID=rehabilitation|nursing`` makes (:meth:`Workspace.convert_facility`), and the
plan is re-planned with it; the conversions the plan carries are listed above the suggestions, each
with its position among the what-if edits so it can be taken back.
"""

from __future__ import annotations

from dataclasses import dataclass

from grid_planning.assess.conversion import (
    CONVERSION_TARGETS,
    conversion_candidates,
    conversion_of,
    conversion_text,
)
from grid_planning.base.cache import memo
from grid_planning.base.i18n import t
from grid_planning.city.layers import CityLayers
from grid_planning.domain.plan import Plan


@dataclass(frozen=True)
class ConversionRow:
    """One line of the G10 list.

    Attributes
    ----------
    facility_id : str
    text : str
        The hospital, its beds and why it is suggested (or, for an applied conversion, what it
        became, marked as a what-if).
    targets : tuple of (str, str)
        ``(target type, button label)`` for a suggestion; empty for an applied conversion.
    edit_index : int or None
        Position of an applied conversion among the plan's what-if edits (for
        :meth:`Workspace.remove_edit`); None for a suggestion.
    """

    facility_id: str
    text: str
    targets: tuple[tuple[str, str], ...] = ()
    edit_index: int | None = None


def suggestions(layers: CityLayers, plan: Plan, lang: str) -> list[ConversionRow]:
    """The plan's G10 suggestions, grids lacking continuing care first, each with a button per
    conversion target; computed once per plan and language."""

    def make() -> list[ConversionRow]:
        return [
            ConversionRow(c.facility_id, c.line(lang).strip(), tuple(
                (target, t("ws.g10.convert", lang, type=t(f"vocab.type.{target}", lang)))
                for target in CONVERSION_TARGETS))
            for c in conversion_candidates(layers, plan)
        ]

    return memo(plan, ("g10_suggestions", lang), make)


def applied(layers: CityLayers, plan: Plan, lang: str) -> list[ConversionRow]:
    """The conversions the plan carries as what-ifs, in the order of its edits."""
    fac = layers.facilities
    names = dict(zip(fac["id"].astype(str), fac["name"].astype(str), strict=False))
    out = []
    for i, edit in enumerate(plan.edits):
        if (target := conversion_of(edit)) is not None:
            text = t("conversion.applied", lang,
                     item=conversion_text(edit.facility_id, names.get(edit.facility_id, ""), target, lang))
            out.append(ConversionRow(edit.facility_id, text, edit_index=i))
    return out
