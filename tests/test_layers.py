"""The package's plan, checked: each layer imports only from the layers before it.

config -> engine -> model -> measure -> simulation -> experiments -> outputs -> api -> cli

Read from the source (no module is imported): every ``import`` and ``from ... import``
of every module of ``sim/``, at any depth (a deferred import counts too). A module may
import from its own layer and the layers before it, never from a later one; it never
imports a private name (leading underscore) from another module; and the modules
import each other without a cycle, in at most :data:`MAX_LEVELS` levels.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAYERS = (
    "config",
    "engine",
    "model",
    "measure",
    "simulation",
    "experiments",
    "outputs",
    "api",
    "cli",
)
FACE = {"sim", "sim.interruption"}  # the version, the signal that ended the command
TOP = {"sim.entry", "sim.__main__"}  # the command's entry point, before all imports
DOOR = ("sim", "sim.api.public")  # the face's one import: the API, when a name of it is asked for
MAX_LEVELS = 10  # the nine layers and the entry point
PACKAGE = ROOT / "sim"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(p): p
    for p in sorted(PACKAGE.rglob("*.py"))
    if "examples" not in p.relative_to(PACKAGE).parts
}


def layer(module: str) -> int:
    """The rank of `module`'s layer; the top (``sim``, the entry point) comes after all."""
    if module in TOP:
        return len(LAYERS)
    if module in FACE:
        return -1
    return LAYERS.index(module.split(".")[1])


def typing_only(tree: ast.Module) -> set[int]:
    """The lines of the imports under ``if TYPE_CHECKING:``: names for annotations,
    never executed, so they make no cycle (their layer is still checked)."""
    return {
        inner.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    }


@cache
def imports(module: str) -> tuple[tuple[str, str | None, int], ...]:
    """``(imported module, imported name or None, line)`` for every import of sim."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name.startswith("sim")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if not base.startswith("sim"):
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                if child in MODULES:  # `from sim.x import module`
                    found.append((child, None, node.lineno))
                else:
                    found.append((base, alias.name, node.lineno))
    return tuple(found)


def test_every_module_belongs_to_a_layer():
    stray = [m for m in MODULES if m not in TOP | FACE and m.split(".")[1] not in LAYERS]
    assert not stray, f"modules outside the layers {LAYERS}: {stray}"


def runtime_imports(module: str) -> list[tuple[str, str | None, int]]:
    """The imports of `module` that run when it is imported: all but the :data:`DOOR`."""
    return [i for i in imports(module) if (module, i[0]) != DOOR]


@pytest.mark.parametrize("module", sorted(FACE))
def test_the_face_imports_nothing_of_sim(module):
    """``sim`` (the version) and :mod:`sim.interruption` are read by every layer and by
    the entry point before anything heavy is imported: they import nothing, but for the
    :data:`DOOR`, ``sim``'s ``__getattr__`` importing the API when ``sim.run`` or another
    of its names is first asked for (after ``sim`` itself is imported)."""
    assert not runtime_imports(module)


def test_the_door_opens_only_when_a_name_is_asked_for():
    tree = ast.parse(MODULES["sim"].read_text(encoding="utf-8"))
    getattr_ = next(f for f in tree.body if getattr(f, "name", None) == "__getattr__")
    inside = {
        alias.name
        for node in ast.walk(getattr_)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert [t for t, _, _ in imports("sim")] == ["sim.api.public"]
    assert inside == {"sim.api.public"}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_from_its_layer_and_earlier_ones(module):
    later = [
        f"line {line}: {target}"
        for target, _, line in runtime_imports(module)
        if target in MODULES and layer(target) > layer(module)
    ]
    assert not later, f"{module} (layer {layer(module)}) imports from a later layer: {later}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_modules(module):
    private = [
        f"line {line}: {target}.{name}"
        for target, name, line in imports(module)
        if name and name.startswith("_") and not name.startswith("__") and target != module
    ]
    assert not private, f"{module} imports private names of other modules: {private}"


def graph() -> dict[str, set[str]]:
    """Who imports whom when the code runs (typing-only imports left out)."""
    edges = {}
    for m in MODULES:
        skip = typing_only(ast.parse(MODULES[m].read_text(encoding="utf-8")))
        edges[m] = {
            t for t, _, line in runtime_imports(m) if t in MODULES and t != m and line not in skip
        }
    return edges


def test_no_import_cycle_between_modules():
    edges, done, visiting = graph(), set(), []

    def visit(module: str) -> None:
        if module in visiting:
            cycle = [*visiting[visiting.index(module) :], module]
            raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
        if module not in done:
            visiting.append(module)
            for target in edges[module]:
                visit(target)
            visiting.pop()
            done.add(module)

    for module in MODULES:
        visit(module)


def room(module: str) -> str:
    """The package a module lives in, as a reader of the tree sees it: its layer (the
    entry point and the package's face are rooms of their own)."""
    if module in TOP:
        return "entry"
    if module in FACE:
        return "face"
    return LAYERS[layer(module)]


def test_the_layers_stack_no_higher_than_max_levels():
    """Packages as rooms, imports as arrows: the longest chain of rooms is at most
    :data:`MAX_LEVELS` (the layers and the entry point)."""
    edges: dict[str, set[str]] = {}
    for module, targets in graph().items():
        edges.setdefault(room(module), set()).update(
            room(t) for t in targets if room(t) != room(module)
        )
    levels: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in levels:
            levels[name] = 1 + max((level(t) for t in edges.get(name, ())), default=0)
        return levels[name]

    deepest = max(edges, key=level)
    assert levels[deepest] <= MAX_LEVELS, f"{deepest} sits {levels[deepest]} levels up: {levels}"


def test_the_check_catches_what_it_forbids(tmp_path, monkeypatch):
    """The reader sees a deferred import from a later layer and a private name."""
    probe = PACKAGE / "config" / "_layers_probe.py"
    text = "def f():\n    from sim.cli.common import _secret\n"
    monkeypatch.setitem(MODULES, "sim.config._layers_probe", probe)
    monkeypatch.setattr(Path, "read_text", lambda self, **k: text if self == probe else "")
    imports.cache_clear()
    try:
        found = imports("sim.config._layers_probe")
    finally:
        imports.cache_clear()
    assert found == (("sim.cli.common", "_secret", 2),)
    assert layer("sim.cli.common") > layer("sim.config._layers_probe")


EXPANSION = "sim.config.expand"
EXPANDERS = {"expand", "expanded_from", "flatten"}  # flatten: its name before issue 17


def expansion_calls(module: str) -> list[str]:
    """Where `module` imports the expansion of platforms or calls it by name."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = [f"line {line}: imports {t}" for t, _, line in imports(module) if t == EXPANSION]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in EXPANDERS:
                found.append(f"line {node.lineno}: calls {name}()")
    return found


def test_only_the_config_layer_expands_platforms():
    """A scenario is expanded once, when sim/config validates it, and keeps its
    expansion (``scenario.flat``, a FlatScenario): no later layer expands it again."""
    expanding = {m: calls for m in MODULES if layer(m) > 0 and (calls := expansion_calls(m))}
    assert not expanding, f"modules outside sim/config expand platforms: {expanding}"


def test_the_expansion_check_sees_a_call(monkeypatch):
    probe = PACKAGE / "simulation" / "_expand_probe.py"
    text = "from sim.config.expand import expand\n\ndef f(s):\n    return flatten(s)\n"
    monkeypatch.setitem(MODULES, "sim.simulation._expand_probe", probe)
    monkeypatch.setattr(Path, "read_text", lambda self, **k: text if self == probe else "")
    imports.cache_clear()
    try:
        found = expansion_calls("sim.simulation._expand_probe")
    finally:
        imports.cache_clear()
    assert found == ["line 1: imports sim.config.expand", "line 4: calls flatten()"]
