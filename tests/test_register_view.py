"""The register page as data: its query (every filter, and a clear message for a bad value), the rows it
selects and their order, the CSV lines and the page of one arrangement."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from kcpf.errors import InvalidInput
from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import AreaAnswer, GovernanceReview, InPlace
from kcpf.model import Council, Officer, Status
from kcpf.monitoring import Rag
from kcpf.records import AuditEntry, change_label
from kcpf.register_view import (
    CSV_HEADER,
    RegisterQuery,
    RegisterRow,
    arrangement_page,
    count_text,
    csv_rows,
    officers,
    parse_query,
    register_rows,
    select,
)
from kcpf.services import ArrangementFile
from tests.builders import arrangement, at, monitoring_update

TODAY = date(2026, 11, 20)
JO = Officer("jo.bloggs@chorley.gov.uk", "Jo Bloggs")
AL = Officer("al.jones@southribble.gov.uk", "Al Jones")


def row(reference: str, **changes: object) -> RegisterRow:
    base = RegisterRow(
        reference=reference,
        title="Waste collection",
        type_label="Contract",
        council=Council.CHORLEY,
        status=Status.IDENTIFIED,
        is_key=False,
        partner="Acme Ltd",
        service="",
        officer=JO,
        rag=None,
        annual_value=None,
        total_value=None,
        start_date=None,
        end_date=None,
        next_update_due=None,
        update_overdue=False,
        open_gaps=0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def refs(rows: list[RegisterRow]) -> list[str]:
    return [r.reference for r in rows]


# Parsing the query.


def test_an_empty_query_filters_nothing_and_sorts_by_reference() -> None:
    assert parse_query({}) == RegisterQuery()
    assert parse_query(dict.fromkeys(("council", "status", "rag", "officer", "key", "q", "sort"), "")) == (
        RegisterQuery()
    )
    assert RegisterQuery().params() == []


def test_every_filter_is_read() -> None:
    query = parse_query(
        {
            "council": "south-ribble",
            "status": "Governance-in-place",
            "rag": "AMBER",
            "officer": " Jo.Bloggs@Chorley.gov.uk ",
            "key": "yes",
            "q": "  waste   depot ",
            "sort": "next-update",
            "order": "desc",
            "access": "ignored: not a filter",
        }
    )
    assert query == RegisterQuery(
        council=Council.SOUTH_RIBBLE,
        status=Status.GOVERNANCE_IN_PLACE,
        rag=Rag.AMBER,
        officer="jo.bloggs@chorley.gov.uk",
        key=True,
        q="waste depot",
        sort="next-update",
        order="desc",
    )
    assert query.params() == [
        ("council", "south-ribble"),
        ("status", "governance-in-place"),
        ("rag", "amber"),
        ("officer", "jo.bloggs@chorley.gov.uk"),
        ("key", "yes"),
        ("q", "waste depot"),
        ("sort", "next-update"),
        ("order", "desc"),
    ]
    assert parse_query(dict(query.params())) == query  # the links it makes read back the same
    assert parse_query({"rag": "none", "officer": "NONE", "key": "no"}) == RegisterQuery(
        rag="none", officer="none", key=False
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        (
            "council",
            "lancashire",
            "Council: “lancashire” is not one of the choices. Choose chorley, south-ribble",
        ),
        ("status", "done", "Status: “done” is not one of the choices. Choose one of identified, assessed"),
        ("rag", "purple", "RAG: “purple” is not one of the choices. Choose green, amber, red or none"),
        ("officer", "jo bloggs", "Responsible officer: “jo bloggs” is not an email address"),
        ("key", "maybe", "Key or not: “maybe” is not one of the choices. Choose yes or no"),
        ("q", "x" * 201, "Search: 201 characters is too long; search for at most 200"),
        ("sort", "partner", "Sort: “partner” is not one of the choices. Choose one of reference, title"),
        ("order", "up", "Order: “up” is not one of the choices. Choose asc (ascending) or desc (descending)"),
    ],
)
def test_a_bad_value_is_refused_naming_the_filter_and_its_choices(name: str, value: str, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_query({name: value})
    assert refused.value.message.startswith(says)
    assert refused.value.field == name


def test_sorting_by_a_column_again_reverses_it() -> None:
    query = RegisterQuery(council=Council.CHORLEY)
    by_title = query.sorted_by("title")
    assert (by_title.sort, by_title.order, by_title.council) == ("title", "asc", Council.CHORLEY)
    assert by_title.sorted_by("title").order == "desc"
    assert by_title.sorted_by("title").sorted_by("title").order == "asc"
    assert by_title.sorted_by("value").order == "asc"


# Choosing and ordering rows.


def test_each_filter_chooses_its_rows() -> None:
    rows = [
        row("KCP-0001", council=Council.CHORLEY, status=Status.MONITORING, is_key=True, rag=Rag.RED),
        row("KCP-0002", council=Council.SOUTH_RIBBLE, officer=AL, status=Status.KEY, is_key=True),
        row("KCP-0003", council=Council.SHARED, officer=None, rag=Rag.GREEN, status=Status.MONITORING),
        row("KCP-0004", council=Council.CHORLEY, status=Status.ENDED, rag=Rag.AMBER),
    ]
    cases = {
        "council=chorley": (RegisterQuery(council=Council.CHORLEY), ["KCP-0001", "KCP-0003", "KCP-0004"]),
        "council=south-ribble": (RegisterQuery(council=Council.SOUTH_RIBBLE), ["KCP-0002", "KCP-0003"]),
        "council=shared": (RegisterQuery(council=Council.SHARED), ["KCP-0003"]),
        "status": (RegisterQuery(status=Status.MONITORING), ["KCP-0001", "KCP-0003"]),
        "rag": (RegisterQuery(rag=Rag.AMBER), ["KCP-0004"]),
        "rag none": (RegisterQuery(rag="none"), ["KCP-0002"]),
        "officer": (RegisterQuery(officer=AL.email), ["KCP-0002"]),
        "officer none": (RegisterQuery(officer="none"), ["KCP-0003"]),
        "key": (RegisterQuery(key=True), ["KCP-0001", "KCP-0002"]),
        "not key": (RegisterQuery(key=False), ["KCP-0003", "KCP-0004"]),
        "together": (RegisterQuery(council=Council.CHORLEY, key=False, rag=Rag.GREEN), ["KCP-0003"]),
    }
    for name, (query, expected) in cases.items():
        assert refs(select(rows, query)) == expected, name


def test_search_looks_in_reference_title_partner_service_and_officer_ignoring_case() -> None:
    rows = [
        row("KCP-0001", title="Leisure centres"),
        row("KCP-0002", partner="Lancashire Constabulary", officer=AL),
        row("KCP-0003", service="Streetscene", officer=None),
        row("KCP-0012"),
    ]
    for words, expected in {
        "LEISURE": ["KCP-0001"],
        "constab": ["KCP-0002"],
        "streetscene": ["KCP-0003"],
        "al jones": ["KCP-0002"],  # every word somewhere, not the phrase
        "southribble.gov": ["KCP-0002"],
        "kcp-0012": ["KCP-0012"],
        "jo bloggs": ["KCP-0001", "KCP-0012"],
        "leisure acme": ["KCP-0001"],
        "nothing like it": [],
    }.items():
        assert refs(select(rows, RegisterQuery(q=words))) == expected, words


def test_sorting_is_stable_and_puts_rows_without_a_value_last_either_way() -> None:
    rows = [
        row("KCP-0010", annual_value=Decimal("100"), end_date=date(2030, 1, 1), title="b"),
        row("KCP-0002", annual_value=None, title="B"),
        row("KCP-0003", annual_value=Decimal("100"), end_date=date(2027, 1, 1), title="a"),
        row("KCP-0001", annual_value=Decimal("5"), title="C"),
    ]
    value = RegisterQuery(sort="value")
    assert refs(select(rows, value)) == ["KCP-0001", "KCP-0003", "KCP-0010", "KCP-0002"]
    descending = RegisterQuery(sort="value", order="desc")
    assert refs(select(rows, descending)) == ["KCP-0003", "KCP-0010", "KCP-0001", "KCP-0002"]
    assert refs(select(rows, RegisterQuery())) == ["KCP-0001", "KCP-0002", "KCP-0003", "KCP-0010"]
    assert refs(select(rows, RegisterQuery(order="desc"))) == ["KCP-0010", "KCP-0003", "KCP-0002", "KCP-0001"]
    assert refs(select(rows, RegisterQuery(sort="end")))[:2] == ["KCP-0003", "KCP-0010"]
    assert refs(select(rows, RegisterQuery(sort="title"))) == ["KCP-0003", "KCP-0002", "KCP-0010", "KCP-0001"]


def test_rag_sorts_by_severity_status_by_the_framework_stages_and_officer_by_name() -> None:
    rows = [
        row("KCP-0001", rag=Rag.RED, status=Status.MONITORING, officer=None),
        row("KCP-0002", rag=None, status=Status.IDENTIFIED, officer=JO),
        row("KCP-0003", rag=Rag.GREEN, status=Status.PROPOSED, officer=AL),
        row("KCP-0004", rag=Rag.AMBER, status=Status.ASSESSED, officer=Officer("zed@chorley.gov.uk")),
    ]
    assert refs(select(rows, RegisterQuery(sort="rag"))) == ["KCP-0003", "KCP-0004", "KCP-0001", "KCP-0002"]
    assert refs(select(rows, RegisterQuery(sort="rag", order="desc")))[0] == "KCP-0001"
    assert refs(select(rows, RegisterQuery(sort="status"))) == [
        "KCP-0002",
        "KCP-0004",
        "KCP-0003",
        "KCP-0001",
    ]
    assert refs(select(rows, RegisterQuery(sort="officer"))) == [
        "KCP-0003",
        "KCP-0002",
        "KCP-0004",
        "KCP-0001",
    ]


def test_rows_come_from_the_files_with_where_each_stands() -> None:
    key = arrangement(reference="KCP-0007", status=Status.MONITORING, key_since=date(2026, 5, 20))
    review = GovernanceReview(
        "KCP-0007",
        "2025.1",
        (AreaAnswer("exit_strategy", InPlace.NO, "Draft one", date(2027, 1, 31)),),
        JO.email,
        at(TODAY),
    )
    files = [
        ArrangementFile(
            key, (), (), (review,), (monitoring_update("2025/26-H2", Rag.AMBER, reference="KCP-0007"),)
        ),
        ArrangementFile(arrangement(reference="KCP-0008", responsible_officer=None), (), (), (), ()),
    ]
    first, second = register_rows(files, FRAMEWORK_2025, TODAY)
    assert (first.reference, first.is_key, first.rag, first.open_gaps) == ("KCP-0007", True, Rag.AMBER, 1)
    assert first.next_update_due == date(2026, 10, 31)
    assert first.update_overdue  # 2026/27-H1 was due by 31 October
    assert first.rag_label == "Amber"
    assert (second.is_key, second.rag, second.next_update_due, second.update_overdue) == (
        False,
        None,
        None,
        False,
    )
    assert second.rag_label == "No update yet"
    assert second.officer_label == "None assigned"


def test_the_officer_choices_are_each_officer_once_by_name() -> None:
    rows = [row("KCP-0001"), row("KCP-0002", officer=AL), row("KCP-0003", officer=None), row("KCP-0004")]
    assert [o.email for o in officers(rows)] == [AL.email, JO.email]


def test_the_count_says_how_many_of_how_many() -> None:
    assert count_text(12, 50) == "Showing 12 of 50 contracts and partnerships"
    assert count_text(1, 1) == "Showing 1 of 1 contract or partnership"
    assert count_text(0, 1250) == "Showing 0 of 1,250 contracts and partnerships"


# The CSV lines.


def test_csv_lines_are_the_rows_in_order_with_plain_numbers_and_iso_dates() -> None:
    rows = [
        row(
            "KCP-0002",
            title="Leisure, centres",
            rag=Rag.GREEN,
            status=Status.MONITORING,
            annual_value=Decimal("250000"),
            total_value=Decimal("1250000.5"),
            start_date=date(2025, 4, 1),
            end_date=date(2032, 3, 31),
            next_update_due=date(2027, 4, 30),
            open_gaps=2,
        ),
        row("KCP-0001", officer=None),
    ]
    lines = csv_rows(rows)
    assert lines[0] == list(CSV_HEADER)
    assert ",".join(CSV_HEADER) == (
        "Reference,Title,Type,Council,Status,RAG,Responsible officer,Responsible officer email,Annual value,"
        "Total value,Start date,End date,Next update due,Open governance gaps"
    )
    assert lines[1] == [
        "KCP-0002",
        "Leisure, centres",
        "Contract",
        "Chorley Council",
        "Monitoring",
        "Green",
        "Jo Bloggs",
        "jo.bloggs@chorley.gov.uk",
        "250000.00",
        "1250000.50",
        "2025-04-01",
        "2032-03-31",
        "2027-04-30",
        "2",
    ]
    assert lines[2] == ["KCP-0001", "Waste collection", "Contract", "Chorley Council", "Identified"] + [
        ""
    ] * 8 + ["0"]


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_kept_as_text() -> None:
    lines = csv_rows(
        [row("KCP-0001", title='=HYPERLINK("http://x")', partner="-", officer=Officer("a@b.cd", "@me"))]
    )
    assert lines[1][1] == '\'=HYPERLINK("http://x")'
    assert lines[1][6] == "'@me"


# One arrangement's page.


def test_the_page_of_an_arrangement_not_yet_assessed_shows_what_the_record_suggests() -> None:
    page = arrangement_page(
        ArrangementFile(arrangement(reference="KCP-0001"), (), (), (), ()), [], FRAMEWORK_2025, TODAY
    )
    assert page.heading == "KCP-0001 Waste collection"
    details = dict(page.details)
    assert details["Annual value"] == "£250,000"
    assert details["Total value"] == "Not recorded"
    assert details["Term"] == "7 years"
    assert details["Council"] == "Chorley Council"
    assert page.assessment is None
    financial = next(c for c in page.criteria if c.name == "Financial")
    assert financial.met == "Yes"
    assert financial.note.startswith("The record suggests: ")
    assert page.rag_label == "No update yet"


def test_the_page_puts_updates_and_history_newest_first() -> None:
    updates = (monitoring_update("2026/27-H1", Rag.RED), monitoring_update("2025/26-H2", Rag.GREEN))
    history = [
        AuditEntry(at(date(2025, 5, 1)), "tp@chorley.gov.uk", "KCP-0001", "identify", (), 1),
        AuditEntry(at(date(2026, 10, 10)), JO.email, "KCP-0001", "edit", (("title", "Old", "New"),), 2),
    ]
    key = arrangement(status=Status.MONITORING, key_since=date(2025, 6, 10))
    page = arrangement_page(ArrangementFile(key, (), (), (), updates), history, FRAMEWORK_2025, TODAY)
    assert [u.period for u in page.updates] == ["2026/27-H1", "2025/26-H2"]
    assert [e.sequence for e in page.history] == [2, 1]
    assert page.rag is Rag.RED
    assert page.next_update_due == date(2025, 10, 31)  # 2025/26-H1, the half-year it became key, is missing
    assert page.update_overdue


def test_a_key_arrangement_without_its_key_date_says_the_date_is_not_recorded() -> None:
    def key_since(**fields: object) -> str:
        file = ArrangementFile(arrangement(reference="KCP-0001", **fields), (), (), (), ())
        return dict(arrangement_page(file, [], FRAMEWORK_2025, TODAY).details)["Key since"]

    assert key_since(status=Status.MONITORING, key_since=None) == "Not recorded"
    assert key_since(status=Status.MONITORING, key_since=date(2025, 6, 10)) == "10 June 2025"
    assert key_since(status=Status.ASSESSED, key_since=None) == "Not key"


def test_audit_lines_name_fields_and_records_in_words() -> None:
    assert change_label("annual_value") == "Annual value"
    assert change_label("responsible_officer") == "Responsible officer"
    assert change_label("smt_decision") == "SMT decision"
    assert change_label("governance_review") == "Governance self-assessment"
