"""What surrounds a pool of servers: defences in front, priority, slowdown, crashes.

Plain rules that :class:`sim.model.services.Service` consults on its hot path; kept
apart so that the service module holds the queueing itself and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.engine.dists import Draw
from sim.model.outcome import Outcome


@dataclass(frozen=True)
class CrashPolicy:
    """When a server crashes and how long it stays down."""

    backlog_above: int  # crash when the backlog (places taken) exceeds this
    restart: Draw  # restart time (s)
    detection_s: float  # time for the load balancer to notice a dead server
    refuse_while_down: bool = True  # False: requests sent to a dead server hang


class Priority:
    """Requests of some roles jump the queue during a window of the day."""

    def __init__(self, roles: set[str], start: float, end: float) -> None:
        self.roles = roles
        self.start = start
        self.end = end

    def applies(self, role: str, now: float) -> bool:
        return role in self.roles and self.start <= now < self.end


class Guards:
    """What stands between a client and the servers: edge link, filtering, rate limit.

    `check` returns None (let through), ``Outcome.BLOCKED`` (refused by a defence) or
    ``Outcome.TIMEOUT`` (lost on a saturated link: the client hears nothing).
    """

    def __init__(
        self, uniform: Draw, link=None, scrubber=None, limiter=None, binomial=None
    ) -> None:
        self.uniform = uniform
        self.link = link
        self.scrubber = scrubber
        self.limiter = limiter
        self.binomial = binomial  # (n, p) -> number of successes, for attack batches
        self.bots = 1

    def check(self, address: int, now: float) -> str | None:
        """The verdict on one legitimate request. A link's filtering, like a service's,
        removes its share of legitimate requests while it is on (the false positives of
        scrubbing a volumetric flood); what it lets through may then be lost on the
        saturated link."""
        link = self.link
        if link is not None:
            if link.scrubber is not None:
                removed = link.scrubber.legit_removed
                if removed and self.uniform() < removed:
                    return Outcome.BLOCKED
            loss = link.loss
            if loss and self.uniform() < loss:
                return Outcome.TIMEOUT
        if self.scrubber is not None:
            removed = self.scrubber.legit_removed
            if removed and self.uniform() < removed:
                return Outcome.BLOCKED
        if self.limiter is not None and not self.limiter.allow(address, now):
            return Outcome.BLOCKED
        return None

    def pass_attack(self, count: int, now: float) -> int:
        """How many of `count` attack requests get through to the servers."""
        if self.link is not None and self.link.loss:
            count -= self.binomial(count, self.link.loss)
        if self.scrubber is not None and self.scrubber.attack_removed:
            count -= self.binomial(count, self.scrubber.attack_removed)
        if self.limiter is not None and count:
            count = self.limiter.allow_bots(count, self.bots, now)
        return count


def linear_slowdown(knee: int, slope: float) -> Callable[[int], float]:
    """Service-time factor ``1 + slope * max(0, n - knee)`` for n requests in progress."""
    return lambda n: 1.0 + slope * (n - knee) if n > knee else 1.0


def usl_slowdown(alpha: float, beta: float) -> Callable[[int], float]:
    """Universal scalability law: factor ``1 + alpha (n - 1) + beta n (n - 1)``.

    Gunther's USL gives throughput ``X(n) = n / (1 + alpha (n-1) + beta n (n-1))`` for n
    requests in progress; each request then takes that denominator times longer.
    """
    return lambda n: 1.0 + alpha * (n - 1) + beta * n * (n - 1)
