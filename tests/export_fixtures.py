"""A small city whose text fields hold the shared hostile strings, planned with a recorded G5
exception and checklist notes: the fixture of the export tests (fast: 16 units, 8 facilities)."""

from __future__ import annotations

from dataclasses import replace

from hostile import HOSTILE_SHORT
from plan_fixtures import make_layers, make_plan

from grid_planning.assess.checklist import record
from grid_planning.domain.plan import PolicyException

#: Facility id -> hostile name (F1 and F2, the leads, keep their Chinese names).
HOSTILE_FACILITIES = {
    "F3": HOSTILE_SHORT["img_onerror"],
    "F4": HOSTILE_SHORT["md_image"],
    "F5": HOSTILE_SHORT["formula_hyperlink"],
    "F6": HOSTILE_SHORT["script_tag"],
    "F7": HOSTILE_SHORT["jinja_expr"],
    "F8": HOSTILE_SHORT["jinja_rce"],
}
G5_REASON = "相邻网格康复医院提供服务 " + HOSTILE_SHORT["jinja_unclosed"]
NOTE_4 = HOSTILE_SHORT["ansi"]
NOTE_5 = "编制 " + HOSTILE_SHORT["bidi"]
CITY = "网格市 <b>示例</b>"


def hostile_city():
    """The 4 x 4 city of ``plan_fixtures`` with hostile facility names and city name."""
    layers = make_layers()
    fac = layers.facilities.copy()
    fac["name"] = [HOSTILE_FACILITIES.get(f, n) for f, n in zip(fac["id"], fac["name"], strict=True)]
    fac.loc[fac["id"] == "F1", "source"] = "real"  # one real facility: solid marker, real source
    # G1's one secondary hospital is a specialty one: G1 lacks a G5 member (secondary general or
    # continuing care) and passes by a recorded exception.
    fac.loc[fac["id"] == "F3", "type"] = "specialty"
    return replace(layers, name=CITY, facilities=fac)


def hostile_plan():
    """The two-grid plan on :func:`hostile_city`, G1 passing G5 by a recorded exception, and two
    checklist notes."""
    plan = make_plan()
    plan = plan.with_exception(PolicyException("G5", "F1", G5_REASON))
    plan = record(plan, "F2", 4, "in_progress", NOTE_4)
    plan = record(plan, "F1", 5, "done", NOTE_5)
    return plan.with_params(created="2024-01-02T03:04:05", cost={"mode": "straight"})
