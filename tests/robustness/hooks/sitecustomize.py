"""A fault to inject, for the robustness tests only: Python imports this module at
start-up in every process that has this folder on its ``PYTHONPATH`` (the ``sim``
commands the tests start, their pool workers, the Dask workers of a test cluster).

A job whose scenario description contains ``crash-worker`` kills the process running
it with ``os._exit``, as the kernel's out-of-memory killer or a crash in native code
would: no exception, no clean-up. ``crash-once`` does so only the first time that job
runs (a marker file per job in ``SIM_TEST_CRASH_DIR``), like a one-off kill.
"""

import importlib.abc
import importlib.util
import os
import sys


def _patch(experiment) -> None:
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


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patch sim.experiment when (if ever) it is imported: processes that never run a
    job (the Dask scheduler, nannies) do not pay for importing it."""

    def find_spec(self, name, path, target=None):
        if name != "sim.experiment":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PatchOnImport())
