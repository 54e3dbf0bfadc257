"""`kcpf teams package [--output PATH]`: the Teams app package (.zip) to upload to the councils' tenant.

The manifest is manifests/teams/manifest.json filled in from settings: the bot's id (KCPF_APP_ID), the Teams
app's id (KCPF_TEAMS_APP_ID, by default the bot's), the version (KCPF_TEAMS_VERSION, by default KCPF's own),
the bot's web address (KCPF_PUBLIC_URL, https) and what Teams shows about the app (KCPF_TEAMS_*). Its
command menu is the bot's own list of commands (bot/commands.py).
"""

from __future__ import annotations

import argparse
import re
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.commands import MENU
from connectors.teams_package import Deployment, build_manifest, load_template, write_package
from kcpf.cli.arguments import EXIT_OK, Commands, Handler, Parser
from kcpf.cli.settings import InvalidSetting, Settings

if TYPE_CHECKING:
    from kcpf.cli.compose import Application

PACKAGE_NAME = "kcpf-teams-app.zip"


def add_commands(commands: Commands) -> dict[str, Handler]:
    group = commands.add_parser("teams", help="the Teams app")
    sub = group.add_subparsers(dest="teams_command", required=True, parser_class=Parser)
    package = sub.add_parser(
        "package",
        help="write the Teams app package (.zip) to upload to Teams",
        description="Write the Teams app package: manifest.json, color.png and outline.png. Needs "
        "KCPF_APP_ID and an https KCPF_PUBLIC_URL.",
    )
    package.add_argument(
        "--output",
        type=Path,
        metavar="PATH",
        help=f"the .zip to write (default: KCPF_DATA_DIR/{PACKAGE_NAME})",
    )

    def run(app: Application, args: argparse.Namespace) -> int:
        return _package(app, args)

    return {"teams": run}


def deployment(settings: Settings) -> Deployment:
    """The ids, version and domain from settings; refuses, naming the setting, what Teams would not take."""
    if not settings.app_id:
        raise InvalidSetting(
            "KCPF_APP_ID is not set: the Teams app package needs the bot's Microsoft App ID (the application "
            "id of the Azure Bot's Entra app registration, a GUID)."
        )
    parts = urlsplit(settings.public_url)
    if not settings.public_url:
        raise InvalidSetting(
            "KCPF_PUBLIC_URL is not set: the Teams app package needs the bot's https address as officers "
            "reach it, such as https://kcpf.chorley.gov.uk."
        )
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidSetting(
            f"KCPF_PUBLIC_URL is “{settings.public_url}”: Teams needs an https address, such as "
            "https://kcpf.chorley.gov.uk."
        )
    version = settings.teams_version or installed_version("kcpf")
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise InvalidSetting(
            f"KCPF_TEAMS_VERSION is not set and KCPF's own version ({version}) is not three numbers: set it, "
            "such as 1.0.0."
        )
    return Deployment(
        bot_id=settings.app_id,
        teams_app_id=settings.teams_app_id or settings.app_id,
        version=version,
        domain=parts.hostname,
    )


def _package(app: Application, args: argparse.Namespace) -> int:
    settings = app.settings
    where = deployment(settings)
    commands = [(command.title, command.menu_description(app.rules)) for command in MENU]
    manifest = build_manifest(load_template(), settings.teams, where, commands)
    out: Path = args.output or settings.data_dir / PACKAGE_NAME
    write_package(out, manifest)
    print(
        f"Wrote the Teams app package to {out}: version {where.version}, app id {where.teams_app_id}, "
        f"bot id {where.bot_id}, for {where.domain}. Upload it in the Teams admin center (Manage apps, "
        "Upload new app)."
    )
    return EXIT_OK
