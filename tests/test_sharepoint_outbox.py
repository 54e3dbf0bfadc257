"""The outbox: nothing an officer submitted is lost when SharePoint is slow or down, and nothing is applied
twice, across lost answers and restarts."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.sharepoint.outbox import OUTBOX_FILE, Outbox, OutboxWorker, Receipt, WriteState
from connectors.sharepoint.register import collect_receipts, write_key
from kcpf.errors import Conflict
from tests.fake_graph import FakeGraph, Fault
from tests.register_contract import ALICE, BOB, LATER, WHEN, assessment_of, bare_arrangement, full_arrangement
from tests.sharepoint_site import create_lists, session_for, sharepoint_register

DOWN = Fault("unavailable", retry_after=0)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGraph]:
    with FakeGraph.running(tmp_path) as fake:
        create_lists(session_for(fake))
        yield fake


def items(fake: FakeGraph, name: str = "KCPF Arrangements") -> list[dict[str, object]]:
    return fake.graph.items(name)


def down(fake: FakeGraph) -> None:
    fake.faults.random(1.0, (DOWN,))


def test_a_write_while_sharepoint_is_down_is_kept_and_applied_after_a_restart(
    fake: FakeGraph, tmp_path: Path
) -> None:
    with sharepoint_register(session_for(fake), tmp_path) as register:
        down(fake)
        with collect_receipts() as receipts:
            stored = register.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        assert stored.reference == "KCP-0001"
        (receipt,) = receipts
        assert receipt.state is WriteState.PENDING
        assert "safely recorded" in receipt.message
        assert "KCP-0001" in receipt.message
        # The officer reads back what they submitted, though SharePoint does not have it yet.
        assert register.get("KCP-0001") == stored
        assert items(fake) == []
        (line,) = register.outbox.report()
        assert "record KCP-0001" in line
        assert ALICE in line
    fake.faults.clear()
    heard: list[Receipt] = []
    with sharepoint_register(session_for(fake), tmp_path) as restarted:
        restarted.outbox.subscribe(heard.append)
        assert restarted.flush() is False
        assert [i["KcpfReference"] for i in items(fake)] == ["KCP-0001"]
        assert restarted.get("KCP-0001") == stored
        assert restarted.outbox.report() == []
    assert [(r.state, r.references) for r in heard] == [(WriteState.APPLIED, ("KCP-0001",))]
    assert "saved in SharePoint" in heard[0].message


@pytest.mark.parametrize("retries", [0, 3], ids=["outbox-retries", "session-retries"])
def test_a_write_whose_answer_was_lost_is_applied_once(fake: FakeGraph, tmp_path: Path, retries: int) -> None:
    """The fake applies the $batch, then drops the connection: the write is looked up by its key."""
    with sharepoint_register(session_for(fake, max_retries=retries), tmp_path) as register:
        fake.faults.schedule(Fault("drop-after"))
        stored = register.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        fake.faults.schedule(Fault("drop-after"))
        register.save(stored, action="assess", actor=ALICE, at=LATER, records=[assessment_of(stored)])
        register.flush()
        assert fake.faults.injected["drop-after"] == 2
        assert register.outbox.pending() == []
    assert [i["KcpfReference"] for i in items(fake)] == ["KCP-0001"]
    assert len(items(fake, "KCPF Assessments")) == 1
    with sharepoint_register(session_for(fake), tmp_path / "..") as fresh:
        assert fresh.get("KCP-0001").version == 2
        assert len(fresh.audit_log("KCP-0001")) == 2


def test_a_write_killed_after_sending_is_looked_up_not_resent(fake: FakeGraph, tmp_path: Path) -> None:
    """As if the process died between sending and hearing back: marked sent, applied, never confirmed."""
    with sharepoint_register(session_for(fake), tmp_path, apply_now=False) as register:
        register.save(bare_arrangement(), action="record", actor=ALICE, at=WHEN)
        (write,) = register.outbox.pending()
        register.outbox.mark_sent([(write.key, 0)])
        register.graph.post(
            f"/sites/{register.graph.site_id()}/lists/{register._list_ids['arrangements']}/items",
            {"fields": write.operations[0].fields},
        )
    with sharepoint_register(session_for(fake), tmp_path) as restarted:
        restarted.flush()
        assert restarted.outbox.receipt(write.key) is not None
        assert restarted.outbox.pending() == []
    assert len(items(fake)) == 1


def test_the_same_submission_twice_is_saved_once(fake: FakeGraph, tmp_path: Path) -> None:
    with sharepoint_register(session_for(fake), tmp_path) as register:
        first, stored = register.submit(
            [(bare_arrangement(), ())], action="record", actor=ALICE, at=WHEN, key="submission-1"
        )
        again, same = register.submit(
            [(bare_arrangement(), ())], action="record", actor=ALICE, at=WHEN, key="submission-1"
        )
        assert first.state is WriteState.APPLIED
        assert (again, same) == (first, stored)
    assert len(items(fake)) == 1


def test_a_message_handled_twice_saves_each_of_its_writes_once(fake: FakeGraph, tmp_path: Path) -> None:
    """A Teams activity redelivered: the same writes in the same order get the same keys."""
    with sharepoint_register(session_for(fake), tmp_path) as register:

        def handle() -> list[str]:
            with write_key("activity-7"):
                one = register.save(bare_arrangement("One"), action="record", actor=ALICE, at=WHEN)
                two = register.save(bare_arrangement("Two"), action="record", actor=ALICE, at=WHEN)
            return [one.reference or "", two.reference or ""]

        assert handle() == ["KCP-0001", "KCP-0002"]
        assert handle() == ["KCP-0001", "KCP-0002"]
    assert sorted(str(i["Title"]) for i in items(fake)) == ["One", "Two"]


def test_a_pending_write_overtaken_by_someone_elses_change_is_refused_and_told(
    fake: FakeGraph, tmp_path: Path
) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "other").mkdir()
    heard: list[Receipt] = []
    with (
        sharepoint_register(session_for(fake), tmp_path / "bot") as bot,
        sharepoint_register(session_for(fake), tmp_path / "other") as other,
    ):
        bot.outbox.subscribe(heard.append)
        stored = bot.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        down(fake)
        bot.save(dataclasses.replace(stored, title="Alice's"), action="edit", actor=ALICE, at=LATER)
        fake.faults.clear()
        other.save(
            dataclasses.replace(other.get("KCP-0001"), title="Bob's"), action="edit", actor=BOB, at=LATER
        )
        assert bot.flush() is False
        assert bot.get("KCP-0001").title == "Bob's"
    assert items(fake)[0]["Title"] == "Bob's"
    (refused,) = heard
    assert refused.state is WriteState.REFUSED
    assert "not saved" in refused.message
    assert "someone else" in refused.message
    assert BOB in refused.message


def test_a_write_still_failing_is_told_once(fake: FakeGraph, tmp_path: Path) -> None:
    heard: list[Receipt] = []
    with sharepoint_register(session_for(fake), tmp_path) as register:
        register.outbox.still_failing_attempts = 3
        register.outbox.subscribe(heard.append)
        down(fake)
        register.save(bare_arrangement(), action="record", actor=ALICE, at=WHEN)
        for _ in range(5):
            assert register.flush() is True
    assert [r.state for r in heard] == [WriteState.STILL_FAILING]
    assert "still not saved" in heard[0].message
    assert "keeps trying" in heard[0].message


def test_the_worker_applies_in_the_background(fake: FakeGraph, tmp_path: Path) -> None:
    applied = threading.Event()
    with sharepoint_register(session_for(fake), tmp_path) as register:
        worker = OutboxWorker(register.flush, interval=0.05, backoff_base=0.01, backoff_cap=0.05)
        register.on_wake(worker.wake)
        register.outbox.subscribe(lambda r: applied.set() if r.state is WriteState.APPLIED else None)
        worker.start()
        try:
            down(fake)
            register.save(bare_arrangement(), action="record", actor=ALICE, at=WHEN)
            fake.faults.clear()
            assert applied.wait(20), "the worker never applied the write"
        finally:
            worker.stop()
    assert len(items(fake)) == 1


def test_a_conflict_found_at_once_is_raised_not_kept(fake: FakeGraph, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        sharepoint_register(session_for(fake), tmp_path / "a") as alices,
        sharepoint_register(session_for(fake), tmp_path / "b", freshness=3600) as bobs,
    ):
        stored = alices.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        bobs.refresh()
        alices.save(dataclasses.replace(stored, title="Alice's"), action="edit", actor=ALICE, at=LATER)
        with pytest.raises(Conflict):
            bobs.save(dataclasses.replace(stored, title="Bob's"), action="edit", actor=BOB, at=LATER)
        assert bobs.outbox.pending() == []
        assert bobs.outbox.report() == []


def test_the_outbox_file_is_wal_and_survives_reopening(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / OUTBOX_FILE)
    assert outbox._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    outbox.close()
    assert Outbox(tmp_path / OUTBOX_FILE).pending() == []


def test_two_processes_sharing_the_outbox_never_both_apply_it(fake: FakeGraph, tmp_path: Path) -> None:
    """The bot and a CLI command on one data directory: one applies, the other only records."""
    with (
        sharepoint_register(session_for(fake), tmp_path) as bot,
        sharepoint_register(session_for(fake), tmp_path) as cli,
    ):
        with bot.outbox.applying() as mine:
            assert mine
            with collect_receipts() as receipts:
                cli.save(bare_arrangement(), action="record", actor=ALICE, at=WHEN)
            assert [r.state for r in receipts] == [WriteState.PENDING]
            assert items(fake) == []
        assert bot.flush() is False
    assert len(items(fake)) == 1
