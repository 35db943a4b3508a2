"""The compiled classes' declarations agree with the Python classes, checked without a
compiler (read from the sources).

A compiled class has no ``__dict__``: its attributes are the ones Cython was told of,
in the ``.pxd`` beside the module (``cdef public double submitted``) or, where no
``.pxd`` declares the class, by annotations in its body (``seats: cython.Py_ssize_t``).
An attribute left out works interpreted and raises ``AttributeError`` compiled; one
declared but not in ``__slots__`` is the other way round. So every compiled class is
marked ``@cython.cclass`` and has ``__slots__``, and its declared attributes are exactly
its ``__slots__``. And every name of ``cython`` the modules use exists in the shim
that serves them when Cython is absent (:mod:`sim.engine.cython_shim`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sim.engine import compiled, cython_shim
from tests.conftest import ROOT

MODULES = compiled.MODULES
PXD_CLASS = re.compile(r"^cdef class (\w+)\b.*:\s*$")
PXD_ATTRIBUTE = re.compile(r"^\s+cdef\s+(?:public\s+|readonly\s+)?[\w\[\]:, ]+?\s+(\w+)\s*$")


def source(module: str, suffix: str = ".py", root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(suffix)


def pxd_classes(text: str) -> dict[str, set[str]]:
    """``{class: attribute names}`` of the ``cdef class`` blocks of a ``.pxd`` (method
    declarations, with their parentheses, are not attributes)."""
    classes: dict[str, set[str]] = {}
    current = None
    for line in text.splitlines():
        if found := PXD_CLASS.match(line):
            current = classes.setdefault(found[1], set())
        elif line and not line[0].isspace():
            current = None
        elif current is not None and "(" not in line and (found := PXD_ATTRIBUTE.match(line)):
            current.add(found[1])
    return classes


def is_cython(node: ast.expr, name: str) -> bool:
    """Whether `node` is ``cython.<name>`` (or a call of it)."""
    node = node.func if isinstance(node, ast.Call) else node
    return isinstance(node, ast.Attribute) and node.attr == name and is_cython_module(node.value)


def is_cython_module(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "cython"


def slots(cls: ast.ClassDef) -> set[str] | None:
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return None


def annotated(cls: ast.ClassDef) -> set[str]:
    return {
        node.target.id
        for node in cls.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }


def python_classes(module: str, root: Path = ROOT) -> dict[str, ast.ClassDef]:
    tree = ast.parse(source(module, root=root).read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def compiled_classes(module: str, root: Path = ROOT) -> dict[str, ast.ClassDef]:
    return {
        name: cls
        for name, cls in python_classes(module, root).items()
        if any(is_cython(d, "cclass") for d in cls.decorator_list)
    }


def disagreements(module: str, root: Path = ROOT) -> list[str]:
    """What a compiler would find wrong, or what would differ compiled, in `module`."""
    pxd = source(module, ".pxd", root)
    declared = pxd_classes(pxd.read_text(encoding="utf-8")) if pxd.exists() else {}
    classes, marked = python_classes(module, root), compiled_classes(module, root)
    found = [f"{name}: in the .pxd, not in the .py" for name in declared if name not in classes]
    found += [f"{name}: in the .pxd, not marked @cython.cclass" for name in declared
              if name in classes and name not in marked]  # fmt: skip
    for name, cls in marked.items():
        names = slots(cls)
        if names is None:
            found.append(f"{name}: no __slots__")
            continue
        typed = annotated(cls)
        if name in declared and typed:
            found.append(f"{name}: typed both in the .pxd and by annotations {sorted(typed)}")
        attributes = declared.get(name, typed)
        if attributes != names:
            where = ".pxd" if name in declared else "annotations"
            found.append(
                f"{name}: declared only in the {where}: {sorted(attributes - names)}, "
                f"only in __slots__: {sorted(names - attributes)}"
            )
    return found


@pytest.mark.parametrize("module", MODULES)
def test_every_compiled_class_declares_exactly_its_slots(module):
    assert not disagreements(module)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_compiled_classes_or_typed_functions(module):
    """The check above reads something: each module of the hot path is typed."""
    text = source(module).read_text(encoding="utf-8")
    assert compiled_classes(module) or "@cython.locals" in text


def test_the_check_catches_a_missing_or_extra_attribute(tmp_path):
    """A slot the .pxd lacks, an annotation the slots lack, an unmarked class."""
    package = tmp_path / "probe"
    package.mkdir()
    (package / "m.py").write_text(
        "import cython\n\n"
        "@cython.cclass\nclass A:\n    __slots__ = ('x', 'y')\n\n"
        "@cython.cclass\nclass B:\n    __slots__ = ('x',)\n    x: cython.double\n"
        "    y: object\n\n"
        "class C:\n    __slots__ = ()\n"
    )
    (package / "m.pxd").write_text(
        "cimport cython\n\n@cython.final\ncdef class A:\n    cdef public double x\n"
        "    cpdef f(self, double y)\n\ncdef class C:\n    pass\n"
    )
    assert disagreements("probe.m", root=tmp_path) == [
        "C: in the .pxd, not marked @cython.cclass",
        "A: declared only in the .pxd: [], only in __slots__: ['y']",
        "B: declared only in the annotations: ['y'], only in __slots__: []",
    ]


def test_the_pxd_reader_sees_c_types_of_several_words():
    text = (
        "cdef class E:\n    cdef readonly long long eid\n    cdef double[::1] block\n"
        "    cdef Py_ssize_t _minute(self, double now) except? -1\n\n"
        "cpdef Py_ssize_t bucket_of(double seconds) except? -1\n"
    )
    assert pxd_classes(text) == {"E": {"eid", "block"}}


def test_the_shim_has_every_name_of_cython_the_modules_use():
    used = {
        node.attr
        for module in MODULES
        for node in ast.walk(ast.parse(source(module).read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and is_cython_module(node.value)
    }
    assert used, "the modules use Cython's names"
    assert not [name for name in used if not hasattr(cython_shim, name)]
    assert cython_shim.compiled is False


@pytest.mark.parametrize("module", MODULES)
def test_every_module_falls_back_to_the_shim(module):
    """``import cython`` (the literal Cython compiles by), then the shim if it fails."""
    text = source(module).read_text(encoding="utf-8")
    assert (
        "try:  # the literal import Cython compiles by; without Cython, its names as no-ops\n"
        "    import cython\n"
        "except ModuleNotFoundError:\n"
        "    from sim.engine import cython_shim as cython\n"
    ) in text
