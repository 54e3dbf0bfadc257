"""The register kept in one SQLite file: the `kcpf.ports.Register` adapter for a single server or a laptop.

Arrangements are stored as `to_data` JSON, with a few copied columns to filter on. Records and the audit log
are append-only (triggers refuse UPDATE and DELETE). Every write is one `BEGIN IMMEDIATE` transaction, so the
version check and the write cannot be split by another process sharing the file.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

from kcpf.assessment import Assessment
from kcpf.errors import Conflict, InvalidInput, KcpfError, NotFound
from kcpf.governance import GovernanceReview
from kcpf.model import Arrangement, Council, Status, format_reference
from kcpf.monitoring import MonitoringUpdate
from kcpf.records import (
    AuditEntry,
    Record,
    SmtDecision,
    arrangement_changes,
    from_data,
    record_summary,
    to_data,
)

T = TypeVar("T")


class SchemaTooNew(KcpfError):
    """The file was written by a newer KCPF: opening it with this version could damage it."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def _append_only(table: str) -> tuple[str, ...]:
    return tuple(
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be changed or removed'); END"
        for verb in ("UPDATE", "DELETE")
    )


_RECORD_TABLES: Final = ("assessments", "smt_decisions", "governance_reviews", "monitoring_updates")

# Ordered and append-only: a released step is never edited; a change to the schema is a new step at the end.
MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "tables",
        (
            # AUTOINCREMENT: a number once given (KCP-0001) is never given again, even if a row were removed.
            """CREATE TABLE arrangements (
                number INTEGER PRIMARY KEY AUTOINCREMENT,
                reference TEXT NOT NULL UNIQUE,
                council TEXT NOT NULL,
                status TEXT NOT NULL,
                officer_email TEXT,
                title TEXT NOT NULL,
                version INTEGER NOT NULL CHECK (version >= 1),
                data TEXT NOT NULL
            )""",
            "CREATE INDEX arrangements_council ON arrangements (council)",
            "CREATE INDEX arrangements_status ON arrangements (status)",
            "CREATE INDEX arrangements_officer ON arrangements (officer_email)",
            """CREATE TABLE assessments (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                reference TEXT NOT NULL REFERENCES arrangements (reference),
                framework_version TEXT NOT NULL,
                assessed_at TEXT NOT NULL,
                data TEXT NOT NULL
            )""",
            """CREATE TABLE smt_decisions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                reference TEXT NOT NULL REFERENCES arrangements (reference),
                decision TEXT NOT NULL,
                decided_at TEXT NOT NULL,
                data TEXT NOT NULL
            )""",
            """CREATE TABLE governance_reviews (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                reference TEXT NOT NULL REFERENCES arrangements (reference),
                framework_version TEXT NOT NULL,
                completed_at TEXT NOT NULL,
                data TEXT NOT NULL
            )""",
            """CREATE TABLE monitoring_updates (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                reference TEXT NOT NULL REFERENCES arrangements (reference),
                period TEXT NOT NULL,
                submitted_at TEXT NOT NULL,
                data TEXT NOT NULL
            )""",
            *(f"CREATE INDEX {table}_reference ON {table} (reference)" for table in _RECORD_TABLES),
            "CREATE INDEX monitoring_updates_period ON monitoring_updates (period)",
            """CREATE TABLE audit_log (
                sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                reference TEXT NOT NULL,
                action TEXT NOT NULL,
                changes TEXT NOT NULL
            )""",
            "CREATE INDEX audit_log_reference ON audit_log (reference)",
        ),
    ),
    Migration(
        2,
        "append-only audit log and records; arrangements are never deleted",
        (
            *_append_only("audit_log"),
            *(statement for table in _RECORD_TABLES for statement in _append_only(table)),
            "CREATE TRIGGER arrangements_no_delete BEFORE DELETE ON arrangements "
            "BEGIN SELECT RAISE(ABORT, 'arrangements are never deleted: record that they ended'); END",
        ),
    ),
)


def schema_version(connection: sqlite3.Connection) -> int:
    """The last migration applied to the file (0 for a new file)."""
    row = connection.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(connection: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the steps the file does not have yet, each in its own transaction; return the versions applied.

    `connection` must be in autocommit mode (isolation_level=None). A file newer than `migrations` is refused.
    """
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    known = migrations[-1].version if migrations else 0
    _refuse_newer(schema_version(connection), known)
    applied: list[int] = []
    for step in migrations:
        if step.version <= schema_version(connection):
            continue
        # IMMEDIATE, then read the version again: two processes opening a new file cannot both apply it.
        connection.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(connection)
            _refuse_newer(current, known)
            if step.version > current:
                for statement in step.statements:
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (step.version, step.name, datetime.now(UTC).isoformat()),
                )
                applied.append(step.version)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    return applied


def _refuse_newer(current: int, known: int) -> None:
    if current > known:
        raise SchemaTooNew(
            f"This register file uses schema version {current}, but this KCPF only knows versions up to "
            f"{known}. It was written by a newer KCPF: upgrade KCPF to open it. The file was not changed."
        )


@dataclass(frozen=True)
class _RecordTable:
    """Where a record type is kept, and the query columns copied out of it besides `reference` and `data`."""

    name: str
    columns: tuple[str, ...]
    values: Callable[[Any], tuple[str, ...]]

    @property
    def insert(self) -> str:
        names = ", ".join(("reference", *self.columns, "data"))
        return f"INSERT INTO {self.name} ({names}) VALUES ({', '.join('?' * (len(self.columns) + 2))})"


_RECORD_TABLES_BY_TYPE: Final[dict[type[Any], _RecordTable]] = {
    Assessment: _RecordTable(
        "assessments",
        ("framework_version", "assessed_at"),
        lambda r: (r.framework_version, r.assessed_at.isoformat()),
    ),
    SmtDecision: _RecordTable(
        "smt_decisions", ("decision", "decided_at"), lambda r: (r.decision.value, r.decided_at.isoformat())
    ),
    GovernanceReview: _RecordTable(
        "governance_reviews",
        ("framework_version", "completed_at"),
        lambda r: (r.framework_version, r.completed_at.isoformat()),
    ),
    MonitoringUpdate: _RecordTable(
        "monitoring_updates", ("period", "submitted_at"), lambda r: (r.period, r.submitted_at.isoformat())
    ),
}


def _json(value: Any) -> str:
    return json.dumps(to_data(value), ensure_ascii=False, separators=(",", ":"))


def _columns(stored: Arrangement) -> tuple[Any, ...]:
    """The arrangements table's columns after number and reference."""
    officer = stored.responsible_officer.email if stored.responsible_officer else None
    return (stored.council.value, stored.status.value, officer, stored.title, stored.version, _json(stored))


def _record_table(record: Record, reference: str) -> _RecordTable:
    table = _RECORD_TABLES_BY_TYPE.get(type(record))
    if table is None:
        raise InvalidInput(f"The register cannot keep a {type(record).__name__}.")
    if record.reference != reference:
        raise InvalidInput(
            f"A {type(record).__name__} for {record.reference} cannot be saved with {reference}: each "
            "record is saved with its own contract or partnership. Nothing was saved."
        )
    return table


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class SqliteRegister:
    """`kcpf.ports.Register` on one SQLite file (":memory:" for a throwaway register).

    Several processes may share the file: WAL lets readers carry on during a write, and a writer waits up to
    `busy_timeout` seconds for another before giving up with `Conflict`.
    """

    def __init__(self, path: Path | str, *, busy_timeout: float = 5.0) -> None:
        self.path = str(path)
        # Autocommit mode: transactions are begun explicitly, so each write is exactly one transaction.
        # check_same_thread off, guarded by a lock, so a bot may call from worker threads.
        self._connection = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.RLock()
        try:
            self._connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._connection.execute("PRAGMA foreign_keys = ON")
            with self._translated():
                self._connection.execute("PRAGMA journal_mode = WAL")
                self.applied_migrations = migrate(self._connection)
        except sqlite3.DatabaseError as error:
            self._connection.close()
            raise InvalidInput(f"{self.path} is not a KCPF register that can be opened: {error}.") from error
        except BaseException:
            self._connection.close()
            raise

    @property
    def schema_version(self) -> int:
        with self._lock:
            return schema_version(self._connection)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> SqliteRegister:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # Writes

    def save(
        self,
        arrangement: Arrangement,
        *,
        action: str,
        actor: str,
        at: datetime,
        records: Sequence[Record] = (),
    ) -> Arrangement:
        return self._write([(arrangement, records)], action=action, actor=actor, at=at)[0]

    def save_many(
        self, arrangements: Sequence[Arrangement], *, action: str, actor: str, at: datetime
    ) -> list[Arrangement]:
        return self._write([(a, ()) for a in arrangements], action=action, actor=actor, at=at)

    def _write(
        self,
        items: Sequence[tuple[Arrangement, Sequence[Record]]],
        *,
        action: str,
        actor: str,
        at: datetime,
    ) -> list[Arrangement]:
        stored_all: list[Arrangement] = []
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        record_rows: dict[str, list[tuple[Any, ...]]] = {}
        audit_rows: list[tuple[Any, ...]] = []
        # What this write stored so far: a later item for the same arrangement is checked against it.
        written: dict[str, Arrangement] = {}
        with self._transaction() as db:
            # The write lock is held, so no other process can take the same number.
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'arrangements'").fetchone()
            next_number = int(row[0]) + 1 if row else 1
            for arrangement, records in items:
                before: Arrangement | None
                if arrangement.reference is None:
                    before = None
                    reference = format_reference(next_number)
                    stored = dataclasses.replace(arrangement, reference=reference, version=1)
                    inserts.append((next_number, reference, *_columns(stored)))
                    next_number += 1
                else:
                    reference = arrangement.reference
                    before = self._current(db, arrangement, written.get(reference))
                    stored = dataclasses.replace(arrangement, version=before.version + 1)
                    updates.append((*_columns(stored), reference, before.version))
                changes = list(arrangement_changes(before, stored))
                for record in records:
                    table = _record_table(record, reference)
                    record_rows.setdefault(table.insert, []).append(
                        (reference, *table.values(record), _json(record))
                    )
                    changes.append(record_summary(record))
                audit_rows.append((at.isoformat(), actor, reference, action, json.dumps(changes)))
                stored_all.append(stored)
                written[reference] = stored
            db.executemany(
                "INSERT INTO arrangements"
                " (number, reference, council, status, officer_email, title, version, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                inserts,
            )
            updated = db.executemany(
                "UPDATE arrangements SET council = ?, status = ?, officer_email = ?, title = ?, version = ?,"
                " data = ? WHERE reference = ? AND version = ?",
                updates,
            )
            # Cannot differ while the write lock is held; checked so a lost update could never pass silently.
            if updated.rowcount != len(updates):
                raise Conflict("The register changed during this write. Nothing was saved: try again.")
            for insert, rows in record_rows.items():
                db.executemany(insert, rows)
            db.executemany(
                "INSERT INTO audit_log (at, actor, reference, action, changes) VALUES (?, ?, ?, ?, ?)",
                audit_rows,
            )
        return stored_all

    def _current(
        self, db: sqlite3.Connection, arrangement: Arrangement, written: Arrangement | None
    ) -> Arrangement:
        """The stored arrangement, if the caller read its latest version; else NotFound or Conflict."""
        stored = written
        if stored is None:
            row = db.execute(
                "SELECT data FROM arrangements WHERE reference = ?", (arrangement.reference,)
            ).fetchone()
            if row is None:
                raise NotFound(
                    f"There is no contract or partnership {arrangement.reference} on the register."
                )
            stored = from_data(Arrangement, json.loads(row[0]))
        if stored.version != arrangement.version:
            last = db.execute(
                "SELECT actor, at, action FROM audit_log WHERE reference = ? ORDER BY sequence DESC LIMIT 1",
                (arrangement.reference,),
            ).fetchone()
            who = f" ({last[0]}, {datetime.fromisoformat(last[1]):%d %b %Y %H:%M}: {last[2]})" if last else ""
            raise Conflict(
                f"{arrangement.reference} was changed by someone else since you read it{who}. Nothing was "
                "overwritten and nothing was saved: open it again to see their change, then make yours."
            )
        return stored

    # Reads

    def get(self, reference: str) -> Arrangement:
        rows = self._query("SELECT data FROM arrangements WHERE reference = ?", (reference,))
        if not rows:
            raise NotFound(f"There is no contract or partnership {reference} on the register.")
        return from_data(Arrangement, json.loads(rows[0][0]))

    def arrangements(
        self,
        *,
        council: Council | None = None,
        status: Status | None = None,
        officer: str | None = None,
    ) -> list[Arrangement]:
        where: list[str] = []
        values: list[str] = []
        if council is Council.SHARED:
            where.append("council = ?")
            values.append(Council.SHARED.value)
        elif council is not None:
            # A shared arrangement is on both councils' registers.
            where.append("council IN (?, ?)")
            values += [council.value, Council.SHARED.value]
        if status is not None:
            where.append("status = ?")
            values.append(status.value)
        if officer is not None:
            where.append("officer_email = ?")
            values.append(officer.strip().lower())
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._query(f"SELECT data FROM arrangements{clause} ORDER BY number", values)
        return [from_data(Arrangement, json.loads(row[0])) for row in rows]

    def assessments(self, reference: str | None = None) -> list[Assessment]:
        return self._records(Assessment, reference)

    def decisions(self, reference: str | None = None) -> list[SmtDecision]:
        return self._records(SmtDecision, reference)

    def governance_reviews(self, reference: str | None = None) -> list[GovernanceReview]:
        return self._records(GovernanceReview, reference)

    def monitoring_updates(
        self, reference: str | None = None, *, period: str | None = None
    ) -> list[MonitoringUpdate]:
        return self._records(MonitoringUpdate, reference, period=period)

    def audit_log(self, reference: str | None = None) -> list[AuditEntry]:
        clause, values = (" WHERE reference = ?", [reference]) if reference is not None else ("", [])
        rows = self._query(
            f"SELECT sequence, at, actor, reference, action, changes FROM audit_log{clause}"
            " ORDER BY sequence",
            values,
        )
        return [
            AuditEntry(
                at=datetime.fromisoformat(at),
                actor=actor,
                reference=ref,
                action=action,
                changes=tuple((str(f), str(old), str(new)) for f, old, new in json.loads(changes)),
                sequence=int(sequence),
            )
            for sequence, at, actor, ref, action, changes in rows
        ]

    def _records(self, cls: type[T], reference: str | None, *, period: str | None = None) -> list[T]:
        table = _RECORD_TABLES_BY_TYPE[cls].name
        where: list[str] = []
        values: list[str] = []
        if reference is not None:
            where.append("reference = ?")
            values.append(reference)
        if period is not None:
            where.append("period = ?")
            values.append(period)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._query(f"SELECT data FROM {table}{clause} ORDER BY id", values)
        return [from_data(cls, json.loads(row[0])) for row in rows]

    # Connection handling

    def _query(self, sql: str, values: Sequence[Any]) -> list[Any]:
        with self._lock, self._translated():
            return self._connection.execute(sql, values).fetchall()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write: IMMEDIATE takes the write lock first, so the version check and the write are atomic."""
        with self._lock, self._translated():
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
                self._connection.execute("COMMIT")
            except BaseException:
                # Also after a failed COMMIT, which leaves the transaction open.
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as error:
            if _is_busy(error):
                raise Conflict(
                    "The register is busy with someone else's change and did not answer in time. Nothing was "
                    "saved: try again in a moment."
                ) from error
            raise
