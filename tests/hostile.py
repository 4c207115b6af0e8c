"""Hostile strings: what a careless or malicious planner's files may hold in any text field.

Every renderer (maps, pages, tables, exports, the CLI) must show these as the text they are. Tests
import :data:`HOSTILE` and put the strings into names, ids, district names, city names, reasons and
notes, then assert on the produced HTML / XLSX / CSV / PDF / terminal text.
"""

from __future__ import annotations

#: name -> the string. Keys are short labels for test ids.
HOSTILE: dict[str, str] = {
    "jinja_expr": "Clinic {{7*7}}",
    "jinja_rce": "{{self.__init__.__globals__.__builtins__.__import__('os').getcwd()}}",
    "jinja_cycler": "{{ cycler.__init__.__globals__.os.mkdir('gp_pwned') }}",
    "jinja_unclosed": "Hospital {{ unclosed",
    "jinja_block": "{% for x in range(3) %}X{% endfor %}",
    "jinja_comment": "A {# hidden #} B",
    "jinja_element_ref": "{{'map_div'}}",
    "script_tag": "<script>alert(1)</script>",
    "img_onerror": '<img src=x onerror="alert(document.domain)">',
    "script_breakout": "</script><script>alert(2)</script>",
    "html_comment": "<!-- x",
    "md_image": "![pwned](http://198.51.100.7/pixel.png)",
    "md_link": "[click me](javascript:alert(3))",
    "md_heading": "# Big\n\n**bold** _it_",
    "md_html": '<a href="http://198.51.100.7/">link</a>',
    "formula_hyperlink": '=HYPERLINK("http://198.51.100.7/","click")',
    "formula_dde": "=cmd|' /C calc'!A0",
    "formula_plus": "+1+1",
    "formula_minus": "-2+3",
    "formula_at": "@SUM(1,2)",
    "formula_broken": "=1+1 name",
    "tab_prefix": "\t=1+1",
    "cr_prefix": "\r=1+1",
    "ansi": "\x1b[31mRED\x1b[0m \x1b]0;title\x07 clear\x1b[2J",
    "control": "bell\x07 null\x00 del\x7f",
    "bidi": "abc\u202edcba\u202c \u2066x\u2069",
    "line_sep": "a\u2028b\u2029c",
    "quotes": "O'Brien \"the\" `tick` \\back",
    "percent_format": "{name} %s %(x)s {0}",
    "long": "长" * 10_000,
    "chinese": "武汉市第一医院（示例）",
}

#: A short hostile set for expensive paths (browser, PDF): one of each kind.
HOSTILE_SHORT: dict[str, str] = {
    k: HOSTILE[k]
    for k in (
        "jinja_expr",
        "jinja_rce",
        "jinja_unclosed",
        "script_tag",
        "img_onerror",
        "md_image",
        "formula_hyperlink",
        "ansi",
        "bidi",
    )
}


# ---- a city made of hostile text -------------------------------------------------------------------
#: Grid ids given to a plan by :func:`hostile_plan` (a plan read from a file may carry any ids;
#: no comma, which separates grid ids in a facility's ``supports``).
HOSTILE_GRID_IDS = (
    HOSTILE["jinja_expr"],
    HOSTILE["script_tag"],
    HOSTILE["md_image"],
    HOSTILE["formula_broken"],
)
#: District names of :func:`hostile_city`.
HOSTILE_DISTRICTS = (
    HOSTILE["jinja_expr"],
    HOSTILE["md_image"],
    HOSTILE["img_onerror"],
    HOSTILE["ansi"],
)
#: The city's name (the sidebar, captions, the CLI and exports show it).
HOSTILE_CITY_NAME = HOSTILE["md_image"]
#: Names of the six hospitals eligible to lead (they appear in legends, labels, tables, the CLI).
HOSTILE_LEAD_NAMES = (
    HOSTILE["jinja_expr"],
    HOSTILE["jinja_cycler"],
    HOSTILE["jinja_rce"],
    HOSTILE["ansi"],
    HOSTILE["md_image"],
    HOSTILE["bidi"],
)


def hostile_id(value: str, i: int) -> str:
    """A unique id that starts like ``value`` (formula prefixes, template syntax ...)."""
    return f"{value[:60]}~{i}"


def hostile_city(seed: int = 3):
    """A small synthetic city whose every text field is hostile.

    The six hospitals eligible to lead are named :data:`HOSTILE_LEAD_NAMES`, the other facilities
    cycle through :data:`HOSTILE`; facility and unit ids start with the hostile strings
    (:func:`hostile_id`); unit names cycle through :data:`HOSTILE`; four districts are named
    :data:`HOSTILE_DISTRICTS`; the city is named :data:`HOSTILE_CITY_NAME`.
    """
    import dataclasses

    import geopandas as gpd
    import shapely

    from grid_planning.city.synthetic import synthetic_city

    city = synthetic_city(n_units=40, n_facilities=40, n_eligible=6, seed=seed, lakes=False)
    values = list(HOSTILE.values())
    fac = city.facilities.copy()
    fac["name"] = [values[i % len(values)] for i in range(len(fac))]
    fac.loc[fac.index[: len(HOSTILE_LEAD_NAMES)], "name"] = list(HOSTILE_LEAD_NAMES)
    fac["id"] = [hostile_id(values[i % len(values)], i) for i in range(len(fac))]
    units = city.units.copy()
    units["name"] = [values[(i + 7) % len(values)] for i in range(len(units))]
    units["id"] = [hostile_id(values[(i + 3) % len(values)], i) for i in range(len(units))]
    minx, miny, maxx, maxy = city.boundary.total_bounds
    mx, my = (minx + maxx) / 2, (miny + maxy) / 2
    outline = city.boundary.geometry.iloc[0]
    quads = [
        shapely.box(minx, miny, mx, my),
        shapely.box(mx, miny, maxx, my),
        shapely.box(minx, my, mx, maxy),
        shapely.box(mx, my, maxx, maxy),
    ]
    districts = gpd.GeoDataFrame(
        {"name": list(HOSTILE_DISTRICTS)},
        geometry=[outline.intersection(q) for q in quads],
        crs=city.boundary.crs,
    )
    boundary = city.boundary.assign(name=HOSTILE_CITY_NAME)
    return dataclasses.replace(
        city,
        name=HOSTILE_CITY_NAME,
        units=units,
        facilities=fac,
        boundary=boundary,
        districts=districts,
    )


def rename_grids(plan, names):
    """``plan`` with its grid ids replaced by ``names`` (in grid order)."""
    import dataclasses

    mapping = dict(zip(plan.grid_ids, names, strict=False))

    def supports(value: object) -> object:
        if not isinstance(value, str) or not value:
            return value
        return ",".join(mapping.get(g, g) for g in value.split(","))

    roles = plan.roles.copy()
    for col in ("grid_id", "home_grid"):
        if col in roles:
            roles[col] = roles[col].map(lambda g: mapping.get(g, g))
    if "supports" in roles:
        roles["supports"] = roles["supports"].map(supports)
    leads = plan.leads.copy()
    leads.index = [mapping.get(g, g) for g in leads.index]
    return dataclasses.replace(
        plan,
        assignment=plan.assignment.map(lambda g: mapping.get(g, g)),
        leads=leads,
        roles=roles,
        locks=tuple((u, mapping.get(g, g)) for u, g in plan.locks),
    )


def hostile_plan(layers, k: int = 3, *, rename: bool = True):
    """A k-grid plan of ``layers`` (straight-line travel), grid ids :data:`HOSTILE_GRID_IDS`
    when ``rename``; returns ``(plan, costs)``."""
    from grid_planning.city.costs import travel_costs
    from grid_planning.domain.request import CostParams, PlanRequest
    from grid_planning.planning.planner import plan_city

    costs = travel_costs(layers, CostParams(mode="straight"))
    result = plan_city(layers, PlanRequest(k=k, cost=CostParams(mode="straight")), costs=costs)
    assert result.ok, result.infeasible.explain("en")
    plan = rename_grids(result.plan, HOSTILE_GRID_IDS) if rename else result.plan
    return plan, costs


def write_hostile_files(directory, layers=None) -> dict:
    """The hostile city as the files a planner uploads: ``units.geojson``,
    ``facilities.csv`` (lon/lat columns), ``boundary.geojson`` and ``districts.geojson``.

    Carriage returns and NUL characters are left out of the files: GDAL cuts a string at NUL
    and the CSV reader splits a row at a lone CR (how the loaders treat such files is the input
    validation's business); every other hostile character is written as is.

    Returns ``{slot: path}`` with the slots of ``grid_planning.session.ui_state.UPLOAD_SLOTS``.
    """
    import dataclasses
    from pathlib import Path

    import pandas as pd

    def storable(frame):
        out = frame.copy()
        for col in ("id", "name"):
            if col in out:
                out[col] = out[col].astype(str).str.replace("\r", "", regex=False).str.replace(
                    "\x00", "", regex=False
                )
        return out

    layers = layers if layers is not None else hostile_city()
    layers = dataclasses.replace(
        layers, units=storable(layers.units), facilities=storable(layers.facilities)
    )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "units": directory / "units.geojson",
        "facilities": directory / "facilities.csv",
        "boundary": directory / "boundary.geojson",
        "districts": directory / "districts.geojson",
    }
    layers.units[["id", "name", "population", "geometry"]].to_file(paths["units"], driver="GeoJSON")
    fac = layers.facilities
    cols = ["id", "name", "level", "type", "owner_level", "beds"]
    table = pd.DataFrame(fac[cols]).assign(lon=fac.geometry.x.round(6), lat=fac.geometry.y.round(6))
    table.to_csv(paths["facilities"], index=False, encoding="utf-8")
    layers.boundary[["name", "geometry"]].to_file(paths["boundary"], driver="GeoJSON")
    layers.districts[["name", "geometry"]].to_file(paths["districts"], driver="GeoJSON")
    return paths
