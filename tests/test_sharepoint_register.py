"""The SharePoint register on the fake Graph: the shared contract, then what only SharePoint has (eTags,
batches, delta reads, two processes on one site)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.sharepoint.graph import GraphSession
from connectors.sharepoint.register import SharePointRegister
from kcpf.errors import Conflict, NotFound
from kcpf.ports import Register
from tests.fake_graph import FakeGraph, Fault
from tests.register_contract import (
    ALICE,
    BOB,
    LATER,
    WHEN,
    RegisterContract,
    assessment_of,
    bare_arrangement,
    full_arrangement,
)
from tests.sharepoint_site import create_lists, session_for, sharepoint_register


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGraph]:
    with FakeGraph.running(tmp_path) as fake:
        create_lists(session_for(fake))
        yield fake


@pytest.fixture
def session(fake: FakeGraph) -> GraphSession:
    return session_for(fake)


class TestSharePointRegister(RegisterContract):
    @pytest.fixture
    def register(self, session: GraphSession, tmp_path: Path) -> Iterator[Register]:
        with sharepoint_register(session, tmp_path) as register:
            yield register


class TestSharePointRegisterWhileGraphThrottles(RegisterContract):
    """The same contract while a fifth of Graph's answers are 429 or 503 (Retry-After honoured)."""

    @pytest.fixture
    def register(self, fake: FakeGraph, session: GraphSession, tmp_path: Path) -> Iterator[Register]:
        with sharepoint_register(session, tmp_path) as register:
            fake.faults.random(
                0.2, (Fault("throttle", retry_after=0), Fault("unavailable", retry_after=0)), seed=11
            )
            yield register


@pytest.fixture
def register(session: GraphSession, tmp_path: Path) -> Iterator[SharePointRegister]:
    with sharepoint_register(session, tmp_path) as register:
        yield register


def arrangement_items(fake: FakeGraph) -> list[dict[str, object]]:
    return fake.graph.items("KCPF Arrangements")


def test_what_is_saved_is_in_the_list_with_its_columns(fake: FakeGraph, register: SharePointRegister) -> None:
    register.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
    (item,) = arrangement_items(fake)
    assert item["KcpfReference"] == "KCP-0001"
    assert item["Title"] == "Leisure centre management – three centres"
    assert item["Council"] == "Chorley"
    assert item["ArrangementStatus"] == "Identified"
    assert item["ResponsibleOfficerEmail"] == "alice.smith@chorley.gov.uk"
    assert item["KcpfWriteId"]
    assert "alice.smith@chorley.gov.uk: record" in str(item["LastChange"])


def test_a_change_made_elsewhere_is_a_conflict_never_an_overwrite(
    fake: FakeGraph, session: GraphSession, tmp_path: Path
) -> None:
    """Two bot processes on one site: the second's stale write gets 412 and the officer a clear refusal."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        sharepoint_register(session, tmp_path / "a") as alices,
        sharepoint_register(session_for(fake), tmp_path / "b", freshness=3600) as bobs,
    ):
        stored = alices.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        bobs.refresh()
        bobs_copy = bobs.get("KCP-0001")
        alices.save(dataclasses.replace(stored, title="Alice's"), action="edit", actor=ALICE, at=LATER)
        # Bob's cache has not caught up (a long freshness window): SharePoint's If-Match refuses the write.
        with pytest.raises(Conflict, match=f"someone else.*{ALICE}.*overwritten"):
            bobs.save(
                dataclasses.replace(bobs_copy, title="Bob's"),
                action="edit",
                actor=BOB,
                at=LATER,
                records=[assessment_of(bobs_copy)],
            )
        assert fake.graph.operations["items.update"] == 2  # Alice's, and Bob's refused one
        assert alices.get("KCP-0001").title == "Alice's"
        assert bobs.get("KCP-0001").title == "Alice's"
        assert fake.graph.items("KCPF Assessments") == []
        assert bobs.outbox.pending() == []


def test_updates_send_the_etag_they_read(fake: FakeGraph, register: SharePointRegister) -> None:
    stored = register.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
    etag = fake.graph.list_named("KCPF Arrangements").items[1].etag
    register.save(dataclasses.replace(stored, title="Renamed"), action="edit", actor=ALICE, at=LATER)
    assert fake.graph.list_named("KCPF Arrangements").items[1].etag != etag


def test_a_turn_costs_at_most_one_round_trip(fake: FakeGraph, session: GraphSession, tmp_path: Path) -> None:
    with sharepoint_register(session, tmp_path, freshness=60) as register:
        register.save_many(
            [bare_arrangement(f"Row {n}", officer=ALICE) for n in range(30)],
            action="import",
            actor=ALICE,
            at=WHEN,
        )
        register.refresh()
        session.reset_counts()
        register.get("KCP-0003")
        register.arrangements(officer=ALICE)
        assert session.round_trips == 0  # within the freshness window: the cache answers
        register.freshness = 0
        session.reset_counts()
        register.get("KCP-0003")
        assert session.round_trips == 1  # one $batch of delta requests, one per list


def test_a_hundred_saves_go_in_five_batches(fake: FakeGraph, session: GraphSession, tmp_path: Path) -> None:
    with sharepoint_register(session, tmp_path, freshness=60) as register:
        session.reset_counts()
        register.save_many(
            [bare_arrangement(f"Row {n}") for n in range(100)], action="import", actor=ALICE, at=WHEN
        )
        assert session.requests_by_kind["$batch"] == 5
        assert len(arrangement_items(fake)) == 100


def test_an_unknown_reference_is_not_found_after_a_fresh_read(register: SharePointRegister) -> None:
    with pytest.raises(NotFound, match="KCP-0009"):
        register.get("KCP-0009")


def test_the_register_is_read_back_by_a_new_process(fake: FakeGraph, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with sharepoint_register(session_for(fake), tmp_path / "a") as first:
        stored = first.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        first.save(stored, action="assess", actor=ALICE, at=LATER, records=[assessment_of(stored)])
        expected = (first.arrangements(), first.assessments(), first.audit_log())
    with sharepoint_register(session_for(fake), tmp_path / "b") as second:
        assert (second.arrangements(), second.assessments(), second.audit_log()) == expected


def test_an_assessment_is_saved_in_one_round_trip(
    fake: FakeGraph, session: GraphSession, tmp_path: Path
) -> None:
    """The arrangement's update and its new record go in one $batch, the record depending on the update."""
    with sharepoint_register(session, tmp_path, freshness=60) as register:
        stored = register.save(full_arrangement(), action="record", actor=ALICE, at=WHEN)
        session.reset_counts()
        register.save(stored, action="assess", actor=ALICE, at=LATER, records=[assessment_of(stored)])
        assert (session.round_trips, session.requests_by_kind["$batch"]) == (1, 1)
        assert len(fake.graph.items("KCPF Assessments")) == 1


def test_a_reread_after_an_expired_delta_token_keeps_what_was_read_until_it_completes(
    fake: FakeGraph, session: GraphSession, tmp_path: Path
) -> None:
    """A 410 then an outage: reads still answer from what was read, and a new record is not given a
    reference that is already taken (it was, when the 410 emptied the cache)."""
    with sharepoint_register(session, tmp_path) as register:
        first = register.save(bare_arrangement("Leisure"), action="record", actor=ALICE, at=WHEN)
        assert first.reference is not None
        fake.graph.min_delta_seq = fake.graph.seq + 1  # every delta token now answers 410
        # The next $batch is answered (a "timeout" of 0 s is a plain answer): the 410s. Every later one fails.
        fake.faults.schedule(Fault("timeout", delay=0.0, only="/$batch"))
        fake.faults.random(1.0, (Fault("unavailable", retry_after=0, only="/$batch"),))
        assert register.get(first.reference) == first
        assert [a.reference for a in register.arrangements()] == [first.reference]
        _, (second,) = register.submit(
            [(bare_arrangement("Waste"), ())], action="record", actor=ALICE, at=LATER
        )
        assert second.reference != first.reference
        fake.faults.clear()
        assert register.flush() is False
        saved = sorted(str(i["KcpfReference"]) for i in arrangement_items(fake))
        assert saved == sorted([first.reference, str(second.reference)])
        assert [a.reference for a in register.arrangements()] == [first.reference, second.reference]


def test_throttled_the_officer_is_answered_at_once_and_nothing_is_asked_before_retry_after(
    fake: FakeGraph, tmp_path: Path
) -> None:
    """Retry-After longer than a turn allows: the write waits in the outbox (the officer hears so within
    the turn), reads come from the cache, and the worker asks again only once Retry-After has passed."""
    from connectors.sharepoint.outbox import WriteState
    from connectors.sharepoint.register import officer_turn, running_register

    settings = fake.graph_settings()
    with running_register(settings, tmp_path, freshness=0) as register:
        first = register.save(bare_arrangement("Leisure"), action="record", actor=ALICE, at=WHEN)
        assert first.reference is not None
        fake.faults.schedule(Fault("throttle", retry_after=3))
        started = time.monotonic()
        with officer_turn("activity-1") as receipts:
            assert register.get(first.reference) == first  # throttled: answered from the cache
            register.submit([(bare_arrangement("Waste"), ())], action="record", actor=ALICE, at=LATER)
        took = time.monotonic() - started
        asked = fake.counts.total()
        assert took < 1.5, f"the officer waited {took:.1f} s"
        assert [r.state for r in receipts] == [WriteState.PENDING]
        time.sleep(2.0)
        assert fake.counts.total() == asked  # nothing asked while SharePoint said to wait
        for _ in range(100):
            if len(arrangement_items(fake)) == 2:
                break
            time.sleep(0.1)
        assert len(arrangement_items(fake)) == 2
        assert time.monotonic() - started >= 3.0


def test_a_slow_catch_up_elsewhere_does_not_hold_up_an_officers_read(fake: FakeGraph, tmp_path: Path) -> None:
    """The worker re-reading a slow SharePoint (say, after a 410): an officer's read answers from what was
    read before at once, instead of waiting for it (it used to wait on the cache's lock, past Teams' 15 s)."""
    import threading

    from connectors.sharepoint.register import officer_turn

    with sharepoint_register(session_for(fake, timeout=10.0), tmp_path) as register:
        stored = register.save(bare_arrangement("Leisure"), action="record", actor=ALICE, at=WHEN)
        assert stored.reference is not None
        fake.latency = 3.0
        worker = threading.Thread(target=register.refresh)
        worker.start()
        time.sleep(0.3)  # the worker is waiting for Graph
        started = time.monotonic()
        with officer_turn("activity-1"):
            assert register.get(stored.reference) == stored
        took = time.monotonic() - started
        worker.join()
        fake.latency = 0
        assert took < 1.0, f"the officer's read waited {took:.1f} s"
