"""Faults the fake injects, on a schedule or at random (seeded), to each HTTP request and, for the kinds
that make sense there, to each `$batch` sub-request."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

Kind = Literal["throttle", "unavailable", "timeout", "drop", "drop-after"]
SUB_REQUEST_KINDS: frozenset[str] = frozenset({"throttle", "unavailable"})


@dataclass(frozen=True)
class Fault:
    """throttle: 429 with Retry-After; unavailable: 503 (with Retry-After if given); timeout: hang `delay`
    seconds, then answer (the write is applied late, as a slow server does); drop: close the connection
    without doing anything; drop-after: do the request, then close the connection without an answer."""

    kind: Kind
    retry_after: float | None = 1.0
    delay: float = 5.0
    only: str | None = None  # apply only to requests whose path contains this ("/upload/", "/items")

    def applies_to(self, path: str) -> bool:
        return self.only is None or self.only in path


class Faults:
    """Thread-safe. `schedule` queues faults for the next requests in order; `random` fails a share of
    requests; `clear` stops both. `injected` counts what was injected, by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._rate = 0.0
        self._kinds: tuple[Fault, ...] = ()
        self._random = random.Random(0)
        self.injected: dict[str, int] = {}
        self.include_sub_requests = True

    def schedule(self, *faults: Fault) -> None:
        with self._lock:
            self._queue.extend(faults)

    def random(self, rate: float, kinds: tuple[Fault, ...], *, seed: int = 0) -> None:
        if not 0.0 <= rate <= 1.0 or not kinds:
            raise ValueError("rate between 0 and 1 and at least one kind of fault")
        with self._lock:
            self._rate, self._kinds, self._random = rate, kinds, random.Random(seed)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._rate, self._kinds = 0.0, ()

    def next(self, path: str, *, sub_request: bool = False) -> Fault | None:
        """The fault for this request (path without the query), if any."""
        with self._lock:
            if sub_request and not self.include_sub_requests:
                return None
            head = self._queue[0] if self._queue else None
            if head and head.applies_to(path) and (not sub_request or head.kind in SUB_REQUEST_KINDS):
                fault = self._queue.popleft()
            elif self._rate and self._random.random() < self._rate:
                kinds = [
                    k
                    for k in self._kinds
                    if k.applies_to(path) and (not sub_request or k.kind in SUB_REQUEST_KINDS)
                ]
                if not kinds:
                    return None
                fault = self._random.choice(kinds)
            else:
                return None
            self.injected[fault.kind] = self.injected.get(fault.kind, 0) + 1
            return fault
