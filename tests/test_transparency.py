"""Importing and exporting the councils' published contract registers (Transparency Code 2015 layout)."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.transparency_csv import parse_csv_text, read_csv, sniff_delimiter, write_csv
from kcpf.errors import InvalidInput
from kcpf.model import Arrangement, ArrangementType, Council, Officer, SourceRecord, Status
from kcpf.transparency import (
    EXPORT_COLUMNS,
    FIELD_HEADERS,
    FIELDS,
    IMPORTED_FIELDS,
    ImportPlan,
    RowProblem,
    ValidatedRows,
    clean_cell,
    column_letter,
    export_rows,
    export_table,
    match_columns,
    merge_imported,
    normalise_header,
    parse_map_options,
    plan_import,
    validate_rows,
)

FAST = settings(max_examples=60, database=None, deadline=None)
OFFICER = Officer("jo.bloggs@chorley.gov.uk", "Jo Bloggs")

HEADERS = ["Reference", "Title", "Supplier Name", "Value", "Start date", "End date"]


def validated(
    rows: Sequence[Sequence[str]],
    headers: Sequence[str] = HEADERS,
    council: Council = Council.CHORLEY,
    mapping: dict[str, str] | None = None,
) -> ValidatedRows:
    return validate_rows(headers, rows, council, mapping)


def save(register: list[Arrangement], plan: ImportPlan) -> list[Arrangement]:
    """As `Register.save_many`: new ones get the next KCP- reference and version 1, updates version + 1."""
    assert not plan.blocked
    stored = list(register)
    for arrangement in plan.arrangements_to_save():
        if arrangement.reference is None:
            number = len(stored) + 1
            stored.append(dataclasses.replace(arrangement, reference=f"KCP-{number:04d}", version=1))
        else:
            index = next(i for i, a in enumerate(stored) if a.reference == arrangement.reference)
            assert stored[index].version == arrangement.version, "an update must carry the version it read"
            stored[index] = dataclasses.replace(arrangement, version=arrangement.version + 1)
    return stored


def imported(
    register: list[Arrangement], rows: Sequence[Sequence[str]], **kwargs: object
) -> list[Arrangement]:
    return save(register, plan_import(register, validated(rows, **kwargs)))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------------
# Headers
# ----------------------------------------------------------------------------------------------------------

REAL_WORLD_HEADERS = [
    ("Reference Number", "reference"),
    ("Contract Reference", "reference"),
    ("Ref", "reference"),
    ("Ref.", "reference"),
    ("REF NO", "reference"),
    ("Title of agreement", "title"),
    ("Contract Title", "title"),
    ("Contract Name", "title"),
    ("Responsible Department", "department"),
    ("Service", "department"),
    ("Directorate", "department"),
    ("Service Area", "department"),
    ("Description of goods and services", "description"),
    ("Contract Description", "description"),
    ("Name of supplier", "supplier_name"),
    ("Contractor", "supplier_name"),
    ("Supplier", "supplier_name"),
    ("Supplier address", "supplier_details"),
    ("Supplier details", "supplier_details"),
    ("Contract Value (£)", "value"),
    ("Total Contract Value", "value"),
    ("Value of agreement", "value"),
    ("Value (excluding VAT)", "value"),
    ("Total value", "value"),
    ("Annual Contract Value", "annual_value"),
    ("Value per annum", "annual_value"),
    ("Value p.a.", "annual_value"),
    ("Irrecoverable VAT", "irrecoverable_vat"),
    ("VAT that cannot be recovered", "irrecoverable_vat"),
    ("Contract Start Date", "start_date"),
    ("Start Date (dd/mm/yyyy)", "start_date"),
    ("Start", "start_date"),
    ("Contract End Date", "end_date"),
    ("Expiry date", "end_date"),
    ("Review date", "review_date"),
    ("Extension date", "review_date"),
    (
        "Whether the contract was the result of an invitation to quote or a published invitation to tender",
        "procurement_route",
    ),
    ("Procurement process", "procurement_route"),
    (
        "Whether or not the supplier is a small or medium sized enterprise and/or a voluntary or community "
        "sector organisation",
        "sme_vcse",
    ),
    ("SME status", "sme_vcse"),
    ("SME (Y/N)", "sme_vcse"),
    ("Company number", "registration_number"),
    ("Charity number", "registration_number"),
    ("Supplier company registration number", "registration_number"),
    ("  SUPPLIER   NAME  ", "supplier_name"),
    ("supplier_name", "supplier_name"),
    ("Supplier&nbsp;Name", "supplier_name"),
    ("\ufeffReference", "reference"),
]


@pytest.mark.parametrize(("header", "field"), REAL_WORLD_HEADERS)
def test_real_world_header_spellings_are_recognised(header: str, field: str) -> None:
    others = {"title": "Title", "supplier_name": "Supplier Name", "value": "Value"}
    headers = [header, *(h for f, h in others.items() if f != field)]
    assert match_columns(headers).index(field) == 0


def test_every_listed_header_names_its_own_field() -> None:
    for field, headers in FIELD_HEADERS.items():
        for header in headers:
            assert match_columns([header, "Title", "Supplier Name", "Value"]).index(field) == 0, header


def test_header_matching_ignores_case_spacing_and_punctuation() -> None:
    assert normalise_header("Contract Value (£)") == "contractvalue"
    assert normalise_header(" Contract-Value ") == "contractvalue"
    assert normalise_header("SME/VCSE") == "smevcse"


def test_unmatched_columns_are_kept_in_order_and_the_first_of_two_for_a_field_wins() -> None:
    columns = match_columns(["Notes", "Title", "Supplier", "Value", "Total value", "", "Lot"])
    assert columns.index("value") == 3
    assert [columns.column_name(i) for i in columns.extra] == ["Notes", "Total value", "column F", "Lot"]


def test_a_column_without_a_heading_is_kept_under_its_letter() -> None:
    (row,) = validated([["", "Parks", "Green Ltd", "", "", "", "", "see file 12"]], [*HEADERS, "", ""]).rows
    assert row.arrangement.source is not None
    assert row.arrangement.source.extra == (("column H", "see file 12"),)


def test_an_annual_value_alone_is_enough() -> None:
    assert match_columns(["Title", "Supplier", "Annual value"]).index("annual_value") == 2


def test_a_missing_required_column_lists_what_is_missing_and_what_was_found() -> None:
    with pytest.raises(InvalidInput) as caught:
        match_columns(["Ref", "Contract", "Vendor ID", "Amount"])
    message = caught.value.message
    assert "supplier name" in message
    assert "value (or annual value)" in message
    for header in ("“Ref”", "“Contract”", "“Vendor ID”", "“Amount”"):
        assert header in message
    assert '--map "COLUMN=field"' in message
    assert '--map "Vendor ID=supplier_name"' in message
    assert "title" not in message.split("The columns found")[0]


def test_a_blank_header_row_says_so() -> None:
    with pytest.raises(InvalidInput, match="the first row is blank"):
        match_columns(["", " ", ""])


# ----------------------------------------------------------------------------------------------------------
# The explicit map
# ----------------------------------------------------------------------------------------------------------


def test_an_explicit_map_names_odd_columns() -> None:
    headers = ["Our Odd Header", "Who", "How much"]
    columns = match_columns(headers, {"Our Odd Header": "title", "Who": "supplier_name", "how much": "Value"})
    assert (columns.index("title"), columns.index("supplier_name"), columns.index("value")) == (0, 1, 2)


def test_the_map_overrides_what_would_be_matched() -> None:
    headers = ["Title", "Supplier", "Value", "Service", "Department"]
    columns = match_columns(headers, {"Service": "description"})
    assert columns.index("description") == 3
    assert columns.index("department") == 4


def test_the_map_can_keep_a_column_as_it_is() -> None:
    columns = match_columns(["Title", "Supplier", "Value", "Start"], {"Start": "extra"})
    assert columns.index("start_date") is None
    assert columns.extra == (3,)


def test_the_map_accepts_a_column_letter() -> None:
    assert match_columns(["X", "Supplier", "Value"], {"A": "title"}).index("title") == 0


def test_an_unknown_field_in_the_map_lists_the_valid_fields() -> None:
    with pytest.raises(InvalidInput) as caught:
        match_columns(["A", "Supplier", "Value"], {"A": "contract_title"})
    message = caught.value.message
    assert "“contract_title”" in message
    for field in FIELDS:
        assert field in message


def test_a_mapped_column_that_is_not_there_lists_the_columns() -> None:
    with pytest.raises(InvalidInput) as caught:
        match_columns(["Name", "Supplier", "Value"], {"Contract name": "title"})
    assert "“Contract name”" in caught.value.message
    assert "“Name”, “Supplier”, “Value”" in caught.value.message


def test_two_columns_mapped_to_one_field_are_refused() -> None:
    with pytest.raises(InvalidInput, match="two columns"):
        match_columns(["A", "B", "Supplier", "Value"], {"A": "title", "B": "title"})


def test_map_options_are_read_from_the_command_line() -> None:
    assert parse_map_options(["Our Odd Header=title", " Cost = value "]) == {
        "Our Odd Header": "title",
        "Cost": "value",
    }
    assert parse_map_options(["A=B=title"]) == {"A=B": "title"}
    with pytest.raises(InvalidInput, match="should name a column and a field"):
        parse_map_options(["title"])
    with pytest.raises(InvalidInput):
        parse_map_options(["=title"])


# ----------------------------------------------------------------------------------------------------------
# Rows
# ----------------------------------------------------------------------------------------------------------


def test_a_row_becomes_an_identified_contract_for_the_council() -> None:
    headers = [
        "Reference",
        "Title",
        "Department",
        "Description",
        "Supplier Name",
        "Supplier details",
        "Value",
        "Annual value",
        "Irrecoverable VAT",
        "Start date",
        "End date",
        "Review date",
        "Procurement route",
        "SME/VCSE",
        "Company number",
        "Lot",
    ]
    row = [
        " C-001 ",
        "Waste  collection",
        "Neighbourhoods",
        "Household waste,\nrecycling",
        "Smith &amp; Sons Ltd",
        "1 High St, Chorley",
        "£1,250,000",
        "£250k",
        "£0",
        "01/04/2025",
        "31 March 2030",
        "April 2028",
        "Open tender",
        "SME",
        "01234567",
        "2",
    ]
    result = validated([row], headers, Council.SOUTH_RIBBLE)
    assert result.problems == ()
    (only,) = result.rows
    a = only.arrangement
    assert only.row_number == 2
    assert a == Arrangement(
        title="Waste collection",
        type=ArrangementType.CONTRACT,
        council=Council.SOUTH_RIBBLE,
        partner="Smith & Sons Ltd",
        service="Neighbourhoods",
        description="Household waste,\nrecycling",
        annual_value=Decimal("250000"),
        total_value=Decimal("1250000"),
        start_date=date(2025, 4, 1),
        end_date=date(2030, 3, 31),
        status=Status.IDENTIFIED,
        source=SourceRecord(
            reference="C-001",
            department="Neighbourhoods",
            supplier_details="1 High St, Chorley",
            irrecoverable_vat=Decimal("0"),
            review_date=date(2028, 4, 1),
            procurement_route="Open tender",
            sme_vcse="SME",
            registration_number="01234567",
            extra=(("Lot", "2"),),
        ),
    )
    assert a.responsible_officer is None
    assert a.reference is None


def test_a_month_alone_is_the_first_of_the_month_to_start_and_the_last_to_end() -> None:
    (row,) = validated([["", "Parks", "Green Ltd", "£10k", "April 2025", "March 2027"]]).rows
    assert (row.arrangement.start_date, row.arrangement.end_date) == (date(2025, 4, 1), date(2027, 3, 31))


@pytest.mark.parametrize("cell", ["", "  ", "N/A", "n/a", "TBC", "-", "Not known", "ongoing"])
def test_blank_and_not_known_dates_and_values_are_none(cell: str) -> None:
    (row,) = validated([["", "Parks", "Green Ltd", cell, cell, cell]]).rows
    a = row.arrangement
    assert (a.total_value, a.start_date, a.end_date) == (None, None, None)


def test_cells_are_unescaped_and_trimmed() -> None:
    assert clean_cell("  Smith &amp; Sons&nbsp;") == "Smith & Sons"
    assert clean_cell("Smith &amp;amp; Sons") == "Smith & Sons"
    assert clean_cell("&pound;5,000") == "£5,000"
    assert clean_cell("'=HYPERLINK(1)") == "=HYPERLINK(1)"
    assert clean_cell("'Twas") == "'Twas"


def test_a_value_written_in_entities_or_gbp_is_read() -> None:
    rows = [
        ["", "A", "S", "&pound;5,000", "", ""],
        ["", "B", "S", "GBP 5,000", "", ""],
        ["", "C", "S", "£1.2m", "", ""],
    ]
    values = [r.arrangement.total_value for r in validated(rows).rows]
    assert values == [Decimal("5000"), Decimal("5000"), Decimal("1200000")]


def test_a_short_row_is_padded_and_a_cell_past_the_last_header_is_a_problem() -> None:
    result = validated(
        [["R1", "Parks", "Green Ltd"], ["R2", "Parks", "Green Ltd", "£10k", "", "", "", "oops"]]
    )
    assert [r.row_number for r in result.rows] == [2]
    (problem,) = result.problems
    assert (problem.row_number, problem.column) == (3, "column H")
    assert "“oops”" in problem.message


def test_every_problem_is_reported_with_its_row_and_column() -> None:
    rows = [
        ["R1", "Parks", "Green Ltd", "£10k", "01/04/2025", "31/03/2027"],
        ["R2", "", "", "ten pounds", "31/02/2026", ""],
        ["R3", "Leisure", "Active Ltd", "", "01/04/2026", "01/04/2025"],
    ]
    result = validated(rows)
    assert [r.row_number for r in result.rows] == [2]
    found = [(p.row_number, p.column) for p in result.problems]
    assert found == [(3, "Title"), (3, "Supplier Name"), (3, "Value"), (3, "Start date"), (4, "End date")]
    date_problem = result.problems[3]
    assert "31 February 2026 does not exist" in date_problem.message
    assert str(date_problem).startswith("Row 3, Start date: 31 February 2026 does not exist")
    assert "before the start date" in result.problems[4].message
    assert result.rows_with_problems == (3, 4)


def test_a_fully_blank_row_is_skipped_silently_but_still_counted() -> None:
    result = validated([["", " ", "", "", "", ""], [], ["", "Parks", "Green Ltd", "", "", "x"]])
    assert result.blank_rows == 2
    assert [(p.row_number, p.column) for p in result.problems] == [(4, "End date")]


def test_an_exact_repeat_is_imported_once_with_a_note() -> None:
    rows = [
        ["R1", "Parks", "Green Ltd", "£10,000", "01/04/2025", ""],
        ["R2", "Leisure", "Active Ltd", "", "", ""],
        [" r1", "PARKS", "green  ltd", "10000.00", "1 April 2025", "n/a"],
    ]
    result = validated(rows)
    assert [r.row_number for r in result.rows] == [2, 3]
    assert result.rows[0].arrangement.partner == "Green Ltd"
    assert [str(n) for n in result.notes] == ["Row 4: This row repeats row 2, so it was imported once."]
    assert result.problems == ()


def test_a_repeat_with_different_details_is_a_problem() -> None:
    rows = [
        ["R1", "Parks", "Green Ltd", "£10,000", "01/04/2025", ""],
        ["R1", "Parks", "Green Ltd", "£12,000", "01/04/2025", ""],
    ]
    result = validated(rows)
    assert [r.row_number for r in result.rows] == [2]
    (problem,) = result.problems
    assert problem.row_number == 3
    assert "as row 2 but different details" in problem.message


@pytest.mark.parametrize(
    "rows",
    [[], [[""] * 6], [["", " ", "", "", "", ""], [], ["\xa0"] * 6]],
    ids=["header only", "one blank row", "blank rows"],
)
def test_a_file_with_a_header_row_and_no_contracts_is_refused(rows: list[list[str]]) -> None:
    with pytest.raises(InvalidInput) as raised:
        validated(rows)
    assert raised.value.message.startswith("The file has a header row but no contracts below it.")
    assert "one contract a row" in raised.value.message


def test_an_empty_export_is_refused_when_imported_again() -> None:
    headers, rows = export_table([])
    with pytest.raises(InvalidInput, match="no contracts below it"):
        validate_rows(headers, rows, Council.CHORLEY, None)


def test_an_invalid_kcpf_reference_is_a_problem() -> None:
    headers = [*HEADERS, "KCPF reference"]
    result = validated([["", "Parks", "Green Ltd", "", "", "", "K-12"]], headers)
    (problem,) = result.problems
    assert problem.column == "KCPF reference"


# ----------------------------------------------------------------------------------------------------------
# A messy file, end to end
# ----------------------------------------------------------------------------------------------------------

MESSY = (
    "Reference,Title of agreement,Department,Description,Supplier Name,Contract Value (£),Annual value,"
    "Start date,End date,Review Date,SME/VCSE,Notes\r\n"
    'C001,Waste collection,Neighbourhoods,"Collection of household waste, recycling",Smith &amp; Sons Ltd,'
    '"£1,250,000",£250k,01/04/2025,31/03/2030,,Yes,Five year term\r\n'
    'C002,Leisure centres,Leisure,,  Active Leisure  ,"£3,000,000.00",,1 April 2024,31/02/2026,,No,\r\n'
    "C003,,Housing,,Homes Ltd,£5000,,01/04/2025,,,,\r\n"
    'C004,Grounds maintenance,Neighbourhoods,,GREEN SPACES LTD,"£80,000",,01/04/2026,01/04/2025,,,\r\n'
    ",,,,,,,,,,,\r\n"
    'C001,Waste collection,Neighbourhoods,"Collection of household waste,  recycling",SMITH & SONS LTD,'
    '"£1,250,000.00",£250K,1/4/2025,31/3/2030,,yes,Five year term\r\n'
    "C005,IT support,ICT,,,£12000,,,,,,\r\n"
    "C006,Cleaning,Facilities,,Clean Co,£ten thousand,,,,,,\r\n"
    "C007,Legal services,Legal,,  Law   LLP ,N/A,£40k,TBC,,,,\r\n"
)


@pytest.fixture
def messy_file(tmp_path: Path) -> Path:
    path = tmp_path / "contracts.csv"
    path.write_bytes(MESSY.encode("cp1252"))  # as Excel's plain "CSV (Comma delimited)" saves a £
    return path


def test_a_messy_file_reports_every_problem_and_imports_nothing(messy_file: Path) -> None:
    headers, rows = read_csv(messy_file)
    assert headers[5] == "Contract Value (£)"
    result = validate_rows(headers, rows, Council.CHORLEY, None)
    found = [(p.row_number, p.column) for p in result.problems]
    assert found == [
        (3, "End date"),
        (4, "Title of agreement"),
        (5, "End date"),
        (8, "Supplier Name"),
        (9, "Contract Value (£)"),
    ]
    assert "31 February 2026 does not exist" in result.problems[0].message
    assert [str(n) for n in result.notes] == ["Row 7: This row repeats row 2, so it was imported once."]
    assert result.blank_rows == 1

    plan = plan_import([], result)
    assert plan.blocked
    assert plan.to_add == ()
    assert plan.to_update == ()
    assert plan.arrangements_to_save() == []
    assert plan.rows_not_imported == (3, 4, 5, 8, 9)
    assert "Nothing was imported: 5 rows have problems" in plan.summary()


def test_skipping_invalid_rows_imports_the_good_ones_and_still_reports_the_bad(messy_file: Path) -> None:
    headers, rows = read_csv(messy_file)
    plan = plan_import([], validate_rows(headers, rows, Council.CHORLEY, None), skip_invalid=True)
    assert not plan.blocked
    assert [r.row_number for r in plan.to_add] == [2, 10]
    waste, legal = (r.arrangement for r in plan.to_add)
    assert waste.partner == "Smith & Sons Ltd"
    assert waste.total_value == Decimal("1250000")
    assert waste.annual_value == Decimal("250000")
    assert waste.description == "Collection of household waste, recycling"
    assert waste.source is not None
    assert waste.source.extra == (("Notes", "Five year term"),)
    assert legal.partner == "Law LLP"
    assert (legal.total_value, legal.annual_value, legal.start_date) == (None, Decimal("40000"), None)
    assert len(plan.problems) == 5
    assert plan.summary() == "2 to add, 0 to update, 0 unchanged. 5 rows with problems left out."


# ----------------------------------------------------------------------------------------------------------
# Planning against the register
# ----------------------------------------------------------------------------------------------------------

ROWS = [
    ["C001", "Waste collection", "Smith & Sons", "£1,250,000", "01/04/2025", "31/03/2030"],
    ["", "Parks", "Green Ltd", "£80,000", "01/04/2024", ""],
]


def test_importing_the_same_file_twice_plans_nothing_the_second_time() -> None:
    register = imported([], ROWS)
    assert [a.reference for a in register] == ["KCP-0001", "KCP-0002"]
    again = plan_import(register, validated(ROWS))
    assert (again.to_add, again.to_update, again.unchanged) == ((), (), 2)
    assert again.summary() == "0 to add, 0 to update, 2 unchanged."


def test_importing_the_same_file_twice_into_the_sqlite_register_plans_nothing(messy_file: Path) -> None:
    from connectors.sqlite_register import SqliteRegister

    headers, rows = read_csv(messy_file)
    with SqliteRegister(":memory:") as register:
        first = plan_import(
            register.arrangements(), validate_rows(headers, rows, Council.CHORLEY, None), skip_invalid=True
        )
        at = __import__("datetime").datetime(2026, 1, 5, 10, tzinfo=__import__("datetime").UTC)
        register.save_many(first.arrangements_to_save(), action="import", actor="tp@chorley.gov.uk", at=at)
        second = plan_import(
            register.arrangements(), validate_rows(headers, rows, Council.CHORLEY, None), skip_invalid=True
        )
    assert len(first.to_add) == 2
    assert (second.to_add, second.to_update, second.unchanged) == ((), (), 2)


def test_an_update_replaces_only_what_the_import_owns() -> None:
    register = imported([], ROWS)
    worked_on = dataclasses.replace(
        register[0],
        responsible_officer=OFFICER,
        status=Status.KEY,
        key_since=date(2025, 6, 1),
        corporate_priorities=("Clean and safe",),
        notice_period="6 months",
        data_shared=True,
        council=Council.SHARED,
    )
    register[0] = worked_on
    changed = [dict(zip(HEADERS, ROWS[0], strict=True))]
    changed[0]["Title"] = "Waste and recycling collection"
    changed[0]["Value"] = "£1.3m"
    plan = plan_import(register, validated([list(changed[0].values()), ROWS[1]]))
    (update,) = plan.to_update
    assert update.row_number == 2
    assert update.before is worked_on
    assert update.changed == ("title", "total_value")
    after = update.after
    assert (after.title, after.total_value) == ("Waste and recycling collection", Decimal("1300000"))
    for kept in (
        "reference",
        "version",
        "status",
        "key_since",
        "responsible_officer",
        "corporate_priorities",
    ):
        assert getattr(after, kept) == getattr(worked_on, kept), kept
    assert (after.notice_period, after.data_shared, after.council) == ("6 months", True, Council.SHARED)
    assert plan.unchanged == 1
    assert plan.to_add == ()
    assert plan.arrangements_to_save() == [after]


def test_a_blank_cell_does_not_clear_what_the_register_holds() -> None:
    register = imported([], ROWS)
    register[1] = dataclasses.replace(register[1], description="Grass cutting", end_date=date(2027, 3, 31))
    plan = plan_import(register, validated(ROWS))
    assert plan.to_update == ()
    assert plan.unchanged == 2


def test_merge_keeps_the_same_object_when_nothing_changes() -> None:
    (row,) = validated([ROWS[0]]).rows
    existing = dataclasses.replace(
        row.arrangement, reference="KCP-0009", version=3, total_value=Decimal("1250000.0")
    )
    assert merge_imported(existing, row.arrangement) is existing


def test_rows_without_a_reference_match_by_title_supplier_and_start_date() -> None:
    register = imported([], ROWS)
    plan = plan_import(register, validated([["", "PARKS", "green ltd", "£90,000", "1 April 2024", ""]]))
    (update,) = plan.to_update
    assert update.before.reference == "KCP-0002"
    assert update.changed == ("title", "partner", "total_value")
    other_start = plan_import(register, validated([["", "Parks", "Green Ltd", "£80,000", "01/04/2025", ""]]))
    assert len(other_start.to_add) == 1


def test_a_reference_finds_the_contract_even_when_its_title_and_supplier_change() -> None:
    register = imported([], ROWS)
    plan = plan_import(
        register, validated([["c001", "Waste", "Smith Group", "£1,250,000", "01/04/2025", ""]])
    )
    (update,) = plan.to_update
    assert update.before.reference == "KCP-0001"
    assert update.after.partner == "Smith Group"


def test_a_reference_is_matched_within_the_council_only() -> None:
    register = imported([], ROWS)
    plan = plan_import(register, validated([ROWS[0]], council=Council.SOUTH_RIBBLE))
    assert len(plan.to_add) == 1
    assert plan.to_update == ()


def test_a_shared_arrangement_is_matched_by_either_councils_file() -> None:
    register = [dataclasses.replace(a, council=Council.SHARED) for a in imported([], ROWS)]
    plan = plan_import(register, validated(ROWS, council=Council.SOUTH_RIBBLE))
    assert plan.unchanged == 2
    assert plan.to_add == ()


def test_a_manually_entered_contract_is_found_by_a_row_with_a_reference() -> None:
    manual = Arrangement(
        title="Waste collection",
        type=ArrangementType.CONTRACT,
        council=Council.CHORLEY,
        partner="Smith & Sons",
        responsible_officer=OFFICER,
        start_date=date(2025, 4, 1),
        reference="KCP-0001",
        version=4,
    )
    plan = plan_import([manual], validated([ROWS[0]]))
    (update,) = plan.to_update
    assert update.after.source is not None
    assert update.after.source.reference == "C001"
    assert update.after.responsible_officer == OFFICER
    again = plan_import(save([manual], plan), validated([ROWS[0]]))
    assert again.unchanged == 1


def test_a_reference_shared_by_several_suppliers_matches_each_by_supplier() -> None:
    lots = [
        ["FW1", "Building works", "Alpha Ltd", "£100k", "01/04/2025", ""],
        ["FW1", "Building works", "Beta Ltd", "£200k", "01/04/2025", ""],
        ["FW1", "Building works lot 2", "Beta Ltd", "£300k", "01/04/2025", ""],
    ]
    register = imported([], lots)
    assert len(register) == 3
    again = plan_import(register, validated(lots))
    assert again.unchanged == 3
    lots[1][3] = "£250k"
    changed = plan_import(register, validated(lots))
    (update,) = changed.to_update
    assert (update.before.reference, update.after.total_value) == ("KCP-0002", Decimal("250000"))


def test_a_row_matching_two_contracts_on_the_register_is_a_problem() -> None:
    register = imported([], [ROWS[0]])
    register = imported(register, [ROWS[0]], council=Council.SOUTH_RIBBLE)
    register = [dataclasses.replace(a, council=Council.SHARED) for a in register]
    plan = plan_import(register, validated([ROWS[0]]))
    assert plan.blocked
    (problem,) = plan.problems
    assert "KCP-0001, KCP-0002" in problem.message


def test_the_kcpf_reference_in_an_exported_file_finds_its_arrangement() -> None:
    register = imported([], ROWS)
    register[1] = dataclasses.replace(register[1], source=None)
    rows = export_rows(register)
    title = EXPORT_COLUMNS.index("Title")
    rows[1][title] = "Parks and open spaces"
    plan = plan_import(register, validate_rows(EXPORT_COLUMNS, rows, Council.CHORLEY, None))
    (update,) = plan.to_update
    assert update.before.reference == "KCP-0002"
    assert update.after.title == "Parks and open spaces"


def both_councils() -> list[Arrangement]:
    """South Ribble's file imported first (KCP-0001), then Chorley's (KCP-0002)."""
    register = imported([], [ROWS[0]], council=Council.SOUTH_RIBBLE)
    return imported(register, [ROWS[1]], council=Council.CHORLEY)


@pytest.mark.parametrize("council", list(Council))
def test_a_whole_register_export_imported_for_one_council_adds_and_updates_nothing(council: Council) -> None:
    # kcpf register export --format csv --out all.csv; kcpf register import all.csv --council chorley
    register = both_councils()
    assert [(a.reference, a.council) for a in register] == [
        ("KCP-0001", Council.SOUTH_RIBBLE),
        ("KCP-0002", Council.CHORLEY),
    ]
    headers, rows = export_table(register)
    plan = plan_import(register, validate_rows(headers, rows, council, None))
    assert plan.problems == ()
    assert plan.to_add == ()
    assert plan.to_update == ()
    assert plan.unchanged == 2


def test_a_kcpf_reference_updates_its_arrangement_whatever_council_the_import_names() -> None:
    register = both_councils()
    headers, rows = export_table(register)
    rows[0][headers.index("Value")] = "1300000"
    plan = plan_import(register, validate_rows(headers, rows, Council.CHORLEY, None))
    (update,) = plan.to_update
    assert update.before.reference == "KCP-0001"
    assert update.after.total_value == Decimal("1300000")
    assert update.after.council is Council.SOUTH_RIBBLE  # an import never moves a contract between councils
    assert plan.to_add == ()


def test_the_same_contract_at_both_councils_survives_a_whole_register_export() -> None:
    # Each council has its own contract with the same supplier, title and start date (and no reference).
    register = imported([], [ROWS[1]], council=Council.SOUTH_RIBBLE)
    register = imported(register, [ROWS[1]], council=Council.CHORLEY)
    headers, rows = export_table(register)
    plan = plan_import(register, validate_rows(headers, rows, Council.CHORLEY, None))
    assert plan.problems == ()
    assert (plan.to_add, plan.to_update, plan.unchanged) == ((), (), 2)


def test_a_kcpf_reference_not_on_the_register_is_a_problem_not_a_new_contract() -> None:
    register = both_councils()
    headers, rows = export_table(register)
    rows[1][headers.index("KCPF reference")] = "KCP-0099"
    plan = plan_import(register, validate_rows(headers, rows, Council.CHORLEY, None))
    assert plan.blocked
    (problem,) = plan.problems
    assert (problem.row_number, problem.column) == (3, "KCPF reference")
    assert problem.message.startswith("KCP-0099 is not on this register")
    assert "remove the KCPF reference" in problem.message
    skipped = plan_import(register, validate_rows(headers, rows, Council.CHORLEY, None), skip_invalid=True)
    assert (skipped.to_add, skipped.to_update, skipped.unchanged) == ((), (), 1)


# ----------------------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------------------


def full_arrangement() -> Arrangement:
    return Arrangement(
        title="Waste collection",
        type=ArrangementType.CONTRACT,
        council=Council.CHORLEY,
        partner="Smith & Sons, Ltd",
        responsible_officer=OFFICER,
        service="Neighbourhoods",
        description='Household waste; "recycling"\nand garden waste',
        annual_value=Decimal("250000"),
        total_value=Decimal("1250000.5"),
        start_date=date(2025, 4, 1),
        end_date=date(2030, 3, 31),
        status=Status.KEY,
        reference="KCP-0007",
        version=3,
        source=SourceRecord(
            reference="C001",
            department="Neighbourhoods",
            supplier_details="1 High St, Chorley",
            irrecoverable_vat=Decimal("12.34"),
            review_date=date(2028, 4, 1),
            procurement_route="Open tender",
            sme_vcse="SME",
            registration_number="01234567",
        ),
    )


def test_the_export_is_in_the_lga_layout_with_kcpfs_own_columns() -> None:
    assert EXPORT_COLUMNS[:5] == ("Reference", "Title", "Department", "Description", "Supplier Name")
    assert EXPORT_COLUMNS[-4:] == ("KCPF reference", "KCPF status", "Responsible officer email", "Council")
    (row,) = export_rows([full_arrangement()])
    exported = dict(zip(EXPORT_COLUMNS, row, strict=True))
    assert exported["Value"] == "1250000.50"
    assert exported["Annual value"] == "250000.00"
    assert exported["Irrecoverable VAT"] == "12.34"
    assert exported["Start date"] == "01/04/2025"
    assert exported["End date"] == "31/03/2030"
    assert exported["Review date"] == "01/04/2028"
    assert exported["KCPF reference"] == "KCP-0007"
    assert exported["KCPF status"] == Status.KEY.label
    assert exported["Responsible officer email"] == "jo.bloggs@chorley.gov.uk"
    assert exported["Council"] == "Chorley Council"


def test_the_importer_recognises_every_export_column() -> None:
    columns = match_columns(EXPORT_COLUMNS)
    assert columns.extra == ()
    assert {name for name, _ in columns.fields} == set(FIELDS)


def imported_fields(a: Arrangement) -> tuple[object, ...]:
    return tuple(getattr(a, name) for name in IMPORTED_FIELDS)


def test_export_then_import_without_kcpf_references_gives_the_same_arrangements(tmp_path: Path) -> None:
    original = [
        full_arrangement(),
        Arrangement(
            title="Leisure",
            type=ArrangementType.PARTNERSHIP,
            council=Council.CHORLEY,
            partner="Active Trust",
            reference="KCP-0008",
            version=1,
            source=SourceRecord(extra=(("Lot", "2"), ("Notes", "=SUM(A1)"))),
        ),
    ]
    headers, rows = export_table(original)
    assert headers == [*EXPORT_COLUMNS, "Lot", "Notes"]
    path = tmp_path / "export.csv"
    write_csv(path, headers, rows)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert b"'=SUM(A1)" in path.read_bytes()
    read_headers, read_rows = read_csv(path)
    # The KCPF references name arrangements this (empty) register does not have: the rows are not added.
    refused = plan_import([], validate_rows(read_headers, read_rows, Council.CHORLEY, None))
    assert refused.blocked
    assert [p.message.split(" ")[0] for p in refused.problems] == ["KCP-0007", "KCP-0008"]
    # Without the KCPF reference column they are new contracts.
    kcpf = read_headers.index("KCPF reference")
    plan = plan_import(
        [],
        validate_rows(
            [h for i, h in enumerate(read_headers) if i != kcpf],
            [[c for i, c in enumerate(row) if i != kcpf] for row in read_rows],
            Council.CHORLEY,
            None,
        ),
    )
    assert plan.problems == ()
    assert plan.notes == ()
    assert [imported_fields(r.arrangement) for r in plan.to_add] == [imported_fields(a) for a in original]
    again = plan_import(original, validate_rows(read_headers, read_rows, Council.CHORLEY, None))
    assert again.unchanged == 2


SAFE_TEXT = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;\"()£-/'\n"),
    max_size=30,
).map(lambda t: t.strip().lstrip("'").strip())
ONE_LINE = SAFE_TEXT.map(lambda t: " ".join(t.split()))
MONEY = st.none() | st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
DATES = st.none() | st.dates(min_value=date(1990, 1, 1), max_value=date(2150, 12, 31))


@st.composite
def arrangements(draw: st.DrawFn, number: int) -> Arrangement:
    start, end = draw(DATES), draw(DATES)
    if start is not None and end is not None and end < start:
        start, end = end, start
    service = draw(ONE_LINE)
    return Arrangement(
        title=f"{draw(ONE_LINE)} {number}".strip(),
        type=ArrangementType.CONTRACT,
        council=Council.SOUTH_RIBBLE,
        partner=draw(ONE_LINE.filter(bool)),
        service=service,
        description=draw(SAFE_TEXT),
        annual_value=draw(MONEY),
        total_value=draw(MONEY),
        start_date=start,
        end_date=end,
        source=SourceRecord(
            reference=draw(ONE_LINE),
            department=service,
            supplier_details=draw(SAFE_TEXT),
            irrecoverable_vat=draw(MONEY),
            review_date=draw(DATES),
            procurement_route=draw(ONE_LINE),
            sme_vcse=draw(ONE_LINE),
            registration_number=draw(ONE_LINE),
        ),
    )


@FAST
@given(
    st.integers(min_value=1, max_value=4).flatmap(lambda n: st.tuples(*(arrangements(i) for i in range(n))))
)
def test_export_round_trips_through_csv_text(original: tuple[Arrangement, ...]) -> None:
    stream = io.StringIO()
    write_csv(stream, list(EXPORT_COLUMNS), export_rows(original))
    headers, rows = parse_csv_text(stream.getvalue())
    result = validate_rows(headers, rows, Council.SOUTH_RIBBLE, None)
    assert result.problems == ()
    assert [imported_fields(r.arrangement) for r in result.rows] == [imported_fields(a) for a in original]


# ----------------------------------------------------------------------------------------------------------
# Reading and writing CSV files
# ----------------------------------------------------------------------------------------------------------


def test_a_semicolon_delimited_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "semicolons.csv"
    path.write_text(
        'Contract Title;Supplier;Total Value;Start Date\n"Parks; grounds";Green Ltd;£1.250.000;01/04/2025\n'
        "Leisure;Active Ltd;£12,000;01/04/2024\n",
        encoding="utf-8",
    )
    headers, rows = read_csv(path)
    assert headers == ["Contract Title", "Supplier", "Total Value", "Start Date"]
    result = validate_rows(headers, rows, Council.CHORLEY, None)
    assert rows[0][0] == "Parks; grounds"
    assert [(p.row_number, p.column) for p in result.problems] == [(2, "Total Value")]
    assert result.rows[0].arrangement.total_value == Decimal("12000")


def test_a_tab_delimited_utf16_file_from_excel_is_read(tmp_path: Path) -> None:
    path = tmp_path / "unicode.txt"
    path.write_bytes("Title\tSupplier\tValue\r\nParks\tGreen Ltd\t£5,000\r\n".encode("utf-16"))
    assert read_csv(path) == (["Title", "Supplier", "Value"], [["Parks", "Green Ltd", "£5,000"]])


def test_utf8_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("Reference,Title,Supplier,Value\r\nC1,Parks,Green Ltd,£5\r\n".encode("utf-8-sig"))
    headers, rows = read_csv(path)
    assert headers[0] == "Reference"
    assert rows == [["C1", "Parks", "Green Ltd", "£5"]]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [("a,b,c\n1,2,3", ","), ("a;b;c\n1;2,5;3", ";"), ("a\tb\tc", "\t"), ('"a,b";c;d', ";"), ("single", ",")],
)
def test_the_delimiter_is_sniffed_from_the_header(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \r\n\r\n", "is empty"),
        (b",,,\r\nParks,Green,5\r\n", "no header row"),
        (b"PK\x03\x04rest-of-a-zip", "Excel workbook"),
    ],
)
def test_a_file_without_a_header_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        read_csv(path)


def test_a_missing_file_is_refused_plainly(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="There is no file"):
        read_csv(tmp_path / "nope.csv")


def test_write_csv_to_a_stream_guards_formulas_and_quotes_commas() -> None:
    stream = io.StringIO()
    write_csv(stream, ["Title", "Notes"], [["Smith, Jones", "=1+1"], ["-5", "@x"]])
    assert stream.getvalue() == "Title,Notes\r\n\"Smith, Jones\",'=1+1\r\n'-5,'@x\r\n"


def test_write_csv_replaces_a_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old", encoding="utf-8")
    write_csv(path, ["Title"], [["£5"]])
    assert path.read_bytes() == "\ufeffTitle\r\n£5\r\n".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_column_letters_count_like_a_spreadsheet() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 51, 701, 702)] == ["A", "Z", "AA", "AZ", "ZZ", "AAA"]


def test_a_problem_reads_as_a_sentence() -> None:
    assert str(RowProblem(7, "End date", "It is wrong.")) == "Row 7, End date: It is wrong."
    assert str(RowProblem(7, "", "It is wrong.")) == "Row 7: It is wrong."
