"""The fake Microsoft Graph and Entra ID token endpoint: an aiohttp HTTPS server in a background thread.

with FakeGraph.running(tmp_path) as fake:
    settings = fake.graph_settings()          # GraphSettings aimed at the fake (client secret)
    fake.faults.schedule(Fault("throttle", retry_after=0))
    fake.latency = 0.05                       # seconds added to every request
    fake.graph.items("KCPF Arrangements")     # the store, for assertions
    fake.counts                               # HTTP requests by operation; fake.graph.operations
                                              # also counts $batch sub-requests
    fake.sharepoint_origin                    # its SharePoint REST (views, column formatting), on
                                              # https://localhost:PORT so its tokens have their own audience
"""

from __future__ import annotations

import asyncio
import json
import secrets
import ssl
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography import x509

from connectors.sharepoint.graph import GraphSettings
from tests.fake_graph.faults import Fault, Faults
from tests.fake_graph.rest import handle_rest, rest_error
from tests.fake_graph.store import BATCH_LIMIT, Graph, Reply, error
from tests.fake_graph.tls import app_certificate, server_certificate

TENANT_ID = "00000000-0000-4000-8000-00000000c0de"
CLIENT_ID = "11111111-1111-4111-8111-111111111111"
HOSTNAME = "chorleysouthribble.sharepoint.com"
SITE_PATH = "sites/kcpf"


class FakeGraph:
    def __init__(
        self,
        directory: Path,
        *,
        tenant_id: str = TENANT_ID,
        client_id: str = CLIENT_ID,
        client_secret: str | None = None,
        hostname: str = HOSTNAME,
        site_path: str = SITE_PATH,
        app_roles: tuple[str, ...] = ("Sites.Selected",),
        sharepoint_roles: tuple[str, ...] = ("Sites.Selected",),
    ) -> None:
        self.directory = directory
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.app_roles = app_roles
        self.sharepoint_roles = sharepoint_roles  # the SharePoint API's application permissions
        self.certificate_path = directory / "kcpf-app.pem"
        cert_pem, self.thumbprint = app_certificate(self.certificate_path)
        self._public_key = x509.load_pem_x509_certificate(cert_pem.encode()).public_key()
        self.graph = Graph(hostname=hostname, site_path=site_path, client_id=client_id)
        self.faults = Faults()
        self.latency = 0.0
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # how latency and timeouts wait
        self.counts: Counter[str] = Counter()  # HTTP requests by operation (a $batch is one)
        self.tokens_issued = 0
        self._signing_key = secrets.token_bytes(32)
        self._ca_path, self._key_path = server_certificate(directory)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- addresses and settings -------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1.0"

    @property
    def sharepoint_origin(self) -> str:
        """SharePoint REST's host: another name for this server (its certificate covers both), so a token
        asked for its scope has SharePoint's audience, not Graph's."""
        return f"https://localhost:{self.port}"

    @property
    def authority_host(self) -> str:
        return self.origin

    @property
    def ca_path(self) -> Path:
        return self._ca_path

    @property
    def site_url(self) -> str:
        return f"https://{self.graph.hostname}/{self.graph.site_path}"

    def graph_settings(self, *, certificate: bool = False, **overrides: Any) -> GraphSettings:
        values: dict[str, Any] = {
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "site_url": self.site_url,
            "client_secret": None if certificate else self.client_secret,
            "certificate_path": self.certificate_path if certificate else None,
            "graph_base_url": self.base_url,
            "authority_host": self.authority_host,
            "ca_bundle": self.ca_path,
            "timeout": 2.0,
            "sharepoint_url": self.sharepoint_origin,
        }
        values.update(overrides)
        return GraphSettings(**values)

    def reset_counts(self) -> None:
        self.counts.clear()
        self.graph.operations.clear()

    # --- lifecycle ----------------------------------------------------------------------------------------
    @classmethod
    @contextmanager
    def running(cls, directory: Path, **options: Any) -> Iterator[FakeGraph]:
        fake = cls(directory, **options)
        fake.start()
        try:
            yield fake
        finally:
            fake.stop()

    def start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:  # e.g. a request still hanging in a "timeout" fault
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(self._stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-graph", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        self.graph.base_url = self.base_url
        self.graph.upload_base = f"{self.origin}/upload"

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop = None

    async def _start(self) -> None:
        app = web.Application(client_max_size=70 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._ca_path, self._key_path)
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- HTTP ---------------------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if self.latency:
            await self.sleep(self.latency)
        path = request.path
        body = await request.read()
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            self.counts["openid"] += 1
            return self._openid(path.split("/")[1])
        if path.endswith("/oauth2/v2.0/token"):
            self.counts["token"] += 1
            return await self._token(request, path.split("/")[1])
        operation = _operation(request.method, path)
        self.counts[operation] += 1
        fault = self.faults.next(path)
        if fault is not None and fault.kind != "drop-after":
            early = await self._inject(request, fault)
            if early is not None:
                return early
        if path.startswith("/upload/") and request.method == "GET":
            reply = self.graph.upload_status(path.rsplit("/", 1)[-1])
        elif path.startswith("/upload/"):
            reply = self.graph.upload_chunk(path.rsplit("/", 1)[-1], request.headers, body)
        elif "/_api/" in path:
            app_id = self._authorise_sharepoint(request)
            if isinstance(app_id, Reply):
                reply = app_id
            else:
                reply = handle_rest(self.graph, request.method, path, request.headers, body, app_id=app_id)
        elif not path.startswith("/v1.0/"):
            reply = error(404, "notFound", "Not a Graph path")
        else:
            app_id = self._authorise(request)
            if isinstance(app_id, Reply):
                reply = app_id
            elif path == "/v1.0/$batch" and request.method == "POST":
                reply = self._batch(body, app_id)
            else:
                target = path[len("/v1.0") :] + (f"?{request.query_string}" if request.query_string else "")
                reply = self.graph.handle(request.method, target, request.headers, body, app_id=app_id)
        if fault is not None and fault.kind == "drop-after":
            return _drop(request)
        return _response(reply)

    async def _inject(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        if fault.kind == "throttle":
            return _response(_throttled(fault))
        if fault.kind == "unavailable":
            return _response(_unavailable(fault))
        if fault.kind == "timeout":
            await self.sleep(fault.delay)
            return None  # then answered (late): a slow server still applies the request
        return _drop(request)

    def _authorise(self, request: web.Request) -> str | Reply:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return error(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            claims = jwt.decode(
                header[7:], self._signing_key, algorithms=["HS256"], audience="https://graph.microsoft.com"
            )
        except jwt.PyJWTError:
            return error(401, "InvalidAuthenticationToken", "Access token validation failure.")
        if "Sites.Selected" not in claims.get("roles", []) and not (
            {"Sites.ReadWrite.All", "Sites.FullControl.All", "Sites.Manage.All"}
            & set(claims.get("roles", []))
        ):
            return error(403, "accessDenied", "Either scp or roles claim need to be present in the token.")
        return str(claims["appid"])

    def _authorise_sharepoint(self, request: web.Request) -> str | Reply:
        """SharePoint REST's checks: a token for SharePoint's audience, got with a certificate (appidacr 2;
        SharePoint Online refuses app-only tokens got with a client secret), with the SharePoint API's
        Sites.Selected (or a broad role)."""
        header = request.headers.get("Authorization", "")
        try:
            claims = jwt.decode(
                header.removeprefix("Bearer "),
                self._signing_key,
                algorithms=["HS256"],
                audience=self.sharepoint_origin,
            )
        except jwt.InvalidAudienceError:
            return Reply(401, {"error_description": "Invalid audience Uri."})
        except jwt.PyJWTError:
            return Reply(401, {"error_description": "Invalid JWT token."})
        if claims.get("appidacr") != "2":
            return Reply(401, {"error_description": "Unsupported app only token."})
        roles = set(claims.get("roles", []))
        if "Sites.Selected" not in roles and not {"Sites.FullControl.All", "Sites.Manage.All"} & roles:
            return rest_error(
                403,
                "-2147024891, System.UnauthorizedAccessException",
                "Access denied. You do not have permission to perform this action or access this resource.",
            )
        return str(claims["appid"])

    def _batch(self, body: bytes, app_id: str) -> Reply:
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return error(400, "BadRequest", "Unable to read JSON request payload.")
        requests = payload.get("requests") if isinstance(payload, dict) else None
        if not isinstance(requests, list) or not requests:
            return error(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > BATCH_LIMIT:
            return error(
                400, "BadRequest", f"Number of batch request steps exceeds the maximum of {BATCH_LIMIT}."
            )
        ids = [str(r.get("id")) for r in requests if isinstance(r, dict)]
        if len(ids) != len(requests) or len(set(ids)) != len(ids):
            return error(400, "BadRequest", "Batch request ids must be present and unique.")
        statuses: dict[str, int] = {}
        responses = []
        for entry in requests:
            entry_id = str(entry["id"])
            depends = [str(d) for d in entry.get("dependsOn") or []]
            if any(d not in statuses for d in depends):
                return error(400, "BadRequest", "dependsOn must name an earlier request in the batch.")
            if any(not 200 <= statuses[d] < 300 for d in depends):
                reply = error(424, "failedDependency", "A request this one depends on failed.")
            else:
                fault = self.faults.next(str(entry.get("url", "")), sub_request=True)
                if fault is not None:
                    reply = _throttled(fault) if fault.kind == "throttle" else _unavailable(fault)
                else:
                    raw = entry.get("body")
                    data = json.dumps(raw).encode() if raw is not None else b""
                    url = str(entry.get("url", ""))
                    reply = self.graph.handle(
                        str(entry.get("method", "GET")),
                        url if url.startswith("/") else f"/{url}",
                        {str(k): str(v) for k, v in (entry.get("headers") or {}).items()},
                        data,
                        app_id=app_id,
                    )
            statuses[entry_id] = reply.status
            headers = {"Content-Type": "application/json", **reply.headers}
            responses.append({"id": entry_id, "status": reply.status, "headers": headers, "body": reply.body})
        # Graph may answer sub-requests in any order: clients must match them by id.
        responses.reverse()
        return Reply(200, {"responses": responses})

    # --- Entra ID -------------------------------------------------------------------------------------
    def _openid(self, tenant: str) -> web.Response:
        if tenant != self.tenant_id:
            return web.json_response({"error": "invalid_tenant", "error_codes": [90002]}, status=400)
        root = f"{self.origin}/{tenant}"
        return web.json_response(
            {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "issuer": f"{root}/v2.0",
                "jwks_uri": f"{root}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "token"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            }
        )

    async def _token(self, request: web.Request, tenant: str) -> web.Response:
        form = await request.post()
        if tenant != self.tenant_id:
            return _oauth_error("invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type", 70003, "Only client_credentials here.")
        if form.get("client_id") != self.client_id:
            return _oauth_error("unauthorized_client", 700016, "Application not found in the directory.")
        assertion = form.get("client_assertion")
        if isinstance(assertion, str):
            try:
                header = jwt.get_unverified_header(assertion)
                claims = jwt.decode(
                    assertion,
                    self._public_key,  # type: ignore[arg-type]
                    algorithms=["RS256", "PS256"],
                    options={"verify_aud": False},
                )
            except jwt.PyJWTError:
                return _oauth_error("invalid_client", 700027, "Client assertion failed signature validation.")
            if claims.get("sub") != self.client_id or claims.get("iss") != self.client_id:
                return _oauth_error("invalid_client", 700023, "Client assertion has the wrong subject.")
            if header.get("x5t") is None and header.get("x5t#S256") is None:
                return _oauth_error("invalid_client", 700027, "Client assertion names no certificate.")
        elif form.get("client_secret") != self.client_secret:
            return _oauth_error("invalid_client", 7000215, "Invalid client secret provided.")
        self.tokens_issued += 1
        now = int(time.time())
        # The scope names the resource: SharePoint's host, or (anything else) Graph.
        sharepoint = str(form.get("scope", "")).startswith(self.sharepoint_origin)
        token = jwt.encode(
            {
                "aud": self.sharepoint_origin if sharepoint else "https://graph.microsoft.com",
                "iss": f"https://sts.windows.net/{self.tenant_id}/",
                "appid": self.client_id,
                "appidacr": "2" if isinstance(assertion, str) else "1",  # certificate, or client secret
                "tid": self.tenant_id,
                "roles": list(self.sharepoint_roles if sharepoint else self.app_roles),
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "uti": uuid.uuid4().hex,
            },
            self._signing_key,
            algorithm="HS256",
        )
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        )


def _oauth_error(code: str, aadsts: int, text: str) -> web.Response:
    return web.json_response(
        {
            "error": code,
            "error_description": f"AADSTS{aadsts}: {text}",
            "error_codes": [aadsts],
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
        status=401 if code == "invalid_client" else 400,
    )


def _throttled(fault: Fault) -> Reply:
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    return error(
        429, "TooManyRequests", "The request has been throttled; retry after the time given.", **headers
    )


def _unavailable(fault: Fault) -> Reply:
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    return error(503, "serviceNotAvailable", "The service is temporarily unavailable.", **headers)


def _drop(request: web.Request) -> web.StreamResponse:
    """Closes the connection without an answer: the client sees the connection reset."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return _Dropped()


class _Dropped(web.StreamResponse):
    """An answer that writes nothing (the connection is already gone), so aiohttp logs no error."""

    async def prepare(self, request: web.BaseRequest) -> None:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


def _response(reply: Reply) -> web.Response:
    if reply.raw is not None:
        return web.Response(status=reply.status, body=reply.raw, headers=reply.headers)
    if reply.body is None:
        return web.Response(status=reply.status, headers=reply.headers)
    return web.json_response(reply.body, status=reply.status, headers=reply.headers)


def _operation(method: str, path: str) -> str:
    """A coarse name for the request counter: method and the shape of the path."""
    if path.startswith("/upload/"):
        return "PUT upload-chunk"
    if "/_api/" in path:
        return f"REST {method}"  # MERGE travels as POST with X-HTTP-Method
    if path == "/v1.0/$batch":
        return "POST $batch"
    if "/items/delta" in path:
        return "GET delta"
    if "/items" in path:
        tail = (
            "items/{id}/fields"
            if path.endswith("/fields")
            else "items/{id}"
            if path.rstrip("/")[-1].isdigit()
            else "items"
        )
        return f"{method} {tail}"
    if "/columns" in path:
        return f"{method} columns"
    if path.endswith("/lists"):
        return f"{method} lists"
    if "/root:" in path:
        return f"{method} drive"
    if path.endswith("/permissions"):
        return f"{method} permissions"
    return f"{method} other"
