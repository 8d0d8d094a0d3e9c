"""The package's shape, read from its source: no import cycles, and pure modules that stay pure.

Both checks find the modules themselves, so a new module is covered the day it is added:

* every import between RoomDB's modules (at module level, inside functions and under
  ``TYPE_CHECKING`` alike: a deferred import still ties two modules together) forms a graph
  without cycles;
* every module whose docstring's first line says it is pure imports nothing from
  ``homeassistant``, and neither does any RoomDB module it needs, directly or through others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).parents[1] / "custom_components" / "roomdb"
PACKAGE = "custom_components.roomdb"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


@cache
def _tree(name: str) -> ast.Module:
    return ast.parse(_modules()[name].read_text(encoding="utf-8"))


def _is_package(name: str) -> bool:
    return _modules()[name].name == "__init__.py"


def _absolute(name: str, node: ast.ImportFrom) -> str:
    """The module an ``from … import`` names, resolved against the importing module."""
    if node.level == 0:
        return node.module or ""
    base = name.split(".")
    if not _is_package(name):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(name: str) -> Iterator[str]:
    """Every module ``name`` imports (external ones by their full dotted name)."""
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(name, node)
            submodules = [
                f"{target}.{alias.name}"
                for alias in node.names
                if f"{target}.{alias.name}" in _modules()
            ]
            # ``from . import sensor`` imports the submodule; the package only runs its __init__.
            yield from submodules
            if len(submodules) < len(node.names):
                yield target


def _internal_imports(name: str) -> set[str]:
    return {target for target in _imports(name) if target in _modules() and target != name}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(_internal_imports(node)):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(_modules()):
        if module not in index:
            visit(module)
    return found


def _parent_packages(name: str) -> set[str]:
    """A package's ``__init__`` runs before any of its modules: importing it is not a cycle."""
    parts = name.split(".")
    return {".".join(parts[:end]) for end in range(2, len(parts))}


def test_no_import_cycles() -> None:
    cycles = [
        component
        for component in _cycles()
        if not all(
            set(component) - {member} <= _parent_packages(member) | {member} for member in component
        )
    ]
    assert cycles == [], "\n".join(" <-> ".join(component) for component in cycles)


def _claims_pure(name: str) -> bool:
    docstring = ast.get_docstring(_tree(name)) or ""
    first_line = docstring.split("\n", 1)[0].casefold()
    return "pure" in first_line


PURE = sorted(name for name in _modules() if _claims_pure(name))


def _depends_on(name: str) -> set[str]:
    """Every RoomDB module ``name`` needs, directly or through others.

    A package's ``__init__`` is left out: it runs whenever one of its modules is imported, so it
    belongs to the package's shell, not to what a module itself depends on.
    """
    seen: set[str] = set()
    todo = [name]
    while todo:
        module = todo.pop()
        for target in _internal_imports(module) - _parent_packages(module):
            if target not in seen and not _is_package(target):
                seen.add(target)
                todo.append(target)
    return seen


def test_pure_modules_are_found() -> None:
    """The claim is made where the design puts the pure core; the scan must see it."""
    for expected in ("backoff", "paths", "log", "events.ring", "alarm.machine", "alarm.conflict"):
        assert f"{PACKAGE}.{expected}" in PURE, expected


@pytest.mark.parametrize("module", PURE)
def test_pure_module_needs_no_home_assistant(module: str) -> None:
    """Neither the module nor any RoomDB module it needs imports ``homeassistant``."""
    offenders = {
        needed: sorted(name for name in _imports(needed) if name.split(".")[0] == "homeassistant")
        for needed in {module, *_depends_on(module)}
    }
    assert {key: value for key, value in offenders.items() if value} == {}
