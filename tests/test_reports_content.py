"""Each report, rendered to Word and read back with python-docx, says what the register says: names, counts,
RAG words, money and dates, in the sections the framework asks for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from docx.document import Document as WordDocument

from kcpf.calendar import FinancialYear, Period
from kcpf.errors import InvalidInput, NotPermitted
from kcpf.framework import FRAMEWORK_2025
from kcpf.model import KEY_STATUSES, Council
from kcpf.parsing import format_money, format_uk_date
from kcpf.reports.cabinet import EXEMPT_MARKING, CabinetDetails, CommitteeHeadings
from kcpf.reports.service import CabinetReport, PackReport, SmtReport
from tests.report_register import H1, JO, SAM, SMT, TODAY, TP, VIEWER, Built, built
from tests.word_reading import all_text, headings, open_docx, pairs, section_text, table_after, tables

YEAR = FinancialYear(2025)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    with built(tmp_path_factory.mktemp("reports")) as world:
        yield world


@pytest.fixture(scope="module")
def smt(world: Built) -> WordDocument:
    return open_docx(world.reports.render(TP, SmtReport(H1)).content)


def cabinet(world: Built, council: Council, **details: object) -> WordDocument:
    request = CabinetReport(council, YEAR, CabinetDetails(**details))  # type: ignore[arg-type]
    return open_docx(world.reports.render(TP, request).content)


def name(world: Built, reference: str) -> str:
    a = world.kcpf.register.get(reference)
    return f"{a.reference} {a.title}"


# The update to SMT.


def test_smt_summary_counts_agree_with_the_register(world: Built, smt: WordDocument) -> None:
    key = [a for a in world.kcpf.arrangements() if a.status in KEY_STATUSES]
    rag = {u.reference: u.performance.label for u in world.kcpf.register.monitoring_updates(period=H1.label)}
    expected = Counter(rag.get(a.reference or "", "No update") for a in key)
    rows = table_after(smt, "Performance by RAG rating")
    assert rows[0] == ("Performance RAG rating", "Number of key contracts and partnerships")
    assert pairs(rows) == {w: str(expected.get(w, 0)) for w in ("Green", "Amber", "Red", "No update")}
    assert expected == Counter({"Amber": 1, "Red": 1, "No update": 1})  # the sample's own shape
    assert f"There are {len(key)} key contracts and partnerships" in all_text(smt)
    statuses = pairs(table_after(smt, "By status"))
    assert sum(int(n) for n in statuses.values()) == len(key)


def test_smt_has_a_section_per_council_and_shared_arrangements_once(world: Built, smt: WordDocument) -> None:
    s = world.sample
    level_one = [text for level, text in headings(smt) if level == 1]
    assert level_one == [
        "Summary",
        "Chorley Council: key contracts and partnerships",
        "South Ribble Borough Council: key contracts and partnerships",
        "Shared key contracts and partnerships",
        "New contracts and partnerships proposed as key",
        "Ending or due for re-procurement in the next 12 months",
        "Updates overdue, by officer",
    ]
    level_two = [text for level, text in headings(smt) if level == 2]
    for reference in (s.leisure, s.waste, s.safety, s.cctv):
        assert level_two.count(name(world, reference)) == 1
    assert name(world, s.leisure) in section_text(smt, "Shared key contracts and partnerships")
    assert name(world, s.leisure) not in section_text(smt, "Chorley Council: key contracts and partnerships")
    assert "Parks maintenance" not in all_text(smt)


def test_smt_shows_each_key_arrangement_as_recorded(world: Built, smt: WordDocument) -> None:
    for reference in (world.sample.leisure, world.sample.waste):
        file = world.kcpf.file(reference)
        a = file.arrangement
        assert a.annual_value is not None
        assert a.end_date is not None
        assert a.responsible_officer is not None
        particulars = pairs(table_after(smt, name(world, reference)))
        assert particulars["Partner or supplier"] == a.partner
        assert (
            particulars["Responsible officer"]
            == f"{a.responsible_officer.name} ({a.responsible_officer.email})"
        )
        assert particulars["Annual value"] == format_money(a.annual_value)
        assert particulars["End date"] == format_uk_date(a.end_date)
        update = next(u for u in file.updates if u.period == H1.label)
        assert particulars["Performance RAG rating"] == update.performance.label
        text = section_text(smt, name(world, reference))
        assert f"Issues escalated for SMT: {update.issues_to_escalate}" in text
        assert f"Achievements: {update.achievements}" in text
        risks = table_after(smt, f"Risks of {reference}")
        assert risks[-1] == (
            f"The partner's financial stability: {update.financial_stability.description}",
            update.financial_stability.rating.label,
            update.financial_stability.trend.label,
        )
        assert len(risks) == 1 + len(update.risks) + 1
    leisure = pairs(table_after(smt, name(world, world.sample.leisure)))
    assert leisure["Annual value"] == "£1,250,000"
    assert leisure["Term"] == "1 April 2024 to 31 March 2034 (10 years)"
    kpis = table_after(smt, f"Performance of {world.sample.leisure}")
    assert kpis == (
        ("KPI", "Target", "Actual", "RAG"),
        ("Visits", "200,000", "194,000", "Amber"),
        ("Satisfaction", "85%", "90%", "Green"),
    )
    gaps = table_after(smt, f"Governance of {world.sample.waste}")
    assert gaps[1] == ("Business continuity arrangements", "Test the depot continuity plan", "31 March 2026")
    safety = section_text(smt, name(world, world.sample.safety))
    assert "No update has been submitted for 2026/27-H1." in safety
    assert "No governance gaps are open." in safety
    assert "£150,000.50" in safety


def test_smt_lists_proposals_with_their_appendix_a_results(world: Built, smt: WordDocument) -> None:
    cctv = world.kcpf.file(world.sample.cctv)
    assessment = cctv.latest_assessment
    assert assessment is not None
    text = section_text(smt, name(world, world.sample.cctv))
    assert f"Result: {assessment.explanation}" in text
    criteria = next(t for t in tables(smt) if t[0] == ("Criterion", "Met", "Reason"))
    assert [(row[0], row[1]) for row in criteria[1:]] == [
        (c.name, "Yes" if assessment.answer(c.key).met else "No") for c in FRAMEWORK_2025.criteria
    ]


def test_smt_lists_what_ends_in_the_next_12_months(world: Built, smt: WordDocument) -> None:
    rows = table_after(smt, "Ending or due for re-procurement in the next 12 months")
    assert [row[0] for row in rows[1:]] == [world.sample.waste]
    assert rows[1][5] == "31 March 2027"
    assert rows[1][7] == "6 months"
    assert "between 20 November 2026 and 20 November 2027" in section_text(
        smt, "Ending or due for re-procurement in the next 12 months"
    )


def test_smt_lists_overdue_updates_by_officer(world: Built, smt: WordDocument) -> None:
    owed = [o for o in world.kcpf.due(TODAY) if o.overdue]
    text = section_text(smt, "Updates overdue, by officer")
    assert len(owed) == 2
    for o in owed:
        assert f"{o.reference} {o.title}: {o.what}, due {format_uk_date(o.due_date)}" in text
    assert [h for level, h in headings(smt) if level == 2][-2:] == [
        "Jo Bloggs (jo.bloggs@chorley.gov.uk)",
        "Sam Smith (sam.smith@southribble.gov.uk)",
    ]


# The annual update to an executive.


def test_cabinet_is_a_committee_report_with_the_councils_headings(world: Built) -> None:
    report = cabinet(world, Council.CHORLEY, meeting_date=date(2026, 7, 15))
    level_one = [text for level, text in headings(report) if level == 1]
    h = CommitteeHeadings()
    assert level_one == [
        h.purpose, h.recommendations, h.reasons, h.other_options, h.corporate_priorities, h.background,
        h.performance, h.objectives, h.risk, h.equality, h.climate, h.finance_comments, h.monitoring_comments,
        h.background_documents, h.appendices,
    ]  # fmt: skip
    assert tables(report)[0] == (
        ("Report of", "Meeting", "Date"),
        ("To be completed before publication.", "Executive Cabinet", "15 July 2026"),
    )
    assert headings(report)[0] == (
        0,
        "Key contracts and partnerships: annual update to Executive Cabinet, 2025/26",
    )
    assert "To be completed before publication." in section_text(report, h.finance_comments)


def test_cabinet_reports_the_councils_own_and_shared_arrangements(world: Built) -> None:
    s = world.sample
    chorley = cabinet(world, Council.CHORLEY)
    performance = table_after(chorley, CommitteeHeadings().performance)
    assert [(r[0], r[3]) for r in performance[1:]] == [(s.leisure, "Green"), (s.waste, "Amber")]
    south_ribble = cabinet(world, Council.SOUTH_RIBBLE)
    assert headings(south_ribble)[0][1].endswith("annual update to Cabinet, 2025/26")
    rows = table_after(south_ribble, CommitteeHeadings().performance)
    assert [r[0] for r in rows[1:]] == [s.leisure, s.safety]
    text = all_text(chorley)
    assert "Visits 3% above target" in text
    assert "Missed bins 6% above target" in text
    objectives = section_text(chorley, f"{name(world, s.leisure)}: objectives for 2026/27")
    assert objectives.splitlines() == ["Extend opening hours", "Open a new climbing wall"]
    priorities = pairs(table_after(chorley, CommitteeHeadings().corporate_priorities))
    assert priorities["A green and sustainable borough"] == s.waste
    assert priorities["Healthy, safe and engaged communities"] == s.leisure
    equality = table_after(chorley, CommitteeHeadings().equality)
    assert [r[1] for r in equality[1:]] == ["Yes", "Yes"]


def test_cabinet_can_put_risk_in_a_confidential_appendix(world: Built) -> None:
    report = cabinet(world, Council.CHORLEY, confidential_risk=True)
    risk = section_text(report, "Risk")
    assert "Appendix 1" in risk
    assert "Energy prices" not in risk
    assert "financial stability:" not in risk
    appendix = section_text(report, "Appendix 1: Risks and the partners' financial stability")
    # The year-end (2025/26-H2) update's risks: the year reported, not the half-year since.
    assert "Energy prices | Amber | Improving" in appendix
    assert (
        "The partner's financial stability: Accounts filed on time; no concerns | Green | Stable" in appendix
    )
    assert "Reserves down by a third" not in appendix
    marked = [s for s in report.sections if s.header.paragraphs and s.header.paragraphs[0].text]
    assert [s.header.paragraphs[0].text for s in marked] == [EXEMPT_MARKING]
    assert report.sections[-1].header.paragraphs[0].text == EXEMPT_MARKING
    assert report.sections[0].header.paragraphs[0].text == ""
    assert "Appendix 1: Risks and the partners' financial stability (confidential)" in section_text(
        report, "Appendices"
    )
    open_risk = cabinet(world, Council.CHORLEY)
    assert "Energy prices | Amber | Improving" in section_text(open_risk, "Risk")
    assert all(not s.header.paragraphs[0].text for s in open_risk.sections)


def test_committee_headings_are_configurable(tmp_path: Path) -> None:
    custom = CommitteeHeadings(purpose="Purpose of Report", background="Background")
    with built(tmp_path, headings={Council.SOUTH_RIBBLE: custom}) as world:
        sr = cabinet(world, Council.SOUTH_RIBBLE)
        chorley = cabinet(world, Council.CHORLEY)
    assert "Purpose of Report" in [t for _, t in headings(sr)]
    assert "Background" in [t for _, t in headings(sr)]
    assert "Purpose of the report" in [t for _, t in headings(chorley)]
    with pytest.raises(InvalidInput, match="cannot be empty: risk"):
        CommitteeHeadings(risk=" ")


def test_cabinet_is_for_one_council(world: Built) -> None:
    with pytest.raises(InvalidInput, match="one council's executive"):
        world.reports.render(TP, CabinetReport(Council.SHARED, YEAR))


def test_framework_link_has_meaningful_text(world: Built) -> None:
    report = cabinet(world, Council.CHORLEY, framework_url="https://democracy.chorley.gov.uk/framework.pdf")
    links = report.element.body.xpath(".//w:hyperlink")
    assert len(links) == 1
    text = "".join(links[0].itertext())
    assert text.startswith("Key Contracts and Partnerships Framework")
    target = report.part.rels[
        links[0].get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
    ]
    assert target.target_ref == "https://democracy.chorley.gov.uk/framework.pdf"


# The Appendix A pack.


def test_pack_lays_out_appendix_a_with_the_answers(world: Built) -> None:
    reference = world.sample.leisure
    report = open_docx(world.reports.render(JO, PackReport(reference)).content)
    file = world.kcpf.file(reference)
    assessment, review = file.latest_assessment, file.latest_governance
    assert assessment is not None
    assert review is not None
    criteria = table_after(report, "Appendix A: criteria")
    assert criteria[0] == ("Criteria", "Yes/No", "Reason")
    for row, c in zip(criteria[1:], FRAMEWORK_2025.criteria, strict=True):
        answer = assessment.answer(c.key)
        assert row == (f"{c.name}: {c.guidance}", "Yes" if answer.met else "No", answer.reason)
    assert f"Result: {assessment.explanation}." in all_text(report)
    governance = table_after(report, "Appendix A governance areas")
    by_area = {row[0].split(":")[0]: row[1:] for row in governance[1:]}
    assert by_area["Data sharing agreement"][0] == "Not applicable"
    assert by_area["Memorandum of understanding"][0] == "Yes"
    further = {
        row[0].split(":")[0]: row[1:]
        for row in table_after(report, "Further governance areas (step 4 of the framework)")[1:]
    }
    assert further["Exit strategy"] == ("No", "Draft an exit plan with the partner", "31 December 2026")
    assert len(governance) - 1 + len(further) == len(FRAMEWORK_2025.governance_areas)
    assert "Submitted to Transformation and Partnerships by the responsible officer, Jo Bloggs" in all_text(
        report
    )


# Who may produce which report.


def test_only_tp_produces_the_smt_and_executive_updates(world: Built) -> None:
    for actor in (JO, SMT):
        with pytest.raises(NotPermitted, match="Only Transformation and Partnerships produces"):
            world.reports.produce(actor, SmtReport(H1))
        with pytest.raises(NotPermitted, match="Only Transformation and Partnerships produces"):
            world.reports.produce(actor, CabinetReport(Council.CHORLEY, YEAR))
    with pytest.raises(NotPermitted, match="read-only"):
        world.reports.produce(VIEWER, SmtReport(H1))


def test_an_officer_produces_the_pack_of_their_own_arrangement_only(world: Built) -> None:
    produced = world.reports.produce(JO, PackReport(world.sample.leisure))
    assert produced.name == "appendix-a-kcp-0001.docx"
    assert Path(produced.location) == world.folder.directory / produced.name
    assert Path(produced.location).read_bytes()[:2] == b"PK"
    with pytest.raises(NotPermitted, match="responsible officer"):
        world.reports.produce(SAM, PackReport(world.sample.leisure))
    assert world.reports.produce(TP, PackReport(world.sample.safety)).name == "appendix-a-kcp-0003.docx"


def test_report_names_are_stable(world: Built) -> None:
    assert (
        world.reports.produce(TP, SmtReport(Period.parse("2026/27-H1"))).name == "smt-update-2026-27-h1.docx"
    )
    assert (
        world.reports.produce(TP, CabinetReport(Council.SOUTH_RIBBLE, YEAR)).name
        == "south-ribble-cabinet-2025-26.docx"
    )
