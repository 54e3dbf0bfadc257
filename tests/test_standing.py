"""Where an arrangement stands: its latest RAG, the next update it owes (as `kcpf due` counts), its open
governance gaps."""

from __future__ import annotations

from datetime import date

from kcpf.due import obligations
from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import AreaAnswer, GovernanceReview, InPlace
from kcpf.model import Arrangement, Status
from kcpf.monitoring import MonitoringUpdate, Rag
from kcpf.services import ArrangementFile
from kcpf.standing import standing
from tests.builders import arrangement, at, monitoring_update

KEY = arrangement(status=Status.MONITORING, key_since=date(2026, 5, 20))


def file(
    a: Arrangement = KEY,
    updates: tuple[MonitoringUpdate, ...] = (),
    reviews: tuple[GovernanceReview, ...] = (),
) -> ArrangementFile:
    return ArrangementFile(a, (), (), reviews, updates)


def test_a_new_key_arrangement_owes_the_half_year_in_which_it_became_key() -> None:
    now = standing(file(), FRAMEWORK_2025, date(2026, 6, 1))
    assert now.is_key
    assert now.performance is None
    assert now.latest_update is None
    assert str(now.next_update) == "2026/27-H1"
    assert now.next_update_due == date(2026, 10, 31)
    assert not now.update_overdue(date(2026, 10, 31))
    assert now.update_overdue(date(2026, 11, 1))


def test_the_next_update_stays_put_as_days_pass_until_it_is_submitted() -> None:
    owed = {
        str(standing(file(), FRAMEWORK_2025, day).next_update) for day in (date(2026, 6, 1), date(2027, 6, 1))
    }
    assert owed == {"2026/27-H1"}  # still the first one owed a year later, now overdue
    done = standing(file(updates=(monitoring_update("2026/27-H1"),)), FRAMEWORK_2025, date(2026, 11, 20))
    assert str(done.next_update) == "2026/27-H2"
    assert done.next_update_due == date(2027, 4, 30)


def test_a_skipped_half_year_is_owed_first_as_kcpf_due_says() -> None:
    """Key since June 2025: updates for 2025/26-H1 and 2026/27-H1, none for 2025/26-H2 (due 30 April 2026)."""
    key = arrangement(status=Status.MONITORING, key_since=date(2025, 6, 10))
    updates = (monitoring_update("2026/27-H1", Rag.RED), monitoring_update("2025/26-H1", Rag.GREEN))
    today = date(2026, 11, 20)
    now = standing(file(key, updates), FRAMEWORK_2025, today)
    owed = obligations(FRAMEWORK_2025, [key], {"KCP-0001": [u.period for u in updates]}, {}, today)
    assert [o.what for o in owed] == ["annual update for 2025/26-H2"]
    assert str(now.next_update) == "2025/26-H2"
    assert now.next_update_due == owed[0].due_date
    assert now.update_overdue(today)
    assert now.performance is Rag.RED  # the latest half-year's, not the last recorded


def test_a_key_arrangement_without_a_key_date_owes_what_kcpf_due_looks_back_for() -> None:
    imported = arrangement(status=Status.KEY, key_since=None)
    today = date(2026, 11, 20)
    now = standing(file(imported), FRAMEWORK_2025, today)
    first = obligations(FRAMEWORK_2025, [imported], {}, {}, today)[0]
    assert now.next_update_due == first.due_date
    assert now.update_overdue(today)


def test_arrangements_not_key_owe_nothing() -> None:
    for status in (Status.PROPOSED, Status.NOT_KEY, Status.ENDED):
        now = standing(
            file(arrangement(status=status, key_since=date(2026, 5, 20))), FRAMEWORK_2025, date(2027, 1, 1)
        )
        assert not now.is_key
        assert now.next_update is None
        assert now.next_update_due is None


def test_open_gaps_come_from_the_latest_self_assessment() -> None:
    gap = AreaAnswer("exit-plan", InPlace.NO, "Draft an exit plan", date(2027, 3, 31))
    other = AreaAnswer("risk-register", InPlace.NO, "Start a risk register", date(2027, 1, 31))
    old = GovernanceReview("KCP-0001", "2025.1", (gap, other), "jo", at(date(2026, 6, 1)))
    new = GovernanceReview("KCP-0001", "2025.1", (gap,), "jo", at(date(2026, 9, 1)))
    now = standing(file(reviews=(old, new)), FRAMEWORK_2025, date(2026, 11, 20))
    assert now.open_gaps == (gap,)
    assert now.next_gap_target == date(2027, 3, 31)
    assert standing(file(), FRAMEWORK_2025, date(2026, 11, 20)).next_gap_target is None
