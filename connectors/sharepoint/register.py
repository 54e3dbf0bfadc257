"""The register in SharePoint lists: the `kcpf.ports.Register` adapter on Microsoft Graph.

Reads come from a local cache kept fresh by Graph delta queries: one `$batch` holding a delta request for
every list is one round trip, made at most once per `freshness` seconds, so an officer's turn costs at most
one Graph round trip (none within the window).

Writes go through the durable outbox (`connectors/sharepoint/outbox.py`): a save is checked against the
cache (version, reference, records), recorded in the outbox in one SQLite transaction, then applied: the
arrangement first (an update sends the eTag of the version the officer read in `If-Match`), then its records
once the arrangement is in. Each item carries the idempotency key of the write that made it (`KcpfWriteId`),
so a write whose answer was lost is looked up, never sent twice. Up to 20 item writes go in one `$batch`.

How `save_many` approximates all-or-nothing over Graph, which has no transactions: every item is checked
first and the whole write is accepted into the outbox in one SQLite transaction, or none of it is (a stale
version, an unknown reference, a record for another arrangement: nothing is recorded or sent). An accepted
write is then applied item by item, exactly once each, until all of it is in SharePoint, across failures
and restarts. The one thing that can still split it is someone changing one of its arrangements in
SharePoint after it was accepted and before it was applied: that item is refused (412, never overwritten),
the items already applied stay (each is a complete write with its audit entry), and the officer is told
exactly which were not saved.

When SharePoint throttles (429/503 with Retry-After), nothing here asks again before the time it gave:
reads answer from the cache, officers' writes stay in the outbox, and the background worker waits it out.
An officer's turn runs within `TURN_BUDGET` seconds of Graph work (`officer_turn`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import quote

from connectors.clock import LONDON
from connectors.sharepoint import mapping
from connectors.sharepoint.graph import (
    BATCH_LIMIT,
    BatchRequest,
    BatchResponse,
    GraphError,
    GraphSession,
    GraphSettings,
    ThrottledOut,
    deadline,
)
from connectors.sharepoint.outbox import (
    OUTBOX_FILE,
    Operation,
    Outbox,
    OutboxWorker,
    PendingWrite,
    Receipt,
    WriteState,
)
from connectors.sharepoint.schema import Schema, load_schema
from kcpf.assessment import Assessment
from kcpf.errors import Conflict, InvalidInput, KcpfError, NotFound
from kcpf.framework import CURRENT_VERSION, FrameworkVersion, framework_version
from kcpf.governance import GovernanceReview
from kcpf.model import Arrangement, Council, Status, format_reference
from kcpf.monitoring import MonitoringUpdate
from kcpf.records import AuditEntry, Record, SmtDecision, arrangement_changes, record_summary
from kcpf.services import ArrangementFile
from kcpf.standing import standing

log = logging.getLogger("kcpf.sharepoint")

T = TypeVar("T")

LISTS: Final = (mapping.ARRANGEMENTS, *mapping.RECORD_LISTS.values())
TRANSIENT: Final = frozenset({408, 429, 500, 502, 503, 504})
# Graph pages SharePoint list items at 200 unless asked, and at most 5,000 a page (the list view threshold).
PAGE_SIZE: Final = 5000
# A bot turn's reads within this many seconds of the last delta are answered from the cache alone.
DEFAULT_FRESHNESS: Final = 5.0
TURN_TIMEOUT: Final = 4.0  # seconds per Graph request when an officer is waiting
TURN_WAIT: Final = 3.0  # seconds a save waits for the background worker before leaving the write to it
# Graph work in one officer's turn: Azure Bot Service gives a turn 10-15 s; the reply and the rest need some.
TURN_BUDGET: Final = 8.0
# The longest wait for a retry inside a request, where a lock may be held; longer Retry-Afters are waited
# out by the worker, holding nothing, while reads answer from the cache.
IN_REQUEST_WAIT: Final = 2.0

_receipts: ContextVar[list[Receipt] | None] = ContextVar("kcpf_sharepoint_receipts", default=None)
_write_key: ContextVar[_KeySource | None] = ContextVar("kcpf_sharepoint_write_key", default=None)


@dataclass
class _KeySource:
    """Idempotency keys for the writes made inside `write_key(base)`: base#0, base#1, ... in order, so a
    message delivered twice replays the same keys and each of its writes is saved once."""

    base: str
    count: int = 0

    def next(self) -> str:
        self.count += 1
        return f"{self.base}#{self.count - 1}"


class Unreachable(KcpfError):
    """SharePoint cannot be reached and there is nothing read before to answer from."""


class NotSaved(KcpfError):
    """SharePoint refused a write for a reason other than someone else's change; the message says which."""


@dataclass
class _Item:
    id: str
    etag: str
    fields: dict[str, Any]
    value: Any  # the decoded Arrangement or record
    history: list[AuditEntry] = field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.id)


@dataclass
class _ListCache:
    items: dict[str, _Item] = field(default_factory=dict)
    delta_link: str | None = None


def _reference_number(reference: str) -> int:
    return int(reference.split("-", 1)[1])


def _conflict(reference: str, history: Sequence[AuditEntry]) -> Conflict:
    last = history[-1] if history else None
    who = f" ({last.actor}, {last.at:%d %b %Y %H:%M}: {last.action})" if last else ""
    return Conflict(
        f"{reference} was changed by someone else since you read it{who}. Nothing was overwritten and "
        "nothing was saved: open it again to see their change, then make yours."
    )


class SharePointRegister:
    """`kcpf.ports.Register` on the KCPF site's lists. Thread-safe; call it off the event loop."""

    def __init__(
        self,
        graph: GraphSession,
        outbox: Outbox,
        *,
        schema: Schema | None = None,
        freshness: float = 0.0,
        apply_now: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        framework: FrameworkVersion | None = None,
    ) -> None:
        self.graph = graph
        self.outbox = outbox
        self.schema = schema or load_schema()
        # Its update deadlines and governance area names give each arrangement's standing columns.
        self.framework = framework or framework_version(CURRENT_VERSION)
        self._area_names = {a.key: a.name for a in self.framework.governance_areas}
        self.freshness = freshness
        self.apply_now = apply_now
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._lock = (
            threading.RLock()
        )  # the cache and the pending writes: held only in memory, never over Graph
        self._catching_up = threading.RLock()  # one catch-up (delta reads) at a time; held over Graph
        self._flush_lock = threading.Lock()  # one applier at a time
        self._lists = {key: _ListCache() for key in LISTS}
        self._list_ids: dict[str, str] = {}
        self._site_id = ""
        self._unwritten: frozenset[str] = frozenset()  # columns the site lacks, found at connect
        self._refreshed_at: float | None = None
        self._hold_until = 0.0  # SharePoint's Retry-After: ask nothing before this (monotonic)
        self._pending = outbox.pending()
        self._decoded_ops: dict[str, Any] = {}
        self._refusals: dict[str, KcpfError] = {}  # why writes were refused, by key, in this process
        self._wake: Callable[[], None] = lambda: None

    # Start-up

    def connect(self) -> None:
        """Find the site and its lists with their columns (two requests), and load the register (one delta
        round per page)."""
        with self._catching_up:
            if not self._list_ids:
                site_id = self.graph.site_id()
                # The columns' names come with the lists, in the same request: a site provisioned by an
                # earlier release may lack the ones added since.
                entries = self.graph.get_all(
                    f"/sites/{site_id}/lists",
                    {"$select": "id,displayName", "$expand": "columns($select=name)"},
                )
                found = {str(entry.get("displayName")): str(entry["id"]) for entry in entries}
                missing = [
                    self.schema.list(key).display_name
                    for key in LISTS
                    if self.schema.list(key).display_name not in found
                ]
                if missing:
                    raise NotSaved(
                        f"The KCPF site has no list {', '.join(missing)}: run `kcpf sharepoint check`, then "
                        "`kcpf sharepoint provision`."
                    )
                unwritten = self._unprovisioned(entries)
                with self._lock:
                    self._site_id = site_id
                    self._list_ids = {key: found[self.schema.list(key).display_name] for key in LISTS}
                    self._unwritten = unwritten
            self._refresh()

    def _unprovisioned(self, entries: Sequence[dict[str, Any]]) -> frozenset[str]:
        """The later columns the arrangements list lacks (a site provisioned before they existed). Saves
        leave them out, losing nothing (the hidden JSON record is the truth), and say once what to run."""
        name = self.schema.list(mapping.ARRANGEMENTS).display_name
        entry = next(e for e in entries if str(e.get("displayName")) == name)
        columns = entry.get("columns")
        if not isinstance(columns, list):  # not told: assume the site is as provisioned
            return frozenset()
        have = {str(c.get("name")) for c in columns if isinstance(c, dict)}
        missing = [c for c in mapping.LATER_COLUMNS if c not in have]
        if missing:
            log.warning(
                "the SharePoint list %s has no column %s: KCPF saves without them until the site is "
                "brought up to date. Run `kcpf sharepoint provision`, restart KCPF, then run "
                "`kcpf sharepoint standing`.",
                name,
                ", ".join(missing),
            )
        return frozenset(missing)

    def on_wake(self, wake: Callable[[], None]) -> None:
        """Called after a write is recorded but could not be applied at once (the worker's wake-up)."""
        self._wake = wake

    def _items_path(self, key: str) -> str:
        return f"/sites/{self._site_id}/lists/{self._list_ids[key]}/items"

    # The cache

    def held_for(self) -> float:
        """Seconds SharePoint asked KCPF to wait before asking again (its Retry-After); 0 when none."""
        return max(0.0, self._hold_until - self._monotonic())

    def _hold(self, error: GraphError) -> None:
        if error.retry_after:
            self._hold_until = max(self._hold_until, self._monotonic() + error.retry_after)

    def _fresh(self) -> None:
        """Catch up unless caught up within `freshness` seconds. If SharePoint cannot be reached, or asked
        KCPF to wait, or another thread is catching up already (the worker re-reading a list, say), what
        was last read is used (writes are still checked by If-Match when applied). Never holds the cache's
        lock over Graph, so a slow catch-up does not hold up other officers' reads."""
        held = self.held_for()
        if held and self._refreshed_at is not None:
            return
        try:
            if held:
                raise ThrottledOut(429, "throttled", f"SharePoint asked KCPF to wait {held:.0f} s")
            if not self._list_ids:
                self.connect()
                return
            now = self._monotonic()
            if self._refreshed_at is None or now - self._refreshed_at >= self.freshness:
                self._refresh(wait=self._refreshed_at is None)
        except GraphError as error:
            self._hold(error)
            if self._refreshed_at is None:
                raise Unreachable(
                    f"SharePoint cannot be reached just now ({_describe(error)}), and KCPF has not read "
                    "the register since it started. Nothing was changed: try again in a few minutes."
                ) from None
            log.warning("reading SharePoint failed, using what was read before: %s", error)

    def refresh(self) -> None:
        """Catch up with SharePoint now: one round trip (more only while a list has more pages)."""
        self._refresh()

    def _relative(self, url: str) -> str:
        base = self.graph.settings.graph_base_url.rstrip("/")
        return url[len(base) :] if url.startswith(base) else url

    def _refresh(self, *, wait: bool = True) -> bool:
        """Catch up by delta; False, at once, if another thread is catching up and `wait` is False.

        A list read whole (the first time, or after its delta token expired: 410) is read into a new cache
        that replaces the old one only once complete: if SharePoint fails half way, what was read before
        still answers. Graph is asked without the cache's lock; what it answers goes in under it."""
        if not self._catching_up.acquire(blocking=wait):
            return False
        try:
            started = self._monotonic()
            whole = f"?expand=fields&$top={PAGE_SIZE}"
            with self._lock:
                links = {
                    key: self._relative(cache.delta_link)
                    if cache.delta_link
                    else f"{self._items_path(key)}/delta{whole}"
                    for key, cache in self._lists.items()
                }
                rereads = {key: _ListCache() for key, cache in self._lists.items() if not cache.delta_link}
            while links:
                responses = self.graph.batch([BatchRequest(key, "GET", url) for key, url in links.items()])
                following: dict[str, str] = {}
                with self._lock:
                    for key, response in zip(links, responses, strict=True):
                        if response.status == 410:  # the token expired: read the whole list again
                            self._lists[key].delta_link = None
                            rereads[key] = _ListCache()
                            following[key] = f"{self._items_path(key)}/delta{whole}"
                            continue
                        if not response.ok:
                            raise _graph_error(response)
                        cache = rereads.get(key) or self._lists[key]
                        for entry in response.body.get("value", []):
                            self._absorb(key, entry, cache)
                        next_link = response.body.get("@odata.nextLink")
                        if isinstance(next_link, str):
                            following[key] = self._relative(next_link)
                            continue
                        cache.delta_link = str(response.body.get("@odata.deltaLink") or "") or None
                        if key in rereads:
                            self._replace(key, rereads.pop(key))
                links = following
            self._refreshed_at = started
            return True
        finally:
            self._catching_up.release()

    def _replace(self, key: str, reread: _ListCache) -> None:
        """Swap in a list read whole, keeping any of our own writes absorbed while it was read."""
        for item_id, known in self._lists[key].items.items():
            fresh = reread.items.get(item_id)
            if (
                fresh is not None
                and key == mapping.ARRANGEMENTS
                and known.value.version > fresh.value.version
            ):
                reread.items[item_id] = known
        self._lists[key] = reread

    def _absorb(self, key: str, entry: dict[str, Any], cache: _ListCache | None = None) -> None:
        """One item from a delta page or a write's answer into the cache; never an older version."""
        cache = cache or self._lists[key]
        item_id = str(entry["id"])
        if "deleted" in entry or "@removed" in entry:
            cache.items.pop(item_id, None)
            return
        fields = entry.get("fields")
        if not isinstance(fields, dict):
            return
        etag = str(entry.get("eTag") or fields.get("@odata.etag") or "")
        self._absorb_fields(key, item_id, etag, fields, cache)

    def _absorb_fields(
        self, key: str, item_id: str, etag: str, fields: dict[str, Any], cache: _ListCache | None = None
    ) -> None:
        cache = cache or self._lists[key]
        try:
            if key == mapping.ARRANGEMENTS:
                value: Any = mapping.arrangement_from_fields(fields)
                history = mapping.history_from_fields(fields)
                known = cache.items.get(item_id)
                if known is not None and known.value.version > value.version:
                    return  # a delta page read before our own later write
            else:
                kind = next(k for k, v in mapping.RECORD_LISTS.items() if v == key)
                value, history = mapping.record_from_fields(kind, fields), []
        except KcpfError as error:
            log.warning("SharePoint item %s/%s skipped: %s", key, item_id, error.message)
            return
        cache.items[item_id] = _Item(item_id, etag, fields, value, history)

    # The view: what SharePoint has, with the writes accepted but not yet applied on top

    def _arrangements(self) -> dict[str, tuple[Arrangement, list[AuditEntry]]]:
        view = {
            item.value.reference: (item.value, item.history)
            for item in sorted(self._lists[mapping.ARRANGEMENTS].items.values(), key=lambda i: i.number)
        }
        for write in self._pending:
            for n, op in enumerate(write.operations):
                if op.list == mapping.ARRANGEMENTS and n not in write.applied:
                    view[op.reference] = self._decoded(op)
        return view

    def _decoded(self, op: Operation) -> Any:
        """A pending operation's object (and history), decoded once."""
        found = self._decoded_ops.get(op.write_id)
        if found is None:
            if op.list == mapping.ARRANGEMENTS:
                found = (mapping.arrangement_from_fields(op.fields), mapping.history_from_fields(op.fields))
            else:
                kind = next(k for k, v in mapping.RECORD_LISTS.items() if v == op.list)
                found = mapping.record_from_fields(kind, op.fields)
            self._decoded_ops[op.write_id] = found
        return found

    def _records(self, kind: type[T], references: Collection[str] | None = None) -> list[T]:
        """The records of a kind (pending ones last), or only those of `references`."""
        key = mapping.record_list(kind)
        items = [
            item
            for item in self._lists[key].items.values()
            if references is None or getattr(item.value, "reference", None) in references
        ]
        records = [item.value for item in sorted(items, key=lambda i: i.number)]
        for write in self._pending:
            for n, op in enumerate(write.operations):
                wanted = references is None or op.reference in references
                if op.list == key and n not in write.applied and wanted:
                    records.append(self._decoded(op))
        return records

    def _by_reference(
        self, references: Collection[str] | None = None
    ) -> tuple[dict[str, list[GovernanceReview]], dict[str, list[MonitoringUpdate]]]:
        """The governance reviews and monitoring updates (pending ones too) by reference, of `references`
        or all: what an arrangement's standing columns are worked out from. Call it holding the lock."""
        reviews: dict[str, list[GovernanceReview]] = {}
        for review in self._records(GovernanceReview, references):
            reviews.setdefault(review.reference, []).append(review)
        updates: dict[str, list[MonitoringUpdate]] = {}
        for update in self._records(MonitoringUpdate, references):
            updates.setdefault(update.reference, []).append(update)
        return reviews, updates

    # Reads

    def get(self, reference: str) -> Arrangement:
        self._fresh()
        with self._lock:
            found = self._arrangements().get(reference)
        if found is None:
            raise NotFound(f"There is no contract or partnership {reference} on the register.")
        return found[0]

    def arrangements(
        self,
        *,
        council: Council | None = None,
        status: Status | None = None,
        officer: str | None = None,
    ) -> list[Arrangement]:
        email = officer.strip().lower() if officer is not None else None
        self._fresh()
        with self._lock:
            everything = [a for a, _ in self._arrangements().values()]
        chosen = [
            a
            for a in everything
            if (council is None or a.council.covers(council))
            and (status is None or a.status is status)
            and (email is None or a.is_responsible(email))
        ]
        return sorted(chosen, key=lambda a: _reference_number(a.reference or "KCP-0"))

    def _read_records(self, kind: type[T], reference: str | None) -> list[T]:
        self._fresh()
        with self._lock:
            return self._records(kind, None if reference is None else (reference,))

    def assessments(self, reference: str | None = None) -> list[Assessment]:
        return self._read_records(Assessment, reference)

    def decisions(self, reference: str | None = None) -> list[SmtDecision]:
        return self._read_records(SmtDecision, reference)

    def governance_reviews(self, reference: str | None = None) -> list[GovernanceReview]:
        return self._read_records(GovernanceReview, reference)

    def monitoring_updates(
        self, reference: str | None = None, *, period: str | None = None
    ) -> list[MonitoringUpdate]:
        updates = self._read_records(MonitoringUpdate, reference)
        return [u for u in updates if period is None or u.period == period]

    def audit_log(self, reference: str | None = None) -> list[AuditEntry]:
        self._fresh()
        with self._lock:
            histories = [h for ref, (_, h) in self._arrangements().items() if reference in (None, ref)]
        return sorted((e for h in histories for e in h), key=lambda e: (e.sequence, e.reference))

    # Writes

    def save(
        self,
        arrangement: Arrangement,
        *,
        action: str,
        actor: str,
        at: datetime,
        records: Sequence[Record] = (),
    ) -> Arrangement:
        return self.submit([(arrangement, records)], action=action, actor=actor, at=at)[1][0]

    def save_many(
        self, arrangements: Sequence[Arrangement], *, action: str, actor: str, at: datetime
    ) -> list[Arrangement]:
        if not arrangements:
            return []
        return self.submit([(a, ()) for a in arrangements], action=action, actor=actor, at=at)[1]

    def submit(
        self,
        items: Sequence[tuple[Arrangement, Sequence[Record]]],
        *,
        action: str,
        actor: str,
        at: datetime,
        key: str | None = None,
    ) -> tuple[Receipt, list[Arrangement]]:
        """Accept a write and try to apply it now; its receipt says whether it is in SharePoint yet.

        `key` (or `write_key(...)` around the call) is the idempotency key: submitting the same key again
        returns the first submission's receipt and saves nothing more (a bot passes the Teams activity id,
        so a message delivered twice is saved once). Raises `Conflict`, `NotFound` or `InvalidInput` before
        anything is recorded; `Conflict` also when SharePoint refuses the write at once as stale.
        """
        source = _write_key.get()
        key = key or (source.next() if source is not None else uuid.uuid4().hex)
        with self._lock:
            replayed = self._replayed(key)
        if replayed is not None:
            return replayed
        self._fresh()  # without the lock: it may ask Graph
        with self._lock:
            replayed = self._replayed(key)  # the same key, submitted meanwhile by another thread
            if replayed is not None:
                return replayed
            write, stored = self._plan(items, action=action, actor=actor, at=at, key=key)
            self.outbox.record(write)
            self._pending.append(write)
        if self.apply_now:
            self.flush(wait=TURN_WAIT)
        receipt = self.outbox.receipt(key)
        assert receipt is not None
        if receipt.state is WriteState.REFUSED:
            raise self._refusals.get(key) or NotSaved(receipt.message)
        if receipt.state is not WriteState.APPLIED:
            with self._lock:
                live = next((w for w in self._pending if w.key == key), None)
                if live is not None and not live.announced:
                    receipt = self.outbox.announce(live)
            self._wake()
        return self._deliver(receipt), stored

    def _replayed(self, key: str) -> tuple[Receipt, list[Arrangement]] | None:
        """What a write submitted before with this key gave; None if it is new."""
        earlier = self.outbox.receipt(key)
        if earlier is None:
            return None
        if earlier.state is WriteState.REFUSED:
            raise NotSaved(earlier.message)
        stored = [
            mapping.arrangement_from_fields(op.fields)
            for op in self.outbox.operations(key)
            if op.list == mapping.ARRANGEMENTS
        ]
        return self._deliver(earlier), stored

    def _deliver(self, receipt: Receipt) -> Receipt:
        collected = _receipts.get()
        if collected is not None:
            collected.append(receipt)
        return receipt

    def _plan(
        self,
        items: Sequence[tuple[Arrangement, Sequence[Record]]],
        *,
        action: str,
        actor: str,
        at: datetime,
        key: str,
    ) -> tuple[PendingWrite, list[Arrangement]]:
        """Check every item against the register and turn the write into item operations; raise before
        anything is recorded."""
        view = self._arrangements()
        numbers = [_reference_number(r) for r in view]
        next_number = max(numbers, default=0) + 1
        next_sequence = max((e.sequence for _, h in view.values() for e in h), default=0) + 1
        arrangement_ops: dict[str, Operation] = {}
        record_ops: list[Operation] = []
        stored_all: list[Arrangement] = []
        # Every save writes the arrangement's item, so its standing columns follow each new record.
        reviews, updates = self._by_reference({a.reference for a, _ in items if a.reference})
        for arrangement, records in items:
            if arrangement.reference is None:
                reference = format_reference(next_number)
                next_number += 1
                before: Arrangement | None = None
                history: list[AuditEntry] = []
                stored = dataclasses.replace(arrangement, reference=reference, version=1)
            else:
                reference = arrangement.reference
                current = view.get(reference)
                if current is None:
                    raise NotFound(f"There is no contract or partnership {reference} on the register.")
                before, history = current
                if before.version != arrangement.version:
                    raise _conflict(reference, history)
                stored = dataclasses.replace(arrangement, version=before.version + 1)
            changes = list(arrangement_changes(before, stored))
            for record in records:
                mapping.record_list(record)
                if record.reference != reference:
                    raise InvalidInput(
                        f"A {type(record).__name__} for {record.reference} cannot be saved with {reference}: "
                        "each record is saved with its own contract or partnership. Nothing was saved."
                    )
                changes.append(record_summary(record))
            entry = AuditEntry(at, actor, reference, action, tuple(changes), sequence=next_sequence)
            next_sequence += 1
            history = [*history, entry]
            earlier = arrangement_ops.get(reference)
            for record in records:
                if isinstance(record, GovernanceReview):
                    reviews.setdefault(reference, []).append(record)
                elif isinstance(record, MonitoringUpdate):
                    updates.setdefault(reference, []).append(record)
            file = ArrangementFile(
                stored, (), (), tuple(reviews.get(reference, ())), tuple(updates.get(reference, ()))
            )
            fields = mapping.arrangement_fields(
                stored,
                history,
                self.schema.list(mapping.ARRANGEMENTS),
                write_id="",
                standing=standing(file, self.framework, at.astimezone(LONDON).date()),
                area_names=self._area_names,
            )
            # Two changes to one arrangement in one write become one item write of the last.
            arrangement_ops[reference] = Operation(
                mapping.ARRANGEMENTS,
                earlier.kind if earlier else ("create" if before is None else "update"),
                reference,
                fields,
                "",
                earlier.from_version if earlier else (before.version if before else 0),
            )
            view[reference] = (stored, history)
            for record in records:
                list_key = mapping.record_list(record)
                record_ops.append(
                    Operation(
                        list_key,
                        "create",
                        reference,
                        mapping.record_fields(record, self.schema.list(list_key), write_id=""),
                        "",
                    )
                )
            stored_all.append(stored)
        operations = []
        for n, op in enumerate([*arrangement_ops.values(), *record_ops]):
            write_id = f"{key}/{n}"
            operations.append(
                dataclasses.replace(op, write_id=write_id, fields={**op.fields, mapping.WRITE_ID: write_id})
            )
        write = PendingWrite(key, actor, action, self._wall_clock(), operations)
        return write, stored_all

    # The standing columns of items saved before they existed

    def refresh_standing(self) -> tuple[int, int]:
        """Brings each arrangement item's later columns (`mapping.LATER_COLUMNS`: latest RAG, next update
        owed, open governance gaps, review date) up to date with its records, without a new version or
        audit entry: for items last saved before KCPF kept those columns. Every later save keeps them
        anyway. Returns (items changed, items someone changed meanwhile, left for their next save). Run it
        while nobody is saving: a save read before it would be refused as changed by someone else
        (If-Match), and asked to try again."""
        self._fresh()
        if self._unwritten:
            raise NotSaved(
                f"The SharePoint list {self.schema.list(mapping.ARRANGEMENTS).display_name} has no column "
                f"{', '.join(sorted(self._unwritten))} yet, so there is nothing to bring up to date: run "
                "`kcpf sharepoint provision` first, then this again. Nothing was changed."
            )
        today = datetime.fromtimestamp(self._wall_clock(), LONDON).date()
        schema = self.schema.list(mapping.ARRANGEMENTS)
        with self._lock:
            items = sorted(self._lists[mapping.ARRANGEMENTS].items.values(), key=lambda i: i.number)
            reviews, updates = self._by_reference()
        requests: list[BatchRequest] = []
        targets: list[_Item] = []
        for item in items:
            reference = item.value.reference
            file = ArrangementFile(
                item.value, (), (), tuple(reviews.get(reference, ())), tuple(updates.get(reference, ()))
            )
            wanted = mapping.later_fields(
                item.value, standing(file, self.framework, today), self._area_names, schema
            )
            changed = mapping.standing_differs(item.fields, wanted, schema)
            if changed:
                path = f"{self._items_path(mapping.ARRANGEMENTS)}/{item.id}/fields"
                requests.append(
                    BatchRequest(
                        str(len(requests)), "PATCH", path, body=changed, headers={"If-Match": item.etag}
                    )
                )
                targets.append(item)
        done = stale = 0
        for response, item in zip(self.graph.batch(requests), targets, strict=True):
            if response.ok:
                with self._lock:
                    self._absorb_fields(
                        mapping.ARRANGEMENTS,
                        item.id,
                        str(response.body.get("@odata.etag", "")),
                        {**item.fields, **response.body},
                    )
                done += 1
            elif response.status == 412:
                stale += 1
            else:
                raise _graph_error(response)
        return done, stale

    # Applying the outbox

    def flush(self, *, wait: float | None = None) -> bool:
        """Apply what is pending, oldest first; True while something is still pending (SharePoint is
        failing). Safe to call from any thread; the outbox worker calls it. With `wait`, give up after that
        many seconds if another thread is applying (it picks the new writes up in its next round)."""
        if not self._flush_lock.acquire(timeout=-1 if wait is None else wait):
            return True
        try:
            return self._flush()
        finally:
            self._flush_lock.release()

    def _flush(self) -> bool:
        with self.outbox.applying() as mine:
            with self._lock:
                # Writes recorded by another process sharing the outbox are applied here too.
                self._pending = self.outbox.pending()
            if not mine or self.held_for():
                return bool(self._pending)
            for _ in range(100):  # rounds: an arrangement changed twice needs one round per change
                with self._lock:
                    writes = list(self._pending)
                if not writes:
                    return False
                try:
                    if not self._lists[mapping.ARRANGEMENTS].delta_link:
                        self.connect()
                    progressed = self._round(writes)
                except GraphError as error:
                    self._hold(error)
                    self._failed(writes, _describe(error))
                    return True
                if not progressed:
                    return bool(self._pending)
            return bool(self._pending)

    def _round(self, writes: list[PendingWrite]) -> bool:
        """One pass: one change per arrangement (a later write to it waits), with the records of its write
        in the same `$batch`, each depending on the arrangement's request, so a refused (412) update takes
        its records with it. True if anything was applied."""
        chosen: list[tuple[PendingWrite, int]] = []
        busy: set[str] = set()
        for write in writes:
            if write.done:
                continue
            waiting = False
            for n, op in enumerate(write.operations):
                if op.list != mapping.ARRANGEMENTS or n in write.applied:
                    continue
                waiting = waiting or op.reference in busy
                if op.reference not in busy:
                    chosen.append((write, n))
                busy.add(op.reference)
            if not waiting:
                chosen += [
                    (write, n)
                    for n, op in enumerate(write.operations)
                    if op.list != mapping.ARRANGEMENTS and n not in write.applied
                ]
        progressed = self._apply(chosen) if chosen else False
        self._settle(writes)
        return progressed

    def _apply(self, chosen: list[tuple[PendingWrite, int]]) -> bool:
        """Look up what was sent before without an answer, then send the rest, one `$batch` of 20 at a
        time: a batch that fails leaves only its own 20 to look up."""
        progressed = False
        sent_before = [(w, n) for w, n in chosen if n in w.sent]
        for start in range(0, len(sent_before), BATCH_LIMIT):
            progressed = self._look_up(sent_before[start : start + BATCH_LIMIT]) or progressed
        to_send: list[tuple[PendingWrite, int]] = []
        for write, n in chosen:
            if n in write.applied or write.key in self._refusals:
                continue
            to_send.append((write, n))
            if len(to_send) == BATCH_LIMIT:
                progressed = self._send(to_send) or progressed
                to_send = []
        if to_send:
            progressed = self._send(to_send) or progressed
        return progressed

    def _send(self, candidates: list[tuple[PendingWrite, int]]) -> bool:
        ids: dict[tuple[str, int], str] = {}
        to_send: list[tuple[PendingWrite, int]] = []
        requests: list[BatchRequest] = []
        for write, n in candidates:
            if write.key in self._refusals:
                continue
            depends = [
                m
                for m, op in enumerate(write.operations)
                if op.list == mapping.ARRANGEMENTS and m not in write.applied
            ]
            if write.operations[n].list == mapping.ARRANGEMENTS:
                depends = []
            elif any((write.key, m) not in ids for m in depends):
                continue  # its arrangement is not in this batch: next round, once it is in SharePoint
            request = self._request(write, n)
            if request is None:
                continue
            ids[(write.key, n)] = str(len(requests))
            requests.append(
                dataclasses.replace(
                    request, id=str(len(requests)), depends_on=tuple(ids[(write.key, m)] for m in depends)
                )
            )
            to_send.append((write, n))
        if not requests:
            return False
        self.outbox.mark_sent([(w.key, n) for w, n in to_send])
        for write, n in to_send:
            write.sent.add(n)
        responses = self.graph.batch(requests)
        applied: list[tuple[PendingWrite, int]] = []
        stale: list[tuple[PendingWrite, int]] = []
        taken: list[tuple[PendingWrite, int]] = []
        failing: dict[str, PendingWrite] = {}
        for (write, n), response in zip(to_send, responses, strict=True):
            op = write.operations[n]
            if response.ok:
                with self._lock:
                    if op.kind == "create":
                        self._absorb(op.list, response.body)
                    else:
                        item = self._item_for(op.reference)
                        if item is not None:
                            self._absorb_fields(
                                op.list, item.id, str(response.body.get("@odata.etag", "")), response.body
                            )
                applied.append((write, n))
            elif response.status == 412:
                stale.append((write, n))
            elif response.status == 409 and op.kind == "create":
                taken.append((write, n))
            elif response.status == 424:
                pass  # not run: the arrangement it depends on failed, and says why
            elif response.status in TRANSIENT:
                failing[write.key] = write
                self._hold(_graph_error(response))
            else:
                error = _graph_error(response)
                self._refuse(
                    write, NotSaved(f"SharePoint refused it ({error.status} {error.code}: {error.message}).")
                )
        self._failed(list(failing.values()), "SharePoint did not answer in time")
        self._mark_applied(applied)
        progressed = bool(applied)
        # A 412 (or a 409 on a unique key) is someone else's change, or our own write whose answer was lost.
        progressed = self._look_up(stale, missing=self._stale) or progressed
        return self._look_up(taken, missing=self._taken) or progressed

    def _stale(self, op: Operation) -> KcpfError:
        self._refresh()
        with self._lock:
            item = self._item_for(op.reference)
        return _conflict(op.reference, item.history if item else [])

    def _taken(self, op: Operation) -> KcpfError:
        return NotSaved(
            f"{op.reference} was given to another contract or partnership saved at the same moment from "
            "elsewhere. Nothing was overwritten: please submit it again."
        )

    def _item_for(self, reference: str) -> _Item | None:
        for item in self._lists[mapping.ARRANGEMENTS].items.values():
            if item.value.reference == reference:
                return item
        return None

    def _request(self, write: PendingWrite, n: int) -> BatchRequest | None:
        op = write.operations[n]
        path = self._items_path(op.list)
        fields = op.fields
        if op.list == mapping.ARRANGEMENTS and self._unwritten:
            fields = {k: v for k, v in fields.items() if k not in self._unwritten}
        if op.kind == "create":
            return BatchRequest(f"{n}", "POST", path, body={"fields": fields})
        with self._lock:
            item = self._item_for(op.reference)
        if item is None or item.value.version != op.from_version:
            # The arrangement moved on (or went) in SharePoint since the write was accepted.
            history = item.history if item is not None else []
            self._refuse(write, _conflict(op.reference, history))
            return None
        return BatchRequest(
            f"{n}", "PATCH", f"{path}/{item.id}/fields", body=fields, headers={"If-Match": item.etag}
        )

    def _look_up(
        self,
        ops: list[tuple[PendingWrite, int]],
        *,
        missing: Callable[[Operation], KcpfError] | None = None,
    ) -> bool:
        """Find by their keys the operations sent without a (good) answer: found ones are applied; the
        others are sent again, or refused with `missing`'s reason."""
        if not ops:
            return False
        requests = []
        for i, (write, n) in enumerate(ops):
            op = write.operations[n]
            query = "$filter=" + quote(f"fields/{mapping.WRITE_ID} eq '{op.write_id}'") + "&expand=fields"
            requests.append(BatchRequest(str(i), "GET", f"{self._items_path(op.list)}?{query}"))
        responses = self.graph.batch(requests)
        found: list[tuple[PendingWrite, int]] = []
        failing: dict[str, PendingWrite] = {}
        for (write, n), response in zip(ops, responses, strict=True):
            op = write.operations[n]
            if not response.ok:
                failing[write.key] = write
                continue
            matches = response.body.get("value", [])
            if matches:
                with self._lock:
                    self._absorb(op.list, matches[0])
                found.append((write, n))
            elif missing is not None:
                self._refuse(write, missing(op))
        self._failed(list(failing.values()), "SharePoint did not answer in time")
        self._mark_applied(found)
        return bool(found)

    def _mark_applied(self, ops: list[tuple[PendingWrite, int]]) -> None:
        if not ops:
            return
        self.outbox.mark_applied([(w.key, n) for w, n in ops])
        with self._lock:
            for write, n in ops:
                write.applied.add(n)
                write.sent.add(n)

    def _settle(self, writes: list[PendingWrite]) -> None:
        """Finish the writes now wholly applied, and tell whoever listens."""
        done = [w for w in writes if w.done and w.key not in self._refusals]
        if not done:
            return
        receipts = self.outbox.finish(done)
        keys = {w.key for w in done}
        with self._lock:
            self._pending = [w for w in self._pending if w.key not in keys]
            for write in done:
                for op in write.operations:
                    self._decoded_ops.pop(op.write_id, None)
        for write, receipt in zip(done, receipts, strict=True):
            if write.announced:
                self.outbox.emit(receipt)

    def _refuse(self, write: PendingWrite, reason: KcpfError) -> None:
        if write.key in self._refusals:
            return
        self._refusals[write.key] = reason
        receipt = self.outbox.refuse(write, reason.message)
        with self._lock:
            self._pending = [w for w in self._pending if w.key != write.key]
        if write.announced:
            self.outbox.emit(receipt)

    def _failed(self, writes: list[PendingWrite], error: str) -> None:
        for receipt in self.outbox.failed_attempts(writes, error):
            self.outbox.emit(receipt)


@contextmanager
def collect_receipts() -> Iterator[list[Receipt]]:
    """The receipts of the writes made inside the block (also from `asyncio.to_thread` calls made in it):
    the bot tells the officer "saved" or "recorded, not yet in SharePoint" from these."""
    receipts: list[Receipt] = []
    token = _receipts.set(receipts)
    try:
        yield receipts
    finally:
        _receipts.reset(token)


@contextmanager
def write_key(key: str) -> Iterator[None]:
    """Idempotency keys for the writes made inside the block, from `key` (the Teams activity id): when the
    same message is handled again, its writes get the same keys and are not saved a second time."""
    token = _write_key.set(_KeySource(key))
    try:
        yield
    finally:
        _write_key.reset(token)


def _graph_error(response: BatchResponse) -> GraphError:
    error = response.body.get("error") if isinstance(response.body.get("error"), dict) else {}
    assert isinstance(error, dict)
    failure = GraphError(response.status, str(error.get("code", "error")), str(error.get("message", "")))
    failure.retry_after = response.retry_after
    return failure


def _describe(error: GraphError) -> str:
    return f"SharePoint: {error.status} {error.code}"


@contextmanager
def officer_turn(key: str) -> Iterator[list[Receipt]]:
    """Around an officer's turn: its writes keyed by `key` (the Teams activity id), their receipts
    collected, and its Graph work done within `TURN_BUDGET` seconds."""
    with collect_receipts() as receipts, write_key(key), deadline(TURN_BUDGET):
        yield receipts


@contextmanager
def running_register(
    settings: GraphSettings,
    data_dir: Path,
    *,
    freshness: float = DEFAULT_FRESHNESS,
    framework: FrameworkVersion | None = None,
) -> Iterator[SharePointRegister]:
    """The SharePoint register as an application runs it: the Graph session, the outbox in the data
    directory and its background worker (started now, so writes left by a previous run are applied, and
    stopped on exit). Nothing is sent until the first read or write: start-up works while SharePoint is
    down, and `kcpf sharepoint outbox` still answers."""
    # An officer's turn must answer well inside Teams' 10-15 s: a few quick tries, then the outbox (which
    # keeps retrying in the background) has the write and the cache answers the reads.
    patient_enough = dataclasses.replace(
        settings,
        timeout=min(settings.timeout, TURN_TIMEOUT),
        max_retries=min(settings.max_retries, 2),
        wait_limit=IN_REQUEST_WAIT
        if settings.wait_limit is None
        else min(settings.wait_limit, IN_REQUEST_WAIT),
    )
    outbox = Outbox(data_dir / OUTBOX_FILE)
    register = SharePointRegister(
        GraphSession(patient_enough), outbox, freshness=freshness, framework=framework
    )
    worker = OutboxWorker(register.flush, hold=register.held_for)
    register.on_wake(worker.wake)
    worker.start()
    try:
        yield register
    finally:
        worker.stop()
        outbox.close()
