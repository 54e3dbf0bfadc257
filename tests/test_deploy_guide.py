"""docs/deploy.md promises that every `kcpf` command in it is one the project has and that the settings it
names exist: both checked here, against the real command line and settings."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from kcpf.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
SETTINGS_SOURCE = (ROOT / "kcpf" / "cli" / "settings.py").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def guide_commands() -> list[str]:
    """Each `kcpf ...` in the guide's shell blocks (crontab lines and App Service start-up command included),
    up to where the shell takes over (a quote, a redirection, a comment, `&&`)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", GUIDE, re.S):
        for line in block.splitlines():
            for match in re.finditer(r"(?:^\s*|\.venv/bin/|\")kcpf (.*)", line):
                commands.append(re.split(r"[\"#]|>>|&&|\|", match.group(1))[0].strip())
    return commands


def test_the_guide_covers_serving_provisioning_packaging_and_reminding() -> None:
    firsts = {" ".join(command.split()[:2]) for command in guide_commands()}
    assert {
        "serve --host",
        "sharepoint check",
        "sharepoint provision",
        "teams package",
        "remind --dry-run",
    } <= firsts


@pytest.mark.parametrize("command", guide_commands())
def test_every_kcpf_command_in_the_guide_is_one_the_project_has(command: str) -> None:
    build_parser().parse_args(shlex.split(command))  # an unknown command or option exits: the test fails


def test_every_setting_the_guide_names_exists() -> None:
    named = set(re.findall(r"\bKCPF_[A-Z0-9_]*[A-Z0-9]\b", GUIDE))
    assert "KCPF_APP_ID" in named
    for name in sorted(named):
        setting = name.removesuffix("_FILE")
        assert f'"{setting}"' in SETTINGS_SOURCE or f"`{setting}`" in README, f"{name} is not a setting"
