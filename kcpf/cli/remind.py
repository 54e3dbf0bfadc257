"""`kcpf remind`: send each responsible officer what is due from them soon or overdue, and T&P a summary, in
their chats with the bot. Run it from a scheduler (cron, a timer); running it again the same day sends
nothing twice. The same pass runs on `POST /api/notify`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

from bot.app import bot_adapter, reminders
from bot.proactive import PassResult, Sender, Status, describe
from kcpf.cli.arguments import EXIT_OK, EXIT_UNEXPECTED, Commands, Handler, uk_date
from kcpf.cli.compose import Application
from kcpf.cli.serve import bot_services, conversation_state


def add_commands(commands: Commands) -> dict[str, Handler]:
    remind = commands.add_parser(
        "remind",
        help="remind officers in Teams of updates due soon or overdue; T&P gets a summary",
        description="Sends each responsible officer, in their chat with the bot, the updates due within "
        "KCPF_REMIND_DAYS days and those overdue, and T&P a summary. Officers who have not yet talked to the "
        "bot are named in the summary. Safe to run again: what was sent today is not sent twice.",
    )
    remind.add_argument(
        "--dry-run", action="store_true", help="print what would be sent to whom; send and record nothing"
    )
    remind.add_argument("--on", type=uk_date, help="the day to remind for (default: today)")
    return {"remind": _remind}


def _remind(app: Application, args: argparse.Namespace) -> int:
    on = args.on or app.framework.clock.now().date()
    result = asyncio.run(_pass(app, on, dry_run=args.dry_run))
    print(describe(result))
    failed = result.count(Status.FAILED)
    if failed:
        print(
            f"kcpf: {failed} message(s) could not be sent (details in {app.settings.log_path}); "
            "the next run tries them again.",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
    return EXIT_OK


async def _pass(app: Application, on: date, *, dry_run: bool) -> PassResult:
    """One reminder pass on the bot's own state (SQLite or Blob: where the conversation references are)."""
    state = conversation_state(app.settings)
    await state.start()
    try:
        services = bot_services(app, state.storage, app.settings.public_url, state.turns)
        _, adapter = bot_adapter(services)
        return await reminders(services, Sender(adapter, services.app_id)).run(on, dry_run=dry_run)
    finally:
        await state.close()
