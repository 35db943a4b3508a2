"""A killed pool leaves nothing running that the interpreter's exit could race with."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from sim.experiments.execution import _kill_workers

_started = None  # in a worker: where it says it began (a queue passes only at its start)


def _remember(started) -> None:
    global _started
    _started = started


def _sleep_and_tell() -> None:
    _started.put(True)
    time.sleep(600)


def test_killing_a_pool_waits_for_its_manager_thread():
    """After :func:`_kill_workers` the pool's manager thread has ended and closed its
    wake-up pipe: the exit hook of ``concurrent.futures`` then finds it closed, instead
    of writing to it while the thread closes it (``OSError: Bad file descriptor`` after
    an interrupted command's one line, seen in CI)."""
    context = multiprocessing.get_context()
    started = context.SimpleQueue()
    pool = ProcessPoolExecutor(2, mp_context=context, initializer=_remember, initargs=(started,))
    pool.submit(_sleep_and_tell)
    started.get()  # the worker runs: the manager thread waits on it
    manager = pool._executor_manager_thread
    wakeup = pool._executor_manager_thread_wakeup
    assert manager.is_alive()
    _kill_workers(pool)
    assert not manager.is_alive()
    assert wakeup._closed
