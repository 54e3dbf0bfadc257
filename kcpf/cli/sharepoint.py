"""`kcpf sharepoint`: prepare and check the SharePoint site the register lives in (KCPF_STORE=sharepoint).

kcpf sharepoint check       what is missing or wrong (permissions, site, lists, columns, views); exit 2 if any
kcpf sharepoint provision   create what is missing; change nothing that is right; never delete
kcpf sharepoint standing    bring each arrangement's standing columns up to date (once, after upgrading)

Both work before the switch to SharePoint: with KCPF_STORE=sqlite they use the KCPF_SP_* settings if given.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from connectors.sharepoint.config import GraphSettings
from kcpf.cli.arguments import EXIT_BAD_INPUT, EXIT_OK, Commands, Handler, Parser
from kcpf.cli.settings import InvalidSetting
from kcpf.wording import plural

if TYPE_CHECKING:
    from connectors.sharepoint.graph import GraphSession
    from connectors.sharepoint.provision import Provisioner, Report
    from kcpf.cli.compose import Application

SubHandler = Callable[["Application", argparse.Namespace], int]


def add_commands(commands: Commands) -> dict[str, Handler]:
    group = commands.add_parser("sharepoint", help="the SharePoint site the register lives in")
    sub = group.add_subparsers(dest="sharepoint_command", required=True, parser_class=Parser)
    sub.add_parser("check", help="say what is missing or misconfigured before the bot goes live")
    sub.add_parser(
        "provision", help="create the lists, library, columns and views KCPF needs (never deletes)"
    )
    sub.add_parser(
        "standing",
        help="bring each arrangement's standing columns (RAG, next update due, governance gaps, review date) "
        "up to date",
    )
    handlers: dict[str, SubHandler] = {"check": _check, "provision": _provision, "standing": _standing}
    # The register adapter's half adds its commands (`outbox`) here, next to these.
    handlers.update(_outbox_commands(sub))

    def run(app: Application, args: argparse.Namespace) -> int:
        return handlers[args.sharepoint_command](app, args)

    return {"sharepoint": run}


def graph_session(settings: GraphSettings | None) -> GraphSession:
    if settings is None:
        raise InvalidSetting(
            "KCPF_SP_SITE_URL is not set: give the SharePoint settings (KCPF_SP_TENANT_ID, "
            "KCPF_SP_CLIENT_ID, KCPF_SP_CERTIFICATE_PATH or KCPF_SP_CLIENT_SECRET, KCPF_SP_SITE_URL) to "
            "check or provision the site."
        )
    from connectors.sharepoint.graph import GraphSession  # the HTTP and auth libraries: only when used

    # An administrator at a terminal waits out a short Retry-After; a long one (Graph may ask for an hour)
    # ends the command with when to try again, instead of a silent hang.
    limit = ADMIN_WAIT if settings.wait_limit is None else min(settings.wait_limit, ADMIN_WAIT)
    return GraphSession(dataclasses.replace(settings, wait_limit=limit))


ADMIN_WAIT = 60.0  # seconds


def _provisioner(app: Application) -> Provisioner:
    from connectors.sharepoint.provision import Provisioner
    from connectors.sharepoint.schema import SchemaInvalid, load_schema
    from connectors.sharepoint.views import load_views

    try:
        schema = load_schema()
        views = load_views(schema)
    except SchemaInvalid as error:
        raise InvalidSetting(
            f"The SharePoint schema in manifests/sharepoint is not usable: {error}"
        ) from None
    return Provisioner(graph_session(app.settings.sharepoint), schema, views)


def _check(app: Application, args: argparse.Namespace) -> int:
    report = _provisioner(app).check()
    for note in report.notes:
        print(f"ok: {note}")
    _print_problems(report)
    if report.ok:
        print("The SharePoint site is ready for KCPF.")
        return EXIT_OK
    return EXIT_BAD_INPUT


def _provision(app: Application, args: argparse.Namespace) -> int:
    report = _provisioner(app).provision()
    for change in report.changes:
        print(f"done: {change}")
    for note in report.notes:
        print(f"note: {note}")
    _print_problems(report)
    if not report.ok:
        return EXIT_BAD_INPUT
    if not report.changes and report.notes:
        print("Nothing else to do: the site already has every list, library and column KCPF needs.")
    elif not report.changes:
        print("Nothing to do: the site already has every list, library, column and view KCPF needs.")
    else:
        print(f"{plural(len(report.changes), 'change')} made; `kcpf sharepoint check` confirms the site.")
    return EXIT_OK


def _standing(app: Application, args: argparse.Namespace) -> int:
    """Once, after upgrading: the views filter on columns each save keeps, so items last saved before
    then are brought up to date (no new version, no audit entry)."""
    from connectors.sharepoint.register import SharePointRegister

    register = app.framework.register
    if not isinstance(register, SharePointRegister):
        raise InvalidSetting(
            "KCPF_STORE is not sharepoint: the standing columns are kept only in the SharePoint lists."
        )
    changed, stale = register.refresh_standing()
    print(f"{plural(changed, 'arrangement')} brought up to date; the rest already were.")
    if stale:
        print(f"{plural(stale, 'arrangement')} changed meanwhile: their next save brings them up to date.")
    return EXIT_OK


def _print_problems(report: Report) -> None:
    for problem in report.problems:
        print(f"problem: {problem}")
    if report.problems:
        print(f"{plural(len(report.problems), 'problem')} to put right before the bot can use SharePoint.")


# --- `kcpf sharepoint outbox` (the register adapter's half) ---------------------------------------------


def _outbox_commands(sub: Commands) -> dict[str, SubHandler]:
    sub.add_parser("outbox", help="list the writes recorded but not yet in SharePoint (oldest first)")
    return {"outbox": _outbox}


def _outbox(app: Application, args: argparse.Namespace) -> int:
    """Reads the outbox file only: it answers while SharePoint is down, which is when it matters."""
    from connectors.sharepoint.outbox import OUTBOX_FILE, Outbox

    path = app.settings.data_dir / OUTBOX_FILE
    if not path.exists():
        print(
            f"No SharePoint outbox in {app.settings.data_dir}: nothing was written to SharePoint from here."
        )
        return EXIT_OK
    outbox = Outbox(path)
    try:
        lines = outbox.report()
    finally:
        outbox.close()
    for line in lines:
        print(line)
    if lines:
        print(f"{plural(len(lines), 'write')} waiting for SharePoint; KCPF retries them in the background.")
    else:
        print("Nothing is waiting: every write is in SharePoint.")
    return EXIT_OK
