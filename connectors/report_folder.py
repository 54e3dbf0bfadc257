"""The embedded default's report store: produced reports are files in `<data dir>/reports/`, and the bot's
web app hands them out at links that are signed and expire.

A link is `/reports/{name}?expires=UNIX-SECONDS&signature=HEX`, the signature an HMAC-SHA256 of the name and
the expiry under a secret only the server knows: changing either refuses the link, and so does the clock
passing the expiry.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from aiohttp import web

from connectors.files import write_bytes_atomically
from kcpf.errors import InvalidInput, NotFound
from kcpf.ports import Clock

# Names the report service gives: lower case, digits, dashes and one extension. Nothing else is served.
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,150}\.(docx|pdf)")
_MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
SECRET_BYTES = 32


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise NotFound(f"There is no report called “{name}”.")
    return name


class ReportFolder:
    """Reports kept as files in one folder; saving replaces an earlier report of the same name whole."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, name: str, content: bytes) -> str:
        try:
            check_name(name)
        except NotFound:
            raise InvalidInput(f"“{name}” cannot be a report's file name.") from None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InvalidInput(
                f"Cannot create the report folder {self.directory} ({error.strerror})."
            ) from None
        path = self.directory / name
        write_bytes_atomically(path, content)
        return str(path)

    def read(self, name: str) -> bytes:
        path = self.directory / check_name(name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"There is no report called “{name}”: it may have been removed.") from None


class LinkRefused(Exception):
    """A report link that is not honoured: `status` is the HTTP status, `message` says why, for people."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason  # "incomplete", "changed" or "expired", for pages that word it their own way


class ReportLinks:
    """Signs and checks report links. `secret` is at least 16 bytes, kept on the server."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("a report link secret needs at least 16 bytes")
        self._secret = secret

    def signature(self, name: str, expires: int) -> str:
        message = f"{name}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def path(self, name: str, expires: datetime) -> str:
        """`/reports/NAME?expires=..&signature=..`, valid until `expires` (timezone-aware)."""
        stamp = int(expires.timestamp())
        query = urlencode({"expires": stamp, "signature": self.signature(check_name(name), stamp)})
        return f"/reports/{quote(name)}?{query}"

    def url(self, base_url: str, name: str, expires: datetime) -> str:
        """The link an officer is sent: the bot's public address plus `path`."""
        return base_url.rstrip("/") + self.path(name, expires)

    def verify(self, name: str, expires: str, signature: str, now: datetime) -> None:
        if not re.fullmatch(r"\d{1,12}", expires) or not re.fullmatch(r"[0-9a-f]{64}", signature):
            raise LinkRefused(
                403, "This report link is not complete. Ask for the report again.", "incomplete"
            )
        if not hmac.compare_digest(self.signature(name, int(expires)), signature):
            raise LinkRefused(
                403,
                "This report link is not valid: it may have been changed. Ask for the report again.",
                "changed",
            )
        if now.timestamp() >= int(expires):
            raise LinkRefused(
                403, "This report link has expired. Ask for the report again to get a new link.", "expired"
            )

    def token(self, scope: str, expires: datetime) -> str:
        """A signed token `EXPIRES.SIGNATURE` granting `scope` until `expires`. Scopes are not report names
        (they hold a colon), so a token never passes for a report link, nor a report link for a token."""
        stamp = int(expires.timestamp())
        return f"{stamp}.{self.signature(_scoped(scope), stamp)}"

    def verify_token(self, scope: str, token: str, now: datetime) -> datetime:
        """Check a `token`; returns when it expires (timezone-aware), or raises LinkRefused saying why."""
        expires, _, signature = token.partition(".")
        self.verify(_scoped(scope), expires, signature, now)
        return datetime.fromtimestamp(int(expires), tz=now.tzinfo)


def _scoped(scope: str) -> str:
    return f"scope:{scope}"


def report_routes(store: ReportFolder, links: ReportLinks, clock: Clock) -> list[web.RouteDef]:
    """The route serving stored reports at signed links; mount with `app.add_routes(report_routes(...))`."""

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        try:
            check_name(name)
            links.verify(
                name, request.query.get("expires", ""), request.query.get("signature", ""), clock.now()
            )
            content = store.read(name)
        except NotFound as error:
            return _page(404, "Report not found", error.message)
        except LinkRefused as error:
            return _page(error.status, "Link refused", error.message)
        extension = name.rsplit(".", 1)[1]
        return web.Response(
            body=content,
            content_type=_MEDIA_TYPES[extension],
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return [web.get("/reports/{name}", serve)]


def _page(status: int, title: str, message: str) -> web.Response:
    body = (
        f'<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return web.Response(
        status=status, text=body, content_type="text/html", headers={"Cache-Control": "no-store"}
    )


def link_secret(path: Path) -> bytes:
    """The data directory's own secret for report links, created on first use readable by the owner only."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_bytes().strip()
        if len(secret) < 32:
            raise InvalidInput(
                f"The report link secret in {path} is too short: delete the file to make a new one."
            ) from None
        return secret
    except OSError as error:
        raise InvalidInput(f"Cannot create the report link secret {path} ({error.strerror}).") from None
    secret = secrets.token_hex(SECRET_BYTES).encode()
    with os.fdopen(handle, "wb") as stream:
        stream.write(secret)
    return secret
