"""Small builders for test data, so each test states only what matters to it."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.clock import LONDON
from kcpf.model import Arrangement, ArrangementType, Council, Officer

OFFICER = Officer("jo.bloggs@chorley.gov.uk", "Jo Bloggs")


def arrangement(**changes: Any) -> Arrangement:
    base = Arrangement(
        title="Waste collection",
        type=ArrangementType.CONTRACT,
        council=Council.CHORLEY,
        partner="Acme Environmental Ltd",
        responsible_officer=OFFICER,
        annual_value=Decimal("250000"),
        start_date=date(2025, 4, 1),
        end_date=date(2032, 3, 31),
        data_shared=True,
        reference="KCP-0001",
        version=1,
    )
    return dataclasses.replace(base, **changes)


class FixedClock:
    """A clock that says what the test tells it to."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def set(self, day: date, hour: int = 10) -> None:
        self.current = datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)
