"""The things the framework talks about, and how what officers type becomes them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kcpf.errors import InvalidInput
from kcpf.model import ArrangementType, Council, Officer, Status, parse_reference
from kcpf.records import arrangement_changes, from_data, to_data
from tests.builders import arrangement


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("KCP-0001", "KCP-0001"),
        ("kcp-1", "KCP-0001"),
        ("KCP 12", "KCP-0012"),
        ("42", "KCP-0042"),
        ("KCP-12345", "KCP-12345"),
    ],
)
def test_references(text: str, reference: str) -> None:
    assert parse_reference(text) == reference


@pytest.mark.parametrize("text", ["", "KCP-", "KCP-0000", "ABC-0001", "KCP-1a"])
def test_bad_references(text: str) -> None:
    with pytest.raises(InvalidInput, match="References look like KCP-0001"):
        parse_reference(text)


@pytest.mark.parametrize(
    ("text", "council"),
    [
        ("Chorley", Council.CHORLEY),
        ("south ribble", Council.SOUTH_RIBBLE),
        ("South-Ribble", Council.SOUTH_RIBBLE),
        ("SRBC", Council.SOUTH_RIBBLE),
        ("both", Council.SHARED),
        ("shared", Council.SHARED),
    ],
)
def test_councils(text: str, council: Council) -> None:
    assert Council.parse(text) is council


def test_council_names_and_executives() -> None:
    assert Council.CHORLEY.executive == "Executive Cabinet"
    assert Council.SOUTH_RIBBLE.executive == "Cabinet"
    assert Council.SOUTH_RIBBLE.label == "South Ribble Borough Council"
    with pytest.raises(InvalidInput, match="reports to both executives"):
        _ = Council.SHARED.executive
    with pytest.raises(InvalidInput, match="Answer Chorley, South Ribble, or shared"):
        Council.parse("Preston")


def test_shared_arrangements_are_in_both_registers() -> None:
    assert Council.SHARED.covers(Council.CHORLEY)
    assert Council.SHARED.covers(Council.SOUTH_RIBBLE)
    assert Council.CHORLEY.covers(Council.CHORLEY)
    assert not Council.CHORLEY.covers(Council.SOUTH_RIBBLE)
    assert not Council.CHORLEY.covers(Council.SHARED)


def test_type_and_status_words() -> None:
    assert ArrangementType.parse("Partnership") is ArrangementType.PARTNERSHIP
    assert Status.parse("proposed to SMT") is Status.PROPOSED
    assert Status.parse("not key") is Status.NOT_KEY
    with pytest.raises(InvalidInput, match="Choose one of: identified, assessed"):
        Status.parse("pending")
    with pytest.raises(InvalidInput, match="answer contract or partnership"):
        ArrangementType.parse("grant")


def test_officer_emails_are_normalised_and_checked() -> None:
    assert Officer(" Jo.Bloggs@Chorley.gov.uk ").email == "jo.bloggs@chorley.gov.uk"
    with pytest.raises(InvalidInput, match="is not an email address"):
        Officer("Jo Bloggs")


def test_an_arrangement_must_make_sense() -> None:
    with pytest.raises(InvalidInput) as raised:
        arrangement(
            title=" ", annual_value=Decimal("-1"), start_date=date(2026, 4, 1), end_date=date(2026, 3, 31)
        )
    message = raised.value.message
    assert "a title is needed" in message
    assert "the annual value cannot be negative" in message
    assert "the end date is before the start date" in message


def test_plain_data_round_trip_is_exact() -> None:
    original = arrangement(annual_value=Decimal("99999.99"), corporate_priorities=("An exemplary council",))
    data = to_data(original)
    assert data["annual_value"] == "99999.99"
    assert data["start_date"] == "2025-04-01"
    assert from_data(type(original), data) == original


def test_audit_changes_name_each_field_before_and_after() -> None:
    before = arrangement()
    after = arrangement(description="Weekly collections", version=2, annual_value=Decimal("260000"))
    assert arrangement_changes(before, after) == (
        ("description", "", "Weekly collections"),
        ("annual_value", "250000", "260000"),
    )
