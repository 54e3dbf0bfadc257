"""Conversation state that survives restarts: the Agents SDK's `Storage`, in SQLite in the data directory.

Items are stored as the JSON their `store_item_to_json` gives. Writes are upserts in one transaction.
Statements run on the event loop: a local WAL file answers in microseconds, and a hand-off to a worker thread
costs ten times the statement (measured by the bot benchmark).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, TypeVar

from microsoft_agents.hosting.core.storage import Storage, StoreItem

StoreItemT = TypeVar("StoreItemT", bound=StoreItem)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)
"""


class SqliteStorage(Storage):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    async def read(
        self, keys: list[str], *, target_cls: type[StoreItemT] | None = None, **kwargs: Any
    ) -> dict[str, StoreItemT]:
        if not keys:
            raise ValueError("Storage.read(): keys are required.")
        if target_cls is None:
            raise ValueError("Storage.read(): target_cls is required.")
        rows = self._read(keys)
        return {key: target_cls.from_json_to_store_item(json.loads(data)) for key, data in rows}  # type: ignore[misc]

    async def write(self, changes: dict[str, StoreItem]) -> None:
        if not changes:
            raise ValueError("Storage.write(): changes are required.")
        rows = [(key, json.dumps(item.store_item_to_json(), default=str)) for key, item in changes.items()]
        self._write(rows)

    async def claim(
        self, key: str, item: StoreItem, *, unless: Callable[[MutableMapping[str, Any]], bool]
    ) -> bool:
        """Write `item` at `key` unless what is there satisfies `unless`, in one transaction: SQLite's write
        lock makes it one step for every process sharing the file. True if written."""
        data = json.dumps(item.store_item_to_json(), default=str)
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                row = self._connection.execute("SELECT data FROM state WHERE key = ?", (key,)).fetchone()
                if row is not None and unless(json.loads(row[0])):
                    self._connection.execute("ROLLBACK")
                    return False
                self._connection.execute(
                    "INSERT INTO state (key, data) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "data = excluded.data, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                    (key, data),
                )
                self._connection.execute("COMMIT")
                return True
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise

    async def delete(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("Storage.delete(): keys are required.")
        self._delete(keys)

    def _read(self, keys: list[str]) -> list[tuple[str, str]]:
        marks = ",".join("?" * len(keys))
        with self._lock:
            return list(self._connection.execute(f"SELECT key, data FROM state WHERE key IN ({marks})", keys))

    def _write(self, rows: list[tuple[str, str]]) -> None:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                self._connection.executemany(
                    "INSERT INTO state (key, data) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET data = excluded.data,"
                    " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                    rows,
                )
                self._connection.execute("COMMIT")
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise

    def _delete(self, keys: list[str]) -> None:
        marks = ",".join("?" * len(keys))
        with self._lock:
            self._connection.execute(f"DELETE FROM state WHERE key IN ({marks})", keys)
