"""The path the bot takes for `report ...`: the composed application produces the report into the report
folder, makes a signed link, and its web app serves the file at that link."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.clock import LONDON
from connectors.report_folder import report_routes
from connectors.sqlite_register import SqliteRegister
from kcpf.calendar import FinancialYear
from kcpf.cli.compose import application
from kcpf.cli.settings import InvalidSetting, Settings
from kcpf.framework import FRAMEWORK_2025
from kcpf.model import Council
from kcpf.reports.service import CabinetReport, PackReport, SmtReport
from kcpf.services import FrameworkService
from tests.builders import FixedClock, at
from tests.report_register import H1, JO, TODAY, TP, build
from tests.word_reading import headings, open_docx


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    data.mkdir()
    clock = FixedClock(at(TODAY))
    with SqliteRegister(data / "register.sqlite3") as register:
        build(FrameworkService(register, clock, FRAMEWORK_2025), clock)
    return {"KCPF_DATA_DIR": str(data), "KCPF_TP": TP.email}


async def test_the_bot_produces_a_report_and_serves_it_at_a_signed_link(env: dict[str, str]) -> None:
    with application(Settings.from_env(env)) as app:
        produced = app.reports.produce(app.actor(TP.email, TP.name), SmtReport(H1, on=TODAY))
        url = app.report_url("https://kcpf.example.gov.uk/", produced.name)
        pack = app.reports.produce(app.actor(JO.email, JO.name), PackReport("KCP-0001", on=TODAY))
        assert Path(pack.location).parent == app.settings.reports_dir
        web_app = web.Application()
        web_app.add_routes(report_routes(app.report_folder, app.report_links, app.framework.clock))
        parts = urlsplit(url)
        assert parts.netloc == "kcpf.example.gov.uk"
        expires = int(parse_qs(parts.query)["expires"][0])
        assert abs(expires - (time.time() + 24 * 3600)) < 60, "valid for KCPF_REPORT_LINK_HOURS (24)"
        async with TestClient(TestServer(web_app)) as client:
            response = await client.get(f"{parts.path}?{parts.query}")
            assert response.status == 200
            content = await response.read()
            tampered = await client.get(f"{parts.path.replace('smt', 'smu')}?{parts.query}")
            assert tampered.status in (403, 404)
    assert headings(open_docx(content))[0] == (0, produced.title)


def test_committee_headings_come_from_a_json_file(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "headings.json"
    path.write_text(json.dumps({"south ribble": {"purpose": "Purpose of Report"}}), encoding="utf-8")
    with application(Settings.from_env({**env, "KCPF_COMMITTEE_HEADINGS": str(path)})) as app:
        actor = app.actor(TP.email)
        sr = app.reports.document(actor, CabinetReport(Council.SOUTH_RIBBLE, FinancialYear(2025), on=TODAY))
        chorley = app.reports.document(actor, CabinetReport(Council.CHORLEY, FinancialYear(2025), on=TODAY))
    assert "Purpose of Report" in [h.text for h in sr.headings()]
    assert "Purpose of the report" in [h.text for h in chorley.headings()]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"chorley": {"purpse": "Purpose"}}, "Not committee report headings: purpse"),
        ({"shared": {"purpose": "Purpose"}}, "not shared"),
        ({"chorley": {"risk": ""}}, "cannot be empty: risk"),
        ({"preston": {}}, "not one of the councils"),
        ("not json", "not valid JSON"),
    ],
)
def test_bad_committee_headings_stop_start_up(
    env: dict[str, str], tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "headings.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    with (
        pytest.raises(InvalidSetting, match=f"KCPF_COMMITTEE_HEADINGS.*{message}"),
        application(Settings.from_env({**env, "KCPF_COMMITTEE_HEADINGS": str(path)})),
    ):
        pass


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KCPF_REPORT_LINK_HOURS", "0", "from 1 to 720"),
        ("KCPF_REPORT_LINK_HOURS", "a day", "from 1 to 720"),
        ("KCPF_COMMITTEE_HEADINGS", "headings.yaml", "must be a JSON file"),
        ("KCPF_REPORT_TEMPLATE", "template.dotx", "must be a Word document"),
        ("KCPF_LINK_SECRET", "short", "too short"),
    ],
)
def test_report_settings_are_checked(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidSetting, match=f"{name}.*{message}"):
        Settings.from_env({name: value})


def test_link_lifetime_setting() -> None:
    assert Settings.from_env({}).report_link_hours == 24
    assert Settings.from_env({"KCPF_REPORT_LINK_HOURS": "72"}).report_link_hours == 72


def test_a_report_link_lasts_its_hours_in_real_time_as_the_clocks_change(env: dict[str, str]) -> None:
    with application(Settings.from_env(env)) as app:
        clock = FixedClock(datetime(2026, 10, 24, 12, tzinfo=LONDON))  # BST; the clocks go back that night
        app.framework.clock = clock
        url = app.report_url("https://kcpf.example.gov.uk/", "kcpf-smt-update-2026-27-h1.docx")
        expires = int(parse_qs(urlsplit(url).query)["expires"][0])
        assert expires - clock.now().timestamp() == 24 * 3600  # not 25 hours of real time
