"""The real Microsoft 365 Agents Playground (npm, pinned in package.json) in front of the real bot.

`running_playground()` starts both on free ports with a temporary data directory; `PlaygroundClient` talks
to the Playground through the interface its own web page uses (undocumented, hence the pinned version):
  POST /_conversation/v1/conversations/{id}/messages   a person types in a chat
  POST /_conversation/v1/invoke                         a person presses an Action.Execute button
  WS   /_ws_conversation/v1/conversations/stream        what the bot posted ({"action": "createMessage", ...})
  WS   /_ws/log/stream                                  the Playground's log: the bot has answered a turn
The bot is `kcpf serve` in its own process: the real composition root, settings and system clock.
`python -m tests.playground` is `make run`: the bot on the register in KCPF_DATA_DIR and the Playground.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
PLAYGROUND = ROOT / "node_modules" / ".bin" / "agentsplayground"
TENANT_ID = "00000000-0000-0000-0000-000000000001"
BOT_ID = "00000000-0000-0000-0000-000000000011"
BOT_NAME = "KCPF"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
DEFAULT_BOT_PORT = 3978
DEFAULT_PLAYGROUND_PORT = 56150
STARTUP_SECONDS = 30.0
TURN_SECONDS = 20.0


@dataclass(frozen=True)
class MockUser:
    id: str
    name: str
    email: str
    aad_object_id: str

    def config(self) -> dict[str, str]:
        given, _, surname = self.name.partition(" ")
        return {
            "id": self.id,
            "name": self.name,
            "userPrincipleName": self.email,  # sic: the Playground's config schema spells it so
            "aadObjectId": self.aad_object_id,
            "givenName": given,
            "surname": surname,
            "email": self.email,
        }


def _user(n: int, name: str, email: str) -> MockUser:
    return MockUser(f"user-id-{n}", name, email, f"00000000-0000-0000-0000-0000000000{20 + n}")


# The people. Each runs their own Playground (as each has their own Teams): its current user is the one who
# types; the members API answers for that user and the five others (its schema wants exactly five).
OFFICER = _user(0, "Jo Bloggs", "jo.bloggs@chorley.gov.uk")
SMT = _user(1, "Pat Director", "pat.director@chorley.gov.uk")
TP = _user(2, "Alex Partnerships", "alex.tp@chorley.gov.uk")
OTHER = _user(3, "Sam Other", "sam.other@chorley.gov.uk")
FINANCE = _user(4, "Chris Finance", "chris.finance@chorley.gov.uk")
LEGAL = _user(5, "Robin Legal", "robin.legal@southribble.gov.uk")
PEOPLE = (OFFICER, SMT, TP, OTHER, FINANCE, LEGAL)


def personal_chat(user: MockUser) -> str:
    """The id of `user`'s personal chat with the bot (distinct per person, as in Teams)."""
    return f"kcpf-personal-chat-{user.id}"


def playground_config(current: MockUser = OFFICER) -> dict[str, Any]:
    """`.m365agentsplayground.yml` (schema 0.1.1) for `current`'s Playground."""
    return {
        "version": "0.1.1",
        "tenantId": TENANT_ID,
        "bot": {"id": BOT_ID, "name": BOT_NAME},
        "currentUser": current.config(),
        "users": [user.config() for user in PEOPLE if user != current],
        "personalChat": {"id": personal_chat(current)},
        "groupChat": {"id": "kcpf-group-chat", "name": "Key contracts"},
        "team": {
            "id": "kcpf-team",
            "name": "Transformation and Partnerships",
            "aadGroupId": "00000000-0000-0000-0000-000000000031",
            "channels": [{"id": "kcpf-channel", "name": "Key contracts"}],
        },
    }


def write_config(path: Path, current: MockUser = OFFICER) -> Path:
    path.write_text(json.dumps(playground_config(current), indent=2) + "\n", encoding="utf-8")  # JSON is YAML
    return path


def bot_environment(data_dir: Path, *, own_settings: bool = False) -> dict[str, str]:
    """`kcpf serve`'s settings: the data directory and the mock SMT and T&P members. With `own_settings`
    (make run) the caller's KCPF_* settings win; without (tests) they are left out."""
    env = {k: v for k, v in os.environ.items() if own_settings or not k.startswith("KCPF_")}
    env["KCPF_DATA_DIR"] = str(data_dir)
    env.setdefault("KCPF_SMT", SMT.email)
    env.setdefault("KCPF_TP", TP.email)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class StartFailed(RuntimeError):
    pass


def missing_tools() -> str:
    """Why the Playground cannot run here ('' when it can)."""
    return missing_node_tool(PLAYGROUND, "the Agents Playground")


def missing_node_tool(command: Path, what: str) -> str:
    """Why an npm tool of package.json's cannot run here ('' when it can)."""
    if shutil.which("node") is None:
        return "needs Node.js (the Debian package nodejs): node not found"
    if not command.exists():
        return f"needs {what} from npm: {command} is missing (run `make node-deps`)"
    return ""


@dataclass
class Started:
    """A server we started, with the files its output goes to."""

    process: subprocess.Popen[bytes]
    log: Path
    more_log: Path | None = None

    def tail(self, lines: int = 30) -> str:
        out = []
        for log in (self.log, self.more_log):
            if log is not None and log.exists():
                out.extend(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        return "\n".join(out)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_bot(data_dir: Path, port: int, log: Path, *, own_settings: bool = False) -> Started:
    """`kcpf serve` (the real composition root, the system clock) on 127.0.0.1:port."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kcpf", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=bot_environment(data_dir, own_settings=own_settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started = Started(process, log)
    _wait(started, f"http://127.0.0.1:{port}/healthz", "kcpf serve")
    return started


@dataclass
class Playground:
    """One person's Agents Playground: its process and where its web page is."""

    user: MockUser
    started: Started
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_playground(bot_port: int, port: int, workdir: Path, user: MockUser = OFFICER) -> Playground:
    """`user`'s Agents Playground aimed at the bot. It moves to a random port when `port` is taken, so the
    port is read from what it prints."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = write_config(workdir / "m365agentsplayground.yml", user)
    env = dict(os.environ)
    env.update(
        M365_AGENTS_PLAYGROUND_CONFIG_PATH=str(config),
        M365_AGENTS_PLAYGROUND_LOGFILE=str(workdir / "playground-debug.log"),  # its errors go only here
        TEAMSAPPTESTER_BROWSER="none",  # do not open a browser
    )
    command = [str(PLAYGROUND), "-e", f"http://127.0.0.1:{bot_port}/api/messages", "-c", "msteams"]
    command += ["-p", str(port), "--dt"]  # --dt: no telemetry
    log = workdir / "playground.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    started = Started(process, log, workdir / "playground-debug.log")
    deadline = time.monotonic() + STARTUP_SECONDS
    while not (actual := _listening_port(started)):
        _still_starting(started, deadline, "the Agents Playground")
        time.sleep(0.05)
    _wait(started, f"http://127.0.0.1:{actual}/_internal/v1/config", "the Agents Playground")
    return Playground(user, started, actual)


def _listening_port(started: Started) -> int:
    for line in started.tail(200).splitlines():
        if line.startswith("Listening on "):
            return int(line.removeprefix("Listening on ").strip())
    return 0


def _wait(started: Started, url: str, what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        _still_starting(started, deadline, what)
        time.sleep(0.05)


def _still_starting(started: Started, deadline: float, what: str) -> None:
    if started.process.poll() is not None or time.monotonic() > deadline:
        started.stop()
        raise StartFailed(f"{what} did not start (exit code {started.process.returncode}):\n{started.tail()}")


@dataclass
class Servers:
    bot_port: int
    data_dir: Path
    bot: Started
    playgrounds: dict[MockUser, Playground]

    def all_running(self) -> bool:
        processes = [self.bot.process, *(p.started.process for p in self.playgrounds.values())]
        return all(process.poll() is None for process in processes)


@contextmanager
def servers(
    data_dir: Path,
    workdir: Path,
    people: Sequence[MockUser] = (OFFICER,),
    *,
    bot_port: int = 0,
    playground_port: int = 0,
    own_settings: bool = False,
) -> Iterator[Servers]:
    """`kcpf serve` and a Playground for each of `people`; all stopped on leaving."""
    bot_port = bot_port or free_port()
    with ExitStack() as stack:
        bot = start_bot(data_dir, bot_port, workdir / "bot.log", own_settings=own_settings)
        stack.callback(bot.stop)
        playgrounds = {}
        for person in people:
            playground = start_playground(
                bot_port, playground_port or free_port(), workdir / f"playground-{person.id}", person
            )
            stack.callback(playground.started.stop)
            playgrounds[person] = playground
        yield Servers(bot_port, data_dir, bot, playgrounds)


# The client: what the Playground's web page does.


@dataclass(frozen=True)
class Message:
    """One message the bot posted, as the Playground shows it."""

    id: str
    conversation: str
    text: str
    attachments: tuple[dict[str, Any], ...]

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [a["content"] for a in self.attachments if a.get("contentType") == CARD_TYPE]

    def everything(self) -> str:
        """Text and cards, for looking for short key phrases."""
        return "\n".join([self.text, *(json.dumps(card) for card in self.cards)])


@dataclass
class PlaygroundClient:
    """Types and presses buttons in one person's Playground, and sees what the bot posts there."""

    playground: Playground
    session: aiohttp.ClientSession
    conversation_ws: aiohttp.ClientWebSocketResponse
    log_ws: aiohttp.ClientWebSocketResponse
    messages: list[Message] = field(default_factory=list)
    _answered: list[str] = field(default_factory=list)  # the texts of the turns the bot has answered
    _pongs: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def user(self) -> MockUser:
        return self.playground.user

    @property
    def chat(self) -> str:
        return personal_chat(self.user)

    async def say(self, text: str) -> list[Message]:
        """Type `text` in the personal chat (the Playground sends it as its current user, whatever `from`
        says); returns what the bot posted during the turn."""
        before, answered = len(self.messages), len(self._answered)
        body = {"from": {"id": self.user.id}, "text": text, "textFormat": "plain"}
        url = f"{self.playground.url}/_conversation/v1/conversations/{self.chat}/messages"
        async with self.session.post(url, json=body) as response:
            assert response.status == 200, (response.status, await response.text())
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: text in self._answered[answered:]), TURN_SECONDS
            )
        await self._sync()
        return self.messages[before:]

    async def heard(self, snippet: str, *, since: int = 0) -> Message:
        """The first message from index `since` holding `snippet`, waited for: a notice reaches this chat
        after the turn (someone else's) that caused it."""

        def found() -> Message | None:
            return next((m for m in self.messages[since:] if snippet in m.everything()), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), TURN_SECONDS)
        message = found()
        assert message is not None
        return message

    async def texts(self, text: str) -> str:
        """Everything the bot answered `text`, as one text (cards as their JSON)."""
        return "\n".join(m.everything() for m in await self.say(text))

    async def execute(
        self, card_message: Message, inputs: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[Message]]:
        """Press the Action.Execute button of the card in `card_message` with these inputs (merged into the
        action's data, as Teams does). Returns the invoke's answer and what the bot posted meanwhile."""
        action = next(a for a in card_actions(card_message.cards[0]) if a.get("type") == "Action.Execute")
        body = {
            "name": "adaptiveCard/action",
            "value": {
                "action": {
                    "type": "Action.Execute",
                    "verb": action["verb"],
                    "data": {**action["data"], **inputs},
                },
                "trigger": "manual",
            },
            "from": {"id": self.user.id},
            "conversation": {"id": card_message.conversation},
            "replyToId": card_message.id,
        }
        before = len(self.messages)
        async with self.session.post(f"{self.playground.url}/_conversation/v1/invoke", json=body) as response:
            answer = await response.json()
            assert response.status == 200, (response.status, answer)
        await self._sync()
        return dict(answer), self.messages[before:]

    async def _sync(self) -> None:
        """Every message the bot posted before now has been read: the pong comes after them."""
        async with self._changed:
            pongs = self._pongs
            await self.conversation_ws.ping()
            await asyncio.wait_for(self._changed.wait_for(lambda: self._pongs > pongs), TURN_SECONDS)

    async def _read_conversations(self) -> None:
        async for frame in self.conversation_ws:
            if frame.type == aiohttp.WSMsgType.PING:
                await self.conversation_ws.pong(frame.data)
                continue
            async with self._changed:
                if frame.type == aiohttp.WSMsgType.PONG:
                    self._pongs += 1
                elif frame.type == aiohttp.WSMsgType.TEXT:
                    event = json.loads(frame.data)
                    if event.get("action") == "createMessage":
                        m = event["message"]
                        self.messages.append(
                            Message(
                                str(m["messageId"]),
                                str(event.get("actionConversationId")),
                                m.get("text") or "",
                                tuple(m.get("attachments") or ()),
                            )
                        )
                self._changed.notify_all()

    async def _read_log(self) -> None:
        async for frame in self.log_ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            entry = json.loads(frame.data).get("log") or {}
            # The Playground logs an activity it sent to the bot once the bot has answered it.
            if entry.get("to") == "User Application" and entry.get("response"):
                sent = (entry.get("request") or {}).get("body") or {}
                async with self._changed:
                    self._answered.append(str(sent.get("text")))
                    self._changed.notify_all()


def card_actions(element: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every action in an Adaptive Card, wherever it sits."""
    yield from element.get("actions") or []
    for key in ("body", "items", "columns"):
        for item in element.get(key) or []:
            if isinstance(item, dict):
                yield from card_actions(item)


@asynccontextmanager
async def connect(playground: Playground) -> AsyncIterator[PlaygroundClient]:
    ws_base = playground.url.replace("http://", "ws://", 1)
    async with aiohttp.ClientSession() as session:
        conversation_ws = await session.ws_connect(
            f"{ws_base}/_ws_conversation/v1/conversations/stream", autoping=False
        )
        log_ws = await session.ws_connect(f"{ws_base}/_ws/log/stream")
        client = PlaygroundClient(playground, session, conversation_ws, log_ws)
        readers = [
            asyncio.create_task(client._read_conversations()),
            asyncio.create_task(client._read_log()),
        ]
        try:
            await client._sync()
            yield client
        finally:
            for reader in readers:
                reader.cancel()
            await conversation_ws.close()
            await log_ws.close()


@dataclass
class Running:
    servers: Servers
    clients: dict[MockUser, PlaygroundClient]

    @property
    def register_path(self) -> Path:
        return self.servers.data_dir / "register.sqlite3"


@asynccontextmanager
async def running_playground(people: Sequence[MockUser] = (OFFICER,)) -> AsyncIterator[Running]:
    """The bot and a Playground for each of `people` on free ports with a fresh data directory; a client
    connected to each."""
    with tempfile.TemporaryDirectory(prefix="kcpf-playground-") as temp:
        workdir = Path(temp)
        data_dir = workdir / "data"
        data_dir.mkdir()
        with servers(data_dir, workdir, people) as running:
            async with AsyncExitStack() as stack:
                clients = {
                    p: await stack.enter_async_context(connect(running.playgrounds[p])) for p in people
                }
                yield Running(running, clients)


# `make run`.


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    why = missing_tools()
    if why:
        print(f"make run {why}", file=sys.stderr)
        return 1
    # Ctrl-C (and a plain kill) stop both servers, even when started where SIGINT was ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    data_dir = Path(os.environ.get("KCPF_DATA_DIR") or "data").resolve()
    workdir = data_dir / "playground"
    workdir.mkdir(parents=True, exist_ok=True)
    bot_port = DEFAULT_BOT_PORT
    if not port_is_free(bot_port):
        bot_port = free_port()
        print(f"Port {DEFAULT_BOT_PORT} is taken: the bot listens on port {bot_port} instead.")
    env = bot_environment(data_dir)
    try:
        with servers(
            data_dir, workdir, bot_port=bot_port, playground_port=DEFAULT_PLAYGROUND_PORT
        ) as running:
            playground = running.playgrounds[OFFICER]
            if playground.port != DEFAULT_PLAYGROUND_PORT:
                print(
                    f"Port {DEFAULT_PLAYGROUND_PORT} is not available: the Playground uses {playground.port}."
                )
            print(f"KCPF bot: http://127.0.0.1:{bot_port}/api/messages, register in {data_dir}")
            print(f"You are {OFFICER.name} <{OFFICER.email}>, a responsible officer.")
            print(f"SMT (KCPF_SMT): {env['KCPF_SMT']}; T&P (KCPF_TP): {env['KCPF_TP']}.")
            print(f"Logs: {workdir}")
            print(f"Open the Agents Playground: {playground.url}  (Ctrl-C stops both)", flush=True)
            while running.all_running():
                time.sleep(0.5)
            print("Stopped unexpectedly; the logs' last lines:", file=sys.stderr)
            print(running.bot.tail(10), playground.started.tail(10), sep="\n", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print("\nStopped.")
        return 0
    except StartFailed as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
