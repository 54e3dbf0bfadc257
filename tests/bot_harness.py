"""A real bot on a free port, and a stand-in for the Bot Connector that Teams would be.

The connector records what the bot sends and answers the members API from a small directory, as Teams does.
Officers talk to the bot over HTTP exactly as the channel would (POST /api/messages).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import BOT, BotServices, KcpfBot, create_app
from bot.auth import BotCredentials
from bot.flows.engine import Reporting
from bot.storage import SqliteStorage
from connectors.register_page import RegisterAccess, register_routes
from connectors.register_page import register_link as page_link
from connectors.report_folder import ReportFolder, ReportLinks, report_routes
from connectors.sqlite_register import SqliteRegister
from connectors.word import WordRenderer
from kcpf.framework import FRAMEWORK_2025
from kcpf.lifecycle import RoleDirectory
from kcpf.reports.service import ProducedReport, ReportService
from kcpf.services import FrameworkService
from tests.builders import FixedClock, at


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    aad_object_id: str


OFFICER = Person(
    "29:officer", "Jo Bloggs", "jo.bloggs@chorley.gov.uk", "00000000-0000-0000-0000-00000000000a"
)
OTHER = Person("29:other", "Sam Other", "sam.other@chorley.gov.uk", "00000000-0000-0000-0000-00000000000b")
SMT = Person("29:smt", "Pat Director", "pat.director@chorley.gov.uk", "00000000-0000-0000-0000-00000000000c")
TP = Person("29:tp", "Alex Partnerships", "alex.tp@chorley.gov.uk", "00000000-0000-0000-0000-00000000000d")
PEOPLE = (OFFICER, OTHER, SMT, TP)
ROLES = RoleDirectory(tp=frozenset({TP.email}), smt=frozenset({SMT.email}))


@dataclass
class Connector:
    """The Bot Connector stand-in: /v3/conversations/... as the bot calls it."""

    people: dict[str, Person]
    sent: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)  # each call's Authorization header ("" if none)
    url: str = ""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # Every post of an activity as it arrived (monotonic seconds, conversation, the status answered), and
    # failures to answer the next posts with, in order (status, headers): Teams' throttling and the like.
    arrivals: list[tuple[float, str, int]] = field(default_factory=list)
    faults: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)

    def fail_next(
        self, count: int, status: int, *, conversation: str = "", retry_after: str | None = None
    ) -> None:
        """Answer the next `count` posts (to `conversation`, or any) with `status`."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.faults.extend([(conversation, status, headers)] * count)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._send)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        return app

    async def _send(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        conversation = request.match_info["conversation"]
        fault = next((f for f in self.faults if f[0] in ("", conversation)), None)
        if fault is not None:
            self.faults.remove(fault)
            _, status, headers = fault
            self.arrivals.append((time.monotonic(), conversation, status))
            code = {403: "MessageWritesBlocked", 429: "Throttled"}.get(status, "ServiceError")
            body = {"error": {"code": code, "message": f"stand-in answered {status}"}}
            return web.json_response(body, status=status, headers=headers)
        self.arrivals.append((time.monotonic(), conversation, 200))
        activity = await request.json()
        activity["conversation_id"] = request.match_info["conversation"]
        activity["id"] = f"activity-{next(self._ids)}"
        self.sent.append(activity)
        return web.json_response({"id": activity["id"]})

    async def _update(self, request: web.Request) -> web.Response:
        activity = await request.json()
        activity["id"] = request.match_info["activity"]
        self.updated.append(activity)
        return web.json_response({"id": activity["id"]})

    async def _member(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        person = self.people.get(request.match_info["member"])
        if person is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)
        return web.json_response(
            {
                "id": person.id,
                "name": person.name,
                "aadObjectId": person.aad_object_id,
                "email": person.email,
                "userPrincipalName": person.email,
            }
        )


@dataclass
class Chat:
    """One person's personal chat with the bot."""

    person: Person
    bot_url: str
    connector: Connector
    session: aiohttp.ClientSession
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    tenant: str = ""  # the Teams tenant the person belongs to, named in each activity as Teams does
    authorize: Callable[[dict[str, Any]], str] | None = None  # the channel's Authorization header for each

    @property
    def conversation_id(self) -> str:
        return f"a:personal-{self.person.id}"

    def _activity(self, **fields: Any) -> dict[str, Any]:
        conversation: dict[str, Any] = {"id": self.conversation_id, "conversationType": "personal"}
        tenant: dict[str, Any] = {}
        if self.tenant:
            conversation["tenantId"] = self.tenant
            tenant["channelData"] = {"tenant": {"id": self.tenant}}
        return {
            "type": "message",
            "id": f"in-{next(self._ids)}",
            "channelId": "msteams",
            "serviceUrl": self.connector.url,
            "from": {
                "id": self.person.id,
                "name": self.person.name,
                "aadObjectId": self.person.aad_object_id,
            },
            "recipient": {"id": "28:kcpf", "name": "KCPF"},
            "conversation": conversation,
            **tenant,
            **fields,
        }

    async def _post(self, activity: dict[str, Any]) -> tuple[int, Any, list[dict[str, Any]]]:
        before = len(self.connector.sent)
        headers = {"Authorization": self.authorize(activity)} if self.authorize is not None else {}
        async with self.session.post(self.bot_url, json=activity, headers=headers) as response:
            body = await response.json() if response.content_type == "application/json" else None
            status = response.status
        mine = [a for a in self.connector.sent[before:] if a["conversation_id"] == self.conversation_id]
        return status, body, mine

    async def say(self, text: str) -> list[dict[str, Any]]:
        status, _, replies = await self._post(self._activity(text=text))
        assert status < 300, status
        return replies

    async def texts(self, text: str) -> str:
        """Everything the bot answered, as one text (cards as their JSON)."""
        return "\n".join(reply_text(a) for a in await self.say(text))

    async def submit(self, data: dict[str, Any], reply_to: str = "") -> list[dict[str, Any]]:
        """Action.Submit: a message whose value is the card's data and inputs."""
        fields: dict[str, Any] = {"value": data}
        if reply_to:
            fields["replyToId"] = reply_to
        status, _, replies = await self._post(self._activity(**fields))
        assert status < 300, status
        return replies

    async def execute(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Action.Execute: the invoke, whose answer is the card that replaces the submitted one."""
        activity = self._activity(
            type="invoke",
            name="adaptiveCard/action",
            value={
                "action": {"type": "Action.Execute", "verb": "kcpf.form", "data": data},
                "trigger": "manual",
            },
        )
        status, body, replies = await self._post(activity)
        assert status == 200, (status, body)
        return body, replies


def reply_text(activity: dict[str, Any]) -> str:
    parts = [activity.get("text") or ""]
    for attachment in activity.get("attachments") or []:
        parts.append(str(attachment.get("content")))
    return "\n".join(p for p in parts if p)


@dataclass
class Running:
    url: str
    connector: Connector
    framework: FrameworkService
    clock: FixedClock
    session: aiohttp.ClientSession
    register: SqliteRegister
    bot: KcpfBot | None = None
    base_url: str = ""

    def chat(
        self, person: Person, *, tenant: str = "", authorize: Callable[[dict[str, Any]], str] | None = None
    ) -> Chat:
        return Chat(person, self.url, self.connector, self.session, tenant=tenant, authorize=authorize)


@asynccontextmanager
async def running_bot(
    data_dir: Path,
    *,
    today: date = date(2026, 11, 27),
    roles: RoleDirectory = ROLES,
    credentials: BotCredentials | None = None,
    notify_key: str = "",
    remind_days: int = 14,
) -> AsyncIterator[Running]:
    """The bot on the register and conversation state in `data_dir`; start it again on the same folder to
    simulate a restart."""
    register = SqliteRegister(data_dir / "register.sqlite3")
    storage = SqliteStorage(data_dir / "conversations.sqlite3")
    clock = FixedClock(at(today))
    framework = FrameworkService(register, clock, FRAMEWORK_2025)
    folder = ReportFolder(data_dir / "reports")
    links = ReportLinks(b"a test secret of at least sixteen bytes")
    public: list[str] = []

    def link(produced: ProducedReport) -> str:
        return links.url(public[0], produced.name, clock.now() + timedelta(hours=24))

    # As `kcpf serve` does: the register page needs a signed link once the bot has credentials.
    access = RegisterAccess(links, clock, 24) if credentials is not None else None

    def register_link(reference: str) -> str:
        return page_link(public[0], access)(reference)

    services = BotServices(
        framework=framework,
        roles=roles,
        storage=storage,
        clock=clock,
        register_is_local=True,
        reporting=Reporting(ReportService(framework, WordRenderer(), folder), link),
        routes=(*report_routes(folder, links, clock), *register_routes(framework, clock, access)),
        register_link=register_link,
        app_id=credentials.app_id if credentials is not None else "",
        credentials=credentials,
        notify_key=notify_key,
        remind_days=remind_days,
    )
    app = create_app(services)
    try:
        async with (
            running_connector() as connector,
            serving(app) as bot_url,
            aiohttp.ClientSession() as session,
        ):
            public.append(bot_url)
            yield Running(
                f"{bot_url}/api/messages", connector, framework, clock, session, register, app[BOT], bot_url
            )
    finally:
        storage.close()
        register.close()


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """`app` on a free loopback port; yields its base address."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def running_connector() -> AsyncIterator[Connector]:
    """The Bot Connector stand-in, knowing everyone in PEOPLE."""
    connector = Connector({p.id: p for p in PEOPLE})
    async with serving(connector.app()) as url:
        connector.url = f"{url}/"
        yield connector
