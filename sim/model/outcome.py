"""What a client learns about its request: the value of a request's reply event.

A module of its own because both sides need it and neither should import the other for
it: the services answer with it, the defences in front of them (:mod:`sim.model.policies`)
refuse with it, and the journeys (:mod:`sim.model.people`) read it.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """A request's fate, as the client hears it (its value is what traces record)."""

    SERVED = "served"
    TIMEOUT = "timeout"
    REJECTED = "rejected"
    ERROR = "error"  # the server crashed, or is down and refused the connection
    BLOCKED = "blocked"  # a defence (rate limit, filtering) refused the request
