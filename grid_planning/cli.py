"""Command-line interface: ``python -m grid_planning <command> ...``.

Commands
--------
``validate``
    Load and check a city's layers, print the validation report and a summary. Exit code 0 when
    the layers can be used for planning, 2 when they cannot (or the check itself failed). Without
    file arguments it checks the bundled sample city.

Adding a command
----------------
Every command is one ``_add_<name>(subparsers)`` function that declares its arguments and one
``_cmd_<name>(args) -> int`` handler; both are registered in :data:`COMMANDS` below, the only
place that lists the commands. :func:`main` catches every exception, so a user never sees a
traceback: a failure prints one clear line and exits with 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from grid_planning.coords import COORD_SYSTEMS
from grid_planning.i18n import LANGUAGES, t

EXIT_OK = 0
EXIT_NOT_USABLE = 2


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
    p.add_argument(
        "--units", help="population units: GeoJSON/GeoPackage/zipped Shapefile, or points CSV"
    )
    p.add_argument(
        "--facilities",
        help="facilities: CSV/XLSX with lon/lat, or GeoJSON/GeoPackage/zipped Shapefile",
    )
    p.add_argument("--boundary", help="city outline (polygons)")
    p.add_argument("--roads", help="road lines (optional)")
    p.add_argument("--districts", help="district polygons (optional)")
    p.add_argument(
        "--coords",
        choices=COORD_SYSTEMS,
        default="wgs84",
        help="coordinate system of lon/lat input: gcj02 = Amap/Tencent, bd09 = Baidu (default wgs84)",
    )
    p.add_argument("--name", help="city name shown in the summary")
    p.add_argument(
        "--lang", choices=LANGUAGES, default="en", help="language of the report (default en)"
    )
    p.add_argument("--all", action="store_true", help="list every finding (default: the first 50)")
    return p


def _cmd_validate(args: argparse.Namespace) -> int:
    from grid_planning.layers import format_summary, load_city, load_sample_city, summarise

    lang = args.lang
    if args.units is None and args.facilities is None:
        layers = load_sample_city()
    elif args.units is None or args.facilities is None:
        missing = "--units" if args.units is None else "--facilities"
        print(
            t("layers.cli.failed", lang, detail=f"{missing} is required with the other"),
            file=sys.stderr,
        )
        return EXIT_NOT_USABLE
    else:
        files = [
            f for f in (args.units, args.facilities, args.boundary, args.roads, args.districts) if f
        ]
        print(t("layers.cli.checking", lang, files=", ".join(files)))
        layers = load_city(
            args.units,
            args.facilities,
            args.boundary,
            args.roads,
            districts=args.districts,
            coords=args.coords,
            name=args.name,
        )
    report = layers.report
    print(
        t("layers.cli.report_title", lang, errors=len(report.errors), warnings=len(report.warnings))
    )
    print(
        report.format(lang=lang, limit=None if args.all else 50)
        or t("layers.cli.no_findings", lang)
    )
    print()
    print(format_summary(summarise(layers), lang))
    print()
    if layers.ok:
        print(t("layers.cli.usable", lang))
        return EXIT_OK
    print(t("layers.cli.not_usable", lang))
    return EXIT_NOT_USABLE


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
}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grid_planning",
        description="Grid Planner: tight urban medical groups laid out on a grid (紧密型城市医疗集团网格化布局).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (add, handler) in COMMANDS.items():
        sub = add(subparsers)
        sub.set_defaults(_handler=handler, _command=name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code (0 success/usable, 2 not usable or failed).

    Never raises: argument errors exit through argparse's message, anything else prints one line
    (``--lang`` language when known) and returns 2.
    """
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
        print(t("layers.cli.failed", lang, detail=detail), file=sys.stderr)
        return EXIT_NOT_USABLE
