"""The Teams app package: manifests/teams/manifest.json filled in from settings, zipped with its two icons.

What Teams shows about the app (who publishes it, its names, its links) are settings with defaults for
Chorley Council and South Ribble Borough Council; the ids, version and web address come from the
deployment. Limits are the schema's (manifest 1.30; a test checks them against the schema itself).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final

from connectors.files import write_bytes_atomically
from kcpf.errors import InvalidInput

MANIFEST_DIR: Final = Path(__file__).resolve().parents[1] / "manifests" / "teams"
ICONS: Final = ("color.png", "outline.png")

CHORLEY_WEBSITE: Final = "https://chorley.gov.uk"
CHORLEY_PRIVACY: Final = "https://chorley.gov.uk/Privacy"
SOUTH_RIBBLE_WEBSITE: Final = "https://southribble.gov.uk"
SOUTH_RIBBLE_PRIVACY: Final = "https://southribble.gov.uk/homepage/27/privacy-policy"


@dataclass(frozen=True)
class AppDetails:
    """What Teams shows about the app. Each field is a setting (see SETTINGS)."""

    developer: str = "Chorley & South Ribble Councils"
    website_url: str = (
        CHORLEY_WEBSITE  # Chorley publishes the framework and its Executive Cabinet approved it
    )
    privacy_url: str = CHORLEY_PRIVACY
    terms_url: str = CHORLEY_WEBSITE  # councils' acceptable use policies are on their intranets: set yours
    name: str = "Key Contracts"
    full_name: str = "Key Contracts and Partnerships Framework assistant"
    description: str = "Assess, propose and monitor key contracts and partnerships"
    full_description: str = (
        "The shared Key Contracts and Partnerships Framework of Chorley Council and South Ribble Borough "
        "Council, in a chat. Responsible officers record a contract or partnership, assess it against the "
        "framework's criteria, propose key ones to the shared Senior Management Team, complete the "
        "governance self-assessment and submit the biannual updates; Transformation and Partnerships get "
        "the register and the reports. Type help to see what you can do. Privacy notices: Chorley Council "
        f"{CHORLEY_PRIVACY}; South Ribble Borough Council {SOUTH_RIBBLE_PRIVACY}."
    )


@dataclass(frozen=True)
class Setting:
    name: str  # the environment variable
    field: str  # of AppDetails
    max_length: int  # the schema's
    url: bool = False  # an https address


SETTINGS: Final = (
    Setting("KCPF_TEAMS_DEVELOPER", "developer", 32),
    Setting("KCPF_TEAMS_WEBSITE_URL", "website_url", 2048, url=True),
    Setting("KCPF_TEAMS_PRIVACY_URL", "privacy_url", 2048, url=True),
    Setting("KCPF_TEAMS_TERMS_URL", "terms_url", 2048, url=True),
    Setting("KCPF_TEAMS_NAME", "name", 30),
    Setting("KCPF_TEAMS_FULL_NAME", "full_name", 100),
    Setting("KCPF_TEAMS_DESCRIPTION", "description", 80),
    Setting("KCPF_TEAMS_FULL_DESCRIPTION", "full_description", 4000),
)
"""Where each of AppDetails' fields comes from, and the schema's limit on it."""

COMMAND_TITLE_MAX: Final = 32  # Teams' documented limits on a bot command (the schema allows more)
COMMAND_DESCRIPTION_MAX: Final = 128
COMMANDS_MAX: Final = 12  # per command list (the schema's)


@dataclass(frozen=True)
class Deployment:
    """This deployment's ids, version and address: where the app and its bot are."""

    bot_id: str  # the Azure Bot's Microsoft App ID (an Entra app registration)
    teams_app_id: str  # the Teams app's own id
    version: str  # x.y.z; Teams takes an update only with a higher version
    domain: str  # the host of KCPF_PUBLIC_URL, where report links point


def load_template() -> dict[str, object]:
    document = json.loads((MANIFEST_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def build_manifest(
    template: Mapping[str, object],
    details: AppDetails,
    deployment: Deployment,
    commands: Sequence[tuple[str, str]],
) -> dict[str, object]:
    """The manifest: the template with each {{placeholder}} filled; `commands` are (title, description)."""
    if len(commands) > COMMANDS_MAX:
        raise InvalidInput(
            f"Teams takes at most {COMMANDS_MAX} commands in a list; the bot has {len(commands)}."
        )
    for title, description in commands:
        if len(title) > COMMAND_TITLE_MAX or len(description) > COMMAND_DESCRIPTION_MAX:
            raise InvalidInput(
                f"The command “{title}” is too long for Teams' command menu (title at most "
                f"{COMMAND_TITLE_MAX} characters, description at most {COMMAND_DESCRIPTION_MAX})."
            )
    values: dict[str, object] = {f.name: getattr(details, f.name) for f in fields(details)}
    values.update({f.name: getattr(deployment, f.name) for f in fields(deployment)})
    values["commands"] = [{"title": title, "description": description} for title, description in commands]
    filled = _fill({k: v for k, v in template.items() if k != "$comment"}, values)
    assert isinstance(filled, dict)
    return filled


_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _fill(node: object, values: Mapping[str, object]) -> object:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if not isinstance(node, str):
        return node
    for name in _PLACEHOLDER.findall(node):
        if name not in values:
            raise KeyError(f"manifests/teams/manifest.json: no value for {{{{{name}}}}}")
    whole = _PLACEHOLDER.fullmatch(node)
    if whole:  # a value of its own (the command list is a list)
        return values[whole.group(1)]
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), node)


def package(manifest: Mapping[str, object], icons: Path = MANIFEST_DIR) -> bytes:
    """The .zip Teams takes: manifest.json and the icons at its root, nothing else."""
    buffer = io.BytesIO()
    files = {"manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()}
    files.update({name: (icons / name).read_bytes() for name in ICONS})
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            # A fixed date: the same settings give the same package, byte for byte.
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(entry, content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def write_package(path: Path, manifest: Mapping[str, object], icons: Path = MANIFEST_DIR) -> None:
    write_bytes_atomically(path, package(manifest, icons))
