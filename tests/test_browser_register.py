"""The register page (/register, /register/{reference}, /register.csv) in headless Chromium (Debian's, driven
by Python Playwright), served by the real `kcpf serve` on a register of 50 arrangements built through the use
cases (tests/register_sample.py). The rows, the CSV and the arrangement page are checked against the register
and against what the sample recorded; axe-core checks each page against WCAG 2.0, 2.1 and 2.2 A and AA.

Screenshots and axe's results go to tests/artifacts/.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from connectors.clock import LONDON
from connectors.sqlite_register import SqliteRegister
from kcpf.framework import FRAMEWORK_2025
from kcpf.model import KEY_STATUSES, Arrangement, Council, Status
from kcpf.monitoring import Rag
from kcpf.parsing import parse_money, parse_uk_date
from kcpf.services import ArrangementFile, FrameworkService
from kcpf.standing import standing
from tests.builders import FixedClock, at
from tests.conftest import require_system_package
from tests.playground import ROOT, Started, free_port, start_bot
from tests.register_sample import SIZE, TODAY, Sample, sample_register
from tests.test_browser_playground import CHROMIUM_ARGS

ARTIFACTS = Path(__file__).parent / "artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
BLOCKING = {"serious", "critical"}
# The page contract's words (/work/notes/i7/page-contract.md), written out here rather than imported from the
# page, so that a change to the page's columns shows up as a failure.
COLUMNS = [
    "Reference", "Title", "Type", "Council", "Status", "RAG", "Responsible officer", "Annual value",
    "End date", "Next update due", "Open gaps",
]  # fmt: skip
CSV_HEADER = [
    "Reference", "Title", "Type", "Council", "Status", "RAG", "Responsible officer",
    "Responsible officer email", "Annual value", "Total value", "Start date", "End date", "Next update due",
    "Open governance gaps",
]  # fmt: skip
SECTIONS = [
    "Details",
    "Assessment against the criteria",
    "Governance",
    "Monitoring updates",
    "SMT decisions",
    "History",
]
ROWS_JS = """() => [...document.querySelectorAll('#register tbody tr')]
    .map(tr => [...tr.children].map(cell => cell.innerText.trim()))"""
FOCUSED_JS = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {tag: el.tagName.toLowerCase(), id: el.id, href: el.getAttribute('href') || '',
            outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth};
}"""


@dataclass(frozen=True)
class Site:
    url: str
    sample: Sample
    bot: Started

    def register(self) -> SqliteRegister:
        return SqliteRegister(self.sample.path)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The sample register and `kcpf serve` on it (loopback, no credentials), once for the module."""
    workdir = tmp_path_factory.mktemp("register-page")
    data_dir = workdir / "data"
    data_dir.mkdir()
    sample = sample_register(data_dir)
    port = free_port()
    bot = start_bot(data_dir, port, workdir / "bot.log")
    try:
        yield Site(f"http://127.0.0.1:{port}", sample, bot)
    finally:
        bot.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = require_system_package("chromium", "chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        opened = context.new_page()
        opened.set_default_timeout(10_000)
        yield opened
    finally:
        context.close()


def files(site: Site, arrangements: list[Arrangement]) -> list[ArrangementFile]:
    with site.register() as register:
        return FrameworkService(register, FixedClock(at(TODAY)), FRAMEWORK_2025).files(arrangements)


def expected(
    site: Site, *, council: Council | None = None, status: Status | None = None
) -> list[Arrangement]:
    with site.register() as register:
        return register.arrangements(council=council, status=status)


def shown(page: Page) -> list[list[str]]:
    rows: list[list[str]] = page.evaluate(ROWS_JS)
    return rows


def check_rows(site: Site, rows: list[list[str]], arrangements: list[Arrangement]) -> None:
    """Each row shows its arrangement as the register holds it, in reference order (the default sort)."""
    assert [r[0] for r in rows] == [a.reference for a in arrangements]
    today = server_today()
    for row, file in zip(rows, files(site, arrangements), strict=True):
        a = file.arrangement
        cells = dict(zip(COLUMNS, row, strict=True))
        plan = site.sample.planned[a.reference or ""]
        due = standing(file, FRAMEWORK_2025, today).next_update_due
        if due is None:
            assert not re.search(r"\d", cells["Next update due"]), cells
        else:
            shown_due = re.fullmatch(r"(.+?)( \(overdue\))?", cells["Next update due"])
            assert shown_due is not None, cells
            day, overdue = shown_due.groups()
            assert parse_uk_date(day) == due, cells
            if abs((due - today).days) > 1:  # not at midnight's mercy
                assert bool(overdue) is (due < today), cells
        assert cells["Title"] == a.title
        assert cells["Type"] == a.type.label
        assert cells["Council"] == a.council.label
        assert cells["Status"] == a.status.label
        assert cells["RAG"] == (plan.rag.label if plan.rag else "No update yet"), a.reference
        if a.responsible_officer is not None:
            assert cells["Responsible officer"] == a.responsible_officer.name
        if a.annual_value is None:
            assert not re.search(r"\d", cells["Annual value"]), cells
        else:
            assert parse_money(cells["Annual value"]) == a.annual_value, cells
        if a.end_date is None:
            assert not re.search(r"\d", cells["End date"]), cells
        else:
            assert parse_uk_date(cells["End date"]) == a.end_date, cells
        assert re.search(rf"\b{len(plan.open_gaps)}\b", cells["Open gaps"]), cells


def test_the_register_shows_all_fifty_arrangements_as_recorded(site: Site, page: Page) -> None:
    response = page.goto(f"{site.url}/register")
    assert response is not None
    assert response.status == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert page.locator("html").get_attribute("lang") == "en-GB"
    assert page.get_by_role("heading", level=1).inner_text() == "Register of contracts and partnerships"
    # Each header is the column's name (a sort link described by the hint above the table; the sorted one
    # marked ▲ or ▼ for sight only).
    headings = page.locator("#register thead th").all_inner_texts()
    assert [h.replace("▲", "").replace("▼", "").strip() for h in headings] == list(COLUMNS)
    title = page.locator("#register thead").get_by_role("link", name="Title", exact=True)
    assert title.get_attribute("aria-describedby") == "sort-hint"
    assert page.locator("#count").inner_text() == f"Showing {SIZE} of {SIZE} contracts and partnerships"
    check_rows(site, shown(page), expected(site))
    page.screenshot(path=ARTIFACTS / "register.png", full_page=True)


def test_filter_open_one_come_back_and_download_what_is_shown(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/register")

    # By council, chosen by its label and applied with the button.
    page.get_by_label("Council", exact=True).select_option(label=f"{Council.CHORLEY.label} (with shared)")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"council=chorley"))
    chorley = expected(site, council=Council.CHORLEY)
    assert any(a.council is Council.SHARED for a in chorley)  # shared ones are on Chorley's register
    check_rows(site, shown(page), chorley)
    assert (
        page.locator("#count").inner_text() == f"Showing {len(chorley)} of {SIZE} contracts and partnerships"
    )

    # And by status, applied with the keyboard (Enter in the search box submits the form).
    page.get_by_label("Status", exact=True).select_option(label=Status.MONITORING.label)
    page.get_by_label("Search", exact=True).press("Enter")
    page.wait_for_url(re.compile(r"status=monitoring"))
    assert "council=chorley" in page.url
    both = expected(site, council=Council.CHORLEY, status=Status.MONITORING)
    assert 1 < len(both) < len(chorley)
    check_rows(site, shown(page), both)
    assert page.locator("#count").inner_text() == f"Showing {len(both)} of {SIZE} contracts and partnerships"
    assert page.get_by_label("Council", exact=True).input_value() == "chorley"  # the form keeps the choice
    assert page.get_by_label("Status", exact=True).input_value() == "monitoring"
    page.screenshot(path=ARTIFACTS / "register-filtered.png", full_page=True)
    filtered_url = page.url

    # One arrangement, by its link: with a governance gap and updates, to see those sections filled.
    chosen = next(a for a in both if site.sample.planned[a.reference or ""].open_gaps)
    check_arrangement_page(site, page, chosen, click=True)
    page.screenshot(path=ARTIFACTS / "register-arrangement.png", full_page=True)
    page.go_back()
    page.wait_for_url(filtered_url)
    assert [r[0] for r in shown(page)] == [a.reference for a in both]

    # The CSV of the filtered view, row for row.
    link = page.locator("#csv")
    assert link.inner_text() == "Download these as CSV"
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "kcpf-register.csv"
    saved = ARTIFACTS / "register-filtered.csv"
    download.save_as(saved)
    check_csv(site, saved.read_bytes(), both)


def check_arrangement_page(site: Site, page: Page, arrangement: Arrangement, *, click: bool) -> None:
    reference = arrangement.reference or ""
    if click:
        page.get_by_role("link", name=reference, exact=True).click()
    page.wait_for_url(re.compile(rf"/register/{reference}$"))
    assert page.get_by_role("heading", level=1).inner_text() == f"{reference} {arrangement.title}"
    assert page.get_by_role("heading", level=2).all_inner_texts() == SECTIONS
    text = page.locator("body").inner_text()
    plan = site.sample.planned[reference]
    officer = arrangement.responsible_officer
    assert officer is not None
    for fact in (
        arrangement.partner,
        arrangement.council.label,
        arrangement.status.label,
        officer.name,
        plan.decision_note,
        plan.achievements,
        *plan.open_gaps,
    ):
        assert fact, reference  # the sample recorded it
        assert fact in text, f"{reference}'s page does not show “{fact}”"
    assert plan.rag is not None
    assert plan.rag.label in text
    backs = page.get_by_role("link", name="Back to the register").all()
    assert backs
    assert all(back.get_attribute("href") == "/register" for back in backs)


def check_csv(site: Site, content: bytes, arrangements: list[Arrangement]) -> None:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM, for Excel
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert rows[0] == CSV_HEADER
    assert len(rows) == len(arrangements) + 1
    for row, file in zip(rows[1:], files(site, arrangements), strict=True):
        a = file.arrangement
        plan = site.sample.planned[a.reference or ""]
        officer = a.responsible_officer
        due = standing(file, FRAMEWORK_2025, server_today()).next_update_due
        assert row == [
            a.reference,
            spreadsheet_text(a.title),
            a.type.label,
            a.council.label,
            a.status.label,
            plan.rag.label if plan.rag else "",
            officer.name if officer else "",
            officer.email if officer else "",
            money(a.annual_value),
            money(a.total_value),
            a.start_date.isoformat() if a.start_date else "",
            a.end_date.isoformat() if a.end_date else "",
            due.isoformat() if due else "",
            str(len(plan.open_gaps)),
        ]


def server_today() -> date:
    """The server's clock (the real one, in London) decides which update is owed first and is overdue."""
    return datetime.now(LONDON).date()


def spreadsheet_text(text: str) -> str:
    """The contract's guard against CSV formula injection: a leading ' before what a spreadsheet would run."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def test_the_whole_register_as_csv(site: Site, page: Page) -> None:
    """Every arrangement, with the empty values (no officer, value or end date) the filtered view lacks."""
    page.goto(f"{site.url}/register")
    with page.expect_download() as download_info:
        page.locator("#csv").click()
    path = download_info.value.path()
    check_csv(site, Path(path).read_bytes(), expected(site))


def test_the_other_filters_search_and_sort_show_what_they_say(site: Site, page: Page) -> None:
    everything = expected(site)
    planned = site.sample.planned

    def refs(chosen: list[Arrangement]) -> list[str]:
        return [a.reference or "" for a in chosen]

    by_value = sorted(
        (a for a in everything if a.annual_value is not None), key=lambda a: -(a.annual_value or 0)
    )
    cases = {
        "rag=red": refs([a for a in everything if planned[a.reference or ""].rag is Rag.RED]),
        "rag=none": refs([a for a in everything if planned[a.reference or ""].rag is None]),
        "officer=none": refs([a for a in everything if a.responsible_officer is None]),
        "officer=jo.bloggs%40chorley.gov.uk": refs(expected_officer(site, "jo.bloggs@chorley.gov.uk")),
        "key=yes": refs([a for a in everything if a.status in KEY_STATUSES]),
        "q=CAF%C3%89": refs([a for a in everything if "café" in a.title.casefold()]),  # "CAFÉ"
        "sort=value&order=desc": refs(by_value + [a for a in everything if a.annual_value is None]),
    }
    page.goto(f"{site.url}/register?q=nothing+is+called+this")
    assert page.locator("#count").inner_text() == f"Showing 0 of {SIZE} contracts and partnerships"
    assert page.locator("#none").is_visible()
    assert page.locator("#register").count() == 0
    for query, references in cases.items():
        page.goto(f"{site.url}/register?{query}")
        assert references, query  # the sample has some of each
        assert [row[0] for row in shown(page)] == references, query


def expected_officer(site: Site, email: str) -> list[Arrangement]:
    with site.register() as register:
        return register.arrangements(officer=email)


def test_keyboard_reaches_the_filters_and_a_row_link_with_focus_visible(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/register")
    seen: list[dict[str, Any]] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        focused: dict[str, Any] = page.evaluate(FOCUSED_JS)
        seen.append(focused)
        if re.fullmatch(r"/register/KCP-\d{4}", focused["href"]):
            break
    ids = [f["id"] for f in seen]
    for control in ("council", "status", "rag", "officer", "key", "q"):
        assert control in ids, f"Tab never reached the {control} filter: {seen}"
    row_link = seen[-1]
    assert re.fullmatch(r"/register/KCP-\d{4}", row_link["href"]), f"Tab never reached a row link: {seen}"
    for focused in (seen[ids.index("council")], row_link):
        assert focused["outlineStyle"] != "none", focused
        assert focused["outlineWidth"] != "0px", focused
    page.keyboard.press("Enter")  # and the link opens its arrangement
    page.wait_for_url(re.compile(re.escape(row_link["href"]) + "$"))


def test_a_bad_filter_is_refused_with_a_message_naming_it(site: Site, page: Page) -> None:
    response = page.goto(f"{site.url}/register?council=lancaster&status=monitoring")
    assert response is not None
    assert response.status == 400
    problem = page.locator("#problem")
    assert problem.get_attribute("role") == "alert"
    assert "Council" in problem.inner_text()
    assert "lancaster" in problem.inner_text()
    assert page.get_by_label("Status", exact=True).input_value() == "monitoring"  # kept what was entered
    csv_response = page.request.get(f"{site.url}/register.csv?rag=purple")
    assert csv_response.status == 400
    assert csv_response.headers["content-type"].startswith("text/plain")
    assert csv_response.text().startswith("RAG: “purple” is not one of the choices.")


@pytest.mark.parametrize("reference", ["KCP-0999", "not-a-reference"])
def test_an_arrangement_not_on_the_register_gets_404_with_a_way_back(
    site: Site, page: Page, reference: str
) -> None:
    response = page.goto(f"{site.url}/register/{reference}")
    assert response is not None
    assert response.status == 404
    assert reference in page.locator("main").inner_text()
    page.get_by_role("link", name="Back to the register").first.click()
    page.wait_for_url(f"{site.url}/register")
    assert len(shown(page)) == SIZE


def test_sorting_keeps_the_filters_and_filtering_keeps_the_sort(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/register?council=shared")
    shared = expected(site, council=Council.SHARED)
    page.locator("#register thead").get_by_role("link", name="Title", exact=True).click()
    page.wait_for_url(re.compile(r"sort=title"))
    assert "council=shared" in page.url
    by_title = sorted(shared, key=lambda a: a.title.casefold())
    assert [r[0] for r in shown(page)] == [a.reference for a in by_title]
    sorted_heading = page.locator("#register th[aria-sort]")
    assert sorted_heading.inner_text().replace("▲", "").strip() == "Title"
    assert sorted_heading.get_attribute("aria-sort") == "ascending"
    page.get_by_label("Key or not", exact=True).select_option(label="Key")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"key=yes"))
    assert "sort=title" in page.url
    key_by_title = [a.reference for a in by_title if a.status in KEY_STATUSES]
    assert [r[0] for r in shown(page)] == key_by_title


AXE_PAGES = {
    "register": "/register",
    "filtered": "/register?council=chorley&status=monitoring",
    "arrangement": "/register/{reference}",
    "bad-filter": "/register?council=lancaster",
    "no-match": "/register?q=nothing-is-called-this",
    "not-found": "/register/KCP-0999",
}


@pytest.mark.parametrize("name", list(AXE_PAGES))
def test_axe_finds_no_serious_or_critical_accessibility_problem(
    site: Site, browser: Browser, name: str
) -> None:
    if not AXE.exists():
        pytest.skip(f"needs axe-core from npm: {AXE} is missing (run `make node-deps`)")
    # The page's Content-Security-Policy forbids every script, so axe could not be injected: this context
    # bypasses the CSP for the accessibility check only (the other tests see the page as people do).
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    try:
        page = context.new_page()
        reference = next(a.reference for a in expected(site, status=Status.MONITORING))
        page.goto(site.url + AXE_PAGES[name].format(reference=reference))
        page.add_script_tag(path=str(AXE))
        results: dict[str, Any] = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
    finally:
        context.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-register-{name}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    violations = results["violations"]
    for v in violations:  # every one, whatever its impact, in the test's output
        print(f"axe {name}: {v['id']} ({v['impact']}): {v['help']} on {[n['target'] for n in v['nodes']]}")
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe found on {name}:\n" + "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} ({v['helpUrl']})\n"
        + "\n".join(f"    {node['target']}: {node['failureSummary']}" for node in v["nodes"])
        for v in blocking
    )
    assert results["passes"], "axe checked nothing"  # it ran the rules, on a page with content
