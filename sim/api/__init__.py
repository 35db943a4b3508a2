"""The Python API of sim: what ``import sim`` offers (see :mod:`sim`), and what the
``sim`` command is built on, so that the two cannot drift.

- :func:`load` a scenario (a file or a shipped example), changed and scaled;
- :func:`run` one morning: a :class:`Run`, its tables as pandas DataFrames;
- :func:`replicate`, :func:`sweep`, :func:`compare`, :func:`plan`: many mornings, each returning the
  tables the command writes (as DataFrames), the figures it draws and ``save(folder)``.
"""

from sim.api.experiments import (
    Comparison,
    Plan,
    Replications,
    Sweep,
    compare,
    plan,
    replicate,
    sweep,
)
from sim.api.runs import Run, run
from sim.api.scenarios import load
from sim.config import Scenario, ScenarioError
from sim.outputs.folders import FolderError

__all__ = [
    "Comparison",
    "FolderError",
    "Plan",
    "Replications",
    "Run",
    "Scenario",
    "ScenarioError",
    "Sweep",
    "compare",
    "load",
    "plan",
    "replicate",
    "run",
    "sweep",
]
