"""The read-only register page served by the bot's web app, on a real register filled through the framework:
the table, its filters, search and sorting, the CSV, an arrangement's page, the errors in words, the headers,
what the page refuses, its colours' contrast, and signed access when the bot is on a public address."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.storage import SqliteStorage
from connectors.clock import LONDON
from connectors.register_page import COOKIE, RegisterAccess, register_routes
from connectors.report_folder import ReportLinks
from connectors.sharepoint.outbox import OUTBOX_FILE, Outbox
from connectors.sharepoint.register import SharePointRegister
from connectors.sqlite_register import SqliteRegister
from kcpf.cli.compose import application, prepare_data_dir
from kcpf.cli.serve import bot_services
from kcpf.cli.settings import Settings
from kcpf.framework import FRAMEWORK_2025
from kcpf.model import ArrangementType, Council, Officer
from kcpf.register_view import csv_rows, parse_query, register_rows, select
from kcpf.services import FrameworkService
from tests.bot_harness import OFFICER, OTHER, ROLES, SMT, running_bot
from tests.bot_harness import TP as HARNESS_TP
from tests.builders import FixedClock, at
from tests.fake_graph import FakeGraph, Fault
from tests.report_register import JO, TODAY, TP, Built, built, governance
from tests.sharepoint_site import create_lists, session_for

Client = TestClient[web.Request, web.Application]
SECRET = b"a register page secret of 32 bytes!"
CSS = Path(__file__).resolve().parent.parent / "connectors" / "register_page" / "static" / "register.css"
COLUMNS = (
    "Reference",
    "Title",
    "Type",
    "Council",
    "Status",
    "RAG",
    "Responsible officer",
    "Annual value",
    "End date",
    "Next update due",
    "Open gaps",
)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[Built]:
    with built(tmp_path) as sample:
        yield sample


async def serve(framework: FrameworkService, access: RegisterAccess | None = None) -> Client:
    app = web.Application()
    app.add_routes(register_routes(framework, framework.clock, access))
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def client(sample: Built) -> AsyncIterator[Client]:
    client = await serve(sample.kcpf)
    try:
        yield client
    finally:
        await client.close()


def leisure_centres(framework: FrameworkService) -> None:
    framework.identify(
        TP, title="Leisure centres", type=ArrangementType.PARTNERSHIP, council=Council.SHARED, partner="AL"
    )


async def page(client: Client, url: str, status: int = 200) -> str:
    response = await client.get(url)
    text = await response.text()
    assert response.status == status, text
    return text


def references(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/register/(KCP-\d+)">', html)


def options(html: str, name: str) -> list[tuple[str, str, bool]]:
    select_ = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select_ is not None, name
    return [
        (value, label, bool(selected))
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select_[1]
        )
    ]


# The table.


async def test_the_register_lists_every_arrangement_with_labelled_filters(
    client: Client, sample: Built
) -> None:
    html = await page(client, "/register")
    assert '<html lang="en-GB">' in html
    assert html.count("<h1>") == 1
    assert "<h1>Register of contracts and partnerships</h1>" in html
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert '<form method="get" action="/register" id="filters"' in html
    for name, label in {
        "council": "Council",
        "status": "Status",
        "rag": "RAG",
        "officer": "Responsible officer",
        "key": "Key or not",
        "q": "Search",
    }.items():
        assert f'<label for="{name}">{label}</label>' in html
    assert options(html, "council")[0] == ("", "All councils", True)
    assert [v for v, _, _ in options(html, "officer")] == [
        "",
        "jo.bloggs@chorley.gov.uk",
        "sam.smith@southribble.gov.uk",
        "none",
    ]
    assert '<input type="search" id="q" name="q" value=""' in html
    assert '<button type="submit">Apply filters</button>' in html
    assert '<a href="/register" class="clear">Clear filters</a>' in html
    assert (
        '<p id="count" class="count" role="status" tabindex="-1">'
        "Showing 5 of 5 contracts and partnerships</p>" in html
    )
    assert '<a id="csv" href="/register.csv">Download these as CSV</a>' in html
    headers = re.findall(r'<th scope="col"[^>]*>(?:<a [^>]*>)?([^<]+)', html)
    assert headers == list(COLUMNS)
    assert "<caption" in html
    assert 'role="region" aria-labelledby="register-caption" tabindex="0"' in html
    assert references(html) == [sample.sample.leisure, "KCP-0002", "KCP-0003", "KCP-0004", "KCP-0005"]
    waste = re.search(r'<a href="/register/KCP-0002">KCP-0002</a></th>(.*?)</tr>', html, re.S)
    assert waste is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", waste[1], re.S)
    assert cells == [
        "Waste collection",
        "Contract",
        "Chorley Council",
        "Monitoring",
        '<span class="rag rag-red">Red</span>',
        "Jo Bloggs",
        "£250,000",
        "31 March 2027",
        "30 April 2027",
        "1",
    ]
    assert "No update yet" in html  # RAG in words, never colour alone
    assert '<strong class="overdue">(overdue)</strong>' in html  # the safety partnership's H1 update
    assert "<script" not in html
    assert " on" not in re.sub(r">[^<]*<", "><", html)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("council=shared", ["KCP-0001"]),
        ("council=chorley", ["KCP-0001", "KCP-0002", "KCP-0004", "KCP-0005"]),  # shared ones are in both
        ("council=south-ribble", ["KCP-0001", "KCP-0003"]),
        ("status=proposed", ["KCP-0004"]),
        ("rag=red", ["KCP-0002"]),
        ("rag=none", ["KCP-0004", "KCP-0005"]),
        ("officer=sam.smith%40southribble.gov.uk", ["KCP-0003"]),
        ("officer=none", []),
        ("key=yes", ["KCP-0001", "KCP-0002", "KCP-0003"]),
        ("key=no", ["KCP-0004", "KCP-0005"]),
        ("q=ACME", ["KCP-0002"]),
        ("q=sam+smith", ["KCP-0003"]),
        ("council=chorley&key=yes&q=leisure", ["KCP-0001"]),
        ("sort=value&order=desc", ["KCP-0001", "KCP-0002", "KCP-0003", "KCP-0004", "KCP-0005"]),
        ("sort=value", ["KCP-0005", "KCP-0004", "KCP-0003", "KCP-0002", "KCP-0001"]),
        ("sort=end", ["KCP-0002", "KCP-0003", "KCP-0004", "KCP-0001", "KCP-0005"]),  # no end date last
        ("sort=next-update&order=desc", ["KCP-0001", "KCP-0002", "KCP-0003", "KCP-0004", "KCP-0005"]),
        ("sort=title", ["KCP-0003", "KCP-0001", "KCP-0005", "KCP-0004", "KCP-0002"]),
    ],
)
async def test_filters_search_and_sorting(client: Client, query: str, expected: list[str]) -> None:
    html = await page(client, f"/register?{query}")
    assert references(html) == expected
    assert f"Showing {len(expected)} of 5 contracts and partnerships" in html


def accessible_name(link: str) -> str:
    """A link's text as a screen reader names it: its text, less what is hidden from assistive technology."""
    return re.sub(r"<[^>]+>", "", re.sub(r'<span aria-hidden="true"[^>]*>.*?</span>', "", link))


async def test_the_sorted_column_says_so_and_each_header_link_is_named_by_its_column(client: Client) -> None:
    html = await page(client, "/register?sort=value&order=desc&council=chorley")
    assert html.count("aria-sort=") == 1
    sorted_header = re.search(
        r'<th scope="col" aria-sort="descending">'
        r'<a href="([^"]+)" aria-describedby="sort-hint">(.*?)</a></th>',
        html,
    )
    assert sorted_header is not None
    assert sorted_header[1] == "/register?council=chorley&amp;sort=value"  # again: ascending, filters kept
    # The link's name is the column's, so each cell's header reads as the column; what it does is its
    # description, one hint shared by every header link.
    assert accessible_name(sorted_header[2]) == "Annual value"
    links = re.findall(
        r'<th scope="col"[^>]*><a href="[^"]+"( aria-describedby="sort-hint")?>(.*?)</a>', html
    )
    assert [accessible_name(name) for _, name in links] == [
        c for c in COLUMNS if c not in ("Type", "Open gaps")
    ]
    assert all(described for described, _ in links)
    assert html.count('id="sort-hint"') == 1
    assert re.search(r'<p id="sort-hint">Select a column heading that is a link to sort by that column', html)
    assert "Sort by" not in html
    assert '<a href="/register?council=chorley&amp;sort=title" aria-describedby="sort-hint">Title</a>' in html
    assert "sorted by Annual value, descending" in html
    assert '<input type="hidden" name="sort" value="value">' in html
    assert '<input type="hidden" name="order" value="desc">' in html
    assert '<a id="csv" href="/register.csv?council=chorley&amp;sort=value&amp;order=desc">' in html


async def test_nothing_matching_says_so_instead_of_an_empty_table(client: Client) -> None:
    html = await page(client, "/register?q=no+such+thing")
    assert '<table id="register"' not in html
    assert (
        '<p id="count" class="count" role="status" tabindex="-1">'
        "Showing 0 of 5 contracts and partnerships</p>" in html
    )
    assert "No contracts or partnerships match these filters." in html


async def test_a_bad_filter_is_refused_in_words_and_the_form_keeps_what_was_entered(client: Client) -> None:
    html = await page(client, "/register?council=Lancashire&rag=green&q=%3Cb%3Eleisure", 400)
    assert re.search(
        r'<div class="problem" role="alert" id="problem">.*Council: “Lancashire” is not one', html, re.S
    )
    assert html.count("<h1>") == 1
    assert options(html, "council")[0] == ("Lancashire", "“Lancashire” (not one of the choices)", True)
    assert '<select id="council" name="council" aria-invalid="true" aria-describedby="problem">' in html
    assert ("green", "Green", True) in options(html, "rag")
    assert 'value="&lt;b&gt;leisure"' in html
    assert '<table id="register"' not in html
    search = await page(client, "/register?q=" + "x" * 201, 400)
    assert 'aria-invalid="true"' in search
    assert "Search: 201 characters is too long" in search


def form_fields(html: str) -> list[tuple[str, str]]:
    """What "Apply filters" sends: each select's chosen option, the search and the hidden inputs."""
    form = re.search(r'<form method="get" action="/register" id="filters".*?</form>', html, re.S)
    assert form is not None
    chosen = [
        (name, re.search(r'<option value="([^"]*)" selected>', body)[1])  # type: ignore[index]
        for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', form[0], re.S)
    ]
    inputs = re.findall(
        r'<input type="(?:search|hidden)" (?:id="[^"]+" )?name="([^"]+)" value="([^"]*)"', form[0]
    )
    return chosen + inputs


@pytest.mark.parametrize(
    ("query", "kept", "problem"),
    [
        ("sort=bogus&order=desc&council=chorley", [("order", "desc")], "Sort: “bogus” is not one"),
        ("sort=Title&order=sideways", [("sort", "title")], "Order: “sideways” is not one"),
    ],
)
async def test_a_bad_sort_or_order_is_not_carried_on_so_applying_the_filters_again_works(
    client: Client, query: str, kept: list[tuple[str, str]], problem: str
) -> None:
    html = await page(client, f"/register?{query}", 400)
    assert problem in html  # the bad value is still shown in the message
    assert re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html) == kept
    again = await client.get("/register", params=form_fields(html))
    assert again.status == 200, await again.text()


# The CSV.


async def test_the_csv_is_what_the_page_shows_in_the_same_order(client: Client, sample: Built) -> None:
    query = "council=chorley&sort=value&order=desc"
    response = await client.get(f"/register.csv?{query}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="kcpf-register.csv"'
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads UTF-8
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert lines[0][0] == "Reference"
    assert lines[0][-1] == "Open governance gaps"
    assert [line[0] for line in lines[1:]] == references(await page(client, f"/register?{query}"))
    rows = register_rows(sample.kcpf.files(sample.kcpf.arrangements()), FRAMEWORK_2025, TODAY)
    assert lines == csv_rows(select(rows, parse_query({k: v[0] for k, v in parse_qs(query).items()})))
    assert lines[1] == [
        "KCP-0001",
        "Leisure centres",
        "Partnership",
        "Shared (Chorley and South Ribble)",
        "Monitoring",
        "Amber",
        "Jo Bloggs",
        "jo.bloggs@chorley.gov.uk",
        "1250000.00",
        "12500000.00",
        "2024-04-01",
        "2034-03-31",
        "2027-04-30",
        "1",
    ]


async def test_a_bad_filter_on_the_csv_is_a_plain_message(client: Client) -> None:
    response = await client.get("/register.csv?sort=partner")
    assert response.status == 400
    assert response.content_type == "text/plain"
    assert (await response.text()).startswith("Sort: “partner” is not one of the choices.")


async def test_the_table_follows_every_write_and_the_day(client: Client, sample: Built) -> None:
    def waste_cells(html: str) -> list[str]:
        found = re.search(r'<a href="/register/KCP-0002">KCP-0002</a></th>(.*?)</tr>', html, re.S)
        assert found is not None
        return re.findall(r"<td[^>]*>(.*?)</td>", found[1], re.S)

    assert waste_cells(await page(client, "/register"))[-1] == "1"
    waste = sample.sample.waste
    sample.kcpf.edit(TP, waste, title="Waste and recycling")
    assert waste_cells(await page(client, "/register"))[0] == "Waste and recycling"
    governance(sample.kcpf, JO, waste, {})  # a record saved with the arrangement: no gap left
    assert waste_cells(await page(client, "/register"))[-1] == "0"
    assert "(overdue)" not in waste_cells(await page(client, "/register"))[-2]
    sample.kcpf.clock.set(date(2027, 5, 1))  # type: ignore[attr-defined]  # past the 30 April deadline
    assert "(overdue)" in waste_cells(await page(client, "/register"))[-2]


# One arrangement.


async def test_an_arrangement_page_shows_its_whole_file(client: Client, sample: Built) -> None:
    html = await page(client, f"/register/{sample.sample.waste}")
    assert "<h1>KCP-0002 Waste collection</h1>" in html
    assert re.findall(r"<h2>([^<]+)</h2>", html) == [
        "Details",
        "Assessment against the criteria",
        "Governance",
        "Monitoring updates",
        "SMT decisions",
        "History",
    ]
    assert '<a href="/register">Back to the register</a>' in html
    assert "<dt>Partner or supplier</dt><dd>Acme Environmental Ltd</dd>" in html
    assert "3 of 5 met: Financial, Risk, Resource: key" in html
    assert "<td>two years</td>" in html  # the officer's reason
    assert "Test the depot continuity plan" in html
    assert "<strong>(gap)</strong>" in html
    assert "Key (SMT decision) on 10 June 2025 (recorded by chief@chorley.gov.uk): Agreed at SMT" in html
    assert '<span class="rag rag-red">Red</span>' in html
    assert "jo.bloggs@chorley.gov.uk, assess against the criteria" in html  # the audit history


async def test_an_unknown_or_malformed_reference_is_not_found(client: Client) -> None:
    for reference in ("KCP-9999", "nonsense", "%3Cscript%3E"):
        html = await page(client, f"/register/{reference}", 404)
        assert "Not on the register" in html
        assert '<a href="/register">Back to the register</a>' in html
        assert "<script>" not in html


async def test_an_arrangement_not_yet_assessed_shows_what_the_record_suggests(
    client: Client, sample: Built
) -> None:
    html = await page(client, f"/register/{sample.sample.parks}")
    assert "Not yet assessed against the criteria." in html
    assert "The record suggests:" in html
    assert "No monitoring updates yet." in html
    assert "No SMT decisions yet." in html


# What every answer carries, and what the page refuses.


async def test_every_page_carries_the_security_headers_and_no_script(client: Client) -> None:
    for url, status in (
        ("/register", 200),
        ("/register?rag=x", 400),
        ("/register.csv", 200),
        ("/register/KCP-0001", 200),
        ("/register/KCP-0404", 404),
    ):
        response = await client.get(url)
        assert response.status == status, url
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (url, name)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "script-src" not in policy
    link = re.search(r'<link rel="stylesheet" href="([^"]+)">', await page(client, "/register"))
    assert link is not None
    assert re.fullmatch(r"/register-assets/register\.css\?v=[0-9a-f]{12}", link[1])  # changes with it
    css = await client.get(link[1])
    assert css.status == 200
    assert await css.read() == CSS.read_bytes()
    assert css.content_type == "text/css"
    assert "max-age" in css.headers["Cache-Control"]


async def test_the_page_answers_head_and_refuses_every_change_in_its_own_words(client: Client) -> None:
    head = await client.head("/register")
    assert head.status == 200
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        for url in ("/register", "/register.csv", "/register/KCP-0001"):
            response = await client.request(method, url)
            assert response.status == 405, (method, url)
            assert response.headers["Allow"] == "GET, HEAD"
            for name, value in SECURITY_HEADERS.items():
                assert response.headers[name] == value, (method, url, name)
            assert response.content_type == "text/html"
            assert "The register page only shows the register." in await response.text()


async def test_any_other_address_under_the_register_is_the_pages_own_not_found(client: Client) -> None:
    for url in ("/register/", "/register/KCP-0001/", "/register/KCP-0001/history", "/register//x"):
        for method in ("GET", "POST"):
            response = await client.request(method, url)
            text = await response.text()
            assert response.status == 404, (method, url)
            for name, value in SECURITY_HEADERS.items():
                assert response.headers[name] == value, (url, name)
            assert "There is no page of the register at this address." in text
            assert '<a href="/register">Back to the register</a>' in text
    assert (await client.get("/register/KCP-0001")).status == 200  # the arrangement's page is still there


async def test_an_unknown_address_under_the_register_still_needs_access(guarded: Guarded) -> None:
    response = await guarded.client.get("/register/")
    assert response.status == 403
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


async def test_what_people_typed_is_shown_as_text_never_run(sample: Built) -> None:
    sample.kcpf.identify(
        TP,
        title="<script>alert('x')</script> & co",
        type=ArrangementType.CONTRACT,
        council=Council.CHORLEY,
        partner='"><img src=x onerror=alert(1)>',
    )
    client = await serve(sample.kcpf)
    try:
        for url in ("/register", "/register/KCP-0006", "/register?q=%3Cscript%3E"):
            html = await page(client, url)
            assert "<script>" not in html
            assert "<img" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in await page(client, "/register")
    finally:
        await client.close()


async def test_a_register_that_cannot_be_read_is_a_page_in_its_own_words(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The SharePoint register, started while SharePoint cannot be reached: what it raises is worded for a
    command ("Nothing was changed: try again in a few minutes."); the page says it once, in its own words."""
    with FakeGraph.running(tmp_path) as fake:
        session = session_for(fake)
        create_lists(session)
        fake.faults.random(1.0, (Fault("unavailable", retry_after=0),))
        outbox = Outbox(tmp_path / OUTBOX_FILE)
        try:
            register = SharePointRegister(session, outbox)
            client = await serve(FrameworkService(register, FixedClock(at(TODAY)), FRAMEWORK_2025))
            try:
                for url in ("/register", "/register.csv", "/register/KCP-0001"):
                    response = await client.get(url)
                    text = await response.text()
                    assert response.status == 503, url
                    assert (
                        "<p>The register cannot be read just now. Try again in a few minutes; if it" in text
                    )
                    assert text.lower().count("try again") == 1
                    assert "Nothing was changed" not in text
                    assert "Traceback" not in text
                    for name, value in SECURITY_HEADERS.items():
                        assert response.headers[name] == value
            finally:
                await client.close()
        finally:
            outbox.close()
    logged = [r.getMessage() for r in caplog.records if r.name == "kcpf.register_page"]
    assert any("SharePoint cannot be reached just now" in m for m in logged), logged


class Counting(SqliteRegister):
    """A register that counts how often the page builds its rows (each build reads every assessment)."""

    reads = 0
    asked: list[str | None]

    def assessments(self, reference: str | None = None) -> Any:
        self.reads += 1
        self.asked = [*getattr(self, "asked", []), reference]
        return super().assessments(reference)


async def test_rows_are_rebuilt_after_a_real_minute_even_as_the_clocks_go_back(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 10, 25, 1, 50, tzinfo=LONDON))  # BST, 00:50 UTC
    register = Counting(tmp_path / "register.sqlite3")
    with register:
        framework = FrameworkService(register, clock, FRAMEWORK_2025)
        leisure_centres(framework)
        client = await serve(framework)
        try:
            await page(client, "/register")
            built = register.reads
            await page(client, "/register")
            assert register.reads == built  # kept: nothing changed within the minute
            clock.current = datetime(2026, 10, 25, 1, 10, fold=1, tzinfo=LONDON)  # GMT: 20 minutes later
            await page(client, "/register")
            assert register.reads > built
        finally:
            await client.close()


class Broken(SqliteRegister):
    """A register failing in a way nobody planned for."""

    def arrangements(self, **filters: Any) -> Any:
        raise RuntimeError("disk on fire")


async def test_an_unexpected_failure_is_a_page_in_words_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Broken(tmp_path / "register.sqlite3") as register:
        client = await serve(FrameworkService(register, FixedClock(at(TODAY)), FRAMEWORK_2025))
        try:
            response = await client.get("/register")
            text = await response.text()
        finally:
            await client.close()
    assert response.status == 500
    assert "could not be shown because of an unexpected problem" in text
    assert "disk on fire" not in text
    assert "Traceback" not in text
    assert any(r.name == "kcpf.register_page" and r.exc_info for r in caplog.records)


# Signed access, when the bot is on a public address.


@dataclass
class Guarded:
    client: Client
    access: RegisterAccess
    clock: FixedClock


@pytest.fixture
async def guarded(sample: Built) -> AsyncIterator[Guarded]:
    clock = FixedClock(at(TODAY))
    access = RegisterAccess(ReportLinks(SECRET), clock, 24)
    client = await serve(sample.kcpf, access)
    try:
        yield Guarded(client, access, clock)
    finally:
        await client.close()


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["access"][0]


async def test_a_signed_link_is_traded_for_a_cookie_that_opens_the_register(guarded: Guarded) -> None:
    client = guarded.client
    url = guarded.access.url("https://kcpf.chorley.gov.uk/")
    assert url.startswith("https://kcpf.chorley.gov.uk/register?access=")
    token = token_of(url)
    first = await client.get(f"/register?council=chorley&access={token}", allow_redirects=False)
    assert first.status == 303
    assert first.headers["Location"] == "/register?council=chorley"  # the token leaves the address bar
    cookies = first.headers.getall("Set-Cookie")
    assert {re.search(r"Path=([^;]+)", c)[1] for c in cookies} == {"/register", "/register.csv"}  # type: ignore[index]
    for cookie in cookies:
        assert cookie.startswith(f"{COOKIE}={token};")
        for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Max-Age=86400"):
            assert attribute in cookie, (attribute, cookie)
    with_cookie = {"Cookie": f"{COOKIE}={token}"}
    for path in ("/register?council=chorley", "/register.csv", "/register/KCP-0001"):
        response = await client.get(path, headers=with_cookie)
        assert response.status == 200, path
    assert (await client.get("/register-assets/register.css")).status == 200  # the stylesheet is public
    one = guarded.access.url("https://kcpf.chorley.gov.uk", "KCP-0002")
    assert one.startswith("https://kcpf.chorley.gov.uk/register/KCP-0002?access=")
    deep = await client.get(urlsplit(one).path + "?" + urlsplit(one).query, allow_redirects=False)
    assert deep.status == 303
    assert deep.headers["Location"] == "/register/KCP-0002"


async def test_without_a_valid_link_or_cookie_the_register_is_refused_in_words(guarded: Guarded) -> None:
    client = guarded.client
    for path in ("/register", "/register.csv", "/register/KCP-0001"):
        html = await page(client, path, 403)
        assert "type “register” to the bot" in html
        assert "Leisure centres" not in html
        assert "Back to the register" not in html  # it would only be refused again
    token = guarded.access.token()
    expires, signature = token.split(".")
    tampered = [
        f"{int(expires) + 3600}.{signature}",  # a later expiry
        f"{expires}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}",
        ReportLinks(b"another secret, thirty-two bytes!!").token("register", guarded.clock.now()),
        "garbage",
    ]
    for bad in tampered:
        html = await page(client, f"/register?access={bad}", 403)
        assert "Link refused" in html
        assert "Leisure centres" not in html
        response = await client.get("/register", headers={"Cookie": f"{COOKIE}={bad}"})
        assert response.status == 403


@pytest.mark.parametrize(
    ("now", "expires", "seconds"),
    [
        # The clocks go back at 02:00 BST on 25 October 2026: 01:50 BST is 00:50 UTC, 01:30 GMT 01:30 UTC.
        (
            datetime(2026, 10, 25, 1, 50, tzinfo=LONDON),
            datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON),
            2400,
        ),
        # They go forward at 01:00 GMT on 29 March 2026: 00:30 GMT to 02:30 BST is an hour.
        (datetime(2026, 3, 29, 0, 30, tzinfo=LONDON), datetime(2026, 3, 29, 2, 30, tzinfo=LONDON), 3600),
    ],
)
async def test_the_cookie_lasts_as_long_as_the_link_across_the_clocks_changing(
    guarded: Guarded, now: datetime, expires: datetime, seconds: int
) -> None:
    guarded.clock.current = now
    token = guarded.access.links.token("register", expires)
    response = await guarded.client.get(f"/register?access={token}", allow_redirects=False)
    assert response.status == 303
    for cookie in response.headers.getall("Set-Cookie"):
        assert f"Max-Age={seconds};" in cookie, cookie


def test_an_access_link_lasts_its_hours_in_real_time_across_the_clocks_going_back() -> None:
    clock = FixedClock(datetime(2026, 10, 24, 12, tzinfo=LONDON))  # BST; the next day's noon is GMT
    access = RegisterAccess(ReportLinks(SECRET), clock, 24)
    expires = access.check(access.token())
    assert expires.timestamp() - clock.now().timestamp() == 24 * 3600


async def test_an_old_link_opens_the_register_when_the_browser_already_holds_a_valid_cookie(
    guarded: Guarded,
) -> None:
    client = guarded.client
    old = guarded.access.links.token("register", guarded.clock.now() - timedelta(hours=1))  # expired
    for bad in (old, "garbage"):
        url = f"/register/KCP-0001?access={bad}"
        valid = {"Cookie": f"{COOKIE}={guarded.access.token()}"}
        response = await client.get(url, headers=valid, allow_redirects=False)
        assert response.status == 303, await response.text()
        assert response.headers["Location"] == "/register/KCP-0001"  # the clean address
        assert "Set-Cookie" not in response.headers  # the cookie held is kept
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert (await client.get("/register/KCP-0001", headers=valid)).status == 200
        # Without a valid cookie the link is still refused, saying why.
        for cookie in ({}, {"Cookie": f"{COOKIE}={old}"}):
            refused = await client.get(url, headers=cookie)
            assert refused.status == 403
            assert "Link refused" in await refused.text()


async def test_links_and_cookies_expire(guarded: Guarded) -> None:
    client = guarded.client
    token = guarded.access.token()
    guarded.clock.current += timedelta(hours=24)
    assert "has expired" in await page(client, f"/register?access={token}", 403)
    response = await client.get("/register", headers={"Cookie": f"{COOKIE}={token}"})
    assert response.status == 403
    assert "Your access to the register has expired" in await response.text()


async def test_a_report_link_does_not_open_the_register_nor_a_register_token_a_report(
    guarded: Guarded,
) -> None:
    links = ReportLinks(SECRET)
    report = links.path("smt-update.docx", guarded.clock.now() + timedelta(hours=1))
    query = parse_qs(urlsplit(report).query)
    forged = f"{query['expires'][0]}.{query['signature'][0]}"
    assert (await guarded.client.get(f"/register?access={forged}", allow_redirects=False)).status == 403
    expires, signature = guarded.access.token().split(".")
    with pytest.raises(Exception, match="not valid"):
        links.verify("register", expires, signature, guarded.clock.now())


# The composition root and the bot.


def settings(tmp_path: Path, **extra: str) -> Settings:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KCPF_")}
    return Settings.from_env({**env, "KCPF_DATA_DIR": str(tmp_path / "data"), **extra})


@pytest.mark.parametrize("public", [False, True])
async def test_kcpf_serve_opens_the_page_only_on_this_machine(tmp_path: Path, public: bool) -> None:
    extra = (
        {
            "KCPF_APP_ID": "11111111-1111-4111-8111-111111111111",
            "KCPF_APP_TENANT_ID": "22222222-2222-4222-8222-222222222222",
            "KCPF_APP_PASSWORD": "not used here",
        }
        if public
        else {}
    )
    chosen = settings(tmp_path, **extra)
    prepare_data_dir(chosen)
    storage = SqliteStorage(chosen.conversations_path)
    try:
        with application(chosen) as app:
            services = bot_services(app, storage, "https://kcpf.chorley.gov.uk")
            assert services.register_link is not None
            link = services.register_link("")
            async with TestClient(TestServer(create_app(services))) as client:
                response = await client.get("/register", allow_redirects=False)
                if public:
                    assert response.status == 403
                    assert link.startswith("https://kcpf.chorley.gov.uk/register?access=")
                    signed = await client.get(f"/register?access={token_of(link)}", allow_redirects=False)
                    assert signed.status == 303
                else:
                    assert response.status == 200
                    assert link == "https://kcpf.chorley.gov.uk/register"
    finally:
        storage.close()


async def test_the_bot_hands_out_the_register_link(tmp_path: Path) -> None:
    async with running_bot(tmp_path, today=date(2026, 11, 27)) as bot:
        leisure_centres(bot.framework)
        said = await bot.chat(HARNESS_TP).texts("register")
        assert f"[open the register]({bot.base_url}/register)" in said
        async with bot.session.get(f"{bot.base_url}/register") as response:
            assert response.status == 200
            assert "Leisure centres" in await response.text()
        assert "*register*" in await bot.chat(HARNESS_TP).texts("help")
        said = await bot.chat(HARNESS_TP).texts("register kcp-1")
        link = f"[open it]({bot.base_url}/register/KCP-0001)"
        assert f"KCP-0001 Leisure centres, read-only, in your browser: {link}" in said
        assert "no contract or partnership" in (await bot.chat(HARNESS_TP).texts("register KCP-0404")).lower()


async def test_the_whole_register_is_for_tp_smt_and_viewers_and_others_are_told_what_they_can_do(
    tmp_path: Path,
) -> None:
    roles = dataclasses.replace(ROLES, viewers=frozenset({OTHER.email}))
    async with running_bot(tmp_path, today=date(2026, 11, 27), roles=roles) as bot:
        leisure_centres(bot.framework)
        for reviewer in (HARNESS_TP, SMT, OTHER):  # OTHER is a viewer here
            said = await bot.chat(reviewer).texts("register")
            assert f"[open the register]({bot.base_url}/register)" in said, reviewer
        # An officer's own arrangement too: its link opens the whole register.
        bot.framework.assign_officer(TP, "KCP-0001", Officer(OFFICER.email, OFFICER.name))
        for typed in ("register", "register KCP-0001"):
            said = await bot.chat(OFFICER).texts(typed)
            assert "/register" not in said, typed
            assert (
                "Only Transformation and Partnerships, the Senior Management Team and KCPF's viewers" in said
            )
            assert "Type *my* to see your own contracts and partnerships" in said
            assert "added as a viewer" in said
        assert "*register*" not in await bot.chat(OFFICER).texts("help")
        # `due` is still for T&P alone.
        assert "Only Transformation and Partnerships see who owes what" in await bot.chat(SMT).texts("due")
        assert "Only Transformation and Partnerships see who owes what" in await bot.chat(OTHER).texts("due")


# Colours: WCAG 2.2 AA contrast, computed from the stylesheet's own values.


def rules() -> dict[str, dict[str, str]]:
    """Each selector of the stylesheet with its declarations (later rules win, as in the browser)."""
    text = re.sub(r"/\*.*?\*/", "", CSS.read_text(encoding="utf-8"), flags=re.S)
    found: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        declarations = {
            name.strip(): value.strip()
            for name, _, value in (d.partition(":") for d in body.split(";"))
            if value.strip()
        }
        for selector in selectors.split(","):
            found.setdefault(" ".join(selector.split()), {}).update(declarations)
    return found


def luminance(colour: str) -> float:
    hex_ = colour.lstrip("#")
    channels = [int(hex_[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_helper_agrees_with_known_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-too-light grey


def test_every_text_colour_has_at_least_4_5_to_1_on_its_background() -> None:
    css = rules()

    def colour(selector: str, name: str = "color") -> str:
        value = css[selector][name]
        assert re.fullmatch(r"#[0-9a-f]{6}", value), (selector, name, value)
        return value

    page = colour("body", "background-color")
    backgrounds = {
        "page": page,
        "even rows": colour("tbody tr:nth-child(even)", "background-color"),
        "filters": colour(".filters", "background-color"),
        "gap rows": colour("tr.gap", "background-color"),
    }
    pairs = {
        "text": (colour("body"), backgrounds.values()),
        "links": (colour("a"), backgrounds.values()),
        "visited links": (colour("a:visited"), backgrounds.values()),
        "hints": (colour(".hint"), [backgrounds["filters"]]),
        "overdue": (colour(".overdue"), backgrounds.values()),
        "problem heading": (colour(".problem h2"), [colour(".problem", "background-color")]),
        "masthead": (colour(".masthead"), [colour(".masthead", "background-color")]),
        "footer": (colour(".footer"), [colour(".footer", "background-color")]),
        "button": (
            colour("button"),
            [colour("button", "background-color"), colour("button:hover", "background-color")],
        ),
        "focused link": (colour("a:focus-visible"), [colour("a:focus-visible", "background-color")]),
        "focused button": (
            colour("button:focus-visible"),
            [colour("button:focus-visible", "background-color")],
        ),
        "skip link": (colour(".skip-link"), [colour(".skip-link", "background-color")]),
    }
    for rag in ("green", "amber", "red", "none"):
        pairs[f"RAG {rag}"] = (colour(f".rag-{rag}"), [colour(f".rag-{rag}", "background-color")])
    for name, (text, behind) in pairs.items():
        for background in behind:
            assert contrast(text, background) >= 4.5, (name, text, background, contrast(text, background))
    # The focus outline is 3px and stands out at least 3:1 from the page (non-text contrast).
    outline = css[":focus-visible"]["outline"].split()
    assert outline[:2] == ["3px", "solid"]
    assert contrast(outline[2], page) >= 3
    for background in (*backgrounds.values(), css["a:focus-visible"]["background-color"]):
        assert contrast(outline[2], background) >= 3


async def test_a_change_rebuilds_only_its_own_row(tmp_path: Path) -> None:
    clock = FixedClock(at(TODAY))
    register = Counting(tmp_path / "register.sqlite3")
    with register:
        framework = FrameworkService(register, clock, FRAMEWORK_2025)
        for n in range(3):
            framework.identify(
                TP,
                title=f"Leisure centres {n}",
                type=ArrangementType.PARTNERSHIP,
                council=Council.SHARED,
                partner="AL",
            )
        client = await serve(framework)
        try:
            await page(client, "/register")
            register.asked = []
            framework.edit(TP, "KCP-0002", title="Swimming pools")
            text = await page(client, "/register")
            assert "Swimming pools" in text
            assert "Leisure centres 1" not in text
            assert register.asked == ["KCP-0002"]  # that arrangement's records only, not the register's
            await page(client, "/register")
            assert register.asked == ["KCP-0002"]  # nothing changed since: nothing read but the arrangements
        finally:
            await client.close()


async def test_the_history_names_what_changed_in_words(sample: Built) -> None:
    client = await serve(sample.kcpf)
    try:
        text = await page(client, "/register/KCP-0001")
        assert "Partner or supplier: (empty) →" in text
        assert "partner: (empty)" not in text
    finally:
        await client.close()


async def test_a_keyboard_user_can_skip_the_filters_to_the_results(sample: Built) -> None:
    client = await serve(sample.kcpf)
    try:
        text = await page(client, "/register")
        assert '<a class="skip-link" href="#count">Skip to the results</a>' in text
        assert '<p id="count" class="count" role="status" tabindex="-1">' in text
        assert "Skip to the results" not in await page(client, "/register?council=nowhere", 400)
    finally:
        await client.close()
