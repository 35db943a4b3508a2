"""The Python API of sim: what ``import sim`` offers (see :mod:`sim`), and what the
``sim`` command is built on, so that the two cannot drift.

- :func:`load` a scenario (a file or a shipped example), changed and scaled;
- :func:`run` one morning: a :class:`Run`, its tables as pandas DataFrames;
- :func:`replicate`, :func:`sweep`, :func:`compare`, :func:`plan`: many mornings, each returning the
  tables the command writes (as DataFrames), the figures it draws and ``save(folder)``.

The names are gathered in :mod:`sim.api.public`, which ``sim`` imports when one of them is
first asked for. This package itself imports nothing: the command imports only the
module it needs (:mod:`sim.api.scenarios` to load a scenario costs no NumPy).
"""
