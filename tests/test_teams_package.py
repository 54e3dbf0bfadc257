"""The Teams app package: `kcpf teams package` writes a .zip Teams takes.

The manifest is checked against Microsoft's own JSON schema as npm @microsoft/app-manifest ships it (without
node_modules those tests are skipped, saying why, as the Playground's are); the icons are read with Pillow.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft4Validator  # type: ignore[import-untyped]  # no stubs shipped
from PIL import Image

from bot.commands import COMMANDS, MENU, VERBS
from bot.views import help_text
from connectors.teams_package import (
    COMMANDS_MAX,
    MANIFEST_DIR,
    SETTINGS,
    AppDetails,
    Deployment,
    build_manifest,
    load_template,
    package,
)
from kcpf.cli import main
from kcpf.framework import FRAMEWORK_2025
from kcpf.lifecycle import RoleDirectory
from tests.bot_harness import OFFICER, TP, running_bot

ROOT = Path(__file__).resolve().parents[1]
VERSION = str(load_template()["manifestVersion"])
SCHEMA = ROOT / "node_modules/@microsoft/app-manifest/build/json-schemas/teams"
BOT_ID = "0b7f3a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
TEAMS_APP_ID = "5d1e8c2a-7b3f-4a6e-9c0d-1e2f3a4b5c6d"
PUBLIC_URL = "https://kcpf.chorley.gov.uk"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    path = SCHEMA / f"v{VERSION}" / "MicrosoftTeams.schema.json"
    if not path.exists():
        pytest.skip(
            f"needs the Teams manifest schema from npm @microsoft/app-manifest: {path} is missing "
            "(run `make node-deps`)"
        )
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    # Not Draft4Validator.check_schema: a pattern for Office add-ins (`\p{L}`) is JavaScript's, not Python's;
    # it is never reached by a Teams bot's manifest.
    return document


def manifest(details: AppDetails | None = None, teams_app_id: str = BOT_ID) -> dict[str, Any]:
    commands = [(c.title, c.menu_description(FRAMEWORK_2025)) for c in MENU]
    where = Deployment(
        bot_id=BOT_ID, teams_app_id=teams_app_id, version="1.2.3", domain="kcpf.chorley.gov.uk"
    )
    return build_manifest(load_template(), details or AppDetails(), where, commands)


def problems(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft4Validator(schema).iter_errors(document)
    ]


# The manifest against the official schema.


def test_the_manifest_is_valid_against_the_official_schema(schema: dict[str, Any]) -> None:
    document = manifest()
    assert problems(schema, document) == []
    # Draft-04 has no `const`: the schema pins manifestVersion with one, so check it by hand.
    assert document["manifestVersion"] == schema["properties"]["manifestVersion"]["const"] == VERSION
    assert document["$schema"].endswith(f"/v{VERSION}/MicrosoftTeams.schema.json")
    assert problems(schema, manifest(teams_app_id=TEAMS_APP_ID)) == []


@pytest.mark.parametrize(
    "field", ["manifestVersion", "version", "id", "developer", "name", "description", "icons", "accentColor"]
)
def test_a_manifest_missing_a_required_field_is_refused(schema: dict[str, Any], field: str) -> None:
    document = manifest()
    del document[field]
    assert any(f"'{field}' is a required property" in p for p in problems(schema, document))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda m: m["bots"][0].update(botId="not-a-guid"), "bots/0/botId"),
        (lambda m: m["developer"].update(privacyUrl="chorley.gov.uk/Privacy"), "developer/privacyUrl"),
        (lambda m: m["name"].update(short="x" * 31), "name/short"),
        (lambda m: m.update(accentColor="teal"), "accentColor"),
        (lambda m: m["bots"][0]["commandLists"][0]["commands"].extend([{"title": "x"}] * 1), "commands"),
    ],
)
def test_a_malformed_manifest_is_refused(schema: dict[str, Any], change: Any, where: str) -> None:
    document = manifest()
    change(document)
    assert any(p.startswith(where) or where in p for p in problems(schema, document)), problems(
        schema, document
    )


def test_the_settings_limits_are_the_schemas(schema: dict[str, Any]) -> None:
    properties = schema["properties"]
    path = {
        "developer": ("developer", "name"),
        "name": ("name", "short"),
        "full_name": ("name", "full"),
        "description": ("description", "short"),
        "full_description": ("description", "full"),
    }
    for setting in SETTINGS:
        if setting.url:
            continue
        parent, child = path[setting.field]
        assert setting.max_length == properties[parent]["properties"][child]["maxLength"], setting.name
    lists = properties["bots"]["items"]["properties"]["commandLists"]
    assert lists["items"]["properties"]["commands"]["maxItems"] == COMMANDS_MAX


def test_the_bot_is_personal_and_team_and_takes_no_files() -> None:
    document = manifest()
    (bot,) = document["bots"]
    assert bot["botId"] == BOT_ID
    assert set(bot["scopes"]) == {"personal", "team"}
    assert bot["supportsFiles"] is False
    assert {scope for lst in bot["commandLists"] for scope in lst["scopes"]} == set(bot["scopes"])
    assert document["validDomains"] == ["kcpf.chorley.gov.uk"]
    # A bot on its own (no tab): the Entra app's Application ID URI is api://botid-<app id>.
    assert document["webApplicationInfo"] == {"id": BOT_ID, "resource": f"api://botid-{BOT_ID}"}
    assert "{{" not in json.dumps(document)


# The icons.


def image(name: str) -> Image.Image:
    return Image.open(MANIFEST_DIR / name)


def outline_problems(icon: Image.Image) -> list[str]:
    """What Teams would object to in an outline icon: 32x32, white on a transparent background."""
    found = []
    if icon.size != (32, 32):
        found.append(f"size {icon.size}")
    rgba = icon.convert("RGBA")
    pixels = [rgba.getpixel((x, y)) for y in range(rgba.height) for x in range(rgba.width)]
    coloured = {p for p in pixels if isinstance(p, tuple) and p[3] > 0 and p[:3] != (255, 255, 255)}
    if coloured:
        found.append(f"{len(coloured)} pixel colours that are neither white nor fully transparent")
    edge = [rgba.getpixel((x, y)) for x in range(rgba.width) for y in (0, rgba.height - 1)]
    edge += [rgba.getpixel((x, y)) for y in range(rgba.height) for x in (0, rgba.width - 1)]
    if any(isinstance(p, tuple) and p[3] != 0 for p in edge):
        found.append("the background is not transparent")
    if not any(isinstance(p, tuple) and p[3] == 255 for p in pixels):
        found.append("nothing is drawn")
    return found


def test_the_icons_are_the_sizes_teams_requires() -> None:
    assert image("color.png").size == (192, 192)
    assert image("outline.png").size == (32, 32)
    assert image("color.png").format == image("outline.png").format == "PNG"


def test_the_outline_icon_is_white_on_transparent() -> None:
    assert outline_problems(image("outline.png")) == []


def test_an_outline_icon_that_is_not_white_on_transparent_is_caught() -> None:
    grey = image("outline.png").convert("RGBA")
    grey.putpixel((16, 16), (128, 128, 128, 255))
    opaque = image("color.png").resize((32, 32))
    assert outline_problems(grey) == ["1 pixel colours that are neither white nor fully transparent"]
    assert "the background is not transparent" in outline_problems(opaque)
    assert outline_problems(Image.new("RGBA", (32, 32))) == ["nothing is drawn"]
    assert outline_problems(Image.new("RGBA", (48, 48), (255, 255, 255, 255)))[0] == "size (48, 48)"


def test_the_colour_icon_is_opaque_on_the_accent_colour() -> None:
    colour = image("color.png").convert("RGBA")
    accent = str(load_template()["accentColor"])
    expected = (int(accent[1:3], 16), int(accent[3:5], 16), int(accent[5:7], 16), 255)
    assert colour.getpixel((0, 0)) == colour.getpixel((191, 191)) == expected
    alpha = colour.getchannel("A").getextrema()
    assert alpha == (255, 255)
    drawn = [(x, y) for y in range(192) for x in range(192) if colour.getpixel((x, y)) != expected]
    assert any(colour.getpixel(p) == (255, 255, 255, 255) for p in drawn)  # a white symbol
    # ... inside the 120x120 safe area Teams keeps clear of its rounded corners.
    assert all(36 <= x < 156 and 36 <= y < 156 for x, y in drawn)


def _draw_icons() -> ModuleType:
    spec = importlib.util.spec_from_file_location("draw_icons", MANIFEST_DIR / "draw_icons.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_icons_are_what_the_script_draws() -> None:
    draw = _draw_icons()
    assert (MANIFEST_DIR / "color.png").read_bytes() == draw.colour_icon()
    assert (MANIFEST_DIR / "outline.png").read_bytes() == draw.outline_icon()


# The bot's commands: one list for help, routing and the Teams menu.


def test_every_command_is_in_each_command_list_and_nothing_else() -> None:
    assert len({c.title for c in COMMANDS}) == len(COMMANDS)
    titles = [c.title for c in MENU]
    assert len(titles) <= COMMANDS_MAX
    assert {c.title for c in COMMANDS} - set(titles) == {"help"}  # the menu itself shows the commands
    for command_list in manifest()["bots"][0]["commandLists"]:
        listed = {c["title"]: c["description"] for c in command_list["commands"]}
        assert set(listed) == set(titles)
        for command in MENU:
            assert listed[command.title].startswith(command.example)


def test_help_shows_the_commands_each_person_may_use() -> None:
    officer = RoleDirectory().actor(OFFICER.email)
    everyone = RoleDirectory(tp=frozenset({TP.email}), smt=frozenset({TP.email})).actor(TP.email)
    for command in COMMANDS:
        assert f"*{command.example}*" in help_text(everyone, FRAMEWORK_2025)
        assert (f"*{command.example}*" in help_text(officer, FRAMEWORK_2025)) == (not command.roles)


async def test_the_bot_understands_every_listed_command_and_only_those(tmp_path: Path) -> None:
    both = RoleDirectory(tp=frozenset({TP.email}), smt=frozenset({TP.email}))
    async with running_bot(tmp_path, roles=both) as bot:
        chat = bot.chat(TP)
        for command in COMMANDS:
            said = await chat.texts(command.example)
            assert "I did not understand" not in said, (command.example, said)
            await chat.texts("cancel")
        for typed in ("remind", "delete KCP-0001", "hello"):
            assert typed.split()[0] not in VERBS
            assert "I did not understand" in await chat.texts(typed)


# The command line.


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("KCPF_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KCPF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KCPF_APP_ID", BOT_ID)
    monkeypatch.setenv("KCPF_APP_TENANT_ID", "22222222-2222-4222-8222-222222222222")
    monkeypatch.setenv("KCPF_APP_PASSWORD", "not-used-by-packaging")
    monkeypatch.setenv("KCPF_PUBLIC_URL", PUBLIC_URL)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["teams", "package", *argv])
    out, err = capsys.readouterr()
    return code, out + err


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_package_holds_the_manifest_and_icons_at_its_root(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = env / "kcpf.zip"
    code, said = run(capsys, "--output", str(out))
    assert code == 0, said
    assert str(out) in said
    assert BOT_ID in said
    files = read_zip(out)
    assert sorted(files) == ["color.png", "manifest.json", "outline.png"]
    assert files["color.png"] == (MANIFEST_DIR / "color.png").read_bytes()
    assert files["outline.png"] == (MANIFEST_DIR / "outline.png").read_bytes()
    document = json.loads(files["manifest.json"])
    assert document["id"] == document["bots"][0]["botId"] == BOT_ID  # the app id defaults to the bot's
    assert document["validDomains"] == ["kcpf.chorley.gov.uk"]
    assert document["version"] == "0.1.0"  # KCPF's own version, from pyproject.toml
    assert document["developer"]["name"] == AppDetails().developer
    assert [f.name for f in env.iterdir() if f.name.startswith(".")] == []  # no temporary file left
    # The same settings give the same package, byte for byte.
    again = env / "again.zip"
    assert run(capsys, "--output", str(again))[0] == 0
    assert again.read_bytes() == out.read_bytes()


def test_the_package_goes_to_the_data_directory_by_default(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said = run(capsys)
    assert code == 0, said
    assert "manifest.json" in read_zip(env / "data" / "kcpf-teams-app.zip")


def test_settings_fill_the_manifest(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, schema: dict[str, Any]
) -> None:
    given = {
        "KCPF_TEAMS_APP_ID": TEAMS_APP_ID.upper(),
        "KCPF_TEAMS_VERSION": "2.0.1",
        "KCPF_TEAMS_DEVELOPER": "South Ribble Borough Council",
        "KCPF_TEAMS_WEBSITE_URL": "https://southribble.gov.uk",
        "KCPF_TEAMS_PRIVACY_URL": "https://southribble.gov.uk/homepage/27/privacy-policy",
        "KCPF_TEAMS_TERMS_URL": "https://intranet.southribble.gov.uk/acceptable-use",
        "KCPF_TEAMS_NAME": "KCPF",
        "KCPF_TEAMS_FULL_NAME": "Key Contracts and Partnerships",
        "KCPF_TEAMS_DESCRIPTION": "Key contracts, in Teams",
        "KCPF_TEAMS_FULL_DESCRIPTION": "South Ribble's key contracts and partnerships.",
    }
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    out = env / "kcpf.zip"
    assert run(capsys, "--output", str(out))[0] == 0
    document = json.loads(read_zip(out)["manifest.json"])
    assert problems(schema, document) == []
    assert (document["id"], document["bots"][0]["botId"]) == (TEAMS_APP_ID, BOT_ID)
    assert document["version"] == "2.0.1"
    assert document["developer"] == {
        "name": "South Ribble Borough Council",
        "websiteUrl": "https://southribble.gov.uk",
        "privacyUrl": "https://southribble.gov.uk/homepage/27/privacy-policy",
        "termsOfUseUrl": "https://intranet.southribble.gov.uk/acceptable-use",
    }
    assert document["name"] == {"short": "KCPF", "full": "Key Contracts and Partnerships"}
    assert document["description"] == {
        "short": "Key contracts, in Teams",
        "full": "South Ribble's key contracts and partnerships.",
    }


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("KCPF_APP_ID", "", "KCPF_APP_ID is not set"),
        ("KCPF_APP_ID", "my-bot", "KCPF_APP_ID is “my-bot”"),
        ("KCPF_TEAMS_APP_ID", "12345", "KCPF_TEAMS_APP_ID is “12345”"),
        ("KCPF_PUBLIC_URL", "", "KCPF_PUBLIC_URL is not set"),
        ("KCPF_PUBLIC_URL", "http://kcpf.chorley.gov.uk", "KCPF_PUBLIC_URL is “http://kcpf.chorley.gov.uk”"),
        ("KCPF_PUBLIC_URL", "kcpf.chorley.gov.uk", "KCPF_PUBLIC_URL is “kcpf.chorley.gov.uk”"),
        ("KCPF_TEAMS_VERSION", "1.0", "KCPF_TEAMS_VERSION is “1.0”"),
        ("KCPF_TEAMS_PRIVACY_URL", "http://chorley.gov.uk/Privacy", "KCPF_TEAMS_PRIVACY_URL"),
        ("KCPF_TEAMS_TERMS_URL", "terms", "KCPF_TEAMS_TERMS_URL is “terms”: give an https address"),
        ("KCPF_TEAMS_NAME", "Key Contracts and Partnerships Framework", "KCPF_TEAMS_NAME is 40 characters"),
        ("KCPF_TEAMS_DEVELOPER", "Chorley Council and South Ribble Borough Council", "KCPF_TEAMS_DEVELOPER"),
    ],
)
def test_missing_or_malformed_settings_are_refused_by_name(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    says: str,
) -> None:
    monkeypatch.setenv(name, value)
    if name == "KCPF_APP_ID" and not value:  # no app at all: its tenant and password go too
        monkeypatch.delenv("KCPF_APP_TENANT_ID")
        monkeypatch.delenv("KCPF_APP_PASSWORD")
    out = env / "kcpf.zip"
    code, said = run(capsys, "--output", str(out))
    assert code == 2
    assert says in said
    assert "Traceback" not in said
    assert not out.exists()


def test_a_package_that_cannot_be_written_says_where(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = env / "no such folder" / "kcpf.zip"
    code, said = run(capsys, "--output", str(out))
    assert code == 2
    assert f"Cannot write {out}" in said


def test_the_zip_is_one_teams_can_read() -> None:
    files = read_zip_bytes(package(manifest()))
    assert json.loads(files["manifest.json"])["icons"] == {"color": "color.png", "outline": "outline.png"}


def read_zip_bytes(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_placeholder_the_settings_do_not_fill_is_a_template_error() -> None:
    where = Deployment(bot_id=BOT_ID, teams_app_id=BOT_ID, version="1.0.0", domain="kcpf.chorley.gov.uk")
    with pytest.raises(KeyError, match="no value for \\{\\{tenant\\}\\}"):
        build_manifest({"id": "{{teams_app_id}}", "x": ["a {{tenant}} b"]}, AppDetails(), where, [])
