"""The library's structure holds: packages along the data's flow, imports only downward, no import
circle, imports at the top of files, no private name used outside its module, no module over 900
lines, and a curated top-level API that imports lazily."""

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


def _imports(path: Path) -> list[tuple[ast.AST, str, str | None, bool]]:
    """(node, imported module, imported name or None, at module level) for our own imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
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


def test_imports_run_only_downward_and_at_the_top():
    upward, nested = [], []
    for module, path in MODULES.items():
        for node, target, _name, at_top in _imports(path):
            if target == "grid_planning" or target not in MODULES or _floor(target) > _floor(module):
                upward.append(f"{module}:{node.lineno} -> {target}")
            if not at_top:
                nested.append(f"{module}:{node.lineno}")
    assert upward == []
    assert nested == []


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
