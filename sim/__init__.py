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

This module and :mod:`sim.interruption` import nothing: every layer may read them.
"""

__version__ = "0.2.0"  # the only place; bumped whenever results change (CHANGELOG.md)
