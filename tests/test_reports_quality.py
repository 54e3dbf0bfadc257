"""What the councils need of every report, checked on the generated .docx: real Word structure (Title and
headings in order, header rows marked and repeated, page numbers, properties, en-GB, A4, landscape where
asked) and accessibility (no skipped or empty headings, alt text on every picture, RAG as words)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from docx.document import Document as WordDocument
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from connectors.word import TemplateInvalid, WordRenderer, default_template, load_template
from kcpf.calendar import FinancialYear
from kcpf.model import Council
from kcpf.reports.cabinet import CabinetDetails
from kcpf.reports.content import Chart, Document, Heading
from kcpf.reports.service import CabinetReport, PackReport, ReportRequest, SmtReport
from tests.report_register import H1, TP, Built, built
from tests.word_reading import open_docx

KINDS: dict[str, ReportRequest] = {
    "smt": SmtReport(H1),
    "cabinet": CabinetReport(Council.CHORLEY, FinancialYear(2025)),
    "cabinet-confidential": CabinetReport(
        Council.SOUTH_RIBBLE, FinancialYear(2025), CabinetDetails(confidential_risk=True)
    ),
    "pack": PackReport("KCP-0001"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    with built(tmp_path_factory.mktemp("quality")) as world:
        yield world


@pytest.fixture(scope="module", params=list(KINDS))
def report(request: pytest.FixtureRequest, world: Built) -> tuple[Document, WordDocument]:
    kind = KINDS[request.param]
    content = world.reports.document(TP, kind)
    return content, open_docx(world.reports.render(TP, kind).content)


def heading_levels(word: WordDocument) -> list[tuple[int, str]]:
    levels = []
    for p in word.paragraphs:
        style = p.style.name if p.style is not None else ""
        if style == "Title":
            levels.append((0, p.text))
        elif style.startswith("Heading"):
            levels.append((int(style.split()[1]), p.text))
    return levels


def test_title_then_headings_in_order_with_no_level_skipped(report: tuple[Document, WordDocument]) -> None:
    _, word = report
    levels = heading_levels(word)
    assert levels[0][0] == 0, "the document starts with its Title"
    assert [level for level, _ in levels].count(0) == 1
    previous = 0
    for level, text in levels[1:]:
        assert level >= 1
        assert level <= previous + 1, f"“{text}” jumps from level {previous} to {level}"
        previous = level


def test_no_empty_headings(report: tuple[Document, WordDocument]) -> None:
    _, word = report
    assert all(text.strip() for _, text in heading_levels(word))


def test_every_table_has_a_marked_repeating_header_row_and_a_caption(
    report: tuple[Document, WordDocument],
) -> None:
    _, word = report
    assert word.tables
    for table in word.tables:
        rows = table._tbl.tr_lst
        first = rows[0].trPr
        assert first is not None
        assert first.find(qn("w:tblHeader")) is not None
        assert all(r.trPr is None or r.trPr.find(qn("w:tblHeader")) is None for r in rows[1:])
        assert all(cell.text.strip() for cell in table.rows[0].cells), "header cells are not empty"
        caption = table._tbl.tblPr.find(qn("w:tblCaption"))
        assert caption is not None
        assert caption.get(qn("w:val")).strip()


def test_every_picture_has_alt_text(report: tuple[Document, WordDocument]) -> None:
    content, word = report
    pictures = word.element.body.xpath(".//wp:docPr")
    assert len(pictures) == sum(1 for b in content.blocks() if isinstance(b, Chart))
    for picture in pictures:
        assert picture.get("descr", "").strip()
        assert picture.get("title", "").strip()


def test_smt_chart_alt_text_gives_the_figures(world: Built) -> None:
    word = open_docx(world.reports.render(TP, SmtReport(H1)).content)
    (picture,) = word.element.body.xpath(".//wp:docPr")
    assert picture.get("descr").endswith("Green 0, Amber 1, Red 1, No update 1.")


def test_rag_is_written_as_a_word_and_never_by_colour_alone(world: Built) -> None:
    word = open_docx(world.reports.render(TP, SmtReport(H1)).content)
    cells = [c.text for t in word.tables for row in t.rows for c in row.cells]
    assert {"Amber", "Red", "Green", "No update"} <= set(cells)
    assert not word.element.body.xpath(".//w:shd[@w:fill]"), "no cell is coloured in place of a word"


def test_properties_language_a4_and_page_numbers(report: tuple[Document, WordDocument]) -> None:
    content, word = report
    core = word.core_properties
    assert core.title == content.properties.title == content.title
    assert core.author == "Transformation and Partnerships"
    assert core.subject == content.properties.subject
    assert core.subject
    assert core.language == "en-GB"
    assert core.created is not None
    assert core.created.date().isoformat() == "2026-11-20"
    lang = word.styles.element.find(qn("w:docDefaults")).find(
        f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}"
    )
    assert lang.get(qn("w:val")) == "en-GB"
    assert len(word.sections) == len(content.sections)
    for section, wanted in zip(word.sections, content.sections, strict=True):
        width, height = section.page_width or 0, section.page_height or 0
        short, long = sorted((width, height))
        assert abs(short - Mm(210)) < Mm(1), "A4"
        assert abs(long - Mm(297)) < Mm(1), "A4"
        landscape = section.orientation == WD_ORIENT.LANDSCAPE
        assert landscape == wanted.landscape
        assert (width > height) == wanted.landscape
    footer = word.sections[0].footer
    assert not footer.is_linked_to_previous
    instructions = [f.get(qn("w:instr")).strip() for f in footer._element.iter(qn("w:fldSimple"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert all(s.footer.is_linked_to_previous for s in word.sections[1:]), "numbering runs through"


def test_wide_tables_are_in_landscape_sections(world: Built) -> None:
    smt = world.reports.document(TP, SmtReport(H1))
    wide = [s for s in smt.sections if s.landscape]
    assert [b.text for s in wide for b in s.blocks if isinstance(b, Heading)] == [
        "Ending or due for re-procurement in the next 12 months"
    ]
    pack = world.reports.document(TP, PackReport("KCP-0001"))
    assert [s.landscape for s in pack.sections] == [False, True]


def test_columns_take_their_share_of_the_page(world: Built) -> None:
    word = open_docx(world.reports.render(TP, PackReport("KCP-0001")).content)
    criteria = next(t for t in word.tables if t.rows[0].cells[0].text == "Criteria")
    widths = [int(col.get(qn("w:w"))) for col in criteria._tbl.tblGrid.findall(qn("w:gridCol"))]
    landscape_text_width = 16838 - 2 * 1134  # A4 landscape less the default template's 2 cm margins
    assert abs(sum(widths) - landscape_text_width) < 10
    assert [round(w / widths[1]) for w in widths] == [5, 1, 4]
    particulars = word.tables[0]
    portrait = [int(col.get(qn("w:w"))) for col in particulars._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert abs(sum(portrait) - (11906 - 2 * 1134)) < 10


# Templates.


def restyled(change: str) -> bytes:
    word = docx.Document(io.BytesIO(default_template()))
    if change == "rename Heading 3":
        word.styles["Heading 3"].name = "Heading Three"
    elif change == "Verdana with a header":
        word.styles["Normal"].font.name = "Verdana"
        word.styles["Normal"].font.size = Pt(11)
        word.sections[0].header.paragraphs[0].text = "Chorley Council"
        word.add_paragraph("Template instructions that must not appear in a report")
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def test_a_template_missing_a_required_style_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "council.docx"
    path.write_bytes(restyled("rename Heading 3"))
    with pytest.raises(TemplateInvalid, match="has no “Heading 3” style"):
        load_template(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(TemplateInvalid, match="is not a Word"):
        load_template(path)
    with pytest.raises(TemplateInvalid, match="Cannot read"):
        load_template(tmp_path / "missing.docx")


def test_a_councils_template_gives_its_styles_and_header(world: Built) -> None:
    renderer = WordRenderer(restyled("Verdana with a header"))
    word = open_docx(renderer.render(world.reports.document(TP, PackReport("KCP-0001"))))
    assert word.styles["Normal"].font.name == "Verdana"
    assert all(s.header.paragraphs[0].text == "Chorley Council" for s in word.sections)
    assert "Template instructions" not in "\n".join(p.text for p in word.paragraphs)
    fields = [f.get(qn("w:instr")).strip() for f in word.sections[0].footer._element.iter(qn("w:fldSimple"))]
    assert "PAGE" in fields
