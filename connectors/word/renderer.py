"""Renders a report's content (kcpf.reports.content) to a Word document with python-docx.

Structure for accessibility: the Title style, then Heading 1 to 3 in order; tables with a marked, repeating
header row and a caption; pictures with alt text; RAG ratings as words. A4, en-GB, page numbers in the
footer, the document's properties filled in.
"""

from __future__ import annotations

import copy
import io
import re
import typing
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from docx.document import Document as WordDocument
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section as WordSection
from docx.shared import Cm

from connectors.word.chart import bar_chart_png
from connectors.word.template import default_template, open_template
from kcpf.reports.content import (
    Block,
    BulletList,
    Chart,
    Document,
    Heading,
    Link,
    Paragraph,
    Section,
    Table,
)

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
LANGUAGE = "en-GB"
# A4 in twentieths of a point, and the margins the default template uses (2 cm).
A4_SHORT, A4_LONG = 11906, 16838
MARGIN = 1134
_W = nsdecls("w")


class WordRenderer:
    """`template` is a .docx (already checked with `open_template`); the shipped default if None."""

    media_type = DOCX_MEDIA_TYPE
    extension = "docx"

    def __init__(self, template: bytes | None = None, *, template_name: str = "the report template") -> None:
        self.template = template if template is not None else default_template()
        self.template_name = template_name
        open_template(self.template, template_name)

    def render(self, document: Document) -> bytes:
        word = open_template(self.template, self.template_name)
        _Writer(word).write(document)
        buffer = io.BytesIO()
        word.save(buffer)
        return buffer.getvalue()


class _Writer:
    def __init__(self, word: WordDocument) -> None:
        self.word = word
        self.body = word.element.body
        self.final = self.body.get_or_add_sectPr()
        self.styles = {s.name: s.style_id for s in word.styles if s.name is not None}
        for child in list(self.body):
            if child is not self.final:
                self.body.remove(child)
        self.base_section = copy.deepcopy(self.final)
        self.text_width = self._text_width(landscape=False)

    def write(self, document: Document) -> None:
        self._language()
        self._properties(document)
        self._paragraph(document.title, "Title")
        if document.subtitle:
            self._paragraph(document.subtitle, "Normal")
        sections = document.sections or (Section(()),)
        for index, section in enumerate(sections):
            self.text_width = self._text_width(landscape=section.landscape)
            for block in section.blocks:
                self._block(block)
            properties = self._section_properties(section)
            if index < len(sections) - 1:
                p = self._add(OxmlElement("w:p"))
                p.append(_el("w:pPr", properties))
            else:
                self.body.replace(self.final, properties)
                self.final = properties
        self._headers_and_footers(sections)

    # Blocks.

    def _block(self, block: Block) -> None:
        if isinstance(block, Heading):
            self._paragraph(block.text, f"Heading {block.level}")
        elif isinstance(block, Paragraph):
            self._paragraph(block.text, "Normal", label=block.label)
        elif isinstance(block, BulletList):
            for item in block.items:
                self._paragraph(item, "List Bullet")
        elif isinstance(block, Table):
            self._table(block)
        elif isinstance(block, Chart):
            self._chart(block)
        else:
            self._link(block)

    def _add(self, element: BaseOxmlElement) -> BaseOxmlElement:
        self.final.addprevious(element)
        return element

    def _paragraph(self, text: str, style: str, *, label: str = "") -> BaseOxmlElement:
        return self._add(parse_xml(_paragraph_xml(text, self.styles[style], label=label)))

    def _table(self, table: Table) -> None:
        """Written as XML text and parsed once: building it element by element is ten times slower."""
        columns = len(table.header)
        weights = table.widths or (1,) * columns
        widths = [self.text_width * w // sum(weights) for w in weights]
        caption = _attribute(table.caption)
        parts = [
            f"<w:tbl {_W}><w:tblPr><w:tblStyle w:val={_attribute(self.styles['Table Grid'])}/>"
            f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" '
            'w:firstColumn="1" w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>'
            f"<w:tblCaption w:val={caption}/><w:tblDescription w:val={caption}/></w:tblPr><w:tblGrid>",
            *(f'<w:gridCol w:w="{w}"/>' for w in widths),
            "</w:tblGrid>",
            _row_xml(table.header, widths, header=True),
            *(_row_xml(row, widths, header=False) for row in table.rows),
            "</w:tbl>",
        ]
        self._add(parse_xml("".join(parts)))

    def _chart(self, chart: Chart) -> None:
        self._paragraph(chart.title, "Normal", label="Chart: ")
        picture = io.BytesIO(bar_chart_png(chart.bars))
        paragraph = self.word.add_paragraph()  # python-docx inserts it before the final section properties
        shape = paragraph.add_run().add_picture(picture, width=Cm(15))
        doc_pr = shape._inline.docPr
        doc_pr.set("descr", chart.alt_text)
        doc_pr.set("title", chart.title)

    def _link(self, link: Link) -> None:
        relationship = self.word.part.relate_to(link.url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        p = _paragraph(link.before, self.styles["Normal"])
        hyperlink = _sub(p, "w:hyperlink")
        hyperlink.set(qn("r:id"), relationship)
        run = _sub(hyperlink, "w:r")
        rpr = _sub(run, "w:rPr")
        _sub(rpr, "w:color", val="0563C1")
        _sub(rpr, "w:u", val="single")
        _text(run, link.text)
        self._add(p)

    # Pages.

    def _text_width(self, *, landscape: bool) -> int:
        """The width between the margins, in twentieths of a point, as the template sets the margins."""
        margins = self.base_section.find(qn("w:pgMar"))
        left = int(margins.get(qn("w:left"), MARGIN)) if margins is not None else MARGIN
        right = int(margins.get(qn("w:right"), MARGIN)) if margins is not None else MARGIN
        return (A4_LONG if landscape else A4_SHORT) - left - right

    def _section_properties(self, section: Section) -> BaseOxmlElement:
        sect = copy.deepcopy(self.base_section)
        for child in list(sect):
            if child.tag in (qn("w:headerReference"), qn("w:footerReference")):
                sect.remove(child)
        size = sect.find(qn("w:pgSz"))
        if size is None:
            size = OxmlElement("w:pgSz")
            sect.insert(0, size)
        width, height = (A4_LONG, A4_SHORT) if section.landscape else (A4_SHORT, A4_LONG)
        size.set(qn("w:w"), str(width))
        size.set(qn("w:h"), str(height))
        if section.landscape:
            size.set(qn("w:orient"), "landscape")
        elif qn("w:orient") in size.attrib:
            del size.attrib[qn("w:orient")]
        margins = sect.find(qn("w:pgMar"))
        if margins is None:
            margins = OxmlElement("w:pgMar")
            size.addnext(margins)
            for side in ("top", "right", "bottom", "left"):
                margins.set(qn(f"w:{side}"), str(MARGIN))
            for side in ("header", "footer"):
                margins.set(qn(f"w:{side}"), "567")
            margins.set(qn("w:gutter"), "0")
        return typing.cast(BaseOxmlElement, sect)

    def _headers_and_footers(self, sections: Sequence[Section]) -> None:
        template_header = _template_part(self.base_section, "w:headerReference")
        template_footer = _template_part(self.base_section, "w:footerReference")
        word_sections = list(self.word.sections)
        marked = False
        for content, word_section in zip(sections, word_sections, strict=True):
            if content.confidential:
                header = word_section.header
                header.is_linked_to_previous = False
                header.paragraphs[0].text = content.confidential
                marked = True
            elif template_header is not None:
                _reference(word_section, template_header)
            elif marked:
                word_section.header.is_linked_to_previous = False  # empty, so the marking does not carry on
            if template_footer is not None:
                _reference(word_section, template_footer)
        first = word_sections[0]
        if template_footer is None:
            footer = first.footer
            footer.is_linked_to_previous = False
            p = footer.paragraphs[0]
            _page_numbers(p._p)
        else:
            footer_element = first.footer._element
            if "PAGE" not in "".join(footer_element.itertext()) and not footer_element.xpath(
                ".//w:fldSimple[contains(@w:instr, 'PAGE')] | .//w:instrText[contains(., 'PAGE')]"
            ):
                p = OxmlElement("w:p")
                footer_element.append(p)
                _page_numbers(p)

    # Properties.

    def _properties(self, document: Document) -> None:
        core = self.word.core_properties
        props = document.properties
        core.title = props.title
        core.author = props.author
        core.last_modified_by = props.author
        core.subject = props.subject
        core.keywords = "; ".join(props.keywords)
        core.language = LANGUAGE
        core.comments = ""
        core.category = "Report"
        if props.created is not None:
            core.created = props.created
            core.modified = props.created

    def _language(self) -> None:
        """en-GB for spelling and for screen readers, set as the document default."""
        styles = self.word.styles.element
        defaults = styles.find(qn("w:docDefaults"))
        if defaults is None:
            defaults = OxmlElement("w:docDefaults")
            styles.insert(0, defaults)
        rpr_default = defaults.find(qn("w:rPrDefault"))
        if rpr_default is None:
            rpr_default = OxmlElement("w:rPrDefault")
            defaults.insert(0, rpr_default)
        rpr = rpr_default.find(qn("w:rPr"))
        if rpr is None:
            rpr = _sub(rpr_default, "w:rPr")
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = _sub(rpr, "w:lang")
        lang.set(qn("w:val"), LANGUAGE)
        lang.set(qn("w:eastAsia"), LANGUAGE)
        lang.set(qn("w:bidi"), "ar-SA")
        for style in self.word.styles:  # a template style may name its own language
            for element in style.element.iter(qn("w:lang")):
                element.set(qn("w:val"), LANGUAGE)
        settings = self.word.settings.element
        theme = settings.find(qn("w:themeFontLang"))
        if theme is not None:
            theme.set(qn("w:val"), LANGUAGE)


def _template_part(sect: BaseOxmlElement, tag: str) -> BaseOxmlElement | None:
    for reference in sect.findall(qn(tag)):
        if reference.get(qn("w:type")) == "default":
            return typing.cast(BaseOxmlElement, reference)
    return None


def _reference(section: WordSection, reference: BaseOxmlElement) -> None:
    """Point a section at the template's own header or footer part."""
    sect = section._sectPr
    for existing in sect.findall(reference.tag):
        if existing.get(qn("w:type")) == reference.get(qn("w:type")):
            sect.remove(existing)
    sect.insert(0, copy.deepcopy(reference))


def _el(tag: str, *children: BaseOxmlElement, **attributes: str) -> BaseOxmlElement:
    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(qn(f"w:{name}"), value)
    for child in children:
        element.append(child)
    return element


def _sub(parent: BaseOxmlElement, tag: str, **attributes: str) -> BaseOxmlElement:
    element = _el(tag, **attributes)
    parent.append(element)
    return element


def _text(run: BaseOxmlElement, text: str) -> None:
    t = _sub(run, "w:t")
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    t.text = _clean(text)


# Characters XML 1.0 cannot carry (pasted from other systems now and then).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _attribute(text: str) -> str:
    return quoteattr(_clean(text))


def _run_xml(text: str, *, bold: bool) -> str:
    properties = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f'<w:r>{properties}<w:t xml:space="preserve">{escape(_clean(text))}</w:t></w:r>'


def _paragraph_xml(text: str, style_id: str, *, label: str = "") -> str:
    runs = (_run_xml(label, bold=True) if label else "") + (_run_xml(text, bold=False) if text else "")
    return f"<w:p {_W}><w:pPr><w:pStyle w:val={_attribute(style_id)}/></w:pPr>{runs}</w:p>"


def _paragraph(text: str, style_id: str) -> BaseOxmlElement:
    return parse_xml(_paragraph_xml(text, style_id))


def _row_xml(cells: Sequence[str], widths: Sequence[int], *, header: bool) -> str:
    # The header row repeats at the top of each page and is marked as headers for screen readers.
    parts = ["<w:tr><w:trPr><w:cantSplit/>", "<w:tblHeader/>" if header else "", "</w:trPr>"]
    for cell, width in zip(cells, widths, strict=True):
        parts.append(f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>')
        for line in cell.split("\n"):
            parts.append("<w:p>" + (_run_xml(line, bold=header) if line else "") + "</w:p>")
        parts.append("</w:tc>")
    parts.append("</w:tr>")
    return "".join(parts)


def _page_numbers(p: BaseOxmlElement) -> None:
    """“Page 3 of 12”, from Word's PAGE and NUMPAGES fields."""
    ppr = p.find(qn("w:pPr"))
    if ppr is None:
        ppr = OxmlElement("w:pPr")
        p.insert(0, ppr)
    _sub(ppr, "w:jc", val="center")
    for text, field in (("Page ", "PAGE"), (" of ", "NUMPAGES")):
        run = _sub(p, "w:r")
        _text(run, text)
        simple = _sub(p, "w:fldSimple", instr=f" {field} ")
        _text(_sub(simple, "w:r"), "1")
