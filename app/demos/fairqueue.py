"""The order in which waiting demo runs get a worker: per-client FIFO lanes, round-robin.

A single FIFO lets a client that submits many runs at once hold every worker while a
classmate's one run waits behind them all. Here each client (a browser session, else an
address) has a lane; the next free worker goes to the head of the next lane in turn, so a
client with ten runs waiting gets every other turn at most when one other client waits.
Not thread-safe by itself: the pool calls it under its own lock.
"""

from __future__ import annotations

import statistics
import time
from collections import deque


class Ticket:
    """One run waiting in its client's lane."""

    __slots__ = ("client", "joined", "served")

    def __init__(self, client: str) -> None:
        self.client = client
        self.joined = time.monotonic()
        self.served = False


class FairQueue:
    """Per-client lanes served in turn, with a bounded record of recent waits."""

    def __init__(self, history: int = 200) -> None:
        # Insertion order is the turn order: the first lane is served next.
        self._lanes: dict[str, deque[Ticket]] = {}
        self._size = 0
        self.waits: deque[float] = deque(maxlen=history)  # seconds from joining to a worker
        self.runs: deque[float] = deque(maxlen=history)  # seconds a run held its worker

    def __len__(self) -> int:
        return self._size

    def join(self, client: str) -> Ticket:
        """Put a run at the end of its client's lane (a new lane takes the last turn)."""
        ticket = Ticket(client)
        self._lanes.setdefault(client, deque()).append(ticket)
        self._size += 1
        return ticket

    def is_next(self, ticket: Ticket) -> bool:
        """Whether ``ticket`` is the one the next free worker goes to."""
        for lane in self._lanes.values():
            return lane[0] is ticket
        return False

    def serve(self, ticket: Ticket) -> None:
        """Take the next ticket out; its lane, if runs remain in it, goes to the back."""
        lane = self._lanes.pop(ticket.client)
        lane.popleft()
        if lane:
            self._lanes[ticket.client] = lane
        self._size -= 1
        ticket.served = True
        self.waits.append(time.monotonic() - ticket.joined)

    def leave(self, ticket: Ticket) -> None:
        """Take out a ticket that gives up (it waited too long); a served one is gone already."""
        if ticket.served:
            return
        lane = self._lanes[ticket.client]
        lane.remove(ticket)
        if not lane:
            del self._lanes[ticket.client]
        self._size -= 1
        ticket.served = True  # out, for good: a second leave does nothing

    def ahead(self, ticket: Ticket) -> int:
        """Count the runs that get a worker before ``ticket``, as the turns stand now.

        In turn order each lane gives one run per round: before the ticket at place ``i``
        of its lane come ``i`` runs of its own lane, up to ``i`` of every other lane, and
        one more of each lane whose turn in round ``i`` comes before its own.
        """
        own = self._lanes[ticket.client]
        place = own.index(ticket)
        count, before = place, True
        for client, lane in self._lanes.items():
            if client == ticket.client:
                before = False
                continue
            count += min(len(lane), place + 1 if before else place)
        return count

    def percentiles(self) -> dict[str, float | None]:
        """Return the median and 95th percentile of recent waits, in milliseconds."""
        if not self.waits:
            return {"p50_ms": None, "p95_ms": None}
        waits = sorted(self.waits)
        pick = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))]
        median = statistics.median(waits)
        return {"p50_ms": round(median * 1000, 1), "p95_ms": round(pick * 1000, 1)}

    def drain_estimate(self, workers: int, queued: int) -> float:
        """Estimate the seconds until ``queued`` runs have had a worker, from recent runs."""
        typical = statistics.median(self.runs) if self.runs else 1.0
        return queued * typical / max(1, workers)
