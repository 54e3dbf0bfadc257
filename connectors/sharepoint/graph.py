"""The Microsoft Graph layer the SharePoint register uses: one synchronous session (call it off the event
loop, e.g. with `asyncio.to_thread`) that authenticates, retries what is transient, pages, batches, uploads.

Why not `office365-rest-python-client`'s GraphClient for the requests themselves (read in its 3.3 source):
- its service root is `get_graph_authority(AzureEnvironment)`: a fixed table of clouds, so aiming it at the
  fake in `tests/fake_graph` means subclassing `GraphRequest` and overriding `GraphClient.pending_request`;
- its retry (`office365.runtime.retry.retry`) calls a module-level `time.sleep` and uses a server's
  Retry-After uncapped: the sleep cannot be injected (tests would really sleep) and Retry-After has no cap;
- it works through its entity/query model, while the outbox needs each raw answer: status, eTag, body of
  every `$batch` sub-response (its `execute_batch` does retry throttled sub-requests alone, which we
  match), and it cannot tell "no answer after a create was sent" (apply at most once: `OutcomeUnknown`)
  from "refused before it was applied" (safe to retry);
- `execute_query_retry` swallows the final failure.
So the requests go through a thin `requests` session here (the same HTTP stack GraphClient uses) and tokens
come from msal (`connectors/sharepoint/auth.py`), as GraphClient's own `AuthenticationContext` does. The
package is therefore not a dependency: nothing imports it (a departure from the brief's choice, made for the
reasons above).

Contract for callers (the register adapter):
- `path` arguments are relative to the Graph base URL ("/sites/{site-id}/lists") or absolute URLs (a
  nextLink or deltaLink). Query parameters go in `params`.
- Every failure raises `GraphError` (status, code, message; never a token or secret). When retries run
  out: `ThrottledOut` (429 every time) or `Unavailable` (5xx, timeouts, dropped connections). 404 is
  `NotFoundError`. A write that is unsafe to repeat (POST, $batch, PATCH with If-Match) whose answer was
  lost (timeout, dropped connection after sending) raises `OutcomeUnknown` (an `Unavailable`) at once,
  never retried blind: the caller looks for its KcpfWriteId before sending it again.
  A 412 on `patch(..., if_match=...)` is `PreconditionFailed`: this layer does not know which record it was,
  so the register adapter turns it into `kcpf.errors.Conflict` with words for the officer.
- In `batch`, sub-responses keep their own status (a 412 or 404 inside a batch is returned, not raised);
  only throttled (429) or unavailable (503/502/504) sub-requests are retried, alone, after their Retry-After.
- `requests_by_kind` counts every HTTP round trip to Graph, retries included, by kind ("GET", "POST",
  "PATCH", "PUT", "DELETE", "$batch", "upload-chunk"); `token_requests` counts those to the sign-in authority
  (msal caches the token for about an hour); `round_trips` is all of them. The benchmark reads these.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random as random_module
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote, urlsplit

import requests
import urllib3

from connectors.sharepoint.auth import (
    AuthFailed,
    Certificate,
    TokenProvider,
    resource_scope,
    token_roles,
)
from connectors.sharepoint.config import (
    AUTHORITY_HOST,
    BATCH_LIMIT,
    GRAPH_BASE_URL,
    MAX_PAGE_SIZE,
    SIMPLE_UPLOAD_MAX,
    UPLOAD_CHUNK_UNIT,
    GraphSettings,
)

__all__ = [
    "AUTHORITY_HOST",
    "BATCH_LIMIT",
    "GRAPH_BASE_URL",
    "MAX_PAGE_SIZE",
    "UPLOAD_CHUNK_UNIT",
    "BatchRequest",
    "BatchResponse",
    "GraphError",
    "GraphSession",
    "GraphSettings",
    "NotFoundError",
    "OutcomeUnknown",
    "PreconditionFailed",
    "ThrottledOut",
    "Unavailable",
    "deadline",
]

log = logging.getLogger("kcpf.graph")

RETRIABLE_STATUS: Final = frozenset({429, 502, 503, 504})
# Failures before a request leaves this machine: safe to send it again, whatever it was.
NEVER_SENT: Final = (
    urllib3.exceptions.NewConnectionError,  # refused, no route, name not found (NameResolutionError)
    urllib3.exceptions.SSLError,
    ConnectionRefusedError,
    socket.gaierror,
)


class GraphError(Exception):
    """A Graph request failed. `message` is safe to log and show to T&P: it never holds a token or secret."""

    def __init__(self, status: int, code: str, message: str, *, request_id: str = "") -> None:
        super().__init__(f"Graph {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        # Seconds the server asked us to wait before trying again (Retry-After), when it said.
        self.retry_after: float | None = None


class NotFoundError(GraphError):
    """404: the site, list, item or file does not exist (or the app may not see it)."""


class PreconditionFailed(GraphError):
    """412: the item changed since its eTag was read; nothing was written."""


class ThrottledOut(GraphError):
    """Graph kept answering 429 until the retries ran out."""


class Unavailable(GraphError):
    """Graph kept failing (5xx, timeouts, dropped connections) until the retries ran out."""


class OutcomeUnknown(Unavailable):
    """A write that is not safe to repeat (POST, $batch, PATCH with If-Match) was sent, then the connection
    dropped or timed out: it may or may not have been applied. It is not retried here (a repeated create
    makes a duplicate; a repeated If-Match update reports a false conflict): look for the write by its
    KcpfWriteId, then send it again only if it is not there."""


@dataclass(frozen=True)
class BatchRequest:
    """One request in a `$batch`. `url` is relative to the base URL ("/sites/{id}/lists/{id}/items")."""

    id: str
    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[str] = ()


@dataclass(frozen=True)
class BatchResponse:
    id: str
    status: int
    headers: Mapping[str, str]
    body: dict[str, Any]

    @property
    def retry_after(self) -> float | None:
        return _retry_after(self.headers)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


Sleep = Callable[[float], None]
Random = Callable[[], float]

_deadline: ContextVar[tuple[float, Callable[[], float]] | None] = ContextVar(
    "kcpf_graph_deadline", default=None
)


@contextmanager
def deadline(seconds: float, *, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Graph work inside the block (in this thread, or in `asyncio.to_thread` calls made from it) ends within
    `seconds`: each request's timeout is at most what is left, and a retry whose wait (Retry-After included)
    would end after it is not made: the failure is raised at once, carrying the server's Retry-After. An
    officer's turn runs in one, so a slow or throttled SharePoint leaves the write to the outbox rather than
    keeping Teams waiting past its 15 seconds."""
    token = _deadline.set((clock() + seconds, clock))
    try:
        yield
    finally:
        _deadline.reset(token)


def _time_left() -> float | None:
    current = _deadline.get()
    if current is None:
        return None
    ends, clock = current
    return ends - clock()


class GraphSession:
    """Synchronous Graph client for one app and one site. Safe to share between threads (requests' session
    pool and msal's cache are thread-safe); counters are approximate under concurrency."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        token_provider: TokenProvider | None = None,
        sleep: Sleep = time.sleep,
        random: Random = random_module.random,
        http: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self._base = settings.graph_base_url.rstrip("/")
        self._http = http or _Session()
        if settings.ca_bundle is not None:
            self._http.verify = str(settings.ca_bundle)
        self._sleep = sleep
        self._random = random
        self._tokens = token_provider or _token_provider(settings, self._http)
        self.requests_by_kind: Counter[str] = Counter()
        self.retries = 0
        self._site_id: str | None = None

    def __repr__(self) -> str:
        return f"GraphSession(base={self._base!r}, site={self.settings.site_url!r})"

    @property
    def token_requests(self) -> int:
        return self._tokens.requests

    @property
    def round_trips(self) -> int:
        return sum(self.requests_by_kind.values()) + self._tokens.requests

    def reset_counts(self) -> None:
        self.requests_by_kind.clear()
        self.retries = 0
        self._tokens.requests = 0

    # --- plain requests -------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._request("GET", path, params=params)

    def get_all(self, path: str, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a collection: follows `@odata.nextLink` (which already carries the query)."""
        page = self._request("GET", path, params=params)
        items: list[dict[str, Any]] = list(page.get("value", []))
        while isinstance(link := page.get("@odata.nextLink"), str):
            page = self._request("GET", link)
            items.extend(page.get("value", []))
        return items

    def post(self, path: str, body: Mapping[str, Any], *, repeatable: bool = False) -> dict[str, Any]:
        """`repeatable=True` when sending it twice does no harm (an upload session): then a lost answer is
        retried like a read instead of raising `OutcomeUnknown`."""
        return self._request("POST", path, body=body, repeatable=repeatable)

    def patch(self, path: str, body: Mapping[str, Any], *, if_match: str | None = None) -> dict[str, Any]:
        """With `if_match` (an item's eTag), a changed item raises `PreconditionFailed`, writing nothing."""
        headers = {"If-Match": if_match} if if_match is not None else None
        return self._request("PATCH", path, body=body, headers=headers)

    def delete(self, path: str, *, if_match: str | None = None) -> None:
        headers = {"If-Match": if_match} if if_match is not None else None
        self._request("DELETE", path, headers=headers)

    def app_roles(self) -> list[str] | None:
        """The application permissions in the app's token (e.g. ["Sites.Selected"]); None if unreadable."""
        try:
            return token_roles(self._tokens.token())
        except AuthFailed:
            return None

    # --- SharePoint REST (what Graph v1.0 lacks: list views, column formatting) ---------------------------
    # Same session, retries, Retry-After and deadlines as Graph; only the token's resource differs.
    # Shapes (confirmed in pnp/cli-microsoft365 `spo list view add`, which posts
    # {"parameters": {..., "ViewFields": {"results": [...]}}} with content-type odata=verbose and accept
    # odata=nometadata; SP.ViewCreationInformation's members in Microsoft's SharePoint reference; updates
    # as POST with X-HTTP-Method: MERGE and IF-MATCH: * per "Complete basic operations using SharePoint REST
    # endpoints"): we send odata=verbose bodies with their __metadata type and read odata=nometadata answers
    # (plain JSON; collections in "value").
    @property
    def uses_certificate(self) -> bool:
        return self._tokens.uses_certificate

    def rest_url(self, path: str) -> str:
        """`{site}/_api/{path}` on SharePoint's host (`settings.sharepoint_origin`)."""
        site_path = urlsplit(self.settings.site_url).path.rstrip("/")
        return f"{self.settings.sharepoint_origin}{site_path}/_api/{path.lstrip('/')}"

    def rest(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        merge: bool = False,
        repeatable: bool = False,
    ) -> dict[str, Any]:
        """A SharePoint REST request on the configured site. `merge`: an update (POST with X-HTTP-Method:
        MERGE and IF-MATCH: *), safe to repeat; `repeatable`: a POST that does no harm sent twice. Counted as
        "REST GET", "REST POST", "REST MERGE"."""
        headers = {"Accept": "application/json;odata=nometadata"}
        if body is not None:
            headers["Content-Type"] = "application/json;odata=verbose"
        if merge:
            headers |= {"X-HTTP-Method": "MERGE", "IF-MATCH": "*"}
        return self._request(
            method,
            self.rest_url(path),
            body=body,
            headers=headers,
            kind=f"REST {'MERGE' if merge else method}",
            scope=resource_scope(self.settings.sharepoint_origin),
            repeatable=merge or repeatable,
        )

    # --- the site -------------------------------------------------------------------------------------
    def site_path(self) -> str:
        """`/sites/{hostname}:/{server-relative-path}` for the configured site URL (Graph's site by path)."""
        parts = urlsplit(self.settings.site_url)
        relative = parts.path.strip("/")
        return f"/sites/{parts.hostname}:/{quote(relative)}" if relative else f"/sites/{parts.hostname}"

    def site(self) -> dict[str, Any]:
        """The configured site (one GET); remembers its id."""
        site = self.get(self.site_path())
        self._site_id = str(site["id"])
        return site

    def site_id(self) -> str:
        """The configured site's id, resolved once."""
        if self._site_id is None:
            self.site()
        assert self._site_id is not None
        return self._site_id

    # --- $batch ---------------------------------------------------------------------------------------
    def batch(self, requests_: Sequence[BatchRequest]) -> list[BatchResponse]:
        """Sends the requests in `$batch` calls of at most 20, in order; answers in the same order.

        If a `$batch` call itself fails (e.g. `OutcomeUnknown`), the exception is raised: the chunks before
        it were applied, so look writes up by KcpfWriteId before sending them again.
        Sub-requests answered 429/502/503/504 are sent again (in a later batch) after the longest Retry-After
        among them (with any request that failed 424 only because of them), within the same retry budget
        as single requests; when it runs out the last answer is
        returned as it is (the caller decides: an outbox keeps the write). `depends_on` must name requests
        in the same chunk of 20; a chunk is never split across a dependency.
        """
        ids = [r.id for r in requests_]
        if len(set(ids)) != len(ids):
            raise ValueError("batch request ids must be unique")
        pending = list(requests_)
        results: dict[str, BatchResponse] = {}
        attempt = 0
        while pending:
            again: set[str] = set()
            wait = 0.0
            for chunk in _chunks(pending, BATCH_LIMIT):
                answers = {a.id: a for a in self._send_batch(chunk)}
                results.update(answers)
                for request in chunk:  # in order: a dependency is seen before what depends on it
                    answer = answers[request.id]
                    if answer.status in RETRIABLE_STATUS:
                        again.add(request.id)
                        wait = max(wait, _retry_after(answer.headers) or 0.0)
                    elif answer.status == 424 and again.intersection(request.depends_on):
                        again.add(request.id)  # it failed only because its dependency was throttled
            if not again or attempt >= self.settings.max_retries:
                break
            delay = self._backoff(attempt + 1, wait or None)
            if not self._may_wait(delay):
                break  # the answers go back as they are; Retry-After is in their headers
            attempt += 1
            self.retries += len(again)
            self._sleep(delay)
            # In request order; a dependency that already succeeded is no longer in the batch to wait for.
            pending = [
                replace(r, depends_on=tuple(d for d in r.depends_on if d in again))
                for r in pending
                if r.id in again
            ]
        return [results[r.id] for r in requests_]

    def _send_batch(self, chunk: Sequence[BatchRequest]) -> list[BatchResponse]:
        body = {"requests": [_batch_entry(r) for r in chunk]}
        answer = self._request("POST", "/$batch", body=body, kind="$batch")
        responses = []
        for item in answer.get("responses", []):
            raw_body = item.get("body")
            responses.append(
                BatchResponse(
                    id=str(item["id"]),
                    status=int(item["status"]),
                    headers={str(k): str(v) for k, v in (item.get("headers") or {}).items()},
                    body=raw_body if isinstance(raw_body, dict) else {},
                )
            )
        missing = {r.id for r in chunk} - {r.id for r in responses}
        if missing:
            raise GraphError(502, "incompleteBatch", f"$batch answered without {len(missing)} request(s)")
        return responses

    # --- delta ----------------------------------------------------------------------------------------
    def delta(self, path: str, delta_link: str | None = None) -> tuple[list[dict[str, Any]], str]:
        """Changes since `delta_link` (everything when None) and the deltaLink to use next time.

        `path` is the collection's delta function ("/sites/{id}/lists/{id}/items/delta"). Deleted items come
        back with a "deleted" facet ({"deleted": {"state": "deleted"}}) or "@removed"; the same item may
        appear more than once: the last occurrence wins. A 410 (token expired) raises `GraphError` with
        status 410: start again with `delta_link=None`.
        """
        first = None if delta_link else {"expand": "fields", "$top": str(MAX_PAGE_SIZE)}
        page = self._request("GET", delta_link or path, params=first)
        items: list[dict[str, Any]] = list(page.get("value", []))
        while isinstance(link := page.get("@odata.nextLink"), str):
            page = self._request("GET", link)
            items.extend(page.get("value", []))
        new_link = page.get("@odata.deltaLink")
        if not isinstance(new_link, str):
            raise GraphError(502, "noDeltaLink", "the delta feed ended without an @odata.deltaLink")
        return items, new_link

    # --- uploads --------------------------------------------------------------------------------------
    def upload(self, drive_path: str, name: str, data: bytes) -> dict[str, Any]:
        """Puts a file in a drive (e.g. "/sites/{id}/drives/{id}"), replacing any file of that name, and
        returns the driveItem (with `webUrl`). Small files: one PUT; larger: an upload session in chunks of
        `settings.upload_chunk` bytes (a multiple of 320 KiB; the last chunk is the remainder)."""
        target = f"{drive_path.rstrip('/')}/root:/{quote(name.strip('/'))}:"
        if len(data) <= SIMPLE_UPLOAD_MAX:
            return self._request("PUT", f"{target}/content", raw=data, kind="PUT")
        session = self.post(
            f"{target}/createUploadSession",
            {"item": {"@microsoft.graph.conflictBehavior": "replace"}},
            repeatable=True,
        )
        upload_url = str(session["uploadUrl"])
        total = len(data)
        start = 0
        result: dict[str, Any] = {}
        while start < total:
            end = min(start + self.settings.upload_chunk, total)
            # The upload URL carries its own authorisation: sending the bearer token there is refused.
            try:
                result = self._request(
                    "PUT",
                    upload_url,
                    raw=data[start:end],
                    headers={"Content-Range": f"bytes {start}-{end - 1}/{total}"},
                    kind="upload-chunk",
                    authorise=False,
                )
            except GraphError as error:
                if error.status != 416:
                    raise
                # A chunk whose answer was lost had arrived: ask the session where to carry on.
                result = self._request("GET", upload_url, kind="upload-chunk", authorise=False)
            ranges = result.get("nextExpectedRanges")
            start = int(str(ranges[0]).split("-", 1)[0]) if isinstance(ranges, list) and ranges else end
        return result

    # --- the one place requests are sent --------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str | None = None,
        authorise: bool = True,
        repeatable: bool = False,
        scope: str | None = None,
    ) -> dict[str, Any]:
        url = path if path.startswith(("https://", "http://")) else f"{self._base}{path}"
        # Repeating these after a lost answer could apply them twice (or report a false 412).
        unsafe = not repeatable and (
            method == "POST" or (method == "PATCH" and any(k.lower() == "if-match" for k in headers or {}))
        )
        attempt = 0
        while True:
            send_headers = dict(headers or {})
            left = _time_left()
            if left is not None and left <= 0:
                raise Unavailable(504, "outOfTime", "no time left to ask Graph in this turn")
            if authorise:
                try:
                    send_headers["Authorization"] = f"Bearer {self._tokens.token(scope)}"
                except AuthFailed as error:
                    raise GraphError(401, "authFailed", str(error)) from None
            if body is not None:
                send_headers.setdefault("Content-Type", "application/json")
            self.requests_by_kind[kind or method] += 1
            failure: GraphError
            retry_after: float | None = None
            timeout = self.settings.timeout if left is None else min(self.settings.timeout, left)
            try:
                response = self._http.request(
                    method,
                    url,
                    params=dict(params) if params else None,
                    data=json.dumps(body).encode("utf-8") if body is not None else raw,
                    headers=send_headers,
                    timeout=timeout,
                )
            except requests.ConnectTimeout:  # never reached the server: safe to repeat
                failure = Unavailable(504, "connectTimeout", f"no connection within {timeout:g} s")
            except requests.Timeout:
                if unsafe:
                    raise OutcomeUnknown(504, "timeout", f"no answer within {timeout:g} s") from None
                failure = Unavailable(504, "timeout", f"no answer within {timeout:g} s")
            except requests.ConnectionError as error:
                if unsafe and not _never_sent(error):
                    raise OutcomeUnknown(
                        503, "connectionDropped", "the connection dropped before Graph answered"
                    ) from None
                failure = Unavailable(503, "connectionError", "the connection to Graph failed or was dropped")
            else:
                if response.status_code < 400:
                    return _json(response)
                failure = _error(response)
                if response.status_code not in RETRIABLE_STATUS:
                    raise failure
                retry_after = _retry_after(response.headers)
            failure.retry_after = retry_after
            if attempt >= self.settings.max_retries:
                log.warning("Graph %s %s failed %d times: %s", method, _safe(url), attempt + 1, failure)
                raise failure
            delay = self._backoff(attempt + 1, retry_after)
            if not self._may_wait(delay):
                log.info("Graph %s %s: %s; not waiting %.2f s here", method, _safe(url), failure.code, delay)
                raise failure
            attempt += 1
            self.retries += 1
            log.info("Graph %s %s: %s; retry %d in %.2f s", method, _safe(url), failure.code, attempt, delay)
            self._sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the server gives one, whole: retrying sooner is throttled again and extends the
        throttling. Otherwise exponential backoff with full jitter (a random wait between 0 and
        base·2^(attempt-1), capped)."""
        if retry_after is not None:
            return max(retry_after, 0.0)
        ceiling: float = min(self.settings.backoff_cap, self.settings.backoff_base * 2.0 ** (attempt - 1))
        return self._random() * ceiling

    def _may_wait(self, delay: float) -> bool:
        """Whether to wait `delay` seconds here before a retry: not past the turn's deadline, nor longer than
        `wait_limit` (the caller waits instead, holding nothing)."""
        left = _time_left()
        if left is not None and delay >= left:
            return False
        limit = self.settings.wait_limit
        return limit is None or delay <= limit


class _Session(requests.Session):
    """A requests session whose own CA bundle wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (requests lets
    the environment override a session's `verify`)."""

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        merged: dict[str, Any] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str) and verify in (None, True):
            merged["verify"] = self.verify
        return merged


def _token_provider(settings: GraphSettings, http: requests.Session) -> TokenProvider:
    certificate = Certificate.load(settings.certificate_path) if settings.certificate_path else None
    return TokenProvider(
        tenant_id=settings.tenant_id,
        client_id=settings.client_id,
        authority_host=settings.authority_host,
        graph_base_url=settings.graph_base_url,
        client_secret=None if certificate else settings.client_secret,
        certificate=certificate,
        http_client=http,
        timeout=settings.timeout,
    )


def _never_sent(error: requests.ConnectionError) -> bool:
    """Whether the connection failed before the request was sent (refused, no route, name not found, TLS
    handshake), from the causes urllib3 gives (`MaxRetryError.reason`) and Python's exception chain."""
    seen: list[BaseException] = []
    pending: list[object] = [error, *error.args]
    while pending:
        cause = pending.pop()
        if not isinstance(cause, BaseException) or any(cause is s for s in seen):
            continue
        seen.append(cause)
        if isinstance(cause, NEVER_SENT):
            return True
        pending += [getattr(cause, "reason", None), cause.__cause__, cause.__context__, *cause.args]
    return False


def _chunks(items: Sequence[BatchRequest], size: int) -> list[list[BatchRequest]]:
    """Chunks of at most `size` in order, never separating a request from one it depends on."""
    groups: list[list[BatchRequest]] = []
    group_of: dict[str, int] = {}
    for item in items:
        linked = sorted({group_of[d] for d in item.depends_on if d in group_of})
        if not linked:
            groups.append([item])
            group_of[item.id] = len(groups) - 1
            continue
        target = linked[0]
        for other in linked[1:]:  # a request depending on two groups joins them
            for moved in groups[other]:
                group_of[moved.id] = target
            groups[target].extend(groups[other])
            groups[other] = []
        groups[target].append(item)
        group_of[item.id] = target
    chunks: list[list[BatchRequest]] = []
    current: list[BatchRequest] = []
    for group in (g for g in groups if g):
        if len(group) > size:
            raise ValueError(f"a chain of dependent batch requests is longer than {size}")
        if len(current) + len(group) > size:
            chunks.append(current)
            current = []
        current.extend(group)
    if current:
        chunks.append(current)
    return chunks


def _batch_entry(request: BatchRequest) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": request.id, "method": request.method, "url": request.url}
    headers = dict(request.headers)
    if request.body is not None:
        entry["body"] = dict(request.body)
        headers.setdefault("Content-Type", "application/json")
    if headers:
        entry["headers"] = headers
    if request.depends_on:
        entry["dependsOn"] = list(request.depends_on)
    return entry


def _json(response: requests.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def _error(response: requests.Response) -> GraphError:
    """Graph's error body: {"error": {"code", "message", "innerError": {"request-id"}}}; SharePoint REST's
    (odata=nometadata): {"odata.error": {"code", "message": {"lang", "value"}}}, or for a token it refuses
    {"error_description": "..."}."""
    body = _json(response)
    raw = body.get("error") if isinstance(body.get("error"), dict) else body.get("odata.error")
    error = raw if isinstance(raw, dict) else {}
    text = error.get("message")
    if isinstance(text, dict):  # SharePoint REST
        text = text.get("value")
    code = str(error.get("code") or response.reason or "error")
    message = str(text or body.get("error_description") or f"HTTP {response.status_code}")
    inner = error.get("innerError") if isinstance(error.get("innerError"), dict) else {}
    request_id = str((inner or {}).get("request-id") or response.headers.get("request-id", ""))
    status = response.status_code
    if status == 404:
        return NotFoundError(status, code, message, request_id=request_id)
    if status == 412:
        return PreconditionFailed(status, code, message, request_id=request_id)
    if status == 429:
        return ThrottledOut(status, code, message, request_id=request_id)
    if status in RETRIABLE_STATUS:
        return Unavailable(status, code, message, request_id=request_id)
    return GraphError(status, code, message, request_id=request_id)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds, from delta-seconds or an HTTP date; None when absent or unreadable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _safe(url: str) -> str:
    """A URL for the log without its query (delta tokens, upload session signatures)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
