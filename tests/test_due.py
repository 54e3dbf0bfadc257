"""What is due and overdue, from whom, on a given day."""

from __future__ import annotations

from datetime import date

from kcpf.due import Owed, by_officer, obligations
from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import AreaAnswer, GovernanceReview, InPlace
from kcpf.model import Officer, Status
from tests.builders import arrangement, at

KEY = arrangement(status=Status.MONITORING, key_since=date(2025, 6, 1))


def test_an_update_is_due_after_the_half_year_and_overdue_after_the_deadline() -> None:
    due = obligations(
        FRAMEWORK_2025, [KEY], {"KCP-0001": ["2025/26-H1", "2025/26-H2"]}, {}, date(2026, 10, 15)
    )
    assert [(o.what, o.due_date, o.overdue) for o in due] == [
        ("biannual update for 2026/27-H1", date(2026, 10, 31), False)
    ]
    late = obligations(
        FRAMEWORK_2025, [KEY], {"KCP-0001": ["2025/26-H1", "2025/26-H2"]}, {}, date(2026, 11, 1)
    )
    assert late[0].overdue
    assert late[0].state == "overdue"


def test_the_deadline_day_itself_is_not_overdue() -> None:
    due = obligations(
        FRAMEWORK_2025, [KEY], {"KCP-0001": ["2025/26-H1", "2025/26-H2"]}, {}, date(2026, 10, 31)
    )
    assert not due[0].overdue


def test_submitted_updates_are_not_owed_and_missed_ones_stay_owed() -> None:
    owed = obligations(FRAMEWORK_2025, [KEY], {"KCP-0001": ["2025/26-H1"]}, {}, date(2026, 10, 15))
    assert [(o.owed, o.what, o.overdue) for o in owed] == [
        (Owed.ANNUAL_UPDATE, "annual update for 2025/26-H2", True),
        (Owed.BIANNUAL_UPDATE, "biannual update for 2026/27-H1", False),
    ]


def test_nothing_is_owed_for_half_years_before_it_became_key() -> None:
    newly_key = arrangement(status=Status.KEY, key_since=date(2026, 10, 1))
    assert obligations(FRAMEWORK_2025, [newly_key], {}, {}, date(2026, 10, 15)) == []


def test_only_key_arrangements_owe_updates() -> None:
    for status in (Status.IDENTIFIED, Status.ASSESSED, Status.PROPOSED, Status.NOT_KEY, Status.ENDED):
        assert obligations(FRAMEWORK_2025, [arrangement(status=status)], {}, {}, date(2026, 11, 15)) == []


def test_look_back_is_bounded_without_a_key_date() -> None:
    imported_key = arrangement(status=Status.KEY, key_since=None)
    owed = obligations(FRAMEWORK_2025, [imported_key], {}, {}, date(2026, 11, 15))
    assert len(owed) == FRAMEWORK_2025.monitoring.periods_looked_back


def test_governance_plans_past_their_target_date() -> None:
    gap = AreaAnswer("exit_strategy", InPlace.NO, "Agree exit plan with partner", date(2026, 9, 30))
    review = GovernanceReview("KCP-0001", "2025.1", (gap,), "jo.bloggs@chorley.gov.uk", at(date(2026, 6, 1)))
    submitted = {"KCP-0001": ["2025/26-H1", "2025/26-H2", "2026/27-H1"]}
    owed = obligations(FRAMEWORK_2025, [KEY], submitted, {"KCP-0001": review}, date(2026, 10, 15))
    assert [(o.owed, o.what, o.overdue) for o in owed] == [
        (Owed.GOVERNANCE_PLAN, "Exit strategy: Agree exit plan with partner", True)
    ]
    assert obligations(FRAMEWORK_2025, [KEY], submitted, {"KCP-0001": review}, date(2026, 9, 30)) == []


def test_grouped_by_officer() -> None:
    other = arrangement(
        reference="KCP-0002",
        responsible_officer=Officer("sam@southribble.gov.uk"),
        status=Status.KEY,
        key_since=date(2025, 6, 1),
    )
    nobody = arrangement(
        reference="KCP-0003", responsible_officer=None, status=Status.KEY, key_since=date(2026, 6, 1)
    )
    grouped = by_officer(obligations(FRAMEWORK_2025, [KEY, other, nobody], {}, {}, date(2026, 10, 15)))
    assert list(grouped) == ["", "jo.bloggs@chorley.gov.uk", "sam@southribble.gov.uk"]
    assert {o.reference for o in grouped[""]} == {"KCP-0003"}
