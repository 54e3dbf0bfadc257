"""End to end through the real Microsoft 365 Agents Playground against the real bot (`kcpf serve`).

Two people, each in their own Playground as each has their own Teams: Jo Bloggs, a responsible officer, and
Pat Director, an SMT member (KCPF_SMT). The bot reads the system clock, so the dates asked for are relative to
today. At the end the register must hold exactly what was said.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from connectors.sqlite_register import SqliteRegister
from kcpf.calendar import last_ended_period
from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import InPlace, applicable_areas
from kcpf.model import ArrangementType, Council, Status
from kcpf.monitoring import Rag, Risk, Trend
from kcpf.parsing import format_uk_date
from tests.playground import CARD_TYPE, OFFICER, SMT, PlaygroundClient, missing_tools, running_playground

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=missing_tools() or "runs")


async def _say(chat: PlaygroundClient, text: str, *expected: str) -> str:
    """Type `text`; the answer must contain each expected phrase (case-insensitive)."""
    answer = await chat.texts(text)
    for phrase in expected:
        assert phrase.lower() in answer.lower(), f"after {text!r} expected {phrase!r} in:\n{answer}"
    return answer


TODAY = date.today()  # the bot reads the system clock
PERIOD = last_ended_period(TODAY)  # the half-year the update is for
TARGET = TODAY + timedelta(days=120)  # a governance plan's target date
# Governance: the first area not in place (with a plan), the second not applicable, the others in place.
PLAN = "A partnership board is being set up with the partner."


def _governance_answer(nth: int) -> tuple[str, InPlace]:
    """What is typed for the nth area, and what the register should then hold."""
    if nth == 0:
        return "no", InPlace.NO
    if nth == 1:
        return "n/a", InPlace.NOT_APPLICABLE
    return "yes", InPlace.YES


async def test_a_key_partnership_from_identification_to_its_first_update() -> None:
    async with running_playground((OFFICER, SMT)) as running:
        register = SqliteRegister(running.register_path)  # the bot's own register file, read beside it
        try:
            areas = await _converse(running.clients[OFFICER], running.clients[SMT], register)
            _check(register, areas)
        finally:
            register.close()


async def test_the_criteria_card_through_the_playgrounds_invoke() -> None:
    """Action.Execute as the Playground sends it: its answer replaces the card; the register holds it."""
    async with running_playground() as running:
        jo = running.clients[OFFICER]
        await _identify(jo)
        await _say(jo, "assess KCP-0001", "1 of 5")
        [card_message] = [m for m in await jo.say("form") if m.cards]
        inputs = {"financial": "yes", "priorities": "no", "risk": "no", "length": "yes", "resource": "no"}
        answer, said = await jo.execute(card_message, {**inputs, "reason_resource": "in-house fallback"})
        assert answer["type"] == CARD_TYPE
        summary = json.dumps(answer["value"])
        assert "2 of 5 met" in summary, summary
        assert "not key" in " ".join(m.text for m in said).lower(), said
        register = SqliteRegister(running.register_path)
        try:
            [assessment] = register.assessments("KCP-0001")
            assert {a.criterion: a.met for a in assessment.answers} == {
                k: v == "yes" for k, v in inputs.items()
            }
            assert [a.reason for a in assessment.answers if a.criterion == "resource"] == [
                "in-house fallback"
            ]
            assert register.get("KCP-0001").status is Status.ASSESSED
        finally:
            register.close()


async def _identify(jo: PlaygroundClient) -> None:
    """Jo records the leisure centres partnership by answering in chat: KCP-0001."""
    await _say(jo, "new", "called?")
    await _say(jo, "Leisure centres", "contract or a partnership")
    await _say(jo, "partnership", "which council")
    await _say(jo, "Chorley", "partner or supplier")
    await _say(jo, "Active Nation", "worth a year")
    await _say(jo, "£250,000", "start")
    await _say(jo, "1 April 2024", "end")
    await _say(jo, "31 March 2031", "data")
    await _say(jo, "no", "describe")
    await _say(jo, "Runs the borough's four leisure centres.", "corporate priorities")
    await _say(jo, "1; 4", "responsible officer")
    await _say(jo, "me", "Leisure centres", "Active Nation", "£250,000", "Save this?")
    await _say(jo, "save", "KCP-0001")


async def _converse(jo: PlaygroundClient, pat: PlaygroundClient, register: SqliteRegister) -> int:
    """The whole conversation; returns how many governance areas were asked."""
    await _identify(jo)

    # Assess: the record's suggestions for financial and length accepted, the others answered.
    await _say(jo, "assess KCP-0001", "1 of 5", "suggests **yes**")
    await _say(jo, "ok", "2 of 5")
    await _say(jo, "no, it supports the priorities only indirectly", "3 of 5")
    await _say(jo, "yes, a failure would close all four centres", "4 of 5", "suggests **yes**")
    await _say(jo, "ok", "5 of 5")
    await _say(jo, "no", "3 of 5 met", "Save this?")
    await _say(jo, "save", "Assessment saved", "key", "Propose")

    # Propose; a plain officer cannot decide for SMT; the SMT member can.
    await _say(jo, "yes", "proposed to SMT")
    await _say(jo, "decide KCP-0001 key", "Only the Senior Management Team")
    assert register.get("KCP-0001").status is Status.PROPOSED
    before = len(jo.messages)
    await _say(pat, "decide KCP-0001 key, agreed at SMT", "Recorded SMT's decision", "KCP-0001")
    notice = (await jo.heard("SMT decided", since=before)).text
    assert "SMT decided" in notice, notice  # the officer is told, in their own chat
    assert "KCP-0001" in notice, notice

    # Governance: each area in turn; one not in place (with its plan), one not applicable.
    answer = await _say(jo, "governance KCP-0001", "1 of ")
    areas = 0
    while "Save this?" not in answer:
        if "What is planned" in answer:
            answer = await _say(jo, PLAN, "By when?")
            answer = await _say(jo, format_uk_date(TARGET))
        else:
            answer = await _say(jo, _governance_answer(areas)[0])
            areas += 1
    await _say(jo, "save", "saved")

    # The update for the half-year that has ended.
    await _say(jo, "update KCP-0001", "KPI 1")
    await _say(jo, "Leisure centre visits", "target")
    await _say(jo, "500000", "achieved")
    await _say(jo, "480000", "higher or lower")
    await _say(jo, "higher", "Another KPI")
    await _say(jo, "no", "green, amber or red")
    await _say(jo, "amber", "achieved")
    await _say(jo, "Swimming lessons for every year 4 pupil.", "issues")
    await _say(jo, "none", "Risk 1")
    await _say(jo, "Energy costs", "green, amber or red")
    await _say(jo, "amber", "trend")
    await _say(jo, "worsening", "Another risk")
    await _say(jo, "no", "financially stable")
    await _say(jo, "green", "trend")
    await _say(jo, "stable", "based on")
    await _say(jo, "Audited accounts for 2025/26.", "new contracts or partnerships")
    await _say(jo, "none", "Save this?")
    await _say(jo, "save", "saved")

    return areas


def _check(register: SqliteRegister, areas: int) -> None:
    """The register holds exactly what was said."""
    arrangement = register.get("KCP-0001")
    assert (arrangement.title, arrangement.type, arrangement.council, arrangement.partner) == (
        "Leisure centres",
        ArrangementType.PARTNERSHIP,
        Council.CHORLEY,
        "Active Nation",
    )
    assert arrangement.annual_value == Decimal("250000")
    assert (arrangement.start_date, arrangement.end_date) == (date(2024, 4, 1), date(2031, 3, 31))
    assert arrangement.data_shared is False
    assert arrangement.description == "Runs the borough's four leisure centres."
    assert arrangement.corporate_priorities == (
        "Housing where residents can live well",
        "Healthy, safe and engaged communities",
    )
    assert arrangement.responsible_officer is not None
    assert arrangement.responsible_officer.email == OFFICER.email
    assert arrangement.status is Status.MONITORING  # key, with its governance self-assessment done
    assert arrangement.key_since == TODAY

    [assessment] = register.assessments("KCP-0001")
    assert assessment.assessed_by == OFFICER.email
    met = {a.criterion: (a.met, a.reason) for a in assessment.answers}
    assert {k: m for k, (m, _) in met.items()} == {
        "financial": True,
        "priorities": False,
        "risk": True,
        "length": True,
        "resource": False,
    }
    assert met["priorities"][1] == "it supports the priorities only indirectly"
    assert met["risk"][1] == "a failure would close all four centres"

    [decision] = register.decisions("KCP-0001")
    assert (decision.decision, decision.decided_by) == (Status.KEY, SMT.email)
    assert decision.note == "agreed at SMT"

    [review] = register.governance_reviews("KCP-0001")
    assert review.completed_by == OFFICER.email
    # Asked: the areas that apply, in the framework's order; the others are recorded as not applicable.
    asked = [a.key for a in applicable_areas(FRAMEWORK_2025, arrangement)]
    assert len(asked) == areas
    expected = {key: _governance_answer(n)[1] for n, key in enumerate(asked)}
    assert {a.area: a.in_place for a in review.answers} == {
        a.key: expected.get(a.key, InPlace.NOT_APPLICABLE) for a in FRAMEWORK_2025.governance_areas
    }
    gap = next(a for a in review.answers if a.area == asked[0])
    assert (gap.plan, gap.target_date) == (PLAN, TARGET)

    [update] = register.monitoring_updates("KCP-0001")
    assert (update.period, update.performance) == (PERIOD.label, Rag.AMBER)
    assert update.submitted_by == OFFICER.email
    [kpi] = update.kpis
    assert (kpi.name, kpi.target, kpi.actual, kpi.lower_is_better) == (
        "Leisure centre visits",
        Decimal("500000"),
        Decimal("480000"),
        False,
    )
    assert update.achievements == "Swimming lessons for every year 4 pupil."
    [risk] = update.risks
    assert (risk.description, risk.rating, risk.trend) == ("Energy costs", Rag.AMBER, Trend.WORSENING)
    assert update.financial_stability == Risk("Audited accounts for 2025/26.", Rag.GREEN, Trend.STABLE)
    assert update.annual is None
