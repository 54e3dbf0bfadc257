"""One turn at a time per conversation, so that no answer is lost.

The Agents SDK reads a conversation's state when a turn starts and writes the whole of it back when the turn
ends. Two turns of the same conversation at once (a double tap, a card submitted while a message is on its
way) would each write back what they read, and the later write would drop the earlier answer. So a turn holds
its conversation (`TurnGuard.hold`) from before its state is used until after it is saved, and reads the state
again if another turn may have changed it meanwhile.

The key is the conversation state's own storage key: that is the record a turn rewrites whole, so every turn
that rewrites it, whoever sends it, is serialised. In one process an asyncio lock does (`LocalTurns`); several
processes behind a load balancer need a lock they all see (`connectors/blob_state.py`).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from kcpf.errors import KcpfError


class TurnBusy(KcpfError):
    """The conversation could not be held in time: another turn of it is still being worked on."""


class StateUnavailable(KcpfError):
    """Where the bot keeps its conversations cannot be reached: this message was not taken."""


STATE_UNAVAILABLE = (
    "I cannot reach the store where I keep our conversation just now, so I could not take this message. "
    "Your earlier answers are kept: please send it again in a few minutes."
)


class TurnGuard(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[bool]:
        """Hold the conversation `key` for a turn; yields whether its state must be read again (another turn
        may have saved it since this one read it). Raises TurnBusy if it cannot be held in time."""
        ...


class LocalTurns:
    """The turns of one process: an asyncio lock per conversation, dropped when no turn holds or awaits it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        waited = lock.locked()  # if not, nothing can have run between the SDK's read and now
        async with lock:
            yield waited
