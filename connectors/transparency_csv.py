"""Reading and writing contract registers as CSV files, the way councils publish them and Excel saves them.

`read_csv` copes with what Excel and council web teams produce: UTF-8 with or without a byte order mark,
Windows-1252 ("ANSI", as Excel's plain "CSV" saves a £), UTF-16 ("Unicode text"), and comma, semicolon or
tab delimiters. What the rows mean is `kcpf.transparency`'s business.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from connectors.files import write_atomically
from kcpf.errors import InvalidInput

DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# Cells a spreadsheet would run as a formula; the export puts an apostrophe in front (the importer drops it).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def decode(data: bytes) -> str:
    """The file's text: UTF-16 or UTF-8 when it says so (a byte order mark) or is valid UTF-8, else
    Windows-1252, the encoding Excel's "CSV (Comma delimited)" uses in the UK."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InvalidInput(
                "The file says it is UTF-16 text but is not. Save it from Excel again as CSV UTF-8."
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: whichever splits the header row into the most cells (comma on a tie)."""
    best, best_count = ",", 0
    for delimiter in DELIMITERS:
        try:
            first = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
        except csv.Error:
            continue
        count = len(first)
        if count > best_count:
            best, best_count = delimiter, count
    return best


def read_csv(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]]]:
    """The header row and the data rows of a CSV file, as text. Raises `InvalidInput` for a file that cannot
    be read, is empty, is a spreadsheet rather than CSV, or has no header row."""
    shown = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidInput(
            f"There is no file {shown}. Check the name and the folder.", field="file"
        ) from None
    except IsADirectoryError:
        raise InvalidInput(f"{shown} is a folder, not a CSV file.", field="file") from None
    except OSError as error:
        raise InvalidInput(f"The file {shown} cannot be read ({error.strerror}).", field="file") from None
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidInput(
            f"{shown} is an Excel workbook, not a CSV file. In Excel choose File, Save As, "
            "“CSV UTF-8 (Comma delimited)”, and import the file that saves.",
            field="file",
        )
    text = decode(data)
    if b"\x00" in data and "\x00" in text:
        raise InvalidInput(
            f"{shown} is not a text file. Save the register as CSV and import that.", field="file"
        )
    return parse_csv_text(text, name=shown)


def parse_csv_text(text: str, *, name: str = "The file") -> tuple[list[str], list[list[str]]]:
    """`read_csv` for text already in memory."""
    if not text.strip():
        raise InvalidInput(f"{name} is empty: there is no header row and no data.", field="file")
    delimiter = sniff_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False))
    except csv.Error as error:
        raise InvalidInput(
            f"{name} cannot be read as CSV ({error}). Open it in Excel and save it again as CSV UTF-8.",
            field="file",
        ) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise InvalidInput(
            f"{name} has no header row: its first row is blank. The first row should name the columns "
            "(Title, Supplier Name, Value...); delete any rows above it.",
            field="file",
        )
    headers, rows = records[0], records[1:]
    return headers, rows


def _guard(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def write_csv(
    target: str | os.PathLike[str] | TextIO,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    protect_formulas: bool = True,
) -> None:
    """Write a CSV Excel opens cleanly: UTF-8 with a byte order mark (so £ shows as £) when writing a file,
    Windows line endings, and (unless told not to) an apostrophe before any cell Excel would take for a
    formula. A file is written whole or not at all: a temporary file is renamed into place."""
    guard = _guard if protect_formulas else str

    def write(stream: TextIO) -> None:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow([guard(h) for h in headers])
        writer.writerows([guard(cell) for cell in row] for row in rows)

    if not isinstance(target, str | os.PathLike):
        write(target)
        return
    write_atomically(Path(target), write, encoding="utf-8-sig")
