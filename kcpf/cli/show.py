"""Plain-text views of the register for the command line."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from kcpf.assessment import describe_term, suggest, term_months
from kcpf.due import Obligation, by_officer
from kcpf.framework import FrameworkVersion
from kcpf.model import Arrangement
from kcpf.parsing import format_money, format_uk_date
from kcpf.services import ArrangementFile
from kcpf.wording import plural


def money(amount: Decimal | None) -> str:
    return "not recorded" if amount is None else format_money(amount)


def arrangement_table(arrangements: Sequence[Arrangement]) -> str:
    if not arrangements:
        return "The register has no contracts or partnerships matching that."
    header = ("Reference", "Title", "Council", "Partner", "Status", "Responsible officer")
    rows = [
        (
            a.reference or "",
            _cut(a.title, 40),
            a.council.label.replace(" Borough Council", "").replace(" Council", ""),
            _cut(a.partner, 28),
            a.status.label,
            a.responsible_officer.email if a.responsible_officer else "none assigned",
        )
        for a in arrangements
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(
        f"{plural(len(arrangements), 'contract or partnership', 'contracts and partnerships')} listed."
    )
    return "\n".join(lines)


def arrangement_file(file: ArrangementFile, framework: FrameworkVersion) -> str:
    a = file.arrangement
    lines = [
        f"{a.reference}  {a.title}",
        f"  {a.type.label} · {a.council.label} · {a.status.label}",
        f"  Partner or supplier: {a.partner}",
        f"  Responsible officer: {_officer(a)}",
    ]
    if a.service:
        lines.append(f"  Service: {a.service}")
    if a.description:
        lines.append(f"  Description: {a.description}")
    lines.append(f"  Annual value: {money(a.annual_value)}; total value: {money(a.total_value)}")
    if a.start_date and a.end_date:
        term = describe_term(term_months(a.start_date, a.end_date))
        lines.append(f"  Term: {format_uk_date(a.start_date)} to {format_uk_date(a.end_date)} ({term})")
    else:
        start = format_uk_date(a.start_date) if a.start_date else "not recorded"
        end = format_uk_date(a.end_date) if a.end_date else "not recorded"
        lines.append(f"  Start: {start}; end: {end}")
    shared = {True: "yes", False: "no", None: "not recorded"}[a.data_shared]
    lines.append(f"  Data shared: {shared}; notice period: {a.notice_period or 'not recorded'}")
    if a.corporate_priorities:
        lines.append("  Corporate priorities: " + "; ".join(a.corporate_priorities))
    latest = file.latest_assessment
    if latest is None:
        lines.append("  Not yet assessed against the criteria.")
        for key, suggestion in suggest(framework, a).items():
            verdict = "yes" if suggestion.met else "no"
            lines.append(
                f"    The record suggests {framework.criterion(key).name}: {verdict} ({suggestion.why})"
            )
    else:
        lines.append(
            f"  Assessment: {latest.explanation} (framework {latest.framework_version}, by "
            f"{latest.assessed_by} on {format_uk_date(latest.assessed_at.date())})"
        )
        for answer, name in zip(latest.answers, latest.criterion_names, strict=True):
            line = f"    {name}: {'yes' if answer.met else 'no'}"
            if answer.reason:
                line += f", {answer.reason}"
            if answer.overrides_suggestion and answer.suggestion:
                line += f" (overrides the suggestion: {answer.suggestion.why})"
            lines.append(line)
    for decision in file.decisions:
        note = f": {decision.note}" if decision.note else ""
        lines.append(
            f"  SMT decision: {decision.decision.label} on {format_uk_date(decision.decided_at.date())} "
            f"(recorded by {decision.decided_by}){note}"
        )
    review = file.latest_governance
    if review is not None:
        gaps = review.gaps
        lines.append(f"  Governance self-assessment: {plural(len(gaps), 'open gap')}")
        for gap in gaps:
            area = framework.governance_area(gap.area).name
            target = format_uk_date(gap.target_date) if gap.target_date else "no date"
            lines.append(f"    {area}: {gap.plan} (by {target})")
    for update in file.updates:
        lines.append(f"  Update {update.period}: performance {update.performance.label}")
    return "\n".join(lines)


def obligations_text(owed: Sequence[Obligation]) -> str:
    if not owed:
        return "Nothing is due or overdue."
    lines: list[str] = []
    for items in by_officer(owed).values():
        officer = items[0].officer
        lines.append(officer.display if officer else "No responsible officer assigned")
        for o in items:
            lines.append(
                f"  {o.state.upper():8} {o.reference} {o.title}: {o.what} (due {format_uk_date(o.due_date)})"
            )
    overdue = sum(o.overdue for o in owed)
    lines.append(f"{plural(len(owed), 'item')} owed, {overdue} overdue.")
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _officer(arrangement: Arrangement) -> str:
    officer = arrangement.responsible_officer
    return officer.display if officer else "none assigned"
