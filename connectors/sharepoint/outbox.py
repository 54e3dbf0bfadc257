"""The durable outbox: nothing an officer submitted is lost when SharePoint is slow or down.

Each write to SharePoint is recorded here (one SQLite file in the data directory, WAL) before anything is
sent: its operations, each with an idempotency key that is stored in the item's `KcpfWriteId` column. An
operation is marked *sent* before it goes out and *applied* when SharePoint confirms it; one that was sent
but never confirmed (a lost response, a killed process) is looked up by its key before it is sent again, so
it is applied exactly once. A worker thread retries what is pending with capped, jittered backoff, and a new
process picks up where a killed one stopped.

The bot hears about writes through `subscribe`: a `Receipt` when a write is applied (at once or later), when
it is kept pending, when it is still not saved after `still_failing_attempts` attempts or
`still_failing_after` seconds (told once), and when SharePoint refused it (someone else's change).
"""

from __future__ import annotations

import fcntl
import json
import logging
import random as random_module
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

log = logging.getLogger("kcpf.outbox")

OUTBOX_FILE: Final = "sharepoint-outbox.sqlite3"


class WriteState(StrEnum):
    APPLIED = "applied"
    PENDING = "pending"
    STILL_FAILING = "still-failing"
    REFUSED = "refused"


@dataclass(frozen=True)
class Operation:
    """One item write: create an item in a list, or update an arrangement from `from_version`."""

    list: str
    kind: str  # "create" | "update"
    reference: str
    fields: dict[str, Any]
    write_id: str
    from_version: int = 0


@dataclass
class PendingWrite:
    """One accepted write (a save or an import) and how far it got."""

    key: str
    actor: str
    action: str
    created_at: float  # epoch seconds
    operations: list[Operation]
    sent: set[int] = field(default_factory=set)
    applied: set[int] = field(default_factory=set)
    attempts: int = 0
    warned: bool = False
    announced: bool = False  # the officer was told it is pending, so tell them again when it is applied

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(op.reference for op in self.operations))

    @property
    def done(self) -> bool:
        return len(self.applied) == len(self.operations)


@dataclass(frozen=True)
class Receipt:
    """What happened to a write, in words for the officer who made it."""

    key: str
    state: WriteState
    actor: str
    action: str
    references: tuple[str, ...]
    message: str
    attempts: int = 0


Listener = Callable[[Receipt], None]

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS writes (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        created_at REAL NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        warned INTEGER NOT NULL DEFAULT 0,
        announced INTEGER NOT NULL DEFAULT 0,
        message TEXT NOT NULL DEFAULT '',
        finished_at REAL
    )""",
    """CREATE TABLE IF NOT EXISTS operations (
        key TEXT NOT NULL REFERENCES writes (key),
        n INTEGER NOT NULL,
        list TEXT NOT NULL,
        kind TEXT NOT NULL,
        reference TEXT NOT NULL,
        from_version INTEGER NOT NULL,
        write_id TEXT NOT NULL UNIQUE,
        fields TEXT NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0,
        applied INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (key, n)
    )""",
    "CREATE INDEX IF NOT EXISTS writes_state ON writes (state)",
)


def describe(write: PendingWrite, state: WriteState, detail: str = "") -> str:
    what = f"Your change to {', '.join(write.references)} ({write.action})"
    if state is WriteState.APPLIED:
        return f"{what} is saved in SharePoint."
    if state is WriteState.PENDING:
        return (
            f"{what} is safely recorded, but SharePoint is not answering just now. KCPF keeps trying "
            "and will tell you when it is saved."
        )
    if state is WriteState.STILL_FAILING:
        return (
            f"{what} is still not saved in SharePoint after {write.attempts} attempts ({detail}). It is kept "
            "safely and KCPF keeps trying; nothing needs doing unless T&P ask."
        )
    return f"{what} was not saved: {detail}"


class Outbox:
    """The outbox file. Thread-safe; one process at a time applies it (the bot, or the CLI)."""

    def __init__(
        self,
        path: Path | str,
        *,
        still_failing_attempts: int = 5,
        still_failing_after: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(path)
        self.still_failing_attempts = still_failing_attempts
        self.still_failing_after = still_failing_after
        self._clock = clock
        self._lock = threading.RLock()
        self._applier = threading.Lock()
        self._listeners: list[Listener] = []
        self._lock_file = open(f"{self.path}.lock", "a+b")  # noqa: SIM115 - held open while the outbox is
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode = WAL")
        # FULL: a write the officer was told is safe survives a power cut, not only a killed process.
        self._db.execute("PRAGMA synchronous = FULL")
        with self._transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._lock_file.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    # Events

    def subscribe(self, listener: Listener) -> None:
        """`listener` hears every receipt from now on (called from the thread that applied the write)."""
        with self._lock:
            self._listeners.append(listener)

    def emit(self, receipt: Receipt) -> None:
        for listener in list(self._listeners):
            try:
                listener(receipt)
            except Exception:  # a listener's bug must not stop writes being applied
                log.exception("outbox listener failed for write %s", receipt.key)

    # Writes

    def record(self, write: PendingWrite) -> None:
        """Keep the write durably, all operations or none; a key already recorded is an error."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO writes (key, actor, action, created_at, state) VALUES (?, ?, ?, ?, ?)",
                (write.key, write.actor, write.action, write.created_at, WriteState.PENDING.value),
            )
            db.executemany(
                "INSERT INTO operations (key, n, list, kind, reference, from_version, write_id, fields)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        write.key,
                        n,
                        op.list,
                        op.kind,
                        op.reference,
                        op.from_version,
                        op.write_id,
                        json.dumps(op.fields, separators=(",", ":")),
                    )
                    for n, op in enumerate(write.operations)
                ],
            )

    def receipt(self, key: str) -> Receipt | None:
        """What became of the write with this key (None: never recorded)."""
        with self._lock:
            row = self._db.execute(
                "SELECT actor, action, state, attempts, message FROM writes WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            references = [
                r[0]
                for r in self._db.execute(
                    "SELECT DISTINCT reference FROM operations WHERE key = ? ORDER BY n", (key,)
                )
            ]
        actor, action, state, attempts, message = row
        return Receipt(key, WriteState(state), actor, action, tuple(references), message, attempts)

    def operations(self, key: str) -> list[Operation]:
        """The operations of a write, whatever became of it."""
        with self._lock:
            rows = self._db.execute(
                "SELECT list, kind, reference, fields, write_id, from_version FROM operations"
                " WHERE key = ? ORDER BY n",
                (key,),
            ).fetchall()
        return [
            Operation(lst, kind, ref, json.loads(fields), wid, ver)
            for lst, kind, ref, fields, wid, ver in rows
        ]

    def pending(self) -> list[PendingWrite]:
        """Every write not yet applied or refused, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT w.key, w.actor, w.action, w.created_at, w.attempts, w.warned, w.announced,"
                " o.n, o.list, o.kind, o.reference, o.from_version, o.write_id, o.fields, o.sent, o.applied"
                " FROM writes w JOIN operations o ON o.key = w.key WHERE w.state IN (?, ?)"
                " ORDER BY w.number, o.n",
                (WriteState.PENDING.value, WriteState.STILL_FAILING.value),
            ).fetchall()
        writes: dict[str, PendingWrite] = {}
        for row in rows:
            key, actor, action, created_at, attempts, warned, announced = row[:7]
            n, list_key, kind, reference, from_version, write_id, fields, sent, applied = row[7:]
            write = writes.get(key)
            if write is None:
                write = writes[key] = PendingWrite(key, actor, action, created_at, [], attempts=attempts)
                write.warned, write.announced = bool(warned), bool(announced)
            write.operations.append(
                Operation(list_key, kind, reference, json.loads(fields), write_id, from_version)
            )
            if sent:
                write.sent.add(n)
            if applied:
                write.applied.add(n)
        return list(writes.values())

    @contextmanager
    def applying(self) -> Iterator[bool]:
        """Whether this process may apply the outbox now: one process at a time does (an exclusive lock on
        a file next to it), so the bot and a CLI command sharing the data directory never send the same
        write twice. The others only record; the one applying picks their writes up."""
        with self._applier:  # one thread of this process; the file lock keeps other processes out
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def mark_sent(self, marks: Sequence[tuple[str, int]]) -> None:
        """Before sending: after a crash these are looked up by key, never blindly sent again."""
        with self._transaction() as db:
            db.executemany("UPDATE operations SET sent = 1 WHERE key = ? AND n = ?", marks)

    def mark_applied(self, marks: Sequence[tuple[str, int]]) -> None:
        with self._transaction() as db:
            db.executemany("UPDATE operations SET sent = 1, applied = 1 WHERE key = ? AND n = ?", marks)

    def finish(self, writes: Sequence[PendingWrite]) -> list[Receipt]:
        """Every operation of these writes is applied: they are done (one transaction)."""
        receipts = [
            Receipt(
                write.key,
                WriteState.APPLIED,
                write.actor,
                write.action,
                write.references,
                describe(write, WriteState.APPLIED),
                write.attempts,
            )
            for write in writes
        ]
        with self._transaction() as db:
            db.executemany(
                "UPDATE writes SET state = ?, message = ?, attempts = ?, finished_at = ? WHERE key = ?",
                [
                    (r.state.value, r.message, w.attempts, self._clock(), w.key)
                    for w, r in zip(writes, receipts, strict=True)
                ],
            )
        return receipts

    def refuse(self, write: PendingWrite, reason: str) -> Receipt:
        """SharePoint will never accept the rest of it (someone else's change): stop and say why."""
        receipt = Receipt(
            write.key,
            WriteState.REFUSED,
            write.actor,
            write.action,
            write.references,
            describe(write, WriteState.REFUSED, reason),
            write.attempts,
        )
        self._close(write, receipt)
        return receipt

    def _close(self, write: PendingWrite, receipt: Receipt) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE writes SET state = ?, message = ?, attempts = ?, finished_at = ? WHERE key = ?",
                (receipt.state.value, receipt.message, write.attempts, self._clock(), write.key),
            )

    def announce(self, write: PendingWrite) -> Receipt:
        """The officer is told the write is pending; they will be told again when it is applied."""
        write.announced = True
        with self._transaction() as db:
            db.execute("UPDATE writes SET announced = 1 WHERE key = ?", (write.key,))
        return Receipt(
            write.key,
            WriteState.PENDING,
            write.actor,
            write.action,
            write.references,
            describe(write, WriteState.PENDING),
            write.attempts,
        )

    def failed_attempts(self, writes: Sequence[PendingWrite], error: str) -> list[Receipt]:
        """Count an attempt that failed for a passing reason (one transaction for all); a receipt for each
        write that has now failed for too long (once per write)."""
        now = self._clock()
        warnings = []
        rows = []
        for write in writes:
            write.attempts += 1
            overdue = (
                write.attempts >= self.still_failing_attempts
                or now - write.created_at >= self.still_failing_after
            )
            if overdue and not write.warned:
                write.warned = True
                warnings.append(
                    Receipt(
                        write.key,
                        WriteState.STILL_FAILING,
                        write.actor,
                        write.action,
                        write.references,
                        describe(write, WriteState.STILL_FAILING, error),
                        write.attempts,
                    )
                )
            state = WriteState.STILL_FAILING if write.warned else WriteState.PENDING
            rows.append((write.attempts, int(write.warned), state.value, error, write.key))
        if rows:
            with self._transaction() as db:
                db.executemany(
                    "UPDATE writes SET attempts = ?, warned = ?, state = ?, message = ? WHERE key = ?", rows
                )
        return warnings

    # For T&P: `kcpf sharepoint outbox`

    def report(self) -> list[str]:
        """One line per write not yet in SharePoint, oldest first."""
        lines = []
        for write in self.pending():
            when = datetime.fromtimestamp(write.created_at, UTC).strftime("%d %b %Y %H:%M UTC")
            with self._lock:
                (message,) = self._db.execute(
                    "SELECT message FROM writes WHERE key = ?", (write.key,)
                ).fetchone()
            done = f"{len(write.applied)} of {len(write.operations)} items written"
            tried = f"{write.attempts} failed attempt{'s' if write.attempts != 1 else ''}"
            last = f"; last: {message}" if message else ""
            what = f"{write.action} {', '.join(write.references)}"
            lines.append(f"{when}  {write.actor}  {what}  ({done}, {tried}{last})  key {write.key}")
        return lines


class OutboxWorker:
    """Applies what is pending in the background: at once when woken, then with capped, jittered backoff
    while SharePoint keeps failing, and never before the time SharePoint gave (`hold`: seconds left of its
    Retry-After). `flush` returns True while something is still pending."""

    def __init__(
        self,
        flush: Callable[[], bool],
        *,
        interval: float = 30.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        random: Callable[[], float] = random_module.random,
        hold: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self._flush = flush
        self._hold = hold
        self._interval = interval
        self._base = backoff_base
        self._cap = backoff_cap
        self._random = random
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kcpf-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                pending = self._flush()
            except Exception:  # logged and retried: the worker must outlive any one failure
                log.exception("applying the SharePoint outbox failed")
                pending = True
            failures = failures + 1 if pending else 0
            # Full jitter: many bots restarted together do not retry in step.
            delay = self._random() * min(self._cap, self._base * 2.0 ** (failures - 1)) if pending else None
            if delay is not None:
                delay = max(delay, self._hold())
            self._wake.wait(self._interval if delay is None else delay)
            self._wake.clear()
