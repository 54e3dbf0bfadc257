"""The Appendix A pack for one arrangement: the criteria matrix and the governance self-assessment, laid out
as in the framework's Appendix A, with the answers, reasons, plans and dates the officer submits to T&P."""

from __future__ import annotations

from datetime import date

from kcpf.errors import InvalidInput
from kcpf.framework import AreaSource, FrameworkVersion
from kcpf.governance import GovernanceReview, InPlace
from kcpf.parsing import format_uk_date
from kcpf.reports.common import day, heading_name, officer, particulars_table
from kcpf.reports.content import Block, Document, Heading, Paragraph, Properties, Section, Table
from kcpf.services import ArrangementFile


def pack_title(reference: str) -> str:
    return f"Appendix A: criteria and governance self-assessment, {reference}"


def appendix_a_pack(framework: FrameworkVersion, file: ArrangementFile, today: date, author: str) -> Document:
    a = file.arrangement
    reference = a.reference or ""
    name = heading_name(a)
    first: list[Block] = [
        Paragraph(
            f"Submitted to Transformation and Partnerships by the responsible officer, {officer(a)}, on "
            f"{format_uk_date(today)}."
        ),
        Heading("The contract or partnership", 1),
        particulars_table(a),
    ]
    if a.description:
        first.append(Paragraph(a.description, label="Description: "))
    if a.corporate_priorities:
        first.append(Paragraph("; ".join(a.corporate_priorities), label="Corporate priorities: "))
    criteria: list[Block] = [Heading("Appendix A: criteria", 1)]
    assessment = file.latest_assessment
    if assessment is None:
        criteria.append(Paragraph(f"{reference} has not yet been assessed against the criteria."))
    else:
        guidance = {c.key: c.guidance for c in framework.criteria}
        criteria += [
            Paragraph(
                f"The {len(assessment.answers)} categories of significance that decide whether a contract or "
                f"partnership is key. At least {assessment.key_threshold} must be met."
            ),
            Table(
                ("Criteria", "Yes/No", "Reason"),
                tuple(
                    (
                        f"{crit_name}: {guidance.get(answer.criterion, '')}".rstrip(": "),
                        "Yes" if answer.met else "No",
                        answer.reason or "None given",
                    )
                    for answer, crit_name in zip(assessment.answers, assessment.criterion_names, strict=True)
                ),
                f"Appendix A criteria for {name}",
                widths=(5, 1, 4),
            ),
            Paragraph(assessment.explanation + ".", label="Result: "),
            Paragraph(
                f"Framework {assessment.framework_version}; assessed by {assessment.assessed_by} on "
                f"{format_uk_date(assessment.assessed_at.date())}.",
                label="Assessed: ",
            ),
        ]
    governance: list[Block] = [Heading("Governance self-assessment", 1)]
    review = file.latest_governance
    if review is None:
        governance.append(Paragraph(f"The governance self-assessment of {reference} has not been completed."))
    else:
        governance += [
            Paragraph(
                f"Completed by {review.completed_by} on {format_uk_date(review.completed_at.date())} "
                f"(framework {review.framework_version}). Where an area is not in place, the table gives "
                "the plan "
                "to put it in place and its target date."
            ),
            Heading("Appendix A governance areas", 2),
            _governance_table(framework, review, AreaSource.APPENDIX_A, name),
            Heading("Further governance areas (step 4 of the framework)", 2),
            _governance_table(framework, review, AreaSource.STEP_4, name),
        ]
    title = pack_title(reference)
    return Document(
        title=title,
        subtitle=name,
        properties=Properties(
            title=title,
            author=author,
            subject=f"Appendix A criteria and governance self-assessment for {name}",
            keywords=("Appendix A", "key contracts", "partnerships", reference),
        ),
        sections=(Section(tuple(first)), Section(tuple(criteria + governance), landscape=True)),
    )


def _governance_table(
    framework: FrameworkVersion, review: GovernanceReview, source: AreaSource, name: str
) -> Table:
    rows = []
    for area in framework.governance_areas:
        if area.source is not source:
            continue
        try:
            answer = review.answer(area.key)
        except InvalidInput:  # an area added by a later framework version than the review's
            rows.append((f"{area.name}: {area.question}", "Not asked", "", ""))
            continue
        if answer.in_place is InPlace.NO:
            rows.append((f"{area.name}: {area.question}", "No", answer.plan, day(answer.target_date)))
        else:
            rows.append((f"{area.name}: {area.question}", answer.in_place.label, answer.note, ""))
    return Table(
        ("Governance area", "Yes/No", "Where not in place: the plan to put it in place", "Target date"),
        tuple(rows),
        f"{'Appendix A' if source is AreaSource.APPENDIX_A else 'Further'} governance areas for {name}",
        widths=(5, 1, 4, 2),
    )
