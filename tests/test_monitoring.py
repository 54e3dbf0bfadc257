"""Step 5: monitoring updates, KPIs rated by the councils' RAG rule, risks, and the annual update."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kcpf.calendar import Period
from kcpf.errors import InvalidInput
from kcpf.framework import FRAMEWORK_2025
from kcpf.monitoring import AnnualReview, Kpi, Rag, Risk, Trend, kpi_rag, prepare_update
from tests.builders import arrangement, at

FIVE = Decimal("0.05")
STABLE = Risk("Partner's accounts filed on time; no concerns", Rag.GREEN, Trend.STABLE)


@pytest.mark.parametrize(
    ("target", "actual", "lower", "rag"),
    [
        ("100", "100", False, Rag.GREEN),
        ("100", "120", False, Rag.GREEN),
        ("100", "95", False, Rag.AMBER),  # exactly 5% below: within 5%
        ("100", "94.99", False, Rag.RED),
        ("100", "99.5", False, Rag.AMBER),
        ("20", "20", True, Rag.GREEN),  # lower is better: days to re-let
        ("20", "21", True, Rag.AMBER),
        ("20", "21.01", True, Rag.RED),
        ("20", "15", True, Rag.GREEN),
        ("0", "0", False, Rag.GREEN),
        ("0", "-1", False, Rag.RED),
    ],
)
def test_rag_rule(target: str, actual: str, lower: bool, rag: Rag) -> None:
    assert kpi_rag(Decimal(target), Decimal(actual), lower_is_better=lower, tolerance=FIVE) is rag


def test_kpi_measured_takes_the_tolerance_from_the_framework() -> None:
    kpi = Kpi.measured(FRAMEWORK_2025, "Bins collected on time (%)", Decimal("99"), Decimal("94.05"))
    assert kpi.rag is Rag.AMBER
    with pytest.raises(InvalidInput, match="Each KPI needs a name"):
        Kpi.measured(FRAMEWORK_2025, " ", Decimal("1"), Decimal("1"))


def test_words_for_rag_and_trend() -> None:
    assert [r.label for r in Rag] == ["Green", "Amber", "Red"]
    assert Rag.parse("A") is Rag.AMBER
    assert Trend.parse("worse") is Trend.WORSENING
    with pytest.raises(InvalidInput, match="answer green, amber or red"):
        Rag.parse("purple")


def update(period: str, **changes: object) -> object:
    fields: dict[str, object] = {
        "performance": None,
        "kpis": [
            Kpi.measured(
                FRAMEWORK_2025, "Missed bins per 100,000", Decimal("50"), Decimal("70"), lower_is_better=True
            )
        ],
        "achievements": "New fleet in service",
        "issues_to_escalate": "",
        "risks": [],
        "financial_stability": STABLE,
        "by": "jo.bloggs@chorley.gov.uk",
        "at": at(date(2026, 10, 10)),
    }
    fields.update(changes)
    return prepare_update(arrangement(), Period.parse(period), **fields)  # type: ignore[arg-type]


def test_overall_performance_defaults_to_the_worst_kpi() -> None:
    made = update("2026/27-H1")
    assert made.performance is Rag.RED  # type: ignore[attr-defined]
    assert update("2026/27-H1", performance=Rag.AMBER).performance is Rag.AMBER  # type: ignore[attr-defined]


def test_a_rating_or_a_kpi_is_needed() -> None:
    with pytest.raises(InvalidInput, match="overall performance rating"):
        update("2026/27-H1", kpis=[])


def test_the_year_end_update_is_the_annual_update() -> None:
    with pytest.raises(InvalidInput, match="this is also the annual update"):
        update("2025/26-H2")
    annual = AnnualReview("Met 4 of 5 targets", ("Cut missed bins to 40 per 100,000",))
    made = update("2025/26-H2", annual=annual)
    assert made.is_annual  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="belongs to the year-end"):
        update("2026/27-H1", annual=annual)
    with pytest.raises(InvalidInput, match="at least one objective"):
        update("2025/26-H2", annual=AnnualReview("Met targets", ("  ",)))


def test_financial_stability_must_be_described() -> None:
    with pytest.raises(InvalidInput, match="financial stability"):
        update("2026/27-H1", financial_stability=Risk(" ", Rag.GREEN, Trend.STABLE))


def test_no_update_for_a_half_year_not_yet_started() -> None:
    with pytest.raises(InvalidInput, match="2026/27-H2 has not started yet"):
        update("2026/27-H2", annual=AnnualReview("x", ("y",)), at=at(date(2026, 9, 1)))
