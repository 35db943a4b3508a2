"""Build of `sim`: the engine's hot path compiled by Cython, when a C compiler is there.

The modules the engine spends its time in (``MODULES`` in ``sim/engine/compiled.py``:
the kernel, services, people, the recorder and the draws) are compiled from the same
``.py`` files, typed by Cython's pure-mode annotations and the ``.pxd`` files beside
them: same results bit for bit, about twice as fast (``docs/performance.md``). Cython is
needed to build, not to run: interpreted, the modules take its decorators from
``sim/engine/cython_shim.py``. Each is optional: if it cannot be compiled (no C compiler,
no Python headers), the build warns and goes on, and the ``.py`` file runs as it is.
``SIM_PURE_PYTHON=1`` skips the compilation; so does an editable install
(``pip install -e .``), whose source is being edited and must run as written.
Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CCompilerError


def compiled_modules() -> tuple[str, ...]:
    """The hot path's modules: ``MODULES`` of sim/engine/compiled.py, the one list (read,
    not imported: the package's dependencies are not installed while it builds)."""
    source = Path(__file__).with_name("sim") / "engine" / "compiled.py"
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "MODULES":
            return ast.literal_eval(node.value)
    raise RuntimeError(f"no MODULES in {source}")


COMPILED = compiled_modules()
DIRECTIVES = {
    "language_level": 3,
    # Python's semantics of /, // and % (the compiled results must be the interpreted
    # ones). One difference remains: Cython floors a typed float division, a // b, as
    # floor(a / b), which can differ from Python's a // b when a / b rounds up to an
    # integer. The code divides typed floats only by 60 (minutes) and by the power-of-two
    # slot width, for which it cannot happen; tests/engine/test_compiled.py checks whole mornings.
    "cdivision": False,
}


BUILD_ERRORS = (BaseError, CCompilerError, OSError)  # no compiler, no headers, ...


class OptionalBuildExt(build_ext):
    """Compile what can be compiled; an editable install compiles nothing."""

    def run(self) -> None:
        if self.inplace or os.environ.get("SIM_PURE_PYTHON") == "1":
            return
        try:
            super().run()
        except BUILD_ERRORS as error:
            self.warn(f"sim: the engine is not compiled ({error}); it runs interpreted")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except BUILD_ERRORS as error:
            self.warn(f"sim: {ext.name} is not compiled ({error}); it runs interpreted")


def extensions() -> list[Extension]:
    if os.environ.get("SIM_PURE_PYTHON") == "1":
        return []
    from Cython.Build import cythonize

    modules = [Extension(name, [name.replace(".", "/") + ".py"]) for name in COMPILED]
    return cythonize(modules, compiler_directives=DIRECTIVES, build_dir="build", quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
