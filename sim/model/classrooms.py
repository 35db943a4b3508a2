"""Virtual classrooms: classes placed on servers with a limited number of seats.

A class is opened by its teacher; pupils who join earlier wait in the lobby until the
teacher arrives (or the lesson ends). The first person to join a class places it on a
classroom server, taken in turn (round robin), and every participant then needs a free
seat on that server: a full server answers "this session is full", which the client
treats like any other failure (it may retry).
"""

from __future__ import annotations

import simpy


class Klass:
    """One virtual class (``class`` is a keyword)."""

    __slots__ = ("opened", "server")

    def __init__(self, env: simpy.Environment, needs_teacher: bool) -> None:
        self.server = -1
        self.opened = env.event()
        if not needs_teacher:
            self.opened.succeed()

    @property
    def is_open(self) -> bool:
        return self.opened.triggered

    def open(self) -> None:
        if not self.opened.triggered:
            self.opened.succeed()


class Classroom:
    """Seats on the servers of one virtual-classroom service."""

    def __init__(self, name: str, servers: int, seats_per_server: int) -> None:
        self.name = name
        self.seats_per_server = seats_per_server
        self.used = [0] * servers
        self._next = 0

    def take_seat(self, klass: Klass) -> bool:
        """Seat one participant of `klass`; False when its server is full."""
        if klass.server < 0:
            klass.server = self._place()
        if self.used[klass.server] >= self.seats_per_server:
            return False
        self.used[klass.server] += 1
        return True

    def leave(self, klass: Klass) -> None:
        self.used[klass.server] -= 1

    def _place(self) -> int:
        """The next server in turn that has a free seat (or the next one if all are full)."""
        n = len(self.used)
        for step in range(n):
            index = (self._next + step) % n
            if self.used[index] < self.seats_per_server:
                self._next = (index + 1) % n
                return index
        index = self._next
        self._next = (index + 1) % n
        return index
