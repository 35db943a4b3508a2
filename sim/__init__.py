"""sim: a discrete-event simulator of a remote-learning platform on a school morning.

The package is layered (see docs/explanation/engine.md):

- :mod:`sim.config`   validated scenario schema (pydantic) and loading with overrides;
- :mod:`sim.engine.rng`      named random streams spawned from one seed;
- :mod:`sim.engine.dists`    distributions that know their mean and variance;
- :mod:`sim.model`    the SimPy model (people, services, classrooms), no I/O;
- :mod:`sim.engine.monitor`  streaming per-minute statistics and latency histograms;
- :mod:`sim.run.runner`   one run: build, simulate, summarise;
- :mod:`sim.outputs.run_folder`    results on disk, written atomically (:mod:`sim.outputs.atomic`);
- :mod:`sim.run.fingerprint` the hash of these sources, in the key of every stored run;
- :mod:`sim.outputs.plots.dashboard`    the dashboard;
- :mod:`sim.cli.common`      the ``sim`` command.
"""

__version__ = "0.2.0"  # the only place; bumped whenever results change (CHANGELOG.md)
