"""The bot on the SharePoint register (KCPF_STORE=sharepoint, the fake Graph): what officers say reaches the
lists; when SharePoint is down the officer is told the answer is kept, then told again once it is saved."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from bot.app import create_app
from bot.storage import SqliteStorage
from connectors.sharepoint.register import SharePointRegister
from kcpf.cli.compose import Application, application, prepare_data_dir
from kcpf.cli.serve import bot_services
from kcpf.cli.settings import Settings
from tests.bot_harness import OFFICER, SMT, TP, Chat, Connector, running_connector, serving
from tests.fake_graph import FakeGraph, Fault
from tests.sharepoint_site import create_lists, session_for
from tests.test_bot_conversations import ASSESSMENT, NEW_CONTRACT, Step


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    with FakeGraph.running(tmp_path) as fake:
        create_lists(session_for(fake))
        for name in [n for n in os.environ if n.startswith("KCPF_")]:
            monkeypatch.delenv(name)
        graph = fake.graph_settings()
        for name, value in {
            "KCPF_DATA_DIR": str(tmp_path / "data"),
            "KCPF_TP": TP.email,
            "KCPF_SMT": SMT.email,
            "KCPF_STORE": "sharepoint",
            "KCPF_SP_TENANT_ID": graph.tenant_id,
            "KCPF_SP_CLIENT_ID": graph.client_id,
            "KCPF_SP_CLIENT_SECRET": graph.client_secret or "",
            "KCPF_SP_SITE_URL": graph.site_url,
            "KCPF_GRAPH_BASE_URL": graph.graph_base_url,
            "KCPF_GRAPH_AUTHORITY": graph.authority_host,
            "KCPF_GRAPH_CA_BUNDLE": str(graph.ca_bundle),
        }.items():
            monkeypatch.setenv(name, value)
        yield fake


@asynccontextmanager
async def bot_on_sharepoint() -> AsyncIterator[tuple[Application, Connector, aiohttp.ClientSession, str]]:
    settings = Settings.from_env(os.environ)
    prepare_data_dir(settings)
    storage = SqliteStorage(settings.conversations_path)
    try:
        with application(settings) as app:
            async with (
                running_connector() as connector,
                serving(create_app(bot_services(app, storage, "http://127.0.0.1"))) as bot_url,
                aiohttp.ClientSession() as session,
            ):
                yield app, connector, session, f"{bot_url}/api/messages"
    finally:
        storage.close()


async def say_all(chat: Chat, steps: list[Step]) -> str:
    said = ""
    for _, typed, _ in steps:
        said = await chat.texts(typed)
    return said


async def test_answers_reach_sharepoint_and_a_delayed_save_is_told_twice(fake: FakeGraph) -> None:
    async with bot_on_sharepoint() as (app, connector, session, url):
        chat = Chat(OFFICER, url, connector, session)
        said = await say_all(chat, NEW_CONTRACT)
        assert "Saved as **KCP-0001**" in said
        (item,) = fake.graph.items("KCPF Arrangements")
        assert item["Title"] == "Leisure centres"

        # SharePoint stops answering while the officer assesses: the assessment is kept in the outbox.
        await say_all(chat, ASSESSMENT[:-2])
        fake.faults.random(1.0, (Fault("unavailable", retry_after=0),))
        said = await chat.texts("save")
        assert "safely recorded, but SharePoint is not answering" in said
        assert fake.graph.items("KCPF Assessments") == []

        # SharePoint is back: the outbox's worker saves it, and the officer hears so in their chat.
        fake.faults.clear()
        register = app.framework.register
        assert isinstance(register, SharePointRegister)
        await asyncio.to_thread(register.flush)
        for _ in range(100):
            told = [
                a.get("text") or "" for a in connector.sent if a["conversation_id"] == chat.conversation_id
            ]
            if any("is saved in SharePoint" in text for text in told):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"the officer was not told the assessment was saved: {told[-3:]}")
        (assessment,) = fake.graph.items("KCPF Assessments")
        assert assessment["KcpfReference"] == "KCP-0001"
