"""The package's shape, read from its source: no import cycles, and pure modules that stay pure.

Every check finds the modules itself, so a new module is covered the day it is added:

* every import between RoomDB's modules (at module level, inside functions and under
  ``TYPE_CHECKING`` alike: a deferred import still ties two modules together) forms a graph
  without cycles;
* every module imports on its own, in an interpreter where no other RoomDB module was imported
  before it (a cycle that only bites in one import order shows here);
* the parts (``alarm/``, ``db/``, ``events/``, ``ml/``, ``panel/``, ``registry/``, ``rooms/``)
  import from the top level only the shared helpers, never the integration's shell
  (``services.py``, the platforms, the config flow, …), and from another part only what that part
  offers (the edges declared in ``PART_API``);
* every module whose docstring's first line says it is pure imports nothing from
  ``homeassistant``, and neither does any RoomDB module it needs, directly or through others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
import json
from pathlib import Path
import re
import subprocess
import sys

import pytest

REPO_DIR = Path(__file__).parents[1]
PACKAGE_DIR = REPO_DIR / "custom_components" / "roomdb"
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


# -- every module imports on its own ------------------------------------------------------------

_IMPORT_EACH_ALONE = """
import importlib, importlib.util, json, sys, traceback, types

names, root = json.loads(sys.argv[1]), sys.argv[2]
root_path = importlib.util.find_spec(root).submodule_search_locations
failures = {}
for name in names:
    for loaded in [m for m in sys.modules if m == root or m.startswith(root + ".")]:
        del sys.modules[loaded]
    if name != root:
        shell = types.ModuleType(root)
        shell.__path__ = list(root_path)
        sys.modules[root] = shell
    try:
        importlib.import_module(name)
    except Exception:
        failures[name] = traceback.format_exc(limit=-3)
print(json.dumps(failures))
"""


def import_each_alone(names: Sequence[str], root: str, path: Path) -> dict[str, str]:
    """Import each module in one fresh interpreter, forgetting ``root``'s modules in between.

    The root package's ``__init__`` (the integration's setup, which imports nearly every module)
    runs only when the root itself is the module under test: otherwise it would have imported the
    module, in its own order, before the module's turn. Third-party modules stay loaded (they
    cannot depend on RoomDB), so one interpreter serves all. Returns the failures by module.
    """
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH_ALONE, json.dumps(list(names)), root],
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    failures: dict[str, str] = json.loads(done.stdout.splitlines()[-1])
    return failures


def test_every_module_imports_alone() -> None:
    assert import_each_alone(sorted(_modules()), PACKAGE, REPO_DIR) == {}


def test_import_alone_finds_a_cycle_that_only_one_order_survives(tmp_path: Path) -> None:
    """``b`` first imports fine (``a`` finds ``b`` half-built but present); ``a`` first fails.

    The package's ``__init__`` imports ``b`` first, so importing the package hides the cycle; only
    ``a`` on its own shows it.
    """
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("from . import b\n")
    (package / "a.py").write_text("from . import b\nA = 1\n")
    (package / "b.py").write_text("from .a import A\n")
    failures = import_each_alone(["cyclic", "cyclic.b", "cyclic.a"], "cyclic", tmp_path)
    assert list(failures) == ["cyclic.a"]
    assert "partially initialized module 'cyclic.a'" in failures["cyclic.a"]


# -- layering -----------------------------------------------------------------------------------

PARTS = ("alarm", "db", "events", "ml", "panel", "registry", "rooms")
SHARED = (
    "backoff",
    "const",
    "coordinator",
    "data",
    "descriptions",
    "entity",
    "log",
    "paths",
    "repairs",
    "service_support",
    "timestamps",
)
"""Top-level modules every part may import: plumbing, not features. The rest of the top level
(``services``, the platforms, the config flow, ``http``, ``diagnostics``, …) is the shell that wires
the parts together; a part importing it would make the shell a dependency of what it wires."""
PART_API: Mapping[str, Mapping[str, frozenset[str]]] = {
    "*": {
        "db": frozenset({"compact", "database", "schema"}),
        # What each part shows on the shared coordinator's snapshot.
        "events": frozenset({"stats"}),
        "ml": frozenset({"status"}),
        "registry": frozenset({"counts"}),
    },
    "ml": {"rooms": frozenset({"mapping", "mapping_diff", "mapping_manager"})},
    "panel": {
        "ml": frozenset(
            {"", "clr", "features", "label_source", "labels", "pairing", "runtime", "store"}
            | {"episodes", "suggestions", "training"}
        ),
        "rooms": frozenset({"admission", "generate", "mapping", "services"}),
    },
}
"""Which modules of another part a part may import (``"*"``: every part; ``""``: the package).

The room database is the model the ML layer and the panel read rooms from; the panel shows the
ML layer's data. Anything else is another part's internals: share it through one of these, or
move it to a shared helper."""


def layering_violations(graph: Mapping[str, set[str]]) -> list[str]:
    """``importer -> imported`` for each edge the rules above forbid (names relative to root).

    A shared helper is held to the rules of every part (it may reach only what all may), except
    ``data``, which names the parts' runtimes for the type checker alone.
    """
    found = []
    for importer, targets in sorted(graph.items()):
        part = importer.split(".")[0]
        if part not in PARTS and (importer not in SHARED or importer == "data"):
            continue
        for target in sorted(targets):
            head, _, rest = target.partition(".")
            if head == part:
                continue
            if head not in PARTS:
                allowed = head in SHARED
            else:
                allowed = any(
                    rest in PART_API.get(who, {}).get(head, frozenset()) for who in ("*", part)
                )
            if not allowed:
                found.append(f"{importer} -> {target}")
    return found


def _relative(name: str) -> str:
    return name.removeprefix(PACKAGE).removeprefix(".")


def test_parts_import_only_shared_helpers_and_declared_part_apis() -> None:
    graph = {
        _relative(name): {_relative(target) for target in _internal_imports(name)}
        for name in _modules()
    }
    assert layering_violations(graph) == []


def test_layering_check_refuses_forbidden_edges() -> None:
    """The checker itself, on a made-up graph: every kind of forbidden edge is reported."""
    graph = {
        "events.sink": {"events.ring", "db.database", "log", "services"},
        "registry.runtime": {"config_flow", "rooms.mapping"},
        "ml.ingest": {"rooms.mapping", "rooms.store"},
        "panel.sleep": {"ml.store", "alarm.machine", "sensor"},
        "rooms": {"rooms.mapping", "events.runtime"},
        "db.database": {"db.schema", "ml.store"},
        "services": {"events.services", "rooms.services"},
        "coordinator": {"ml.status", "rooms.store", "services"},
        "data": {"rooms.runtime"},
    }
    assert layering_violations(graph) == [
        "coordinator -> rooms.store",
        "coordinator -> services",
        "db.database -> ml.store",
        "events.sink -> services",
        "ml.ingest -> rooms.store",
        "panel.sleep -> alarm.machine",
        "panel.sleep -> sensor",
        "registry.runtime -> config_flow",
        "registry.runtime -> rooms.mapping",
        "rooms -> events.runtime",
    ]


def test_data_names_the_parts_only_for_type_checking() -> None:
    """``data`` is shared because it only names the parts' runtimes for the type checker."""
    runtime_imports = {
        target
        for node in _tree(f"{PACKAGE}.data").body
        if isinstance(node, ast.ImportFrom)
        for target in [_absolute(f"{PACKAGE}.data", node)]
    }
    assert {_relative(t).split(".")[0] for t in runtime_imports if t.startswith(PACKAGE)} == set()


# -- one layout per part ------------------------------------------------------------------------


@pytest.mark.parametrize("part", PARTS)
def test_part_init_is_a_table_of_contents(part: str) -> None:
    """A part's ``__init__`` docstring names every module of the part, so a reader starts there."""
    docstring = ast.get_docstring(_tree(f"{PACKAGE}.{part}")) or ""
    modules = {
        name.rsplit(".", 1)[1]
        for name in _modules()
        if name.startswith(f"{PACKAGE}.{part}.") and name.count(".") == PACKAGE.count(".") + 2
    }
    assert sorted(m for m in modules if f"``{m}``" not in docstring) == []


@pytest.mark.parametrize(
    ("part", "roles"),
    [
        ("alarm", ("runtime", "sensors", "services", "options")),
        ("events", ("runtime", "sensors", "services", "options")),
        ("ml", ("runtime", "sensors", "services", "options")),
        ("registry", ("runtime", "sensors", "services")),  # nothing to set: it mirrors HA's
        ("rooms", ("runtime", "sensors", "services", "options")),
    ],
)
def test_parts_with_entities_share_one_layout(part: str, roles: tuple[str, ...]) -> None:
    """Where a part has them, the roles live under the same names: a reader can guess the file."""
    for role in roles:
        assert f"{PACKAGE}.{part}.{role}" in _modules(), role


# -- pure modules -------------------------------------------------------------------------------


def _claims_pure(name: str) -> bool:
    docstring = ast.get_docstring(_tree(name)) or ""
    first_line = docstring.split("\n", 1)[0].casefold()
    return "pure" in first_line


def _pure_core_row(part: str) -> set[str]:
    """The modules a part's table of contents (its ``__init__`` docstring) lists as pure core."""
    docstring = ast.get_docstring(_tree(f"{PACKAGE}.{part}")) or ""
    row: list[str] = []
    for line in docstring.splitlines():
        if line.startswith("pure core"):
            row = [line]
        elif row and line.startswith(" "):
            row.append(line)
        elif row:
            break
    named = {f"{PACKAGE}.{part}.{name}" for name in re.findall(r"``(\w+)``", " ".join(row))}
    return named & set(_modules())


PURE = sorted(
    {name for name in _modules() if _claims_pure(name)}.union(*map(_pure_core_row, PARTS))
)


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
    # Every part with a table of contents names its pure core, and each name is a module.
    for part in ("alarm", "events", "ml", "panel", "rooms"):
        assert _pure_core_row(part), part
    assert f"{PACKAGE}.ml.bocpd" in PURE
    assert f"{PACKAGE}.rooms.limiter" in PURE


@pytest.mark.parametrize("module", PURE)
def test_pure_module_needs_no_home_assistant(module: str) -> None:
    """Neither the module nor any RoomDB module it needs imports ``homeassistant``."""
    offenders = {
        needed: sorted(name for name in _imports(needed) if name.split(".")[0] == "homeassistant")
        for needed in {module, *_depends_on(module)}
    }
    assert {key: value for key, value in offenders.items() if value} == {}
