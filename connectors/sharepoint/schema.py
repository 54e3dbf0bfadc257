"""The SharePoint lists and columns of the register, read from `manifests/sharepoint/` and checked.

`schema.json` is the lists, the reports library and their columns; `extra-columns.json` holds columns the
register adapter adds, by list key, in the same form. Column types are SharePoint's as users see them:
text, note (multi-line text), choice, currency, date, dateTime, number, boolean, person.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

MANIFEST_DIR: Final = Path(__file__).resolve().parents[2] / "manifests" / "sharepoint"
TYPES: Final = frozenset(
    {"text", "note", "choice", "currency", "date", "dateTime", "number", "boolean", "person"}
)
TEMPLATES: Final = frozenset({"genericList", "documentLibrary"})
# SharePoint's limits: internal names of at most 32 characters; at most 20 indexed columns in a list.
_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
MAX_INDEXED: Final = 20
_DECIMALS: Final = {0: "none", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


class SchemaInvalid(ValueError):
    """The manifest is malformed; the message names the file, list and column."""


@dataclass(frozen=True)
class Column:
    name: str
    display_name: str
    type: str
    description: str = ""
    indexed: bool = False
    required: bool = False
    hidden: bool = False
    unique: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (KCPF value, text SharePoint shows)
    locale: str = "en-GB"
    decimal_places: int | None = None

    def label_for(self, value: str) -> str:
        """The choice text for a KCPF value."""
        for kcpf, label in self.choices:
            if kcpf == value:
                return label
        raise KeyError(f"{self.name} has no choice for {value!r}")

    def value_for(self, label: str) -> str:
        """The KCPF value for a choice text (as SharePoint returns it)."""
        for kcpf, shown in self.choices:
            if shown == label:
                return kcpf
        raise KeyError(f"{self.name} has no choice {label!r}")

    @property
    def graph_facet(self) -> str:
        """The columnDefinition property that carries the type in Graph."""
        return {
            "text": "text",
            "note": "text",
            "choice": "choice",
            "currency": "currency",
            "date": "dateTime",
            "dateTime": "dateTime",
            "number": "number",
            "boolean": "boolean",
            "person": "personOrGroup",
        }[self.type]

    def facet_body(self) -> dict[str, Any]:
        if self.type == "text":
            return {"allowMultipleLines": False, "maxLength": 255}
        if self.type == "note":
            return {"allowMultipleLines": True, "linesForEditing": 6, "textType": "plain"}
        if self.type == "choice":
            return {
                "allowTextEntry": False,
                "choices": [label for _, label in self.choices],
                "displayAs": "dropDownMenu",
            }
        if self.type == "currency":
            return {"locale": self.locale}
        if self.type == "date":
            return {"format": "dateOnly", "displayAs": "standard"}
        if self.type == "dateTime":
            return {"format": "dateTime", "displayAs": "standard"}
        if self.type == "number":
            return {"decimalPlaces": _DECIMALS.get(self.decimal_places or 0, "automatic")}
        if self.type == "person":
            return {
                "allowMultipleSelection": False,
                "chooseFromType": "peopleOnly",
                "displayAs": "nameWithPresence",
            }
        return {}

    def definition(self) -> dict[str, Any]:
        """The columnDefinition Graph creates it from (`POST /sites/{id}/lists/{id}/columns`)."""
        return {
            "name": self.name,
            "displayName": self.display_name,
            "description": self.description,
            "indexed": self.indexed,
            "required": self.required,
            "hidden": self.hidden,
            "enforceUniqueValues": self.unique,
            self.graph_facet: self.facet_body(),
        }

    def problems(self, found: Mapping[str, Any]) -> list[str]:
        """How a column as Graph returns it differs from this one, in words for an administrator."""
        problems = []
        if self.graph_facet not in found:
            kind = next((k for k in _FACETS if k in found), "unknown")
            return [f"is a {kind} column; it must be {self.type} (recreate it: KCPF will not delete data)"]
        facet = found.get(self.graph_facet) or {}
        if self.type in {"text", "note"} and bool(facet.get("allowMultipleLines")) != (self.type == "note"):
            problems.append("must be multi-line text" if self.type == "note" else "must be single-line text")
        if (
            self.type in {"date", "dateTime"}
            and facet.get("format", "dateTime") != self.facet_body()["format"]
        ):
            problems.append(f"must show {'the date only' if self.type == 'date' else 'date and time'}")
        if self.type == "choice":
            missing = [label for _, label in self.choices if label not in (facet.get("choices") or [])]
            if missing:
                problems.append(f"lacks the choice(s) {', '.join(missing)}")
        if self.indexed and not found.get("indexed"):
            problems.append("must be indexed (KCPF filters on it)")
        return problems


_FACETS = (
    "text",
    "choice",
    "currency",
    "dateTime",
    "number",
    "boolean",
    "personOrGroup",
    "lookup",
    "calculated",
)


@dataclass(frozen=True)
class ListSchema:
    key: str
    display_name: str
    template: str
    description: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.display_name} has no column {name}")

    def definition(self) -> dict[str, Any]:
        """The body of `POST /sites/{id}/lists`: the list with all its columns at once."""
        return {
            "displayName": self.display_name,
            "description": self.description,
            "columns": [c.definition() for c in self.columns],
            "list": {"template": self.template},
        }


@dataclass(frozen=True)
class Schema:
    lists: tuple[ListSchema, ...]  # lists, then libraries
    required_roles: tuple[str, ...]

    def list(self, key: str) -> ListSchema:
        for item in self.lists:
            if item.key == key:
                return item
        raise KeyError(f"the schema has no list {key}")


def load_schema(directory: Path = MANIFEST_DIR) -> Schema:
    """Reads and checks `schema.json` (and `extra-columns.json` when present)."""
    main = read_manifest(directory / "schema.json")
    extra_path = directory / "extra-columns.json"
    extra = read_manifest(extra_path) if extra_path.exists() else {}
    extra_lists = extra.get("lists", {})
    if not isinstance(extra_lists, dict):
        raise SchemaInvalid(f"{extra_path}: “lists” must map list keys to columns")
    lists = []
    keys = set()
    for where, raw in [("lists", r) for r in main.get("lists", [])] + [
        ("libraries", r) for r in main.get("libraries", [])
    ]:
        if not isinstance(raw, dict):
            raise SchemaInvalid(f"schema.json {where}: each entry must be an object")
        key = _string(raw, "key", f"schema.json {where}")
        if key in keys:
            raise SchemaInvalid(f"schema.json: the list key {key} is used twice")
        keys.add(key)
        context = f"schema.json list {key}"
        template = _string(raw, "template", context)
        if template not in TEMPLATES:
            raise SchemaInvalid(f"{context}: template must be one of {', '.join(sorted(TEMPLATES))}")
        raw_columns = list(raw.get("columns", [])) + list(extra_lists.get(key, []))
        columns = tuple(_column(c, context) for c in raw_columns)
        names = [c.name for c in columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SchemaInvalid(f"{context}: column(s) defined twice: {', '.join(duplicates)}")
        if sum(c.indexed for c in columns) > MAX_INDEXED:
            raise SchemaInvalid(f"{context}: SharePoint allows at most {MAX_INDEXED} indexed columns")
        lists.append(
            ListSchema(
                key=key,
                display_name=_string(raw, "displayName", context),
                template=template,
                description=str(raw.get("description", "")),
                columns=columns,
            )
        )
    unknown = sorted(set(extra_lists) - keys)
    if unknown:
        raise SchemaInvalid(f"{extra_path}: no list with key(s) {', '.join(unknown)}")
    site = main.get("site", {})
    roles = tuple(str(r) for r in (site.get("requiredRoles") or ["write"]))
    return Schema(lists=tuple(lists), required_roles=roles)


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest file's JSON object; raises SchemaInvalid naming the file and what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SchemaInvalid(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise SchemaInvalid(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise SchemaInvalid(f"{path} must hold a JSON object")
    return data


def _string(raw: Mapping[str, Any], key: str, context: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SchemaInvalid(f"{context}: “{key}” must be a non-empty string")
    return value


def _column(raw: Any, context: str) -> Column:
    if not isinstance(raw, dict):
        raise SchemaInvalid(f"{context}: each column must be an object")
    name = _string(raw, "name", context)
    where = f"{context} column {name}"
    if not _NAME.fullmatch(name):
        raise SchemaInvalid(f"{where}: a name is a letter then letters, digits or _, at most 32 characters")
    kind = _string(raw, "type", where)
    if kind not in TYPES:
        raise SchemaInvalid(f"{where}: type must be one of {', '.join(sorted(TYPES))}")
    raw_choices = raw.get("choices", {})
    if kind == "choice" and (not isinstance(raw_choices, dict) or not raw_choices):
        raise SchemaInvalid(f"{where}: a choice column needs “choices”: {{KCPF value: text shown}}")
    if kind != "choice" and raw_choices:
        raise SchemaInvalid(f"{where}: only choice columns have choices")
    choices = tuple((str(k), str(v)) for k, v in raw_choices.items())
    if len({label for _, label in choices}) != len(choices):
        raise SchemaInvalid(f"{where}: two choices show the same text")
    decimals = raw.get("decimalPlaces")
    if decimals is not None and (not isinstance(decimals, int) or decimals not in _DECIMALS):
        raise SchemaInvalid(f"{where}: decimalPlaces must be 0 to 5")
    if kind == "note" and raw.get("indexed"):
        raise SchemaInvalid(f"{where}: SharePoint cannot index multi-line text")
    return Column(
        name=name,
        display_name=_string(raw, "displayName", where),
        type=kind,
        description=str(raw.get("description", "")),
        indexed=bool(raw.get("indexed", False)),
        required=bool(raw.get("required", False)),
        hidden=bool(raw.get("hidden", False)),
        unique=bool(raw.get("enforceUniqueValues", False)),
        choices=choices,
        locale=str(raw.get("locale", "en-GB")),
        decimal_places=decimals,
    )
