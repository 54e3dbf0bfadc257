"""Reminders: what each responsible officer is told ahead of a deadline and once it has passed, and T&P's
summary. What is owed comes from `kcpf.due` (the rule `kcpf due` and the bot's *due* use); this module only
chooses what is worth a message today and words it. Pure: today and who can be reached are handed in."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kcpf.due import Obligation, Owed, by_officer
from kcpf.model import Officer
from kcpf.parsing import format_uk_date
from kcpf.wording import plural


class Kind(StrEnum):
    REMINDER = "reminder"  # to a responsible officer: their own items
    SUMMARY = "summary"  # to each T&P member: the whole register


@dataclass(frozen=True)
class Message:
    to: str  # an email or Entra object id, as the bot's conversation references are keyed
    kind: Kind
    text: str
    key: str  # idempotency key: the same day, person and kind are sent once


@dataclass(frozen=True)
class OfficerReminder:
    officer: Officer
    due_soon: tuple[Obligation, ...]
    overdue: tuple[Obligation, ...]


@dataclass(frozen=True)
class ReminderPlan:
    on: date
    reminders: tuple[OfficerReminder, ...]
    unassigned: tuple[Obligation, ...]  # owed on arrangements with no responsible officer
    not_reachable: tuple[Officer, ...]  # officers to remind who have no conversation with the bot yet
    messages: tuple[Message, ...]


def idempotency_key(on: date, to: str, kind: Kind) -> str:
    return f"{on.isoformat()}/{kind.value}/{to.lower()}"


# How many days ahead of a deadline officers are first reminded, unless KCPF_REMIND_DAYS says otherwise: the
# framework sets the deadlines, not the notice given, which is the councils' practice.
DEFAULT_WARN_DAYS = 14


def plan_reminders(
    owed: Iterable[Obligation],
    on: date,
    *,
    warn_days: int,
    tp: Collection[str],
    reachable: Collection[str],
) -> ReminderPlan:
    """`owed` is what `kcpf.due.obligations` gives for `on`. An item is *due soon* when its deadline is at
    most `warn_days` away and *overdue* once passed; anything further off waits for a later day. `reachable`
    holds the emails of officers the bot can message; the others are named in T&P's summary."""
    chosen = [o for o in owed if o.overdue or (o.due_date - on).days <= warn_days]
    reminders: list[OfficerReminder] = []
    unassigned: list[Obligation] = []
    for email, items in by_officer(chosen).items():
        officer = items[0].officer
        if not email or officer is None:
            unassigned.extend(items)
            continue
        reminders.append(
            OfficerReminder(
                officer,
                tuple(o for o in items if not o.overdue),
                tuple(o for o in items if o.overdue),
            )
        )
    reachable_set = {r.lower() for r in reachable}
    not_reachable = tuple(r.officer for r in reminders if r.officer.email not in reachable_set)
    messages = [
        Message(
            r.officer.email,
            Kind.REMINDER,
            reminder_text(r, on),
            idempotency_key(on, r.officer.email, Kind.REMINDER),
        )
        for r in reminders
        if r.officer.email in reachable_set
    ]
    if reminders or unassigned:
        summary = summary_text(on, reminders, unassigned, not_reachable)
        messages.extend(
            Message(p, Kind.SUMMARY, summary, idempotency_key(on, p, Kind.SUMMARY)) for p in sorted(tp)
        )
    return ReminderPlan(on, tuple(reminders), tuple(unassigned), not_reachable, tuple(messages))


def reminder_text(reminder: OfficerReminder, on: date) -> str:
    name = reminder.officer.name.split(" ")[0] if reminder.officer.name else ""
    lines = [f"Hello{' ' + name if name else ''}. A reminder from KCPF on {format_uk_date(on)}."]
    if reminder.overdue:
        lines.append("\n**Overdue:**")
        lines.extend(_item(o, on) for o in reminder.overdue)
    if reminder.due_soon:
        lines.append("\n**Due soon:**")
        lines.extend(_item(o, on) for o in reminder.due_soon)
    first = (reminder.overdue or reminder.due_soon)[0]
    command = "governance" if first.owed is Owed.GOVERNANCE_PLAN else "update"
    lines.append(f"\nType *{command} {first.reference}* to start, or *my* to see everything of yours.")
    return "\n".join(lines)


def _item(obligation: Obligation, on: date) -> str:
    days = (obligation.due_date - on).days
    if obligation.overdue:
        when = f"was due {format_uk_date(obligation.due_date)} ({plural(-days, 'day')} ago)"
    elif days == 0:
        when = "due today"
    else:
        when = f"due {format_uk_date(obligation.due_date)} (in {plural(days, 'day')})"
    return f"- {obligation.reference} {obligation.title}: {obligation.what}, {when}"


def summary_text(
    on: date,
    reminders: Sequence[OfficerReminder],
    unassigned: Sequence[Obligation],
    not_reachable: Sequence[Officer],
) -> str:
    due_soon = sum(len(r.due_soon) for r in reminders)
    overdue = sum(len(r.overdue) for r in reminders) + sum(o.overdue for o in unassigned)
    lines = [
        f"KCPF reminders on {format_uk_date(on)}: {plural(overdue, 'item')} overdue and "
        f"{due_soon} due soon, from {plural(len(reminders), 'responsible officer')}."
    ]
    late = [r for r in reminders if r.overdue]
    if late:
        lines.append("\n**Overdue, by officer:**")
        for r in late:
            references = ", ".join(sorted({o.reference for o in r.overdue}))
            lines.append(f"- {r.officer.display}: {plural(len(r.overdue), 'item')} ({references})")
    if unassigned:
        references = ", ".join(sorted({o.reference for o in unassigned}))
        lines.append(f"\n**No responsible officer assigned:** {references}")
    if not_reachable:
        lines.append(
            "\n**Not reachable in Teams yet** (they have not talked to the bot or installed the app):"
        )
        lines.extend(f"- {officer.display}" for officer in not_reachable)
    return "\n".join(lines)
