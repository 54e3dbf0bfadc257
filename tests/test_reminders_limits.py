"""Teams' per-conversation send limits and Retry-After, on a simulated clock (the limiter itself; the real
path through the SDK to the connector stand-in is in test_reminders_sending.py)."""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bot.proactive import TEAMS_PER_CONVERSATION, RateLimiter, Window, retry_after


class SimulatedTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)  # let others run, as a real sleep would


async def _send(limiter: RateLimiter, time: SimulatedTime, count: int, key: str = "a") -> list[float]:
    sent = []
    for _ in range(count):
        async with limiter.slot(key):
            sent.append(time.now)
    return sent


def _most_within(times: list[float], seconds: float) -> int:
    """The most requests in any window of `seconds` (times are in order)."""
    return max(bisect_left(times, start + seconds) - i for i, start in enumerate(times))


async def test_every_teams_window_is_kept_over_an_hour_and_more() -> None:
    time = SimulatedTime()
    limiter = RateLimiter(TEAMS_PER_CONVERSATION, clock=time.clock, sleep=time.sleep)
    times = await _send(limiter, time, 1801)
    assert _most_within(times, 1) == 7
    assert _most_within(times, 2) == 8
    assert _most_within(times, 30) == 60
    assert _most_within(times, 3600) == 1800
    assert times[1800] - times[0] >= 3600  # the 1,801st waits for the hour


async def test_conversations_have_their_own_windows() -> None:
    time = SimulatedTime()
    limiter = RateLimiter(TEAMS_PER_CONVERSATION, clock=time.clock, sleep=time.sleep)
    await _send(limiter, time, 8, "a")
    assert time.now >= 1  # the 8th to "a" waited
    waited = time.now
    assert await _send(limiter, time, 7, "b") == [waited] * 7  # "b" did not


async def test_a_request_counts_from_when_its_answer_came_back() -> None:
    time = SimulatedTime()
    limiter = RateLimiter([Window(1, 1)], clock=time.clock, sleep=time.sleep)
    async with limiter.slot("a"):
        time.now += 0.5  # answered half a second after it left
    assert await _send(limiter, time, 1) == [1.5]


async def test_a_request_in_flight_holds_its_place_until_answered() -> None:
    time = SimulatedTime()
    limiter = RateLimiter([Window(1, 1)], clock=time.clock, sleep=time.sleep)
    started, answered = asyncio.Event(), asyncio.Event()
    back: list[float] = []

    async def slow() -> None:
        async with limiter.slot("a"):
            started.set()
            await answered.wait()
            back.append(time.now)  # its answer came back

    first = asyncio.create_task(slow())
    await started.wait()
    second = asyncio.create_task(_send(limiter, time, 1))
    for _ in range(100):
        await asyncio.sleep(0)
    assert not second.done()
    answered.set()
    await first
    [when] = await second
    assert when >= back[0] + 1


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"Retry-After": "0.5"}) == 0.5
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    asked = retry_after({"Retry-After": in_a_minute})
    assert asked is not None
    assert 55 <= asked <= 60
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({}) is None
