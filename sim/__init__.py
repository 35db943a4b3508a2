"""sim: a discrete-event simulator of a remote-learning platform on a school morning.

One package per layer, each importing only from the layers before it
(``tests/test_layers.py`` checks it; docs/explanation/engine.md tells why):

- :mod:`sim.config`       the scenario in: schema, loading, ``--set``, platforms, scaling;
- :mod:`sim.engine`       the discrete-event machinery: kernel, streams, draws, recorder;
- :mod:`sim.model`        the school morning: people, services, classrooms, defences;
- :mod:`sim.measure`      what a run means: KPIs and the one registry of metrics;
- :mod:`sim.simulation`   one run, its pre-flight checks and the code's fingerprint;
- :mod:`sim.experiments`  many runs, computed only: jobs, backends, sweeps, plans...;
- :mod:`sim.outputs`      files, figures and pages;
- :mod:`sim.cli`          the ``sim`` command: arguments, printing, exit codes.

and, above them all, :mod:`sim.api`: the Python API, offered here::

    import sim

    scenario = sim.load("default", set={"services.login.servers": 6}, scale=0.1)
    morning = sim.run(scenario)          # .kpi, .services, .timeseries, .people, .dashboard()
    reps = sim.replicate(scenario, 10)   # .estimates, .runs, .figure(), .save(folder)

This module and :mod:`sim.interruption` import nothing when imported (the API is
imported when one of its names is first used): every layer may read them, and a
command starts without the API's imports.
"""

__version__ = "0.2.0"  # the only place; bumped whenever results change (CHANGELOG.md)

API = (
    "Comparison",
    "Fit",
    "FolderError",
    "Options",
    "Plan",
    "Replications",
    "Run",
    "Scenario",
    "ScenarioError",
    "Sensitivity",
    "Sweep",
    "compare",
    "fit",
    "load",
    "options",
    "plan",
    "replicate",
    "run",
    "sensitivity",
    "sweep",
)
"""The names of :mod:`sim.api.public` that ``sim.<name>`` gives."""

__all__ = ["__version__", *API]


def __getattr__(name: str):
    """``sim.run``, ``sim.load``...: the API's names, imported when first asked for."""
    if name in API:
        import sim.api.public

        return getattr(sim.api.public, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])
