"""Where an arrangement stands: its latest RAG, the next update it owes, its open governance gaps."""

from __future__ import annotations

from datetime import date

from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import AreaAnswer, GovernanceReview, InPlace
from kcpf.model import Status
from kcpf.monitoring import Rag
from kcpf.services import ArrangementFile
from kcpf.standing import standing
from tests.builders import arrangement, at, monitoring_update

RULES = FRAMEWORK_2025.monitoring
KEY = arrangement(status=Status.MONITORING, key_since=date(2026, 5, 20))


def file(
    a: object = KEY, updates: tuple[object, ...] = (), reviews: tuple[object, ...] = ()
) -> ArrangementFile:
    return ArrangementFile(a, (), (), reviews, updates)  # type: ignore[arg-type]


def test_a_new_key_arrangement_owes_the_half_year_in_which_it_became_key() -> None:
    now = standing(file(), RULES)
    assert now.is_key
    assert now.performance is None
    assert now.latest_update is None
    assert str(now.next_update) == "2026/27-H1"
    assert now.next_update_due == date(2026, 10, 31)
    assert not now.update_overdue(date(2026, 10, 31))
    assert now.update_overdue(date(2026, 11, 1))


def test_the_next_update_follows_the_latest_submitted_whatever_order_they_were_recorded_in() -> None:
    updates = (monitoring_update("2026/27-H1", Rag.AMBER), monitoring_update("2025/26-H2", Rag.RED))
    now = standing(file(updates=updates), RULES)
    assert now.performance is Rag.AMBER  # the latest half-year's, not the last recorded
    assert str(now.next_update) == "2026/27-H2"
    assert now.next_update_due == date(2027, 4, 30)


def test_arrangements_not_key_owe_nothing() -> None:
    for status in (Status.PROPOSED, Status.NOT_KEY, Status.ENDED):
        now = standing(file(arrangement(status=status, key_since=date(2026, 5, 20))), RULES)
        assert not now.is_key
        assert now.next_update is None
        assert now.next_update_due is None


def test_a_key_arrangement_without_a_key_date_or_update_has_no_known_next_update() -> None:
    now = standing(file(arrangement(status=Status.KEY, key_since=None)), RULES)
    assert now.is_key
    assert now.next_update is None
    assert not now.update_overdue(date(2030, 1, 1))


def test_open_gaps_come_from_the_latest_self_assessment() -> None:
    gap = AreaAnswer("exit-plan", InPlace.NO, "Draft an exit plan", date(2027, 3, 31))
    other = AreaAnswer("risk-register", InPlace.NO, "Start a risk register", date(2027, 1, 31))
    old = GovernanceReview("KCP-0001", "2025.1", (gap, other), "jo", at(date(2026, 6, 1)))
    new = GovernanceReview("KCP-0001", "2025.1", (gap,), "jo", at(date(2026, 9, 1)))
    now = standing(file(reviews=(old, new)), RULES)
    assert now.open_gaps == (gap,)
    assert now.next_gap_target == date(2027, 3, 31)
    assert standing(file(), RULES).open_gaps == ()
    assert standing(file(), RULES).next_gap_target is None
