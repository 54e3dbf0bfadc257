"""The SQLite register: the shared contract, then what only SQLite has (migrations, triggers, one file)."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.sqlite_register import MIGRATIONS, SchemaTooNew, SqliteRegister, migrate
from kcpf.errors import Conflict, InvalidInput
from kcpf.ports import Register
from kcpf.records import Record
from tests.register_contract import (
    ALICE,
    BOB,
    LATER,
    WHEN,
    RegisterContract,
    assessment_of,
    bare_arrangement,
    decision_on,
    full_arrangement,
    governance_of,
    update_of,
)

LATEST = MIGRATIONS[-1].version


class TestSqliteFile(RegisterContract):
    @pytest.fixture
    def register(self, tmp_path: Path) -> Iterator[Register]:
        with SqliteRegister(tmp_path / "register.db") as register:
            yield register


class TestSqliteInMemory(RegisterContract):
    @pytest.fixture
    def register(self) -> Iterator[Register]:
        with SqliteRegister(":memory:") as register:
            yield register


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "register.db"


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection, as another program (or a careless script) would open the file."""
    return sqlite3.connect(path, isolation_level=None)


# Migrations


def test_a_new_file_gets_every_migration(path: Path) -> None:
    with SqliteRegister(path) as register:
        assert register.applied_migrations == [m.version for m in MIGRATIONS]
        assert register.schema_version == LATEST
    with raw(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        steps = db.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert steps == [(m.version, m.name) for m in MIGRATIONS]


def test_reopening_applies_nothing_and_keeps_the_data(path: Path) -> None:
    with SqliteRegister(path) as register:
        stored = register.save(full_arrangement(), action="record", actor=ALICE, at=WHEN, records=[])
        register.save(stored, action="assess", actor=ALICE, at=WHEN, records=[assessment_of(stored)])
    with SqliteRegister(path) as register:
        assert register.applied_migrations == []
        assert register.get("KCP-0001") == dataclasses.replace(stored, version=2)
        assert len(register.assessments("KCP-0001")) == 1
        assert len(register.audit_log()) == 2
        assert register.save(bare_arrangement(), action="record", actor=BOB, at=LATER).reference == "KCP-0002"


def test_an_older_file_gets_only_the_missing_steps(path: Path) -> None:
    with raw(path) as db:
        assert migrate(db, MIGRATIONS[:1]) == [1]
    with SqliteRegister(path) as register:
        assert register.applied_migrations == [m.version for m in MIGRATIONS[1:]]
        assert register.schema_version == LATEST


def test_a_file_from_a_newer_kcpf_is_refused_untouched(path: Path) -> None:
    SqliteRegister(path).close()
    with raw(path) as db:
        db.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', '2030-01-01')")
    with pytest.raises(SchemaTooNew, match=f"schema version 99.*up to {LATEST}"):
        SqliteRegister(path)
    with raw(path) as db:
        assert db.execute("SELECT max(version), count(*) FROM schema_migrations").fetchone() == (
            99,
            LATEST + 1,
        )


def test_a_file_that_is_not_a_database_is_refused(path: Path) -> None:
    path.write_text("Title,Partner\nLeisure,Active Nation\n")
    with pytest.raises(InvalidInput, match="not a KCPF register"):
        SqliteRegister(path)


def test_foreign_keys_are_on(path: Path) -> None:
    with SqliteRegister(path) as register:
        assert register._connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1


# Append-only


@pytest.fixture
def filled(path: Path) -> Path:
    """A file with an arrangement, one record of each kind, and their audit entries."""
    with SqliteRegister(path) as register:
        stored = register.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        records: list[Record] = [
            assessment_of(stored),
            decision_on(stored),
            governance_of(stored),
            update_of(stored),
        ]
        register.save(stored, action="everything", actor=ALICE, at=WHEN, records=records)
    return path


@pytest.mark.parametrize(
    "table", ["audit_log", "assessments", "smt_decisions", "governance_reviews", "monitoring_updates"]
)
@pytest.mark.parametrize("statement", ["UPDATE {table} SET reference = 'KCP-0002'", "DELETE FROM {table}"])
def test_audit_log_and_records_cannot_be_changed_or_removed(filled: Path, table: str, statement: str) -> None:
    with raw(filled) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(statement.format(table=table))
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] >= 1


def test_arrangements_cannot_be_deleted(filled: Path) -> None:
    with raw(filled) as db, pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        db.execute("DELETE FROM arrangements")


# One file, several users


def test_two_registers_on_one_file_see_each_others_writes(path: Path) -> None:
    with SqliteRegister(path) as alices, SqliteRegister(path) as bobs:
        alices.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        assert bobs.get("KCP-0001").title == full_arrangement().title
        assert bobs.save(bare_arrangement(), action="record", actor=BOB, at=WHEN).reference == "KCP-0002"
        assert [a.reference for a in alices.arrangements()] == ["KCP-0001", "KCP-0002"]


def test_a_stale_write_between_two_registers_is_refused(path: Path) -> None:
    with SqliteRegister(path) as alices, SqliteRegister(path) as bobs:
        alices.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        alices_copy, bobs_copy = alices.get("KCP-0001"), bobs.get("KCP-0001")
        alices.save(dataclasses.replace(alices_copy, title="Alice's"), action="edit", actor=ALICE, at=LATER)
        with pytest.raises(Conflict, match=f"someone else.*{ALICE}"):
            bobs.save(dataclasses.replace(bobs_copy, title="Bob's"), action="edit", actor=BOB, at=LATER)
        assert bobs.get("KCP-0001").title == "Alice's"


def test_writers_in_parallel_never_share_a_reference(path: Path) -> None:
    SqliteRegister(path).close()
    failures: list[BaseException] = []

    def write(name: str) -> None:
        try:
            with SqliteRegister(path) as register:
                for n in range(25):
                    register.save(bare_arrangement(f"{name} {n}"), action="record", actor=name, at=WHEN)
        except BaseException as error:  # reported below: a thread's exception would otherwise be lost
            failures.append(error)

    threads = [threading.Thread(target=write, args=(f"writer {w}",)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with SqliteRegister(path) as register:
        references = [a.reference for a in register.arrangements()]
    assert references == [f"KCP-{n:04d}" for n in range(1, 101)]


def test_a_busy_file_is_a_conflict_and_reads_carry_on(path: Path) -> None:
    with SqliteRegister(path, busy_timeout=0.1) as register:
        register.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        other = raw(path)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(Conflict, match="busy"):
                register.save(bare_arrangement(), action="record", actor=BOB, at=WHEN)
            assert [a.reference for a in register.arrangements()] == ["KCP-0001"]
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert register.save(bare_arrangement(), action="record", actor=BOB, at=WHEN).reference == "KCP-0002"


# Speed


def test_a_large_import_is_one_write(path: Path) -> None:
    """5,000 rows, as in a council's whole register (speed is measured by `make bench`, not here)."""
    rows = [full_arrangement(title=f"Imported contract {n}") for n in range(5000)]
    with SqliteRegister(path) as register:
        saved = register.save_many(rows, action="import", actor=ALICE, at=datetime.now(UTC))
        assert saved[-1].reference == "KCP-5000"
        assert len(register.audit_log()) == 5000
        assert register.get("KCP-5000") == saved[-1]
