"""`update KCP-0001`: the biannual monitoring update, and at year end the annual one (step 5)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TypedDict

from bot.flows import answers as a
from bot.flows.assess import open_arrangement
from bot.flows.engine import YES_NO, Flow, FlowState, InputKind, Json, Option, Outcome, Question, Reply, Turn
from kcpf.calendar import Period, last_ended_period
from kcpf.errors import InvalidInput
from kcpf.lifecycle import Action
from kcpf.monitoring import AnnualReview, Kpi, Rag, Risk, Trend, prepare_update, suggested_performance

MAX_ITEMS = 10  # KPIs or risks in one update, in chat
FORM_SLOTS = 3  # on the card
_RAG = (Option("Green", "green"), Option("Amber", "amber"), Option("Red", "red"))
_TREND = (
    Option("New", "new"),
    Option("Improving", "improving"),
    Option("Stable", "stable"),
    Option("Worsening", "worsening"),
)
_DIRECTION = (Option("Higher is better", "higher"), Option("Lower is better", "lower"))


def _rag(typed: str, answers: Mapping[str, Json]) -> Json:
    return Rag.parse(typed).value


def _trend(typed: str, answers: Mapping[str, Json]) -> Json:
    return Trend.parse(typed).value


def _lower_is_better(typed: str, answers: Mapping[str, Json]) -> Json:
    key = typed.strip().lower()
    if key in {"lower", "lower is better", "less", "down"}:
        return True
    if key in {"higher", "higher is better", "more", "up"}:
        return False
    raise InvalidInput(f"“{typed.strip()}”: answer *higher* (higher is better) or *lower* (lower is better).")


class Update(Flow):
    name = "update"
    title = "Monitoring update"

    def begin(self, turn: Turn, argument: str) -> FlowState:
        words = argument.split()
        period = Period.parse(words[1]) if len(words) > 1 else last_ended_period(turn.now.date())
        if period.start > turn.now.date():
            raise InvalidInput(
                f"{period.label} has not started yet: updates are for a half-year under way or ended, "
                f"such as {last_ended_period(turn.now.date()).label}."
            )
        state = open_arrangement(turn, words[0] if words else "", Action.UPDATE, self.name)
        assert state.subject is not None
        if turn.framework.register.monitoring_updates(state.subject, period=period.label):
            raise InvalidInput(f"{state.subject} already has its {period.label} update.")
        state.answers["period"] = period.label
        return state

    def _period(self, state: FlowState) -> Period:
        return Period.parse(state.answers["period"])

    def questions(self, turn: Turn, state: FlowState) -> Sequence[Question]:
        x = state.answers
        out: list[Question] = []
        out.extend(_repeating(x, self._kpi, "kpi_1_name", "more_kpis", "Another KPI"))
        suggested = suggested_performance(self._kpis(turn, state))
        out.append(
            Question(
                "performance",
                "Overall performance",
                f"Overall, how is it performing in {x['period']}: green, amber or red?",
                _rag,
                options=_RAG,
                kind=InputKind.CHOICE,
                explanation="Green: on or above target. Amber: below target but within 5%. Red: below target "
                "and outside 5%.",
                suggestion=suggested.value if suggested else None,
                why="the worst of the KPIs' ratings." if suggested else "",
            )
        )
        out.append(
            Question(
                "achievements",
                "Achievements",
                "What has it achieved in this half-year?",
                a.long_text("the achievements"),
                kind=InputKind.LONG_TEXT,
                optional=True,
            )
        )
        out.append(
            Question(
                "issues_to_escalate",
                "Issues to escalate to SMT",
                "Are there issues SMT should know about or act on? Type *none* if not.",
                a.long_text("the issues"),
                kind=InputKind.LONG_TEXT,
                optional=True,
            )
        )
        out.extend(_repeating(x, self._risk, "risk_1_description", "more_risks", "Another risk"))
        out.extend(
            [
                Question(
                    "financial_stability_rating",
                    "Partner's financial stability: rating",
                    "How financially stable is the partner: green, amber or red?",
                    _rag,
                    options=_RAG,
                    kind=InputKind.CHOICE,
                    explanation="The framework asks for the partner's financial stability with every update.",
                ),
                Question(
                    "financial_stability_trend",
                    "Partner's financial stability: trend",
                    "And its trend since the last update?",
                    _trend,
                    options=_TREND,
                    kind=InputKind.CHOICE,
                ),
                Question(
                    "financial_stability",
                    "Partner's financial stability: evidence",
                    "What is that based on (accounts, credit checks, news)?",
                    a.long_text("the evidence"),
                    kind=InputKind.LONG_TEXT,
                ),
                Question(
                    "new_arrangements_identified",
                    "New contracts or partnerships",
                    "Have any new contracts or partnerships been identified that might be key? Type *none* "
                    "if not.",
                    a.long_text("them"),
                    kind=InputKind.LONG_TEXT,
                    optional=True,
                ),
            ]
        )
        if self._period(state).is_annual:
            out.extend(
                [
                    Question(
                        "annual_performance",
                        "The year against its targets",
                        "This is also the annual update. How did the year go against the targets set for it?",
                        a.long_text("the year's performance"),
                        kind=InputKind.LONG_TEXT,
                    ),
                    Question(
                        "objectives",
                        "Objectives for the new year",
                        "What objectives are set for the new financial year? Separate them with semicolons.",
                        a.long_text("the objectives"),
                        kind=InputKind.LONG_TEXT,
                    ),
                ]
            )
        return out

    def _kpi(self, n: int) -> list[Question]:
        return [
            Question(
                f"kpi_{n}_name",
                f"KPI {n}: name",
                f"KPI {n}: what is it called?" + (" Type *none* if it has no KPIs." if n == 1 else ""),
                a.text(what="the KPI's name"),
                optional=n == 1,
            ),
            Question(
                f"kpi_{n}_target", f"KPI {n}: target", f"KPI {n}: what is the target?", a.number("the target")
            ),
            Question(
                f"kpi_{n}_actual",
                f"KPI {n}: actual",
                f"KPI {n}: what was achieved?",
                a.number("what was achieved"),
            ),
            Question(
                f"kpi_{n}_direction",
                f"KPI {n}: higher or lower is better",
                f"KPI {n}: is higher or lower better?",
                _lower_is_better,
                options=_DIRECTION,
                kind=InputKind.CHOICE,
            ),
        ]

    def _risk(self, n: int) -> list[Question]:
        return [
            Question(
                f"risk_{n}_description",
                f"Risk {n}",
                f"Risk {n}: describe it."
                + (" Type *none* if there are no risks to report." if n == 1 else ""),
                a.long_text("the risk"),
                optional=n == 1,
            ),
            Question(
                f"risk_{n}_rating",
                f"Risk {n}: rating",
                f"Risk {n}: green, amber or red?",
                _rag,
                options=_RAG,
                kind=InputKind.CHOICE,
            ),
            Question(
                f"risk_{n}_trend",
                f"Risk {n}: trend",
                f"Risk {n}: its trend?",
                _trend,
                options=_TREND,
                kind=InputKind.CHOICE,
            ),
        ]

    def form(self, turn: Turn, state: FlowState) -> Sequence[Question]:
        out: list[Question] = []
        for n in range(1, FORM_SLOTS + 1):
            out.extend(_optional(self._kpi(n)))
        chat = [
            q
            for q in self.questions(
                turn,
                FlowState(
                    self.name,
                    answers={
                        "period": state.answers["period"],
                        "kpi_1_name": None,
                        "risk_1_description": None,
                    },
                ),
            )
            if not q.key.startswith(("kpi_", "more_", "risk_"))
        ]
        risks = [q for n in range(1, FORM_SLOTS + 1) for q in _optional(self._risk(n))]
        for question in chat:
            out.append(question)
            if question.key == "issues_to_escalate":
                out.extend(risks)
        return out

    def from_form(self, values: Mapping[str, str]) -> dict[str, str]:
        """The card has fixed slots: a filled slot after another means "another? yes"."""
        out = {k: v for k, v in values.items() if str(v).strip()}
        for prefix, first, more in (("kpi", "name", "more_kpis"), ("risk", "description", "more_risks")):
            for n in range(1, FORM_SLOTS + 1):
                if out.get(f"{prefix}_{n}_{first}"):
                    following = bool(out.get(f"{prefix}_{n + 1}_{first}")) and n < FORM_SLOTS
                    out[f"{more}_{n}"] = "yes" if following else "no"
        return out

    def _kpis(self, turn: Turn, state: FlowState) -> list[Kpi]:
        x = state.answers
        kpis = []
        for n in range(1, MAX_ITEMS + 1):
            if not all(f"kpi_{n}_{part}" in x for part in ("name", "target", "actual", "direction")):
                break
            if x[f"kpi_{n}_name"] is None:
                break
            kpis.append(
                Kpi.measured(
                    turn.framework.rules,
                    x[f"kpi_{n}_name"],
                    Decimal(x[f"kpi_{n}_target"]),
                    Decimal(x[f"kpi_{n}_actual"]),
                    lower_is_better=x[f"kpi_{n}_direction"],
                )
            )
        return kpis

    def _risks(self, state: FlowState) -> list[Risk]:
        x = state.answers
        risks = []
        for n in range(1, MAX_ITEMS + 1):
            description = x.get(f"risk_{n}_description")
            if not description or f"risk_{n}_trend" not in x:
                break
            risks.append(Risk(description, Rag(x[f"risk_{n}_rating"]), Trend(x[f"risk_{n}_trend"])))
        return risks

    def _submit(self, turn: Turn, state: FlowState, *, save: bool) -> str:
        assert state.subject is not None
        x = state.answers
        period = self._period(state)
        kpis = self._kpis(turn, state)
        risks = self._risks(state)
        annual = AnnualReview(x["annual_performance"], a.items(x["objectives"])) if period.is_annual else None
        stability = Risk(
            x["financial_stability"],
            Rag(x["financial_stability_rating"]),
            Trend(x["financial_stability_trend"]),
        )
        update_fields = _UpdateFields(
            performance=Rag(x["performance"]),
            kpis=kpis,
            achievements=x.get("achievements") or "",
            issues_to_escalate=x.get("issues_to_escalate") or "",
            risks=risks,
            financial_stability=stability,
            new_arrangements_identified=x.get("new_arrangements_identified") or "",
            annual=annual,
        )
        if save:
            saved, update = turn.framework.submit_update(
                turn.actor, state.subject, period, expected_version=state.version, **update_fields
            )
            kind = "annual update" if update.is_annual else "update"
            return (
                f"The {period.label} {kind} for {saved.reference} is saved: "
                f"performance {update.performance.label}."
            )
        # What saving will check, checked now: the officer can still go back and change an answer.
        prepare_update(
            turn.framework.register.get(state.subject),
            period,
            by=turn.actor.email,
            at=turn.now,
            **update_fields,
        )
        lines = [
            f"**{period.label} update for {state.subject}**",
            f"- Overall performance: {Rag(x['performance']).label}",
        ]
        for kpi in kpis:
            lines.append(f"- KPI {kpi.name}: {kpi.actual} against {kpi.target} ({kpi.rag.label})")
        for risk in risks:
            lines.append(f"- Risk: {risk.description} ({risk.rating.label}, {risk.trend.label})")
        lines.append(f"- Partner's financial stability: {stability.rating.label}, {stability.trend.label}")
        if annual is not None:
            lines.append(f"- Objectives for the new year: {'; '.join(annual.objectives)}")
        return "\n".join(lines)

    def review(self, turn: Turn, state: FlowState) -> str:
        return self._submit(turn, state, save=False)

    def finish(self, turn: Turn, state: FlowState) -> Outcome:
        return Outcome((Reply(self._submit(turn, state, save=True)),))


class _UpdateFields(TypedDict):
    """What the officer said, as both checking (prepare_update) and saving (submit_update) take it."""

    performance: Rag
    kpis: list[Kpi]
    achievements: str
    issues_to_escalate: str
    risks: list[Risk]
    financial_stability: Risk
    new_arrangements_identified: str
    annual: AnnualReview | None


def _repeating(
    answers: Mapping[str, Json], group: Callable[[int], list[Question]], first: str, more: str, label: str
) -> list[Question]:
    """A group of questions asked again while the officer says there is another (KPIs, risks). Answering
    "none" to the first question of the first group skips the rest."""
    out: list[Question] = []
    for n in range(1, MAX_ITEMS + 1):
        if n > 1 and answers.get(f"{more}_{n - 1}") is not True:
            break
        questions = group(n)
        if n == 1 and first in answers and answers[first] is None:
            out.append(questions[0])
            break
        out.extend(questions)
        out.append(
            Question(f"{more}_{n}", label, f"{label}?", a.yes_no, options=YES_NO, kind=InputKind.CHOICE)
        )
    return out


def _optional(questions: list[Question]) -> list[Question]:
    return [replace(q, optional=True) for q in questions]
