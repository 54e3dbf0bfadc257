"""The read-only register page of the bot's web app: GET /register (a filtered, sorted table), /register.csv
(the same rows) and /register/{reference} (one arrangement). Server-rendered with Jinja2, no JavaScript.

The page changes nothing. Without bot credentials the web app listens on this machine only and the page is
open; with them (a public address) `access` is given and every request needs a signed access link from the
bot, traded on the first visit for a cookie that expires with it (see `RegisterAccess`).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from connectors.report_folder import LinkRefused, ReportLinks
from kcpf.errors import InvalidInput, KcpfError, NotFound
from kcpf.model import Council, Status, parse_reference
from kcpf.monitoring import Rag
from kcpf.parsing import format_money, format_uk_date
from kcpf.ports import Clock
from kcpf.records import change_label
from kcpf.register_view import (
    NONE,
    SORTS,
    RegisterQuery,
    RegisterRow,
    arrangement_page,
    count_text,
    csv_rows,
    kept_sort,
    officers,
    parse_query,
    register_rows,
    select,
)
from kcpf.services import FrameworkService

log = logging.getLogger("kcpf.register_page")  # into the log file, with the bot's

SCOPE = "register"  # what a register access token grants
ACCESS_PARAMETER = "access"
COOKIE = "kcpf_register"
COOKIE_PATHS = ("/register", "/register.csv")  # a cookie's path covers /register/… but not /register.csv
STYLESHEET = "/register-assets/register.css"
REBUILD_AFTER = timedelta(minutes=1)

HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
}


@dataclass(frozen=True)
class RegisterAccess:
    """Signed access to the page when the bot is on a public address. The bot hands out `url(...)`; the
    first visit with a valid `?access=` token sets an HttpOnly, Secure, SameSite=Lax cookie holding the same
    token (so it expires with it) and redirects to the address without it; later requests need the cookie."""

    links: ReportLinks
    clock: Clock
    hours: int

    def token(self) -> str:
        # In UTC: hours added to a Europe/London time are wall-clock hours, one more or less across the
        # clocks changing.
        return self.links.token(SCOPE, self.clock.now().astimezone(UTC) + timedelta(hours=self.hours))

    def url(self, base_url: str, reference: str = "") -> str:
        return f"{page_url(base_url, reference)}?{ACCESS_PARAMETER}={self.token()}"

    def check(self, token: str) -> datetime:
        return self.links.verify_token(SCOPE, token, self.clock.now())


def page_url(base_url: str, reference: str = "") -> str:
    """The register page (or one arrangement's) at `base_url`, the bot's public address."""
    return f"{base_url.rstrip('/')}/register" + (f"/{reference}" if reference else "")


def register_link(base_url: str, access: RegisterAccess | None) -> Callable[[str], str]:
    """What the bot hands out for the page (or one arrangement's, given its reference): signed when the
    page needs it."""

    def link(reference: str = "") -> str:
        return access.url(base_url, reference) if access else page_url(base_url, reference)

    return link


def environment() -> jinja2.Environment:
    """The page's templates, compiled once per web app; autoescaped (every value is text, never markup)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("connectors.register_page", "templates"),
        autoescape=True,
        auto_reload=False,  # packaged templates never change while running: no stat per request
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["ukdate"] = _uk_date
    env.filters["change_label"] = change_label
    env.globals["stylesheet"] = STYLESHEET
    return env


def register_routes(
    framework: FrameworkService, clock: Clock, access: RegisterAccess | None = None
) -> list[web.RouteDef]:
    """The page's routes, for `app.add_routes`. `access` None: the page is open (loopback only)."""
    env = environment()
    stylesheet = resources.files(__package__).joinpath("static/register.css").read_bytes()
    # Browsers keep the stylesheet a day: its address changes with its content, so a new release shows.
    env.globals["stylesheet"] = f"{STYLESHEET}?v={hashlib.sha256(stylesheet).hexdigest()[:12]}"

    def refused(status: int, title: str, message: str) -> web.Response:
        page = env.get_template("message.html").render(title=title, message=message, back=status != 403)
        return _html(status, page)

    def guarded(
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def guard(request: web.Request) -> web.StreamResponse:
            try:
                denied = _admit(request, access, refused)
                if denied is not None:
                    return denied
                return await handler(request)
            except KcpfError as error:  # e.g. SharePoint cannot be reached
                # Its words are for whoever ran a command (a write's "Nothing was changed", a fix of their
                # own): the page says one thing in its own words, and the log keeps the detail.
                log.warning("register page: %s", error.message)
                return refused(
                    503,
                    "The register is not available",
                    "The register cannot be read just now. Try again in a few minutes; if it keeps "
                    "happening, tell Transformation and Partnerships (the problem has been logged).",
                )
            except Exception:
                log.exception("register page failed")
                return refused(
                    500,
                    "Something went wrong",
                    "The register page could not be shown because of an unexpected problem. It has been "
                    "logged; try again, and tell T&P if it keeps happening.",
                )

        return guard

    rows = RowCache(framework, clock)

    def page(params: Mapping[str, str]) -> tuple[int, str]:
        everything = rows()
        try:
            query = parse_query(params)
        except InvalidInput as error:
            return 400, _register_html(env, everything, None, params, error)
        return 200, _register_html(env, everything, query, params, None)

    async def register(request: web.Request) -> web.StreamResponse:
        status, body = await asyncio.to_thread(page, request.query)
        return _compressed(_html(status, body))

    def spreadsheet(params: Mapping[str, str]) -> bytes:
        query = parse_query(params)
        stream = io.StringIO()
        csv.writer(stream, lineterminator="\r\n").writerows(csv_rows(select(rows(), query)))
        return stream.getvalue().encode("utf-8-sig")

    async def download(request: web.Request) -> web.StreamResponse:
        try:
            body = await asyncio.to_thread(spreadsheet, request.query)
        except InvalidInput as error:
            return web.Response(
                status=400, text=error.message + "\n", content_type="text/plain", headers=HEADERS
            )
        return _compressed(
            web.Response(
                body=body,
                content_type="text/csv",
                charset="utf-8",
                headers={**HEADERS, "Content-Disposition": 'attachment; filename="kcpf-register.csv"'},
            )
        )

    def one(text: str) -> str:
        reference = parse_reference(text)
        file = framework.file(reference)
        history = framework.register.audit_log(reference)
        model = arrangement_page(file, history, framework.rules, clock.now().date())
        return env.get_template("arrangement.html").render(page=model)

    async def arrangement(request: web.Request) -> web.StreamResponse:
        text = request.match_info["reference"]
        try:
            body = await asyncio.to_thread(one, text)
        except (NotFound, InvalidInput):
            return refused(
                404,
                "Not on the register",
                f"There is no contract or partnership “{text}” on the register. References look like "
                "KCP-0001.",
            )
        return _html(200, body)

    async def css(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=stylesheet,
            content_type="text/css",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )

    async def read_only(request: web.Request) -> web.StreamResponse:
        answer = refused(
            405,
            "The register page is read-only",
            "The register page only shows the register. To change anything, use the KCPF bot in Teams or "
            "the command line.",
        )
        answer.headers["Allow"] = "GET, HEAD"
        return answer

    async def nowhere(request: web.Request) -> web.StreamResponse:
        return refused(
            404,
            "Page not found",
            "There is no page of the register at this address. An arrangement's page is at an address "
            "like /register/KCP-0001.",
        )

    # Each path's GET (and HEAD) first, then every other method on it: aiohttp's own 404 and 405 are plain
    # text without the page's headers.
    return [
        web.get("/register", guarded(register)),
        web.route("*", "/register", read_only),
        web.get("/register.csv", guarded(download)),
        web.route("*", "/register.csv", read_only),
        web.get("/register/{reference}", guarded(arrangement)),
        web.route("*", "/register/{reference}", read_only),
        web.route("*", "/register/{anything:.*}", guarded(nowhere)),  # e.g. /register/, /register/KCP-0001/
        web.get(STYLESHEET, css),
    ]


@dataclass
class _Built:
    version: int
    row: RegisterRow
    at: float  # when it was built (a timestamp: real seconds, whatever the clocks do)
    settled: bool  # built again a minute after its version was first seen, and kept since


class RowCache:
    """The page's rows, each rebuilt only when its arrangement changes.

    Every write to the register saves an arrangement and raises its version (records are only ever saved
    with one), so an arrangement at the same version on the same day gives the same row: each request reads
    the arrangements only, and the records of those that changed. A row is built once more a minute after
    its version was first seen, in case a register's copy showed a write's arrangement before its record.
    A new day rebuilds every row (which update is owed and overdue depends on the day).
    """

    MANY = 50  # more changed arrangements than this: one read of each record kind beats one read each

    def __init__(self, framework: FrameworkService, clock: Clock) -> None:
        self._framework = framework
        self._clock = clock
        self._built: dict[str, _Built] = {}
        self._day: date | None = None
        self._lock = threading.Lock()

    def __call__(self) -> list[RegisterRow]:
        arrangements = self._framework.arrangements()
        now = self._clock.now()
        stamp, today = now.timestamp(), now.date()
        with self._lock:
            if today != self._day:
                self._built, self._day = {}, today
            built = dict(self._built)
        stale = [a for a in arrangements if self._stale(built.get(a.reference or ""), a.version, stamp)]
        if len(stale) > self.MANY:
            files = self._framework.files(stale)
        else:
            files = [self._framework.file(a.reference or "") for a in stale]
        for file, row in zip(files, register_rows(files, self._framework.rules, today), strict=True):
            before = built.get(row.reference)
            version = file.arrangement.version
            settled = before is not None and before.version == version
            built[row.reference] = _Built(version, row, stamp, settled)
        with self._lock:
            if self._day == today:
                self._built = built
        return [built[a.reference or ""].row for a in arrangements if (a.reference or "") in built]

    @staticmethod
    def _stale(built: _Built | None, version: int, stamp: float) -> bool:
        if built is None or built.version != version:
            return True
        return not built.settled and stamp - built.at >= REBUILD_AFTER.total_seconds()


def _admit(
    request: web.Request,
    access: RegisterAccess | None,
    refused: Callable[[int, str, str], web.Response],
) -> web.StreamResponse | None:
    """None when the request may see the page; otherwise the answer to give (a 403 page, or the redirect
    that trades an access link for the cookie)."""
    if access is None:
        return None
    token = request.query.get(ACCESS_PARAMETER)
    cookie = request.cookies.get(COOKIE)
    if token is not None:
        kept = [(k, v) for k, v in request.query.items() if k != ACCESS_PARAMETER]
        clean = {**HEADERS, "Location": str(request.rel_url.with_query(kept))}
        try:
            expires = access.check(token)
        except LinkRefused as error:
            if cookie is not None and _valid(access, cookie):  # e.g. an older message's link
                return web.Response(status=303, headers=clean)
            return refused(403, "Link refused", _refusal(error, "link"))
        answer = web.Response(status=303, headers=clean)
        max_age = max(0, int(_seconds_between(access.clock.now(), expires)))
        stamp = expires.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        for path in COOKIE_PATHS:  # two cookies of one name: aiohttp's set_cookie keeps one per name
            answer.headers.add(
                "Set-Cookie",
                f"{COOKIE}={token}; Path={path}; Max-Age={max_age}; Expires={stamp}; HttpOnly; Secure; "
                "SameSite=Lax",
            )
        return answer
    if cookie is None:
        return refused(
            403,
            "Ask the bot for a link",
            "The register is open only through a link from the KCPF bot. In Teams, type “register” to the "
            "bot and open the link it gives you.",
        )
    try:
        access.check(cookie)
    except LinkRefused as error:
        return refused(403, "Link refused", _refusal(error, "access"))
    return None


def _valid(access: RegisterAccess, token: str) -> bool:
    try:
        access.check(token)
    except LinkRefused:
        return False
    return True


def _seconds_between(earlier: datetime, later: datetime) -> float:
    """Real seconds elapsed. Subtracting two datetimes in the same zone counts wall-clock time, which is an
    hour out (or negative) across the clocks changing."""
    return later.timestamp() - earlier.timestamp()


def _refusal(error: LinkRefused, what: str) -> str:
    ask = "In Teams, type “register” to the bot for a new link."
    if error.reason == "expired":
        return f"Your {what} to the register has expired. {ask}"
    if error.reason == "incomplete":
        return f"This {what} to the register is not complete. {ask}"
    return f"This {what} to the register is not valid: it may have been changed. {ask}"


def _compressed(response: web.Response) -> web.Response:
    """Gzip (or deflate) when the browser accepts it: 1,000 rows are about 380 KB of HTML and 17 KB zipped."""
    response.enable_compression()
    return response


def _html(status: int, body: str) -> web.Response:
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8", headers=HEADERS)


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else format_money(amount)


def _uk_date(day: date | None) -> str:
    return "" if day is None else format_uk_date(day)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def _register_html(
    env: jinja2.Environment,
    rows: list[RegisterRow],
    query: RegisterQuery | None,
    entered: Mapping[str, str],
    problem: InvalidInput | None,
) -> str:
    """The page: the filters as entered, and (when the query is good) the rows it selects."""
    shown = select(rows, query) if query is not None else []
    filters = _filters(rows, entered, problem)
    context: dict[str, Any] = {
        "filters": filters,
        "problem": problem.message if problem else "",
        "query": query,
        "rows": shown,
        "count": count_text(len(shown), len(rows)) if query is not None else "",
        "hidden": kept_sort(entered),
        "q": entered.get("q", ""),
        "q_invalid": problem is not None and problem.field == "q",
    }
    if query is not None:
        context["csv_href"] = _href("/register.csv", query.params())
        context["columns"] = _columns(query)
        context["sort_label"] = SORTS[query.sort]
    return env.get_template("register.html").render(context)


# The table's columns in order, with the sort each header gives (None: not sortable).
_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("Reference", "reference"),
    ("Title", "title"),
    ("Type", None),
    ("Council", "council"),
    ("Status", "status"),
    ("RAG", "rag"),
    ("Responsible officer", "officer"),
    ("Annual value", "value"),
    ("End date", "end"),
    ("Next update due", "next-update"),
    ("Open gaps", None),
)


@dataclass(frozen=True)
class Column:
    label: str
    href: str  # "" when the column does not sort
    sorted: str  # "ascending", "descending" or ""


def _columns(query: RegisterQuery) -> list[Column]:
    columns = []
    for label, sort in _COLUMNS:
        if sort is None:
            columns.append(Column(label, "", ""))
            continue
        current = ("descending" if query.descending else "ascending") if query.sort == sort else ""
        columns.append(Column(label, _href("/register", query.sorted_by(sort).params()), current))
    return columns


def _href(path: str, params: list[tuple[str, str]]) -> str:
    return path + ("?" + urlencode(params) if params else "")


@dataclass(frozen=True)
class Filter:
    name: str
    label: str
    choices: list[Choice]
    selected: str
    invalid: bool


def _filters(
    rows: list[RegisterRow], entered: Mapping[str, str], problem: InvalidInput | None
) -> list[Filter]:
    """The filter selects, each keeping what was entered, even a value that is not a choice (shown as one,
    so the person sees what they asked for next to the message)."""
    people = [Choice(o.email, o.name or o.email) for o in officers(rows)]
    lists = (
        (
            "council",
            "Council",
            [
                Choice("", "All councils"),
                Choice(Council.CHORLEY.value, "Chorley Council (with shared)"),
                Choice(Council.SOUTH_RIBBLE.value, "South Ribble Borough Council (with shared)"),
                Choice(Council.SHARED.value, "Shared only"),
            ],
        ),
        ("status", "Status", [Choice("", "All statuses"), *(Choice(s.value, s.label) for s in Status)]),
        (
            "rag",
            "RAG",
            [
                Choice("", "All RAG ratings"),
                *(Choice(r.value, r.label) for r in Rag),
                Choice(NONE, "No update yet"),
            ],
        ),
        (
            "officer",
            "Responsible officer",
            [Choice("", "All officers"), *people, Choice(NONE, "None assigned")],
        ),
        ("key", "Key or not", [Choice("", "Key and not key"), Choice("yes", "Key"), Choice("no", "Not key")]),
    )
    filters = []
    for name, label, choices in lists:
        raw = entered.get(name, "").strip()
        selected = raw.lower()
        if selected and selected not in {c.value for c in choices}:
            choices = [Choice(raw, f"“{raw}” (not one of the choices)"), *choices]
            selected = raw
        invalid = problem is not None and problem.field == name
        filters.append(Filter(name, label, choices, selected, invalid))
    return filters
