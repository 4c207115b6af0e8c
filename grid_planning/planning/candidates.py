"""Who may lead a grid: the eligible leads of a request (G4, G8) and the hospitals a planner may
designate with a written reason, in the order a planner would consider them. The planner, the
refusal's options, the plan page and the workspace read them from here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grid_planning.assess.checks import why_text
from grid_planning.base.i18n import LANGUAGES
from grid_planning.domain import rules
from grid_planning.domain.request import PlanRequest

if TYPE_CHECKING:
    from grid_planning.city.layers import CityLayers


def eligible_leads(facilities: pd.DataFrame, request: PlanRequest,
                   layers: CityLayers | None = None) -> pd.DataFrame:
    """Facilities that may lead a grid under ``request`` (:func:`grid_planning.domain.rules.lead_candidates`).

    With ``layers``, a hospital lying outside the city is a candidate only when designated.

    Returns
    -------
    DataFrame
        Candidate rows (ordered by id) with ``eligibility``: ``data``, ``assumed`` or ``designated``.
    """
    outside = layers.index.locate(facilities).outside if layers is not None else None
    return rules.lead_candidates(
        facilities,
        outside,
        designated=[f for f, _ in request.designated_leads],
        excluded=request.excluded_leads,
    )


def designation_candidates(layers: CityLayers, facilities: pd.DataFrame | None = None) -> pd.DataFrame:
    """Hospitals a planner may designate as a lead with a G4 reason (tertiary general/TCM of
    another owner, or an eligible one outside the city), largest first. The plan page offers
    exactly these."""
    fac = layers.facilities if facilities is None else facilities
    return designation_order(fac, layers.index.locate(fac).outside)


def may_designate(fac: pd.DataFrame, outside: np.ndarray | pd.Series) -> np.ndarray:
    """Hospitals a planner may designate as a lead (G4 "in principle" exception), per row:
    :func:`grid_planning.domain.rules.g4_designatable` without the provincial and national
    ones. G8 makes those external collaborators and is not an "in principle" rule, so no
    written reason makes one a lead (README, "Who may lead")."""
    return (
        rules.g4_designatable(fac, outside).to_numpy()
        & ~rules.collaborator_owner(fac).to_numpy()
    )


def designation_order(fac: pd.DataFrame, outside: np.ndarray) -> pd.DataFrame:
    """Designatable hospitals, the ones a planner would consider first first: other owners
    (enterprise, university, army ...) and eligible hospitals just outside the city before
    provincial and national ones, which the policy makes collaborators (G8); larger first."""
    mask = may_designate(fac, outside)
    out = pd.DataFrame(fac[mask]).copy()
    out["outside_city"] = np.asarray(outside)[mask]
    collab = rules.collaborator_owner(out).to_numpy().astype(int)
    beds = pd.to_numeric(out["beds"], errors="coerce").fillna(0) if "beds" in out else 0
    return (
        out.assign(_c=collab, _b=beds)
        .sort_values(["_c", "_b", "id"], ascending=[True, False, True])
        .drop(columns=["_c", "_b"])
    )


def why_cannot_lead(row: pd.Series, outside: bool) -> dict[str, str]:
    """Why the facility ``row`` cannot lead (``outside``: it lies outside the city), per
    language (``why_zh``, ``why_en``; ``why`` the English one), in the checks' words (vocabulary
    labels in Chinese, never ``level=...``)."""
    fields = rules.g4_ineligible_fields(row, outside=outside)
    params = {"ineligible": fields, **{f: row.get(f, "") for f in fields}}
    out = {f"why_{lang}": why_text(params, lang) or "-" for lang in LANGUAGES}
    return {"why": out["why_en"], **out}
