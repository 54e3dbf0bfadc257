"""The local report store and the bot's signed, expiring report links: served when intact and in date;
refused, with a page that says why, when changed, expired, unknown or reaching outside the folder."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.report_folder import LinkRefused, ReportFolder, ReportLinks, link_secret, report_routes
from kcpf.errors import InvalidInput, NotFound
from tests.builders import FixedClock, at

SECRET = b"0123456789abcdef0123456789abcdef"
NOW = at(date(2026, 11, 20), 10)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def folder(tmp_path: Path) -> ReportFolder:
    folder = ReportFolder(tmp_path / "reports")
    folder.save("smt-update-2026-27-h1.docx", b"PK report")
    return folder


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def client(
    folder: ReportFolder, clock: FixedClock
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    app.add_routes(report_routes(folder, ReportLinks(SECRET), clock))
    async with TestClient(TestServer(app)) as client:
        yield client


def test_the_folder_saves_whole_files_and_refuses_odd_names(folder: ReportFolder) -> None:
    location = folder.save("smt-update-2026-27-h1.docx", b"PK second")
    assert Path(location).read_bytes() == b"PK second"
    assert folder.read("smt-update-2026-27-h1.docx") == b"PK second"
    assert [p.name for p in folder.directory.iterdir()] == ["smt-update-2026-27-h1.docx"]  # no temporaries
    for bad in ("../register.sqlite3", "a/b.docx", ".hidden.docx", "report.exe", "Report.docx"):
        with pytest.raises(InvalidInput, match="cannot be a report's file name"):
            folder.save(bad, b"x")
    with pytest.raises(NotFound, match="no report called"):
        folder.read("missing.docx")
    with pytest.raises(NotFound):
        folder.read("../register.sqlite3")


def test_links_are_signed_and_expire() -> None:
    links = ReportLinks(SECRET)
    url = links.url("https://kcpf.chorley.gov.uk/", "pack.docx", NOW + timedelta(hours=1))
    parts = urlsplit(url)
    assert parts.path == "/reports/pack.docx"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    links.verify("pack.docx", query["expires"], query["signature"], NOW)
    with pytest.raises(LinkRefused, match="expired"):
        links.verify("pack.docx", query["expires"], query["signature"], NOW + timedelta(hours=1))
    with pytest.raises(LinkRefused, match="not valid"):
        links.verify("other.docx", query["expires"], query["signature"], NOW)
    with pytest.raises(LinkRefused, match="not valid"):
        links.verify("pack.docx", str(int(query["expires"]) + 3600), query["signature"], NOW)
    with pytest.raises(LinkRefused, match="not valid"):
        ReportLinks(b"another secret of enough length!").verify(
            "pack.docx", query["expires"], query["signature"], NOW
        )
    with pytest.raises(ValueError, match="16 bytes"):
        ReportLinks(b"short")


def test_the_data_directorys_secret_is_made_once_for_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "link-secret"
    first = link_secret(path)
    assert len(first) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert link_secret(path) == first
    path.write_bytes(b"short")
    with pytest.raises(InvalidInput, match="too short"):
        link_secret(path)


async def test_a_signed_link_serves_the_report(client: TestClient[web.Request, web.Application]) -> None:
    path = ReportLinks(SECRET).path("smt-update-2026-27-h1.docx", NOW + timedelta(minutes=30))
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == DOCX
    assert response.headers["Content-Disposition"] == 'attachment; filename="smt-update-2026-27-h1.docx"'
    assert "no-store" in response.headers["Cache-Control"]
    assert await response.read() == b"PK report"


async def test_a_tampered_link_is_refused(client: TestClient[web.Request, web.Application]) -> None:
    path = ReportLinks(SECRET).path("smt-update-2026-27-h1.docx", NOW + timedelta(minutes=30))
    later = path.replace("expires=", "expires=1")
    for changed in (later, path[:-1] + ("0" if path[-1] != "0" else "1"), path.split("?")[0]):
        response = await client.get(changed)
        assert response.status == 403
        assert response.headers["Content-Type"].startswith("text/html")
        body = await response.text()
        assert "Ask for the report again" in body


async def test_an_expired_link_is_refused(
    client: TestClient[web.Request, web.Application], clock: FixedClock
) -> None:
    path = ReportLinks(SECRET).path("smt-update-2026-27-h1.docx", NOW + timedelta(minutes=30))
    clock.current = NOW + timedelta(minutes=31)
    response = await client.get(path)
    assert response.status == 403
    assert "expired" in await response.text()


async def test_unknown_and_path_traversal_names_are_not_found(
    client: TestClient[web.Request, web.Application], folder: ReportFolder
) -> None:
    links = ReportLinks(SECRET)
    gone = links.path("appendix-a-kcp-0009.docx", NOW + timedelta(minutes=30))
    response = await client.get(gone)
    assert response.status == 404
    assert "no report called" in await response.text()
    (folder.directory.parent / "register.sqlite3").write_bytes(b"secret register")
    expires = int((NOW + timedelta(minutes=30)).timestamp())
    for name in ("..%2Fregister.sqlite3", "%2E%2E%2Fregister.sqlite3", "register.sqlite3"):
        signature = links.signature("../register.sqlite3", expires)
        response = await client.get(f"/reports/{name}?expires={expires}&signature={signature}")
        assert response.status == 404
        assert "secret register" not in await response.text()
