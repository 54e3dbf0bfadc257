"""Tests of kcpf.parsing: what an officer may type, what is refused, and how the refusal reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcpf.errors import InvalidInput
from kcpf.parsing import (
    Duration,
    format_money,
    format_uk_date,
    parse_duration,
    parse_money,
    parse_uk_date,
    parse_yes_no,
    parse_yes_no_na,
    split_answer,
)

# No example database on disk and no per-example deadline (CI machines vary); the whole file stays fast.
FAST = settings(max_examples=150, database=None, deadline=None)


def assert_officer_message(error: InvalidInput, typed: str) -> None:
    """A refusal is written for the officer: non-empty, no Python internals, and it shows what would do."""
    message = error.message
    assert message.strip()
    assert message == str(error)
    for internal in ("Traceback", "Error(", "Decimal(", "datetime.", "None", "\\n", "\n"):
        assert internal not in message, message
    if typed.strip():
        assert repr(typed) not in message, message
    assert "for example" in message, message


def rejection(parser: Callable[[str], object], text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parser(text)
    assert_officer_message(caught.value, text)
    return caught.value


# ---------------------------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("£1.2m", "1200000.00"),
        ("1.2 million", "1200000.00"),
        ("1.2million", "1200000.00"),
        ("£100k", "100000.00"),
        ("100K", "100000.00"),
        ("1,250,000", "1250000.00"),
        ("£99,999.99", "99999.99"),
        ("£100,000", "100000.00"),
        ("£ 250,000", "250000.00"),
        ("250000.50", "250000.50"),
        ("250000.5", "250000.50"),
        ("£1bn", "1000000000.00"),
        ("£1.5 billion", "1500000000.00"),
        ("£1,250,000.00", "1250000.00"),
        ("GBP 5,000", "5000.00"),
        ("gbp5000", "5000.00"),
        ("5,000 GBP", "5000.00"),
        ("5000 pounds", "5000.00"),
        ("&pound;250,000", "250000.00"),
        ("&POUND;1.2m", "1200000.00"),
        ("Â£1,000", "1000.00"),
        ("£1.2345m", "1234500.00"),
        ("£1.234567891m", "1234567.89"),
        ("£2.5k", "2500.00"),
        ("£1,000k", "1000000.00"),
        ("  £250,000  ", "250000.00"),
        ("£\u00a0250,000", "250000.00"),
        ("£0", "0.00"),
        ("£0.01", "0.01"),
        ("£999bn", "999000000000.00"),
    ],
)
def test_parse_money_accepts(text: str, expected: str) -> None:
    result = parse_money(text)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("text", "must_mention"),
    [
        ("", "No amount"),
        ("   ", "No amount"),
        ("£abc", "not an amount of money"),
        ("lots", "not an amount of money"),
        ("-£5,000", "negative"),
        ("£-5,000", "negative"),
        ("minus 5", "negative"),
        ("(£1,000)", "negative"),
        ("£10.001", "two decimal places"),
        ("£10.000", "two decimal places"),
        ("1,25,000", "commas"),
        ("1,2500", "commas"),
        ("1.000,50", "commas"),
        ("1.250.000", "more than one decimal point"),
        ("£100 - £200", "more than one number"),
        ("£100k-£200k", "more than one number"),
        ("5 x £1,000", "more than one number"),
        ("£1.2m a year", "not an amount of money"),
        ("50p", "not an amount of money"),
        ("1.2E+06", "scientific notation"),
        ("£1,000,000,000,000", "£1 trillion"),
        ("£1000bn", "£1 trillion"),
        ("£" + "9" * 200, "too long"),
    ],
)
def test_parse_money_rejects(text: str, must_mention: str) -> None:
    error = rejection(parse_money, text)
    assert must_mention in error.message


def test_parse_money_rejection_echoes_what_was_typed_and_gives_examples() -> None:
    message = rejection(parse_money, "£abc").message
    assert '"£abc"' in message
    assert "£250,000" in message


def test_money_boundary_either_side_of_100k() -> None:
    assert parse_money("£99,999.99") < parse_money("£100,000")
    assert parse_money("£100,000") - parse_money("£99,999.99") == Decimal("0.01")
    assert format_money(Decimal("99999.99")) == "£99,999.99"
    assert format_money(Decimal("100000")) == "£100,000"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("1250000", "£1,250,000"),
        ("1250000.00", "£1,250,000"),
        ("99999.99", "£99,999.99"),
        ("0.5", "£0.50"),
        ("0", "£0"),
        ("-0", "£0"),
        ("1.005", "£1.01"),
        ("-5", "-£5"),
        ("1E+3", "£1,000"),
    ],
)
def test_format_money(amount: str, expected: str) -> None:
    assert format_money(Decimal(amount)) == expected


def test_format_money_refuses_non_finite() -> None:
    with pytest.raises(ValueError, match="finite"):
        format_money(Decimal("NaN"))


@FAST
@given(st.decimals(min_value=0, max_value=10**10, places=2, allow_nan=False, allow_infinity=False))
def test_money_round_trip(amount: Decimal) -> None:
    assert parse_money(format_money(amount)) == amount


@FAST
@given(st.integers(min_value=0, max_value=10**11), st.sampled_from(["{:,}", "{}", "£{:,}", "GBP {:,}"]))
def test_whole_pounds_in_any_accepted_layout(pounds: int, layout: str) -> None:
    assert parse_money(layout.format(pounds)) == Decimal(pounds)


# ---------------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------------

APRIL_1 = date(2025, 4, 1)


@pytest.mark.parametrize(
    "text",
    [
        "01/04/2025",
        "1/4/2025",
        "1/4/25",
        "01-04-2025",
        "01.04.2025",
        "01 / 04 / 2025",
        "1 April 2025",
        "1st April 2025",
        "1ST APRIL 2025",
        "1st of April 2025",
        "1 Apr 2025",
        "1 Apr. 2025",
        "1 April, 2025",
        "01-Apr-25",
        "01-Apr-2025",
        "April 1, 2025",
        "April 1st 2025",
        "2025-04-01",
        "2025/04/01",
        "Tuesday 1 April 2025",
        "Tue, 1st April 2025",
        "01/04/2025 00:00",
        "01/04/2025 00:00:00",
        "2025-04-01T00:00:00",
        "2025-04-01T09:30:00Z",
        "  1 april 2025.  ",
    ],
)
def test_parse_uk_date_accepts(text: str) -> None:
    assert parse_uk_date(text) == APRIL_1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("04/01/2025", date(2025, 1, 4)),  # always day first
        ("12/11/2025", date(2025, 11, 12)),
        ("1 Sept 2025", date(2025, 9, 1)),
        ("30 September 2026", date(2026, 9, 30)),
        ("31/12/69", date(2069, 12, 31)),  # two-digit years 00-69 are 2000-2069
        ("01/01/00", date(2000, 1, 1)),
        ("01/01/70", date(1970, 1, 1)),  # 70-99 are 1970-1999, as POSIX strptime reads them
        ("01/04/98", date(1998, 4, 1)),
        ("31/12/99", date(1999, 12, 31)),
        ("01-Apr-98", date(1998, 4, 1)),
        ("1 April 69", date(2069, 4, 1)),
        ("29/02/2024", date(2024, 2, 29)),
        ("29/02/2000", date(2000, 2, 29)),
    ],
)
def test_parse_uk_date_values(text: str, expected: date) -> None:
    assert parse_uk_date(text) == expected


@pytest.mark.parametrize(
    ("text", "must_mention"),
    [
        ("", "1 April 2025 or 01/04/2025"),
        ("31/02/2026", "31 February 2026 does not exist: February 2026 has 28 days."),
        ("29/02/2025", "29 February 2025 does not exist: February 2025 has 28 days."),
        ("29/02/1900", "29 February 1900 does not exist: February 1900 has 28 days."),
        ("31 April 2025", "April 2025 has 30 days"),
        ("0/4/2025", "does not exist"),
        ("2025-02-30", "30 February 2025 does not exist"),
        ("01/13/2025", "no month 13"),
        ("04/13/2025", "13/04/2025"),
        ("2025-13-01", "no month 13"),
        ("1 Aprl 2025", '"aprl"'),
        ("April 2025", "needs a day"),
        ("04/2025", "needs a day"),
        ("1 April", "year"),
        ("01/04", "year"),
        ("April 25", "year"),
        ("2025", "only a year"),
        ("2025/26", "financial year"),
        ("today", "the date itself"),
        ("next Tuesday", "the date itself"),
        ("Monday 1 April 2025", "is a Tuesday, not a Monday"),
        ("01/04/0225", "year 225"),
        ("01/04/2525", "year 2525"),
        ("the first of April", "not a date I can read"),
        ("1/4/2025 - 31/3/2026", "not a date I can read"),
        ("x" * 200, "too long"),
    ],
)
def test_parse_uk_date_rejects(text: str, must_mention: str) -> None:
    error = rejection(parse_uk_date, text)
    assert must_mention in error.message


@pytest.mark.parametrize("text", ["45748", "45748.0", "45748.375", " 45748 ", "36617"])
def test_a_spreadsheet_date_number_gets_its_own_message(text: str) -> None:
    # What Excel saves when a date column is formatted as a number (45748 is 1 April 2025): refused, never
    # converted, with a message that says what happened and how to fix it.
    message = rejection(parse_uk_date, text).message
    assert "spreadsheet" in message
    assert "format the column as a date" in message
    assert "dd/mm/yyyy" in message
    assert "save the CSV again" in message
    assert "not a date I can read" not in message


@pytest.mark.parametrize("text", ["4574", "457480", "45,748", "20250401"])
def test_other_bare_numbers_are_not_taken_for_spreadsheet_dates(text: str) -> None:
    assert "spreadsheet" not in rejection(parse_uk_date, text).message


def test_impossible_date_message_is_exact() -> None:
    message = rejection(parse_uk_date, "31/02/2026").message
    assert message.startswith("31 February 2026 does not exist: February 2026 has 28 days.")
    assert "28 February 2026" in message.removeprefix("31 February 2026 does not exist: February 2026 has 28")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("April 2025", date(2025, 4, 1), date(2025, 4, 30)),
        ("Apr 2025", date(2025, 4, 1), date(2025, 4, 30)),
        ("04/2025", date(2025, 4, 1), date(2025, 4, 30)),
        ("2025-04", date(2025, 4, 1), date(2025, 4, 30)),
        ("February 2024", date(2024, 2, 1), date(2024, 2, 29)),
        ("Feb 2025", date(2025, 2, 1), date(2025, 2, 28)),
        ("December 2026", date(2026, 12, 1), date(2026, 12, 31)),
    ],
)
def test_month_only(text: str, start: date, end: date) -> None:
    assert parse_uk_date(text, month_only="start") == start
    assert parse_uk_date(text, month_only="end") == end
    message = rejection(parse_uk_date, text).message
    assert format_uk_date(start) in message


def test_month_only_still_takes_full_dates_and_checks_months() -> None:
    assert parse_uk_date("15/04/2025", month_only="end") == date(2025, 4, 15)
    with pytest.raises(InvalidInput, match="no month 13"):
        parse_uk_date("13/2025", month_only="start")


def test_format_uk_date() -> None:
    assert format_uk_date(date(2026, 9, 30)) == "30 September 2026"
    assert format_uk_date(date(2025, 4, 1)) == "1 April 2025"


dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31))


@FAST
@given(dates)
def test_date_round_trips(d: date) -> None:
    assert parse_uk_date(format_uk_date(d)) == d
    assert parse_uk_date(f"{d.day:02d}/{d.month:02d}/{d.year}") == d
    assert parse_uk_date(f"{d.day}/{d.month}/{d.year}") == d
    assert parse_uk_date(d.isoformat()) == d


@FAST
@given(
    st.integers(min_value=1900, max_value=2199), st.integers(min_value=1, max_value=12), st.integers(1, 31)
)
def test_day_month_year_is_valid_exactly_when_the_date_exists(year: int, month: int, day: int) -> None:
    text = f"{day:02d}/{month:02d}/{year}"
    try:
        expected = date(year, month, day)
    except ValueError:
        assert "does not exist" in rejection(parse_uk_date, text).message
    else:
        assert parse_uk_date(text) == expected


# ---------------------------------------------------------------------------------------------------------
# Lengths of time
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 years", Duration(5, 0)),
        ("5 Years", Duration(5, 0)),
        ("5 yrs", Duration(5, 0)),
        ("5 yr", Duration(5, 0)),
        ("5y", Duration(5, 0)),
        ("1 year", Duration(1, 0)),
        ("a year", Duration(1, 0)),
        ("18 months", Duration(0, 18)),
        ("18 mths", Duration(0, 18)),
        ("18m", Duration(0, 18)),
        ("1 month", Duration(0, 1)),
        ("1 year 6 months", Duration(1, 6)),
        ("1 year and 6 months", Duration(1, 6)),
        ("1 year, 6 months", Duration(1, 6)),
        ("1 year & 6 months", Duration(1, 6)),
        ("1y 6m", Duration(1, 6)),
        ("1y6m", Duration(1, 6)),
        ("2.5 years", Duration(2, 6)),
        ("0.5 years", Duration(0, 6)),
        ("1.25 years", Duration(1, 3)),
        ("five years", Duration(5, 0)),
        ("Twelve months", Duration(0, 12)),
        ("one year and six months", Duration(1, 6)),
        ("0 years 6 months", Duration(0, 6)),
        ("999 years", Duration(999, 0)),
    ],
)
def test_parse_duration_accepts(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "must_mention"),
    [
        ("", "No length of time"),
        ("0 years", "more than zero"),
        ("0 months", "more than zero"),
        ("-5 years", "negative"),
        ("2.1 years", "whole number of months"),
        ("1.5 months", "whole number of months"),
        ("1.5 years 6 months", "whole years and months"),
        ("5", "years or months"),
        ("6 weeks", "weeks or days"),
        ("90 days", "weeks or days"),
        ("forever", "not a length of time"),
        ("thirteen years", "not a length of time"),
        ("1000 years", "999 years"),
        ("5 years 5 years", "not a length of time"),
    ],
)
def test_parse_duration_rejects(text: str, must_mention: str) -> None:
    error = rejection(parse_duration, text)
    assert must_mention in error.message


@pytest.mark.parametrize(
    ("duration", "text", "months"),
    [
        (Duration(5, 0), "5 years", 60),
        (Duration(0, 18), "18 months", 18),
        (Duration(1, 6), "1 year 6 months", 18),
        (Duration(1, 1), "1 year 1 month", 13),
        (Duration(2, 0), "2 years", 24),
    ],
)
def test_duration_str_and_total(duration: Duration, text: str, months: int) -> None:
    assert str(duration) == text
    assert duration.total_months == months


def test_duration_refuses_negative_parts() -> None:
    with pytest.raises(ValueError, match="negative"):
        Duration(-1, 0)


@FAST
@given(st.integers(min_value=0, max_value=998), st.integers(min_value=0, max_value=11))
def test_duration_round_trip(years: int, months: int) -> None:
    if years == 0 and months == 0:
        return
    duration = Duration(years, months)
    assert parse_duration(str(duration)) == duration


# ---------------------------------------------------------------------------------------------------------
# Yes / no
# ---------------------------------------------------------------------------------------------------------

YES = [
    "yes",
    "Yes",
    "YES",
    "y",
    "yeah",
    "yep",
    "true",
    "1",
    "met",
    "Met",
    "agreed",
    "correct",
    "✓",
    "✔",
    "✔️",
    "yes.",
]
NO = ["no", "No", "n", "nope", "false", "0", "not met", "Not Met", "no."]


@pytest.mark.parametrize("text", YES)
def test_yes(text: str) -> None:
    assert parse_yes_no(text) is True
    assert parse_yes_no_na(text) == "yes"
    assert split_answer(text) == (True, "")


@pytest.mark.parametrize("text", NO)
def test_no(text: str) -> None:
    assert parse_yes_no(text) is False
    assert parse_yes_no_na(text) == "no"
    assert split_answer(text) == (False, "")


@pytest.mark.parametrize(
    "text",
    ["n/a", "N/A", "na", "NA", "n.a.", "not applicable", "Does not apply", "doesn't apply", "doesn’t apply"],
)
def test_not_applicable(text: str) -> None:
    assert parse_yes_no_na(text) == "na"
    assert "not applicable" in rejection(parse_yes_no, text).message


@pytest.mark.parametrize("text", ["maybe", "", "  ", "yess", "possibly", "2", "yes and no?"])
def test_yes_no_rejects(text: str) -> None:
    assert "yes or no" in rejection(parse_yes_no, text).message
    assert "yes, no or n/a" in rejection(parse_yes_no_na, text).message


def test_maybe_asks_for_yes_or_no() -> None:
    message = rejection(parse_yes_no, "maybe").message
    assert "Please answer yes or no" in message
    assert '"maybe"' in message


def test_yes_with_a_reason_is_not_a_bare_yes() -> None:
    assert "just yes or no" in rejection(parse_yes_no, "yes, it is £250k a year").message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes, it is £250k a year", (True, "it is £250k a year")),
        ("No - short term only", (False, "short term only")),
        ("yes", (True, "")),
        ("  Yes  ", (True, "")),
        ("yes: over £100,000", (True, "over £100,000")),
        ("no; it ends in March", (False, "it ends in March")),
        ("Yes. It Is Strategic.", (True, "It Is Strategic.")),
        ("yes because it is strategic", (True, "it is strategic")),
        ("Yes, because it is strategic", (True, "it is strategic")),
        ("yes it is strategic", (True, "it is strategic")),
        ("y it is", (True, "it is")),
        ("nope - below threshold", (False, "below threshold")),
        ("Not met: no named lead", (False, "no named lead")),
        ("met – reviewed in May", (True, "reviewed in May")),
        ("no — too small", (False, "too small")),
        ("yes, -5% on last year", (True, "-5% on last year")),
        ("✔️ signed off", (True, "signed off")),
        ("1, see above", (True, "see above")),
    ],
)
def test_split_answer(text: str, expected: tuple[bool, str]) -> None:
    assert split_answer(text) == expected


@pytest.mark.parametrize(
    "text", ["", "maybe", "yesterday", "nothing to add", "1 year only", "n/a", "perhaps, yes"]
)
def test_split_answer_rejects(text: str) -> None:
    assert "yes or no" in rejection(split_answer, text).message


@FAST
@given(
    st.sampled_from(["yes", "Yes", "y", "no", "No", "n", "not met", "met"]),
    st.sampled_from([", ", " - ", ": ", "; ", ". ", " because ", " "]),
    st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=30),
)
def test_split_answer_keeps_the_reason(word: str, separator: str, reason: str) -> None:
    answer, kept = split_answer(word + separator + reason)
    assert answer is parse_yes_no(word)
    assert kept == reason.strip()


# ---------------------------------------------------------------------------------------------------------
# Any text at all: a value or an InvalidInput with an officer's message, never another exception
# ---------------------------------------------------------------------------------------------------------

PARSERS: list[Callable[[str], object]] = [
    parse_money,
    parse_uk_date,
    lambda text: parse_uk_date(text, month_only="start"),
    lambda text: parse_uk_date(text, month_only="end"),
    parse_duration,
    parse_yes_no,
    parse_yes_no_na,
    split_answer,
]

NEAR_MISS = st.text(alphabet="0123456789,.£-/ :kmbnthsyearmonthapriljanfebgpounds&;()e+", max_size=30)


@FAST
@given(st.sampled_from(PARSERS), st.one_of(st.text(max_size=60), NEAR_MISS))
def test_any_text_gives_a_value_or_an_officer_message(parser: Callable[[str], object], text: str) -> None:
    try:
        parser(text)
    except InvalidInput as error:
        refusal = error
    else:
        return
    assert refusal.message.strip()
    assert "Traceback" not in refusal.message
    assert "Error(" not in refusal.message
    assert "for example" in refusal.message
