"""The councils' published contract registers (Local Government Transparency Code 2015): import and export.

Pure: the caller reads the file (`connectors.transparency_csv.read_csv`) and hands in its header row and data
rows as text. The import runs in two steps:

1. `validate_rows(headers, rows, council, mapping)` matches the columns to the Code's fields (header spellings
   vary from council to council), then checks every row and reports every problem with the row number a
   spreadsheet user sees (the header is row 1). Column problems (no title column, say) and a file with no
   contracts below its header raise `InvalidInput`; row problems never raise, they are listed.
2. `plan_import(existing, validated, skip_invalid=...)` says what saving the file would do: which rows are new
   contracts, which update an arrangement already on the register, and how many are unchanged. Importing the
   same file twice plans nothing the second time, and neither does importing a whole-register export (both
   councils) for one council: a row with a KCPF reference updates that arrangement, whichever council it is
   of. The caller saves `plan.arrangements_to_save()` with `Register.save_many`, all or nothing.

`export_rows` writes the register back out in the same layout, which the importer reads back.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from kcpf.errors import InvalidInput
from kcpf.model import Arrangement, ArrangementType, Council, SourceRecord, Status, parse_reference
from kcpf.parsing import PENNY, parse_money, parse_uk_date
from kcpf.wording import plural

# ----------------------------------------------------------------------------------------------------------
# Fields and the header spellings councils use for them
# ----------------------------------------------------------------------------------------------------------

# Each field's headers, the first being the name used in the LGA practitioner's guide and in the export.
FIELD_HEADERS: dict[str, tuple[str, ...]] = {
    "reference": (
        "Reference",
        "Reference Number",
        "Reference No",
        "Ref",
        "Ref No",
        "Contract Reference",
        "Contract Reference Number",
        "Contract Ref",
        "Contract Ref No",
        "Contract ID",
        "Contract Number",
        "Contract No",
        "Unique Reference",
        "Procurement Reference",
    ),
    "title": (
        "Title",
        "Title of agreement",
        "Title of contract",
        "Contract Title",
        "Contract Name",
        "Name of contract",
        "Agreement Title",
        "Contract",
        "Project Title",
    ),
    "department": (
        "Department",
        "Responsible Department",
        "Department Responsible",
        "Local authority department responsible",
        "Service",
        "Service Area",
        "Service Label",
        "Responsible Service",
        "Directorate",
        "Department/Service",
        "Directorate/Service",
        "Business Unit",
    ),
    "description": (
        "Description",
        "Description of goods and services",
        "Description of goods and/or services",
        "Description of the goods or services",
        "Contract Description",
        "Goods/Services",
        "Goods and services",
        "Scope",
    ),
    "supplier_name": (
        "Supplier Name",
        "Supplier",
        "Name of supplier",
        "Supplier name and details",
        "Contractor",
        "Contractor Name",
        "Supplier/Contractor",
        "Provider",
        "Provider Name",
        "Vendor",
        "Vendor Name",
        "Awarded Supplier",
        "Successful Supplier",
    ),
    "supplier_details": (
        "Supplier details",
        "Supplier address",
        "Supplier contact details",
        "Supplier address and contact details",
        "Contractor address",
        "Contractor details",
        "Address",
    ),
    "value": (
        "Value",
        "Contract Value",
        "Total value",
        "Total Contract Value",
        "Value of agreement",
        "Value of contract",
        "Total value of contract",
        "Estimated value",
        "Estimated contract value",
        "Estimated total value",
        "Whole life value",
        "Sum to be paid over the length of the contract",
    ),
    "annual_value": (
        "Annual value",
        "Annual Contract Value",
        "Value per annum",
        "Value pa",
        "Annual spend",
        "Estimated annual value",
        "Estimated annual spending",
        "Estimated annual spend",
        "Annual cost",
        "Yearly value",
        "Annual budget",
    ),
    "irrecoverable_vat": (
        "Irrecoverable VAT",
        "VAT that cannot be recovered",
        "Value Added Tax that cannot be recovered",
        "Non-recoverable VAT",
        "VAT irrecoverable",
        "Irrecoverable VAT amount",
    ),
    "start_date": (
        "Start date",
        "Contract Start Date",
        "Start",
        "Contract Start",
        "Commencement date",
        "Date of commencement",
        "Contract commencement date",
        "Effective date",
    ),
    "end_date": (
        "End date",
        "Contract End Date",
        "Expiry date",
        "Contract Expiry Date",
        "End",
        "Contract End",
        "Expiry",
        "Finish date",
        "Termination date",
    ),
    "review_date": (
        "Review date",
        "Contract Review Date",
        "Date of review",
        "Next review date",
        "Extension date",
        "Extension dates",
        "Review/extension date",
    ),
    "procurement_route": (
        "Procurement route",
        "Whether the contract was the result of an invitation to quote or a published invitation to tender",
        "Procurement process",
        "Procurement method",
        "Procurement procedure",
        "Procurement type",
        "Route to market",
        "Tender process",
        "ITQ/ITT",
        "Invitation to quote or tender",
    ),
    "sme_vcse": (
        "SME/VCSE",
        "Whether or not the supplier is a small or medium sized enterprise and/or a voluntary or community "
        "sector organisation",
        "SME status",
        "SME",
        "SME/VCS",
        "SME or VCSE",
        "SME/VCSE status",
        "VCSE",
        "Is SME",
        "Small or medium sized enterprise",
    ),
    "registration_number": (
        "Registration number",
        "Company number",
        "Charity number",
        "Supplier company registration number",
        "Company registration number",
        "Company/Charity number",
        "Company or charity number",
        "Companies House number",
        "Registered company number",
        "Registered charity number",
        "Supplier registration number",
        "Supplier company number",
        "Supplier charity number",
        "Relevant registered company number or registered charity number",
        "Company reg no",
    ),
}

FIELDS: tuple[str, ...] = tuple(FIELD_HEADERS)
REQUIRED_FIELDS: tuple[str, ...] = ("title", "supplier_name")
VALUE_FIELDS: tuple[str, ...] = ("value", "annual_value")
# `--map "COLUMN=extra"` keeps a column as it is instead of letting it be taken for a field.
EXTRA = "extra"

# KCPF's own columns in the export. On import they are recognised (never stored as extra columns); the KCPF
# reference finds the arrangement the row was exported from (anywhere on the register, whatever council the
# import is for), the others belong to KCPF, not to the file.
KCPF_HEADERS: dict[str, str] = {
    "kcpf_reference": "KCPF reference",
    "kcpf_status": "KCPF status",
    "responsible_officer": "Responsible officer email",
    "council": "Council",
}

EXPORT_COLUMNS: tuple[str, ...] = (
    *(headers[0] for headers in FIELD_HEADERS.values()),
    *KCPF_HEADERS.values(),
)

# The arrangement's fields that an import writes. Everything else (reference, version, council, status,
# responsible officer, priorities, notice period, data sharing...) belongs to the officers and is kept.
IMPORTED_FIELDS: tuple[str, ...] = (
    "title",
    "partner",
    "service",
    "description",
    "annual_value",
    "total_value",
    "start_date",
    "end_date",
    "source",
)

_TEXT_FIELDS = (
    "reference",
    "title",
    "department",
    "description",
    "supplier_name",
    "supplier_details",
    "procurement_route",
    "sme_vcse",
    "registration_number",
)
_MONEY_FIELDS = ("value", "annual_value", "irrecoverable_vat")
_DATE_FIELDS: dict[str, Literal["start", "end"]] = {
    "start_date": "start",
    "end_date": "end",
    "review_date": "start",
}
# Fields written on one line: runs of spaces and line breaks inside them become one space.
_ONE_LINE_FIELDS = frozenset(_TEXT_FIELDS) - {"description", "supplier_details"}

# Cells that mean "not given" in a money or date column.
_NOT_GIVEN = frozenset(
    {
        "-",
        "–",
        "—",
        "n/a",
        "na",
        "n.a",
        "tbc",
        "tba",
        "tbd",
        "not applicable",
        "not known",
        "unknown",
        "none",
        "nil",
        "not stated",
        "ongoing",
        "rolling",
    }
)


def _unescape(text: str) -> str:
    """HTML entities decoded, twice-encoded ones ("&amp;amp;") too."""
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text


def normalise_header(text: str) -> str:
    """A header as compared: entities decoded; case, spaces and punctuation ignored ("contractvalue")."""
    return re.sub(r"[\W_]+", "", _unescape(text).casefold())


def _without_brackets(text: str) -> str:
    """ "Contract Value (£)" and "Value (excluding VAT)" are compared without their bracketed part too."""
    return normalise_header(re.sub(r"\([^()]*\)|\[[^\[\]]*\]", " ", _unescape(text)))


_HEADER_LOOKUP: dict[str, str] = {
    normalise_header(header): name for name, headers in FIELD_HEADERS.items() for header in headers
}
_KCPF_LOOKUP: dict[str, str] = {normalise_header(header): name for name, header in KCPF_HEADERS.items()}


def _recognise(header: str) -> str | None:
    """The field (or KCPF column) a header names, or None."""
    for key in (normalise_header(header), _without_brackets(header)):
        if not key:
            continue
        if key in _KCPF_LOOKUP:
            return _KCPF_LOOKUP[key]
        if key in _HEADER_LOOKUP:
            return _HEADER_LOOKUP[key]
    return None


def _label(field: str) -> str:
    return field.replace("_", " ")


def _quoted(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > 60:
        flat = flat[:57].rstrip() + "..."
    return f"“{flat}”"


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column: 0 is A, 26 is AA."""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


# ----------------------------------------------------------------------------------------------------------
# Matching the columns
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMap:
    """Which column holds which field. Indexes are 0-based positions in the header row."""

    headers: tuple[str, ...]
    fields: tuple[tuple[str, int], ...]
    kcpf: tuple[tuple[str, int], ...] = ()
    extra: tuple[int, ...] = ()

    def index(self, field: str) -> int | None:
        for name, index in (*self.fields, *self.kcpf):
            if name == field:
                return index
        return None

    def column_name(self, index: int) -> str:
        """The header as the file has it, or "column F" for a column without one."""
        header = self.headers[index].strip() if index < len(self.headers) else ""
        return header or f"column {column_letter(index)}"


def parse_map_options(options: Iterable[str]) -> dict[str, str]:
    """`--map` options ("Our Odd Header=title") as a mapping from column to field, for `match_columns`."""
    mapping: dict[str, str] = {}
    for option in options:
        column, equals, field = option.rpartition("=")
        if not equals or not column.strip() or not field.strip():
            raise InvalidInput(
                f"--map {_quoted(option)} should name a column and a field, for example "
                f'--map "Contract Title=title".',
                field="map",
            )
        mapping[column.strip()] = field.strip()
    return mapping


def _valid_fields_text() -> str:
    return ", ".join((*FIELDS, EXTRA))


def _map_field(name: str) -> str:
    key = normalise_header(name)
    for field in (*FIELDS, EXTRA):
        if key in {normalise_header(field), normalise_header(FIELD_HEADERS.get(field, (field,))[0])}:
            return field
    raise InvalidInput(
        f"--map names the field {_quoted(name)}, which KCPF does not know. "
        f"The fields are: {_valid_fields_text()}.",
        field="map",
    )


def _headers_text(headers: Sequence[str]) -> str:
    shown = [_quoted(h) for h in headers if h.strip()]
    return ", ".join(shown) if shown else "none (the first row is blank)"


def match_columns(headers: Sequence[str], mapping: Mapping[str, str] | None = None) -> ColumnMap:
    """Match the header row to the Code's fields; `mapping` ({"Our Odd Header": "title"}) overrides.

    Each field takes the first column that names it; other columns are kept as extra columns. Raises
    `InvalidInput` when a required field has no column, listing the headers found.
    """
    cleaned = tuple(clean_cell(h) for h in headers)
    assigned: dict[str, int] = {}
    taken: set[int] = set()
    forced_extra: set[int] = set()
    for column, field_name in (mapping or {}).items():
        field = _map_field(field_name)
        index = _find_column(cleaned, column)
        if index in taken or index in forced_extra:
            raise InvalidInput(f"--map names the column {_quoted(column)} twice.", field="map")
        if field == EXTRA:
            forced_extra.add(index)
            continue
        if field in assigned:
            raise InvalidInput(
                f"--map gives the field {field} two columns: {_quoted(cleaned[assigned[field]])} and "
                f"{_quoted(cleaned[index])}. Give each field one column.",
                field="map",
            )
        assigned[field] = index
        taken.add(index)
    kcpf: dict[str, int] = {}
    extra: list[int] = []
    for index, header in enumerate(cleaned):
        if index in taken:
            continue
        name = None if index in forced_extra else _recognise(header)
        if name in KCPF_HEADERS and name not in kcpf:
            kcpf[name] = index
        elif name in FIELD_HEADERS and name not in assigned:
            assigned[name] = index
        else:
            extra.append(index)
    missing = [_label(f) for f in REQUIRED_FIELDS if f not in assigned]
    if not any(f in assigned for f in VALUE_FIELDS):
        missing.append("value (or annual value)")
    if missing:
        example = next((f for f in (*REQUIRED_FIELDS, "value") if f not in assigned), "value")
        raise InvalidInput(
            f"The file has no column for the {_join(missing)}. "
            f"The columns found are: {_headers_text(cleaned)}. "
            f'If one of these holds it, say so with --map "COLUMN=field", for example '
            f'--map "{_example_column(cleaned)}={example}".',
            field="map",
        )
    fields = tuple((f, assigned[f]) for f in FIELDS if f in assigned)
    return ColumnMap(cleaned, fields, tuple(kcpf.items()), tuple(sorted(extra)))


def _example_column(headers: Sequence[str]) -> str:
    unknown = [h for h in headers if h and _recognise(h) is None]
    return (unknown or ["COLUMN"])[0].replace('"', "'")


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _find_column(headers: Sequence[str], column: str) -> int:
    wanted = column.strip()
    for index, header in enumerate(headers):
        if header == wanted:
            return index
    key = normalise_header(wanted)
    matches = [index for index, header in enumerate(headers) if key and normalise_header(header) == key]
    if len(matches) == 1:
        return matches[0]
    if not matches and re.fullmatch(r"[A-Za-z]{1,3}", wanted):
        letters = [index for index in range(len(headers)) if column_letter(index) == wanted.upper()]
        if letters:
            return letters[0]
    raise InvalidInput(
        f"--map names the column {_quoted(column)}, which is not "
        f"{'in the file' if not matches else 'the name of just one column'}. "
        f"The columns found are: {_headers_text(headers)}.",
        field="map",
    )


# ----------------------------------------------------------------------------------------------------------
# Checking the rows
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """Why a row cannot be imported. `row_number` counts as a spreadsheet does: the header is row 1."""

    row_number: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"Row {self.row_number}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class RowNote:
    """Something the officer should know about a row that was still imported (or left out harmlessly)."""

    row_number: int
    message: str

    def __str__(self) -> str:
        return f"Row {self.row_number}: {self.message}"


@dataclass(frozen=True)
class ImportedRow:
    """A row that passed its checks, as the (unsaved) contract it describes."""

    row_number: int
    arrangement: Arrangement
    kcpf_reference: str | None = None


@dataclass(frozen=True)
class ValidatedRows:
    """A whole file checked: the good rows (exact repeats removed), every problem and every note."""

    council: Council
    columns: ColumnMap
    rows: tuple[ImportedRow, ...]
    problems: tuple[RowProblem, ...]
    notes: tuple[RowNote, ...] = ()
    blank_rows: int = 0

    @property
    def rows_with_problems(self) -> tuple[int, ...]:
        return tuple(sorted({p.row_number for p in self.problems}))


def clean_cell(text: str) -> str:
    """A cell as imported: entities decoded, non-breaking spaces made spaces, surrounding space removed, and
    the apostrophe that guards a formula-like cell in a spreadsheet (the exporter adds it) taken off."""
    cleaned = _unescape(text).replace("\xa0", " ").replace("\ufeff", "").strip()
    if len(cleaned) > 1 and cleaned[0] == "'" and cleaned[1] in "=+-@\t\r":
        cleaned = cleaned[1:].strip()
    return cleaned


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _not_given(text: str) -> bool:
    return not text or _fold(text).rstrip(".") in _NOT_GIVEN


def validate_rows(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    council: Council,
    mapping: Mapping[str, str] | None = None,
    *,
    first_row_number: int = 2,
) -> ValidatedRows:
    """Check every row of a contract register and turn the good ones into contracts for `council`.

    Raises `InvalidInput` for a file with no contracts below its header (no rows, or only blank ones) and for
    the columns (see `match_columns`); each row's problems are listed in the result with its row number. Fully
    blank rows are skipped; a row that repeats an earlier one exactly (after tidying spaces, entities, letter
    case and number formats) is imported once, with a note. Rows with different KCPF references are different
    arrangements (a whole-register export can hold the same contract for each council).
    """
    if not any(clean_cell(cell) for row in rows for cell in row):
        raise InvalidInput(
            "The file has a header row but no contracts below it. Put the contracts under the header, one "
            "contract a row, and import the file again. If they are on another sheet of the workbook, show "
            "that sheet and save it as CSV UTF-8: Excel saves only the sheet on show.",
            field="file",
        )
    columns = match_columns(headers, mapping)
    good: list[ImportedRow] = []
    problems: list[RowProblem] = []
    notes: list[RowNote] = []
    blank = 0
    seen: dict[Hashable, int] = {}
    identities: dict[tuple[str | None, tuple[str, str, str, date | None]], ImportedRow] = {}
    for offset, raw in enumerate(rows):
        row_number = first_row_number + offset
        cells = [clean_cell(cell) for cell in raw]
        if not any(cells):
            blank += 1
            continue
        imported, row_problems = _read_row(cells, columns, council, row_number)
        problems.extend(row_problems)
        if imported is None:
            continue
        key = _content_key(imported)
        if key in seen:
            notes.append(RowNote(row_number, f"This row repeats row {seen[key]}, so it was imported once."))
            continue
        seen[key] = row_number
        identity = (imported.kcpf_reference, _identity(imported.arrangement))
        earlier = identities.get(identity)
        if earlier is not None:
            what = (
                "reference, supplier, title and start date"
                if identity[1][0]
                else "title, supplier and start date"
            )
            problems.append(
                RowProblem(
                    row_number,
                    "",
                    f"This row has the same {what} as row {earlier.row_number} but different details. "
                    "Keep the right one, or correct the row that is wrong.",
                )
            )
            continue
        identities[identity] = imported
        good.append(imported)
    return ValidatedRows(council, columns, tuple(good), tuple(problems), tuple(notes), blank)


def _read_row(
    cells: Sequence[str], columns: ColumnMap, council: Council, row_number: int
) -> tuple[ImportedRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []

    def problem(field_or_index: str | int, message: str) -> None:
        index = field_or_index if isinstance(field_or_index, int) else columns.index(field_or_index)
        problems.append(RowProblem(row_number, "" if index is None else columns.column_name(index), message))

    def cell(field: str) -> str:
        index = columns.index(field)
        text = cells[index] if index is not None and index < len(cells) else ""
        return " ".join(text.split()) if field in _ONE_LINE_FIELDS else text

    for index in range(len(columns.headers), len(cells)):
        if cells[index]:
            problem(
                index,
                f"This cell has {_quoted(cells[index])} but its column has no heading. "
                "A comma inside a value may have split it: check the row against the header, "
                "and put values containing commas in quotes.",
            )

    text = {field: cell(field) for field in _TEXT_FIELDS}
    if not text["title"]:
        problem("title", "The title is blank: every contract needs one.")
    if not text["supplier_name"]:
        problem("supplier_name", "The supplier is blank: every contract needs one.")

    money: dict[str, Decimal | None] = {}
    for field in _MONEY_FIELDS:
        money[field] = None
        raw = cell(field)
        if _not_given(raw):
            continue
        try:
            money[field] = parse_money(raw)
        except InvalidInput as error:
            problem(field, error.message)

    dates: dict[str, date | None] = {}
    for field, month_only in _DATE_FIELDS.items():
        dates[field] = None
        raw = cell(field)
        if _not_given(raw):
            continue
        try:
            dates[field] = parse_uk_date(raw, month_only=month_only)
        except InvalidInput as error:
            problem(field, error.message)
    start, end = dates["start_date"], dates["end_date"]
    if start is not None and end is not None and end < start:
        problem("end_date", f"The end date ({_uk(end)}) is before the start date ({_uk(start)}).")

    kcpf_reference: str | None = None
    raw_reference = cell("kcpf_reference")
    if raw_reference:
        try:
            kcpf_reference = parse_reference(raw_reference)
        except InvalidInput as error:
            problem(
                "kcpf_reference", error.message + " Correct it, or clear the cell to import the row as new."
            )

    if problems:
        return None, problems
    extra = tuple(
        (columns.column_name(index), cells[index])
        for index in columns.extra
        if index < len(cells) and cells[index]
    )
    source = SourceRecord(
        reference=text["reference"],
        department=text["department"],
        supplier_details=text["supplier_details"],
        irrecoverable_vat=money["irrecoverable_vat"],
        review_date=dates["review_date"],
        procurement_route=text["procurement_route"],
        sme_vcse=text["sme_vcse"],
        registration_number=text["registration_number"],
        extra=extra,
    )
    try:
        arrangement = Arrangement(
            title=text["title"],
            type=ArrangementType.CONTRACT,
            council=council,
            partner=text["supplier_name"],
            responsible_officer=None,
            service=text["department"],
            description=text["description"],
            annual_value=money["annual_value"],
            total_value=money["value"],
            start_date=start,
            end_date=end,
            status=Status.IDENTIFIED,
            source=source,
        )
    except InvalidInput as error:  # pragma: no cover - every rule the model checks is checked above
        return None, [RowProblem(row_number, "", error.message)]
    return ImportedRow(row_number, arrangement, kcpf_reference), []


def _uk(d: date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def _plain(value: object) -> object:
    if isinstance(value, str):
        return _fold(value)
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(_plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    return value


def _content_key(row: ImportedRow) -> Hashable:
    """Everything a row says, tidied, for spotting exact repeats (Decimal 5000 equals 5000.00)."""
    a = row.arrangement
    key = _plain(tuple(getattr(a, name) for name in IMPORTED_FIELDS))
    return (key, row.kcpf_reference)


def _identity(a: Arrangement) -> tuple[str, str, str, date | None]:
    """What names one contract in a file: its reference (if any), supplier, title and start date."""
    reference = _fold(a.source.reference) if a.source is not None else ""
    return (reference, _fold(a.partner), _fold(a.title), a.start_date)


# ----------------------------------------------------------------------------------------------------------
# Planning the import against the register
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedUpdate:
    """An arrangement on the register that a row changes: `after` keeps its reference and version."""

    row_number: int
    before: Arrangement
    after: Arrangement
    changed: tuple[str, ...]


@dataclass(frozen=True)
class ImportPlan:
    """What importing the file would do. When `blocked`, nothing is to be saved: fix the problems first or
    import with `skip_invalid`."""

    to_add: tuple[ImportedRow, ...]
    to_update: tuple[PlannedUpdate, ...]
    unchanged: int
    problems: tuple[RowProblem, ...]
    notes: tuple[RowNote, ...]
    blocked: bool

    def arrangements_to_save(self) -> list[Arrangement]:
        """New contracts (no reference yet) and updated ones, in row order, for `Register.save_many`."""
        items: list[tuple[int, Arrangement]] = [(r.row_number, r.arrangement) for r in self.to_add]
        items += [(u.row_number, u.after) for u in self.to_update]
        return [a for _, a in sorted(items, key=lambda item: item[0])]

    @property
    def rows_not_imported(self) -> tuple[int, ...]:
        return tuple(sorted({p.row_number for p in self.problems}))

    def summary(self) -> str:
        if self.blocked:
            count = len(self.rows_not_imported)
            return (
                f"Nothing was imported: {plural(count, 'row')} "
                f"{'has' if count == 1 else 'have'} problems. Correct the file and import it again, "
                "or use --skip-invalid to import the other rows."
            )
        parts = [
            f"{len(self.to_add)} to add",
            f"{len(self.to_update)} to update",
            f"{self.unchanged} unchanged",
        ]
        text = ", ".join(parts) + "."
        if self.problems:
            count = len(self.rows_not_imported)
            text += f" {plural(count, 'row')} with problems left out."
        return text


def plan_import(
    existing: Sequence[Arrangement], validated: ValidatedRows, *, skip_invalid: bool = False
) -> ImportPlan:
    """Match each good row to the register and say what to add and update.

    `existing` is the whole register (`Register.arrangements()`). A row with a KCPF reference (one exported by
    KCPF) is matched by that reference alone, against the whole register whatever the file's council: a
    whole-register export imported for one council updates each council's own arrangements, and a KCPF
    reference not on the register is a row problem (it is never taken for a new contract). Other rows are
    matched by (council, the file's reference), narrowed by supplier, title and start date when the
    reference is shared; or, with no reference (or none on the register), by (council, title, supplier,
    start date). Shared arrangements match either council's file. The file's council is given to new
    contracts only: an update never changes an arrangement's council. An update replaces only the imported
    fields (`IMPORTED_FIELDS`); a blank cell does not clear what the register holds.

    With any problem, the plan is `blocked` and empty unless `skip_invalid`.
    """
    council = validated.council
    problems = list(validated.problems)
    by_kcpf = {a.reference: a for a in existing if a.reference is not None}
    kcpf_index = validated.columns.index("kcpf_reference")
    kcpf_column = "" if kcpf_index is None else validated.columns.column_name(kcpf_index)
    index = _RegisterIndex()
    for arrangement in existing:
        if arrangement.council.covers(council):
            index.add(arrangement)
    in_file: dict[tuple[object, ...], int] = {}
    for row in validated.rows:
        identity = _identity(row.arrangement)
        if identity[0]:
            for length in range(1, 5):
                prefix = identity[:length]
                in_file[prefix] = in_file.get(prefix, 0) + 1

    to_add: list[ImportedRow] = []
    to_update: list[PlannedUpdate] = []
    unchanged = 0
    claimed: dict[str | None, int] = {}  # reference -> the row that updates it
    for row in validated.rows:
        if row.kcpf_reference is not None:
            found = by_kcpf.get(row.kcpf_reference)
            if found is None:
                problems.append(
                    RowProblem(
                        row.row_number,
                        kcpf_column,
                        f"{row.kcpf_reference} is not on this register, so this row cannot update it. To "
                        "import the row as a new contract, clear this cell, or remove the KCPF reference "
                        "column to import every row as new.",
                    )
                )
                continue
            candidates = [found]
        else:
            candidates = _candidates(row, council, index, in_file)
        if len(candidates) > 1:
            references = ", ".join(str(c.reference) for c in candidates)
            problems.append(
                RowProblem(
                    row.row_number,
                    "",
                    f"This row matches more than one contract on the register ({references}), "
                    "so KCPF cannot tell which to update. Give the row its own reference in the file.",
                )
            )
            continue
        if not candidates:
            to_add.append(row)
            continue
        before = candidates[0]
        if before.reference in claimed:
            problems.append(
                RowProblem(
                    row.row_number,
                    "",
                    f"This row matches {before.reference}, which row {claimed[before.reference]} already "
                    "updates. Give each contract one row.",
                )
            )
            continue
        claimed[before.reference] = row.row_number
        try:
            after = merge_imported(before, row.arrangement)
        except InvalidInput as error:
            problems.append(
                RowProblem(row.row_number, "", f"This row cannot update {before.reference}: {error.message}")
            )
            continue
        changed = tuple(name for name in IMPORTED_FIELDS if getattr(after, name) != getattr(before, name))
        if changed:
            to_update.append(PlannedUpdate(row.row_number, before, after, changed))
        else:
            unchanged += 1
    problems.sort(key=lambda p: p.row_number)
    blocked = bool(problems) and not skip_invalid
    if blocked:
        return ImportPlan((), (), 0, tuple(problems), validated.notes, True)
    return ImportPlan(tuple(to_add), tuple(to_update), unchanged, tuple(problems), validated.notes, False)


def _in_council(candidates: Iterable[Arrangement], council: Council) -> list[Arrangement]:
    """The council's own arrangements if any match, else the shared ones (or, for a shared file, any)."""
    matching = [c for c in candidates if c.council.covers(council)]
    own = [c for c in matching if c.council is council]
    return own or matching


@dataclass
class _RegisterIndex:
    """One council's arrangements by the file's reference, and by supplier, title and start date (split by
    whether they have a reference from a file)."""

    by_reference: dict[str, list[Arrangement]] = dataclasses.field(default_factory=dict)
    by_details: dict[tuple[object, ...], list[Arrangement]] = dataclasses.field(default_factory=dict)
    by_details_unreferenced: dict[tuple[object, ...], list[Arrangement]] = dataclasses.field(
        default_factory=dict
    )

    def add(self, arrangement: Arrangement) -> None:
        identity = _identity(arrangement)
        if identity[0]:
            self.by_reference.setdefault(identity[0], []).append(arrangement)
        else:
            self.by_details_unreferenced.setdefault(identity[1:], []).append(arrangement)
        self.by_details.setdefault(identity[1:], []).append(arrangement)


def _candidates(
    row: ImportedRow, council: Council, index: _RegisterIndex, in_file: Mapping[tuple[object, ...], int]
) -> list[Arrangement]:
    """The council's arrangements a row without a KCPF reference matches."""
    identity = _identity(row.arrangement)
    if identity[0] and identity[0] in index.by_reference:
        candidates = _in_council(index.by_reference[identity[0]], council)
        narrowers: tuple[Callable[[Arrangement], object], ...] = (
            lambda a: _fold(a.partner),
            lambda a: _fold(a.title),
            lambda a: a.start_date,
        )
        for length, narrower in enumerate(narrowers, start=1):
            if len(candidates) <= 1 and in_file.get(identity[:length], 0) <= 1:
                break
            candidates = [c for c in candidates if narrower(c) == identity[length]]
        return candidates
    # No reference, or none on the register: supplier, title and start date; for a row with a reference,
    # only among arrangements that have no reference from a file (those entered by hand).
    pool = index.by_details_unreferenced if identity[0] else index.by_details
    return _in_council(pool.get(identity[1:], []), council)


def merge_imported(existing: Arrangement, imported: Arrangement) -> Arrangement:
    """`existing` with the imported fields from `imported`; a blank imported field keeps what is there. The
    source record is replaced whole: it is what the council's register says now."""
    changes: dict[str, object] = {}
    for name in IMPORTED_FIELDS:
        value = getattr(imported, name)
        if name != "source" and value in (None, ""):
            continue
        if value != getattr(existing, name):  # 5000 and 5000.00 are the same amount: no change
            changes[name] = value
    return dataclasses.replace(existing, **changes) if changes else existing  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------------------


def export_money(amount: Decimal | None) -> str:
    """Plain, for a spreadsheet: "1250000.00" (no £ sign, no commas)."""
    if amount is None:
        return ""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{amount:f}"
    return f"{amount.quantize(PENNY):f}"


def export_date(day: date | None) -> str:
    """Day first, as UK Excel reads it: "30/09/2026"."""
    return "" if day is None else _uk(day)


def export_rows(arrangements: Iterable[Arrangement]) -> list[list[str]]:
    """One row per arrangement, in `EXPORT_COLUMNS` order."""
    return [_export_row(a) for a in arrangements]


def export_table(arrangements: Iterable[Arrangement]) -> tuple[list[str], list[list[str]]]:
    """`EXPORT_COLUMNS` plus the extra columns the imported files had (in order of first appearance), and
    the rows: nothing the import kept is lost on the way out and back in."""
    items = list(arrangements)
    extra_headers: list[str] = []
    for a in items:
        for header, _ in a.source.extra if a.source is not None else ():
            if header not in extra_headers and header not in EXPORT_COLUMNS:
                extra_headers.append(header)
    rows = []
    for a in items:
        values = dict(a.source.extra) if a.source is not None else {}
        rows.append(_export_row(a) + [values.get(header, "") for header in extra_headers])
    return [*EXPORT_COLUMNS, *extra_headers], rows


def _export_row(a: Arrangement) -> list[str]:
    source = a.source if a.source is not None else SourceRecord()
    values: dict[str, str] = {
        "reference": source.reference,
        "title": a.title,
        "department": a.service,
        "description": a.description,
        "supplier_name": a.partner,
        "supplier_details": source.supplier_details,
        "value": export_money(a.total_value),
        "annual_value": export_money(a.annual_value),
        "irrecoverable_vat": export_money(source.irrecoverable_vat),
        "start_date": export_date(a.start_date),
        "end_date": export_date(a.end_date),
        "review_date": export_date(source.review_date),
        "procurement_route": source.procurement_route,
        "sme_vcse": source.sme_vcse,
        "registration_number": source.registration_number,
        "kcpf_reference": a.reference or "",
        "kcpf_status": a.status.label,
        "responsible_officer": a.responsible_officer.email if a.responsible_officer is not None else "",
        "council": a.council.label,
    }
    return [values[name] for name in (*FIELDS, *KCPF_HEADERS)]
