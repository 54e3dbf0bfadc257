"""The Teams bot on the Microsoft 365 Agents SDK: `create_app()` builds the aiohttp web app.

The bot routes; the flows converse (`bot/flows/`); `kcpf/` decides. Framework calls run off the event loop
(the register may be SharePoint, whose client is synchronous).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
import warnings
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    Attachment,
    CardAction,
    ConversationReference,
    SuggestedActions,
)
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import (
    AgentApplication,
    ClaimsIdentity,
    ConnectionManager,
    TurnContext,
    TurnState,
)
from microsoft_agents.hosting.core.storage import Storage
from pydantic import ValidationError

from bot import cards
from bot.auth import BotCredentials, ChannelAuth, Refused, connection_manager
from bot.conversation import Said, on_form, on_message
from bot.flows.engine import FlowState, Notice, Reply, Reporting, Turn
from bot.proactive import Delivery, NoticeOutbox, Reminders, Sender
from bot.records import FlowRecord, OfficerProfile, ProfileRecord, References
from bot.turns import LocalTurns, TurnGuard
from kcpf.errors import KcpfError
from kcpf.lifecycle import Actor, RoleDirectory
from kcpf.ports import Clock
from kcpf.reminders import DEFAULT_WARN_DAYS
from kcpf.services import FrameworkService

log = logging.getLogger("kcpf.bot")
_CARD_TYPE = "application/vnd.microsoft.card.adaptive"
PROFILE_MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class Saves:
    """For a register that saves in the background (SharePoint's outbox): `during(key)` wraps a turn's writes
    (keyed by the Teams activity id, so a redelivered message saves once) and gives, after them, what the
    officer must be told now; `subscribe(tell)` hears later news, tell(email, message)."""

    during: Callable[[str], AbstractContextManager[Callable[[], list[str]]]]
    subscribe: Callable[[Callable[[str, str], None]], None]


@dataclass(frozen=True)
class BotServices:
    """Everything the bot needs, built by the composition root (`kcpf/cli/serve.py`)."""

    framework: FrameworkService
    roles: RoleDirectory
    storage: Storage
    clock: Clock
    app_id: str = ""
    register_is_local: bool = False  # SQLite: framework calls run on the event loop
    reporting: Reporting | None = None
    # A link to the register page, or one arrangement's given its reference (signed when public).
    register_link: Callable[[str], str] | None = None
    saves: Saves | None = None
    routes: Sequence[web.RouteDef] = field(default_factory=tuple)  # more pages of the bot's web app
    # The app registration: incoming tokens checked, replies signed, only its tenant served. None: local.
    credentials: BotCredentials | None = None
    notify_key: str = ""  # KCPF_NOTIFY_KEY: POST /api/notify runs a reminder pass ("" = off)
    remind_days: int = (
        DEFAULT_WARN_DAYS  # KCPF_REMIND_DAYS: how far ahead of a deadline officers are reminded
    )
    turns: TurnGuard = field(default_factory=LocalTurns)  # one turn at a time per conversation (bot/turns.py)


class KcpfBot:
    def __init__(self, services: BotServices, adapter: CloudAdapter) -> None:
        self.services = services
        self.adapter = adapter
        self.references = References(services.storage)
        self.sender = Sender(adapter, services.app_id)
        self.notices = notice_outbox(services, self.sender)
        self.reminders = reminders(services, self.sender)
        self._background: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """On the web app's start: hear about writes saved later (from the outbox's worker thread)."""
        self._loop = asyncio.get_running_loop()
        if self.services.saves is not None:
            self.services.saves.subscribe(self._saved_later)

    def _saved_later(self, email: str, message: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            notice = Notice(email, message)
            asyncio.run_coroutine_threadsafe(self._notify([notice]), loop)

    # Routes.

    async def on_message(self, context: TurnContext, state: TurnState) -> None:
        value = context.activity.value
        if not (context.activity.text or "").strip() and isinstance(value, dict) and value.get("flow"):
            await self.on_submit(context, state, value)
            return
        text = context.activity.text or ""
        slow = text.strip().lower().startswith("report")  # rendering Word takes a second or more
        await self._converse(context, state, lambda turn, flow: on_message(turn, flow, text), slow=slow)

    async def on_submit(self, context: TurnContext, state: TurnState, data: Any) -> None:
        """Action.Submit, the fallback of Action.Execute: answer in chat and replace the card."""
        said = await self._converse(
            context, state, lambda turn, flow: on_form(turn, flow, dict(data or {})), send=False
        )
        if said.card is not None and context.activity.reply_to_id:
            replacement = Activity(
                type=ActivityTypes.message,
                id=context.activity.reply_to_id,
                attachments=[Attachment(content_type=_CARD_TYPE, content=dict(said.card))],
            )
            try:
                await context.update_activity(replacement)
            except Exception:  # the channel may not allow updates; the chat reply still says what happened
                log.warning("could not replace the submitted card", exc_info=True)
        await self._send(context, said.replies)

    async def on_execute(
        self, context: TurnContext, state: TurnState, data: Any
    ) -> AdaptiveCardInvokeResponse:
        """Action.Execute: the invoke's answer is the card that replaces the submitted one."""
        said = await self._converse(
            context, state, lambda turn, flow: on_form(turn, flow, dict(data or {})), send=False
        )
        await self._send(context, [r for r in said.replies if r.card is None])
        card = said.card or cards.notice_card("KCPF", "\n".join(r.text for r in said.replies))
        return AdaptiveCardInvokeResponse(status_code=200, type=_CARD_TYPE, value=dict(card))

    async def on_members_added(self, context: TurnContext, state: TurnState) -> None:
        await self._remember_on_install(context, state)
        for member in context.activity.members_added or []:
            if context.activity.recipient is None or member.id != context.activity.recipient.id:
                await context.send_activity(
                    "Hello. I help you run the Key Contracts and Partnerships Framework. "
                    "Type *help* to start."
                )

    async def on_installation_update(self, context: TurnContext, state: TurnState) -> None:
        if (context.activity.action or "add").startswith("add"):
            await self._remember_on_install(context, state)

    async def _remember_on_install(self, context: TurnContext, state: TurnState) -> None:
        """Installed in personal scope: keep where to reach the officer, so reminders reach them before they
        have typed anything."""
        if context.activity.conversation.conversation_type not in (None, "personal"):
            return
        try:
            await self._actor(context, state)  # fetches the profile and remembers the reference
            await state.save(context)
        except KcpfError:
            log.info("installed by someone with no email in the directory; no reference kept")

    async def on_error(self, context: TurnContext, error: Exception) -> None:
        """The one turn-error handler: the details go to the log with an id the officer can quote."""
        incident = uuid.uuid4().hex[:8]
        log.error("turn failed, incident %s", incident, exc_info=error)
        if isinstance(error, KcpfError):  # one of ours, raised outside a flow (e.g. the state store is down)
            text = f"{error.message} (Reference {incident}.)"
        else:
            text = (
                f"Sorry, something went wrong on my side (reference {incident}). Your earlier answers are "
                "kept; if this message was not taken, please send it again."
            )
        try:
            if context.activity.type == ActivityTypes.invoke:
                card = cards.notice_card("KCPF", text)
                await context.send_activity(
                    Activity(
                        type=ActivityTypes.invoke_response,
                        value={"status": 200, "body": {"statusCode": 200, "type": _CARD_TYPE, "value": card}},
                    )
                )
            else:
                await context.send_activity(text)
        except Exception:
            log.error("could not tell the officer about incident %s", incident, exc_info=True)

    # The conversation.

    async def _converse(
        self,
        context: TurnContext,
        state: TurnState,
        handle: Callable[[Turn, FlowState | None], Said],
        *,
        send: bool = True,
        slow: bool = False,
    ) -> Said:
        key = _flow_key(context)
        async with AsyncExitStack() as held:  # one turn at a time per conversation, so no answer is lost
            try:
                turn_key = state.conversation.get_storage_key(context)
                if await held.enter_async_context(self.services.turns.hold(turn_key)):
                    # the SDK read the state before this turn held the conversation: read it again
                    await state.conversation.load(context, force=True)
                actor = await self._actor(context, state)
            except KcpfError as error:
                said = Said([Reply(error.message)], card=cards.notice_card("KCPF", error.message))
                if send:
                    await self._send(context, said.replies)
                return said
            turn = Turn(
                self.services.framework,
                actor,
                self.services.clock.now(),
                self.services.reporting,
                self.services.register_link,
            )
            stored = state.conversation.get_value(key, target_cls=FlowRecord)
            flow = stored.flow if isinstance(stored, FlowRecord) else None
            if self.services.register_is_local and not slow:
                said = handle(turn, flow)  # SQLite answers in microseconds: a thread hop costs more
            elif self.services.saves is None:
                said = await asyncio.to_thread(handle, turn, flow)
            else:  # SharePoint: off the loop, and the officer hears about writes kept in the outbox
                with self.services.saves.during(context.activity.id or uuid.uuid4().hex) as pending:
                    said = await asyncio.to_thread(handle, turn, flow)
                    said.replies.extend(Reply(message) for message in pending())
            if said.flow is None:
                state.conversation.delete_value(key)
            else:
                state.conversation.set_value(key, FlowRecord(said.flow))
            await state.save(context)
        if send:
            await self._send(context, said.replies)
        await self._notify(said.notices)
        return said

    async def _actor(self, context: TurnContext, state: TurnState) -> Actor:
        """Who is talking: Teams' AAD object id, with name and email from the members API, cached a day."""
        sender = context.activity.from_property
        aad = (sender.aad_object_id or "").lower()
        stored = state.user.get_value("profile", target_cls=ProfileRecord)
        profile = stored.profile if isinstance(stored, ProfileRecord) else None
        now = self.services.clock.now()
        if profile is None or profile.fetched_at + PROFILE_MAX_AGE < now:
            profile = await self._fetch_profile(context, now) or profile
            if profile is not None:
                state.user.set_value("profile", ProfileRecord(profile))
        if profile is None:
            raise KcpfError(
                "I could not find your email address in your organisation's directory, "
                "so I cannot tell whose "
                "contracts and partnerships are yours. Please ask IT to check your Teams account."
            )
        if context.activity.conversation.conversation_type in (None, "personal"):
            await self.references.remember(profile.email, aad, context.activity)
        return self.services.roles.actor(profile.email, profile.name, aad)

    async def _fetch_profile(self, context: TurnContext, now: datetime) -> OfficerProfile | None:
        sender = context.activity.from_property
        client = context.turn_state.get(self.adapter._AGENT_CONNECTOR_CLIENT_KEY)
        if client is None:
            return None
        try:
            member = await client.conversations.get_conversation_member(  # type: ignore[attr-defined]
                context.activity.conversation.id, sender.id
            )
        except Exception:
            log.warning("members API failed for %s", sender.id, exc_info=True)
            return None
        extra = member.model_extra or {}
        email = str(extra.get("email") or extra.get("userPrincipalName") or "").strip().lower()
        if not email:
            return None
        return OfficerProfile(
            email, member.name or sender.name or "", (member.aad_object_id or "").lower(), now
        )

    async def _send(self, context: TurnContext, replies: Sequence[Reply]) -> None:
        activities = [_activity(reply) for reply in _merged(replies) if reply.text or reply.card]
        if activities:
            await context.send_activities(activities)

    async def _notify(self, notices: Sequence[Notice]) -> None:
        """Tell T&P (or an officer) about a proposal or a decision, in their chat with the bot: kept first,
        then sent in the background, so the turn answers without waiting for Teams (bot/proactive.py)."""
        for notice in notices:
            for person in self._people(notice.to_role):
                try:
                    kept = await self.notices.post(person, notice.text)
                except Exception:
                    log.error("could not keep a notice to %s: %s", person, notice.text, exc_info=True)
                    continue
                self._in_background(self.notices.send(kept), f"notice to {person}")

    async def settle(self, timeout: float | None = None) -> None:
        """Wait for work left in the background (notices on their way), e.g. before stopping."""
        if self._background:
            await asyncio.wait(list(self._background), timeout=timeout)

    def _in_background(self, work: Awaitable[object], what: str) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                log.warning("%s failed; the next reminder pass tries again", what, exc_info=True)

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)  # a task nobody holds may be collected before it ends
        task.add_done_callback(self._background.discard)

    def _people(self, to: str) -> Sequence[str]:
        if to == "tp":
            return sorted(self.services.roles.tp)
        if to == "smt":
            return sorted(self.services.roles.smt)
        return [to]

    async def _proactive(self, reference: ConversationReference, text: str) -> Delivery:
        """Within Teams' send limits, retried when Teams asks (bot/proactive.py)."""
        return await self.sender.send(reference, text)


def notice_outbox(services: BotServices, sender: Sender) -> NoticeOutbox:
    return NoticeOutbox(
        services.storage, References(services.storage), sender, services.turns, services.clock
    )


def reminders(services: BotServices, sender: Sender) -> Reminders:
    """The reminder pass on the bot's services: for POST /api/notify and `kcpf remind`."""
    return Reminders(
        framework=services.framework,
        roles=services.roles,
        references=References(services.storage),
        sender=sender,
        clock=services.clock,
        warn_days=services.remind_days,
        off_loop=not services.register_is_local,
        turns=services.turns,
        notices=notice_outbox(services, sender),
    )


def bot_adapter(services: BotServices) -> tuple[ConnectionManager, CloudAdapter]:
    """The SDK's connections and adapter, for the web app and for sending without it (`kcpf remind`):
    replies signed with the app's token when there are credentials, anonymous (local) otherwise."""
    connections: ConnectionManager
    if services.credentials is None:
        connections = MsalConnectionManager(CONNECTIONS={"SERVICE_CONNECTION": {"SETTINGS": {}}})
    else:
        connections = connection_manager(services.credentials)
    return connections, CloudAdapter(connection_manager=connections)


def _flow_key(context: TurnContext) -> str:
    sender = context.activity.from_property
    who = (sender.aad_object_id or sender.id or "anonymous").replace(".", "_")
    return f"flow_{who}"


def _merged(replies: Sequence[Reply]) -> list[Reply]:
    """Consecutive texts as one message (each is a request to Teams); quick replies go with the last."""
    out: list[Reply] = []
    for reply in replies:
        previous = out[-1] if out else None
        if previous is not None and previous.card is None and reply.card is None and reply.text:
            out[-1] = Reply(f"{previous.text}\n\n{reply.text}", reply.options or previous.options)
        else:
            out.append(reply)
    return out


def _activity(reply: Reply) -> Activity:
    activity = Activity(type=ActivityTypes.message, text_format="markdown")
    if reply.text:
        activity.text = reply.text
    if reply.card is not None:
        activity.attachments = [Attachment(content_type=_CARD_TYPE, content=dict(reply.card))]
    if reply.options:
        activity.suggested_actions = SuggestedActions(
            actions=[CardAction(type="imBack", title=o.title, value=o.value) for o in reply.options]
        )
    return activity


BOT = web.AppKey("kcpf.bot", KcpfBot)
OUTSIDER_REFUSAL = (
    "Sorry, I can only help people in the organisation that runs me, and your account belongs to another "
    "one. Please ask your own IT team about the Key Contracts and Partnerships Framework."
)


def outside_tenant(activity: Activity, tenant: str) -> str | None:
    """The tenant an activity comes from if it is not `tenant` ("" if it names none), else None. Teams names
    it twice (conversation.tenantId, channelData.tenant.id): both, where given, must be ours. No tenant
    configured (local, without credentials): no one is outside."""
    if not tenant:
        return None
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    named = channel_data.get("tenant")
    seen = [
        activity.conversation.tenant_id if activity.conversation is not None else None,
        named.get("id") if isinstance(named, dict) else None,
    ]
    given = [str(t).lower() for t in seen if t]
    if not given:
        return ""
    return next((t for t in given if t != tenant.lower()), None)


@dataclass(frozen=True)
class _TenantGate:
    """In front of the agent: people from another tenant get a polite refusal; no flow or state is touched."""

    agent: AgentApplication[TurnState]
    tenant: str

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity
        foreign = outside_tenant(activity, self.tenant)
        if foreign is None:
            await self.agent.on_turn(context)
            return
        sender = activity.from_property.id if activity.from_property is not None else "?"
        log.warning(
            "refused a %s from %s of tenant %r: not this bot's tenant", activity.type, sender, foreign
        )
        if activity.type == ActivityTypes.message:
            await context.send_activity(OUTSIDER_REFUSAL)
        elif activity.type == ActivityTypes.invoke:
            card = cards.notice_card("KCPF", OUTSIDER_REFUSAL)
            body = {"statusCode": 200, "type": _CARD_TYPE, "value": card}
            await context.send_activity(
                Activity(type=ActivityTypes.invoke_response, value={"status": 200, "body": body})
            )


def notify_route(bot: KcpfBot) -> Callable[[web.Request], Awaitable[web.Response]]:
    """POST /api/notify with `Authorization: Bearer <KCPF_NOTIFY_KEY>`: run today's reminder pass and answer
    its counts. Off (404) without a key; a missing or wrong key gets 401."""
    key = bot.services.notify_key.encode()

    async def notify(request: web.Request) -> web.Response:
        if not key:
            return web.json_response(
                {"error": "notifications are off: KCPF_NOTIFY_KEY is not set"}, status=404
            )
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key):
            return web.json_response(
                {"error": "a valid key is needed: Authorization: Bearer <KCPF_NOTIFY_KEY>"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            result = await bot.reminders.run(bot.services.clock.now().date())
        except KcpfError as error:  # e.g. the register cannot be read now: the scheduler may try again
            return web.json_response({"error": error.message}, status=503)
        except Exception:
            incident = uuid.uuid4().hex[:8]
            log.exception("reminder pass failed, incident %s", incident)
            return web.json_response({"error": f"the reminder pass failed (incident {incident})"}, status=500)
        log.info("reminder pass from /api/notify: %s", result.counts())
        return web.json_response(result.counts())

    return notify


def create_app(services: BotServices) -> web.Application:
    credentials = services.credentials
    channel = ChannelAuth(credentials.app_id, credentials.openid_metadata_url) if credentials else None
    connections, adapter = bot_adapter(services)
    if not services.app_id:
        # Without app credentials (local, loopback only) the SDK warns on every turn that there is no app id.
        logging.getLogger("microsoft_agents.hosting.core.connector.client.user_token_client").setLevel(
            logging.ERROR
        )
    agent: AgentApplication[TurnState] = AgentApplication[TurnState](
        storage=services.storage, connection_manager=connections, start_typing_timer=False
    )
    bot = KcpfBot(services, adapter)
    agent.activity(ActivityTypes.message)(bot.on_message)
    agent.adaptive_card.action_execute(cards.FORM_VERB)(bot.on_execute)
    agent.conversation_update("membersAdded")(bot.on_members_added)
    agent.installation_update()(bot.on_installation_update)
    agent.error(bot.on_error)

    async def turn_error(context: TurnContext, error: Exception) -> None:
        await bot.on_error(context, error)

    adapter.on_turn_error = turn_error

    gate = _TenantGate(agent, credentials.tenant_id if credentials else "")

    async def messages(request: web.Request) -> web.StreamResponse:
        if channel is not None:  # with credentials, only the channel's signed requests are processed
            try:
                claims = await channel.authenticate(
                    request.headers.get("Authorization"), await request.read()
                )
            except Refused as refused:
                log.warning("refused a request to /api/messages from %s: %s", request.remote, refused.reason)
                challenge = {"WWW-Authenticate": "Bearer"} if refused.status == 401 else None
                return web.json_response({"error": refused.public}, status=refused.status, headers=challenge)
            with warnings.catch_warnings():  # the SDK reads the identity under this plain string key
                warnings.simplefilter("ignore", web.NotAppKeyWarning)
                request["claims_identity"] = ClaimsIdentity(claims, authentication_type="Bearer")
        try:
            response = await adapter.process(request, gate)
        except ValidationError as error:  # not an activity: the sender's fault, said without internals
            log.info("refused a malformed activity: %s error(s)", error.error_count())
            return web.json_response({"error": "not a valid activity"}, status=400)
        return response if response is not None else web.Response(status=202)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api/notify", notify_route(bot))
    app.router.add_routes(list(services.routes))
    app[BOT] = bot

    async def on_startup(app: web.Application) -> None:
        await bot.start()
        if channel is not None:
            await channel.start()

    async def on_cleanup(app: web.Application) -> None:
        await bot.settle(timeout=5)  # notices on their way; any not sent are kept for the next pass
        if channel is not None:
            await channel.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
