"""End to end: reminders reach officers' chats in the real Microsoft 365 Agents Playground.

Jo Bloggs (a responsible officer) and Alex Partnerships (T&P, KCPF_TP) each have their own Playground in
front of the real bot (`kcpf serve`) and talk to it once, so the bot keeps where to reach them. Then
`kcpf remind`, a separate process on the same data directory as a scheduler would run it, sends Jo the
overdue update and Alex the summary: they arrive on each Playground's conversation websocket. A second run
sends nothing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import aiohttp
import pytest

from connectors.sqlite_register import SqliteRegister
from kcpf.calendar import last_ended_period
from kcpf.model import Arrangement, Officer, Status
from tests.builders import arrangement, at
from tests.playground import (
    OFFICER,
    ROOT,
    TP,
    TURN_SECONDS,
    Message,
    PlaygroundClient,
    bot_environment,
    connect,
    missing_tools,
    running_playground,
    servers,
)

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=missing_tools() or "runs")

ON = (
    "01/11/2026"  # the day after the 2026/27-H1 update's deadline: `--on`, so the test does not hang on today
)


def _key_arrangement(register_path: Path, *, since: date) -> Arrangement:
    """The officer's key partnership, key since `since`: its biannual updates are owed from then."""
    register = SqliteRegister(register_path)
    try:
        return register.save(
            arrangement(
                reference=None,
                title="Leisure centres",
                responsible_officer=Officer(OFFICER.email, OFFICER.name),
                status=Status.MONITORING,
                key_since=since,
            ),
            action="record",
            actor="test",
            at=at(since),
        )
    finally:
        register.close()


async def _arrives(client: PlaygroundClient, phrase: str) -> Message:
    """The first message posted to `client`'s Playground containing `phrase`, waiting for it."""

    def found() -> Message | None:
        return next((m for m in client.messages if phrase in m.text), None)

    async with client._changed:
        await asyncio.wait_for(client._changed.wait_for(lambda: found() is not None), TURN_SECONDS)
    message = found()
    assert message is not None
    return message


def _remind(data_dir: str) -> str:
    env = bot_environment(Path(data_dir))
    done = subprocess.run(
        [sys.executable, "-m", "kcpf", "remind", "--on", ON],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_kcpf_remind_reaches_the_officer_and_tp_in_their_playgrounds() -> None:
    async with running_playground((OFFICER, TP)) as running:
        saved = _key_arrangement(running.register_path, since=date(2026, 6, 1))
        jo, alex = running.clients[OFFICER], running.clients[TP]
        await jo.texts("help")  # each talks to the bot once: it keeps where to reach them
        await alex.texts("help")

        out = await asyncio.to_thread(_remind, str(running.servers.data_dir))
        assert f"[sent] reminder to {OFFICER.email}" in out, out
        assert f"[sent] T&P summary to {TP.email}" in out, out

        reminder = await _arrives(jo, "A reminder from KCPF")
        assert reminder.conversation == jo.chat
        assert f"{saved.reference} Leisure centres: biannual update for 2026/27-H1" in reminder.text
        assert "was due 31 October 2026" in reminder.text
        summary = await _arrives(alex, "KCPF reminders on 1 November 2026")
        assert summary.conversation == alex.chat
        assert "1 item overdue" in summary.text
        assert f"{OFFICER.name} <{OFFICER.email}>: 1 item ({saved.reference})" in summary.text

        again = await asyncio.to_thread(_remind, str(running.servers.data_dir))
        assert f"[already_sent] reminder to {OFFICER.email}" in again, again
        await jo._sync()
        assert len([m for m in jo.messages if "A reminder from KCPF" in m.text]) == 1


KEY = "an-end-to-end-notify-key-of-32-characters-or-more"


async def test_post_api_notify_on_the_running_bot_reaches_the_officers_playground(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scheduler calls the running bot (its own settings and clock): today's pass reaches Jo."""
    for name in [n for n in os.environ if n.startswith("KCPF_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KCPF_NOTIFY_KEY", KEY)  # the bot's setting (own_settings passes KCPF_* through)
    before = last_ended_period(date.today()).previous  # its update is overdue whatever today is
    with tempfile.TemporaryDirectory(prefix="kcpf-remind-e2e-") as temp:
        data_dir = Path(temp) / "data"
        data_dir.mkdir()
        saved = _key_arrangement(data_dir / "register.sqlite3", since=before.start)
        with servers(data_dir, Path(temp), (OFFICER,), own_settings=True) as running:
            async with connect(running.playgrounds[OFFICER]) as jo, aiohttp.ClientSession() as http:
                await jo.texts("help")
                url = f"http://127.0.0.1:{running.bot_port}/api/notify"
                async with http.post(url, headers={"Authorization": "Bearer not-the-key"}) as refused:
                    assert refused.status == 401
                async with http.post(url, headers={"Authorization": f"Bearer {KEY}"}) as response:
                    assert response.status == 200, await response.text()
                    counts = await response.json()
                assert counts["sent"] == 1, counts
                assert counts["no_conversation"] == 1, counts  # T&P has not talked to the bot
                reminder = await _arrives(jo, "A reminder from KCPF")
                assert reminder.conversation == jo.chat
                assert f"{saved.reference} Leisure centres:" in reminder.text
                assert f"update for {before.label}" in reminder.text
