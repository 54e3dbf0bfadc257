"""Small builders for test data, so each test states only what matters to it."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.clock import LONDON
from kcpf.model import Arrangement, ArrangementType, Council, Officer
from kcpf.monitoring import Kpi, MonitoringUpdate, Rag, Risk, Trend

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


def monitoring_update(period: str, performance: Rag = Rag.GREEN, **changes: Any) -> MonitoringUpdate:
    """A submitted update for KCP-0001: one KPI on target, the given overall rating."""
    base = MonitoringUpdate(
        reference="KCP-0001",
        period=period,
        performance=performance,
        kpis=(Kpi("Bins collected on time (%)", Decimal("99"), Decimal("99.2"), Rag.GREEN),),
        achievements="New fleet in service",
        issues_to_escalate="",
        risks=(),
        financial_stability=Risk("Accounts filed on time", Rag.GREEN, Trend.STABLE),
        new_arrangements_identified="",
        annual=None,
        submitted_by=OFFICER.email,
        submitted_at=at(date(2026, 10, 10)),
    )
    return dataclasses.replace(base, **changes)
