"""Parsers for typed answers, in the form conversation state keeps them (JSON), from `kcpf.parsing`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from bot.flows.engine import Json, Parse
from kcpf.errors import InvalidInput
from kcpf.parsing import (
    format_uk_date,
    parse_money,
    parse_uk_date,
    parse_yes_no,
    parse_yes_no_na,
    split_answer,
)

_MAX_SHORT = 200
_MAX_LONG = 4000


def text(*, max_length: int = _MAX_SHORT, what: str = "this") -> Parse:
    def parse(typed: str, answers: Mapping[str, Json]) -> Json:
        value = " ".join(typed.split()) if max_length <= _MAX_SHORT else typed.strip()
        if not value:
            raise InvalidInput(f"Please type {what}.")
        if len(value) > max_length:
            raise InvalidInput(f"That is {len(value)} characters; please keep {what} under {max_length}.")
        return value

    return parse


def long_text(what: str) -> Parse:
    return text(max_length=_MAX_LONG, what=what)


def money(typed: str, answers: Mapping[str, Json]) -> Json:
    return str(parse_money(typed))


def uk_date(typed: str, answers: Mapping[str, Json]) -> Json:
    return parse_uk_date(typed).isoformat()


def date_after(key: str, what: str) -> Parse:
    """A date that must not fall before an earlier answer (an end date after its start date)."""

    def parse(typed: str, answers: Mapping[str, Json]) -> Json:
        day = parse_uk_date(typed)
        earlier = answers.get(key)
        if earlier and day < date.fromisoformat(earlier):
            raise InvalidInput(
                f"{format_uk_date(day)} is before {what} ({format_uk_date(date.fromisoformat(earlier))})."
            )
        return day.isoformat()

    return parse


def date_from(today: date) -> Parse:
    """A target date from today on."""

    def parse(typed: str, answers: Mapping[str, Json]) -> Json:
        day = parse_uk_date(typed)
        if day < today:
            raise InvalidInput(f"{format_uk_date(day)} has already passed; give a date from today on.")
        return day.isoformat()

    return parse


def yes_no(typed: str, answers: Mapping[str, Json]) -> Json:
    return parse_yes_no(typed)


def yes_no_reason(typed: str, answers: Mapping[str, Json]) -> Json:
    met, reason = split_answer(typed)
    return {"met": met, "reason": reason}


def yes_no_na(typed: str, answers: Mapping[str, Json]) -> Json:
    return parse_yes_no_na(typed)


def number(what: str) -> Parse:
    def parse(typed: str, answers: Mapping[str, Json]) -> Json:
        cleaned = typed.strip().replace(",", "").rstrip("%").strip()
        cleaned = re.sub(r"^£", "", cleaned)
        try:
            value = Decimal(cleaned)
        except ArithmeticError:
            raise InvalidInput(
                f"“{typed.strip()}” is not a number: type {what} as a number, such as 95."
            ) from None
        if not value.is_finite():
            raise InvalidInput(f"“{typed.strip()}” is not a number: type {what} as a number, such as 95.")
        return str(value)

    return parse


def items(typed: str) -> tuple[str, ...]:
    """Several answers in one: separated by semicolons or new lines."""
    return tuple(part.strip() for part in re.split(r"[;\n]", typed) if part.strip())


def as_date(value: Json) -> date | None:
    return date.fromisoformat(value) if value else None


def as_money(value: Json) -> Decimal | None:
    return Decimal(value) if value is not None else None
