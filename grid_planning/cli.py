"""Command-line interface: ``python -m grid_planning <command> ...``.

Commands
--------
``validate``
    Load and check a city's layers, print the validation report and a summary. Exit code 0 when
    the layers can be used for planning, 2 when they cannot (or the check itself failed). Without
    file arguments it checks the bundled sample city.
``plan``
    Plan K grids, write the plan GeoPackage and print the per-grid summary and checks. Exit 0 when
    all checks pass, 1 when one fails, 2 when the request is infeasible or the layers unusable.
``check``
    Print each policy check of a plan GeoPackage. Exit 0 when all pass (or pass by exception), 1
    otherwise, 2 when the file cannot be read.
``export``
    Write a plan GeoPackage in another format (GeoJSON, Shapefile, CSV, XLSX, HTML map, print map
    PNG/PDF, PDF report), from the file alone. Exit 0 when written, 2 when the file cannot be read
    or the option is unknown.

Adding a command
----------------
Every command is one ``_add_<name>(subparsers)`` function that declares its arguments and one
``_cmd_<name>(args) -> int`` handler; both are registered in :data:`COMMANDS` below, the only
place that lists the commands. :func:`main` catches every exception, so a user never sees a
traceback: a failure prints one clear line and exits with 2.

Everything the CLI writes goes through :func:`_print` (argparse's usage and errors and Python's
warnings too), which passes it through :func:`grid_planning.base.textsafe.terminal_text`: names and
ids from a user's files never reach the terminal as escape sequences, control or bidirectional
characters. Handlers call ``_print``, never ``print``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pandas as pd

from grid_planning.assess.checks import all_passed, check_policy
from grid_planning.assess.conversion import (
    CONVERSION_TARGETS,
    conversion_candidates,
    conversion_edit,
    conversion_text,
    conversions_of,
    secondary_general,
)
from grid_planning.assess.factors import g9_panel, panel_lines
from grid_planning.assess.metrics import city_metrics, grid_metrics, unit_metrics
from grid_planning.base.i18n import LANGUAGES, listed_labelled, t
from grid_planning.base.textsafe import has_visible_text, terminal_text
from grid_planning.city.costs import travel_costs
from grid_planning.city.demand import DemandError, unit_demand
from grid_planning.city.districts import (
    district_pieces,
    district_splits,
    splits_summary,
    unit_districts,
)
from grid_planning.city.layers import CityLayers, format_summary, load_city, summarise
from grid_planning.city.provenance import (
    city_name_in,
    file_basename,
    is_sample_city,
    load_sample_city,
)
from grid_planning.domain import rules
from grid_planning.domain.plan import apply_facility_edits
from grid_planning.domain.request import CostParams, PlanRequest, request_from_plan
from grid_planning.exports.formats import FORMATS, export_plan, plan_tables_xlsx
from grid_planning.exports.planfile import (
    PlanFileError,
    checks_text,
    read_meta,
    read_plan,
    summary_text,
    write_plan,
)
from grid_planning.geo.coords import COORD_SYSTEMS
from grid_planning.io.findings import ValidationReport
from grid_planning.io.limits import KINDS
from grid_planning.io.readers import read_districts
from grid_planning.planning.districts import plan_whole_districts
from grid_planning.planning.planner import plan_city
from grid_planning.prints.paper import FORMATS as PRINT_FORMATS
from grid_planning.prints.paper import ORIENTATIONS, PAPER_MM

if TYPE_CHECKING:
    from grid_planning.domain.plan import Plan

EXIT_OK = 0


EXIT_NOT_USABLE = 2


def _print(*values: object, file: IO[str] | None = None, sep: str = " ", end: str = "\n") -> None:
    """``print`` for everything the CLI writes: escape sequences, control and bidirectional
    characters removed (:func:`grid_planning.base.textsafe.terminal_text`), newlines and tabs kept."""
    text = terminal_text(sep.join(str(v) for v in values) + end)
    stream = file if file is not None else sys.stdout
    stream.write(text)
    stream.flush()


class _Parser(argparse.ArgumentParser):
    """argparse quotes the user's arguments in its errors: they are printed through :func:`_print`."""

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
        if message:
            _print(message, file=file if file is not None else sys.stderr, end="")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings (a library's, quoting a file's content) through :func:`_print`, when asked
    for with ``python -W`` or ``PYTHONWARNINGS`` (they name files of the installation)."""
    _print(warnings.formatwarning(message, category, filename, lineno, line), file=sys.stderr, end="")


def _finite(text: str) -> float:
    """A number option: "nan" and "inf" are refused by argparse like any other non-number."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


_finite.__name__ = "number"  # argparse names the type in its message: "invalid number value"


def _bad_output(option: str, value: str, lang: str) -> bool:
    """Whether an output path cannot take a file (a folder, or below a file), said in one line
    before any work is done (it was found after a whole planning run, as "IsADirectoryError")."""
    path = Path(value)
    blocked = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if path.is_dir() or blocked is not None:
        _print(t("plan.cli.bad_output", lang, option=option, path=value), file=sys.stderr)
        return True
    return False


# --- shared by the commands that load a city -------------------------------------------------
def _add_layer_args(p: argparse.ArgumentParser, *, roads_help: str) -> None:
    """The layer files, their coordinate system and the city name (validate and plan)."""
    p.add_argument(
        "--units", help="population units: GeoJSON/GeoPackage/zipped Shapefile, or points CSV"
    )
    p.add_argument(
        "--facilities",
        help="facilities: CSV/XLSX with lon/lat, or GeoJSON/GeoPackage/zipped Shapefile",
    )
    p.add_argument("--boundary", help="city outline (polygons)")
    p.add_argument("--roads", help=roads_help)
    p.add_argument("--districts", help="district polygons (optional)")
    p.add_argument(
        "--water",
        help="water polygons or river centrelines: straight-line travel crosses them only at a "
        "--crossings point (optional)",
    )
    p.add_argument(
        "--crossings", help="bridges, tunnels, ferries: points, or a table with lon/lat (optional)"
    )
    p.add_argument(
        "--coords",
        choices=COORD_SYSTEMS,
        default="wgs84",
        help="coordinate system of lon/lat input: gcj02 = Amap/Tencent, bd09 = Baidu (default wgs84)",
    )
    p.add_argument("--name", help="city name shown in the summary")
    p.add_argument(
        "--encoding",
        metavar="ENCODING",
        help=(
            "text encoding of CSV units and facilities, e.g. big5, gbk, utf-8 (default: detected "
            "among UTF-8, UTF-16, GB18030/GBK and Big5-HKSCS; the report names a Big5 reading)"
        ),
    )
    p.add_argument(
        "--layer",
        nargs="+",
        action="extend",
        default=[],
        metavar="INPUT=NAME",
        help=(
            "layer or sheet to read from a file that holds several, e.g. units=streets "
            "facilities=医院 (INPUT: units, facilities, boundary, districts, roads, water, "
            "crossings); by default "
            "the one layer with usable data is read"
        ),
    )


def _layer_choices(values: Sequence[str], lang: str) -> dict[str, str] | None:
    """``--layer`` values as input -> layer name, or ``None`` (message printed) when malformed."""
    out: dict[str, str] = {}
    for value in values:
        slot, sep, name = value.partition("=")
        if not sep or slot.strip() not in KINDS or not name.strip():
            _print(t("input.cli.bad_layer", lang, value=value), file=sys.stderr)
            return None
        out[slot.strip()] = name.strip()
    return out


def _add_lang_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lang", choices=LANGUAGES, default="en", help="language of the output (default en)"
    )


def _load_layers(args: argparse.Namespace, loading_key: str, sample_key: str | None = None):
    """The city the arguments name, the sample city without files, or ``None`` (message printed)
    when only one of ``--units``/``--facilities`` is given or a ``--layer`` value is malformed."""
    lang = args.lang
    if args.units is None and args.facilities is None:
        layers = load_sample_city()
        if sample_key:
            _print(t(sample_key, lang, city=city_name_in(layers.name, lang)))
        return layers
    if args.units is None or args.facilities is None:
        missing, given = (
            ("--units", "--facilities") if args.units is None else ("--facilities", "--units")
        )
        detail = t("layers.cli.needs_both", lang, missing=missing, given=given)
        _print(t("layers.cli.failed", lang, detail=detail), file=sys.stderr)
        return None
    choices = _layer_choices(args.layer, lang)
    if choices is None:
        return None
    files = [
        f
        for f in (args.units, args.facilities, args.boundary, args.roads, args.districts,
                  args.water, args.crossings)
        if f
    ]
    _print(t(loading_key, lang, files=", ".join(files)))
    return load_city(
        args.units,
        args.facilities,
        args.boundary,
        args.roads,
        districts=args.districts,
        coords=args.coords,
        name=args.name,
        layers=choices,
        encoding=args.encoding,
        water=args.water,
        crossings=args.crossings,
    )


# --- validate --------------------------------------------------------------------------------
def _add_validate(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "validate",
        help="check a city's layers and print the report and a summary",
        description=(
            "Load population units, facilities and optional boundary/roads, check them and print "
            "the findings and a summary. Without --units/--facilities the bundled sample city "
            "(Wuhan) is checked. Exit code 0: usable for planning; 2: not usable."
        ),
    )
    _add_layer_args(p, roads_help="road lines (optional)")
    _add_lang_arg(p)
    p.add_argument("--all", action="store_true", help="list every finding (default: the first 50)")
    return p


def _cmd_validate(args: argparse.Namespace) -> int:
    lang = args.lang
    layers = _load_layers(args, "layers.cli.checking")
    if layers is None:
        return EXIT_NOT_USABLE
    report = layers.report
    _print(
        t("layers.cli.report_title", lang, errors=len(report.errors), warnings=len(report.warnings))
    )
    _print(
        report.format(lang=lang, limit=None if args.all else 50)
        or t("layers.cli.no_findings", lang)
    )
    _print()
    _print(format_summary(summarise(layers), lang))
    _print()
    if layers.ok:
        _print(t("layers.cli.usable", lang))
        return EXIT_OK
    _print(t("layers.cli.not_usable", lang))
    return EXIT_NOT_USABLE


# --- plan ------------------------------------------------------------------------------------
EXIT_CHECKS_FAILED = 1


def _add_plan(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "plan",
        help="partition a city into grids and write the plan GeoPackage",
        description=(
            "Plan K grids led by eligible tertiary hospitals, write the plan GeoPackage and print a "
            "per-grid summary and the policy checks. Without --units/--facilities the bundled sample "
            "city is planned. Exit code 0: plan written and all checks pass; 1: written but a check "
            "fails; 2: infeasible request or unusable layers (the reason and options are printed)."
        ),
    )
    _add_layer_args(p, roads_help="road lines; travel times follow them when given")
    p.add_argument("--grids", "-k", type=int, metavar="K", help="number of grids (required)")
    p.add_argument(
        "--balance",
        type=_finite,
        help="population tolerance, e.g. 0.3 = every grid within +-30%% of the mean",
    )
    p.add_argument(
        "--min-beds-per-1000", type=_finite, help="minimum beds per 1,000 residents in every grid"
    )
    p.add_argument(
        "--fix-lead", nargs="+", default=[], metavar="ID", help="facilities that must lead a grid"
    )
    p.add_argument(
        "--exclude-lead", nargs="+", default=[], metavar="ID", help="facilities that must not lead"
    )
    p.add_argument(
        "--designate-lead",
        nargs="+",
        default=[],
        metavar="ID=REASON",
        help="designate an otherwise ineligible hospital as lead, with the written reason (G4 exception)",
    )
    p.add_argument(
        "--waive-g5",
        nargs="+",
        default=[],
        metavar="LEADID=REASON",
        help="waive G5 for the grid of that lead, with the reason",
    )
    p.add_argument("--g2-reason", help="written reason allowing a single grid (G2 exception)")
    p.add_argument(
        "--lock",
        nargs="+",
        default=[],
        metavar="UNITID=LEADID",
        help="keep a population unit in the grid of that lead (the lead is then fixed)",
    )
    p.add_argument(
        "--method",
        choices=("auto", "heuristic", "exact"),
        default="auto",
        help="auto: exact (provably optimal) on small cities, heuristic on large ones",
    )
    p.add_argument(
        "--cost-mode",
        choices=("auto", "roads", "straight"),
        default="auto",
        help="travel-time model",
    )
    p.add_argument(
        "--whole-districts",
        action="store_true",
        help="keep every district (or --admin-units polygon) in one grid, or say which cannot be",
    )
    p.add_argument(
        "--convert",
        nargs="+",
        default=[],
        metavar="ID=TYPE",
        help="what-if: plan with that secondary general hospital converted into rehabilitation or "
        "nursing (G10; see the suggestions the plan prints)",
    )
    p.add_argument(
        "--age-weight", type=_finite, default=0.0, metavar="W",
        help="G9: each resident aged 65+ (units column pop_65plus / 65岁以上) counts 1 + W in the "
        "demand the grids are balanced and assigned by (default 0: residents only)",
    )
    p.add_argument(
        "--burden-column", metavar="COL",
        help="G9: the units column holding a disease-burden count (e.g. chronic-disease patients); "
        "shown by grid, and weighted with --burden-weight",
    )
    p.add_argument(
        "--burden-weight", type=_finite, default=0.0, metavar="W",
        help="G9: each person of --burden-column counts W more demand (default 0)",
    )
    _add_admin_arg(p)
    p.add_argument("--out", help="output plan GeoPackage (.gpkg, required)")
    p.add_argument("--xlsx", help="also write the approval tables (Excel)")
    _add_lang_arg(p)
    return p


def _add_admin_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--admin-units",
        metavar="FILE",
        help="administrative polygons (e.g. 街道, with a name column) whose splits are reported "
        "instead of the districts'",
    )


def _unit_districts(layers: CityLayers, args: argparse.Namespace, lang: str):
    """``(district of every unit or None, layer word)``; ``(False, "")`` when --admin-units
    cannot be read (the findings are printed)."""
    if not getattr(args, "admin_units", None):
        return unit_districts(layers), t("plan.cli.layer_districts", lang)
    report = ValidationReport()
    admin = read_districts(args.admin_units, report=report, label=file_basename(args.admin_units))
    if not report.ok or not len(admin):
        _print(report.format(lang=lang, limit=20), file=sys.stderr)
        return False, ""
    return unit_districts(layers, admin), t("plan.cli.layer_admin", lang)


def _print_splits(layers: CityLayers, plan: Plan, districts, layer_word: str, lang: str,
                  rows: int = 5) -> None:
    if districts is None:
        return
    pop = pd.Series(layers.index.population, index=layers.index.unit_ids)
    splits = district_splits(plan.assignment, districts, pop.reindex(plan.assignment.index).fillna(0))
    summary = splits_summary(splits)
    _print(t("plan.cli.splits", lang, cut=summary["cut"], districts=summary["districts"],
             layer=layer_word, residents=f"{summary['smaller_parts']:,.0f}"))
    for name, row in splits[splits["grids"] > 1].head(rows).iterrows():
        _print(t("plan.cli.split_row", lang, name=name, parts=row["parts"],
                 residents=f"{row['smaller_parts']:,.0f}"))


def _pairs(values: Sequence[str], option: str, lang: str) -> tuple[tuple[str, str], ...] | None:
    out = []
    for value in values:
        fid, sep, reason = value.partition("=")
        if not sep or not fid.strip() or not has_visible_text(reason):
            _print(t("plan.cli.bad_pair", lang, option=option, value=value), file=sys.stderr)
            return None
        out.append((fid.strip(), reason.strip()))
    return tuple(out)


def _conversion_pairs(values: Sequence[str], lang: str) -> list[tuple[str, str]] | None:
    """``--convert ID=TYPE`` values as (id, type), or None after saying which is wrong."""
    out = []
    for value in values:
        fid, sep, kind = value.partition("=")
        if not sep or not fid.strip() or kind.strip() not in CONVERSION_TARGETS:
            _print(t("conversion.bad_option", lang, value=terminal_text(value)), file=sys.stderr)
            return None
        out.append((fid.strip(), kind.strip()))
    return out


def _conversions_known(layers: CityLayers, conversions: list[tuple[str, str]], lang: str) -> bool:
    """Whether every hospital to convert exists and is a secondary general hospital (G10)."""
    fac = layers.facilities
    ids = fac["id"].astype(str)
    secondary = secondary_general(fac).to_numpy()
    for fid, _ in conversions:
        hit = (ids == fid).to_numpy()
        if not hit.any():
            _print(t("conversion.unknown_facility", lang, id=terminal_text(fid)), file=sys.stderr)
            return False
        if not secondary[hit].any():
            name = terminal_text(str(fac.loc[hit, "name"].iloc[0])) if "name" in fac else ""
            _print(t("conversion.not_secondary", lang, id=terminal_text(fid), name=name), file=sys.stderr)
            return False
    return True


def _print_conversions(layers: CityLayers, plan: Plan, lang: str) -> None:
    """The plan's G10 conversions (what-if) and its conversion suggestions, a short section."""
    names = dict(zip(layers.facilities["id"].astype(str), layers.facilities["name"].astype(str),
                     strict=False))
    done = conversions_of(plan)
    candidates = conversion_candidates(layers, plan)
    if done or candidates:
        _print()
    for fid, kind in done:
        item = conversion_text(fid, names.get(fid, ""), kind, lang)
        _print(t("conversion.applied", lang, item=item))
    if not candidates:
        _print(t("conversion.none", lang))
        return
    _print(t("conversion.title", lang))
    for c in candidates:
        _print(terminal_text(c.line(lang)))
    _print(t("conversion.hint", lang))


def _split_at_equals(value: str, left: Callable[[str], bool],
                    right: Callable[[str], bool]) -> list[tuple[str, str]]:
    """Every way of reading ``value`` as ``LEFT=RIGHT`` that ``left`` and ``right`` accept: ids
    may hold ``=`` themselves (so may a reason), so each ``=`` is tried."""
    out = []
    for at in (i for i, ch in enumerate(value) if ch == "="):
        head, tail = value[:at].strip(), value[at + 1 :].strip()
        if left(head) and right(tail):
            out.append((head, tail))
    return out


def split_lock(value: str, units: set[str], leads: set[str]) -> list[tuple[str, str]]:
    """Every way of reading ``UNITID=LEADID`` as a unit id of the city and a lead id of it: ids
    may hold ``=`` themselves, so each ``=`` is tried and the known ids decide.

    >>> split_lock("A=1=H2", {"A=1", "A"}, {"H2", "1=H2"})
    [('A', '1=H2'), ('A=1', 'H2')]
    """
    return _split_at_equals(value, units.__contains__, leads.__contains__)


def _known_pairs(values: Sequence[str], option: str, ids: set[str],
                 lang: str) -> tuple[tuple[str, str], ...] | None:
    """``ID=REASON`` values split where the city's facility ids say: an id may hold ``=`` (so
    may a reason); the reading whose id exists is taken, the first ``=`` when none does (the
    unknown id is named later); a value two readings fit is named."""
    out = []
    for value in values:
        found = _split_at_equals(value, ids.__contains__, has_visible_text)
        if len(found) > 1:
            _print(t("plan.cli.ambiguous_pair", lang, option=option, value=value, count=len(found)),
                   file=sys.stderr)
            return None
        if not found:
            fid, _, reason = value.partition("=")
            found = [(fid.strip(), reason.strip())]
        out.append(found[0])
    return tuple(out)


def _print_g9(layers: CityLayers, plan: Plan, lang: str) -> None:
    """The G9 panel: the plan's weights and the factors by grid beside the city's."""
    _print()
    for line in panel_lines(g9_panel(layers, plan), lang):
        _print(line)


def _lock_pairs(values: Sequence[str], layers: CityLayers, lang: str) -> tuple[tuple[str, str], ...] | None:
    """``--lock`` values as ``(unit id, lead id)``, split where the city's ids say (see
    :func:`split_lock`); a value no split or several splits fit is named."""
    units = {str(u) for u in layers.units["id"]}
    leads = {str(f) for f in layers.facilities["id"]}
    out = []
    for value in values:
        found = split_lock(value, units, leads)
        if len(found) != 1:
            _print(t("plan.cli.bad_lock", lang, value=value, count=len(found)), file=sys.stderr)
            return None
        out.append(found[0])
    return tuple(out)


def _cmd_plan(args: argparse.Namespace) -> int:
    lang = args.lang
    t0 = time.perf_counter()
    # Checked here rather than by argparse so the message comes from the catalogue.
    for option, value in (("--grids", args.grids), ("--out", args.out)):
        if value is None:
            _print(t("plan.cli.missing_option", lang, option=option), file=sys.stderr)
            return EXIT_NOT_USABLE
    if _bad_output("--out", args.out, lang) or (args.xlsx and _bad_output("--xlsx", args.xlsx, lang)):
        return EXIT_NOT_USABLE
    # The syntax alone, before the city is read: each value is split where the city's ids say
    # once it is (`_known_pairs`, `_lock_pairs`: ids may begin with or hold `=`), so here only a
    # lock without any `=` is refused.
    no_separator = [v for v in args.lock if "=" not in v]
    if (_pairs(args.designate_lead, "--designate-lead", lang) is None
            or _pairs(args.waive_g5, "--waive-g5", lang) is None
            or _pairs(no_separator, "--lock", lang) is None):
        return EXIT_NOT_USABLE
    conversions = _conversion_pairs(args.convert, lang)
    if conversions is None:
        return EXIT_NOT_USABLE
    layers = _load_layers(args, "plan.cli.loading", "plan.cli.sample")
    if layers is None:
        return EXIT_NOT_USABLE
    locks = _lock_pairs(args.lock, layers, lang)
    facility_ids = {str(f) for f in layers.facilities["id"]}
    designated = _known_pairs(args.designate_lead, "--designate-lead", facility_ids, lang)
    waivers = _known_pairs(args.waive_g5, "--waive-g5", facility_ids, lang)
    if locks is None or designated is None or waivers is None:
        return EXIT_NOT_USABLE
    if not layers.ok:
        _print(
            t("plan.cli.layers_not_usable", lang, errors=len(layers.report.errors)), file=sys.stderr
        )
        _print(layers.report.format(lang=lang, limit=50), file=sys.stderr)
        return EXIT_NOT_USABLE
    if not _conversions_known(layers, conversions, lang):
        return EXIT_NOT_USABLE
    cost = CostParams(mode=args.cost_mode)
    request = PlanRequest(
        edits=tuple(conversion_edit(fid, kind) for fid, kind in conversions),
        k=args.grids,
        fixed_leads=tuple(args.fix_lead),
        excluded_leads=tuple(args.exclude_lead),
        designated_leads=designated,
        g5_waivers=waivers,
        g2_reason=args.g2_reason,
        balance=args.balance,
        min_beds_per_1000=args.min_beds_per_1000,
        cost=cost,
        locks=locks,
        method=args.method,
        age_weight=args.age_weight,
        burden_column=args.burden_column or None,
        burden_weight=args.burden_weight,
    )
    try:  # G9: a weight the units cannot meet is said before any planning, with file and column
        unit_demand(layers, request)
    except DemandError as exc:
        _print(exc.message(lang), file=sys.stderr)
        return EXIT_NOT_USABLE
    districts, layer_word = _unit_districts(layers, args, lang)
    if districts is False:
        return EXIT_NOT_USABLE
    if args.whole_districts and districts is None:
        _print(t("plan.cli.no_districts", lang), file=sys.stderr)
        return EXIT_NOT_USABLE
    costs = travel_costs(layers, cost)
    _print(
        t(
            "plan.cli.planning",
            lang,
            k=args.grids,
            units=len(layers.units),
            eligible=int(rules.g4_eligible(layers.facilities).sum()),
            mode=t(f"ws.cost.{costs.mode}", lang),
        )
    )
    if args.whole_districts:
        result = plan_whole_districts(layers, request, districts)
    else:
        result = plan_city(layers, request, costs=costs)
    if not result.ok:
        inf = result.infeasible
        _print(t("plan.cli.infeasible", lang), file=sys.stderr)
        _print("  " + inf.message(lang), file=sys.stderr)
        if note := inf.proven_note(lang):  # how it was proven, unless the sentence says it
            _print("  " + note, file=sys.stderr)
        for tip in inf.suggestion_texts(lang):
            _print("  " + t("plan.cli.suggestion", lang, text=tip), file=sys.stderr)
        return EXIT_NOT_USABLE
    plan = result.plan
    path = write_plan(args.out, layers, plan, costs, lang=lang)
    ud = unit_metrics(layers, plan, costs)
    gm = grid_metrics(layers, plan, costs, lang=lang, unit_df=ud)
    cm = city_metrics(layers, plan, costs, unit_df=ud, grid_df=gm)
    _print(t("plan.cli.written", lang, path=path, seconds=f"{time.perf_counter() - t0:.1f}"))
    if args.xlsx:
        _print(
            t(
                "plan.cli.xlsx_written",
                lang,
                path=plan_tables_xlsx(args.xlsx, layers, plan, costs, lang=lang),
            )
        )
    _print()
    _print(
        t(
            "plan.cli.summary_title",
            lang,
            k=plan.k,
            population=f"{cm['population']:,.0f}",
            mean=f"{cm['mean_travel_min']:.1f}",
        )
    )
    _print(summary_text(gm, lang))
    _print_splits(layers, plan, districts, layer_word, lang)
    _print_conversions(layers, plan, lang)
    _print_g9(layers, plan, lang)
    if args.whole_districts:
        pieces = district_pieces(layers, districts)
        if len(pieces):
            _print(t("plan.cli.district_pieces", lang, count=len(pieces),
                     names=listed_labelled(pieces.items(), lang)))
    _print()
    results = check_policy(layers, plan)
    _print(t("plan.cli.checks_title", lang))
    _print(checks_text(results, lang))
    return _checks_verdict(results, lang)


def _checks_verdict(results: list, lang: str) -> int:
    if all_passed(results):
        _print(t("plan.cli.all_passed", lang))
        return EXIT_OK
    _print(t("plan.cli.some_failed", lang, count=rules.status_counts(results)["fail"]))
    return EXIT_CHECKS_FAILED


# --- check -----------------------------------------------------------------------------------
def _add_check(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "check",
        help="check a plan GeoPackage against the policy rules G1-G8 and its own request",
        description=(
            "Read a plan GeoPackage and print each policy check (rule, status, message). Exit code "
            "0: all pass (or pass by a recorded exception); 1: a check fails; 2: the file cannot be read."
        ),
    )
    p.add_argument(
        "plan", nargs="?", help="plan GeoPackage written by the plan command or the dashboard"
    )
    _add_admin_arg(p)
    _add_lang_arg(p)
    return p


def _cmd_check(args: argparse.Namespace) -> int:
    lang = args.lang
    if not args.plan:
        _print(t("plan.cli.missing_option", lang, option="PLAN.gpkg"), file=sys.stderr)
        return EXIT_NOT_USABLE
    try:
        layers, plan = read_plan(args.plan)
    except PlanFileError as exc:
        _print(t("plan.cli.unreadable", lang, detail=exc.message(lang)), file=sys.stderr)
        return EXIT_NOT_USABLE
    _print(t("plan.cli.checking_file", lang, path=args.plan, city=city_name_in(layers.name, lang),
             k=plan.k))
    # Recomputed from the layers, not the stored results: a file edited elsewhere is judged afresh.
    results = check_policy(layers, plan)
    _print(checks_text(results, lang))
    districts, layer_word = _unit_districts(layers, args, lang)
    if districts is False:
        return EXIT_NOT_USABLE
    _print_splits(layers, plan, districts, layer_word, lang)
    _print_conversions(layers, plan, lang)
    _print_g9(layers, plan, lang)
    return _checks_verdict(results, lang)


# --- export ----------------------------------------------------------------------------------
def _add_export(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export",
        help="write a plan GeoPackage as GeoJSON, Shapefile, CSV, XLSX, HTML map, print map or PDF report",
        description=(
            "Read a plan GeoPackage (from the plan command or the dashboard) and write it in another "
            "format. Formats: gpkg, geojson (zip of layers), shp (zipped Shapefiles, UTF-8), csv "
            "(zip, UTF-8 with BOM), xlsx, html (standalone map, works offline), png (print map, "
            "300 dpi), pdf (print map, vector), report (multi-page PDF plan report). Exit code 0: "
            "written; 2: the file cannot be read or an option is unknown."
        ),
    )
    p.add_argument("plan", nargs="?", help="plan GeoPackage")
    p.add_argument("--format", "-f", choices=tuple(FORMATS), help="output format (required)")
    p.add_argument("--out", "-o", help="output file (required)")
    p.add_argument("--paper", choices=tuple(PAPER_MM), default="A4", help="print map paper (default A4)")
    p.add_argument(
        "--orientation", choices=ORIENTATIONS, default="landscape",
        help="print map orientation (default landscape)",
    )
    p.add_argument("--lang", choices=LANGUAGES, default="zh", help="language of the output (default zh)")
    return p


def plan_costs(layers: CityLayers, plan: Plan):
    """Travel costs for a plan read from a file: the plan's own travel model (its ``cost``
    parameters) to the facilities it works with (the file's layers are the city as loaded; its
    what-if edits are applied again, as the dashboard does); ``roads`` falls back to straight
    lines since the file holds no roads."""
    try:
        params = request_from_plan(plan).cost
    except ValueError:
        params = CostParams()
    if layers.roads is None and params.mode == "roads":
        params = dataclasses.replace(params, mode="straight")
    facilities = apply_facility_edits(layers.facilities, plan.edits) if plan.edits else None
    return travel_costs(layers, params, facilities)


def _cmd_export(args: argparse.Namespace) -> int:
    lang = args.lang
    for option, value in (("PLAN.gpkg", args.plan), ("--format", args.format), ("--out", args.out)):
        if not value:
            _print(t("plan.cli.missing_option", lang, option=option), file=sys.stderr)
            return EXIT_NOT_USABLE
    if _bad_output("--out", args.out, lang):
        return EXIT_NOT_USABLE
    t0 = time.perf_counter()
    try:
        layers, plan = read_plan(args.plan)
        meta = read_meta(args.plan)
    except PlanFileError as exc:
        _print(t("plan.cli.unreadable", lang, detail=exc.message(lang)), file=sys.stderr)
        return EXIT_NOT_USABLE
    try:
        sources = json.loads(meta.get("sources") or "{}")
    except ValueError:
        sources = {}
    sources = sources if isinstance(sources, dict) else {}
    sample = is_sample_city(layers, sources)
    # The print map draws the plan, not its travel figures: no travel costs (3-4 s on the sample's
    # roads) and, for the sample, no roads either: the file's recorded sources say whether the plan
    # was made with the sample's (OpenStreetMap) roads, which is all the credit needs.
    printed = args.format in PRINT_FORMATS
    if sample and printed:
        layers = dataclasses.replace(layers, sources={str(k): str(v) for k, v in sources.items()})
    elif sample and layers.roads is None:
        # The file holds no roads; the sample's own roads give the plan's road times back, and
        # their credit.
        layers = dataclasses.replace(layers, roads=load_sample_city().roads)
    names = [file_basename(v) for v in sources.values()] or [Path(args.plan).name]
    costs = None if printed else plan_costs(layers, plan)
    result = export_plan(layers, plan, costs, args.format, lang=lang, paper=args.paper,
                         orientation=args.orientation, sample=sample, source_names=names)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(result.data)
    _print(t("exports.cli.written", lang, path=out, format=args.format, size=f"{len(result.data):,}",
            seconds=f"{time.perf_counter() - t0:.1f}"))
    return EXIT_OK


# --- registry: the one place that lists the commands -----------------------------------------
#: name -> (function adding the sub-parser, handler). Add new commands here.
COMMANDS: dict[
    str,
    tuple[
        Callable[[argparse._SubParsersAction], argparse.ArgumentParser],
        Callable[[argparse.Namespace], int],
    ],
] = {
    "validate": (_add_validate, _cmd_validate),
    "plan": (_add_plan, _cmd_plan),
    "check": (_add_check, _cmd_check),
    "export": (_add_export, _cmd_export),
}


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m grid_planning",
        description="Grid Planner: tight urban medical groups laid out on a grid (紧密型城市医疗集团网格化布局).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (add, handler) in COMMANDS.items():
        sub = add(subparsers)
        sub.set_defaults(_handler=handler, _command=name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code (0 success/usable, 2 not usable or failed).

    Never raises: argument errors exit through argparse's message, anything else prints one line
    (``--lang`` language when known) and returns 2.
    """
    with warnings.catch_warnings():
        if sys.warnoptions:
            warnings.showwarning = _show_warning
        else:
            # What a planner must know about a file is in the validation report; a library's
            # warning ("invalid value encountered in ...", a site-packages path) is noise to them.
            warnings.simplefilter("ignore")
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage/help already
        return (
            int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else EXIT_NOT_USABLE
        )
    if not getattr(args, "_handler", None):
        parser.print_help()
        return EXIT_NOT_USABLE
    lang = getattr(args, "lang", "en")
    try:
        return int(args._handler(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the user sees one line, never a traceback
        detail = f"{type(exc).__name__}: {exc}".strip()
        _print(t("layers.cli.failed", lang, detail=detail), file=sys.stderr)
        return EXIT_NOT_USABLE
