"""The names ``import sim`` offers (:data:`sim.API`), gathered from the API's modules."""

from sim.api.experiments import (
    Comparison,
    Options,
    Plan,
    Replications,
    Sweep,
    compare,
    options,
    plan,
    replicate,
    sweep,
)
from sim.api.fit import Fit, fit
from sim.api.runs import Run, run
from sim.api.scenarios import load
from sim.api.sensitivity import Sensitivity, sensitivity
from sim.config import Scenario, ScenarioError
from sim.outputs.folders import FolderError

__all__ = [
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
]
