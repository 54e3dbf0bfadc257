"""Reading what a council officer typed: amounts of money, UK dates, lengths of time and yes/no answers.

Every parser takes the raw text (from the chat or from an imported CSV cell), ignores surrounding whitespace
and letter case, and either returns a value or raises :class:`InvalidInput` whose message says what was wrong
and gives an example of what would be accepted. Nothing here looks at the clock: a date is only ever what was
typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Literal

from kcpf.errors import InvalidInput

__all__ = [
    "Duration",
    "format_money",
    "format_uk_date",
    "parse_duration",
    "parse_money",
    "parse_uk_date",
    "parse_yes_no",
    "parse_yes_no_na",
    "split_answer",
]

PENNY = Decimal("0.01")
# Anything this large is a typing slip, not a contract or partnership value.
MAX_MONEY = Decimal(10) ** 12
# Dates outside these years are almost always a mistyped year (2205 for 2025, 0225 for 2025).
MIN_YEAR = 1900
MAX_YEAR = 2199
# The longest arrangement the framework will record: a 999-year lease.
MAX_DURATION_MONTHS = 999 * 12

_MAX_TEXT = 100  # longer text is never a single amount, date or duration

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _quote(text: str) -> str:
    """The officer's own text, on one line and cut short if long, in double quotes (never a Python repr)."""
    flat = " ".join(text.split())
    if len(flat) > 40:
        flat = flat[:37].rstrip() + "..."
    return f'"{flat}"'


# ----------------------------------------------------------------------------------------------------
# Money
# ----------------------------------------------------------------------------------------------------

_MONEY_EXAMPLES = "for example £250,000, £1.2m or £99,999.99"

_MONEY_MULTIPLIERS: dict[str, int] = {
    "k": 10**3,
    "thousand": 10**3,
    "m": 10**6,
    "mn": 10**6,
    "million": 10**6,
    "b": 10**9,
    "bn": 10**9,
    "billion": 10**9,
}

_MONEY_RE = re.compile(
    r"""
    ^(?:£|gbp)?\s*
    (?P<number>[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)
    \s*(?P<suffix>thousand|million|billion|mn|bn|k|m|b)?
    \s*(?:gbp|pounds?|sterling)?$
    """,
    re.VERBOSE,
)
_NUMBER_TOKEN_RE = re.compile(r"\.?[0-9][0-9,.]*")
_GROUPED_RE = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
_NEGATIVE_RE = re.compile(r"^(?:minus\b|(?:£|gbp)?\s*[-−–—]|\(\s*(?:£|gbp)?\s*[0-9.][^()]*\)$)")
_SCIENTIFIC_RE = re.compile(r"[0-9]e[-+]?[0-9]")


def _normalise_money(text: str) -> str:
    s = text.strip().lower()
    for entity in ("&pound;", "&#163;", "&#xa3;", "â£"):  # "â£" is a £ that was read with the wrong encoding
        s = s.replace(entity, "£")
    return s


def parse_money(text: str) -> Decimal:
    """An amount in pounds, to the penny: "£1.2m", "100k", "£1,250,000.00", "GBP 5,000", "&pound;250".

    k, thousand, m, mn, million, b, bn and billion multiply the number, and the result is rounded to the
    nearest penny. Without one, at most two decimal places are accepted. The result is never negative and is
    always below £1 trillion.
    """
    if not text.strip():
        raise InvalidInput(f"No amount was given. Please type an amount in pounds, {_MONEY_EXAMPLES}.")
    typed = _quote(text)
    if len(text.strip()) > _MAX_TEXT:
        raise InvalidInput(
            f"That is too long to be an amount of money. Please type just the amount, {_MONEY_EXAMPLES}."
        )
    s = _normalise_money(text)
    if not re.search(r"[0-9]", s):
        raise InvalidInput(
            f"{typed} is not an amount of money. Please type an amount in pounds, {_MONEY_EXAMPLES}."
        )
    if _NEGATIVE_RE.search(s):
        raise InvalidInput(
            f"An amount of money cannot be negative (you typed {typed}). "
            "Please type the amount without a minus sign or brackets, for example £5,000."
        )
    if _SCIENTIFIC_RE.search(s):
        raise InvalidInput(
            f"{typed} looks like a number in scientific notation. Please type the amount in full, "
            "for example £1,200,000 or £1.2m."
        )
    tokens = _NUMBER_TOKEN_RE.findall(s)
    if len(tokens) > 1:
        raise InvalidInput(
            f"{typed} has more than one number in it. Please give a single amount, {_MONEY_EXAMPLES}."
        )
    token = tokens[0]
    if token.count(".") > 1:
        raise InvalidInput(
            f"{typed} has more than one decimal point. Use a full stop only before the pence and commas to "
            "separate thousands, for example £1,250,000.50."
        )
    whole = token.split(".")[0]
    if "," in token and ("," in token.partition(".")[2] or not _GROUPED_RE.fullmatch(whole)):
        raise InvalidInput(
            f"The commas in {typed} are in the wrong places: commas separate groups of three digits. "
            "Please type it again, for example £125,000 or £1,250,000."
        )
    match = _MONEY_RE.match(s)
    if match is None:
        raise InvalidInput(
            f"{typed} is not an amount of money I can read. "
            f"Please type an amount in pounds, {_MONEY_EXAMPLES}."
        )
    number = match.group("number").replace(",", "")
    suffix = match.group("suffix")
    with localcontext(Context(prec=200)):
        amount = Decimal(number)
        if suffix is None:
            exponent = amount.as_tuple().exponent
            if isinstance(exponent, int) and exponent < -2:
                raise InvalidInput(
                    f"{typed} has more than two decimal places. Amounts are in pounds and pence, for example "
                    "£10.50; to separate thousands use commas, for example £10,001."
                )
        else:
            amount *= _MONEY_MULTIPLIERS[suffix]
        if amount >= MAX_MONEY:
            raise InvalidInput(
                f"{typed} is £1 trillion or more, which cannot be right for a contract or partnership. "
                f"Please check the amount, {_MONEY_EXAMPLES}."
            )
        return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal) -> str:
    """ "£1,250,000" for whole pounds, "£99,999.99" otherwise (rounded to the penny); negatives as "-£5"."""
    if not amount.is_finite():
        raise ValueError("format_money needs a finite amount")
    with localcontext(Context(prec=200)):
        pence = amount.quantize(PENNY, rounding=ROUND_HALF_UP)
        sign = "-" if pence < 0 else ""
        pence = abs(pence)
        body = f"{pence:,.0f}" if pence == pence.to_integral_value() else f"{pence:,.2f}"
    return f"{sign}£{body}"


# ----------------------------------------------------------------------------------------------------
# Dates
# ----------------------------------------------------------------------------------------------------

_DATE_EXAMPLES = "for example 1 April 2025 or 01/04/2025"

_MONTH_LOOKUP: dict[str, int] = {}
for _number, _name in enumerate(MONTH_NAMES, start=1):
    _MONTH_LOOKUP[_name.lower()] = _number
    _MONTH_LOOKUP[_name[:3].lower()] = _number
_MONTH_LOOKUP["sept"] = 9

_WEEKDAY_LOOKUP: dict[str, int] = {}
for _number, _name in enumerate(_DAY_NAMES):
    _WEEKDAY_LOOKUP[_name.lower()] = _number
    _WEEKDAY_LOOKUP[_name[:3].lower()] = _number
_WEEKDAY_LOOKUP.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 3})

_RELATIVE_WORDS = ("today", "tomorrow", "yesterday", "now", "next ", "last ", "this ")

_ORD = r"(?:st|nd|rd|th)?"
_TIME_RE = re.compile(r"(?:[ t][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)(?:z|[+-][0-9]{2}:?[0-9]{2})?$")
_WEEKDAY_RE = re.compile(r"^([a-z]+)(?:[.,]\s*|\s+)")
_YEAR_FIRST_RE = re.compile(r"^([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})$")
_DAY_FIRST_RE = re.compile(r"^([0-9]{1,2})([-/.])([0-9]{1,2})\2([0-9]{2}|[0-9]{4})$")
_DAY_MONTH_NAME_RE = re.compile(
    rf"^([0-9]{{1,2}}){_ORD}[\s\-/.,]*(?:of\s+)?([a-z]+)[\s\-/.,]*([0-9]{{2}}|[0-9]{{4}})$"
)
_MONTH_NAME_DAY_RE = re.compile(rf"^([a-z]+)[\s\-/.,]*([0-9]{{1,2}}){_ORD}[\s,]+([0-9]{{4}})$")
_MONTH_NAME_YEAR_RE = re.compile(r"^([a-z]+)[\s\-/.,]*([0-9]{4})$")
_MONTH_YEAR_RE = re.compile(r"^([0-9]{1,2})[-/.]([0-9]{4})$")
_YEAR_MONTH_RE = re.compile(r"^([0-9]{4})[-/.]([0-9]{1,2})$")
# Excel's date numbers (days since 1900) are five digits from 1927 to 2173, with a fraction for a time.
_SERIAL_RE = re.compile(r"[0-9]{5}(?:\.[0-9]+)?")
_NO_YEAR_RES = (
    re.compile(rf"^[0-9]{{1,2}}{_ORD}[\s\-/.,]*(?:of\s+)?[a-z]+$"),
    re.compile(rf"^[a-z]+[\s\-/.,]*[0-9]{{1,2}}{_ORD}$"),
    re.compile(r"^[0-9]{1,2}[-/.][0-9]{1,2}$"),
)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def format_uk_date(d: date) -> str:
    """ "30 September 2026": day without a leading zero, month in full, four-digit year."""
    return f"{d.day} {MONTH_NAMES[d.month - 1]} {d.year}"


def _month_word(word: str, typed: str) -> int:
    month = _MONTH_LOOKUP.get(word.rstrip("."))
    if month is None:
        raise InvalidInput(
            f'I do not recognise "{word}" as a month in {typed}. Please write the month in full or as its '
            "first three letters, for example 1 April 2025 or 1 Apr 2025."
        )
    return month


def _check_year(year: int, typed: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(
            f"The year {year} in {typed} looks wrong: dates must fall between {MIN_YEAR} and {MAX_YEAR}. "
            "Please check the year, for example 1 April 2025."
        )


def _check_month(month: int, year: int, typed: str, *, swapped_day: int | None = None) -> None:
    if 1 <= month <= 12:
        return
    message = f"There is no month {month} in {typed}: months run from 1 (January) to 12 (December)."
    if swapped_day is not None and 1 <= swapped_day <= 12 and 1 <= month <= _days_in_month(year, swapped_day):
        # It looks like month first (US order): show the day-first form of the date they probably meant.
        message += (
            f" Dates are written day first, for example {month:02d}/{swapped_day:02d}/{year} for "
            f"{month} {MONTH_NAMES[swapped_day - 1]} {year}."
        )
    else:
        message += " Dates are written day first, for example 01/04/2025 for 1 April 2025."
    raise InvalidInput(message)


def _make_date(year: int, month: int, day: int, typed: str, *, numeric_day_first: bool = False) -> date:
    _check_year(year, typed)
    _check_month(month, year, typed, swapped_day=day if numeric_day_first else None)
    last = _days_in_month(year, month)
    if not 1 <= day <= last:
        name = MONTH_NAMES[month - 1]
        example = 1 if day < 1 else last
        raise InvalidInput(
            f"{day} {name} {year} does not exist: {name} {year} has {last} days. "
            f"Please check the date, for example {example} {name} {year}."
        )
    return date(year, month, day)


# Two-digit years below this are 20xx, the rest 19xx (the POSIX strptime pivot): 25 is 2025, 98 is 1998.
_TWO_DIGIT_YEAR_PIVOT = 70


def _full_year(digits: str) -> int:
    """A two-digit year as POSIX strptime reads it: 00-69 are 2000-2069, 70-99 are 1970-1999."""
    if len(digits) != 2:
        return int(digits)
    year = int(digits)
    return 2000 + year if year < _TWO_DIGIT_YEAR_PIVOT else 1900 + year


def _month_only(year: int, month: int, typed: str, month_only: Literal["start", "end"] | None) -> date:
    _check_year(year, typed)
    _check_month(month, year, typed)
    name = MONTH_NAMES[month - 1]
    last = _days_in_month(year, month)
    if month_only is None:
        raise InvalidInput(
            f"{typed} is a month, but a date needs a day too. "
            f"Please include the day, for example 1 {name} {year} or {last} {name} {year}."
        )
    return date(year, month, 1 if month_only == "start" else last)


def parse_uk_date(text: str, *, month_only: Literal["start", "end"] | None = None) -> date:
    """A date written the UK way, day before month: "01/04/2025", "1/4/25", "1st April 2025", "2025-04-01".

    Also "01-04-2025", "01.04.2025", "1 Apr 2025", "01-Apr-25", "April 1, 2025" (the month name makes it
    unambiguous) and an optional weekday in front ("Tuesday 1 April 2025", checked against the date). A time
    after the date (as in spreadsheet exports, "01/04/2025 00:00") is ignored. Two-digit years 00-69 are
    2000-2069 and 70-99 are 1970-1999, as POSIX strptime reads them: "1/4/25" is 2025, "01/04/98" is 1998.
    Numbers alone are always day first: "04/01/2025" is 4 January 2025.

    A spreadsheet's date number ("45748", what Excel saves when a date column is formatted as a number) is
    refused with a message saying how to save the column as dates; it is never converted.

    A month on its own ("April 2025", "04/2025", "2025-04") is only accepted when ``month_only`` says which
    end of the month is meant: "start" gives the 1st, "end" the last day.
    """
    if month_only not in (None, "start", "end"):
        raise ValueError("month_only must be None, 'start' or 'end'")
    if not text.strip():
        raise InvalidInput(f"No date was given. Please type a date, {_DATE_EXAMPLES}.")
    typed = _quote(text)
    if len(text.strip()) > _MAX_TEXT:
        raise InvalidInput(f"That is too long to be a date. Please type just the date, {_DATE_EXAMPLES}.")

    s = " ".join(text.lower().split())
    if s.startswith(_RELATIVE_WORDS):
        raise InvalidInput(
            f"I cannot work out a date from words like {typed}. "
            f"Please type the date itself, {_DATE_EXAMPLES}."
        )
    s = _TIME_RE.sub("", s).rstrip(".").strip()
    weekday: int | None = None
    found = _WEEKDAY_RE.match(s)
    if found is not None and found.group(1) in _WEEKDAY_LOOKUP:
        weekday = _WEEKDAY_LOOKUP[found.group(1)]
        s = s[found.end() :]
    s = re.sub(r"\s*([-/.])\s*", r"\1", s)

    result = _parse_date_body(s, typed, month_only)
    if weekday is not None and result.weekday() != weekday:
        actual = _DAY_NAMES[result.weekday()]
        raise InvalidInput(
            f"{format_uk_date(result)} is a {actual}, not a {_DAY_NAMES[weekday]}. Please check the date, "
            f"for example {actual} {format_uk_date(result)}."
        )
    return result


def _parse_date_body(s: str, typed: str, month_only: Literal["start", "end"] | None) -> date:
    if m := _YEAR_FIRST_RE.match(s):
        return _make_date(int(m.group(1)), int(m.group(3)), int(m.group(4)), typed)
    if m := _DAY_FIRST_RE.match(s):
        return _make_date(
            _full_year(m.group(4)), int(m.group(3)), int(m.group(1)), typed, numeric_day_first=True
        )
    if m := _DAY_MONTH_NAME_RE.match(s):
        month = _month_word(m.group(2), typed)
        return _make_date(_full_year(m.group(3)), month, int(m.group(1)), typed)
    if m := _MONTH_NAME_DAY_RE.match(s):
        month = _month_word(m.group(1), typed)
        return _make_date(int(m.group(3)), month, int(m.group(2)), typed)
    if m := _MONTH_NAME_YEAR_RE.match(s):
        return _month_only(int(m.group(2)), _month_word(m.group(1), typed), typed, month_only)
    if m := _MONTH_YEAR_RE.match(s):
        return _month_only(int(m.group(2)), int(m.group(1)), typed, month_only)
    if m := _YEAR_MONTH_RE.match(s):
        if int(m.group(2)) > 12 and len(m.group(2)) == 2:
            raise InvalidInput(
                f"{typed} looks like a financial year, not a date. Please type a date, {_DATE_EXAMPLES}."
            )
        return _month_only(int(m.group(1)), int(m.group(2)), typed, month_only)
    if re.fullmatch(r"[0-9]{4}", s):
        raise InvalidInput(f"{typed} is only a year. Please type a full date, {_DATE_EXAMPLES}.")
    if _SERIAL_RE.fullmatch(s):
        raise InvalidInput(
            f"{typed} looks like a spreadsheet's number for a date, not a date: the column was probably "
            "formatted as a number when the file was saved. In the spreadsheet, format the column as a date "
            "(dd/mm/yyyy, for example 01/04/2025) and save the CSV again."
        )
    if any(pattern.match(s) for pattern in _NO_YEAR_RES):
        whole_month = " (or April 2025 for the whole month)" if month_only is not None else ""
        raise InvalidInput(
            f"{typed} does not give the year in full. Please type the date with a four-digit year, "
            f"for example 25 April 2025{whole_month}."
        )
    raise InvalidInput(f"{typed} is not a date I can read. Please type a date, {_DATE_EXAMPLES}.")


# ----------------------------------------------------------------------------------------------------
# Lengths of time
# ----------------------------------------------------------------------------------------------------

_DURATION_EXAMPLES = "for example 5 years, 18 months or 1 year 6 months"


@dataclass(frozen=True)
class Duration:
    """A length of time in whole years and months, kept as the officer gave it: "18 months" is
    Duration(0, 18), not Duration(1, 6). Compare lengths with ``total_months``."""

    years: int
    months: int

    def __post_init__(self) -> None:
        if self.years < 0 or self.months < 0:
            raise ValueError("Duration years and months cannot be negative")

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months

    def __str__(self) -> str:
        parts: list[str] = []
        if self.years:
            parts.append(f"{self.years} year{'' if self.years == 1 else 's'}")
        if self.months or not self.years:
            parts.append(f"{self.months} month{'' if self.months == 1 else 's'}")
        return " ".join(parts)


_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_NUMBER_WORD_RE = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")
_NUM = r"[0-9]+(?:\.[0-9]+)?"
_YEARS_PART = rf"(?P<y>{_NUM})\s*(?:years?|yrs?|y)(?![a-z])"
_MONTHS_PART = rf"(?P<m>{_NUM})\s*(?:months?|mths?|mnths?|mos?|m)(?![a-z])"
_DURATION_RE = re.compile(rf"^(?:{_YEARS_PART})?\s*(?:,\s*)?(?:(?:and|\+)\s*)?(?:{_MONTHS_PART})?$")
_OTHER_UNITS_RE = re.compile(r"[0-9]\s*(?:weeks?|wks?|w|days?|d|hours?|hrs?|h)(?![a-z])")


def parse_duration(text: str) -> Duration:
    """A length of time in years and months: "5 years", "5 yrs", "5y", "18 months", "18 mths",
    "1 year 6 months", "1 year and 6 months", "1y6m", "2.5 years", "five years", "a year".

    Fractions of a year must come to whole months ("2.5 years" is 2 years 6 months). The length must be more
    than zero and at most 999 years.
    """
    if not text.strip():
        raise InvalidInput(f"No length of time was given. Please type one, {_DURATION_EXAMPLES}.")
    typed = _quote(text)
    if len(text.strip()) > _MAX_TEXT:
        raise InvalidInput(
            f"That is too long to be a length of time. Please type just the length, {_DURATION_EXAMPLES}."
        )
    s = " ".join(text.lower().split()).rstrip(".").strip().replace("&", "and")
    s = re.sub(r"\b(?:a|an)\s+(?=(?:year|month)s?\b)", "1 ", s)
    s = _NUMBER_WORD_RE.sub(lambda word: str(_NUMBER_WORDS[word.group(1)]), s)

    if re.match(r"^(?:minus\b|[-−–—])", s):
        raise InvalidInput(
            f"A length of time cannot be negative (you typed {typed}). Please type one, {_DURATION_EXAMPLES}."
        )
    match = _DURATION_RE.match(s)
    if match is None or (match.group("y") is None and match.group("m") is None):
        if _OTHER_UNITS_RE.search(s):
            raise InvalidInput(
                f"Please give the length in years and months rather than weeks or days (you typed {typed}), "
                "for example 18 months or 2 years."
            )
        if re.fullmatch(_NUM, s):
            raise InvalidInput(
                f"{typed} needs a unit: is it years or months? "
                f"Please type it again, for example {s} years or {s} months."
            )
        raise InvalidInput(
            f"{typed} is not a length of time I can read. Please type it, {_DURATION_EXAMPLES}."
        )

    years_text, months_text = match.group("y"), match.group("m")
    with localcontext(Context(prec=50)):
        years = Decimal(years_text) if years_text is not None else Decimal(0)
        months = Decimal(months_text) if months_text is not None else Decimal(0)
        if years * 12 + months > MAX_DURATION_MONTHS:
            raise InvalidInput(
                f"{typed} is longer than 999 years, which cannot be right. "
                f"Please check it, {_DURATION_EXAMPLES}."
            )
        if months != months.to_integral_value():
            raise InvalidInput(
                f"{typed} is not a whole number of months. Please give whole months, for example 18 months "
                "or 1 year 6 months."
            )
        if years != years.to_integral_value():
            if months_text is not None:
                raise InvalidInput(
                    f"{typed} mixes part of a year with months. Please give whole years and months, "
                    "for example 1 year 6 months."
                )
            in_months = years * 12
            if in_months != in_months.to_integral_value():
                raise InvalidInput(
                    f"{typed} is not a whole number of months ({years} years is {in_months.normalize():f} "
                    "months). Please give it in years and months, for example 2 years 6 months or 30 months."
                )
            whole = int(in_months)
            result = Duration(whole // 12, whole % 12)
        else:
            result = Duration(int(years), int(months))
    if result.total_months == 0:
        raise InvalidInput(f"A length of time must be more than zero. Please type one, {_DURATION_EXAMPLES}.")
    return result


# ----------------------------------------------------------------------------------------------------
# Yes / no answers
# ----------------------------------------------------------------------------------------------------

_YES_WORDS = (
    "yes",
    "y",
    "yeah",
    "yep",
    "yup",
    "true",
    "1",
    "met",
    "agreed",
    "agree",
    "correct",
    "✓",
    "✔",
    "✅",
    "☑",
)
_NO_WORDS = ("no", "n", "nope", "nah", "false", "0", "not met", "not agreed", "incorrect", "✗", "✘", "❌")
_NA_WORDS = ("n/a", "na", "n.a", "not applicable", "does not apply", "doesn't apply", "not relevant")

_YES_NO_EXAMPLES = 'for example "yes" or "no"'
_SPLIT_EXAMPLES = 'for example "yes, it is £250k a year" or "no - short term only"'
_SEPARATORS = ",\\-–—:;.!"


def _normalise_answer(text: str) -> str:
    s = " ".join(text.replace("\ufe0f", "").replace("’", "'").lower().split())
    return s.rstrip(".!").strip()


def _lookup(s: str) -> bool | None:
    if s in _YES_WORDS:
        return True
    if s in _NO_WORDS:
        return False
    return None


def parse_yes_no(text: str) -> bool:
    """True for yes (yes, y, yeah, yep, true, 1, met, agreed, correct, ✓), False for no (no, n, nope,
    false, 0, not met). The whole answer must be one of these; use :func:`split_answer` to allow a reason."""
    s = _normalise_answer(text)
    if not s:
        raise InvalidInput(f"No answer was given. Please answer yes or no, {_YES_NO_EXAMPLES}.")
    answer = _lookup(s)
    if answer is not None:
        return answer
    if s in _NA_WORDS:
        raise InvalidInput(
            f'This question needs a yes or no: "not applicable" is not one of the answers. '
            f"Please answer yes or no, {_YES_NO_EXAMPLES}."
        )
    if _ANSWER_RE.match(text.replace("\ufe0f", "")):
        raise InvalidInput(f"Please answer just yes or no here, without a reason, {_YES_NO_EXAMPLES}.")
    raise InvalidInput(
        f"Please answer yes or no: {_quote(text)} is neither. Please type an answer, {_YES_NO_EXAMPLES}."
    )


def parse_yes_no_na(text: str) -> Literal["yes", "no", "na"]:
    """ "yes" / "no" as :func:`parse_yes_no`, or "na" for n/a, na, not applicable, does not apply."""
    s = _normalise_answer(text)
    if not s:
        raise InvalidInput(
            "No answer was given. Please answer yes, no or n/a (not applicable), "
            f'{_YES_NO_EXAMPLES} or "n/a".'
        )
    if s in _NA_WORDS:
        return "na"
    answer = _lookup(s)
    if answer is not None:
        return "yes" if answer else "no"
    raise InvalidInput(
        f"Please answer yes, no or n/a (not applicable): {_quote(text)} is none of these. "
        f'Please type an answer, {_YES_NO_EXAMPLES} or "n/a".'
    )


def _answer_pattern() -> re.Pattern[str]:
    words = sorted((*_YES_WORDS, *_NO_WORDS), key=len, reverse=True)
    alternatives = []
    for word in words:
        escaped = re.escape(word).replace(r"\ ", r"\s+")
        if word in ("1", "0"):
            # A bare digit needs punctuation or nothing after it: "1 year" is not a yes.
            alternatives.append(rf"{escaped}(?=\s*(?:$|[{_SEPARATORS}]))")
        else:
            alternatives.append(rf"{escaped}(?=$|[\s{_SEPARATORS}])")
    return re.compile(r"^\s*(?P<answer>" + "|".join(alternatives) + ")", re.IGNORECASE)


_ANSWER_RE = _answer_pattern()
_REASON_LEAD_RE = re.compile(rf"^\s*[{_SEPARATORS}]*\s*(?:because(?![a-z])[\s,:]*)?", re.IGNORECASE)


def split_answer(text: str) -> tuple[bool, str]:
    """A yes/no answer with an optional reason after it: "yes, it is £250k a year" is (True, "it is £250k a
    year"), "No - short term only" is (False, "short term only"), "yes" is (True, "").

    The reason may follow a comma, dash, colon, semicolon, full stop, "because" or just a space; it is
    returned as typed (case kept), without the separator.
    """
    cleaned = text.replace("\ufe0f", "").replace("’", "'")
    if not cleaned.strip():
        raise InvalidInput(f"No answer was given. Please answer yes or no, {_SPLIT_EXAMPLES}.")
    match = _ANSWER_RE.match(cleaned)
    if match is None:
        raise InvalidInput(
            f"Please start your answer with yes or no ({_quote(text)} does not), {_SPLIT_EXAMPLES}."
        )
    answer = _lookup(" ".join(match.group("answer").lower().split()))
    if answer is None:  # pragma: no cover - the pattern is built from the same words
        raise InvalidInput(f"Please start your answer with yes or no, {_SPLIT_EXAMPLES}.")
    rest = cleaned[match.end() :]
    lead = _REASON_LEAD_RE.match(rest)
    reason = rest[lead.end() if lead is not None else 0 :].strip()
    return answer, reason
