"""A report as plain data: what it says and how it is structured, with nothing about how Word draws it.

The renderer turns it into a document; tests read the rendered document back against the register.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from kcpf.errors import InvalidInput
from kcpf.wording import plural


@dataclass(frozen=True)
class Heading:
    """Level 1 to 3 under the document's title; the builders never skip a level."""

    text: str
    level: int

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise InvalidInput("A heading needs text.")
        if not 1 <= self.level <= 3:
            raise InvalidInput(f"Headings are level 1 to 3, not {self.level}.")


@dataclass(frozen=True)
class Paragraph:
    """Text, optionally led by a bold label ("Responsible officer: ")."""

    text: str
    label: str = ""


@dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table whose first row is the header row, repeated on every page; `caption` describes it for screen
    readers; `widths` are the columns' relative widths (equal when not given)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str
    widths: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.header or any(not h.strip() for h in self.header):
            raise InvalidInput("Every column of a table needs a header.")
        if self.widths and (len(self.widths) != len(self.header) or min(self.widths) < 1):
            raise InvalidInput(f"“{self.caption}” needs a positive width for each of its columns.")
        for row in self.rows:
            if len(row) != len(self.header):
                raise InvalidInput(
                    f"A row of “{self.caption}” has {plural(len(row), 'cell')} for "
                    f"{len(self.header)} columns."
                )


@dataclass(frozen=True)
class Chart:
    """A bar chart: each bar a (label, value). The alt text says what the chart shows, figures included."""

    title: str
    alt_text: str
    bars: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        if not self.alt_text.strip():
            raise InvalidInput("Every chart needs alt text.")


@dataclass(frozen=True)
class Link:
    """A hyperlink whose text says where it goes (never "click here")."""

    text: str
    url: str
    before: str = ""

    def __post_init__(self) -> None:
        if self.text.strip().lower() in {"", "here", "click here", "link", "this link", "more"}:
            raise InvalidInput(f"A link needs text that says where it goes, not “{self.text}”.")
        # Reports are published: only web addresses, never script or local file links.
        if not re.fullmatch(r"https?://[^\s/?#]+\S*", self.url.strip()):
            raise InvalidInput(
                f"“{self.url}” is not a web address: links in reports must start with https:// or http://.",
                field="url",
            )


Block = Heading | Paragraph | BulletList | Table | Chart | Link


@dataclass(frozen=True)
class Section:
    """A run of blocks on its own pages. `landscape` for wide tables; `confidential` is the marking of an
    exempt (not for publication) appendix, printed at the top of each of its pages."""

    blocks: tuple[Block, ...]
    landscape: bool = False
    confidential: str = ""


@dataclass(frozen=True)
class Properties:
    """The document's properties (File > Info in Word)."""

    title: str
    author: str
    subject: str
    keywords: tuple[str, ...] = ()
    created: datetime | None = None


@dataclass(frozen=True)
class Document:
    title: str
    properties: Properties
    sections: tuple[Section, ...]
    subtitle: str = ""

    def blocks(self) -> tuple[Block, ...]:
        return tuple(block for section in self.sections for block in section.blocks)

    def headings(self) -> tuple[Heading, ...]:
        return tuple(b for b in self.blocks() if isinstance(b, Heading))
