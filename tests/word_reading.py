"""Reading a generated Word document back with python-docx, as the tests check it."""

from __future__ import annotations

import io
from dataclasses import dataclass

import docx
from docx.document import Document as WordDocument
from docx.oxml.ns import qn
from docx.table import Table as WordTable
from docx.text.paragraph import Paragraph as WordParagraph


def open_docx(content: bytes) -> WordDocument:
    return docx.Document(io.BytesIO(content))


@dataclass(frozen=True)
class Item:
    """A paragraph (style, text) or a table (rows of cell texts), in document order."""

    style: str
    text: str
    rows: tuple[tuple[str, ...], ...] = ()


def items(document: WordDocument) -> list[Item]:
    found: list[Item] = []
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            p = WordParagraph(child, document._body)
            found.append(Item(p.style.name if p.style is not None else "", p.text))
        elif child.tag == qn("w:tbl"):
            table = WordTable(child, document._body)
            rows = tuple(tuple(cell.text for cell in row.cells) for row in table.rows)
            found.append(Item("table", "", rows))
    return found


def all_text(document: WordDocument) -> str:
    lines: list[str] = []
    for item in items(document):
        if item.style == "table":
            lines.extend(" | ".join(row) for row in item.rows)
        else:
            lines.append(item.text)
    return "\n".join(lines)


def headings(document: WordDocument) -> list[tuple[int, str]]:
    """(0, title) for the Title, (n, text) for Heading n."""
    found: list[tuple[int, str]] = []
    for item in items(document):
        if item.style == "Title":
            found.append((0, item.text))
        elif item.style.startswith("Heading "):
            found.append((int(item.style.split()[1]), item.text))
    return found


def tables(document: WordDocument) -> list[tuple[tuple[str, ...], ...]]:
    return [item.rows for item in items(document) if item.style == "table"]


def table_after(document: WordDocument, heading: str) -> tuple[tuple[str, ...], ...]:
    """The first table after the heading with this text."""
    seen = False
    for item in items(document):
        if item.style.startswith("Heading") and item.text == heading:
            seen = True
        elif seen and item.style == "table":
            return item.rows
    raise AssertionError(f"no table after “{heading}”")


def section_text(document: WordDocument, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    found = items(document)
    for index, item in enumerate(found):
        if item.style.startswith("Heading") and item.text == heading:
            level = int(item.style.split()[1])
            lines: list[str] = []
            for following in found[index + 1 :]:
                if following.style.startswith("Heading ") and int(following.style.split()[1]) <= level:
                    break
                if following.style == "table":
                    lines.extend(" | ".join(row) for row in following.rows)
                else:
                    lines.append(following.text)
            return "\n".join(lines)
    raise AssertionError(f"no heading “{heading}”")


def pairs(rows: tuple[tuple[str, ...], ...]) -> dict[str, str]:
    """A two-column table's rows below its header, as a mapping of the first column to the second."""
    return {row[0]: row[1] for row in rows[1:]}
