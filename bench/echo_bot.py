"""The baseline for `bench/bot.py`: a bare Agents SDK bot that echoes the text, set up as `bot/app.py` sets up
the KCPF bot (anonymous connection, CloudAdapter, AgentApplication with turn state), on in-memory storage.

Run as its own server process: `python -m bench.echo_bot --port 3979`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from aiohttp import web
from microsoft_agents.activity import ActivityTypes
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter, start_agent_process
from microsoft_agents.hosting.core import AgentApplication, MemoryStorage, TurnContext, TurnState


def create_echo_app() -> web.Application:
    connections = MsalConnectionManager(CONNECTIONS={"SERVICE_CONNECTION": {"SETTINGS": {}}})
    # As in bot/app.py: without an app id the SDK would warn on every turn.
    logging.getLogger("microsoft_agents.hosting.core.connector.client.user_token_client").setLevel(
        logging.ERROR
    )
    adapter = CloudAdapter(connection_manager=connections)
    agent: AgentApplication[TurnState] = AgentApplication[TurnState](
        storage=MemoryStorage(), adapter=adapter, connection_manager=connections, start_typing_timer=False
    )

    async def echo(context: TurnContext, state: TurnState) -> None:
        await context.send_activity(f"You said: {context.activity.text}")

    agent.activity(ActivityTypes.message)(echo)

    async def messages(request: web.Request) -> web.StreamResponse:
        response = await start_agent_process(request, agent, adapter)
        return response if response is not None else web.Response(status=202)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    web.run_app(create_echo_app(), host=args.host, port=args.port, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
