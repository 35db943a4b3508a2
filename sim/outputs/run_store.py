"""Finished run records on disk (``runs/<key>.json``): the store an experiment saves each
run into as it ends, and reuses on a rerun. The experiments see it through
:class:`sim.experiments.execution.Store`; this module is where the files are."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sim.experiments import records as run_records
from sim.experiments.execution import Job
from sim.outputs import atomic
from sim.simulation import fingerprint


class RunStore:
    """Finished records on disk, one file per job, each written atomically with its
    checksum (:mod:`sim.experiments.records`).

    Only records of the running code count (see the module's docstring): :meth:`get`
    treats a record of another fingerprint as absent, and :meth:`discard_stale` removes
    every such record of the folder, once per store; :attr:`discarded` counts them.
    Only whole records count: :meth:`get` removes a damaged one (not JSON, another
    run's, a checksum or content that does not check out); :attr:`damaged` counts them.
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder) / "runs"
        self.discarded = 0  # records of other code this store removed
        self.damaged = 0  # damaged or edited records this store removed
        self._swept = False

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The record of `key` as its run returned it (without its checksum), or None
        if there is none. A record made by other code is removed (counted in
        :attr:`discarded`); so is a damaged one (in :attr:`damaged`): not JSON, not this
        run's, or its checksum or content does not check out. Either is run again."""
        path = self.path(key)
        try:
            record = _read_or_raise(path)
        except FileNotFoundError:
            return None
        except ValueError:  # unreadable, or not a JSON object
            return self._remove_damaged(path)
        if record.get("key") != key:
            return self._remove_damaged(path)
        if record.get("fingerprint") != fingerprint.code_fingerprint():
            self._discard(path)
            return None
        if run_records.problem(record) is not None:
            return self._remove_damaged(path)
        del record[run_records.CHECKSUM]
        return record

    def _remove_damaged(self, path: Path) -> None:
        """Remove a damaged record (its run is made again) and count it."""
        self.damaged += 1
        with contextlib.suppress(OSError):  # a folder: writing the new record will say so
            path.unlink(missing_ok=True)

    def discard_stale(self, keep: Iterable[str] = ()) -> int:
        """Remove the folder's records (and failure records) made by other code, the
        first time it is called on this store; return :attr:`discarded`. Files named by
        the keys in `keep` are left to :meth:`get`, which reads them anyway; files that
        are not records (not JSON, no ``key``) are left alone."""
        if self._swept:
            return self.discarded
        self._swept = True
        skip = {f"{key}.json" for key in keep}
        current = fingerprint.code_fingerprint()
        for path in sorted(self.folder.glob("*.json")):
            if path.name in skip:
                continue
            record = _read(path)
            if record is None or path.name not in (
                f"{record.get('key')}.json",
                f"{record.get('key')}.error.json",
            ):
                continue
            if record.get("fingerprint") != current:
                self._discard(path)
        return self.discarded

    def _discard(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        if not path.name.endswith(".error.json"):  # a failure to retry is no run lost
            self.discarded += 1

    def put(self, record: dict[str, Any]) -> None:
        """Store `record` with its checksum (the record itself is left as it is)."""
        self._write(self.path(record["key"]), run_records.sealed(record))
        self.error_path(record["key"]).unlink(missing_ok=True)

    def error_path(self, key: str) -> Path:
        return self.folder / f"{key}.error.json"

    def put_error(self, job: Job, error: str) -> None:
        self._write(
            self.error_path(job.key),
            {
                "key": job.key,
                "replication": job.replication,
                "seed": job.seed,
                "variant": dict(job.variant),
                "error": error,
                "fingerprint": fingerprint.code_fingerprint(),
            },
        )

    def _write(self, path: Path, data: dict[str, Any]) -> None:
        text = json.dumps(data, sort_keys=True, allow_nan=True)
        atomic.write_text(path, text, now=True)  # as soon as the run ends: kept if stopped


def _read(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None (missing, unreadable, not a JSON object)."""
    try:
        return _read_or_raise(path)
    except (OSError, ValueError):
        return None


def _read_or_raise(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; FileNotFoundError if there is none, ValueError if the
    file cannot be read or holds something else (then it is a damaged record)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:  # UnicodeDecodeError, JSONDecodeError included
        raise ValueError(f"{path.name}: {err}") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path.name}: not a JSON object")
    return record
