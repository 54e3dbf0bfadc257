"""The SharePoint schema in manifests/sharepoint: what the lists must hold for the bot and for people
browsing SharePoint, and a loader that names what is wrong in a malformed manifest."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from connectors.sharepoint.schema import MANIFEST_DIR, SchemaInvalid, load_schema
from kcpf.model import ArrangementType, Council, Status
from kcpf.monitoring import Rag

SCHEMA = load_schema()
RECORD_LISTS = ("arrangements", "assessments", "governance-reviews", "monitoring-updates", "smt-decisions")


def test_the_lists_and_the_reports_library() -> None:
    assert [(x.key, x.display_name, x.template) for x in SCHEMA.lists] == [
        ("arrangements", "KCPF Arrangements", "genericList"),
        ("assessments", "KCPF Assessments", "genericList"),
        ("governance-reviews", "KCPF Governance Reviews", "genericList"),
        ("monitoring-updates", "KCPF Monitoring Updates", "genericList"),
        ("smt-decisions", "KCPF SMT Decisions", "genericList"),
        ("reports", "KCPF Reports", "documentLibrary"),
    ]


@pytest.mark.parametrize("key", RECORD_LISTS)
def test_every_list_keeps_the_whole_record_and_the_write_id_for_exactly_once(key: str) -> None:
    columns = SCHEMA.list(key)
    record = columns.column("KcpfRecordJson")
    assert (record.type, record.hidden) == ("note", True)
    write_id = columns.column("KcpfWriteId")
    assert (write_id.type, write_id.indexed, write_id.hidden, write_id.unique) == ("text", True, True, True)
    reference = columns.column("KcpfReference")
    assert reference.indexed


def test_what_the_bot_filters_on_is_indexed() -> None:
    arrangements = SCHEMA.list("arrangements")
    for name in ("KcpfReference", "ArrangementStatus", "Council", "ResponsibleOfficerEmail"):
        assert arrangements.column(name).indexed, name
    assert arrangements.column("KcpfReference").unique
    assert SCHEMA.list("monitoring-updates").column("Period").indexed


@pytest.mark.parametrize(
    ("key", "column", "enum"),
    [
        ("arrangements", "Council", Council),
        ("arrangements", "ArrangementStatus", Status),
        ("arrangements", "ArrangementType", ArrangementType),
        ("smt-decisions", "Decision", Status),
        ("monitoring-updates", "Performance", Rag),
        ("monitoring-updates", "FinancialStability", Rag),
    ],
)
def test_every_value_the_framework_knows_has_a_choice(key: str, column: str, enum: type[StrEnum]) -> None:
    choice = SCHEMA.list(key).column(column)
    assert choice.type == "choice"
    assert [kcpf for kcpf, _ in choice.choices] == [member.value for member in enum]
    for member in enum:
        assert choice.value_for(choice.label_for(member.value)) == member.value


def test_the_types_sharepoint_users_expect() -> None:
    arrangements = SCHEMA.list("arrangements")
    assert arrangements.column("AnnualValue").definition()["currency"] == {"locale": "en-GB"}
    assert arrangements.column("StartDate").definition()["dateTime"]["format"] == "dateOnly"
    assert arrangements.column("DataShared").definition()["boolean"] == {}
    assert arrangements.column("ArrangementDescription").definition()["text"]["allowMultipleLines"] is True
    assert SCHEMA.list("assessments").column("AssessedAt").definition()["dateTime"]["format"] == "dateTime"


def write(directory: Path, schema: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
    (directory / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    if extra is not None:
        (directory / "extra-columns.json").write_text(json.dumps(extra), encoding="utf-8")
    return directory


def one_list(*columns: dict[str, Any]) -> dict[str, Any]:
    return {"lists": [{"key": "l", "displayName": "L", "template": "genericList", "columns": list(columns)}]}


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([{"name": "A B", "displayName": "A", "type": "text"}], "column A B: a name is a letter"),
        ([{"name": "A" * 33, "displayName": "A", "type": "text"}], "at most 32 characters"),
        ([{"name": "A", "displayName": "A", "type": "url"}], "column A: type must be one of"),
        ([{"name": "A", "displayName": "A", "type": "choice"}], "a choice column needs “choices”"),
        (
            [{"name": "A", "displayName": "A", "type": "note", "indexed": True}],
            "cannot index multi-line text",
        ),
        (
            [
                {"name": "A", "displayName": "A", "type": "text"},
                {"name": "A", "displayName": "B", "type": "text"},
            ],
            "column(s) defined twice: A",
        ),
        (
            [{"name": f"C{n}", "displayName": "C", "type": "text", "indexed": True} for n in range(21)],
            "at most 20 indexed columns",
        ),
    ],
)
def test_a_malformed_schema_is_named(tmp_path: Path, columns: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(SchemaInvalid, match=r"schema\.json list l") as raised:
        load_schema(write(tmp_path, one_list(*columns)))
    assert message in str(raised.value)


def test_extra_columns_are_merged_and_must_name_a_list(tmp_path: Path) -> None:
    extra = {"lists": {"l": [{"name": "Extra", "displayName": "Extra", "type": "boolean"}]}}
    schema = load_schema(write(tmp_path, one_list(), extra))
    assert schema.list("l").column("Extra").type == "boolean"
    with pytest.raises(SchemaInvalid, match="no list with key"):
        load_schema(write(tmp_path, one_list(), {"lists": {"nope": []}}))


def test_a_schema_that_is_not_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text("{", encoding="utf-8")
    with pytest.raises(SchemaInvalid, match="is not valid JSON"):
        load_schema(tmp_path)


def test_the_manifest_directory_is_in_the_repository() -> None:
    assert (MANIFEST_DIR / "schema.json").is_file()
