"""The library's structure holds: packages along the data's flow, imports only downward, no import
circle, imports at the top of files (a short list of lazy imports aside, each with its reason), no
private name used outside its module, no module over 900 lines, real types rather than a bare
``Any`` in signatures, and a curated top-level API that imports lazily.

An import under a module-level ``if TYPE_CHECKING:`` is a type-only dependency: it counts as an
import at the top, and like any other it must run downward and close no circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import grid_planning

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "grid_planning"
#: Packages bottom to top: each may import only itself and those before it.
FLOORS = ["base", "domain", "geo", "io", "city", "assess", "planning", "maps", "prints",
          "exports", "store", "session", "meeting"]
MAX_LINES = 900


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


MODULES = _modules()


def _type_checking(node: ast.stmt) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) without an ``else``."""
    test = node.test if isinstance(node, ast.If) else None
    name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else None
    return name == "TYPE_CHECKING" and not node.orelse


def _top_level(tree: ast.Module) -> set[int]:
    """ids of the statements at module level, those of a module-level ``if TYPE_CHECKING:`` included."""
    top = {id(n) for n in tree.body}
    for n in tree.body:
        if _type_checking(n):
            top |= {id(b) for b in n.body}
    return top


def _imports(path: Path) -> list[tuple[ast.AST, str, str | None, bool]]:
    """(node, imported module, imported name or None, at module level) for our own imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = _top_level(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "grid_planning":
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if full in MODULES:
                    out.append((node, full, None, id(node) in top))
                else:
                    out.append((node, node.module, a.name, id(node) in top))
        elif isinstance(node, ast.Import):
            out += [(node, a.name, None, id(node) in top) for a in node.names
                    if a.name.split(".")[0] == "grid_planning"]
    return out


def _floor(module: str) -> int:
    parts = module.split(".")
    return FLOORS.index(parts[1]) if len(parts) > 2 else len(FLOORS)


def test_every_module_lives_in_a_package_of_the_flow():
    loose = [m for m, p in MODULES.items() if p.parent == PKG and p.name != "__init__.py"
             and m not in ("grid_planning.cli", "grid_planning.__main__")]
    assert loose == []
    packages = {m.split(".")[1] for m in MODULES if m.count(".") >= 2}
    assert packages == set(FLOORS)


def test_imports_run_only_downward():
    upward = []
    for module, path in MODULES.items():
        for node, target, _name, _top in _imports(path):
            if target == "grid_planning" or target not in MODULES or _floor(target) > _floor(module):
                upward.append(f"{module}:{node.lineno} -> {target}")
    assert upward == []


def test_a_type_checking_import_is_at_the_top_and_still_runs_downward(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text("from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from grid_planning.city.layers import CityLayers\n"
                    "def f():\n    from grid_planning.domain.plan import Plan\n")
    found = {(target, name, top) for _node, target, name, top in _imports(path)}
    assert found == {("grid_planning.city.layers", "CityLayers", True),
                     ("grid_planning.domain.plan", "Plan", False)}
    # a type-only import from a higher floor is still an upward import
    assert _floor("grid_planning.city.layers") > _floor("grid_planning.domain.rules")


#: The imports made inside a function: (module, module imported) -> why it is not at the top.
#: Each keeps a library (or a part of ours that loads one) out of a path that does not need it.
LAZY_IMPORTS = {
    ("grid_planning.exports.formats", "grid_planning.prints.printmap"):
        "matplotlib loads only when a map is printed, not with the dashboard or the CLI",
    ("grid_planning.exports.formats", "grid_planning.prints.report_pdf"):
        "matplotlib and reportlab load only when a report is made",
    ("grid_planning.exports.formats", "grid_planning.maps.htmlmap"):
        "folium, branca and jinja2 (~0.25 s) load only when an HTML map is written, not for a print",
    ("grid_planning.exports.formats", "openpyxl.styles"):
        "openpyxl (~0.4 s) loads only when a workbook is written",
    ("grid_planning.io.xlsx", "openpyxl.styles.numbers"):
        "openpyxl loads only when a workbook with styles is read, not with every city",
    ("grid_planning.io.xlsx", "openpyxl.utils.datetime"):
        "openpyxl loads only when a workbook's date cell is read",
    ("grid_planning.planning.search", "scipy.optimize"):
        "scipy.optimize (~0.1 s) loads when the wider lead search runs, not with every CLI command",
    ("grid_planning.store.backends", "psycopg"):
        "psycopg is needed (and may be installed) only for a PostgreSQL store",
}


def _nested_imports() -> dict[tuple[str, str], list[int]]:
    """(module, module imported) -> lines, for every import not at a module's top (ours and others)."""
    out: dict[tuple[str, str], list[int]] = defaultdict(list)
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = _top_level(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                for name in names:
                    out[(module, name)].append(node.lineno)
    return out


def test_imports_are_at_the_top_but_for_a_few_listed_with_their_reason():
    nested = _nested_imports()
    assert sorted(set(nested) - set(LAZY_IMPORTS)) == []
    assert sorted(set(LAZY_IMPORTS) - set(nested)) == []  # the list holds no stale entry
    assert sum(len(lines) for lines in nested.values()) <= 10
    uncommented = []
    for (module, name), lines in nested.items():
        text = MODULES[module].read_text(encoding="utf-8").splitlines()
        uncommented += [f"{module}:{n} {name}" for n in lines
                        if "# why" not in text[n - 1] and not text[n - 2].strip().startswith("# why")]
    assert uncommented == []  # each says why, on its line or the line above


#: Parameters, returns and fields that may be annotated with a bare ``Any`` (function qualname,
#: parameter or "return") -> why. ``*args: Any`` and ``**kwargs: Any`` (passed through) are not
#: listed: they are the idiom for "values of any type".
ANY_ALLOWED: dict[tuple[str, str, str], str] = {
    ("grid_planning.prints.maplabels", "TextOf.__getattr__", "return"):
        "a stand-in renderer: any attribute of the matplotlib renderer it wraps",
    ("grid_planning.prints.textlayer", "LineRecorder.__getattr__", "return"):
        "a stand-in renderer: any attribute of the matplotlib renderer it wraps",
}


def _is_any(annotation: ast.expr | None) -> bool:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body
    return (isinstance(annotation, ast.Name) and annotation.id == "Any") or (
        isinstance(annotation, ast.Attribute) and annotation.attr == "Any")


def _bare_any() -> set[tuple[str, str, str]]:
    found = set()

    def visit(module: str, node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                a = child.args
                for arg in a.posonlyargs + a.args + a.kwonlyargs:
                    if _is_any(arg.annotation):
                        found.add((module, name, arg.arg))
                if _is_any(child.returns):
                    found.add((module, name, "return"))
                visit(module, child, name + ".")
            elif isinstance(child, ast.ClassDef):
                for stmt in child.body:  # fields (a dataclass's are its constructor's parameters)
                    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
                            and _is_any(stmt.annotation):
                        found.add((module, prefix + child.name, stmt.target.id))
                visit(module, child, prefix + child.name + ".")

    for module, path in MODULES.items():
        visit(module, ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def test_signatures_name_real_types_not_a_bare_any():
    found = _bare_any()
    assert sorted(found - set(ANY_ALLOWED)) == []
    assert sorted(set(ANY_ALLOWED) - found) == []  # the list holds no stale entry


def test_no_import_circle():
    graph = defaultdict(set)
    for module, path in MODULES.items():
        for _node, target, _name, _top in _imports(path):
            if target != module:
                graph[module].add(target)
    seen, stack, circles = set(), [], []

    def visit(m: str) -> None:
        if m in stack:
            circles.append(stack[stack.index(m):] + [m])
            return
        if m in seen:
            return
        seen.add(m)
        stack.append(m)
        for n in sorted(graph[m]):
            visit(n)
        stack.pop()

    for m in sorted(MODULES):
        visit(m)
    assert circles == []


def test_no_private_name_crosses_a_module():
    crossing = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for node, target, name, _top in _imports(path):
            if name and name.startswith("_") and not name.startswith("__"):
                crossing.append(f"{module}:{node.lineno} {target}.{name}")
            if name is None:
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[-1]] = target
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                crossing.append(f"{module}:{node.lineno} {node.value.id}.{node.attr}")
    assert crossing == []


def test_no_module_is_too_long_to_read():
    long = {m: n for m, p in MODULES.items()
            if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_LINES}
    assert long == {}


def test_library_never_imports_streamlit():
    users = [m for m, p in MODULES.items()
             if any(isinstance(n, (ast.Import, ast.ImportFrom))
                    and any((a.name if isinstance(n, ast.Import) else (n.module or ""))
                            .split(".")[0] == "streamlit" for a in n.names)
                    for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))))]
    assert users == []


@pytest.mark.parametrize("name", sorted(grid_planning.API))
def test_every_api_name_is_defined_where_the_api_says(name):
    value = getattr(grid_planning, name)
    assert value.__module__ == grid_planning.API[name]


def test_importing_the_package_imports_no_planner_and_no_map():
    code = ("import sys, grid_planning; "
            "print(sorted(m for m in sys.modules if m.startswith('grid_planning.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert out.strip() == "['grid_planning.base', 'grid_planning.base.version']"
