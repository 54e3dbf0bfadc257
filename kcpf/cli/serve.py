"""`kcpf serve`: run the Teams bot's web app (POST /api/messages) on the composed application."""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from bot.app import BotServices, create_app
from bot.flows.engine import Reporting
from bot.storage import SqliteStorage
from connectors.report_folder import report_routes
from kcpf.cli.arguments import EXIT_OK, Commands, Handler
from kcpf.cli.compose import Application

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3978


def add_commands(commands: Commands) -> dict[str, Handler]:
    serve = commands.add_parser("serve", help="run the Teams bot (POST /api/messages)")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    return {"serve": _serve}


def bot_services(app: Application, storage: SqliteStorage, public_url: str) -> BotServices:
    def link(name: str) -> str:
        return app.report_url(public_url, name)

    return BotServices(
        framework=app.framework,
        roles=app.settings.roles,
        storage=storage,
        clock=app.framework.clock,
        register_is_local=True,
        reporting=Reporting(app.reports, link),
        routes=tuple(report_routes(app.report_folder, app.report_links, app.framework.clock)),
    )


def _serve(app: Application, args: argparse.Namespace) -> int:
    storage = SqliteStorage(app.settings.conversations_path)
    try:
        public_url = app.settings.public_url or f"http://{args.host}:{args.port}"
        web_app = create_app(bot_services(app, storage, public_url))
        print(
            f"KCPF bot listening on http://{args.host}:{args.port}/api/messages", file=sys.stderr, flush=True
        )
        web.run_app(web_app, host=args.host, port=args.port, print=None, handle_signals=True)
    finally:
        storage.close()
    return EXIT_OK
