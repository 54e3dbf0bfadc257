"""A conversation as a list of questions: the officer answers one at a time in chat, or all at once in a card.

Flows (identify, assess, governance, update) say which questions apply given the answers so far and what to
do with the answers; this module asks, checks, goes back and keeps the answers. It knows nothing of Teams:
it returns `Reply` values that the bot layer turns into activities. The rules themselves come from `kcpf/`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from kcpf.errors import InvalidInput
from kcpf.lifecycle import Actor
from kcpf.reports.service import ProducedReport, ReportService
from kcpf.services import FrameworkService

Json = Any  # what a JSON document can hold; answers are stored in conversation state as JSON

Parse = Callable[[str, Mapping[str, Json]], Json]
"""Turns what the officer typed into the answer to keep, given the answers so far; raises InvalidInput."""


class InputKind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long-text"
    CHOICE = "choice"
    DATE = "date"


@dataclass(frozen=True)
class Option:
    """A quick reply: the button's title and what it types."""

    title: str
    value: str


@dataclass(frozen=True)
class Question:
    key: str  # also the card's input id: a public interface
    label: str  # short, for the card and the summary
    text: str  # the question in chat
    parse: Parse
    explanation: str = ""  # what the question means, in the framework's words
    options: tuple[Option, ...] = ()
    kind: InputKind = InputKind.TEXT
    optional: bool = False  # "skip" leaves it empty
    suggestion: str | None = None  # what the record suggests, as the officer would type it
    why: str = ""  # why it is suggested
    accepted: str | None = None  # what accepting the suggestion records, when more than the suggestion


@dataclass(frozen=True)
class Reply:
    """One message from the bot. `card` is an Adaptive Card; `options` become quick replies."""

    text: str = ""
    options: tuple[Option, ...] = ()
    card: Mapping[str, Json] | None = None


class Stage(StrEnum):
    ASKING = "asking"
    CONFIRMING = "confirming"
    OFFERING = "offering"  # a follow-up offer after saving (propose to SMT)


@dataclass
class FlowState:
    """Where a conversation is: kept in conversation state, so it survives restarts and days away."""

    flow: str
    subject: str | None = None  # the arrangement's reference
    answers: dict[str, Json] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)  # keys in the order answered, for "back"
    stage: Stage = Stage.ASKING
    version: int | None = None  # the arrangement's version when the conversation began
    card_id: str | None = None  # the activity id of the card sent for this step, to replace it

    def to_json(self) -> dict[str, Json]:
        return {
            "flow": self.flow,
            "subject": self.subject,
            "answers": self.answers,
            "asked": self.asked,
            "stage": self.stage.value,
            "version": self.version,
            "card_id": self.card_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Json]) -> FlowState:
        return cls(
            flow=str(data["flow"]),
            subject=data.get("subject"),
            answers=dict(data.get("answers") or {}),
            asked=list(data.get("asked") or []),
            stage=Stage(data.get("stage", Stage.ASKING.value)),
            version=data.get("version"),
            card_id=data.get("card_id"),
        )


@dataclass(frozen=True)
class Reporting:
    """Word reports: the service that produces and stores them, and where an officer downloads one."""

    service: ReportService
    link: Callable[[ProducedReport], str]


@dataclass(frozen=True)
class Turn:
    """What a flow may use on this turn."""

    framework: FrameworkService
    actor: Actor
    now: datetime
    reporting: Reporting | None = None
    register_link: Callable[[str], str] | None = None  # the read-only register page (or a reference's)


@dataclass(frozen=True)
class Outcome:
    """What finishing a flow said, and the follow-up offer if there is one (its state stays active)."""

    replies: tuple[Reply, ...]
    offer: FlowState | None = None
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class Notice:
    """A message for other people (T&P, SMT, the responsible officer), sent by the bot layer."""

    to_role: str  # "tp", "smt" or an email address
    text: str


class Flow(ABC):
    name: ClassVar[str]
    title: ClassVar[str]

    @abstractmethod
    def begin(self, turn: Turn, argument: str) -> FlowState:
        """Check the conversation can start (the arrangement exists, the officer may act) and start it."""

    @abstractmethod
    def questions(self, turn: Turn, state: FlowState) -> Sequence[Question]:
        """The questions that apply, in order, given the answers so far."""

    def form(self, turn: Turn, state: FlowState) -> Sequence[Question]:
        """The questions on the card for the whole step (conditional ones included)."""
        return self.questions(turn, state)

    def from_form(self, values: Mapping[str, str]) -> dict[str, str]:
        """What the card's inputs mean as chat answers (repeating groups imply their "another?" answers)."""
        return dict(values)

    @abstractmethod
    def review(self, turn: Turn, state: FlowState) -> str:
        """The summary shown before saving; may raise InvalidInput when the answers do not fit together."""

    @abstractmethod
    def finish(self, turn: Turn, state: FlowState) -> Outcome:
        """Save, through the framework service."""

    def follow_up(self, turn: Turn, state: FlowState, yes: bool) -> Outcome:
        """Answer to the offer made after saving."""
        return Outcome(())

    def offer_text(self, state: FlowState) -> str:
        return ""


SAVE_OPTIONS = (Option("Save", "save"), Option("Back", "back"), Option("Cancel", "cancel"))
YES_NO = (Option("Yes", "yes"), Option("No", "no"))
_SKIP_WORDS = {"skip", "none", "n/a", "-"}
_ACCEPT_WORDS = {"ok", "okay", "accept", "agree", "as suggested", "fine"}


def next_question(
    flow: Flow, turn: Turn, state: FlowState, exclude: frozenset[str] = frozenset()
) -> Question | None:
    for question in flow.questions(turn, state):
        if question.key not in state.answers and question.key not in exclude:
            return question
    return None


def ask(question: Question, *, again: str = "") -> Reply:
    parts = [again] if again else []
    parts.append(question.text)
    if question.suggestion is not None:
        parts.append(
            f"The record suggests **{question.suggestion}**: {question.why}. Type *ok* to accept it."
        )
    if question.explanation:
        parts.append(f"_{question.explanation}_")
    if question.optional:
        parts.append("Type *skip* to leave it blank.")
    options = question.options
    if question.suggestion is not None:
        options = (Option(f"OK ({question.suggestion})", "ok"), *options)
    return Reply("\n\n".join(parts), options)


def answer(flow: Flow, turn: Turn, state: FlowState, text: str) -> list[Reply]:
    """Take a typed answer to the current question; a wrong answer gets a specific message and the question
    again, and nothing already answered is lost."""
    question = next_question(flow, turn, state)
    if question is None:
        return confirm(flow, turn, state)
    typed = text.strip()
    if typed.lower() in _SKIP_WORDS and question.optional:
        value: Json = None
    else:
        if typed.lower() in _ACCEPT_WORDS and question.suggestion is not None:
            typed = question.accepted or question.suggestion
        try:
            value = question.parse(typed, state.answers)
        except InvalidInput as error:
            return [ask(question, again=error.message)]
    state.answers[question.key] = value
    state.asked.append(question.key)
    return proceed(flow, turn, state)


def proceed(flow: Flow, turn: Turn, state: FlowState) -> list[Reply]:
    question = next_question(flow, turn, state)
    if question is not None:
        return [ask(question)]
    return confirm(flow, turn, state)


def confirm(flow: Flow, turn: Turn, state: FlowState) -> list[Reply]:
    try:
        summary = flow.review(turn, state)
    except InvalidInput as error:
        # The answers do not fit together (an end before the start, say): go back to the last one.
        back(flow, turn, state)
        return [Reply(error.message), *proceed(flow, turn, state)]
    state.stage = Stage.CONFIRMING
    return [Reply(f"{summary}\n\nSave this?", SAVE_OPTIONS)]


def back(flow: Flow, turn: Turn, state: FlowState) -> list[Reply]:
    if state.stage is Stage.CONFIRMING:
        state.stage = Stage.ASKING
    if not state.asked:
        return [Reply("This is the first question."), *proceed(flow, turn, state)]
    last = state.asked.pop()
    state.answers.pop(last, None)
    question = next_question(flow, turn, state)
    assert question is not None
    return [ask(question)]


@dataclass(frozen=True)
class FormResult:
    problems: dict[str, str]  # input id -> what is wrong
    complete: bool


def apply_form(flow: Flow, turn: Turn, state: FlowState, values: Mapping[str, str]) -> FormResult:
    """Take a whole step from a card. Valid answers are kept even when others are wrong."""
    given = {k: str(v) for k, v in flow.from_form(values).items() if v is not None}
    problems: dict[str, str] = {}
    while (question := next_question(flow, turn, state, frozenset(problems))) is not None:
        typed = given.get(question.key, "").strip()
        if not typed:
            if question.optional:
                state.answers[question.key] = None
                state.asked.append(question.key)
                continue
            if question.suggestion is not None:
                typed = question.accepted or question.suggestion
            else:
                problems[question.key] = f"{question.label}: this needs an answer."
                continue
        try:
            state.answers[question.key] = question.parse(typed, state.answers)
            state.asked.append(question.key)
        except InvalidInput as error:
            problems[question.key] = f"{question.label}: {error.message}"
    return FormResult(problems, complete=not problems)
