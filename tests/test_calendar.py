"""The monitoring calendar: UK financial years, half-years and their deadlines."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcpf.calendar import FinancialYear, Period, deadline_after, executive_update, last_ended_period
from kcpf.errors import InvalidInput
from kcpf.framework import FRAMEWORK_2025
from kcpf.model import Council

RULES = FRAMEWORK_2025.monitoring


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 4, 1), "2026/27"),
        (date(2026, 3, 31), "2025/26"),
        (date(2027, 1, 1), "2026/27"),
        (date(1999, 12, 31), "1999/00"),
    ],
)
def test_financial_year_runs_april_to_march(day: date, year: str) -> None:
    assert FinancialYear.containing(day).label == year


def test_financial_year_parse() -> None:
    assert FinancialYear.parse("2026/27") == FinancialYear(2026)
    assert FinancialYear.parse("2026-2027") == FinancialYear(2026)
    with pytest.raises(InvalidInput, match="the second year must follow the first, as in 2026/27"):
        FinancialYear.parse("2026/28")
    with pytest.raises(InvalidInput, match="Write it like 2026/27"):
        FinancialYear.parse("next year")


def test_half_years() -> None:
    h1 = Period.parse("2026/27-H1")
    assert (h1.start, h1.end) == (date(2026, 4, 1), date(2026, 9, 30))
    h2 = Period.parse("2026/27-h2")
    assert (h2.start, h2.end) == (date(2026, 10, 1), date(2027, 3, 31))
    assert h2.is_annual
    assert not h1.is_annual
    assert h1.next == h2
    assert h2.previous == h1
    assert h1.previous.label == "2025/26-H2"
    with pytest.raises(InvalidInput, match="2026/27-H1"):
        Period.parse("2026/27-H3")


def test_default_deadlines_and_configured_ones() -> None:
    assert Period.parse("2026/27-H1").due_date(RULES) == date(2026, 10, 31)
    assert Period.parse("2026/27-H2").due_date(RULES) == date(2027, 4, 30)
    earlier = dataclasses.replace(RULES, h1_update_due=(10, 15), h2_update_due=(5, 31))
    assert Period.parse("2026/27-H1").due_date(earlier) == date(2026, 10, 15)
    assert Period.parse("2026/27-H2").due_date(earlier) == date(2027, 5, 31)


def test_last_ended_period() -> None:
    assert last_ended_period(date(2026, 10, 15)).label == "2026/27-H1"
    assert last_ended_period(date(2026, 9, 30)).label == "2025/26-H2"
    assert last_ended_period(date(2026, 4, 1)).label == "2025/26-H2"


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31)))
def test_every_day_is_in_exactly_one_half_year(day: date) -> None:
    period = Period.containing(day)
    assert period.start <= day <= period.end
    assert (period.next.start - period.end).days == 1
    assert Period.parse(period.label) == period
    assert last_ended_period(day).end < day


def test_the_executive_update_goes_to_each_councils_executive() -> None:
    chorley = executive_update(Council.CHORLEY, FinancialYear(2025), RULES)
    assert chorley.title == "Annual update to Chorley Council's Executive Cabinet for 2025/26"
    assert chorley.due == date(2026, 7, 31)
    south_ribble = executive_update(Council.SOUTH_RIBBLE, FinancialYear(2025), RULES)
    assert south_ribble.title == "Annual update to South Ribble Borough Council's Cabinet for 2025/26"
    with pytest.raises(InvalidInput, match="reports to both executives"):
        executive_update(Council.SHARED, FinancialYear(2025), RULES)


def test_a_deadline_is_the_first_such_day_after_the_end() -> None:
    assert deadline_after(date(2026, 9, 30), (10, 31)) == date(2026, 10, 31)
    assert deadline_after(date(2027, 3, 31), (4, 30)) == date(2027, 4, 30)
    assert deadline_after(date(2027, 3, 31), (7, 31)) == date(2027, 7, 31)
    assert deadline_after(date(2026, 9, 30), (9, 30)) == date(2027, 9, 30)  # never on or before the end
    assert deadline_after(date(2027, 3, 31), (2, 29)) == date(2028, 2, 29)
    assert deadline_after(date(2026, 3, 31), (2, 29)) == date(2027, 2, 28)
