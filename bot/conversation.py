"""What the bot says to a message or a card: routes commands to flows and keeps the flow's state.

Knows nothing of Teams: the bot layer (`bot/app.py`) turns activities into calls here and `Reply` values
back into activities. Every decision comes from `kcpf/` through the framework service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot import cards
from bot.commands import VERBS
from bot.flows.assess import Assess, propose
from bot.flows.engine import (
    YES_NO,
    Flow,
    FlowState,
    Json,
    Notice,
    Option,
    Outcome,
    Reply,
    Stage,
    Turn,
    answer,
    apply_form,
    ask,
    back,
    next_question,
    proceed,
)
from bot.flows.governance import Governance
from bot.flows.identify import Identify
from bot.flows.update import Update
from bot.views import decide_help, due_text, help_text, my_text
from kcpf.errors import InvalidInput, KcpfError, NotPermitted
from kcpf.lifecycle import Action, check_permitted
from kcpf.model import Status, parse_reference
from kcpf.parsing import parse_yes_no
from kcpf.reports.requests import parse_request

FLOWS: dict[str, Flow] = {flow.name: flow for flow in (Identify(), Assess(), Governance(), Update())}
_SAVE_WORDS = {"save", "yes", "y", "confirm", "ok"}
_GREETINGS = {"hi", "hello", "hey", "continue", "resume", "where was i", "where was i?"}


@dataclass
class Said:
    """The bot's answer to one turn."""

    replies: list[Reply] = field(default_factory=list)
    flow: FlowState | None = None  # the conversation's state after the turn (None: nothing under way)
    notices: list[Notice] = field(default_factory=list)
    card: Mapping[str, Json] | None = None  # replaces the submitted card (Action.Execute's answer)


def on_message(turn: Turn, flow_state: FlowState | None, text: str) -> Said:
    typed = text.strip()
    word = typed.lower()
    if word in {"help", "?", "/help"}:
        return Said(
            [Reply(help_text(turn.actor, turn.framework.rules)), *_current(turn, flow_state)], flow_state
        )
    if word in {"cancel", "stop", "quit"}:
        if flow_state is None:
            return Said([Reply("There is nothing under way to cancel.")])
        if flow_state.stage is Stage.OFFERING:
            return Said(
                [Reply(f"OK. The {_title(flow_state).lower()} is saved; nothing more is needed now.")]
            )
        return Said([Reply(f"Cancelled: nothing from this {_title(flow_state).lower()} was saved.")])
    if flow_state is not None and word in _GREETINGS:
        subject = f" for {flow_state.subject}" if flow_state.subject else ""
        return Said(
            [
                Reply(
                    f"Welcome back. You were in the middle of a {_title(flow_state).lower()}{subject}; "
                    "carry on where you left off, or type *cancel*."
                ),
                *_current(turn, flow_state),
            ],
            flow_state,
        )
    if flow_state is not None:
        return _continue(turn, flow_state, typed)
    return _command(turn, typed)


def on_form(turn: Turn, flow_state: FlowState | None, values: Mapping[str, Json]) -> Said:
    """A card for a whole step. Its data names the flow and the arrangement, so it works even when the chat
    has moved on (or from a Power Automate flow)."""
    name = str(values.get("flow", ""))
    flow = FLOWS.get(name)
    if flow is None:
        return Said(
            [Reply("That card is not one KCPF knows. Type *help* to see what you can do.")], flow_state
        )
    subject = str(values.get("subject") or "")
    try:
        state = flow.begin(turn, subject + (f" {values['period']}" if values.get("period") else ""))
    except KcpfError as error:
        return Said([Reply(error.message)], flow_state, card=cards.notice_card(flow.title, error.message))
    if isinstance(values.get("version"), int):
        state.version = values["version"]
    inputs = {
        k: str(v) for k, v in values.items() if k not in {"flow", "subject", "verb", "period", "version"}
    }
    result = apply_form(flow, turn, state, inputs)
    if not result.complete:
        card = cards.form_card(flow, turn, state, inputs, result.problems)
        message = "Some answers need another look; everything else is kept:\n" + "\n".join(
            f"- {p}" for p in result.problems.values()
        )
        return Said([Reply(message)], state, card=card)
    try:
        summary = flow.review(turn, state)
        outcome = flow.finish(turn, state)
    except KcpfError as error:
        card = cards.form_card(flow, turn, state, inputs, {"": error.message})
        return Said([Reply(error.message)], state, card=card)
    said = _finished(flow, outcome)
    said.card = cards.summary_card(flow.title, summary)
    return said


def _current(turn: Turn, state: FlowState | None) -> list[Reply]:
    if state is None:
        return []
    flow = FLOWS[state.flow]
    if state.stage is Stage.OFFERING:
        return [Reply(flow.offer_text(state), YES_NO)]
    if state.stage is Stage.CONFIRMING:
        return [Reply("Type *save* to save, *back* to change your last answer, or *cancel*.")]
    question = next_question(flow, turn, state)
    return [ask(question)] if question else []


def _title(state: FlowState) -> str:
    return FLOWS[state.flow].title


def _continue(turn: Turn, state: FlowState, typed: str) -> Said:
    flow = FLOWS[state.flow]
    word = typed.lower()
    if _interrupts(flow, turn, state, typed):
        return Said(
            [
                Reply(
                    f"You are in the middle of a {flow.title.lower()}. "
                    "Type *cancel* to stop it first, or carry on:"
                ),
                *_current(turn, state),
            ],
            state,
        )
    try:
        if word == "back":
            if state.stage is Stage.OFFERING:
                return Said([Reply("That is already saved; there is nothing to go back to.")])
            return Said(back(flow, turn, state), state)
        if word in {"form", "card"} and state.stage is Stage.ASKING:
            card = cards.form_card(flow, turn, state, _typed_answers(state), {})
            return Said([Reply(card=card)], state)
        if state.stage is Stage.OFFERING:
            try:
                yes = parse_yes_no(typed)
            except InvalidInput as error:
                return Said([Reply(error.message, YES_NO)], state)
            return _finished(flow, flow.follow_up(turn, state, yes))
        if state.stage is Stage.CONFIRMING:
            if word in _SAVE_WORDS:
                return _finished(flow, flow.finish(turn, state))
            return Said(
                [
                    Reply(
                        "Nothing is saved yet. Type *save* to save, *back* to change your last answer, "
                        "or *cancel*.",
                        (Option("Save", "save"), Option("Back", "back"), Option("Cancel", "cancel")),
                    )
                ],
                state,
            )
        return Said(answer(flow, turn, state, typed), state)
    except KcpfError as error:
        # Refused by the framework (someone else changed it, a rule): keep the answers, say why.
        return Said([Reply(error.message)], state)


def _finished(flow: Flow, outcome: Outcome) -> Said:
    said = Said(list(outcome.replies), None, list(outcome.notices))
    if outcome.offer is not None:
        outcome.offer.stage = Stage.OFFERING
        said.flow = outcome.offer
        said.replies.append(Reply(flow.offer_text(outcome.offer), YES_NO))
    return said


def _answers_question(flow: Flow, turn: Turn, state: FlowState, typed: str) -> bool:
    """Whether the text is a good answer to the question asked ("new" is a trend as well as a command)."""
    question = next_question(flow, turn, state) if state.stage is Stage.ASKING else None
    if question is None:
        return False
    try:
        question.parse(typed, state.answers)
    except InvalidInput:
        return False
    return True


def _interrupts(flow: Flow, turn: Turn, state: FlowState, typed: str) -> bool:
    """A command typed mid-way: a command about an arrangement always is; a bare word ("new", "my", "due")
    only when it does not answer the question ("new" is also a trend)."""
    word = typed.strip().lower()
    if re.match(r"^(assess|governance|update|propose|decide)\s+(kcp[\s-]*)?\d+\b", word):
        return True
    return word in {"new", "my", "due"} and not _answers_question(flow, turn, state, typed)


def _command(turn: Turn, typed: str) -> Said:
    words = typed.split(maxsplit=1)
    if not words:
        return Said([Reply(help_text(turn.actor, turn.framework.rules))])
    verb, rest = words[0].lower(), words[1] if len(words) > 1 else ""
    if verb not in VERBS:  # bot/commands.py is the one list of commands: help and Teams' menu show it
        return _not_understood(turn, typed)
    try:
        if verb in FLOWS:
            flow = FLOWS[verb]
            state = flow.begin(turn, rest)
            intro = Reply(
                f"**{flow.title}**{' for ' + state.subject if state.subject else ''}. "
                "Answer each question in "
                "chat, or type *form* to fill in the whole step in one card. *back* and *cancel* work at any "
                "point.",
                (Option("Use a form", "form"),),
            )
            return Said([intro, *proceed(flow, turn, state)], state)
        if verb == "propose":
            return _finished(FLOWS["assess"], propose(turn, parse_reference(rest)))
        if verb == "my":
            return Said([Reply(my_text(turn))])
        if verb == "due":
            refused = _refused(turn, Action.CHASE, "Type *my* to see what is due from you.")
            return refused or Said([Reply(due_text(turn))])
        if verb == "decide":
            return _decide(turn, rest)
        if verb == "report":
            return _report(turn, typed)
        if verb == "register":
            return _register(turn, rest)
    except InvalidInput as error:
        return Said([Reply(error.message)])
    except KcpfError as error:
        return Said([Reply(error.message)])
    return _not_understood(turn, typed)


def _not_understood(turn: Turn, typed: str) -> Said:
    return Said([Reply(f"I did not understand “{typed}”.\n\n{help_text(turn.actor, turn.framework.rules)}")])


_DECISION = re.compile(
    r"^(?P<decision>not[\s-]*key|key|deferred|defer)\b[\s,.;:-]*(?P<note>.*)$", re.IGNORECASE
)


def _decide(turn: Turn, rest: str) -> Said:
    """decide KCP-0001 key|not key|deferred [note]: SMT's decision, recorded by SMT or T&P."""
    parts = rest.strip().split(maxsplit=1)
    match = _DECISION.match(parts[1].strip()) if len(parts) == 2 else None
    if match is None:
        return Said([Reply(decide_help())])
    reference = parse_reference(parts[0])
    word = re.sub(r"[^a-z]", "", match.group("decision").lower())
    status = {"key": Status.KEY, "notkey": Status.NOT_KEY}.get(word, Status.DEFERRED)
    saved, _ = turn.framework.decide(turn.actor, reference, status, note=match.group("note").strip())
    told = f"SMT decided **{saved.reference} {saved.title}**: {status.label}."
    notices = [Notice("tp", told)]
    if saved.responsible_officer is not None:
        next_step = f" Next: the governance self-assessment, *governance {saved.reference}*."
        notices.append(
            Notice(saved.responsible_officer.email, told + (next_step if status is Status.KEY else ""))
        )
    return Said(
        [Reply(f"Recorded SMT's decision on {saved.reference} {saved.title}: {status.label}.")],
        notices=notices,
    )


def _report(turn: Turn, typed: str) -> Said:
    """A Word report for T&P (or an officer's own Appendix A pack), stored, with a link to download it."""
    if turn.reporting is None:
        return Said([Reply("Reports are not available here.")])
    request = parse_request(typed)
    produced = turn.reporting.service.produce(turn.actor, request)
    url = turn.reporting.link(produced)
    return Said([Reply(f"Your report is ready: [{produced.title} (Word, {_size(produced.size)})]({url})")])


def _refused(turn: Turn, action: Action, instead: str) -> Said | None:
    """The framework's refusal, with what the person can do instead; None when they may."""
    try:
        check_permitted(turn.actor, action)
    except NotPermitted as error:
        return Said([Reply(f"{error.message} {instead}")])
    return None


def _register(turn: Turn, rest: str) -> Said:
    """A link to the read-only register page, or to one arrangement's (its link opens the whole register too),
    for those who review the whole register."""
    if turn.register_link is None:
        return Said([Reply("The register page is not available here.")])
    refused = _refused(
        turn, Action.REVIEW_REGISTER, "Type *my* to see your own contracts and partnerships and what is due."
    )
    if refused is not None:
        return refused
    if rest.strip():
        arrangement = turn.framework.register.get(parse_reference(rest))
        reference = arrangement.reference or ""
        return Said(
            [
                Reply(
                    f"{reference} {arrangement.title}, read-only, in your browser: "
                    f"[open it]({turn.register_link(reference)})."
                )
            ]
        )
    return Said(
        [
            Reply(
                f"The register, read-only, in your browser: [open the register]({turn.register_link('')}). "
                "Filter, sort and download it as CSV there; to change anything, talk to me."
            )
        ]
    )


def _size(size: int) -> str:
    return f"{size / 1024:,.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MB"


def _typed_answers(state: FlowState) -> dict[str, str]:
    """Answers so far, as a card would show them."""
    out: dict[str, str] = {}
    for key, value in state.answers.items():
        if value is None:
            continue
        if isinstance(value, dict) and "met" in value:
            out[key] = "yes" if value["met"] else "no"
            if value.get("reason"):
                out[f"reason_{key}"] = value["reason"]
        elif isinstance(value, bool):
            out[key] = "yes" if value else "no"
        elif isinstance(value, list):
            out[key] = "; ".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


def flows() -> Sequence[Flow]:
    return list(FLOWS.values())
