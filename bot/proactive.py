"""Proactive messages: notices and reminders sent into an officer's stored conversation with the bot.

`Sender` keeps to Teams' send limits (per conversation: 7 a second, 8 in 2 s, 60 in 30 s, 1,800 an hour;
about 50 a second per app) and retries what Teams asks to be retried (429, 412, 502, 504, and a connection
that failed) with backoff and jitter, honouring Retry-After, a bounded number of times. A 403 means the
officer blocked or removed the bot: recorded (in the sent-log, for the day), never retried.

`Reminders` runs one reminder pass: what is owed comes from the framework (`kcpf.reminders`), what was
already sent from a sent-log in the bot's Storage (SQLite here, Azure Blob when configured), keyed by each
message's idempotency key, so a second run the same day sends nothing twice and a failed send is tried
again next run.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import aiohttp
from microsoft_agents.activity import Activity, ActivityTypes, ConversationReference
from microsoft_agents.hosting.core import ClaimsIdentity, TurnContext
from microsoft_agents.hosting.core.storage import Storage, StoreItem

from bot.records import References
from bot.turns import LocalTurns, TurnBusy, TurnGuard
from kcpf.parsing import format_uk_date
from kcpf.reminders import Kind, Message, ReminderPlan, plan_reminders

if TYPE_CHECKING:
    from microsoft_agents.hosting.aiohttp import CloudAdapter

    from kcpf.lifecycle import RoleDirectory
    from kcpf.ports import Clock
    from kcpf.services import FrameworkService

log = logging.getLogger("kcpf.bot.proactive")


@dataclass(frozen=True)
class Window:
    seconds: float
    limit: int


TEAMS_PER_CONVERSATION = (Window(1, 7), Window(2, 8), Window(30, 60), Window(3600, 1800))
TEAMS_PER_APP = (Window(1, 50),)  # per app per tenant: one tenant here
RETRYABLE = frozenset({412, 429, 502, 504})
BLOCKED = 403  # MessageWritesBlocked: the officer blocked the bot or it is not installed for them


class _Slot:
    """One request in a window: it counts from when its answer came back (Teams counts arrivals, and an
    answer comes after its request arrived), and as happening now while it is in flight."""

    __slots__ = ("at", "done")

    def __init__(self, at: float) -> None:
        self.at = at
        self.done = False


class RateLimiter:
    """Sliding windows per key: `slot(key)` waits until one more request fits every window, then holds
    its place while the request is made."""

    POLL_SECONDS = 0.02  # how often to look again while the request deciding the wait is in flight

    def __init__(
        self,
        windows: Sequence[Window],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.windows = tuple(windows)
        self._longest = max(w.seconds for w in self.windows)
        self._clock = clock
        self._sleep = sleep
        self._slots: dict[str, deque[_Slot]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        taken = await self._acquire(key)
        try:
            yield
        finally:
            taken.at = self._clock()
            taken.done = True

    async def _acquire(self, key: str) -> _Slot:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one waiter at a time per key, so they go in the order they came
            while True:
                now = self._clock()
                slots = self._slots.setdefault(key, deque())
                while slots and slots[0].done and slots[0].at <= now - self._longest:
                    slots.popleft()
                times = sorted(s.at if s.done else now for s in slots)
                wait = max(
                    (times[-w.limit] + w.seconds - now for w in self.windows if len(times) >= w.limit),
                    default=0.0,
                )
                if wait <= 0:
                    taken = _Slot(now)
                    slots.append(taken)
                    return taken
                in_flight = any(not s.done for s in slots)
                await self._sleep(min(wait, self.POLL_SECONDS) if in_flight else wait)


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403: not retried
    FAILED = "failed"  # retries used up, or an error retrying would not mend


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    attempts: int
    status: int | None = None  # the connector's last HTTP status, when it answered


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_seconds: float = 1.0  # backoff: base * 2^n, capped, with jitter
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = 120.0  # asked to wait longer: give up now, the next run tries again


class Sender:
    """Sends one activity into a stored conversation, within the limits, retrying what may be retried."""

    def __init__(
        self,
        adapter: CloudAdapter,
        app_id: str,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.policy = policy or RetryPolicy()
        self.per_conversation = RateLimiter(TEAMS_PER_CONVERSATION, sleep=sleep)
        self.per_app = RateLimiter(TEAMS_PER_APP, sleep=sleep)
        self._sleep = sleep
        self._jitter = jitter

    async def send(self, reference: ConversationReference, message: Activity | str) -> Delivery:
        activity = (
            Activity(type=ActivityTypes.message, text=message, text_format="markdown")
            if isinstance(message, str)
            else message
        )
        conversation = reference.conversation.id if reference.conversation else ""
        status: int | None = None
        for attempt in range(1, self.policy.attempts + 1):
            async with self.per_conversation.slot(conversation), self.per_app.slot(""):
                error = await self._post(reference, activity)
            if error is None:
                return Delivery(Outcome.SENT, attempt, status)
            status = error.status if isinstance(error, aiohttp.ClientResponseError) else None
            if status == BLOCKED:
                log.info("conversation %s: the bot is blocked or not installed (403)", conversation)
                return Delivery(Outcome.BLOCKED, attempt, status)
            delay = self._delay(error, attempt)
            if delay is None or attempt == self.policy.attempts:
                log.warning(
                    "conversation %s: not sent after %d attempt(s) (%s)", conversation, attempt, _said(error)
                )
                return Delivery(Outcome.FAILED, attempt, status)
            log.info("conversation %s: %s; trying again in %.1f s", conversation, _said(error), delay)
            await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns")

    async def _post(self, reference: ConversationReference, activity: Activity) -> BaseException | None:
        """One attempt. The error is caught inside the turn: left to escape, the adapter's turn-error handler
        would try to apologise into the same conversation."""
        failed: list[BaseException] = []

        async def send(context: TurnContext) -> None:
            try:
                await context.send_activity(activity)
            except Exception as error:
                failed.append(error)

        continuation = reference.get_continuation_activity()
        try:
            if self.app_id:
                await self.adapter.continue_conversation(self.app_id, continuation, send)
            else:  # local and anonymous: no token to get, as for the incoming turns
                await self.adapter.continue_conversation_with_claims(ClaimsIdentity({}), continuation, send)
        except Exception as error:  # before the turn: the connector client or its token
            failed.append(error)
        return failed[0] if failed else None

    def _delay(self, error: BaseException, attempt: int) -> float | None:
        """How long to wait before the next attempt, or None when retrying would not help."""
        if isinstance(error, aiohttp.ClientResponseError):
            if error.status not in RETRYABLE:
                return None
            asked = retry_after(error.headers)
            if asked is not None:
                if asked > self.policy.max_retry_after_seconds:
                    return None
                return asked + self._jitter() * self.policy.base_seconds
        elif not isinstance(error, (aiohttp.ClientConnectionError, asyncio.TimeoutError)):
            return None
        backoff = min(self.policy.max_backoff_seconds, self.policy.base_seconds * 2.0 ** (attempt - 1))
        return backoff * (0.5 + self._jitter() / 2)


def retry_after(headers: Any) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date."""
    value = (headers or {}).get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())


def _said(error: BaseException) -> str:
    if isinstance(error, aiohttp.ClientResponseError):
        return f"HTTP {error.status}"
    return type(error).__name__


# The sent-log.


class SentEntry(StoreItem):
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def store_item_to_json(self) -> dict[str, Any]:
        return dict(self.data)

    @staticmethod
    def from_json_to_store_item(json_data: MutableMapping[str, Any]) -> SentEntry:
        return SentEntry(dict(json_data))


SENDING_FOR = timedelta(minutes=10)  # a claim older than this is from a run that died: send again


@runtime_checkable
class ClaimingStorage(Protocol):
    """A Storage that can write a key only if what is there does not forbid it, in one step that other
    processes see (bot/storage.py's SQLite: its write lock)."""

    async def claim(
        self, key: str, item: StoreItem, *, unless: Callable[[MutableMapping[str, Any]], bool]
    ) -> bool: ...


class SentLog:
    """Which idempotency keys have been sent, in the bot's Storage. A key is claimed (`sending`) before its
    message goes, marked `sent` after, and released if the send failed, so the next run tries again. The claim
    is one atomic step where the storage can do it (SQLite: two `kcpf remind` runs on one machine); on Blob
    state each message is held across processes while it is claimed and sent (`Reminders.turns`)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    @staticmethod
    def _key(key: str) -> str:
        return f"reminders/sent/{key}"

    async def state(self, key: str, now: datetime) -> str | None:
        """`sent`, `blocked` (403 earlier that day), `sending` (another run is sending it now), or None."""
        found = await self.storage.read([self._key(key)], target_cls=SentEntry)
        entry = found.get(self._key(key))
        return None if entry is None else _state_of(entry.data, now)

    async def claim(self, message: Message, now: datetime) -> bool:
        """Mark the message as being sent; False if another run has sent it, or is sending it, meanwhile."""
        if isinstance(self.storage, ClaimingStorage):
            entry = self._entry(message, "sending", now)
            return await self.storage.claim(
                self._key(message.key), entry, unless=lambda data: _state_of(data, now) is not None
            )
        await self._write(message, "sending", now)
        return True

    async def sent(self, message: Message, now: datetime) -> None:
        await self._write(message, "sent", now)

    async def blocked(self, message: Message, now: datetime) -> None:
        """A 403: recorded, so that day's later runs do not knock again; the next day tries again (the
        officer may have unblocked or reinstalled the bot)."""
        await self._write(message, "blocked", now)

    async def release(self, message: Message) -> None:
        await self.storage.delete([self._key(message.key)])

    async def _write(self, message: Message, state: str, now: datetime) -> None:
        await self.storage.write({self._key(message.key): self._entry(message, state, now)})

    @staticmethod
    def _entry(message: Message, state: str, now: datetime) -> SentEntry:
        return SentEntry(
            {"state": state, "at": now.isoformat(), "to": message.to, "kind": message.kind.value}
        )


def _state_of(data: MutableMapping[str, Any], now: datetime) -> str | None:
    """`sent`, `blocked`, `sending` (and not yet abandoned), or None (free to send)."""
    state = str(data.get("state", ""))
    if state == "sending":
        try:
            since = datetime.fromisoformat(str(data.get("at")))
        except ValueError:
            return None
        return "sending" if now - since < SENDING_FOR else None
    return state if state in ("sent", "blocked") else None


# Notices (a proposal to SMT, SMT's decision): kept until delivered.

NOTICES = "notices/outbox"
NOTICE_KEPT_FOR = timedelta(days=14)  # then given up, logged: the register and reminders still show it

Notice = dict[str, str]


@dataclass
class NoticeOutbox:
    """Notices to people's chats with the bot. Each is kept in the bot's Storage before it is sent and removed
    once Teams has it (or refuses it for good: 403), so the turn that made it need not wait for Teams, and a
    notice that cannot be sent now (Teams failing, or the person has not talked to the bot yet) is sent again
    by the next reminder pass, for up to NOTICE_KEPT_FOR.

    A notice is claimed (`sending`) before it goes, as reminders are (SENDING_FOR), so two passes never send
    it twice. The list changes as one step for every process: held (`turns`: across processes on Blob
    state), and written only if no one changed it since it was read (SQLite: `ClaimingStorage`)."""

    storage: Storage
    references: References
    sender: Sender
    turns: TurnGuard
    clock: Clock

    async def post(self, to: str, text: str) -> Notice:
        """Keep a notice, claimed for sending at once by the caller (`send`)."""
        now = self.clock.now().isoformat()
        notice = {"id": uuid.uuid4().hex, "to": to, "text": text, "at": now, "sending": now}
        await self._change(lambda notices: [*notices, notice])
        return notice

    async def send(self, notice: Notice, *, claimed: bool = True) -> Outcome | None:
        """Send one kept notice (claiming it first unless `claimed`); None when it was not sent now: the
        person has no chat with the bot yet, or another run is sending it."""
        if not claimed and not await self._claim(notice["id"]):
            return None
        reference = await self.references.find(notice["to"])
        if reference is None:
            log.info("no conversation with %s yet; notice kept until there is", notice["to"])
            await self._release(notice["id"])
            return None
        delivery = await self.sender.send(reference, notice["text"])
        if delivery.outcome is Outcome.FAILED:
            log.warning("notice to %s not sent yet; kept for the next reminder pass", notice["to"])
            await self._release(notice["id"])
        else:  # sent, or refused for good (the bot is blocked)
            await self._change(lambda notices: [n for n in notices if n["id"] != notice["id"]])
        return delivery.outcome

    async def resend(self) -> int:
        """Send what is kept and not being sent; give up those older than NOTICE_KEPT_FOR. Returns how many
        were sent."""
        now = self.clock.now()

        def fresh(notice: Notice) -> bool:
            if now - datetime.fromisoformat(notice["at"]) < NOTICE_KEPT_FOR:
                return True
            log.warning("notice to %s given up after %s days: %s", notice["to"], NOTICE_KEPT_FOR.days, notice)
            return False

        kept = await self._change(lambda notices: [n for n in notices if fresh(n)])
        outcomes = [await self.send(n, claimed=False) for n in kept if not self._busy(n, now)]
        return sum(outcome is Outcome.SENT for outcome in outcomes)

    @staticmethod
    def _busy(notice: Notice, now: datetime) -> bool:
        since = notice.get("sending")
        return bool(since) and now - datetime.fromisoformat(str(since)) < SENDING_FOR

    async def _claim(self, notice_id: str) -> bool:
        now = self.clock.now()
        taken: list[bool] = []

        def claim(notices: list[Notice]) -> list[Notice]:
            taken.clear()
            for n in notices:
                if n["id"] == notice_id and not self._busy(n, now):
                    n["sending"] = now.isoformat()
                    taken.append(True)
            return notices

        await self._change(claim)
        return bool(taken)

    async def _release(self, notice_id: str) -> None:
        def release(notices: list[Notice]) -> list[Notice]:
            for n in notices:
                if n["id"] == notice_id:
                    n.pop("sending", None)
            return notices

        await self._change(release)

    async def _change(self, change: Callable[[list[Notice]], list[Notice]]) -> list[Notice]:
        async with self.turns.hold(NOTICES):
            for attempt in range(CHANGE_ATTEMPTS):
                if attempt:  # another process changed it meanwhile: back off, jittered, so one of us wins
                    await asyncio.sleep(random.uniform(0, min(0.25, 0.005 * 2**attempt)))
                found = await self.storage.read([NOTICES], target_cls=SentEntry)
                entry = found.get(NOTICES)
                version = int(entry.data.get("version", 0)) if entry else 0
                notices = change([dict(n) for n in entry.data.get("notices", [])] if entry else [])
                written = SentEntry({"version": version + 1, "notices": notices})
                if not isinstance(self.storage, ClaimingStorage):
                    await self.storage.write({NOTICES: written})
                    return notices
                if await self.storage.claim(NOTICES, written, unless=_changed_since(version)):
                    return notices
            raise RuntimeError(
                f"the notices kept in the bot's state changed {CHANGE_ATTEMPTS} times while being changed"
            )


CHANGE_ATTEMPTS = 20  # with backoff, about 3 s of contention at most before giving up


def _changed_since(version: int) -> Callable[[MutableMapping[str, Any]], bool]:
    def changed(data: MutableMapping[str, Any]) -> bool:
        return int(data.get("version", 0)) != version

    return changed


# A reminder pass.


class Status(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    IN_PROGRESS = "in_progress"  # another run is sending it now
    NO_CONVERSATION = "no_conversation"  # e.g. a T&P member who has not talked to the bot
    BLOCKED = "blocked"
    FAILED = "failed"
    WOULD_SEND = "would_send"  # dry run


@dataclass(frozen=True)
class Sent:
    message: Message
    status: Status


@dataclass(frozen=True)
class PassResult:
    plan: ReminderPlan
    results: tuple[Sent, ...]
    dry_run: bool = False
    notices_sent: int = 0  # notices (proposals, decisions) kept from earlier and sent by this pass

    def count(self, status: Status) -> int:
        return sum(r.status is status for r in self.results)

    def counts(self) -> dict[str, Any]:
        counts: dict[str, Any] = {"on": self.plan.on.isoformat(), "dry_run": self.dry_run}
        counts.update({status.value: self.count(status) for status in Status})
        counts["officers_not_reachable"] = len(self.plan.not_reachable)
        counts["notices_sent"] = self.notices_sent
        return counts


@dataclass
class Reminders:
    """One reminder pass over the register: plan (pure), then send what was not sent today."""

    framework: FrameworkService
    roles: RoleDirectory
    references: References
    sender: Sender
    clock: Clock
    warn_days: int
    off_loop: bool = True  # the register may be SharePoint, whose client is synchronous
    concurrency: int = 8
    # Each message is held while it is checked, claimed and sent: with Blob state, across processes too
    # (`kcpf remind` and POST /api/notify on several bots), so a message is never sent twice at once.
    turns: TurnGuard = field(default_factory=LocalTurns)
    notices: NoticeOutbox | None = None  # kept notices are sent again by each pass
    _running: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    async def plan(self, on: date) -> tuple[ReminderPlan, dict[str, ConversationReference]]:
        owed = await asyncio.to_thread(self.framework.due, on) if self.off_loop else self.framework.due(on)
        people = {o.officer.email for o in owed if o.officer is not None} | set(self.roles.tp)
        found = {who: await self.references.find(who) for who in sorted(people)}
        references = {who: ref for who, ref in found.items() if ref is not None}
        plan = plan_reminders(
            owed, on, warn_days=self.warn_days, tp=sorted(self.roles.tp), reachable=references.keys()
        )
        return plan, references

    async def run(self, on: date, *, dry_run: bool = False) -> PassResult:
        async with self._running:  # two passes in one process would race on the sent-log
            plan, references = await self.plan(on)
            log_ = SentLog(self.references.storage)
            gate = asyncio.Semaphore(self.concurrency)

            async def one(message: Message) -> Sent:
                async with gate:
                    return Sent(message, await self._one(message, references, log_, dry_run))

            results = await asyncio.gather(*(one(m) for m in plan.messages))
            notices_sent = 0 if dry_run or self.notices is None else await self.notices.resend()
            return PassResult(plan, tuple(results), dry_run, notices_sent)

    async def _one(
        self,
        message: Message,
        references: dict[str, ConversationReference],
        sent_log: SentLog,
        dry_run: bool,
    ) -> Status:
        reference = references.get(message.to)
        if reference is None:
            return Status.NO_CONVERSATION
        try:
            async with self.turns.hold(f"reminders/{message.key}"):
                return await self._send_once(message, reference, sent_log, dry_run)
        except TurnBusy:
            return Status.IN_PROGRESS

    async def _send_once(
        self, message: Message, reference: ConversationReference, sent_log: SentLog, dry_run: bool
    ) -> Status:
        state = await sent_log.state(message.key, self.clock.now())
        if state == "sent":
            return Status.ALREADY_SENT
        if state == "blocked":
            return Status.BLOCKED
        if state == "sending":
            return Status.IN_PROGRESS
        if dry_run:
            return Status.WOULD_SEND
        if not await sent_log.claim(message, self.clock.now()):
            later = await sent_log.state(message.key, self.clock.now())
            return {"sent": Status.ALREADY_SENT, "blocked": Status.BLOCKED}.get(
                later or "", Status.IN_PROGRESS
            )
        delivery = await self.sender.send(reference, message.text)
        if delivery.outcome is Outcome.SENT:
            await sent_log.sent(message, self.clock.now())
            return Status.SENT
        if delivery.outcome is Outcome.BLOCKED:
            await sent_log.blocked(message, self.clock.now())
            return Status.BLOCKED
        await sent_log.release(message)
        return Status.FAILED


def describe(result: PassResult) -> str:
    """A pass in words, for `kcpf remind` and the log."""
    verb = "Would send" if result.dry_run else "Sent"
    dry = " (dry run: nothing sent)" if result.dry_run else ""
    lines = [f"Reminders on {format_uk_date(result.plan.on)}{dry}:"]
    for sent in result.results:
        m = sent.message
        what = "reminder" if m.kind is Kind.REMINDER else "T&P summary"
        lines.append(f"\n[{sent.status.value}] {what} to {m.to} (key {m.key})")
        if sent.status in (Status.WOULD_SEND, Status.SENT):
            lines.extend(f"    {line}".rstrip() for line in m.text.splitlines())
    if not result.results:
        lines.append("Nothing to send.")
    if result.notices_sent:
        lines.append(
            f"\nNotices (proposals, decisions) kept from earlier and sent now: {result.notices_sent}"
        )
    for officer in result.plan.not_reachable:
        lines.append(f"\nNot reachable in Teams yet: {officer.display}")
    counts = result.counts()
    total = counts["would_send"] if result.dry_run else counts["sent"]
    lines.append(
        f"\n{verb}: {total}; already sent today: {counts['already_sent']}; being sent by another run: "
        f"{counts['in_progress']}; no conversation: "
        f"{counts['no_conversation']}; blocked: {counts['blocked']}; failed: {counts['failed']}."
    )
    return "\n".join(lines)
