"""The Adaptive Card path: a whole step in one card, through Action.Execute or its Action.Submit fallback."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from kcpf.model import Status
from tests.bot_harness import OFFICER, Chat, Running, running_bot
from tests.test_bot_conversations import ASSESSMENT, DECISION, NEW_CONTRACT, play

CRITERIA = ("financial", "priorities", "risk", "length", "resource")


def cards_in(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a["content"] for r in replies for a in r.get("attachments") or []]


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}


async def two_contracts(bot: Running) -> Chat:
    await play(bot, NEW_CONTRACT)
    await play(
        bot, [(p, "save" if t == "Saved" else t, ()) for p, t, _ in NEW_CONTRACT]
    )  # KCP-0002, the same
    return bot.chat(OFFICER)


async def test_form_is_an_adaptive_card_1_5_with_the_public_input_ids(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        chat = await two_contracts(bot)
        await chat.say("assess KCP-0001")
        replies = await chat.say("form")
        (card,) = cards_in(replies)
    assert card["version"] == "1.5"
    fields = inputs(card)
    assert [k for k in fields if not k.startswith("reason_")] == list(CRITERIA)
    assert {c["value"] for c in fields["risk"]["choices"]} == {"yes", "no"}
    assert fields["financial"]["value"] == "yes"  # what the record suggests
    (execute,) = card["actions"]
    assert (execute["type"], execute["verb"]) == ("Action.Execute", "kcpf.form")
    assert execute["fallback"]["type"] == "Action.Submit"
    assert execute["data"] == {"flow": "assess", "subject": "KCP-0001", "version": 1}


async def test_card_and_chat_write_identical_records(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        chat = await two_contracts(bot)
        await play(bot, ASSESSMENT[:-1])  # chat: KCP-0001, answers as in the transcript, not proposed
        await chat.say("no")
        body, _ = await chat.execute(
            {
                "flow": "assess",
                "subject": "KCP-0002",
                "financial": "yes",
                "priorities": "yes",
                "reason_priorities": "it delivers two of our priorities",
                "risk": "yes",
                "reason_risk": "closure would stop core services",
                "length": "yes",
                "resource": "no",
            }
        )
        first, second = (bot.framework.register.assessments(r)[0] for r in ("KCP-0001", "KCP-0002"))
    assert [(a.criterion, a.met, a.reason) for a in first.answers] == [
        (a.criterion, a.met, a.reason) for a in second.answers
    ]
    card = body["value"]
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "saved" in json.dumps(card)
    assert "actions" not in card  # read-only: cannot be submitted twice


async def test_a_wrong_answer_on_the_card_keeps_the_rest(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        chat = await two_contracts(bot)
        body, _ = await chat.execute(
            {"flow": "assess", "subject": "KCP-0001", "priorities": "maybe", "risk": "yes", "resource": "no"}
        )
        card = body["value"]
        fields = inputs(card)
        assert (fields["risk"]["value"], fields["priorities"]["value"]) == ("yes", "maybe")
        assert "Corporate Priorities: Please start your answer with yes or no" in json.dumps(card)
        assert bot.framework.register.assessments("KCP-0001") == []
        # The chat carries on from the answer that was wrong; the others are kept.
        said = await chat.texts("yes")
        assert "Result: 4 of 5 met" in said


async def test_the_same_card_submitted_twice_is_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        chat = await two_contracts(bot)
        data = {"flow": "assess", "subject": "KCP-0001", "version": 1, "priorities": "no", "risk": "no"}
        data |= {"resource": "no"}
        await chat.execute(data)
        body, _ = await chat.execute(data)
        assert "changed" in json.dumps(body["value"]).lower()
        assert len(bot.framework.register.assessments("KCP-0001")) == 1


async def test_action_submit_fallback_replaces_the_card_and_answers_in_chat(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        chat = await two_contracts(bot)
        await play(bot, ASSESSMENT)
        await play(bot, DECISION[1:2])
        values = {f"{area}": "yes" for area in bot.framework.governance_areas("KCP-0001")}
        values |= {
            "risk_management": "no",
            "plan_risk_management": "Add to GRACE",
            "target_risk_management": "2027-02-01",
        }
        replies = await chat.submit(
            {"flow": "governance", "subject": "KCP-0001", "verb": "kcpf.form", **values},
            reply_to="activity-card-1",
        )
        assert any("1 area not yet in place" in (r.get("text") or "") for r in replies)
        (updated,) = bot.connector.updated
        assert updated["id"] == "activity-card-1"
        assert "saved" in json.dumps(updated["attachments"])
        (review,) = bot.framework.register.governance_reviews("KCP-0001")
        (gap,) = review.gaps
        assert (gap.area, gap.plan, gap.target_date) == ("risk_management", "Add to GRACE", date(2027, 2, 1))
        assert bot.framework.register.get("KCP-0001").status is Status.KEY


async def test_an_update_card_with_kpis_in_slots(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        chat = await two_contracts(bot)
        await play(bot, ASSESSMENT)
        await play(bot, DECISION[1:2])
        await chat.say("update KCP-0001")
        replies = await chat.say("form")
        (card,) = cards_in(replies)
        assert {"kpi_1_name", "kpi_3_direction", "risk_2_trend", "financial_stability_rating"} <= set(
            inputs(card)
        )
        body, _ = await chat.execute(
            {
                "flow": "update",
                "subject": "KCP-0001",
                "period": "2026/27-H1",
                "kpi_1_name": "Visits",
                "kpi_1_target": "100",
                "kpi_1_actual": "120",
                "kpi_1_direction": "higher",
                "kpi_2_name": "Complaints",
                "kpi_2_target": "10",
                "kpi_2_actual": "12",
                "kpi_2_direction": "lower",
                "performance": "amber",
                "financial_stability_rating": "green",
                "financial_stability_trend": "stable",
                "financial_stability": "Accounts filed",
            }
        )
        (update,) = bot.framework.register.monitoring_updates("KCP-0001")
    assert [(k.name, k.rag.value) for k in update.kpis] == [("Visits", "green"), ("Complaints", "red")]
    assert update.risks == ()
    assert update.performance.value == "amber"
    assert "saved" in json.dumps(body["value"])


async def test_a_new_contract_from_a_card_without_a_chat(tmp_path: Path) -> None:
    """A Power Automate flow can submit the identify card on its own; a wrong date is named, the rest kept."""
    data = {
        "flow": "new",
        "title": "Parks maintenance",
        "type": "contract",
        "council": "South Ribble",
        "partner": "Green Spaces Ltd",
        "annual_value": "£80,000",
        "start_date": "2026-04-01",
        "end_date": "31/02/2029",
        "data_shared": "no",
        "responsible_officer": "me",
    }
    async with running_bot(tmp_path) as bot:
        chat = bot.chat(OFFICER)
        body, _ = await chat.execute(data)
        assert "End date" in json.dumps(body["value"])
        assert bot.framework.register.arrangements() == []
        body, _ = await chat.execute({**data, "end_date": "2029-03-31"})
        (saved,) = bot.framework.register.arrangements()
    assert (saved.title, saved.council.value) == ("Parks maintenance", "south-ribble")
    assert saved.annual_value == Decimal(80000)
    assert saved.end_date == date(2029, 3, 31)
    assert saved.responsible_officer is not None
    assert saved.responsible_officer.email == OFFICER.email
