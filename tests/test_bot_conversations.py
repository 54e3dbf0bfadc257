"""Table-driven transcripts: what an officer types, and what the bot must say, through the real bot over HTTP.

Each step is (who, what they type, words the bot's answer must contain). After the transcript the register
must hold exactly what was said.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from kcpf.cli.settings import Settings
from kcpf.model import ArrangementType, Council, Officer, Status
from tests.bot_harness import OFFICER, OTHER, SMT, TP, Person, Running, running_bot

Step = tuple[Person, str, tuple[str, ...]]

NEW_CONTRACT: list[Step] = [
    (OFFICER, "new", ("New contract or partnership", "What is the contract or partnership called?")),
    (OFFICER, "Leisure centres", ("contract or a partnership",)),
    (OFFICER, "maybe", ("neither: answer contract or partnership", "contract or a partnership")),
    (OFFICER, "contract", ("Which council",)),
    (OFFICER, "Chorley", ("partner or supplier",)),
    (OFFICER, "Active Nation", ("worth a year",)),
    (OFFICER, "£abc", ("not an amount of money", "worth a year")),
    (OFFICER, "£1.2m", ("When did (or will) it start",)),
    (OFFICER, "31/02/2026", ("February", "When did (or will) it start")),
    (OFFICER, "1 April 2025", ("When does it end",)),
    (OFFICER, "1 January 2025", ("before the start date", "When does it end")),
    (OFFICER, "31 March 2035", ("personal or sensitive data",)),
    (OFFICER, "maybe", ("yes or no",)),
    (OFFICER, "back", ("When does it end",)),
    (OFFICER, "31 March 2035", ("personal or sensitive data",)),
    (OFFICER, "yes", ("Describe it",)),
    (OFFICER, "skip", ("corporate priorities", "1. Housing where residents can live well")),
    (OFFICER, "1; 7", ("Not a corporate priority",)),
    (OFFICER, "1; 3", ("responsible officer",)),
    (OFFICER, "me", ("Leisure centres", "£1,200,000", "1 April 2025 to 31 March 2035", "Save this?")),
    (OFFICER, "save", ("Saved as **KCP-0001**", "assess KCP-0001")),
]

ASSESSMENT: list[Step] = [
    (OFFICER, "assess KCP-0001", ("1 of 5: Financial", "The record suggests **yes**", "£1,200,000")),
    (OFFICER, "ok", ("2 of 5: Corporate Priorities",)),
    (OFFICER, "perhaps", ("start your answer with yes or no", "2 of 5")),
    (OFFICER, "yes, it delivers two of our priorities", ("3 of 5: Risk",)),
    (OFFICER, "yes - closure would stop core services", ("4 of 5: Length", "suggests **yes**")),
    (OFFICER, "no", ("say why", "4 of 5: Length")),
    (OFFICER, "ok", ("5 of 5: Resource",)),
    (OFFICER, "no", ("4 of 5 met: Financial, Corporate Priorities, Risk, Length: key", "Save this?")),
    (OFFICER, "save", ("Assessment saved for KCP-0001", "Propose KCP-0001 to SMT now?")),
    (OFFICER, "yes", ("KCP-0001 is proposed to SMT",)),
]

DECISION: list[Step] = [
    (OTHER, "decide KCP-0001 key", ("Only", "SMT")),
    (SMT, "decide KCP-0001 key agreed at SMT on 20 November", ("Recorded SMT's decision on KCP-0001", "Key")),
    (SMT, "decide KCP-0001 key", ("cannot record SMT's decision",)),
]

GOVERNANCE: list[Step] = [
    (OFFICER, "governance KCP-0001", ("Governance self-assessment", "1 of 13: Aims and objectives")),
    (OFFICER, "yes", ("2 of 13",)),
    (OFFICER, "no", ("What is planned",)),
    (OFFICER, "Agree a responsibilities matrix with Active Nation", ("By when?",)),
    (OFFICER, "31/02/2027", ("February", "By when?")),
    (OFFICER, "1 January 2020", ("already passed", "By when?")),
    (OFFICER, "31 March 2027", ("3 of 13",)),
    *[(OFFICER, "yes", (f"{n} of 13",)) for n in range(4, 14)],
    (OFFICER, "n/a", ("Roles and responsibilities: No", "31 March 2027", "Save this?")),
    (OFFICER, "save", ("1 area not yet in place",)),
]

UPDATE: list[Step] = [
    (OFFICER, "update KCP-0001", ("Monitoring update", "KPI 1")),
    (OFFICER, "Visits", ("target",)),
    (OFFICER, "lots", ("not a number",)),
    (OFFICER, "100000", ("achieved",)),
    (OFFICER, "97,000", ("higher or lower",)),
    (OFFICER, "higher", ("Another KPI?",)),
    (OFFICER, "no", ("Overall", "suggests **amber**")),
    (OFFICER, "ok", ("achieved in this half-year",)),
    (OFFICER, "New gym opened at Brinscall", ("issues",)),
    (OFFICER, "none", ("Risk 1",)),
    (OFFICER, "Energy prices", ("green, amber or red",)),
    (OFFICER, "purple", ("not a RAG rating",)),
    (OFFICER, "amber", ("trend",)),
    (OFFICER, "worse", ("Another risk?",)),
    (OFFICER, "no", ("financially stable",)),
    (OFFICER, "green", ("trend",)),
    (OFFICER, "stable", ("based on",)),
    (OFFICER, "2025 accounts filed on time", ("new contracts or partnerships",)),
    (OFFICER, "none", ("2026/27-H1 update", "Visits", "Amber", "Energy prices", "Save this?")),
    (OFFICER, "save", ("2026/27-H1 update for KCP-0001 is saved", "Amber")),
]


async def play(bot: Running, steps: list[Step]) -> None:
    for person, typed, expected in steps:
        said = await bot.chat(person).texts(typed)
        for words in expected:
            assert words in said, f"{person.name} typed {typed!r}; expected {words!r} in:\n{said}"
        assert "Traceback" not in said


@pytest.mark.parametrize(
    ("name", "transcripts"),
    [
        ("identify", [NEW_CONTRACT]),
        ("assess and propose", [NEW_CONTRACT, ASSESSMENT]),
        ("SMT decides; a plain officer may not", [NEW_CONTRACT, ASSESSMENT, DECISION]),
        ("governance", [NEW_CONTRACT, ASSESSMENT, DECISION, GOVERNANCE]),
        ("update", [NEW_CONTRACT, ASSESSMENT, DECISION, GOVERNANCE, UPDATE]),
    ],
)
async def test_transcript(tmp_path: Path, name: str, transcripts: list[list[Step]]) -> None:
    async with running_bot(tmp_path) as bot:
        for steps in transcripts:
            await play(bot, steps)
        await check_register(bot, len(transcripts))


async def check_register(bot: Running, stages: int) -> None:
    """The register holds exactly what the transcripts said."""
    saved = bot.framework.register.get("KCP-0001")
    assert (saved.title, saved.type, saved.council, saved.partner) == (
        "Leisure centres",
        ArrangementType.CONTRACT,
        Council.CHORLEY,
        "Active Nation",
    )
    assert saved.annual_value == Decimal("1200000")
    assert (saved.start_date, saved.end_date) == (date(2025, 4, 1), date(2035, 3, 31))
    assert saved.data_shared is True
    assert saved.responsible_officer == Officer(OFFICER.email, OFFICER.name)
    assert saved.corporate_priorities == (
        "Housing where residents can live well",
        "An enterprising economy with vibrant local centres in urban and rural areas",
    )
    if stages == 1:
        assert saved.status is Status.IDENTIFIED
        return
    (assessment,) = bot.framework.register.assessments("KCP-0001")
    assert assessment.met == ("financial", "priorities", "risk", "length")
    assert assessment.answer("priorities").reason == "it delivers two of our priorities"
    assert assessment.answer("risk").reason == "closure would stop core services"
    assert assessment.answer("financial").reason.startswith("as the record suggests")
    assert assessment.assessed_by == OFFICER.email
    if stages == 2:
        assert saved.status is Status.PROPOSED
        return
    (decision,) = bot.framework.register.decisions("KCP-0001")
    assert (decision.decision, decision.decided_by) == (Status.KEY, SMT.email)
    assert decision.note == "agreed at SMT on 20 November"
    if stages == 3:
        assert saved.status is Status.KEY
        return
    (review,) = bot.framework.register.governance_reviews("KCP-0001")
    (gap,) = review.gaps
    assert (gap.area, gap.plan, gap.target_date) == (
        "roles_responsibilities",
        "Agree a responsibilities matrix with Active Nation",
        date(2027, 3, 31),
    )
    if stages == 4:
        assert saved.status is Status.KEY
        return
    (update,) = bot.framework.register.monitoring_updates("KCP-0001")
    assert update.period == "2026/27-H1"
    (kpi,) = update.kpis
    assert (kpi.name, kpi.target, kpi.actual, kpi.rag.value) == (
        "Visits",
        Decimal(100000),
        Decimal(97000),
        "amber",
    )
    assert update.performance.value == "amber"
    (risk,) = update.risks
    assert (risk.description, risk.rating.value, risk.trend.value) == ("Energy prices", "amber", "worsening")
    assert update.financial_stability.description == "2025 accounts filed on time"
    assert update.issues_to_escalate == ""
    assert saved.status is Status.MONITORING


@dataclass(frozen=True)
class Case:
    typed: str
    expected: str


@pytest.mark.parametrize(
    "case",
    [
        Case("help", "*assess KCP-0001*"),
        Case("cancel", "nothing under way to cancel"),
        Case("back", "I did not understand"),
        Case("assess", "Which contract or partnership?"),
        Case("assess KCP-0099", "KCP-0099"),
        Case("assess banana", "banana"),
        Case("due", "Transformation and Partnerships"),
        Case("decide KCP-0001", "decide KCP-0001 key"),
        Case("my", "not the responsible officer for any"),
        Case("hello", "I did not understand"),
    ],
)
async def test_commands_outside_a_conversation(tmp_path: Path, case: Case) -> None:
    async with running_bot(tmp_path) as bot:
        said = await bot.chat(OFFICER).texts(case.typed)
    assert case.expected in said, said


async def test_cancel_and_help_mid_way_keep_or_drop_answers_as_asked(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await play(
            bot,
            [
                (OFFICER, "new", ("called?",)),
                (OFFICER, "Parks", ("contract or a partnership",)),
                (OFFICER, "help", ("*new*", "contract or a partnership")),
                (OFFICER, "assess KCP-0001", ("in the middle of", "contract or a partnership")),
                (OFFICER, "cancel", ("Cancelled", "nothing")),
                (OFFICER, "partnership", ("I did not understand",)),
            ],
        )
        assert bot.framework.register.arrangements() == []


async def test_an_officer_resumes_after_a_restart(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await play(bot, NEW_CONTRACT)
        await play(bot, ASSESSMENT[:4])
    # The bot restarts; days later the officer carries on where they were.
    async with running_bot(tmp_path, today=date(2026, 12, 2)) as bot:
        await play(
            bot, [(OFFICER, "hello", ("Welcome back", "assessment against the criteria for KCP-0001"))]
        )
        await play(bot, [(OFFICER, "help", ("3 of 5: Risk",))])
        await play(bot, ASSESSMENT[4:])
        assert bot.framework.register.get("KCP-0001").status is Status.PROPOSED


async def test_an_officer_may_not_assess_someone_elses_arrangement(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await play(bot, NEW_CONTRACT)
        await play(bot, [(OTHER, "assess KCP-0001", ("Only KCP-0001's responsible officer",))])
        await play(bot, [(TP, "assess KCP-0001", ("1 of 5",))])


async def test_due_for_tp_lists_who_owes_what(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await play(bot, [*NEW_CONTRACT, *ASSESSMENT, *DECISION[1:2]])
        bot.clock.set(date(2027, 5, 10))
        await play(bot, [(TP, "due", ("jo.bloggs@chorley.gov.uk", "KCP-0001", "overdue"))])
        await play(bot, [(OFFICER, "my", ("KCP-0001", "Key", "Due from you"))])


async def test_a_proposal_notifies_tp_in_their_chat(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await play(bot, [(TP, "help", ("*due*",))])  # T&P has talked to the bot, so it can reach them
        await play(bot, [*NEW_CONTRACT, *ASSESSMENT])
        assert bot.bot is not None
        await bot.bot.settle()  # notices go in the background, after the turn that made them
        to_tp = [a for a in bot.connector.sent if a["conversation_id"] == bot.chat(TP).conversation_id]
        assert any("proposed **KCP-0001 Leisure centres**" in (a.get("text") or "") for a in to_tp)


async def test_an_unexpected_error_gives_a_reference_and_no_internals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as bot:

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("database on fire: secret internals")

        monkeypatch.setattr(bot.framework, "arrangements", broken)
        said = await bot.chat(OFFICER).texts("my")
    assert "something went wrong" in said
    assert "reference" in said
    assert "fire" not in said
    assert "RuntimeError" not in said
    incident = said.split("reference ")[1][:8]
    assert any(incident in record.getMessage() for record in caplog.records)


async def test_roles_in_settings_may_name_people_by_their_entra_object_id(tmp_path: Path) -> None:
    roles = Settings.from_env({"KCPF_SMT": SMT.aad_object_id}).roles
    async with running_bot(tmp_path, roles=roles) as bot:
        await play(bot, [*NEW_CONTRACT, *ASSESSMENT, *DECISION[1:2]])
        assert bot.framework.register.get("KCP-0001").status is Status.KEY


async def test_someone_teams_does_not_know_is_told_why(tmp_path: Path) -> None:
    stranger = Person("29:stranger", "Nobody", "", "00000000-0000-0000-0000-0000000000ff")
    async with running_bot(tmp_path) as bot:
        said = await bot.chat(stranger).texts("new")
    assert "could not find your email address" in said


async def test_answers_sent_at_once_are_each_kept(tmp_path: Path) -> None:
    """Two messages arriving together (a double tap) are taken one after the other, neither lost."""
    async with running_bot(tmp_path) as bot:
        chat = bot.chat(OFFICER)
        await chat.say("new")
        await asyncio.gather(chat.say("Parks"), chat.say("partnership"))
        said = await chat.texts("help")
    assert "Which council" in said


async def test_an_update_with_no_kpis_and_no_risks(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await play(bot, [*NEW_CONTRACT, *ASSESSMENT, *DECISION[1:2]])
        await play(
            bot,
            [
                (OFFICER, "update KCP-0001", ("KPI 1",)),
                (OFFICER, "none", ("Overall",)),
                (OFFICER, "green", ("achieved",)),
                (OFFICER, "skip", ("issues",)),
                (OFFICER, "none", ("Risk 1",)),
                (OFFICER, "none", ("financially stable",)),
                (OFFICER, "amber", ("trend",)),
                (OFFICER, "new", ("based on",)),
                (OFFICER, "Credit check in October", ("new contracts or partnerships",)),
                (OFFICER, "none", ("Save this?",)),
                (OFFICER, "save", ("is saved",)),
            ],
        )
        (update,) = bot.framework.register.monitoring_updates("KCP-0001")
    assert (update.kpis, update.risks, update.performance.value) == ((), (), "green")


async def test_tp_asks_for_a_report_and_downloads_it_from_a_signed_link(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await play(bot, [*NEW_CONTRACT, *ASSESSMENT])
        refused = await bot.chat(OFFICER).texts("report smt 2026/27-H1")
        assert "Transformation and Partnerships" in refused
        said = await bot.chat(TP).texts("report smt 2026/27-H1")
        assert "Your report is ready: [" in said
        url = said.split("](")[1].rstrip(")")
        async with bot.session.get(url) as response:
            assert response.status == 200
            assert (await response.read()).startswith(b"PK")  # a .docx is a zip
        async with bot.session.get(url.replace("signature=", "signature=0")) as response:
            assert response.status == 403
        pack = await bot.chat(OFFICER).texts("report pack KCP-0001")
        assert "Appendix A" in pack
        bad = await bot.chat(TP).texts("report smt last year")
        assert "report smt 2026/27-H1" in bad or "half-year" in bad


async def test_review_findings_an_update_for_a_half_year_not_begun_is_refused_at_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await play(bot, [*NEW_CONTRACT, *ASSESSMENT, *DECISION[1:2]])
        await play(bot, [(OFFICER, "update KCP-0001 2030/31-H1", ("has not started yet", "2026/27-H1"))])
        await play(bot, [(OFFICER, "help", ("*new*",))])  # nothing under way: no questions asked in vain


@pytest.mark.parametrize(
    ("typed", "status", "note"),
    [
        ("decide KCP-0001 deferred until the budget is set", Status.DEFERRED, "until the budget is set"),
        ("decide KCP-0001 not key, below the threshold", Status.NOT_KEY, "below the threshold"),
        ("decide KCP-0001 key", Status.KEY, ""),
    ],
)
async def test_smt_decisions_keep_their_note_word_for_word(
    tmp_path: Path, typed: str, status: Status, note: str
) -> None:
    async with running_bot(tmp_path) as bot:
        await play(bot, [*NEW_CONTRACT, *ASSESSMENT])
        await play(bot, [(SMT, "decide KCP-0001 deferral until May", ("decide KCP-0001 key",))])
        await play(bot, [(SMT, typed, ("Recorded SMT's decision",))])
        (decision,) = bot.framework.register.decisions("KCP-0001")
    assert (decision.decision, decision.note) == (status, note)


async def test_a_malformed_request_is_refused_without_internals(tmp_path: Path) -> None:
    async with (
        running_bot(tmp_path) as bot,
        bot.session.post(bot.url, json={"type": "message", "conversation": {"id": 5}}) as response,
    ):
        assert response.status == 400
        assert "Traceback" not in await response.text()
