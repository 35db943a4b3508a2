"""The fingerprint of the code that makes the results: a hash of the ``sim`` sources.

A stored run (``runs/<key>.json``, :mod:`sim.experiments.execution`) may be reused only by the
code that made it: the version number alone cannot tell, since it changes by hand (and
stayed ``0.1.0`` while the model changed many times). The fingerprint hashes every
``.py`` and ``.pxd`` file of the package as installed, in the order of their paths
relative to the package folder: any edit of the model, its typing or its summaries
gives another fingerprint, and so another key for every run.

The sources are hashed, not the compiled modules: an installed package keeps its ``.py``
and ``.pxd`` files beside the ``.so`` files built from them (pyproject.toml ships the
``.pxd`` files as package data), so the compiled build has the fingerprint of the
sources it was built from, and gives the same results bit for bit
(tests/engine/test_compiled.py). Byte-code caches, the generated ``.c`` files and data files
(scenarios) do not count: a scenario's content is part of every run's key already.

Computed once per process, on first use: 8-16 ms for the package's 66 files (measured
on a busy 2-core machine), then a dictionary look-up.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # the whole of sim/, not this layer
SUFFIXES = (".py", ".pxd")
LENGTH = 16
"""Hex digits kept: 64 bits, plenty to tell versions of the code apart."""


def source_files(package: Path = PACKAGE) -> list[Path]:
    """The files the fingerprint covers, sorted by their path relative to `package`."""
    found = [
        path
        for path in package.rglob("*")
        if path.suffix in SUFFIXES and path.is_file() and "__pycache__" not in path.parts
    ]
    return sorted(found, key=lambda path: path.relative_to(package).as_posix())


def fingerprint_of(package: Path = PACKAGE) -> str:
    """The fingerprint of the sources under `package` (each file's relative path and
    content, so that moving code between files changes it too)."""
    digest = hashlib.sha256()
    for path in source_files(package):
        name = path.relative_to(package).as_posix().encode()
        content = path.read_bytes()
        digest.update(b"%d:%s%d:" % (len(name), name, len(content)))
        digest.update(content)
    return digest.hexdigest()[:LENGTH]


@cache
def code_fingerprint() -> str:
    """The fingerprint of the running ``sim`` (computed on first use, then kept)."""
    return fingerprint_of(PACKAGE)
