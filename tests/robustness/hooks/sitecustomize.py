"""Faults to inject and moments to signal, for the robustness tests only: Python imports
this module at start-up in every process that has this folder on its ``PYTHONPATH``
(the ``sim`` commands the tests start, their pool workers, the Dask workers of a test
cluster). Nothing here is part of ``sim``: production code has no test hooks.

Faults. A job whose scenario description contains ``crash-worker`` kills the process
running it with ``os._exit``, as the kernel's out-of-memory killer or a crash in native
code would: no exception, no clean-up. ``crash-once`` does so only the first time that
job runs (a marker file per job in ``SIM_TEST_CRASH_DIR``), like a one-off kill.

Moments. With ``SIM_TEST_PHASE=<phase>`` and ``SIM_TEST_READY_FILE=<path>``, the
command creates the file when it reaches that phase, so that a test can send it a
signal *then*, whatever the machine's speed, instead of after a guessed sleep. In every
phase but ``entry`` it then waits there (up to ``HOLD_S``) for the signal, so that the
signal lands in that phase and not in the next one:

- ``entry``: ``sim.entry`` has just run its first lines (no wait: the test picks delays);
- ``import``: the CLI is being imported (``sim.cli.common``, with typer, rich, numpy...);
- ``load``: the scenario file is being loaded (the command's arguments are parsed);
- ``run``: the morning is being simulated (after its first slice of clock time);
- ``write``: the results are being written (some files of the staging folder are);
- ``exit``: the command has ended and the interpreter is exiting (an ``atexit`` hook).
"""

import atexit
import importlib.abc
import importlib.util
import os
import sys
import time

HOLD_S = 300.0
PHASE = os.environ.get("SIM_TEST_PHASE")
READY = os.environ.get("SIM_TEST_READY_FILE")


def reached(phase: str) -> None:
    """Signal `phase` (once per process tree: the file is created exclusively), then
    wait for the test's signal there."""
    if phase != PHASE or not READY:
        return
    try:
        with open(READY, "x"):
            pass
    except FileExistsError:
        return
    if phase != "entry":
        # the signal's KeyboardInterrupt is raised from here, inside an exec of a string
        # as in a dataclass's definition: CPython then marks the process as killed by an
        # unhandled Ctrl-C, even once the command has caught it (see sim.entry)
        exec("sleep(HOLD_S)", {"sleep": time.sleep, "HOLD_S": HOLD_S})


def _patch_experiment(experiment) -> None:
    real = experiment.run_job

    def run_job(job):
        text = job.scenario.description
        if "crash-worker" in text:
            os._exit(70)
        if "crash-once" in text:
            marker = os.path.join(os.environ["SIM_TEST_CRASH_DIR"], f"{job.key}.crashed")
            try:
                with open(marker, "x"):
                    pass
            except FileExistsError:
                return real(job)
            os._exit(70)
        return real(job)

    experiment.run_job = run_job


def _patch_config(config) -> None:
    real = config.load_scenario

    def load_scenario(*args, **kwargs):
        reached("load")
        return real(*args, **kwargs)

    config.load_scenario = load_scenario


def _patch_runner(runner) -> None:
    real = runner._simulate

    def _simulate(model, progress):
        def report(now, start, end):
            reached("run")
            if progress is not None:
                progress(now, start, end)

        real(model, report)

    runner._simulate = _simulate


def _patch_store(store) -> None:
    real = store._write_people

    def _write_people(*args, **kwargs):
        reached("write")
        return real(*args, **kwargs)

    store._write_people = _write_people


BEFORE = {"sim.cli.common": lambda module: reached("import")}
AFTER = {
    "sim.entry": lambda module: reached("entry"),
    "sim.experiments.execution": _patch_experiment,
    "sim.config": _patch_config,
    "sim.simulation.runner": _patch_runner,
    "sim.outputs.run_folder": _patch_store,
}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patch a module of :data:`AFTER` when (if ever) it is imported, and call the hook
    of :data:`BEFORE` before its module runs: processes that never import one (the Dask
    scheduler, nannies) do not pay for importing it."""

    def __init__(self) -> None:
        self.pending = {*BEFORE, *AFTER}

    def find_spec(self, name, path, target=None):
        if name not in self.pending:
            return None
        self.pending.discard(name)
        if not self.pending:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        execute = spec.loader.exec_module

        def exec_module(module):
            BEFORE.get(name, lambda m: None)(module)
            execute(module)
            AFTER.get(name, lambda m: None)(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PatchOnImport())
if PHASE == "exit":
    atexit.register(reached, "exit")
