"""A separation argument on the map: a locked unit that drags a grid across the city.

Some requests have no plan for a reason the integer programs cannot see quickly (issue 15:
``ell-200u-k3-corners5-8%-lock``, where HiGHS decides no lead set in 800 s): a unit locked to a
lead lies on the city's edge, so does the lead's own unit, and the grid that must hold both then
crosses the city from edge to edge and cuts it in two. A lead on one side can reach no G5 unit on
the other. This module checks that argument on the units' geometry, lead set by lead set, in
milliseconds; :mod:`grid_planning.planning.fallback` drops the lead sets it closes, and refuses with a
proof when it closes every set the exact bounds leave.

The argument
------------
Preconditions, checked once per city (:func:`city_outline`; when one fails the step says nothing):

- the union of the units is one polygon without holes (a closed disk ``D``, its edge the ring
  ``J``); every unit is one polygon and no two units overlap (their areas add up to the union's);
- every pair of units the planner treats as adjacent shares a border of positive length (at least
  :data:`MIN_EDGE` m): no point contact, no island or bridge link.

Then a grid (units connected in the planner's adjacency) is a connected set of closed cells, and
the interior of its units together with the open borders between two of its units is a connected
open set. Take a lead ``L`` and two units ``a`` and ``b`` its grid must hold (``L``'s own unit or
units locked to ``L``) that both meet ``J`` along a piece of positive length. Pick a point ``e_a``
in the middle of such a piece of ``a`` and ``e_b`` of ``b`` (no other unit contains them). Every
plan with this lead set holds a simple curve ``P`` from ``e_a`` to ``e_b`` through the interior
of ``L``'s grid; ``P`` meets ``J`` only at its ends and meets no unit of another grid. ``P`` cuts
``D`` in two (a cross-cut of a disk, the theta-curve theorem): every connected set in ``D`` that
avoids ``P`` lies on one side, and the open arc ``A`` of ``J`` from ``e_a`` to ``e_b`` lies on
one side, the other open arc ``B`` on the other. So another grid whose units meet ``A`` lies on
``A``'s side and can hold no unit that meets ``B``.

A lead ``C`` of the set (not ``L``) is *cut off* when, for such a cut:

- its grid needs G5 (G5 enforced, no waiver for ``C``), and neither its unit nor a unit locked to
  it holds a G5 member;
- the units its grid must hold (its own, those locked to it) meet one open arc only, say ``A``;
- every G5 unit it could use meets the other arc ``B`` (at a point or along a piece). The units
  it could use are those holding a G5 member, less the units of the set's other leads and the
  units locked to another grid: those are in other grids in every plan with the set.

Then no plan has this lead set: ``C``'s grid would hold a G5 unit meeting ``B``.

What is covered: several locks (to one lead or to several) give several cuts, each tried alone:
every pair of the lead's own unit and its locked units that meet the edge, each pair of ends tried
at every piece of positive length where they meet it. A lead whose own unit (or a unit locked to
it) holds a G5 member, or whose grid has a G5 waiver, is never cut off; a G5 unit that is another
lead's unit or locked to another grid is not one it could use. Not covered (the step says nothing):
two cuts combined, a lead or a G5 unit that does not meet the edge, a lead whose units meet both
arcs (its grid cannot exist either, but that is not this claim), no G5 unit left at all (the
bounds' business), cities with holes, units in several pieces or overlapping, point contacts,
island or bridge links without a shared border.

Measured (benchmarks/bench_planar.py): ``ell-200u-k3-corners5-8%-lock`` refused with this proof in
0.04-0.09 s of CPU (before: "not found" after 20 s); the outline of a 100-300-unit city takes
0.01-0.03 s, once; plans of cities above 300 units (no exact fallback) are unchanged.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import shapely

from grid_planning.base.cache import memo
from grid_planning.base.i18n import LANGUAGES, labelled, listed, t
from grid_planning.planning.exact import Closed, ExactProblem

#: Shortest border (m) two adjacent units must share, and shortest piece of the city's edge a unit
#: must have for a cut to end on it: shorter ones count as point contacts (no claim).
MIN_EDGE = 0.01


#: Relative margin (of the edge's length) around a cut's ends within which a contact counts on
#: neither arc (no claim rests on rounding).
MARGIN = 1e-9


@dataclass(frozen=True)
class Outline:
    """What a city's units give the argument, computed once (:func:`city_outline`).

    Attributes
    ----------
    applies : bool
        Whether every precondition holds (see the module docstring).
    why_not : str
        The first precondition that fails (English, for tests and benchmarks); empty when it applies.
    length : float
        Length (m) of the city's edge ``J``.
    contacts : dict
        Unit position -> positions along ``J`` (m from its start) of one point of each piece where
        the unit meets ``J`` (points and lines alike).
    ends : dict
        Unit position -> positions of the middles of the unit's pieces of ``J`` of positive length
        (where a cut may end).
    """

    applies: bool
    why_not: str = ""
    length: float = 0.0
    contacts: dict[int, np.ndarray] | None = None
    ends: dict[int, np.ndarray] | None = None


@dataclass(frozen=True)
class Cut:
    """Why a lead set has no plan (:func:`close`).

    Attributes
    ----------
    lead : int
        Candidate position of the lead whose grid crosses the city.
    ends : tuple of int
        The two units (the lead's own, or locked to it) at the edge that the grid joins.
    locked : tuple of int
        The units of ``ends`` locked to the lead (one or two).
    cut_off : tuple of int
        Candidate positions of the set's leads cut off from every G5 unit they could use.
    holders : tuple of int
        Those G5 units (unit positions), all on the other side.
    """

    lead: int
    ends: tuple[int, int]
    locked: tuple[int, ...]
    cut_off: tuple[int, ...]
    holders: tuple[int, ...]


def outline_of(geometry: np.ndarray, adjacency: sp.spmatrix) -> Outline:
    """Check the preconditions on the units' polygons and the planner's adjacency, and locate
    where each unit meets the city's edge (see the module docstring).

    Parameters
    ----------
    geometry : ndarray of shapely.Polygon
        The units' polygons in a metric CRS (unit positions).
    adjacency : sparse matrix
        ``(n_units, n_units)``: the pairs the planner treats as adjacent (island and bridge links
        included).

    Returns
    -------
    Outline
        ``applies`` False (with ``why_not``) when a precondition fails; the argument then claims
        nothing on this city.
    """
    geoms = np.asarray(geometry)
    if len(geoms) == 0:
        return Outline(False, "no units")
    kinds = shapely.get_type_id(geoms)
    if (kinds != 3).any() or shapely.is_empty(geoms).any() or not shapely.is_valid(geoms).all():
        return Outline(False, "a unit is not one valid polygon")
    union = shapely.union_all(geoms)
    if union.geom_type != "Polygon" or len(union.interiors):
        return Outline(False, "the city is not one polygon without holes")
    area = float(shapely.area(geoms).sum())
    if area > union.area * (1 + 1e-6) + 1.0:
        return Outline(False, "units overlap")
    coo = sp.triu(sp.csr_matrix(adjacency, dtype=float), k=1).tocsr()
    coo.eliminate_zeros()
    coo = coo.tocoo()
    rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
    if len(rows):
        bnd = shapely.boundary(geoms)
        shared = shapely.length(shapely.intersection(bnd[rows], bnd[cols]))
        short = np.flatnonzero(shared < MIN_EDGE)
        if len(short):
            u, v = int(rows[short[0]]), int(cols[short[0]])
            return Outline(False, f"units {u} and {v} are adjacent without a shared border")
    ring = union.exterior
    touching = np.flatnonzero(shapely.intersects(geoms, ring))
    contacts: dict[int, np.ndarray] = {}
    ends: dict[int, np.ndarray] = {}
    for u, part in zip(touching.tolist(), shapely.intersection(geoms[touching], ring), strict=True):
        lines = [g for g in shapely.get_parts(part) if g.geom_type in ("LineString", "MultiLineString")]
        points = [g for g in shapely.get_parts(part) if g.geom_type == "Point"]
        pieces = list(shapely.get_parts(shapely.line_merge(shapely.union_all(lines)))) if lines else []
        where = [ring.project(shapely.line_interpolate_point(g, 0.5, normalized=True))
                 for g in pieces] + [ring.project(g) for g in points]
        contacts[u] = np.asarray(where, dtype=float)
        ends[u] = np.asarray([ring.project(shapely.line_interpolate_point(g, 0.5, normalized=True))
                              for g in pieces if g.length >= MIN_EDGE], dtype=float)
    return Outline(True, "", float(ring.length), contacts, ends)


def city_outline(index: object) -> Outline:
    """:func:`outline_of` a city's :class:`grid_planning.city.index.CityIndex` (its ``geometry``
    and ``adjacency``), computed once per index and kept as long as it lives."""
    return memo(index, ("planar-outline",), lambda: outline_of(index.geometry, index.adjacency))


def _arcs(contacts: np.ndarray, s0: float, s1: float, margin: float) -> set[str]:
    """The open arcs (``A``: from ``s0`` to ``s1``, ``B``: around) holding one of ``contacts``."""
    out = set()
    for s in contacts.tolist():
        if s0 + margin < s < s1 - margin:
            out.add("A")
        elif s < s0 - margin or s > s1 + margin:
            out.add("B")
    return out


def close(problem: ExactProblem, outline: Outline, leads: tuple[int, ...]) -> Cut | None:
    """Whether the argument closes a lead set (see the module docstring).

    Parameters
    ----------
    problem : ExactProblem
        The request as arrays: candidates' units, locks, G5 units, waivers.
    outline : Outline
        The city's :func:`outline_of` (or :func:`city_outline`).
    leads : tuple of int
        Candidate positions of the set, one per grid.

    Returns
    -------
    Cut or None
        The evidence that no plan has these leads (the first cut that cuts a lead off), or None:
        nothing is claimed (a precondition fails, no lock to a lead of the set, G5 not enforced,
        no G5 unit left for the other grids, or no cut leaves a lead without one).
    """
    p = problem
    if not outline.applies or not p.locks or not (p.enforce_g5 and p.g5 is not None):
        return None
    cand_unit = np.asarray(p.cand_unit, dtype=np.int64)
    leads = tuple(int(c) for c in leads)
    holder = np.asarray(p.g5) > 0
    waived = np.zeros(p.m, bool) if p.g5_waived is None else np.asarray(p.g5_waived, dtype=bool)
    locked_to: dict[int, list[int]] = {c: [] for c in leads}
    for u, c in p.locks:
        if int(c) not in locked_to:
            return None  # a lock to a candidate outside the set: the bounds' business
        locked_to[int(c)].append(int(u))
    forced = {c: [int(cand_unit[c]), *locked_to[c]] for c in leads}
    taken = {u for units in forced.values() for u in units}
    usable = [int(h) for h in np.flatnonzero(holder) if int(h) not in taken]
    if not usable:
        return None  # no G5 unit left for any other grid: the bounds' business, not a cut's
    no_touch = np.zeros(0)
    margin = MARGIN * outline.length
    for lead in leads:
        if not locked_to[lead]:
            continue
        at_edge = [u for u in forced[lead] if len(outline.ends.get(u, no_touch))]
        for a, b in itertools.combinations(at_edge, 2):
            for ea, eb in itertools.product(outline.ends[a].tolist(), outline.ends[b].tolist()):
                s0, s1 = min(ea, eb), max(ea, eb)
                sides = {h: _arcs(outline.contacts.get(h, no_touch), s0, s1, margin) for h in usable}
                cut_off = []
                for c in leads:
                    if c == lead or waived[c] or holder[forced[c]].any():
                        continue
                    own = set().union(*(_arcs(outline.contacts.get(u, no_touch), s0, s1, margin)
                                        for u in forced[c]))
                    if len(own) != 1:
                        continue
                    other = "B" if own == {"A"} else "A"
                    if all(other in sides[h] for h in usable):
                        cut_off.append(c)
                if cut_off:
                    return Cut(lead, (a, b), tuple(u for u in (a, b) if u in locked_to[lead]),
                               tuple(cut_off), tuple(usable))
    return None


def close_sets(problem: ExactProblem, outline: Outline, sets: list[tuple[int, ...]]) -> Closed:
    """:func:`close` on every set of ``sets``.

    Parameters
    ----------
    problem : ExactProblem
    outline : Outline
    sets : list of tuple of int
        Lead sets (candidate positions), e.g. those :func:`grid_planning.planning.exact.lead_sets`
        leaves, nearest first.

    Returns
    -------
    Closed
        The sets left open (same order), those closed with their cuts as ``evidence`` and, when
        some are closed but not all, the union of the open sets' bounds
        (:func:`grid_planning.planning.exact.lead_set_bounds`). Costs nothing on a request without
        locks or a city the argument does not apply to.
    """
    if not problem.locks or not outline.applies or not sets:
        return Closed.of(problem, sets, [])
    left, closed, cuts = [], [], []
    for s in sets:
        cut = close(problem, outline, s)
        if cut is None:
            left.append(tuple(s))
        else:
            closed.append(tuple(s))
            cuts.append(cut)
    return Closed.of(problem, left, closed, cuts)


def proof_words(
    problem: ExactProblem,
    cuts: list[Cut],
    unit_label: Callable[[int, str], str],
    lead_label: Callable[[int, str], str],
) -> dict[str, object]:
    """The parameters of a refusal proven by cuts that closed every lead set left, in each
    language (``planner.proof.planar``): the most frequent cut (lead and ends), the leads it cuts
    off and their G5 units over the sets it closed, and whether those sets are every set that
    meets the fixed leads and the locks. ``unit_label(u, lang)`` and ``lead_label(c, lang)`` name
    a unit and a candidate. ``planar_lead``, ``planar_ends``, ``planar_cut`` and
    ``planar_holders`` keep the evidence as positions (the caller names them for the record)."""
    groups: dict[tuple, list[Cut]] = {}
    for cut in cuts:
        groups.setdefault((cut.lead, cut.ends), []).append(cut)
    (lead, ends), group = max(groups.items(), key=lambda kv: len(kv[1]))
    need = len(set(problem.required) | {int(c) for _, c in problem.locks})
    every = len(group) == math.comb(problem.m - need, problem.k - need)
    cut_off = sorted({c for cut in group for c in cut.cut_off})
    holders = sorted({h for cut in group for h in cut.holders})
    words: dict[str, object] = {"proof": "planar", "planar_lead": lead, "planar_ends": list(ends),
                                "planar_cut": cut_off, "planar_holders": holders}
    for lang in LANGUAGES:
        words |= {
            f"lead_{lang}": lead_label(lead, lang),
            f"ends_{lang}": listed((unit_label(u, lang) for u in ends), lang),
            f"cut_{lang}": listed((lead_label(c, lang) for c in cut_off), lang),
            f"holders_{lang}": listed((unit_label(h, lang) for h in holders), lang),
            f"rest_{lang}": t("planner.proof.planar_all" if every else "planner.proof.planar_rest", lang),
        }
    return words


def refusal_words(
    problem: ExactProblem,
    cuts: list[Cut],
    unit_ids: Sequence[object],
    unit_names: Sequence[object] | None,
    lead_ids: Sequence[str],
    lead_names: Sequence[object] | None,
) -> dict[str, object]:
    """:func:`proof_words` with every unit and lead named as a planner reads it
    (:func:`grid_planning.base.i18n.labelled`: name, then id) and the evidence kept as ids
    (``planar_lead``, ``planar_ends``, ``planar_cut``, ``planar_holders``) for the record.
    ``*_names`` may be None (ids only)."""
    words = proof_words(
        problem, cuts,
        lambda u, lang: labelled(unit_ids[u], None if unit_names is None else unit_names[u], lang),
        lambda c, lang: labelled(lead_ids[c], None if lead_names is None else lead_names[c], lang),
    )
    return words | {"planar_lead": lead_ids[words["planar_lead"]],
                    "planar_ends": [str(unit_ids[u]) for u in words["planar_ends"]],
                    "planar_cut": [lead_ids[c] for c in words["planar_cut"]],
                    "planar_holders": [str(unit_ids[u]) for u in words["planar_holders"]]}
