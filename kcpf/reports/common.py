"""Wording the reports share: money, dates, RAG words and an arrangement's particulars."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from kcpf.assessment import describe_term, term_months
from kcpf.framework import FrameworkVersion
from kcpf.governance import GovernanceReview
from kcpf.model import Arrangement
from kcpf.monitoring import MonitoringUpdate, Risk
from kcpf.parsing import format_money, format_uk_date
from kcpf.reports.content import Table

NOT_RECORDED = "Not recorded"
NO_UPDATE = "No update"


def money(amount: Decimal | None) -> str:
    return NOT_RECORDED if amount is None else format_money(amount)


def day(value: date | None) -> str:
    return NOT_RECORDED if value is None else format_uk_date(value)


def officer(arrangement: Arrangement) -> str:
    person = arrangement.responsible_officer
    if person is None:
        return "None assigned"
    return f"{person.name} ({person.email})" if person.name else person.email


def term(arrangement: Arrangement) -> str:
    if arrangement.start_date and arrangement.end_date:
        length = describe_term(term_months(arrangement.start_date, arrangement.end_date))
        return f"{day(arrangement.start_date)} to {day(arrangement.end_date)} ({length})"
    if arrangement.start_date:
        return f"From {day(arrangement.start_date)}; end date not recorded"
    return NOT_RECORDED


def heading_name(arrangement: Arrangement) -> str:
    return f"{arrangement.reference} {arrangement.title}"


def particulars(arrangement: Arrangement) -> list[tuple[str, str]]:
    """What every report says about an arrangement, in the same words."""
    return [
        ("Reference", arrangement.reference or ""),
        ("Type", arrangement.type.label),
        ("Council", arrangement.council.label),
        ("Partner or supplier", arrangement.partner),
        ("Responsible officer", officer(arrangement)),
        ("Service", arrangement.service or NOT_RECORDED),
        ("Annual value", money(arrangement.annual_value)),
        ("Total value", money(arrangement.total_value)),
        ("Term", term(arrangement)),
        ("End date", day(arrangement.end_date)),
        ("Status", arrangement.status.label),
    ]


def particulars_table(arrangement: Arrangement, extra: Sequence[tuple[str, str]] = ()) -> Table:
    return Table(
        ("Item", "Detail"),
        (*particulars(arrangement), *extra),
        f"Particulars of {heading_name(arrangement)}",
        widths=(2, 3),
    )


def update_for(updates: Sequence[MonitoringUpdate], period: str) -> MonitoringUpdate | None:
    for update in updates:
        if update.period == period:
            return update
    return None


def rag_word(update: MonitoringUpdate | None) -> str:
    return NO_UPDATE if update is None else update.performance.label


def kpi_table(update: MonitoringUpdate, name: str) -> Table:
    return Table(
        ("KPI", "Target", "Actual", "RAG"),
        tuple(
            (
                kpi.name + (" (lower is better)" if kpi.lower_is_better else ""),
                _measure(kpi.target, kpi.unit),
                _measure(kpi.actual, kpi.unit),
                kpi.rag.label,
            )
            for kpi in update.kpis
        ),
        f"KPIs against targets for {name}, {update.period}",
        widths=(4, 2, 2, 1),
    )


def _measure(value: Decimal, unit: str) -> str:
    if unit == "£":
        return format_money(value)
    text = f"{value:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}".strip()


def risk_rows(update: MonitoringUpdate) -> tuple[tuple[str, str, str], ...]:
    rows = [_risk_row(risk) for risk in update.risks]
    stability = update.financial_stability
    rows.append((f"The partner's financial stability: {stability.description}", *_rating(stability)))
    return tuple(rows)


def _risk_row(risk: Risk) -> tuple[str, str, str]:
    return (risk.description, *_rating(risk))


def _rating(risk: Risk) -> tuple[str, str]:
    return risk.rating.label, risk.trend.label


def risk_table(update: MonitoringUpdate, name: str) -> Table:
    return Table(
        ("Risk", "Rating", "Trend"), risk_rows(update), f"Risks for {name}, {update.period}", widths=(5, 1, 1)
    )


def gap_rows(
    framework: FrameworkVersion, review: GovernanceReview | None
) -> tuple[tuple[str, str, str], ...]:
    if review is None:
        return ()
    return tuple(
        (framework.governance_area(gap.area).name, gap.plan, day(gap.target_date)) for gap in review.gaps
    )
