"""`kcpf serve`: run the Teams bot's web app (POST /api/messages) on the composed application."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web
from microsoft_agents.hosting.core.storage import Storage

from bot.app import BotServices, Saves, create_app
from bot.auth import BotCredentials
from bot.flows.engine import Reporting
from bot.storage import SqliteStorage
from bot.turns import LocalTurns, TurnGuard
from connectors.register_page import RegisterAccess, register_link, register_routes
from connectors.report_folder import report_routes
from kcpf.cli.arguments import EXIT_OK, Commands, Handler
from kcpf.cli.compose import Application
from kcpf.cli.settings import InvalidSetting, Settings
from kcpf.errors import InvalidInput
from kcpf.reports.service import ProducedReport

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3978


def add_commands(commands: Commands) -> dict[str, Handler]:
    serve = commands.add_parser("serve", help="run the Teams bot (POST /api/messages)")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    return {"serve": _serve}


def bot_services(
    app: Application, storage: Storage, public_url: str, turns: TurnGuard | None = None
) -> BotServices:
    def link(produced: ProducedReport) -> str:
        return app.report_link(public_url, produced)

    access = register_access(app)
    sharepoint = app.settings.store == "sharepoint"
    return BotServices(
        framework=app.framework,
        roles=app.settings.roles,
        storage=storage,
        clock=app.framework.clock,
        register_is_local=not sharepoint,
        reporting=Reporting(app.reports, link),
        routes=(
            *report_routes(app.report_folder, app.report_links, app.framework.clock),
            *register_routes(app.framework, app.framework.clock, access),
        ),
        register_link=register_link(public_url, access),
        saves=_sharepoint_saves(app) if sharepoint else None,
        app_id=app.settings.app_id,
        credentials=bot_credentials(app),
        notify_key=app.settings.notify_key,
        remind_days=app.settings.remind_days,
        turns=turns or LocalTurns(),
    )


def register_access(app: Application) -> RegisterAccess | None:
    """The register page is open when KCPF listens on this machine only (no credentials); on a public
    address (KCPF_APP_ID set) it needs a signed link from the bot, valid for KCPF_REPORT_LINK_HOURS."""
    if not app.settings.app_id:
        return None
    return RegisterAccess(app.report_links, app.framework.clock, app.settings.report_link_hours)


def bot_credentials(app: Application) -> BotCredentials | None:
    """The bot's app registration from the settings; None when KCPF_APP_ID is not set (local only)."""
    settings = app.settings
    if not settings.app_id:
        return None
    return BotCredentials(
        app_id=settings.app_id,
        tenant_id=settings.app_tenant_id,
        client_secret=settings.app_password.reveal() if settings.app_password else None,
        certificate=settings.app_certificate,
        authority=settings.bot_authority,
        openid_metadata_url=settings.bot_openid_metadata_url,
    )


@dataclass
class ConversationStore:
    """Where the bot keeps each officer's place in each conversation, and how turns take it in turn.
    `start` and `close` run on the web app's loop: before it listens, and when it stops."""

    storage: Storage
    turns: TurnGuard
    _start: Callable[[], Awaitable[None]]
    _close: Callable[[], Awaitable[None]]
    closed: bool = False

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._close()


def conversation_state(settings: Settings) -> ConversationStore:
    """KCPF_STATE_STORE: a SQLite file in the data directory (one process), or Azure Blob Storage shared by
    several processes, with a lease per conversation held for each turn (connectors/blob_state.py)."""
    if settings.state_store == "blob":
        if settings.blob is None:
            raise InvalidSetting("KCPF_STATE_STORE is blob but KCPF_BLOB_CONNECTION_STRING is missing.")
        from connectors.blob_state import BlobState, BlobStateUnavailable  # Azure's client only when used

        blob = BlobState(settings.blob.connection_string, settings.blob.container)

        async def start() -> None:
            try:
                await blob.start()
            except BlobStateUnavailable as error:
                raise InvalidSetting(f"KCPF_BLOB_CONNECTION_STRING: {error.message}") from None

        return ConversationStore(blob.storage, blob.turns, start, blob.close)
    sqlite = SqliteStorage(settings.conversations_path)

    async def nothing() -> None:
        pass

    async def close() -> None:
        sqlite.close()

    return ConversationStore(sqlite, LocalTurns(), nothing, close)


def _sharepoint_saves(app: Application) -> Saves:
    """What the officer is told about writes to SharePoint: at once when a write is only in the outbox,
    later when it reaches SharePoint, still cannot, or is refused."""
    from connectors.sharepoint.outbox import Receipt, WriteState
    from connectors.sharepoint.register import SharePointRegister, officer_turn

    register = app.framework.register
    assert isinstance(register, SharePointRegister)

    @contextmanager
    def during(key: str) -> Iterator[Callable[[], list[str]]]:
        with officer_turn(key) as receipts:
            yield lambda: [r.message for r in receipts if r.state is not WriteState.APPLIED]

    def subscribe(tell: Callable[[str, str], None]) -> None:
        def heard(receipt: Receipt) -> None:
            tell(receipt.actor, receipt.message)

        register.outbox.subscribe(heard)

    return Saves(during, subscribe)


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _serve(app: Application, args: argparse.Namespace) -> int:
    authenticated = bool(app.settings.app_id)
    if args.host not in LOOPBACK and not authenticated:
        # Bot Framework authentication (a signed token from the channel on every request) is not configured:
        # anyone who could reach the port could act as any officer, so only this machine may.
        raise InvalidInput(
            f"--host {args.host}: without the bot's app credentials KCPF listens only on this machine "
            "(127.0.0.1). Put it behind Azure Bot Service only once authentication is configured.",
            field="host",
        )
    if not 1 <= args.port <= 65535:
        raise InvalidInput(f"--port {args.port}: give a port from 1 to 65535.", field="port")
    state = conversation_state(app.settings)
    public_url = app.settings.public_url or f"http://{args.host}:{args.port}"
    web_app = create_app(bot_services(app, state.storage, public_url, state.turns))

    async def start(web_app: web.Application) -> None:
        await state.start()

    async def close(web_app: web.Application) -> None:
        await state.close()

    web_app.on_startup.append(start)
    web_app.on_cleanup.append(close)

    def announce(_: str) -> None:  # aiohttp calls it once the port is bound and the state store answered
        print(
            f"KCPF bot listening on http://{args.host}:{args.port}/api/messages", file=sys.stderr, flush=True
        )
        if authenticated:
            print(
                f"Requests are authenticated for app {app.settings.app_id} in tenant "
                f"{app.settings.app_tenant_id}; only that tenant's people are served.",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(
                "No app credentials: requests are not authenticated, so KCPF listens on this machine only.",
                file=sys.stderr,
                flush=True,
            )

    try:
        try:
            web.run_app(web_app, host=args.host, port=args.port, print=announce, handle_signals=True)
        except OSError as error:
            raise InvalidInput(
                f"KCPF cannot listen on {args.host}:{args.port} ({error.strerror or error}): the port may be "
                "in use by another program; choose another with --port.",
                field="port",
            ) from None
    finally:
        if not state.closed:
            asyncio.run(state.close())
    return EXIT_OK
