"""Step 5: the biannual (and annual) monitoring updates a responsible officer submits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from kcpf.calendar import Period
from kcpf.errors import InvalidInput
from kcpf.framework import FrameworkVersion
from kcpf.model import Arrangement


class Rag(StrEnum):
    """Always shown as the word, never by colour alone."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def severity(self) -> int:
        return {"green": 0, "amber": 1, "red": 2}[self.value]

    @classmethod
    def parse(cls, text: str) -> Rag:
        key = text.strip().lower()
        for rag in cls:
            if key in {rag.value, rag.value[0]}:
                return rag
        raise InvalidInput(f"“{text.strip()}” is not a RAG rating: answer green, amber or red.", field="rag")


def kpi_rag(target: Decimal, actual: Decimal, *, lower_is_better: bool, tolerance: Decimal) -> Rag:
    """The councils' rule: green on or above target, amber below but within the tolerance (5%), red outside.

    For lower-is-better measures (days to re-let a home, complaints) the comparison is reversed.
    """
    margin = abs(target) * tolerance
    if lower_is_better:
        if actual <= target:
            return Rag.GREEN
        return Rag.AMBER if actual <= target + margin else Rag.RED
    if actual >= target:
        return Rag.GREEN
    return Rag.AMBER if actual >= target - margin else Rag.RED


@dataclass(frozen=True)
class Kpi:
    name: str
    target: Decimal
    actual: Decimal
    rag: Rag
    lower_is_better: bool = False
    unit: str = ""

    @classmethod
    def measured(
        cls,
        framework: FrameworkVersion,
        name: str,
        target: Decimal,
        actual: Decimal,
        *,
        lower_is_better: bool = False,
        unit: str = "",
    ) -> Kpi:
        if not name.strip():
            raise InvalidInput("Each KPI needs a name.", field="kpi")
        rag = kpi_rag(
            target,
            actual,
            lower_is_better=lower_is_better,
            tolerance=framework.monitoring.rag_amber_tolerance,
        )
        return cls(name.strip(), target, actual, rag, lower_is_better, unit.strip())


class Trend(StrEnum):
    NEW = "new"
    IMPROVING = "improving"
    STABLE = "stable"
    WORSENING = "worsening"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @classmethod
    def parse(cls, text: str) -> Trend:
        key = text.strip().lower()
        aliases = {
            "same": cls.STABLE,
            "unchanged": cls.STABLE,
            "better": cls.IMPROVING,
            "worse": cls.WORSENING,
        }
        if key in aliases:
            return aliases[key]
        for trend in cls:
            if key == trend.value:
                return trend
        raise InvalidInput(
            f"“{text.strip()}” is not a trend: answer new, improving, stable or worsening.", field="trend"
        )


@dataclass(frozen=True)
class Risk:
    description: str
    rating: Rag
    trend: Trend


@dataclass(frozen=True)
class AnnualReview:
    """What the annual update to the executive adds: the year against its targets and the new objectives."""

    performance_against_targets: str
    objectives: tuple[str, ...]


@dataclass(frozen=True)
class MonitoringUpdate:
    reference: str
    period: str
    performance: Rag
    kpis: tuple[Kpi, ...]
    achievements: str
    issues_to_escalate: str
    risks: tuple[Risk, ...]
    financial_stability: Risk
    new_arrangements_identified: str
    annual: AnnualReview | None
    submitted_by: str
    submitted_at: datetime

    @property
    def is_annual(self) -> bool:
        return self.annual is not None


def suggested_performance(kpis: Sequence[Kpi]) -> Rag | None:
    """The worst KPI's rating, as a starting point for the officer's overall judgement."""
    return max((k.rag for k in kpis), key=lambda r: r.severity, default=None)


def prepare_update(
    arrangement: Arrangement,
    period: Period,
    *,
    performance: Rag | None,
    kpis: Sequence[Kpi],
    achievements: str,
    issues_to_escalate: str,
    risks: Sequence[Risk],
    financial_stability: Risk,
    new_arrangements_identified: str = "",
    annual: AnnualReview | None = None,
    by: str,
    at: datetime,
) -> MonitoringUpdate:
    """Check an update for a half-year: H2 is the annual update and needs the year's review and objectives."""
    if arrangement.reference is None:
        raise InvalidInput("Record the contract or partnership before submitting updates for it.")
    if period.start > at.date():
        raise InvalidInput(
            f"{period.label} has not started yet: updates are for a half-year under way or ended."
        )
    overall = performance if performance is not None else suggested_performance(kpis)
    if overall is None:
        raise InvalidInput("Give an overall performance rating (green, amber or red) or at least one KPI.")
    if period.is_annual and annual is None:
        raise InvalidInput(
            f"{period.label} closes the financial year, so this is also the annual update: add the "
            "performance against the year's targets and the objectives for the current financial year.",
            field="annual",
        )
    if annual is not None:
        if not period.is_annual:
            raise InvalidInput("The annual review belongs to the year-end (H2) update.", field="annual")
        if not annual.performance_against_targets.strip() or not any(o.strip() for o in annual.objectives):
            raise InvalidInput(
                "The annual update needs the performance against the year's targets and at least one "
                "objective for the current financial year.",
                field="annual",
            )
    if not financial_stability.description.strip():
        raise InvalidInput("Say how the partner's financial stability looks.", field="financial_stability")
    return MonitoringUpdate(
        reference=arrangement.reference,
        period=period.label,
        performance=overall,
        kpis=tuple(kpis),
        achievements=achievements.strip(),
        issues_to_escalate=issues_to_escalate.strip(),
        risks=tuple(risks),
        financial_stability=financial_stability,
        new_arrangements_identified=new_arrangements_identified.strip(),
        annual=annual,
        submitted_by=by,
        submitted_at=at,
    )
