"""The event list alone: CPU time per event against the number of events pending.

Run by hand from the repository root::

    python benchmarks/bench_kernel.py [--pending 10000 300000 3000000] [--events 3000000]

A national morning keeps millions of events pending (everyone in a class or a session
has a next request scheduled). This measures what the kernel costs per event at such
sizes with no model at all: `pending` callbacks are scheduled at exponential delays
(mean chosen so that 10,000 events fall due per simulated second, as at the peak of a
national morning), and each one, when called, schedules itself again after a fresh
delay, so that the number pending stays constant. Every event is the cheapest the model
schedules (:func:`sim.engine.kernel.later_on`): on the runner's calendar kernel a bare
entry in the calendar, on plain :class:`simpy.Environment` (SimPy's single heap) a
slotted :class:`sim.engine.kernel.Call` event. The figure is a floor: a model
event costs this plus its own work.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import simpy

from sim.engine.kernel import Environment, later_on

DUE_PER_S = 10_000.0  # events falling due per simulated second


def per_event_us(env: simpy.Environment, pending: int, events: int, seed: int) -> float:
    """CPU µs per event while `pending` self-rescheduling callbacks run `events` times."""
    draw = random.Random(seed).expovariate
    later = later_on(env)
    rate = DUE_PER_S / pending  # per callback, so that DUE_PER_S fall due per second
    fired = 0

    def again(_value: object) -> None:
        nonlocal fired
        fired += 1
        later(draw(rate), again)

    for _ in range(pending):
        later(draw(rate), again)
    cpu0 = time.process_time()
    env.run(until=env.now + events / DUE_PER_S)
    return 1e6 * (time.process_time() - cpu0) / fired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, nargs="+", default=[10_000, 300_000, 3_000_000])
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON line per measurement")
    args = parser.parse_args()
    kernels = {"calendar (sim.engine.kernel)": Environment, "simpy.Environment": simpy.Environment}
    for pending in args.pending:
        for name, kernel in kernels.items():
            us = per_event_us(kernel(), pending, args.events, args.seed)
            if args.json:
                row = {"kernel": name, "pending": pending, "us_per_event": round(us, 3)}
                print(json.dumps(row))
            else:
                print(f"{pending:>10,} pending  {name:<28} {us:6.2f} µs/event", flush=True)


if __name__ == "__main__":
    main()
