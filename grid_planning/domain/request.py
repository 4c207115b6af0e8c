"""What a planner asks for and what comes back: :class:`PlanRequest`, :class:`PlanResult`,
a refusal (:class:`Infeasible`) with its options (:class:`Option`), balance advice, and the travel-cost
parameters (:class:`CostParams`).

Values only: nothing here plans, reads a file or touches geometry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np
import pandas as pd

from grid_planning.base.i18n import DEFAULT_LANGUAGE, has, labelled, listed, listed_labelled, t
from grid_planning.domain.plan import FacilityEdit, Plan
from grid_planning.domain.rules import OPTION_RULES

#: Free-flow urban speeds (km/h) by OSM-like ``highway`` class.
DEFAULT_ROAD_SPEEDS: tuple[tuple[str, float], ...] = (
    ("motorway", 80.0),
    ("motorway_link", 50.0),
    ("trunk", 60.0),
    ("trunk_link", 40.0),
    ("primary", 45.0),
    ("primary_link", 35.0),
    ("secondary", 35.0),
    ("secondary_link", 30.0),
    ("tertiary", 30.0),
    ("tertiary_link", 25.0),
    ("unclassified", 25.0),
    ("residential", 20.0),
    ("living_street", 10.0),
    ("service", 15.0),
    ("track", 15.0),
)


MODES: tuple[str, ...] = ("auto", "roads", "straight")


@dataclass(frozen=True)
class CostParams:
    """Parameters of the travel-time model (see the module docstring).

    Attributes
    ----------
    mode : {"auto", "roads", "straight"}
    detour : float
        Straight-line distance multiplier.
    speed_kmh : float
        Urban speed for straight-line travel.
    road_speeds : tuple of (highway class, km/h)
        Speeds by road class when a road has no ``speed_kmh``.
    access_speed_kmh : float
        Speed between a unit / facility and its snapped road node.
    default_road_speed_kmh : float
        Speed of roads with neither a known class nor a speed.
    snap_m : float
        Road vertices closer than this are merged into one node.
    """

    mode: str = "auto"
    detour: float = 1.3
    speed_kmh: float = 30.0
    road_speeds: tuple[tuple[str, float], ...] = DEFAULT_ROAD_SPEEDS
    access_speed_kmh: float = 15.0
    default_road_speed_kmh: float = 25.0
    snap_m: float = 3.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"cost mode must be one of {MODES}, got {self.mode!r}")
        for name in ("detour", "speed_kmh", "access_speed_kmh", "default_road_speed_kmh"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0")

    def to_dict(self) -> dict[str, object]:
        """Every field, JSON-friendly (road speeds as ``[class, km/h]`` pairs); see :meth:`from_dict`."""
        return {
            "mode": self.mode,
            "detour": self.detour,
            "speed_kmh": self.speed_kmh,
            "road_speeds": [[str(c), float(v)] for c, v in self.road_speeds],
            "access_speed_kmh": self.access_speed_kmh,
            "default_road_speed_kmh": self.default_road_speed_kmh,
            "snap_m": self.snap_m,
        }

    @staticmethod
    def from_dict(data: Mapping[str, object] | None) -> CostParams:
        """The parameters :meth:`to_dict` or :meth:`as_dict` wrote (road speeds as pairs or a
        mapping); keys it does not know (``mode_used``) are ignored, missing ones take their default.

        Raises
        ------
        ValueError
            A value out of range (see :class:`CostParams`), or of the wrong kind.
        """
        data = dict(data or {})
        kwargs: dict[str, object] = {}
        for name in ("detour", "speed_kmh", "access_speed_kmh", "default_road_speed_kmh", "snap_m"):
            if data.get(name) is not None:
                kwargs[name] = _number(data[name], name)
        if data.get("mode") is not None:
            kwargs["mode"] = str(data["mode"])
        speeds = data.get("road_speeds")
        if speeds is not None:
            pairs = speeds.items() if isinstance(speeds, Mapping) else speeds
            try:
                kwargs["road_speeds"] = tuple((str(c), _number(v, "road_speeds")) for c, v in pairs)  # type: ignore[union-attr]
            except (TypeError, ValueError) as exc:
                raise ValueError("road_speeds must be (class, km/h) pairs") from exc
        return CostParams(**kwargs)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        """The summary kept in ``plan.params["cost"]`` (what earlier versions wrote; the request
        itself is kept whole by :meth:`PlanRequest.to_dict`)."""
        return {
            "mode": self.mode,
            "detour": self.detour,
            "speed_kmh": self.speed_kmh,
            "access_speed_kmh": self.access_speed_kmh,
            "road_speeds": dict(self.road_speeds),
        }


#: Tolerances are suggested on this grid (±5 %, ±10 % ...).
BALANCE_STEP = 0.05


# ---- population balance: the band and the deviation, defined once ---------------------------------
def balance_band(mean: float, tolerance: float | None) -> tuple[float, float]:
    """The populations a grid may have under a balance ``tolerance`` around the ``mean`` grid
    population: ``((1 - tolerance) mean, (1 + tolerance) mean)``; unbounded without a tolerance."""
    if tolerance is None:
        return -math.inf, math.inf
    return (1 - tolerance) * mean, (1 + tolerance) * mean


#: A figure or figures: a grid's population or every grid's.
Populations = TypeVar("Populations", float, np.ndarray, pd.Series)


def balance_deviation(population: Populations, mean: float) -> Populations:
    """A grid's (or each grid's) deviation from the mean grid population: ``population / mean - 1``
    (a scalar or an array, as given; ``mean`` must be positive)."""
    return population / mean - 1


def max_balance_deviation(populations: np.ndarray, mean: float) -> float:
    """The largest absolute :func:`balance_deviation` over the grids (0 when ``mean`` is not positive)."""
    return float(np.abs(balance_deviation(populations, mean)).max()) if mean > 0 else 0.0


#: Methods a request may ask for.
METHODS = ("auto", "heuristic", "exact")


Progress = Callable[[float, str], None]


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number")
    return float(value)


#: Version of the shape :meth:`PlanRequest.to_dict` writes. Version 0 are the shapes before it:
#: the workspace's ``workspace_request`` and the planner's parameters (see :func:`request_from_plan`).
REQUEST_VERSION = 1

#: The plan parameter that holds the request a plan stands with (:meth:`PlanRequest.to_dict`).
REQUEST_PARAM = "request"


# ---- request and result ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanRequest:
    """What the planner is asked for.

    Attributes
    ----------
    k : int
        Number of grids.
    fixed_leads, excluded_leads : tuple of str
        Facility ids that must / must not lead a grid.
    designated_leads : tuple of (facility id, reason)
        G4 exceptions: hospitals that may lead only by designation (:func:`rules.g4_designatable`:
        tertiary general/TCM of another owner, or one outside the city) designated with a reason;
        they are fixed leads.
    g5_waivers : tuple of (lead facility id, reason)
        G5 exceptions for the grid led by that facility.
    g2_reason : str, optional
        Written reason that allows ``k == 1`` (G2 exception).
    balance : float, optional
        Population tolerance: every grid within ``+-balance`` of the mean (0.3 = +-30 %).
    min_beds_per_1000 : float, optional
        Minimum beds per 1,000 residents in every grid (collaborators' beds excluded).
    locks : tuple of (unit id, lead facility id)
        Units pinned to the grid of that lead; the lead is implicitly fixed.
    cost : CostParams
        Travel-time model.
    edits : tuple of FacilityEdit
        What-if facility edits applied before planning.
    method : {"auto", "heuristic", "exact"}
        ``auto``: exact on small cities, heuristic (with exact fallback) otherwise.
    age_weight : float
        G9: each resident 65+ counts ``1 + age_weight`` in the demand the grids are balanced and
        assigned by (:func:`grid_planning.domain.rules.g9_demand`); 0 = residents only.
    burden_column : str, optional
        G9: the units column holding a disease-burden figure (a count of people per unit).
    burden_weight : float
        G9: each person of the burden column counts this much more demand (needs the column).
    """

    k: int
    fixed_leads: tuple[str, ...] = ()
    excluded_leads: tuple[str, ...] = ()
    designated_leads: tuple[tuple[str, str], ...] = ()
    g5_waivers: tuple[tuple[str, str], ...] = ()
    g2_reason: str | None = None
    balance: float | None = None
    min_beds_per_1000: float | None = None
    locks: tuple[tuple[str, str], ...] = ()
    cost: CostParams = field(default_factory=CostParams)
    edits: tuple[FacilityEdit, ...] = ()
    method: str = "auto"
    age_weight: float = 0.0
    burden_column: str | None = None
    burden_weight: float = 0.0

    @property
    def g9_weights(self) -> dict[str, object]:
        """The G9 weights the request asks for (the plan states them; all 0 = residents only)."""
        return {
            "age_weight": float(self.age_weight),
            "burden_column": self.burden_column,
            "burden_weight": float(self.burden_weight),
        }

    def to_dict(self) -> dict[str, object]:
        """The request as JSON-friendly values, versioned (:data:`REQUEST_VERSION`): the one form
        it is saved in (plan parameters, plan files, scenarios, the workspace).

        Pairs (``designated_leads``, ``g5_waivers``, ``locks``) are ``[id, text]`` lists. What-if
        edits are not included: they travel with the plan (:attr:`Plan.edits`), written once.
        """
        return {
            "version": REQUEST_VERSION,
            "k": int(self.k),
            "fixed_leads": [str(f) for f in self.fixed_leads],
            "excluded_leads": [str(f) for f in self.excluded_leads],
            "designated_leads": [[str(f), str(r)] for f, r in self.designated_leads],
            "g5_waivers": [[str(f), str(r)] for f, r in self.g5_waivers],
            "g2_reason": self.g2_reason,
            "balance": self.balance,
            "min_beds_per_1000": self.min_beds_per_1000,
            "locks": [[str(u), str(f)] for u, f in self.locks],
            "cost": self.cost.to_dict(),
            "method": self.method,
        } | self.g9_weights

    @staticmethod
    def from_dict(data: Mapping[str, object], *, base: PlanRequest | None = None) -> PlanRequest:
        """The request :meth:`to_dict` wrote, or one of the older shapes (version 0: the
        workspace's ``workspace_request``, with ``cost_mode`` and pairs, or the planner's
        parameters, with ``designated_leads`` as bare ids whose reasons are on the plan; see
        :func:`request_from_plan`).

        Parameters
        ----------
        data : mapping
        base : PlanRequest, optional
            Values for what ``data`` does not hold (an older shape holds less); its ``edits``
            are kept.

        Raises
        ------
        ValueError
            A version newer than this tool reads, or a value of the wrong kind.
        """
        data = dict(data)
        version = data.get("version", 0)
        if not isinstance(version, int) or version > REQUEST_VERSION:
            raise ValueError(f"request version {version!r} is newer than this tool reads")
        req = base if base is not None else PlanRequest(k=int(data.get("k") or 1))
        changes: dict[str, object] = {}
        if data.get("k") is not None:
            changes["k"] = int(data["k"])  # type: ignore[call-overload]
        for key in ("balance", "min_beds_per_1000"):
            if key in data:
                changes[key] = None if data[key] is None else _number(data[key], key)
        if "g2_reason" in data:
            changes["g2_reason"] = None if data["g2_reason"] is None else str(data["g2_reason"])
        for key in ("fixed_leads", "excluded_leads"):
            if data.get(key) is not None:
                changes[key] = tuple(str(f) for f in data[key])  # type: ignore[attr-defined]
        for key in ("designated_leads", "g5_waivers", "locks"):
            pairs = data.get(key)
            if pairs is None:
                continue
            if not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):  # type: ignore[attr-defined]
                if key == "designated_leads" and version == 0:
                    continue  # the planner's bare ids: the reasons are the plan's exceptions
                raise ValueError(f"{key} must be pairs")
            changes[key] = tuple((str(a), str(b)) for a, b in pairs)  # type: ignore[attr-defined]
        if isinstance(data.get("cost"), Mapping):
            changes["cost"] = CostParams.from_dict(data["cost"])  # type: ignore[arg-type]
        elif data.get("cost_mode") in MODES:
            changes["cost"] = replace(req.cost, mode=str(data["cost_mode"]))
        if data.get("method") in METHODS:
            changes["method"] = str(data["method"])
        # G9 weights: a file written before them plans by residents only (weights 0).
        for key in ("age_weight", "burden_weight"):
            if data.get(key) is not None:
                changes[key] = _number(data[key], key)
        if "burden_column" in data:
            changes["burden_column"] = None if data["burden_column"] in (None, "") else str(data["burden_column"])
        return replace(req, **changes)  # type: ignore[arg-type]


#: The option steps that record an "in principle" exception, and its rule.
_REASON_RULE = OPTION_RULES


@dataclass(frozen=True)
class Option:
    """A change to the request that resolves a refusal.

    Attributes
    ----------
    steps : tuple of (kind, params)
        Applied in order. Kinds: ``k`` (``k``), ``g2_reason``, ``designate`` (``id``),
        ``g5_waiver`` (``leads``), ``balance`` (``tolerance``; ``None`` drops it), ``beds``
        (``value``; ``None`` drops it), ``unfix`` (``id``), ``unexclude`` (``id``), ``unlock``
        (``unit``), ``undesignate`` (``id``).
    verified : bool
        True when the changed request was planned and checked before the option was offered.
    """

    steps: tuple[tuple[str, dict], ...]
    verified: bool = False

    @property
    def needs_reason(self) -> bool:
        """True when applying it records an exception that needs the planner's written reason."""
        return bool(self.reason_rules)

    @property
    def reason_rules(self) -> tuple[str, ...]:
        """The rules whose "in principle" exception this option records (``G2``, ``G4``, ``G5``),
        each needing its own written reason, in the order of the steps."""
        return tuple(dict.fromkeys(_REASON_RULE[k] for k, _ in self.steps if k in _REASON_RULE))

    def apply(self, request: PlanRequest, reason: str | Mapping[str, str] | None = None) -> PlanRequest:
        """The request with this option applied.

        ``reason`` is what the exceptions it records are recorded with: one text for all, or a
        text per rule (``{"G4": ..., "G5": ...}``, see :attr:`reason_rules`).
        """
        reasons = reason if isinstance(reason, Mapping) else dict.fromkeys(self.reason_rules, reason)
        req = request
        for kind, p in self.steps:
            why = (reasons.get(_REASON_RULE.get(kind, ""), "") or "").strip()
            if kind == "k":
                req = replace(req, k=int(p["k"]))
            elif kind == "g2_reason":
                req = replace(req, k=1, g2_reason=why or None)
            elif kind == "designate":
                pairs = dict(req.designated_leads) | {str(p["id"]): why}
                req = replace(req, designated_leads=tuple(pairs.items()))
            elif kind == "undesignate":
                req = replace(
                    req,
                    designated_leads=tuple(x for x in req.designated_leads if x[0] != p["id"]),
                )
            elif kind == "g5_waiver":
                pairs = dict(req.g5_waivers) | {str(lead): why for lead in p["leads"]}
                req = replace(req, g5_waivers=tuple(pairs.items()))
            elif kind == "balance":
                req = replace(req, balance=p["tolerance"])
            elif kind == "beds":
                req = replace(req, min_beds_per_1000=p["value"])
            elif kind == "unfix":
                req = replace(req, fixed_leads=tuple(f for f in req.fixed_leads if f != p["id"]))
            elif kind == "unexclude":
                req = replace(
                    req, excluded_leads=tuple(f for f in req.excluded_leads if f != p["id"])
                )
            elif kind == "unlock":
                req = replace(req, locks=tuple(x for x in req.locks if x[0] != p["unit"]))
            else:  # pragma: no cover - kinds are produced here only
                raise ValueError(f"unknown option kind {kind!r}")
        return req

    def text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The option in words."""
        parts = []
        for kind, p in self.steps:
            named = p.get("named") or {}
            words = {k: v for k, v in p.items() if k != "named"}
            words["name"] = labelled(p["id"], named.get(str(p["id"])), lang) if "id" in p else None
            if "unit" in p:
                words["unit"] = labelled(p["unit"], named.get(str(p["unit"])), lang)
            words["names"] = None if p.get("leads") is None else [
                labelled(f, named.get(str(f)), lang) for f in p["leads"]]
            parts.append(t(f"planner.option.{kind}" + ("_off" if None in p.values() else ""),
                           lang, **_fmt(words, lang)))
        text = t("planner.option.and", lang).join(parts)
        return t("planner.option.verified", lang, text=text) if self.verified else text


#: Refusals proven by counting (:meth:`grid_planning.planning.run._Run._counted_proofs`); their
#: sentences say so.
COUNTED_CODES = ("g5_too_few", "balance_unit_too_big")


@dataclass(frozen=True)
class Infeasible:
    """Why a request cannot be planned, and the nearest options that are valid.

    Attributes
    ----------
    code : str
        Catalogue key suffix: the message is ``planner.infeasible.<code>``.
    params : dict
        Message values (ids, counts, the best value reached ...).
    suggestions : tuple of (key, params)
        Advice that is not a change of the request (``planner.suggest.<key>``): check the ids,
        use finer units ...
    options : tuple of Option
        Changes of the request that give a plan (each verified unless marked otherwise).
    binding : tuple of str
        The constraints that bind: ``k``, ``g2``, ``g4``, ``g5``, ``balance``, ``beds``,
        ``locks``, ``fixed``, ``units``, ``request`` (a malformed request).
    proven : bool
        True when the exact program proved that no plan meets the request.
    """

    code: str
    params: dict = field(default_factory=dict)
    suggestions: tuple[tuple[str, dict], ...] = ()
    options: tuple[Option, ...] = ()
    binding: tuple[str, ...] = ()
    proven: bool = False

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The blocker in words. A parameter given per language (``reason`` and ``reason_en``)
        is read in the reader's language. A proof that says why (``proof``: the key of its words
        under ``planner.proof``) adds them, whatever the code became in the analysis, and words
        the code's own sentence for that proof where the catalogue has one
        (``planner.infeasible.<code>_<proof>``)."""
        params = _fmt(self.params, lang)
        suffix = f"_{lang}"
        params.update({k[: -len(suffix)]: v for k, v in list(params.items()) if k.endswith(suffix)})
        proof = self.params.get("proof")
        key = f"planner.infeasible.{self.code}"
        if isinstance(proof, str) and has(f"{key}_{proof}"):  # proven otherwise than by search
            key = f"{key}_{proof}"
        text = t(key, lang, **params)
        if isinstance(proof, str) and has(f"planner.proof.{proof}"):
            text += ("" if lang == "zh" else " ") + t(f"planner.proof.{proof}", lang, **params)
        return text

    def proven_note(self, lang: str = DEFAULT_LANGUAGE) -> str | None:
        """How a proven refusal was proven, said under its sentence (by ``plan`` and the plan
        page) when the sentence does not say it: a proof on the map (``proof``: planar, sections)
        or by exact search that the analysis worded as the requirements that conflict or the one
        that binds. None for a refusal not proven, and for one whose sentence says how
        (``no_plan`` and its proofs' sentences, the refusals proven by counting)."""
        if not self.proven or self.code == "no_plan" or self.code in COUNTED_CODES:
            return None
        proof = self.params.get("proof")
        if isinstance(proof, str):
            if has(f"planner.infeasible.{self.code}_{proof}"):
                return None
            if has(f"plan.cli.proven_{proof}"):
                return t(f"plan.cli.proven_{proof}", lang)
        return t("plan.cli.proven", lang)

    def suggestion_texts(self, lang: str = DEFAULT_LANGUAGE) -> list[str]:
        """The options, then the other advice, in words."""
        return [o.text(lang) for o in self.options] + self.advice_texts(lang)

    def advice_texts(self, lang: str = DEFAULT_LANGUAGE) -> list[str]:
        """The advice that is not a change of the request (check the ids, use finer units ...)."""
        return [t(f"planner.suggest.{key}", lang, **_fmt(p, lang)) for key, p in self.suggestions]

    def explain(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """Message and suggestions as one text (CLI, tables)."""
        tips = self.suggestion_texts(lang)
        return self.message(lang) + ("" if not tips else " " + " ".join(tips))


def _fmt(params: dict, lang: str) -> dict:
    """Message values in words of ``lang``: shares as percentages, lists as one enumeration (a
    pair in a list, ``(name, id)``, as :func:`grid_planning.base.i18n.labelled`: 第2医院（T2））."""
    out = {}
    for key, value in params.items():
        if key in ("tolerance", "best_dev") and isinstance(value, (int, float)):
            out[key] = f"{value:.0%}"
        elif isinstance(value, (list, tuple)):
            pairs = all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value)
            out[key] = listed_labelled(value, lang) if pairs and value else listed(value, lang)
        elif isinstance(value, float):
            out[key] = f"{value:.3g}" if abs(value) < 1 else f"{value:,.1f}"
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class PlanResult:
    """A plan or the reason there is none.

    Attributes
    ----------
    plan : Plan or None
    infeasible : Infeasible or None
    stats : dict
        ``objective`` (population-weighted mean minutes), ``lower_bound`` (exact optimum or
        p-median bound when known, else None), ``seconds``, ``iterations``, ``method`` ...
    """

    plan: Plan | None
    infeasible: Infeasible | None
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when a plan was produced."""
        return self.plan is not None


def make_option(*steps: tuple[str, dict]) -> Option:
    return Option(tuple(steps))


def active_constraints(request: PlanRequest) -> list[str]:
    """The constraints of the solve stage a request holds: always G5 (waivers aside), and
    balance, beds and locks when asked for."""
    active = ["g5"]
    if request.balance is not None:
        active.append("balance")
    if request.min_beds_per_1000:
        active.append("beds")
    if request.locks:
        active.append("locks")
    return active


# ---- a default a planner can present ---------------------------------------------------------------------
#: Tolerances offered as the default population balance, tightest first.
BALANCE_CHOICES = (0.1, 0.2, 0.3, 0.5)


@dataclass(frozen=True)
class BalanceAdvice:
    """The balance a city can meet at k, to switch it on by default (and say why).

    Attributes
    ----------
    tolerance : float or None
        The tightest of :data:`BALANCE_CHOICES` that gives a plan; None when none does (or the
        request cannot be planned at all).
    unbalanced_dev : float or None
        The largest deviation from the mean grid population without any balance (what a planner
        would otherwise present).
    """

    tolerance: float | None
    unbalanced_dev: float | None


# ---- the request a plan stands with -----------------------------------------------------------------
#: Where version 0 (before :data:`REQUEST_VERSION`) kept the workspace's request in a plan.
LEGACY_WORKSPACE_PARAM = "workspace_request"


def with_request(plan: Plan, request: PlanRequest) -> Plan:
    """The plan with ``request`` as the request it stands with (:data:`REQUEST_PARAM`, the one
    save: planner, workspace, plan file and scenarios all keep it so)."""
    kept = tuple((k, v) for k, v in plan.params if k not in (REQUEST_PARAM, LEGACY_WORKSPACE_PARAM))
    return replace(plan, params=kept + ((REQUEST_PARAM, request.to_dict()),))


def request_from_plan(plan: Plan, base: PlanRequest | None = None) -> PlanRequest:
    """The request a plan stands with (the one load: what the plan page shows, what a re-plan
    starts from), from :data:`REQUEST_PARAM`, or from what older versions kept.

    Older plans (scenario stores and plan files written before :data:`REQUEST_VERSION`) kept the
    workspace's request as ``workspace_request`` (pairs, ``cost_mode``) over the planner's
    parameters (``k``, ``balance``, fixed and excluded leads, ``cost``; designations as bare ids);
    a plan from the command line has only the latter, and its designations and waivers are its
    recorded exceptions.

    Parameters
    ----------
    plan : Plan
    base : PlanRequest, optional
        Values for what the plan does not hold (default ``PlanRequest(k=plan.k)``); its
        ``edits`` are kept.

    Raises
    ------
    ValueError
        A request of a newer version, or a value of the wrong kind.
    """
    p = plan.param_map
    base = base if base is not None else PlanRequest(k=plan.k)
    saved = p.get(REQUEST_PARAM)
    if isinstance(saved, Mapping):
        return PlanRequest.from_dict(saved, base=base)
    legacy = p.get(LEGACY_WORKSPACE_PARAM)
    legacy = dict(legacy) if isinstance(legacy, Mapping) else {}
    merged = {key: value for key, value in p.items() if key != "designated_leads"} | legacy
    merged["version"] = 0
    merged["k"] = int(merged.get("k") or plan.k)
    if legacy.get("cost_mode") in MODES:  # the workspace's travel mode wins over the plan's
        merged["cost"] = dict(p.get("cost") or {}) | {"mode": legacy["cost_mode"]}
    req = PlanRequest.from_dict(merged, base=base)
    for key, rule in (("designated_leads", "G4"), ("g5_waivers", "G5")):
        if legacy.get(key) is None:
            pairs = tuple((e.subject, e.reason) for e in plan.exceptions if e.rule == rule)
            req = replace(req, **{key: pairs})
    return req
