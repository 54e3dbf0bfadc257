"""The biannual update to the shared Senior Management Team: one report for both councils."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from kcpf.calendar import Period
from kcpf.due import Obligation, by_officer
from kcpf.framework import FrameworkVersion
from kcpf.model import KEY_STATUSES, Arrangement, Council, Status
from kcpf.monitoring import Rag
from kcpf.parsing import format_uk_date
from kcpf.reports.common import (
    NO_UPDATE,
    day,
    gap_rows,
    heading_name,
    kpi_table,
    officer,
    particulars_table,
    rag_word,
    risk_table,
    update_for,
)
from kcpf.reports.content import (
    Block,
    BulletList,
    Chart,
    Document,
    Heading,
    Paragraph,
    Properties,
    Section,
    Table,
)
from kcpf.services import ArrangementFile
from kcpf.wording import plural

RAG_ORDER = (Rag.GREEN.label, Rag.AMBER.label, Rag.RED.label, NO_UPDATE)
COUNCIL_ORDER = (Council.CHORLEY, Council.SOUTH_RIBBLE, Council.SHARED)


def smt_title(period: Period) -> str:
    return f"Key contracts and partnerships: biannual update to SMT, {period.label}"


def smt_update(
    framework: FrameworkVersion,
    files: Sequence[ArrangementFile],
    owed: Sequence[Obligation],
    period: Period,
    today: date,
    author: str,
) -> Document:
    """`files` are every arrangement on the register; `owed` is what is due on `today`."""
    key = [f for f in files if f.arrangement.status in KEY_STATUSES]
    proposed = [f for f in files if f.arrangement.status is Status.PROPOSED]
    horizon = _a_year_after(today)
    ending = sorted(
        (
            f.arrangement
            for f in files
            if f.arrangement.status in KEY_STATUSES and ends_within(f.arrangement, today, horizon)
        ),
        key=lambda a: (_next_date(a, today, horizon) or horizon, a.reference or ""),
    )
    overdue = [o for o in owed if o.overdue]
    blocks: list[Block] = [
        Paragraph(
            f"This update covers {period.start:%B %Y} to {period.end:%B %Y} ({period.label}) and was "
            f"compiled by Transformation and Partnerships on {format_uk_date(today)}. Shared arrangements "
            "appear once, under Shared."
        ),
        *_summary(key, period),
    ]
    sections = [Section(tuple(blocks))]
    for council in COUNCIL_ORDER:
        mine = [f for f in key if f.arrangement.council is council]
        sections.append(Section(tuple(_council_blocks(framework, council, mine, period))))
    sections.append(Section(tuple(_proposals(framework, proposed))))
    sections.append(Section(tuple(_ending(ending, today, horizon)), landscape=True))
    sections.append(Section(tuple(_overdue(overdue, today))))
    title = smt_title(period)
    return Document(
        title=title,
        subtitle=f"Key Contracts and Partnerships Framework, {format_uk_date(today)}",
        properties=Properties(
            title=title,
            author=author,
            subject="Biannual update to the Senior Management Team on key contracts and partnerships, "
            + period.label,
            keywords=("key contracts", "partnerships", "SMT", period.label),
        ),
        sections=tuple(sections),
    )


def _summary(key: Sequence[ArrangementFile], period: Period) -> list[Block]:
    rags = Counter(rag_word(update_for(f.updates, period.label)) for f in key)
    statuses = Counter(f.arrangement.status for f in key)
    councils = Counter(f.arrangement.council for f in key)
    rag_bars = tuple((word, rags.get(word, 0)) for word in RAG_ORDER)
    described = ", ".join(f"{word} {count}" for word, count in rag_bars)
    return [
        Heading("Summary", 1),
        Paragraph(
            f"There are {plural(len(key), 'key contract or partnership', 'key contracts and partnerships')}: "
            + ", ".join(f"{councils.get(c, 0)} {c.label}" for c in COUNCIL_ORDER)
            + "."
        ),
        Heading("Performance by RAG rating", 2),
        Table(
            ("Performance RAG rating", "Number of key contracts and partnerships"),
            tuple((word, str(count)) for word, count in rag_bars),
            f"Key contracts and partnerships by performance RAG rating, {period.label}",
        ),
        Chart(
            f"Key contracts and partnerships by performance RAG rating, {period.label}",
            f"Bar chart of key contracts and partnerships by performance RAG rating for {period.label}: "
            f"{described}.",
            rag_bars,
        ),
        Heading("By status", 2),
        Table(
            ("Status", "Number of key contracts and partnerships"),
            tuple((s.label, str(statuses[s])) for s in Status if s in KEY_STATUSES),
            "Key contracts and partnerships by status",
        ),
    ]


def _council_blocks(
    framework: FrameworkVersion, council: Council, files: Sequence[ArrangementFile], period: Period
) -> list[Block]:
    heading = (
        "Shared key contracts and partnerships"
        if council is Council.SHARED
        else (f"{council.label}: key contracts and partnerships")
    )
    blocks: list[Block] = [Heading(heading, 1)]
    if not files:
        blocks.append(Paragraph("There are none."))
    for file in files:
        blocks.extend(_arrangement_blocks(framework, file, period))
    return blocks


def _arrangement_blocks(framework: FrameworkVersion, file: ArrangementFile, period: Period) -> list[Block]:
    a = file.arrangement
    name = heading_name(a)
    update = update_for(file.updates, period.label)
    performance = rag_word(update)
    blocks: list[Block] = [
        Heading(name, 2),
        particulars_table(a, [("Performance RAG rating", performance)]),
        Heading(f"Performance of {a.reference}", 3),
    ]
    if update is None:
        blocks.append(Paragraph(f"No update has been submitted for {period.label}.", label="Performance: "))
    else:
        blocks.append(Paragraph(update.performance.label, label="Performance RAG rating: "))
        if update.kpis:
            blocks.append(kpi_table(update, name))
        blocks.append(Paragraph(update.achievements or "None reported.", label="Achievements: "))
        blocks.append(Paragraph(update.issues_to_escalate or "None.", label="Issues escalated for SMT: "))
        blocks.append(Heading(f"Risks of {a.reference}", 3))
        blocks.append(risk_table(update, name))
    gaps = gap_rows(framework, file.latest_governance)
    blocks.append(Heading(f"Governance of {a.reference}", 3))
    if file.latest_governance is None:
        blocks.append(Paragraph("The governance self-assessment has not been completed."))
    elif not gaps:
        blocks.append(Paragraph("No governance gaps are open."))
    else:
        blocks.append(
            Table(
                ("Governance area not in place", "Plan", "Target date"),
                gaps,
                f"Open governance gaps of {name}",
                widths=(3, 4, 2),
            )
        )
    return blocks


def _proposals(framework: FrameworkVersion, proposed: Sequence[ArrangementFile]) -> list[Block]:
    blocks: list[Block] = [
        Heading("New contracts and partnerships proposed as key", 1),
        Paragraph(
            "These have been assessed against the criteria of Appendix A and await SMT's decision: key, not "
            f"key, or deferred. At least {framework.key_threshold} of the {len(framework.criteria)} criteria "
            "must be met for a contract or partnership to be key."
        ),
    ]
    if not proposed:
        blocks.append(Paragraph("None are proposed this time."))
    for file in proposed:
        a = file.arrangement
        name = heading_name(a)
        blocks.append(Heading(name, 2))
        blocks.append(particulars_table(a))
        assessment = file.latest_assessment
        if assessment is None:
            blocks.append(Paragraph("No assessment is recorded."))
            continue
        blocks.append(
            Table(
                ("Criterion", "Met", "Reason"),
                tuple(
                    (crit, "Yes" if answer.met else "No", answer.reason or "None given")
                    for answer, crit in zip(assessment.answers, assessment.criterion_names, strict=True)
                ),
                f"Appendix A criteria for {name}",
                widths=(2, 1, 4),
            )
        )
        blocks.append(
            Paragraph(
                f"{assessment.explanation} (framework {assessment.framework_version}, assessed by "
                f"{assessment.assessed_by} on {format_uk_date(assessment.assessed_at.date())}).",
                label="Result: ",
            )
        )
    return blocks


def _ending(ending: Sequence[Arrangement], today: date, horizon: date) -> list[Block]:
    blocks: list[Block] = [
        Heading("Ending or due for re-procurement in the next 12 months", 1),
        Paragraph(
            f"Key contracts and partnerships whose end date or review date falls between "
            f"{format_uk_date(today)} and {format_uk_date(horizon)}."
        ),
    ]
    if not ending:
        blocks.append(Paragraph("None end or are due for review in that time."))
        return blocks
    blocks.append(
        Table(
            (
                "Reference",
                "Title",
                "Council",
                "Partner or supplier",
                "Responsible officer",
                "End date",
                "Review date",
                "Notice period",
            ),
            tuple(
                (
                    a.reference or "",
                    a.title,
                    a.council.label,
                    a.partner,
                    officer(a),
                    day(a.end_date),
                    day(a.source.review_date if a.source else None),
                    a.notice_period or "Not recorded",
                )
                for a in ending
            ),
            "Key contracts and partnerships ending or due for re-procurement in the next 12 months",
            widths=(3, 4, 3, 3, 4, 3, 3, 3),
        )
    )
    return blocks


def _overdue(overdue: Sequence[Obligation], today: date) -> list[Block]:
    blocks: list[Block] = [
        Heading("Updates overdue, by officer", 1),
        Paragraph(f"What was overdue on {format_uk_date(today)}."),
    ]
    if not overdue:
        blocks.append(Paragraph("Nothing is overdue."))
        return blocks
    for items in by_officer(overdue).values():
        person = items[0].officer
        who = (
            "No responsible officer assigned"
            if person is None
            else (f"{person.name} ({person.email})" if person.name else person.email)
        )
        blocks.append(Heading(who, 2))
        blocks.append(
            BulletList(
                tuple(f"{o.reference} {o.title}: {o.what}, due {format_uk_date(o.due_date)}" for o in items)
            )
        )
    return blocks


def _a_year_after(today: date) -> date:
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


def renewal_dates(a: Arrangement) -> tuple[date | None, date | None]:
    """The dates that put an arrangement under "ending or due for re-procurement": its end date and the
    published register's review date (SharePoint's view of the same name filters on both)."""
    return a.end_date, a.source.review_date if a.source else None


def _next_date(a: Arrangement, today: date, horizon: date) -> date | None:
    dates = [d for d in renewal_dates(a) if d is not None and today <= d <= horizon]
    return min(dates, default=None)


def ends_within(a: Arrangement, today: date, horizon: date) -> bool:
    return _next_date(a, today, horizon) is not None
