"""What a morning costs: the ``[costs]`` table of a scenario, and the prices it needs.

A decision maker asks what an option costs, not only whether it holds. A scenario with
a ``[costs]`` table reports, for each run, the cost of its infrastructure and the value
of the teaching it lost (:mod:`sim.measure.costs`); without one, it reports no cost, and
every output is what it was before costs existed.

Where each price is written, so that it follows the platform it prices:

- a server-hour, on the service (``services.<name>.cost_per_server_hour``, or in a
  template: every platform built from it then pays its own servers at that price) and
  on a classroom (``classrooms.<name>.cost_per_server_hour``); an autoscaled server's
  hour (``cost_per_instance_hour``, on a service with ``autoscale``) defaults to the
  server-hour's price. A service or classroom without a price costs nothing;
- a defence's price per day, by kind, in ``[costs.defence_per_day]``
  (:data:`DEFENCE_KINDS`): each defence of that kind in the scenario costs it once
  for the morning (a morning is one day of keeping it);
- the values the decision maker puts on a lost class-hour and on a pupil who never
  got in, in ``[costs]``: they have no market price, so they are never defaulted (left
  out, the cost of lost teaching is not valued, and says so).

The money is in ``currency`` throughout; every price is a number at most
:data:`MAX_PRICE`.
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from sim.config.base import PositiveFloat, Strict, at_most

MAX_PRICE = 1e9
"""Any price: beyond a billion per hour, a day or a person, the totals of a national
morning would leave the numbers a table can show (and no platform costs that)."""

Price = Annotated[
    float,
    Field(ge=0),
    at_most(MAX_PRICE, "", "a price beyond any platform's, and its totals overflow"),
]
"""A price in the scenario's currency: 0 or more, at most :data:`MAX_PRICE`."""

DEFENCE_KINDS = {
    "scrubbing": "each service or link with `scrubbing` (DDoS filtering)",
    "rate_limit": "each service with a `rate_limit`",
    "waiting_room": 'each gate that queues people (`when_full = "queue"`, with a limit)',
    "gate": 'each other gate: a quota page (`when_full = "reject"`) or a policy gate',
}
"""The kinds of defence that can carry a price per day, and what counts as one."""

DefenceKind = Literal["scrubbing", "rate_limit", "waiting_room", "gate"]


def _currency_code(value: str) -> str:
    if not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
        raise ValueError("a currency is an ISO 4217 code, three capital letters such as EUR or USD")
    return value


class Costs(Strict):
    """What the morning costs: its presence turns on the cost KPIs (``kpi.cost.*``,
    ``kpi.lost_class_hours``); the module's docstring says where each price is."""

    currency: Annotated[str, AfterValidator(_currency_code)] = Field(
        "EUR", description="the currency of every price and cost: an ISO 4217 code (`EUR`)"
    )
    defence_per_day: dict[DefenceKind, Price] = Field(
        {},
        description=(
            "price per day of each defence of a kind, for the morning: `scrubbing` (each "
            "service or link with scrubbing), `rate_limit`, `waiting_room` (each gate that "
            "queues), `gate` (each other gate); a kind absent from the scenario costs nothing"
        ),
    )
    lost_class_hour: Price | None = Field(
        None,
        description=(
            "the value of one person-hour of lesson lost (pupils and teachers: from their "
            "class start, or their connect time if later, to getting in, at most the "
            "lesson); none: not valued"
        ),
    )
    pupil_never_in: Price | None = Field(
        None,
        description=(
            "the value of a pupil who tried and never got in, on top of their lost lesson; "
            "none: not valued"
        ),
    )
    lesson_min: Annotated[PositiveFloat, at_most(1440.0, "min", "a lesson is within a day")] = (
        Field(
            55.0,
            description=(
                "a lesson's length for the people whose journey has no class step (a "
                "portal): their lesson is their class start to this much later (min)"
            ),
        )
    )
