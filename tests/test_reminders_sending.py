"""Sending reminders and notices through the real bot, the Agents SDK's connector client and the Bot
Connector stand-in: Teams' send limits, retries of 429 honouring Retry-After, 403 not retried, the sent-log
(nothing twice; a failure tried again next run), POST /api/notify and `kcpf remind`."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import pytest
from microsoft_agents.activity import ConversationReference

from bot.app import KcpfBot
from bot.flows.engine import Notice
from bot.proactive import Outcome, RetryPolicy, Status
from kcpf.cli import main
from kcpf.model import Officer
from kcpf.model import Status as ArrangementStatus
from tests.bot_harness import OFFICER, SMT, TP, Person, Running, running_bot
from tests.builders import arrangement, at

ON = date(2026, 11, 1)  # the day after the 2026/27-H1 update's deadline (31 October)
KEY = "a-notify-key-of-at-least-thirty-two-characters"


def _add_key_arrangement(running: Running, person: Person = OFFICER, title: str = "Waste collection") -> str:
    saved = running.register.save(
        arrangement(
            reference=None,
            title=title,
            responsible_officer=Officer(person.email, person.name),
            status=ArrangementStatus.MONITORING,
            key_since=date(2026, 6, 1),  # so only 2026/27-H1 is owed
        ),
        action="record",
        actor="test",
        at=at(date(2026, 6, 1)),
    )
    assert saved.reference is not None
    return saved.reference


@asynccontextmanager
async def _bot(tmp_path: Path, *, notify_key: str = KEY) -> AsyncIterator[tuple[Running, KcpfBot]]:
    async with running_bot(tmp_path, today=ON, notify_key=notify_key) as running:
        assert running.bot is not None
        yield running, running.bot


async def _reference(bot: KcpfBot, person: Person) -> ConversationReference:
    found = await bot.references.find(person.email)
    assert found is not None
    return found


def _posts(running: Running, person: Person) -> list[tuple[float, int]]:
    conversation = running.chat(person).conversation_id
    return [(t, status) for t, c, status in running.connector.arrivals if c == conversation]


def _texts(running: Running, person: Person) -> list[str]:
    conversation = running.chat(person).conversation_id
    return [a.get("text") or "" for a in running.connector.sent if a["conversation_id"] == conversation]


async def test_429_is_retried_after_the_time_teams_asks(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        await running.chat(OFFICER).say("help")
        reference = await _reference(bot, OFFICER)
        running.connector.arrivals.clear()
        running.connector.fail_next(1, 429, retry_after="1")
        delivery = await bot.sender.send(reference, "A reminder")
        assert delivery.outcome is Outcome.SENT
        assert delivery.attempts == 2
        posts = _posts(running, OFFICER)
        assert [status for _, status in posts] == [429, 200]
        assert posts[1][0] - posts[0][0] >= 1.0  # Retry-After: 1 honoured
        assert _texts(running, OFFICER)[-1] == "A reminder"


async def test_502_and_412_are_retried_with_backoff_a_bounded_number_of_times(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        await running.chat(OFFICER).say("help")
        reference = await _reference(bot, OFFICER)
        bot.sender.policy = RetryPolicy(attempts=3, base_seconds=0.05)
        running.connector.arrivals.clear()
        running.connector.fail_next(1, 502)
        running.connector.fail_next(1, 412)
        assert (await bot.sender.send(reference, "first")).outcome is Outcome.SENT
        assert [s for _, s in _posts(running, OFFICER)] == [502, 412, 200]
        running.connector.arrivals.clear()
        running.connector.fail_next(5, 504)
        delivery = await bot.sender.send(reference, "second")
        assert delivery.outcome is Outcome.FAILED
        assert delivery.status == 504
        assert [s for _, s in _posts(running, OFFICER)] == [504, 504, 504]  # three attempts, no more
        assert "second" not in _texts(running, OFFICER)


async def test_403_blocked_is_recorded_and_not_retried(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        await running.chat(OFFICER).say("help")
        reference = await _reference(bot, OFFICER)
        running.connector.arrivals.clear()
        running.connector.fail_next(3, 403)
        delivery = await bot.sender.send(reference, "A reminder")
        assert delivery.outcome is Outcome.BLOCKED
        assert delivery.status == 403
        assert [s for _, s in _posts(running, OFFICER)] == [403]
        # The adapter's turn-error handler did not try to apologise into the blocked conversation.
        assert len(running.connector.arrivals) == 1


async def test_each_conversation_keeps_to_teams_limits_and_others_are_not_held_up(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        for person in (OFFICER, TP):
            await running.chat(person).say("help")
        jo, alex = await _reference(bot, OFFICER), await _reference(bot, TP)
        running.connector.arrivals.clear()
        sends = [bot.sender.send(jo, f"message {n}") for n in range(10)]
        sends += [bot.sender.send(alex, f"to T&P {n}") for n in range(3)]
        deliveries = await asyncio.gather(*sends)
        assert all(d.outcome is Outcome.SENT for d in deliveries)
        times = [t for t, _ in _posts(running, OFFICER)]
        assert len(times) == 10
        # Measured where they arrive, as Teams counts: no 8 within a second, no 9 within 2 seconds.
        for i in range(len(times) - 7):
            assert times[i + 7] - times[i] >= 1, f"8 posts within a second: {times}"
        for i in range(len(times) - 8):
            assert times[i + 8] - times[i] >= 2, f"9 posts within 2 seconds: {times}"
        assert len([t for t in times if t - times[0] < 1]) == 7  # the first 7 were not held back
        other = [t for t, _ in _posts(running, TP)]
        assert len(other) == 3
        assert max(other) < times[7]  # T&P's conversation did not wait for Jo's


async def test_a_pass_twice_the_same_day_sends_nothing_twice(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        reference = _add_key_arrangement(running)
        for person in (OFFICER, TP):
            await running.chat(person).say("help")
        first = await bot.reminders.run(ON)
        assert first.count(Status.SENT) == 2  # Jo's reminder and the T&P summary
        [reminder] = [t for t in _texts(running, OFFICER) if "A reminder from KCPF" in t]
        assert f"{reference} Waste collection: biannual update for 2026/27-H1" in reminder
        assert "Overdue" in reminder
        [summary] = [t for t in _texts(running, TP) if "KCPF reminders on" in t]
        assert "1 item overdue" in summary
        sent = len(running.connector.sent)
        second = await bot.reminders.run(ON)
        assert second.count(Status.ALREADY_SENT) == 2
        assert second.count(Status.SENT) == 0
        assert len(running.connector.sent) == sent


async def test_a_failed_send_is_not_marked_and_the_next_run_sends_it_once(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        _add_key_arrangement(running)
        for person in (OFFICER, TP):
            await running.chat(person).say("help")
        bot.sender.policy = RetryPolicy(attempts=2, base_seconds=0.01)
        running.connector.fail_next(2, 502, conversation=running.chat(OFFICER).conversation_id)
        first = await bot.reminders.run(ON)
        assert {s.message.to: s.status for s in first.results} == {
            OFFICER.email: Status.FAILED,
            TP.email: Status.SENT,
        }
        assert not [t for t in _texts(running, OFFICER) if "A reminder from KCPF" in t]
        second = await bot.reminders.run(ON)
        assert {s.message.to: s.status for s in second.results} == {
            OFFICER.email: Status.SENT,
            TP.email: Status.ALREADY_SENT,
        }
        await bot.reminders.run(ON)
        assert len([t for t in _texts(running, OFFICER) if "A reminder from KCPF" in t]) == 1
        assert len([t for t in _texts(running, TP) if "KCPF reminders on" in t]) == 1


async def test_officers_without_a_conversation_are_named_to_tp(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        _add_key_arrangement(running)  # Jo never talked to the bot
        await running.chat(TP).say("help")
        result = await bot.reminders.run(ON)
        assert [(s.message.to, s.status) for s in result.results] == [(TP.email, Status.SENT)]
        [summary] = [t for t in _texts(running, TP) if "KCPF reminders on" in t]
        assert "Not reachable in Teams yet" in summary
        assert OFFICER.email in summary


async def test_notices_of_proposals_and_decisions_go_through_the_retrying_sender(tmp_path: Path) -> None:
    """A decision notifies T&P and the officer: a 429 on the way is retried, not lost."""
    async with _bot(tmp_path) as (running, bot):
        for person in (OFFICER, TP):
            await running.chat(person).say("help")
        running.connector.fail_next(1, 429, conversation=running.chat(TP).conversation_id, retry_after="0")
        await bot._notify([_notice(TP.email, "KCP-0001 was proposed to SMT")])
        await bot.settle()
        assert [s for _, s in _posts(running, TP)][-2:] == [429, 200]
        assert _texts(running, TP)[-1] == "KCP-0001 was proposed to SMT"


async def test_a_notice_does_not_hold_up_the_turn_that_made_it(tmp_path: Path) -> None:
    """SMT's decision while T&P's chat is throttled (Retry-After 2 s): SMT's turn answers at once; the notice
    follows once Teams allows."""
    async with _bot(tmp_path) as (running, bot):
        await running.chat(TP).say("help")
        running.connector.fail_next(1, 429, conversation=running.chat(TP).conversation_id, retry_after="2")
        started = time.monotonic()
        await bot._notify([_notice(TP.email, "SMT decided KCP-0001 is key")])
        assert time.monotonic() - started < 0.5
        await bot.settle()
        assert time.monotonic() - started >= 2.0
        assert _texts(running, TP)[-1] == "SMT decided KCP-0001 is key"


async def test_a_notice_teams_would_not_take_is_kept_and_sent_by_the_next_pass(tmp_path: Path) -> None:
    """Teams failing past the retries, or a person who has not talked to the bot yet: the notice is kept,
    and the next reminder pass (kcpf remind, POST /api/notify) sends it; once sent it is not kept."""
    from bot.proactive import RetryPolicy

    async with _bot(tmp_path) as (running, bot):
        bot.sender.policy = RetryPolicy(attempts=2, base_seconds=0.01)
        await running.chat(TP).say("help")
        running.connector.fail_next(2, 502, conversation=running.chat(TP).conversation_id)
        await bot._notify([_notice(TP.email, "KCP-0001 was proposed to SMT")])
        await bot._notify([_notice(SMT.email, "KCP-0001 awaits SMT's decision")])  # SMT: no chat yet
        await bot.settle()
        assert "KCP-0001 was proposed to SMT" not in _texts(running, TP)
        assert (await bot.reminders.run(ON)).notices_sent == 1
        assert _texts(running, TP)[-1] == "KCP-0001 was proposed to SMT"
        await running.chat(SMT).say("help")
        assert (await bot.reminders.run(ON)).notices_sent == 1
        assert _texts(running, SMT)[-1] == "KCP-0001 awaits SMT's decision"
        assert (await bot.reminders.run(ON)).notices_sent == 0  # delivered notices are not kept
        assert _texts(running, TP).count("KCP-0001 was proposed to SMT") == 1


async def test_a_kept_notice_is_sent_once_by_passes_at_once_and_not_while_on_its_way(tmp_path: Path) -> None:
    """Two processes sharing the bot's SQLite state (kcpf serve, and cron's kcpf remind): the notices list
    changes as one step for both, and a notice is claimed before it is sent."""
    from bot.app import notice_outbox
    from bot.proactive import SENDING_FOR, RetryPolicy
    from bot.storage import SqliteStorage

    async with _bot(tmp_path) as (running, bot):
        bot.sender.policy = RetryPolicy(attempts=1, base_seconds=0.01)
        await running.chat(TP).say("help")
        other_storage = SqliteStorage(tmp_path / "conversations.sqlite3")  # the other process's connection
        try:
            other = notice_outbox(dataclasses.replace(bot.services, storage=other_storage), bot.sender)
            on_its_way = await bot.notices.post(TP.email, "Still on its way")  # claimed by the turn
            assert await other.resend() == 0
            running.connector.fail_next(1, 502, conversation=running.chat(TP).conversation_id)
            assert await bot.notices.send(on_its_way) is not None  # failed: kept, released
            posted = [await other.post(TP.email, f"Notice {n}") for n in range(20)]
            await asyncio.gather(*(bot.notices.send(n) for n in posted[:10]))  # sent at once by their turns
            running.clock.current += SENDING_FOR  # the other ten: their process died before sending them
            sent = await asyncio.gather(bot.notices.resend(), other.resend())
            assert sum(sent) == 11
            texts = _texts(running, TP)
            for text in ["Still on its way", *(f"Notice {n}" for n in range(20))]:
                assert texts.count(text) == 1, text
        finally:
            other_storage.close()


def _notice(to: str, text: str) -> Notice:
    return Notice(to, text)


# POST /api/notify.


async def test_notify_is_off_without_a_key(tmp_path: Path) -> None:
    async with (
        _bot(tmp_path, notify_key="") as (running, _),
        running.session.post(f"{running.base_url}/api/notify") as response,
    ):
        assert response.status == 404
        assert "off" in (await response.json())["error"]


async def test_notify_refuses_a_missing_or_wrong_key_and_runs_the_pass_with_the_right_one(
    tmp_path: Path,
) -> None:
    async with _bot(tmp_path) as (running, _):
        _add_key_arrangement(running)
        await running.chat(OFFICER).say("help")
        url = f"{running.base_url}/api/notify"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            async with running.session.post(url, headers=headers) as response:
                assert response.status == 401, headers
        assert not [t for t in _texts(running, OFFICER) if "A reminder from KCPF" in t]
        async with running.session.post(url, headers={"Authorization": f"Bearer {KEY}"}) as response:
            assert response.status == 200
            counts = await response.json()
        assert counts["on"] == ON.isoformat()
        assert counts["sent"] == 1
        assert counts["no_conversation"] == 1  # T&P has not talked to the bot
        assert [t for t in _texts(running, OFFICER) if "A reminder from KCPF" in t]


# `kcpf remind`.


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("KCPF_USER", "KCPF_SMT", "KCPF_VIEWERS", "KCPF_NOTIFY_KEY", "KCPF_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KCPF_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KCPF_TP", TP.email)
    return tmp_path


async def test_kcpf_remind_dry_run_prints_and_sends_nothing_then_a_run_sends_once(
    settings_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with _bot(settings_env) as (running, _):  # the bot's register and state are the CLI's too
        reference = _add_key_arrangement(running)
        await running.chat(OFFICER).say("help")
        capsys.readouterr()
        for _ in range(2):  # a dry run records nothing, so the second says the same
            assert await asyncio.to_thread(main, ["remind", "--dry-run", "--on", "01/11/2026"]) == 0
            out = capsys.readouterr().out
            assert "dry run: nothing sent" in out
            assert f"[would_send] reminder to {OFFICER.email}" in out
            assert f"{reference} Waste collection: biannual update for 2026/27-H1" in out
            assert f"[no_conversation] T&P summary to {TP.email}" in out
            assert "Would send: 1" in out
        assert not [t for t in _texts(running, OFFICER) if "A reminder from KCPF" in t]

        assert await asyncio.to_thread(main, ["remind", "--on", "01/11/2026"]) == 0
        assert f"[sent] reminder to {OFFICER.email}" in capsys.readouterr().out
        assert await asyncio.to_thread(main, ["remind", "--on", "01/11/2026"]) == 0
        assert f"[already_sent] reminder to {OFFICER.email}" in capsys.readouterr().out
        assert len([t for t in _texts(running, OFFICER) if "A reminder from KCPF" in t]) == 1


# Installing the app is enough to be reachable.


async def test_installing_the_app_in_personal_scope_keeps_the_reference(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        _add_key_arrangement(running)
        chat = running.chat(OFFICER)
        install = chat._activity(type="conversationUpdate", membersAdded=[{"id": "28:kcpf", "name": "KCPF"}])
        status, _, _ = await chat._post(install)
        assert status < 300
        assert await bot.references.find(OFFICER.email) is not None
        assert await bot.references.find(OFFICER.aad_object_id) is not None
        result = await bot.reminders.run(ON)
        assert [s.status for s in result.results if s.message.to == OFFICER.email] == [Status.SENT]


async def test_an_installation_update_keeps_the_reference_too(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        chat = running.chat(OFFICER)
        status, _, _ = await chat._post(chat._activity(type="installationUpdate", action="add"))
        assert status < 300
        assert await bot.references.find(OFFICER.email) is not None


async def test_an_install_in_a_team_keeps_no_personal_reference(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        chat = running.chat(OFFICER)
        activity = chat._activity(type="conversationUpdate", membersAdded=[{"id": "28:kcpf"}])
        activity["conversation"] = {"id": "19:team-channel", "conversationType": "channel"}
        status, _, _ = await chat._post(activity)
        assert status < 300
        assert await bot.references.find(OFFICER.email) is None


async def test_notify_answers_an_incident_when_the_pass_fails(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, _):
        running.register.close()  # the register cannot be read
        headers = {"Authorization": f"Bearer {KEY}"}
        async with running.session.post(f"{running.base_url}/api/notify", headers=headers) as response:
            assert response.status == 500
            body = await response.json()
        assert "incident" in body["error"]
        assert "Traceback" not in body["error"]


async def test_a_blocked_officer_is_recorded_and_not_knocked_again_that_day(tmp_path: Path) -> None:
    async with _bot(tmp_path) as (running, bot):
        _add_key_arrangement(running)
        await running.chat(OFFICER).say("help")
        running.connector.fail_next(5, 403, conversation=running.chat(OFFICER).conversation_id)
        running.connector.arrivals.clear()
        for _ in range(2):
            result = await bot.reminders.run(ON)
            assert [s.status for s in result.results if s.message.to == OFFICER.email] == [Status.BLOCKED]
        assert [s for _, s in _posts(running, OFFICER)] == [403]  # one knock, then the record
        running.connector.faults.clear()  # unblocked overnight
        next_day = await bot.reminders.run(date(2026, 11, 2))
        assert [s.status for s in next_day.results if s.message.to == OFFICER.email] == [Status.SENT]


async def test_two_runs_on_one_machine_cannot_both_claim_a_message(tmp_path: Path) -> None:
    """`kcpf remind` from cron while POST /api/notify runs in `kcpf serve`: two processes, one SQLite state
    file. Both may find a message unsent; only one claim of it succeeds (one transaction under SQLite's write
    lock), so only one sends it. A claim left by a run that died is taken over after ten minutes."""
    from bot.proactive import SENDING_FOR, SentLog
    from bot.storage import SqliteStorage
    from kcpf.reminders import Kind, Message

    path = tmp_path / "conversations.sqlite3"
    first, second = SqliteStorage(path), SqliteStorage(path)
    try:
        message = Message(
            OFFICER.email, Kind.REMINDER, "Your update is due.", f"2026-11-01/reminder/{OFFICER.email}"
        )
        now = at(ON)
        one, other = SentLog(first), SentLog(second)
        assert await one.state(message.key, now) is None
        assert await other.state(message.key, now) is None
        assert await one.claim(message, now)
        assert not await other.claim(message, now)
        await one.sent(message, now)
        assert not await other.claim(message, now)
        assert await other.state(message.key, now) == "sent"
        abandoned = Message(TP.email, Kind.SUMMARY, "Summary.", f"2026-11-01/summary/{TP.email}")
        assert await one.claim(abandoned, now)
        assert not await other.claim(abandoned, now + SENDING_FOR / 2)
        assert await other.claim(abandoned, now + SENDING_FOR * 2)
    finally:
        first.close()
        second.close()


POSTER = """
import asyncio, sys
from pathlib import Path
from bot.proactive import NoticeOutbox
from bot.records import References
from bot.storage import SqliteStorage
from bot.turns import LocalTurns
from tests.builders import FixedClock, at
from datetime import date

async def main() -> None:
    storage = SqliteStorage(Path(sys.argv[1]))
    outbox = NoticeOutbox(storage, References(storage), None, LocalTurns(), FixedClock(at(date(2026, 11, 1))))
    for n in range(100):
        await outbox.post("tp@chorley.gov.uk", f"{sys.argv[2]} {n}")
    storage.close()

asyncio.run(main())
"""


def test_two_processes_keeping_notices_at_once_lose_none(tmp_path: Path) -> None:
    """The notices list is rewritten whole: only if no one changed it since it was read (one SQLite
    transaction), so two processes adding to it at once lose nothing (32 of 200 were lost before)."""
    import subprocess
    import sys

    from bot.proactive import NOTICES, SentEntry
    from bot.storage import SqliteStorage

    path = tmp_path / "conversations.sqlite3"
    SqliteStorage(path).close()
    posters = [
        subprocess.Popen([sys.executable, "-c", POSTER, str(path), name], cwd=Path(__file__).parent.parent)
        for name in ("serve", "remind")
    ]
    assert [p.wait(timeout=60) for p in posters] == [0, 0]
    storage = SqliteStorage(path)
    try:
        found = asyncio.run(storage.read([NOTICES], target_cls=SentEntry))
    finally:
        storage.close()
    assert len(found[NOTICES].data["notices"]) == 200
