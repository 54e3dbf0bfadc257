"""The bot's conversation state in Azure Blob Storage, for several `kcpf serve` processes behind a balancer.

State: the Agents SDK's own `BlobStorage` (`microsoft-agents-storage-blob`). It writes each state record as
one blob of the JSON its `store_item_to_json` gives (our records in bot/records.py are plain JSON) and reads
it back through `from_json_to_store_item`. It writes with `overwrite=True` and keeps no eTag: the last write
wins. That is why the turns need a lock that every process sees (below).

One turn at a time per conversation across processes (`BlobTurns`, a `bot.turns.TurnGuard`): a turn takes a
blob lease on a small lock blob named after its conversation before it uses the conversation's state, reads
the state again, and releases the lease after the state is saved. The lease is renewed while the turn runs,
so a long turn (a Word report) keeps it, and it expires by itself 15 seconds after a crashed process last
renewed it, so a conversation is never stuck. A turn that cannot take the lease within `wait` seconds (under
the 15 seconds Azure Bot Service gives a turn) is not run: the officer is told to send it again.

Why a lease and not eTag-conditional writes with the turn re-run on a conflict: a turn is not only a state
change. It may write to the register (an assessment saved, a proposal made), notify T&P and SMT and reply in
chat, and none of that can be taken back when its state write is refused; re-running it would save or notify
twice. The SDK's BlobStorage has no eTag support either. A lease serialises the whole turn, side effects
included, at the cost of three blob round trips (take, read the state again, release: about 10 ms a turn
on Azurite here, against 40 to 45 without). The lock blobs stay, one empty blob per conversation. In one
process the asyncio lock
(`bot.turns.LocalTurns`) is still used first, so turns of one process queue in memory rather than on the
blob. If a lease is lost while a turn runs (the storage unreachable for 15 seconds), the turn still finishes
and the loss is logged: its answers are kept, though another process may have run a turn alongside it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob.aio import BlobLeaseClient, BlobServiceClient, ContainerClient, LinearRetry
from microsoft_agents.storage.blob import BlobStorage, BlobStorageConfig

from bot.turns import STATE_UNAVAILABLE, LocalTurns, StateUnavailable, TurnBusy
from kcpf.errors import KcpfError

log = logging.getLogger("kcpf.bot.state")

LEASE_SECONDS = 15  # the shortest lease Azure Storage grants
RENEW_SECONDS = 5.0
WAIT_SECONDS = 10.0  # for another process's turn of the same conversation to finish
LEASES = "kcpf-turn-leases/"  # lock blobs, beside the state blobs in the same container
BUSY = (
    "I am still working on your previous message in this conversation. "
    "Please send this one again in a moment."
)


class BlobStateUnavailable(KcpfError):
    """The storage account cannot be used: the message says why, without the connection string."""


class BlobState:
    """The Blob container holding the bot's state, and the turn guard that goes with it."""

    def __init__(self, connection_string: str, container: str, *, wait: float = WAIT_SECONDS) -> None:
        self.storage = _TurnSizedBlobStorage(
            BlobStorageConfig(container, connection_string=connection_string)
        )
        self._container = ContainerClient.from_connection_string(connection_string, container, **_options())
        self.turns = BlobTurns(self._container, wait=wait)

    @property
    def endpoint(self) -> str:
        """The blob service's host (no credentials), for messages."""
        return urlsplit(self._container.url).netloc

    async def start(self) -> None:
        """Create the container if it is missing; a storage account that refuses or cannot be reached stops
        start-up here rather than failing an officer's first turn."""
        try:
            await self.storage.initialize()
        except HttpResponseError as error:
            raise BlobStateUnavailable(
                f"the storage account at {self.endpoint} refused to open the container "
                f"({error.status_code} {_code(error)}). Check the account key or SAS and its "
                "permissions."
            ) from None
        except AzureError as error:
            raise BlobStateUnavailable(
                f"the storage account at {self.endpoint} cannot be reached ({type(error).__name__})."
            ) from None

    async def close(self) -> None:
        await self._container.close()
        await self.storage._close()  # the SDK's BlobStorage has no public close


def _options() -> dict[str, Any]:
    """Azure's client retries for over a minute by default (15 s backoffs), far past the 15 s a turn has: a
    few quick retries instead, and shorter timeouts, so the officer hears of a storage outage in time."""
    retry = LinearRetry(backoff=1, random_jitter_range=1, retry_total=2)  # 0 to 2 s apart
    return {"retry_policy": retry, "connection_timeout": 4, "read_timeout": 8}


class _TurnSizedBlobStorage(BlobStorage):
    """The SDK's BlobStorage, its client built with `_options()` (it takes no client options itself); an
    outage is `StateUnavailable`, which the officer hears in words."""

    def _create_client(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.config.connection_string, **_options())

    async def read(self, keys: list[str], *, target_cls: Any = None, **kwargs: Any) -> Any:
        with _unavailable("read"):
            return await super().read(keys, target_cls=target_cls, **kwargs)

    async def write(self, changes: Any) -> None:
        with _unavailable("write"):
            await super().write(changes)

    async def delete(self, keys: list[str]) -> None:
        with _unavailable("delete"):
            await super().delete(keys)


@contextmanager
def _unavailable(doing: str) -> Iterator[None]:
    try:
        yield
    except AzureError as error:
        log.error("bot state: could not %s Blob storage (%s)", doing, type(error).__name__, exc_info=True)
        raise StateUnavailable(STATE_UNAVAILABLE) from None


class BlobTurns:
    """One turn at a time per conversation across processes: a blob lease held for the turn."""

    def __init__(self, container: ContainerClient, *, wait: float = WAIT_SECONDS) -> None:
        self._container = container
        self._local = LocalTurns()
        self.wait = wait

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        async with self._local.hold(key):
            lease = await self._acquire(key)
            renewing = asyncio.create_task(self._renew(lease, key))
            try:
                # Always read again: another process may have saved the state since this turn read it.
                yield True
            finally:
                renewing.cancel()
                with suppress(asyncio.CancelledError):
                    await renewing
                try:
                    await lease.release()
                except AzureError:  # it expires by itself within LEASE_SECONDS
                    log.warning("could not release the turn lease of %s", key, exc_info=True)

    async def _acquire(self, key: str) -> BlobLeaseClient:
        with _unavailable("hold a conversation in"):
            return await self._acquire_lease(key)

    async def _acquire_lease(self, key: str) -> BlobLeaseClient:
        blob = self._container.get_blob_client(lease_blob(key))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        delay = 0.02
        while True:
            lease = BlobLeaseClient(blob)
            try:
                await lease.acquire(lease_duration=LEASE_SECONDS)
                return lease
            except ResourceNotFoundError as error:
                if _code(error) != "BlobNotFound":
                    raise
                with suppress(ResourceExistsError):  # the first turn of this conversation anywhere
                    await blob.upload_blob(b"", overwrite=False)
                continue
            except ResourceExistsError as error:
                if _code(error) != "LeaseAlreadyPresent":
                    raise
            if loop.time() + delay > deadline:
                log.warning("turn refused: %s was held by another turn for %.0f s", key, self.wait)
                raise TurnBusy(BUSY)
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))  # jitter: processes do not poll in step
            delay = min(delay * 2, 0.25)

    async def _renew(self, lease: BlobLeaseClient, key: str) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await lease.renew()
            except AzureError:
                log.error(
                    "could not renew the turn lease of %s: another process may run a turn of it alongside",
                    key,
                    exc_info=True,
                )
                return


def lease_blob(key: str) -> str:
    """The lock blob of a conversation: its state key hashed (Teams conversation ids are long and varied)."""
    return LEASES + hashlib.sha256(key.encode()).hexdigest()


def _code(error: HttpResponseError) -> str:
    """Azure Storage's error code (set on the exception by azure-storage-blob, untyped)."""
    return str(getattr(error, "error_code", "") or "")
