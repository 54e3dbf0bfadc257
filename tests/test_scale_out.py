"""Scale-out: two real `kcpf serve` processes behind a round-robin, their conversation state in Azure Blob
Storage (Azurite), their register the same SQLite file, replies to the Bot Connector stand-in.

The transcripts are test_bot_conversations.py's. An officer's turns alternate between the processes; two
answers sent at once reach both processes at once. Without the cross-process guard the same test loses
answers: a test here runs the processes with only their in-process lock and shows it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from azure.storage.blob.aio import BlobLeaseClient, ContainerClient

from bot.turns import TurnBusy
from connectors.blob_state import BUSY, LEASE_SECONDS, BlobState, lease_blob
from connectors.sqlite_register import SqliteRegister
from kcpf.cli.settings import InvalidSetting, Settings
from kcpf.framework import FRAMEWORK_2025
from kcpf.model import Status
from kcpf.services import FrameworkService
from tests.azurite import Azurite, missing_tools, running_azurite
from tests.bot_harness import OFFICER, Running, running_connector, serving
from tests.builders import FixedClock, at
from tests.playground import ROOT, Started, _wait, bot_environment, free_port
from tests.test_bot_conversations import ASSESSMENT, NEW_CONTRACT, check_register, play

# `kcpf serve` with the cross-process guard switched off: each process has only its own asyncio lock, as a
# single process does. Used once, to show that the concurrency test below can fail.
UNGUARDED = (
    "import sys; from connectors.blob_state import BlobTurns; "
    "BlobTurns.hold = lambda self, key: self._local.hold(key); "
    "from kcpf.cli import main; sys.exit(main())"
)


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    """One Azurite for the module's tests (each uses its own container); skipped, saying why, without Node.js
    or the npm package, as the Playground's tests are."""
    why = missing_tools()
    if why:
        pytest.skip(why)
    with running_azurite() as running:
        yield running


def blob_settings(azurite: Azurite, container: str) -> dict[str, str]:
    return {
        "KCPF_STATE_STORE": "blob",
        "KCPF_BLOB_CONNECTION_STRING": azurite.connection_string,
        "KCPF_BLOB_CONTAINER": container,
    }


def start_serve(
    data_dir: Path, settings: dict[str, str], log: Path, *, guarded: bool = True
) -> tuple[Started, str]:
    """A `kcpf serve` process on a free port, with these settings, the data directory and the harness's
    SMT and T&P; and its address."""
    port = free_port()
    entry = ["-m", "kcpf"] if guarded else ["-c", UNGUARDED]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *entry, "serve", "--port", str(port)],
            cwd=ROOT,
            env={**bot_environment(data_dir), **settings},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started = Started(process, log)
    _wait(started, f"http://127.0.0.1:{port}/healthz", "kcpf serve")
    return started, f"http://127.0.0.1:{port}"


@dataclass
class RoundRobin:
    """A load balancer's part: each request to the next process in turn. `served` says which took what."""

    backends: list[str]
    served: list[str] = field(default_factory=list)
    _next: itertools.cycle[str] = field(init=False)

    def __post_init__(self) -> None:
        self._next = itertools.cycle(self.backends)

    def app(self) -> web.Application:
        session: list[aiohttp.ClientSession] = []

        async def forward(request: web.Request) -> web.StreamResponse:
            backend = next(self._next)
            self.served.append(backend)
            body = await request.read()
            headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
            async with session[0].post(f"{backend}/api/messages", data=body, headers=headers) as answer:
                return web.Response(
                    status=answer.status, body=await answer.read(), content_type=answer.content_type
                )

        async def open_session(app: web.Application) -> AsyncIterator[None]:
            async with aiohttp.ClientSession() as opened:
                session.append(opened)
                yield

        app = web.Application()
        app.router.add_post("/api/messages", forward)
        app.cleanup_ctx.append(open_session)
        return app


@dataclass
class Cluster:
    bot: Running  # the round-robin's address; the shared register, read by the test
    balancer: RoundRobin
    processes: list[Started]


@asynccontextmanager
async def cluster(
    data_dir: Path, settings: dict[str, str], *, processes: int = 2, guarded: bool = True
) -> AsyncIterator[Cluster]:
    """`processes` bots on the same data directory and Blob container, a round-robin in front, the Bot
    Connector stand-in behind."""
    with ExitStack() as stack:
        started, addresses = [], []
        for n in range(processes):
            log = data_dir.parent / f"serve-{n}.log"
            one, address = start_serve(data_dir, settings, log, guarded=guarded)
            stack.callback(one.stop)
            started.append(one)
            addresses.append(address)
        balancer = RoundRobin(addresses)
        register = SqliteRegister(data_dir / "register.sqlite3")
        stack.callback(register.close)
        clock = FixedClock(at(date(2026, 11, 27)))
        framework = FrameworkService(register, clock, FRAMEWORK_2025)
        async with (
            running_connector() as connector,
            serving(balancer.app()) as url,
            aiohttp.ClientSession() as session,
        ):
            running = Running(f"{url}/api/messages", connector, framework, clock, session, register)
            yield Cluster(running, balancer, started)
    for one in started:
        assert "Traceback" not in one.tail(200), one.tail(200)
    logged = (data_dir / "kcpf.log").read_text(encoding="utf-8")
    assert " ERROR " not in logged, logged  # no turn failed (an incident), no lease lost


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def container() -> str:
    return f"kcpf-{uuid.uuid4().hex[:12]}"  # each test its own container in the shared Azurite


async def state_blobs(azurite: Azurite, container: str) -> list[str]:
    async with ContainerClient.from_connection_string(azurite.connection_string, container) as client:
        return [name async for name in client.list_blob_names()]


async def test_an_assessment_whose_turns_alternate_between_two_processes_completes(
    azurite: Azurite, data_dir: Path, container: str
) -> None:
    async with cluster(data_dir, blob_settings(azurite, container)) as running:
        await play(running.bot, [*NEW_CONTRACT, *ASSESSMENT])
        backends = running.balancer.backends
        # every other turn went to the other process
        assert running.balancer.served == [backends[n % 2] for n in range(len(running.balancer.served))]
        await check_register(running.bot, 2)
    assert not (data_dir / "conversations.sqlite3").exists()  # the state is in Blob Storage
    blobs = await state_blobs(azurite, container)
    assert f"msteams/conversations/{running.bot.chat(OFFICER).conversation_id}" in blobs


async def concurrent_rounds(running: Cluster, rounds: int) -> int:
    """Rounds of two criteria answered at the same moment, one to each process; how many lost an answer.
    The last round's assessment is saved: the register must hold both answers."""
    chat = running.bot.chat(OFFICER)
    lost = 0
    for n in range(rounds):
        await play(running.bot, [*ASSESSMENT[:2]])  # assess KCP-0001; ok: "2 of 5: Corporate Priorities"
        start = len(running.balancer.served)
        await asyncio.gather(chat.say(f"yes, first reason {n}"), chat.say(f"yes, second reason {n}"))
        assert set(running.balancer.served[start:]) == set(running.balancer.backends)  # one to each
        where = await chat.texts("help")
        if "4 of 5: Length" not in where:  # both answered (either order): the fourth question is next
            assert "3 of 5: Risk" in where, where  # one answer lost
            lost += 1
        if n < rounds - 1:
            await play(running.bot, [(OFFICER, "cancel", ("Cancelled",))])
    return lost


async def test_answers_sent_at_once_to_two_processes_are_each_kept(
    azurite: Azurite, data_dir: Path, container: str
) -> None:
    async with cluster(data_dir, blob_settings(azurite, container)) as running:
        await play(running.bot, NEW_CONTRACT)
        assert await concurrent_rounds(running, rounds=5) == 0
        await play(running.bot, ASSESSMENT[5:])  # length, resource, save, propose
        (assessment,) = running.bot.framework.register.assessments("KCP-0001")
        reasons = {assessment.answer("priorities").reason, assessment.answer("risk").reason}
        assert reasons == {"first reason 4", "second reason 4"}
        assert running.bot.framework.register.get("KCP-0001").status is Status.PROPOSED


async def test_without_the_cross_process_guard_answers_sent_at_once_are_lost(
    azurite: Azurite, data_dir: Path, container: str
) -> None:
    """The control for the test above: the same rounds, each process with only its in-process lock."""
    async with cluster(data_dir, blob_settings(azurite, container), guarded=False) as running:
        await play(running.bot, NEW_CONTRACT)
        assert await concurrent_rounds(running, rounds=5) > 0


async def test_conversation_state_in_blob_survives_a_restart(
    azurite: Azurite, data_dir: Path, container: str
) -> None:
    settings = blob_settings(azurite, container)
    async with cluster(data_dir, settings, processes=1) as running:
        await play(running.bot, [*NEW_CONTRACT, *ASSESSMENT[:4]])
    # A new process, nothing in memory: where the officer was comes from the container.
    async with cluster(data_dir, settings, processes=1) as running:
        await play(
            running.bot,
            [(OFFICER, "hello", ("Welcome back", "assessment against the criteria for KCP-0001"))],
        )
        await play(running.bot, ASSESSMENT[4:])
        await check_register(running.bot, 2)
    assert not (data_dir / "conversations.sqlite3").exists()


async def test_a_conversation_held_by_another_process_is_waited_for_then_refused_clearly(
    azurite: Azurite, container: str
) -> None:
    first = BlobState(azurite.connection_string, container)
    second = BlobState(azurite.connection_string, container, wait=0.5)
    try:
        await first.start()
        async with first.turns.hold("msteams/conversations/a:1") as reread:
            assert reread  # always read the state again: another process may have saved it
            with pytest.raises(TurnBusy) as busy:
                async with second.turns.hold("msteams/conversations/a:1"):
                    pass
            assert busy.value.message == BUSY
            async with second.turns.hold("msteams/conversations/a:2"):  # another conversation is free
                pass
        async with second.turns.hold("msteams/conversations/a:1"):  # released: taken at once
            pass
        assert lease_blob("msteams/conversations/a:1") in await state_blobs(azurite, container)
    finally:
        await first.close()
        await second.close()


async def test_a_long_turn_keeps_its_lease_and_a_crashed_process_loses_its_own(
    azurite: Azurite, container: str
) -> None:
    """Leases last LEASE_SECONDS: a turn longer than that keeps the conversation by renewing; the lease of a
    process that died mid-turn (never renewed, never released) expires and the next turn takes it."""
    first = BlobState(azurite.connection_string, container)
    impatient = BlobState(azurite.connection_string, container, wait=0.5)
    patient = BlobState(azurite.connection_string, container, wait=LEASE_SECONDS + 5)
    loop = asyncio.get_running_loop()

    async def long_turn() -> None:
        async with first.turns.hold("msteams/conversations/long"):
            await asyncio.sleep(LEASE_SECONDS + 2)
            with pytest.raises(TurnBusy):
                async with impatient.turns.hold("msteams/conversations/long"):
                    pass

    async def after_a_crash() -> None:
        async with ContainerClient.from_connection_string(azurite.connection_string, container) as client:
            blob = client.get_blob_client(lease_blob("msteams/conversations/crashed"))
            await blob.upload_blob(b"")
            await BlobLeaseClient(blob).acquire(lease_duration=LEASE_SECONDS)  # then the process dies
        began = loop.time()
        async with patient.turns.hold("msteams/conversations/crashed"):
            waited = loop.time() - began
        assert LEASE_SECONDS - 5 < waited < LEASE_SECONDS + 2

    try:
        await first.start()
        await asyncio.gather(long_turn(), after_a_crash())
    finally:
        for state in (first, impatient, patient):
            await state.close()


async def test_an_officer_whose_conversation_stays_held_is_told_to_send_again(
    azurite: Azurite, data_dir: Path, container: str
) -> None:
    """A process that took the conversation and stopped answering (its lease not yet expired): the turn
    waits, then is refused in words, and changes nothing."""
    other = BlobState(azurite.connection_string, container)
    try:
        async with cluster(data_dir, blob_settings(azurite, container), processes=1) as running:
            chat = running.bot.chat(OFFICER)
            async with other.turns.hold(f"msteams/conversations/{chat.conversation_id}"):
                said = await chat.texts("new")
            assert said == BUSY
            await play(running.bot, [(OFFICER, "help", ("*new*",))])  # nothing under way
            await play(running.bot, [(OFFICER, "new", ("What is the contract or partnership called?",))])
    finally:
        await other.close()


def test_blob_settings_are_checked_and_the_connection_string_never_shown(tmp_path: Path) -> None:
    secret = "DefaultEndpointsProtocol=https;AccountName=kcpf;AccountKey=c2VjcmV0LWtleQ==;"
    blob = {"KCPF_STATE_STORE": "blob", "KCPF_BLOB_CONNECTION_STRING": secret}
    settings = Settings.from_env(blob)
    assert settings.blob is not None
    assert (settings.blob.connection_string, settings.blob.container) == (secret, "kcpf-state")
    assert "c2VjcmV0" not in repr(settings)
    key_file = tmp_path / "connection"
    key_file.write_text(secret + "\n", encoding="utf-8")
    from_file = Settings.from_env(
        {"KCPF_STATE_STORE": "blob", "KCPF_BLOB_CONNECTION_STRING_FILE": str(key_file)}
    )
    assert from_file.blob == settings.blob
    assert Settings.from_env({}).state_store == "sqlite"
    for env, named in [
        ({"KCPF_STATE_STORE": "cosmos"}, "KCPF_STATE_STORE"),
        ({"KCPF_STATE_STORE": "blob"}, "KCPF_BLOB_CONNECTION_STRING"),
        ({"KCPF_STATE_STORE": "blob", "KCPF_BLOB_CONNECTION_STRING": "AccountKey=c2VjcmV0"}, "not a storage"),
        ({**blob, "KCPF_BLOB_CONTAINER": "Kcpf_State"}, "KCPF_BLOB_CONTAINER"),
        (
            {"KCPF_STATE_STORE": "blob", "KCPF_BLOB_CONNECTION_STRING_FILE": str(tmp_path / "missing")},
            "KCPF_BLOB_CONNECTION_STRING_FILE",
        ),
    ]:
        with pytest.raises(InvalidSetting) as refused:
            Settings.from_env(env)
        assert named in refused.value.message
        assert "c2VjcmV0" not in refused.value.message


@pytest.mark.parametrize(("wrong", "said"), [("key", "refused"), ("port", "cannot be reached")])
def test_serve_stops_at_start_up_naming_the_setting_when_the_account_cannot_be_used(
    azurite: Azurite, data_dir: Path, wrong: str, said: str
) -> None:
    """A wrong account key, or an account that cannot be reached (port 1: nothing listens there)."""
    if wrong == "key":
        connection = azurite.connection_string.replace("AccountKey=Eby8", "AccountKey=Xby8")
    else:
        connection = azurite.connection_string.replace(f":{azurite.port}/", ":1/")
    env = {**bot_environment(data_dir), **blob_settings(azurite, "kcpf-state")}
    env["KCPF_BLOB_CONNECTION_STRING"] = connection
    result = subprocess.run(
        [sys.executable, "-m", "kcpf", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "KCPF_BLOB_CONNECTION_STRING" in result.stderr
    assert said in result.stderr
    everything = result.stderr + result.stdout + (data_dir / "kcpf.log").read_text(encoding="utf-8")
    assert "AccountKey" not in everything
    assert "Traceback" not in result.stderr


async def test_two_reminder_passes_at_once_on_two_processes_send_each_message_once(
    azurite: Azurite, tmp_path: Path, container: str
) -> None:
    """`kcpf remind` on one machine while a scheduler calls POST /api/notify on another bot: both passes see
    the same sent-log in Blob storage, and each message is held while it is checked and sent."""
    from bot.app import reminders
    from bot.records import References
    from tests.test_reminders_sending import ON, _add_key_arrangement, _bot

    processes = [BlobState(azurite.connection_string, container) for _ in range(2)]
    try:
        for state in processes:
            await state.start()
        async with _bot(tmp_path) as (running, bot):
            _add_key_arrangement(running)
            await running.chat(OFFICER).say("help")  # where to reach the officer, now in the shared storage
            reference = await bot.references.find(OFFICER.email)
            assert reference is not None
            shared = References(processes[0].storage)
            await shared.remember(OFFICER.email, "", reference.get_continuation_activity())
            passes = [
                reminders(
                    dataclasses.replace(bot.services, storage=state.storage, turns=state.turns), bot.sender
                )
                for state in processes
            ]
            running.connector.sent.clear()
            results = await asyncio.gather(*(p.run(ON) for p in passes))
            to_officer = [
                a for a in running.connector.sent if a["conversation_id"] == reference.conversation.id
            ]
            assert len(to_officer) == 1, [r.counts() for r in results]
    finally:
        for state in processes:
            await state.close()


async def test_when_blob_storage_goes_down_the_officer_is_told_to_send_the_message_again(
    tmp_path: Path,
) -> None:
    """Its own Azurite, stopped mid-conversation: the officer hears, in words, that this message was not
    taken and their earlier answers are kept (it used to be a generic "something went wrong")."""
    from bot.app import BotServices, create_app
    from bot.flows.engine import Reporting
    from bot.turns import STATE_UNAVAILABLE
    from tests.bot_harness import ROLES, Chat

    with running_azurite() as storage_service:
        state = BlobState(storage_service.connection_string, "kcpf-state")
        register = SqliteRegister(tmp_path / "register.sqlite3")
        clock = FixedClock(at(date(2026, 11, 27)))
        framework = FrameworkService(register, clock, FRAMEWORK_2025)
        services = BotServices(
            framework=framework,
            roles=ROLES,
            storage=state.storage,
            clock=clock,
            register_is_local=True,
            reporting=Reporting(None, lambda produced: ""),  # type: ignore[arg-type]
            turns=state.turns,
        )
        try:
            await state.start()
            async with (
                running_connector() as connector,
                serving(create_app(services)) as url,
                aiohttp.ClientSession() as session,
            ):
                chat = Chat(OFFICER, f"{url}/api/messages", connector, session)
                assert "called?" in await chat.texts("new")
                storage_service.started.stop()
                said = await chat.texts("Leisure centres")
                assert STATE_UNAVAILABLE in said
                assert "something went wrong" not in said
        finally:
            await state.close()
            register.close()
