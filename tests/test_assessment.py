"""Steps 1 and 2: the criteria of Appendix A, the suggestions from the record's facts, and the result."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from kcpf.assessment import Answer, assess, describe_term, suggest, term_months
from kcpf.errors import InvalidInput
from kcpf.framework import CURRENT_VERSION, FRAMEWORK_2025, VERSIONS, check_priorities, framework_version
from kcpf.model import Council
from tests.builders import arrangement, at

ALL_NO = {key: Answer(False) for key in FRAMEWORK_2025.criterion_keys}


def answers(*met: str) -> dict[str, Answer]:
    return {key: Answer(key in met, f"reason for {key}") for key in FRAMEWORK_2025.criterion_keys}


def test_the_five_criteria_in_appendix_a_order() -> None:
    assert FRAMEWORK_2025.criterion_keys == ("financial", "priorities", "risk", "length", "resource")
    names = [c.name for c in FRAMEWORK_2025.criteria]
    assert names == ["Financial", "Corporate Priorities", "Risk", "Length", "Resource"]
    assert "£100k or more per annum" in FRAMEWORK_2025.criterion("financial").guidance
    assert "5 or more years" in FRAMEWORK_2025.criterion("length").guidance
    risk = FRAMEWORK_2025.criterion("risk").guidance
    for example in ("disruption to core services", "£100k+ financial impact", "systems unavailable"):
        assert example in risk


def test_the_framework_numbers_are_data_of_a_version() -> None:
    assert FRAMEWORK_2025.financial_threshold == Decimal("100000")
    assert FRAMEWORK_2025.minimum_term_years == 5
    assert FRAMEWORK_2025.key_threshold == 3
    assert VERSIONS[CURRENT_VERSION] is FRAMEWORK_2025
    assert FRAMEWORK_2025.next_review == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("met", "is_key", "explanation"),
    [
        (("financial", "risk", "length"), True, "3 of 5 met: Financial, Risk, Length: key"),
        (("financial", "risk"), False, "2 of 5 met: Financial, Risk: not key (at least 3 are needed)"),
        ((), False, "0 of 5 met: none: not key (at least 3 are needed)"),
        (
            FRAMEWORK_2025.criterion_keys,
            True,
            "5 of 5 met: Financial, Corporate Priorities, Risk, Length, Resource: key",
        ),
    ],
)
def test_key_if_at_least_three_are_met(met: tuple[str, ...], is_key: bool, explanation: str) -> None:
    result = assess(
        FRAMEWORK_2025, arrangement(), answers(*met), by="jo@chorley.gov.uk", at=at(date(2026, 5, 1))
    )
    assert result.is_key is is_key
    assert result.met_count == len(met)
    assert result.explanation == explanation
    assert result.framework_version == FRAMEWORK_2025.version


def test_every_criterion_needs_an_answer() -> None:
    partial = {k: v for k, v in answers("risk").items() if k != "resource"}
    with pytest.raises(InvalidInput, match="Still to answer: Resource"):
        assess(FRAMEWORK_2025, arrangement(), partial, by="jo@chorley.gov.uk", at=at(date(2026, 5, 1)))


def test_unknown_criteria_are_refused() -> None:
    extra = {**answers(), "cost": Answer(True)}
    with pytest.raises(InvalidInput, match=r"Not criteria of framework 2025\.1: cost"):
        assess(FRAMEWORK_2025, arrangement(), extra, by="jo@chorley.gov.uk", at=at(date(2026, 5, 1)))


def test_a_new_version_changes_the_rules_and_the_assessment_records_which() -> None:
    stricter = dataclasses.replace(FRAMEWORK_2025, version="2027.1", key_threshold=4)
    result = assess(
        stricter,
        arrangement(),
        answers("financial", "risk", "length"),
        by="a@b.gov.uk",
        at=at(date(2027, 2, 1)),
    )
    assert not result.is_key
    assert result.framework_version == "2027.1"
    assert result.key_threshold == 4


def test_unknown_version_is_refused_with_the_known_ones() -> None:
    with pytest.raises(Exception, match=r"2019\.1.*known: 2025\.1"):
        framework_version("2019.1")


@pytest.mark.parametrize(
    ("annual", "met"),
    [
        (Decimal("99999.99"), False),
        (Decimal("100000"), True),
        (Decimal("100000.01"), True),
        (Decimal("0"), False),
    ],
)
def test_financial_suggestion_at_the_threshold(annual: Decimal, met: bool) -> None:
    suggestion = suggest(FRAMEWORK_2025, arrangement(annual_value=annual))["financial"]
    assert suggestion.met is met
    assert "£100k threshold" in suggestion.why


def test_financial_suggestion_from_total_value_over_the_term() -> None:
    a = arrangement(
        annual_value=None,
        total_value=Decimal("600000"),
        start_date=date(2025, 4, 1),
        end_date=date(2030, 3, 31),
    )
    suggestion = suggest(FRAMEWORK_2025, a)["financial"]
    assert suggestion.met is True
    assert "£120,000 a year" in suggestion.why
    assert "over 5 years" in suggestion.why


@pytest.mark.parametrize(
    ("start", "end", "months", "met"),
    [
        (date(2025, 4, 1), date(2030, 3, 31), 60, True),  # the term counts its end date
        (date(2025, 4, 1), date(2030, 3, 30), 59, False),
        (date(2025, 4, 1), date(2030, 4, 1), 60, True),
        (date(2024, 2, 29), date(2029, 2, 28), 60, True),
        (date(2026, 1, 15), date(2026, 1, 15), 0, False),
    ],
)
def test_length_suggestion_counts_the_end_date(start: date, end: date, months: int, met: bool) -> None:
    assert term_months(start, end) == months
    suggestion = suggest(FRAMEWORK_2025, arrangement(start_date=start, end_date=end))["length"]
    assert suggestion.met is met


def test_no_suggestion_without_facts() -> None:
    assert suggest(FRAMEWORK_2025, arrangement(annual_value=None, start_date=None, end_date=None)) == {}


def test_an_override_is_recorded_beside_the_suggestion() -> None:
    a = arrangement(annual_value=Decimal("90000"))
    given = {**answers("priorities", "length"), "financial": Answer(True, "rises to £150k in year 2")}
    result = assess(FRAMEWORK_2025, a, given, by="jo@chorley.gov.uk", at=at(date(2026, 5, 1)))
    financial = result.answer("financial")
    assert financial.met
    assert financial.overrides_suggestion
    assert financial.suggestion is not None
    assert financial.suggestion.met is False
    assert financial.reason == "rises to £150k in year 2"
    assert not result.answer("length").overrides_suggestion
    assert result.answer("priorities").suggestion is None


def test_describe_term() -> None:
    assert describe_term(60) == "5 years"
    assert describe_term(18) == "1 year 6 months"
    assert describe_term(1) == "1 month"
    assert describe_term(0) == "0 months"


def test_corporate_priorities_per_council_and_year() -> None:
    chorley = FRAMEWORK_2025.priorities_for(Council.CHORLEY, 2024)
    assert chorley[0] == "Housing where residents can live well"
    assert len(chorley) == 4
    south_ribble = FRAMEWORK_2025.priorities_for(Council.SOUTH_RIBBLE, 2023)
    assert south_ribble == (
        "An exemplary council",
        "Green and clean neighbourhoods",
        "Healthy and happy communities",
        "Opportunities for everyone",
    )
    assert FRAMEWORK_2025.priorities_for(Council.SHARED, 2024) == chorley + south_ribble
    # A strategy stays in force until a newer one is added to the framework data.
    assert FRAMEWORK_2025.priorities_for(Council.CHORLEY, 2026) == chorley


def test_priorities_are_checked_against_the_councils_own() -> None:
    assert check_priorities(FRAMEWORK_2025, Council.CHORLEY, 2024, ("a green and sustainable BOROUGH",)) == (
        "A green and sustainable borough",
    )
    with pytest.raises(
        InvalidInput, match="Not a corporate priority of Chorley Council in 2024/25: An exemplary"
    ):
        check_priorities(FRAMEWORK_2025, Council.CHORLEY, 2024, ("An exemplary council",))


@pytest.mark.parametrize(
    ("annual", "total", "words"),
    [
        (Decimal("99999.99"), None, "the annual value is £99,999.99 a year, below the £100k threshold"),
        (Decimal("100000"), None, "the annual value is £100,000 a year, at or above the £100k threshold"),
        (None, Decimal("499999.99"), "is about £99,999.99 a year, below the £100k threshold"),
    ],
)
def test_suggestions_say_the_amount_exactly_at_the_boundary(
    annual: Decimal | None, total: Decimal | None, words: str
) -> None:
    a = arrangement(
        annual_value=annual, total_value=total, start_date=date(2025, 4, 1), end_date=date(2030, 3, 31)
    )
    assert words in suggest(FRAMEWORK_2025, a)["financial"].why


def test_overriding_a_suggestion_needs_a_reason() -> None:
    a = arrangement(annual_value=Decimal("1790000"))
    given = {**answers("risk"), "financial": Answer(False, "")}
    with pytest.raises(
        InvalidInput, match=r"differs from what the record suggests: Financial \(the record suggests yes"
    ):
        assess(FRAMEWORK_2025, a, given, by="jo@chorley.gov.uk", at=at(date(2026, 5, 1)))


def test_a_criterion_left_unanswered_takes_the_records_suggestion() -> None:
    a = arrangement(annual_value=Decimal("250000"), start_date=date(2025, 4, 1), end_date=date(2030, 3, 31))
    given = {"priorities": Answer(False), "risk": Answer(True), "resource": Answer(False)}
    result = assess(FRAMEWORK_2025, a, given, by="jo@chorley.gov.uk", at=at(date(2026, 5, 1)))
    assert result.explanation == "3 of 5 met: Financial, Risk, Length: key"
    assert result.answer("financial").reason.startswith(
        "as the record suggests: the annual value is £250,000"
    )
    assert not result.answer("length").overrides_suggestion
    with pytest.raises(InvalidInput, match="Still to answer: Corporate Priorities"):
        assess(FRAMEWORK_2025, a, {"risk": Answer(True)}, by="jo@chorley.gov.uk", at=at(date(2026, 5, 1)))
