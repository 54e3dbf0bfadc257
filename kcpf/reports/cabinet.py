"""The annual update to one council's executive (Chorley's Executive Cabinet, South Ribble's Cabinet), as a
committee report with the council's headings."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from kcpf.calendar import FinancialYear, Period
from kcpf.errors import InvalidInput
from kcpf.framework import FrameworkVersion
from kcpf.governance import InPlace
from kcpf.model import KEY_STATUSES, Council
from kcpf.parsing import format_uk_date
from kcpf.reports.common import heading_name, kpi_table, particulars_table, rag_word, risk_table, update_for
from kcpf.reports.content import (
    Block,
    BulletList,
    Document,
    Heading,
    Link,
    Paragraph,
    Properties,
    Section,
    Table,
)
from kcpf.services import ArrangementFile
from kcpf.wording import plural

# Local Government Act 1972, Schedule 12A, paragraph 3: information about anyone's financial or business
# affairs. Partners' financial stability is the usual reason an appendix is not for publication.
EXEMPT_MARKING = (
    "CONFIDENTIAL: not for publication by virtue of paragraph 3 of Part 1 of Schedule 12A to the Local "
    "Government Act 1972"
)


@dataclass(frozen=True)
class CommitteeHeadings:
    """The headings of a council's committee report template, in its order. Configurable: templates change."""

    report_of: str = "Report of"
    meeting: str = "Meeting"
    date: str = "Date"
    purpose: str = "Purpose of the report"
    recommendations: str = "Recommendations"
    reasons: str = "Reasons for recommendations"
    other_options: str = "Other options considered and rejected"
    corporate_priorities: str = "Corporate priorities"
    background: str = "Background to the report"
    performance: str = "Performance of key contracts and partnerships against the targets set for the year"
    objectives: str = "Objectives set for the current financial year"
    risk: str = "Risk"
    equality: str = "Equality and diversity"
    climate: str = "Climate change and air quality"
    finance_comments: str = "Comments of the statutory finance officer"
    monitoring_comments: str = "Comments of the monitoring officer"
    background_documents: str = "Background documents"
    appendices: str = "Appendices"

    def __post_init__(self) -> None:
        empty = [f.name for f in dataclasses.fields(self) if not str(getattr(self, f.name)).strip()]
        if empty:
            raise InvalidInput(f"Committee report headings cannot be empty: {', '.join(empty)}.")


def headings_from_data(data: object) -> dict[Council, CommitteeHeadings]:
    """Each council's headings from plain data: {"chorley": {"purpose": "Purpose of the Report"}, ...}.
    Headings not given keep their defaults; unknown councils or headings are refused, naming them."""
    if not isinstance(data, dict):
        raise InvalidInput("Committee report headings are an object with a key for each council.")
    known = {f.name for f in dataclasses.fields(CommitteeHeadings)}
    found: dict[Council, CommitteeHeadings] = {}
    for key, given in data.items():
        council = Council.parse(str(key))
        if council is Council.SHARED:
            raise InvalidInput("Committee report headings are for Chorley or South Ribble, not shared.")
        if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
            raise InvalidInput(f"The headings for {council.label} must map heading names to text.")
        unknown = sorted(set(given) - known)
        if unknown:
            raise InvalidInput(
                f"Not committee report headings: {', '.join(unknown)}. They are: {', '.join(sorted(known))}."
            )
        found[council] = dataclasses.replace(DEFAULT_HEADINGS[council], **given)
    return found


DEFAULT_HEADINGS: dict[Council, CommitteeHeadings] = {
    Council.CHORLEY: CommitteeHeadings(),
    Council.SOUTH_RIBBLE: CommitteeHeadings(),
}


@dataclass(frozen=True)
class CabinetDetails:
    """What T&P says about the meeting; what is not given is marked for completion before publication."""

    report_of: str = ""
    meeting_date: date | None = None
    finance_comments: str = ""
    monitoring_comments: str = ""
    climate_change: str = (
        "There are no direct climate change or air quality implications arising from this report. Each key "
        "contract and partnership considers its own environmental impact."
    )
    confidential_risk: bool = False
    framework_url: str = ""


def cabinet_title(council: Council, year: FinancialYear) -> str:
    return f"Key contracts and partnerships: annual update to {council.executive}, {year.label}"


def cabinet_update(
    framework: FrameworkVersion,
    council: Council,
    year: FinancialYear,
    files: Sequence[ArrangementFile],
    today: date,
    author: str,
    details: CabinetDetails = CabinetDetails(),
    headings: CommitteeHeadings | None = None,
) -> Document:
    """`files` are every arrangement on the register; those of this council (and shared ones) that are key
    are reported, with their year-end (H2) update for `year`."""
    if council is Council.SHARED:
        raise InvalidInput("The annual update goes to one council's executive: name Chorley or South Ribble.")
    h = headings or DEFAULT_HEADINGS[council]
    executive = council.executive
    year_end = Period(year, 2)
    current = FinancialYear(year.start_year + 1)
    key = [f for f in files if f.arrangement.status in KEY_STATUSES and f.arrangement.council.covers(council)]
    count = plural(len(key), "key contract or partnership", "key contracts and partnerships")
    to_complete = "To be completed before publication."
    main: list[Block] = [
        Table(
            (h.report_of, h.meeting, h.date),
            (
                (
                    details.report_of.strip() or to_complete,
                    executive,
                    day_or(details.meeting_date, to_complete),
                ),
            ),
            "Report of, meeting and date",
        ),
        Heading(h.purpose, 1),
        Paragraph(
            f"To update {executive} on the performance in {year.label} of {council.label}'s {count} under "
            "the shared Key Contracts and Partnerships Framework, and on the objectives set for "
            f"{current.label}."
        ),
        Heading(h.recommendations, 1),
        Paragraph(
            f"That {executive} notes the performance of the key contracts and partnerships in {year.label} "
            f"and the objectives set for {current.label}."
        ),
        Heading(h.reasons, 1),
        Paragraph(
            "The framework requires an annual update to each council's executive on its key contracts and "
            "partnerships, so that members can be assured they deliver what was agreed."
        ),
        Heading(h.other_options, 1),
        Paragraph("None: the framework requires this update."),
        Heading(h.corporate_priorities, 1),
        *_priorities(framework, council, year, key),
        Heading(h.background, 1),
        Paragraph(
            f"{framework.title} defines a key contract or partnership as one meeting at least "
            f"{framework.key_threshold} of the {len(framework.criteria)} criteria (financial, corporate "
            "priorities, risk, length and resource). Responsible officers report on each twice a year; the "
            "year-end update feeds this report."
        ),
        Heading(h.performance, 1),
        *_performance(key, year_end),
        Heading(h.objectives, 1),
        *_objectives(key, year_end, current),
        Heading(h.risk, 1),
    ]
    risk_blocks = _risks(key, year_end)
    appendices: list[str] = []
    sections: list[Section] = []
    if details.confidential_risk:
        appendices.append("Appendix 1: Risks and the partners' financial stability (confidential)")
        main.append(
            Paragraph(
                "The changing risks of each key contract and partnership, and the partners' financial "
                "stability, are set out in Appendix 1, which is not for publication because it contains "
                "information about the financial or business affairs of particular persons."
            )
        )
    else:
        main.extend(risk_blocks)
    main += [
        Heading(h.equality, 1),
        *_equality(framework, key),
        Heading(h.climate, 1),
        Paragraph(details.climate_change.strip() or to_complete),
        Heading(h.finance_comments, 1),
        Paragraph(details.finance_comments.strip() or to_complete),
        Heading(h.monitoring_comments, 1),
        Paragraph(details.monitoring_comments.strip() or to_complete),
        Heading(h.background_documents, 1),
        _framework_document(framework, details.framework_url),
        Heading(h.appendices, 1),
        BulletList(tuple(appendices)) if appendices else Paragraph("None."),
    ]
    sections.append(Section(tuple(main)))
    if details.confidential_risk:
        sections.append(
            Section(
                (Heading("Appendix 1: Risks and the partners' financial stability", 1), *risk_blocks),
                confidential=EXEMPT_MARKING,
            )
        )
    title = cabinet_title(council, year)
    return Document(
        title=title,
        subtitle=f"{council.label}, {executive}",
        properties=Properties(
            title=title,
            author=author,
            subject=f"Annual update to {council.label}'s {executive} on key contracts and partnerships, "
            f"{year.label}",
            keywords=("key contracts", "partnerships", executive, year.label),
        ),
        sections=tuple(sections),
    )


def day_or(value: date | None, otherwise: str) -> str:
    return otherwise if value is None else format_uk_date(value)


def _priorities(
    framework: FrameworkVersion, council: Council, year: FinancialYear, key: Sequence[ArrangementFile]
) -> list[Block]:
    priorities = framework.priorities_for(council, year.start_year)
    rows = []
    for priority in priorities:
        serving = [
            f.arrangement.reference or "" for f in key if priority in f.arrangement.corporate_priorities
        ]
        rows.append((priority, ", ".join(serving) or "None recorded"))
    return [
        Paragraph(
            "The key contracts and partnerships contribute to the council's corporate priorities as follows."
        ),
        Table(
            ("Corporate priority", "Key contracts and partnerships"),
            tuple(rows),
            "Corporate priorities served",
            widths=(3, 2),
        ),
    ]


def _performance(key: Sequence[ArrangementFile], year_end: Period) -> list[Block]:
    if not key:
        return [Paragraph("There are no key contracts or partnerships.")]
    blocks: list[Block] = [
        Table(
            ("Reference", "Title", "Partner or supplier", "Performance RAG rating"),
            tuple(
                (
                    f.arrangement.reference or "",
                    f.arrangement.title,
                    f.arrangement.partner,
                    rag_word(update_for(f.updates, year_end.label)),
                )
                for f in key
            ),
            "Performance RAG rating of each key contract and partnership at the end of "
            + year_end.year.label,
            widths=(2, 3, 3, 2),
        )
    ]
    for file in key:
        a = file.arrangement
        name = heading_name(a)
        update = update_for(file.updates, year_end.label)
        blocks.append(Heading(name, 2))
        blocks.append(particulars_table(a, [("Performance RAG rating", rag_word(update))]))
        if update is None:
            blocks.append(Paragraph(f"The year-end update for {year_end.label} has not been submitted."))
            continue
        if update.annual is not None:
            blocks.append(
                Paragraph(update.annual.performance_against_targets, label="Against the year's targets: ")
            )
        if update.kpis:
            blocks.append(kpi_table(update, name))
        if update.achievements:
            blocks.append(Paragraph(update.achievements, label="Achievements: "))
    return blocks


def _objectives(key: Sequence[ArrangementFile], year_end: Period, current: FinancialYear) -> list[Block]:
    blocks: list[Block] = []
    for file in key:
        update = update_for(file.updates, year_end.label)
        objectives = update.annual.objectives if update and update.annual else ()
        blocks.append(Heading(f"{heading_name(file.arrangement)}: objectives for {current.label}", 2))
        blocks.append(BulletList(objectives) if objectives else Paragraph("No objectives have been set yet."))
    return blocks or [Paragraph("There are no key contracts or partnerships.")]


def _risks(key: Sequence[ArrangementFile], year_end: Period) -> list[Block]:
    blocks: list[Block] = [
        Paragraph(
            "Each key contract and partnership's risks with their trend since the last update, and the "
            "partner's financial stability, as reported at the end of the year."
        )
    ]
    for file in key:
        update = update_for(file.updates, year_end.label) or (file.updates[-1] if file.updates else None)
        name = heading_name(file.arrangement)
        blocks.append(Heading(f"Risks of {name}", 2))
        if update is None:
            blocks.append(Paragraph("No update has been submitted."))
        else:
            blocks.append(risk_table(update, name))
    return blocks


def _equality(framework: FrameworkVersion, key: Sequence[ArrangementFile]) -> list[Block]:
    area = framework.governance_area("equality_diversity")
    rows = []
    for file in key:
        review = file.latest_governance
        if review is None:
            rows.append((heading_name(file.arrangement), "Self-assessment not completed", ""))
            continue
        answer = review.answer(area.key)
        plan = ""
        if answer.in_place is InPlace.NO:
            plan = f"{answer.plan} (by {day_or(answer.target_date, 'no date')})"
        rows.append((heading_name(file.arrangement), answer.in_place.label, plan))
    return [
        Paragraph(f"The governance self-assessment asks: {area.question}"),
        Table(
            ("Key contract or partnership", "In place", "Plan where not in place"),
            tuple(rows),
            "Equality and diversity in each key contract and partnership",
            widths=(3, 1, 3),
        )
        if rows
        else Paragraph("There are no key contracts or partnerships."),
    ]


def _framework_document(framework: FrameworkVersion, url: str) -> Block:
    name = f"{framework.title}, approved {format_uk_date(framework.approved)}"
    if url.strip():
        return Link(name, url.strip(), before="")
    return Paragraph(name)
