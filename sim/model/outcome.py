"""What a client learns about its request: the value of a request's reply event.

A module of its own because both sides need it and neither should import the other for
it: the services answer with it, the defences in front of them (:mod:`sim.model.policies`)
refuse with it, and the journeys (:mod:`sim.model.people`) read it.

The outcomes are plain strings in a namespace, not an ``enum.StrEnum``: the compiled
journeys and services type them ``str`` (``people.pxd``, ``services.pxd``), and Cython
refuses a subclass of ``str`` there (a ``StrEnum`` member fails with "expected str, got
Outcome"). Typed ``object`` instead, every comparison on the hot path would go through
Python's generic equality. The values are what traces and tables record.
"""

from __future__ import annotations

from typing import Final


class Outcome:
    """A request's fate, as the client hears it (never instantiated: a namespace)."""

    SERVED: Final = "served"
    TIMEOUT: Final = "timeout"
    REJECTED: Final = "rejected"
    ERROR: Final = "error"  # the server crashed, or is down and refused the connection
    BLOCKED: Final = "blocked"  # a defence (rate limit, filtering) refused the request
