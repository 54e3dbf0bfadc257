"""Reminders: what is worth a message on a given day, to whom, and T&P's summary (pure)."""

from __future__ import annotations

import dataclasses
from datetime import date

from kcpf.due import obligations
from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import AreaAnswer, GovernanceReview, InPlace
from kcpf.model import Arrangement, Officer, Status
from kcpf.reminders import Kind, ReminderPlan, idempotency_key, plan_reminders
from tests.builders import arrangement, at

JO = Officer("jo.bloggs@chorley.gov.uk", "Jo Bloggs")
SAM = Officer("sam.other@chorley.gov.uk", "Sam Other")
ROBIN = Officer("robin.legal@southribble.gov.uk", "Robin Legal")
TP = "alex.tp@chorley.gov.uk"
DONE_BEFORE = ["2025/26-H1", "2025/26-H2"]  # updates already in, so only 2026/27-H1 (due 31 October) is owed
WARN = 14


def _key(reference: str, officer: Officer | None, **changes: object) -> Arrangement:
    return arrangement(
        reference=reference,
        responsible_officer=officer,
        status=Status.MONITORING,
        key_since=date(2025, 6, 1),
        **changes,
    )


REGISTER = [
    _key("KCP-0001", JO, title="Waste collection"),
    _key("KCP-0002", SAM, title="Leisure centres"),
    _key("KCP-0003", ROBIN, title="Shared legal service"),
    _key("KCP-0004", None, title="Parks maintenance"),
]


def _plan(on: date, *, reachable: tuple[str, ...] = (JO.email, SAM.email), done: bool = True) -> ReminderPlan:
    submitted = {a.reference or "": DONE_BEFORE for a in REGISTER} if done else {}
    owed = obligations(FRAMEWORK_2025, REGISTER, submitted, {}, on)
    return plan_reminders(owed, on, warn_days=WARN, tp=[TP], reachable=reachable)


def test_nothing_is_sent_while_the_deadline_is_further_off_than_the_warning() -> None:
    plan = _plan(date(2026, 10, 16))  # 15 days before 31 October
    assert plan.reminders == ()
    assert plan.messages == ()


def test_due_soon_from_the_warning_day_to_the_deadline_itself() -> None:
    for on, says in [(date(2026, 10, 17), "(in 14 days)"), (date(2026, 10, 31), "due today")]:
        plan = _plan(on)
        jo = next(r for r in plan.reminders if r.officer == JO)
        assert [o.what for o in jo.due_soon] == ["biannual update for 2026/27-H1"]
        assert jo.overdue == ()
        [text] = [m.text for m in plan.messages if m.to == JO.email]
        assert "Due soon" in text
        assert "Overdue" not in text
        assert "KCP-0001 Waste collection: biannual update for 2026/27-H1" in text
        assert says in text


def test_overdue_the_day_after_the_deadline() -> None:
    plan = _plan(date(2026, 11, 1))
    jo = next(r for r in plan.reminders if r.officer == JO)
    assert jo.due_soon == ()
    assert [o.reference for o in jo.overdue] == ["KCP-0001"]
    [text] = [m.text for m in plan.messages if m.to == JO.email]
    assert "Overdue" in text
    assert "was due 31 October 2026 (1 day ago)" in text
    assert "update KCP-0001" in text


def test_each_officer_gets_their_own_items_only() -> None:
    plan = _plan(date(2026, 11, 1), done=False)  # also the year-end update for 2025/26, overdue since April
    by_person = {m.to: m.text for m in plan.messages if m.kind is Kind.REMINDER}
    assert set(by_person) == {JO.email, SAM.email}
    assert "KCP-0001" in by_person[JO.email]
    assert "KCP-0002" not in by_person[JO.email]
    assert "KCP-0002" in by_person[SAM.email]
    assert "KCP-0001" not in by_person[SAM.email]
    assert "annual update for 2025/26-H2" in by_person[JO.email]


def test_tp_summary_counts_names_the_overdue_and_who_cannot_be_reached() -> None:
    plan = _plan(date(2026, 11, 1))
    [summary] = [m for m in plan.messages if m.kind is Kind.SUMMARY]
    assert summary.to == TP
    text = summary.text
    assert "4 items overdue and 0 due soon, from 3 responsible officers" in text
    assert "Jo Bloggs <jo.bloggs@chorley.gov.uk>: 1 item (KCP-0001)" in text
    assert "No responsible officer assigned:** KCP-0004" in text
    assert "Not reachable in Teams yet" in text
    assert "Robin Legal <robin.legal@southribble.gov.uk>" in text
    assert plan.not_reachable == (ROBIN,)
    assert [o.reference for o in plan.unassigned] == ["KCP-0004"]


def test_an_officer_without_a_conversation_gets_no_message_but_is_in_the_plan() -> None:
    plan = _plan(date(2026, 10, 20), reachable=())
    assert {r.officer for r in plan.reminders} == {JO, SAM, ROBIN}
    assert [m.kind for m in plan.messages] == [Kind.SUMMARY]
    assert "Not reachable in Teams yet" in plan.messages[0].text


def test_idempotency_keys_name_the_day_the_person_and_the_kind() -> None:
    plan = _plan(date(2026, 11, 1))
    keys = {m.key for m in plan.messages}
    assert keys == {
        "2026-11-01/reminder/jo.bloggs@chorley.gov.uk",
        "2026-11-01/reminder/sam.other@chorley.gov.uk",
        "2026-11-01/summary/alex.tp@chorley.gov.uk",
    }
    assert idempotency_key(date(2026, 11, 1), "Jo.Bloggs@Chorley.gov.uk", Kind.REMINDER) in keys
    assert {m.key for m in _plan(date(2026, 11, 2)).messages}.isdisjoint(keys)  # the next day is a new day


def test_nothing_owed_means_no_summary_either() -> None:
    owed = obligations(FRAMEWORK_2025, [], {}, {}, date(2026, 11, 1))
    plan = plan_reminders(owed, date(2026, 11, 1), warn_days=WARN, tp=[TP], reachable=[JO.email])
    assert plan.messages == ()


def test_a_governance_plan_past_its_target_points_to_the_governance_conversation() -> None:
    gap = AreaAnswer("exit_strategy", InPlace.NO, "Agree exit plan with partner", date(2026, 10, 1))
    review = GovernanceReview("KCP-0001", "2025.1", (gap,), JO.email, at(date(2026, 6, 1)))
    submitted = {"KCP-0001": [*DONE_BEFORE, "2026/27-H1"]}
    owed = obligations(FRAMEWORK_2025, REGISTER[:1], submitted, {"KCP-0001": review}, date(2026, 11, 1))
    plan = plan_reminders(owed, date(2026, 11, 1), warn_days=WARN, tp=[], reachable=[JO.email])
    [message] = plan.messages
    assert "Exit strategy: Agree exit plan with partner" in message.text
    assert "*governance KCP-0001*" in message.text


def test_the_deadlines_are_the_frameworks_including_a_councils_own_setting() -> None:
    """KCPF_H1_UPDATE_DUE=30 November (Settings.framework()) moves the reminders with the deadline."""
    monitoring = dataclasses.replace(FRAMEWORK_2025.monitoring, h1_update_due=(11, 30))
    later = dataclasses.replace(FRAMEWORK_2025, monitoring=monitoring)
    submitted = {"KCP-0001": DONE_BEFORE}

    def plan(on: date) -> ReminderPlan:
        owed = obligations(later, REGISTER[:1], submitted, {}, on)
        return plan_reminders(owed, on, warn_days=WARN, tp=[], reachable=[JO.email])

    assert plan(date(2026, 11, 1)).messages == ()  # 29 days before 30 November
    assert "due 30 November 2026 (in 14 days)" in plan(date(2026, 11, 16)).messages[0].text
    assert "Overdue" in plan(date(2026, 12, 1)).messages[0].text
