"""A walk runs its generator by the journeys' yield protocol (:class:`sim.engine.kernel.Walk`,
told at the top of sim/model/people.py): a float pauses, ``ANSWER`` waits for the walk's
``succeed``, a SimPy event is waited for; anything else is a ``TypeError`` that names it.
"""

from __future__ import annotations

import pytest

from sim.engine.kernel import ANSWER, Call, Environment, Walk, walk_from_the_start


def test_a_walk_pauses_waits_for_its_answer_and_for_events():
    env = Environment()
    seen = []

    def journey():
        yield 2.5
        seen.append(env.now)
        env.call_later(1.0, walk.succeed, "served")
        seen.append((yield ANSWER))
        seen.append((yield env.timeout(1.5, "late")))
        seen.append(env.now)
        done = env.timeout(0.5, "done")
        yield 1.0
        seen.append((yield done))  # processed already, during the pause: at once
        seen.append(env.now)

    walk = Walk(env, journey())
    env.call_later(0.0, walk.go)
    env.run()
    assert seen == [2.5, "served", "late", 5.0, "done", 6.0]


@pytest.mark.parametrize(
    ("wrong", "kind"), [(5, "int"), ("soon", "str"), (None, "NoneType"), (Call(print), "Call")]
)
def test_a_wrong_yield_is_a_type_error_naming_it(wrong, kind):
    env = Environment()

    def journey():
        yield 1.0  # a pause: fine
        yield wrong

    walk_from_the_start(env, journey())
    with pytest.raises(TypeError) as raised:
        env.run()
    message = str(raised.value)
    assert message.startswith(f"{journey.__qualname__} yielded {wrong!r} ({kind}): ")
    assert "a float (a pause, in seconds), ANSWER" in message
    assert env.now == 1.0  # raised when it was yielded
