"""The error of a scenario that cannot be used, in a module of its own: the commands
catch it, and the catalog raises it, without loading the schema (pydantic, a tenth of a
second: ``sim --help`` needs neither)."""


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line meant for the user."""
