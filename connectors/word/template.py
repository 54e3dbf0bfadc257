"""The Word template reports are written from: the shipped default, or a council's own .docx.

`python -m connectors.word OUT.docx` writes the default, for a council to restyle and supply as
KCPF_REPORT_TEMPLATE.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
from docx.document import Document as WordDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.shared import Mm, Pt, RGBColor

from kcpf.errors import InvalidInput

# Every style the renderer uses, with its kind: a template without one cannot make the reports.
REQUIRED_STYLES = {
    "Normal": WD_STYLE_TYPE.PARAGRAPH,
    "Title": WD_STYLE_TYPE.PARAGRAPH,
    "Heading 1": WD_STYLE_TYPE.PARAGRAPH,
    "Heading 2": WD_STYLE_TYPE.PARAGRAPH,
    "Heading 3": WD_STYLE_TYPE.PARAGRAPH,
    "List Bullet": WD_STYLE_TYPE.PARAGRAPH,
    "Table Grid": WD_STYLE_TYPE.TABLE,
}


class TemplateInvalid(InvalidInput):
    """The report template cannot be used; the message names what is wrong (a missing style, say)."""


def default_template() -> bytes:
    """The councils' house style in plain terms: Arial, black headings, A4."""
    document = docx.Document()
    styles = document.styles
    normal = styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(12)
    for name, size in (("Title", 24), ("Heading 1", 16), ("Heading 2", 14), ("Heading 3", 12)):
        style = styles[name]
        style.font.name = "Arial"
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.color.rgb = RGBColor(0, 0, 0)
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    properties = document.core_properties
    properties.author = "Transformation and Partnerships"
    properties.title = "Key contracts and partnerships report"
    properties.language = "en-GB"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def open_template(content: bytes, name: str = "the report template") -> WordDocument:
    """Open a template and check it has every style the reports use."""
    try:
        document = docx.Document(io.BytesIO(content))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise TemplateInvalid(f"{name} is not a Word (.docx) document ({error}).") from None
    check_styles(document, name)
    return document


def check_styles(document: WordDocument, name: str) -> None:
    present = {(s.name, s.type) for s in document.styles}
    missing = [style for style, kind in REQUIRED_STYLES.items() if (style, kind) not in present]
    if missing:
        quoted = ", ".join(f"“{m}”" for m in missing)
        raise TemplateInvalid(
            f"{name} has no {quoted} style{'s' if len(missing) > 1 else ''}, which the reports need. Add "
            f"{'them' if len(missing) > 1 else 'it'} in Word (Styles pane) or start from the default "
            "template "
            "(python -m connectors.word OUT.docx)."
        )


def load_template(path: Path) -> bytes:
    """A council's template file, checked; errors name the file and what is wrong."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise TemplateInvalid(f"Cannot read the report template {path} ({error.strerror}).") from None
    open_template(content, f"The report template {path}")
    return content
