"""sim: a discrete-event simulator of a remote-learning platform on a school morning.

The package is layered (see docs/explanation/engine.md):

- :mod:`sim.config`   validated scenario schema (pydantic) and loading with overrides;
- :mod:`sim.rng`      named random streams spawned from one seed;
- :mod:`sim.dists`    distributions that know their mean and variance;
- :mod:`sim.model`    the SimPy model (people, services, classrooms), no I/O;
- :mod:`sim.monitor`  streaming per-minute statistics and latency histograms;
- :mod:`sim.runner`   one run: build, simulate, summarise;
- :mod:`sim.store`    results on disk, written atomically (:mod:`sim.atomic`);
- :mod:`sim.fingerprint` the hash of these sources, in the key of every stored run;
- :mod:`sim.plots`    the dashboard;
- :mod:`sim.cli`      the ``sim`` command.
"""

__version__ = "0.2.0"  # the only place; bumped whenever results change (CHANGELOG.md)
