"""The list views and column formatting of `manifests/sharepoint/views.json`, checked against the schema and
rendered as SharePoint takes them: a view's query as CAML, a column's formatting as column-formatting JSON.

Microsoft Graph v1.0 has neither list views nor column formatting, so `provision.py` sends these through
SharePoint REST. Every choice value in the file is KCPF's key, turned here into the label SharePoint stores
(schema.json), so a renamed label needs no change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from connectors.sharepoint.schema import (
    MANIFEST_DIR,
    Column,
    ListSchema,
    Schema,
    SchemaInvalid,
    read_manifest,
)

VIEWS_FILE: Final = "views.json"
# SharePoint's own columns a view may show or sort by (LinkTitle: the title, linked to the item).
BUILT_IN: Final = frozenset({"LinkTitle", "Title", "ID", "Modified", "Created"})
# SharePoint's column-formatting classes that carry a colour (and an icon); the word is always shown too.
COLOUR_CLASSES: Final = frozenset(
    {
        "sp-field-severity--good",
        "sp-field-severity--low",
        "sp-field-severity--warning",
        "sp-field-severity--severeWarning",
        "sp-field-severity--blocked",
    }
)
FORMATTING_SCHEMA: Final = "https://developer.microsoft.com/json-schemas/sp/v2/column-formatting.schema.json"
_OPERATORS: Final = ("in", "notIn", "greaterThan", "onOrBefore", "onOrAfter")
_GROUPS: Final = ("all", "any")
_CAML_OPERATOR: Final = {"greaterThan": "Gt", "onOrBefore": "Leq", "onOrAfter": "Geq"}
_VALUE_TYPE: Final = {
    "text": "Text",
    "note": "Note",
    "choice": "Choice",
    "currency": "Currency",
    "number": "Number",
    "date": "DateTime",
    "dateTime": "DateTime",
    "boolean": "Boolean",
    "person": "User",
}


@dataclass(frozen=True)
class Condition:
    column: Column
    operator: str  # one of _OPERATORS
    values: tuple[str, ...] = ()  # labels as SharePoint stores them (in, notIn)
    number: float | None = None  # greaterThan
    days_from_today: int | None = None  # onOrBefore, onOrAfter

    def caml(self) -> str:
        field = f"<FieldRef Name={quoteattr(self.column.name)} />"
        kind = _VALUE_TYPE[self.column.type]
        if self.operator in {"in", "notIn"}:
            values = "".join(f'<Value Type="{kind}">{escape(v)}</Value>' for v in self.values)
            inner = f"<In>{field}<Values>{values}</Values></In>"
            return inner if self.operator == "in" else f"<Not>{inner}</Not>"
        tag = _CAML_OPERATOR[self.operator]
        if self.days_from_today is not None:
            value = f'<Value Type="DateTime"><Today OffsetDays="{self.days_from_today}" /></Value>'
        else:
            value = f'<Value Type="{kind}">{self.number:g}</Value>'
        return f"<{tag}>{field}{value}</{tag}>"


@dataclass(frozen=True)
class Group:
    """Conditions of which all hold ("all": CAML <And>) or any holds ("any": <Or>)."""

    kind: str  # "all" or "any"
    parts: tuple[Condition | Group, ...]

    def caml(self) -> str:
        return _joined("And" if self.kind == "all" else "Or", self.parts)


def _joined(tag: str, parts: tuple[Condition | Group, ...]) -> str:
    """CAML's <And> and <Or> take exactly two conditions: nest them."""
    clause = parts[-1].caml()
    for part in reversed(parts[:-1]):
        clause = f"<{tag}>{part.caml()}{clause}</{tag}>"
    return clause


@dataclass(frozen=True)
class View:
    list_key: str
    title: str
    columns: tuple[str, ...]
    where: tuple[Condition | Group, ...]  # all hold
    group_by: tuple[str, ...]
    order_by: tuple[tuple[str, bool], ...]  # (column, ascending)
    row_limit: int

    def query(self) -> str:
        """The view's CAML query (the inside of <View><Query>): GroupBy, OrderBy, Where."""
        parts = []
        if self.group_by:
            refs = "".join(f"<FieldRef Name={quoteattr(c)} />" for c in self.group_by)
            parts.append(f'<GroupBy Collapse="FALSE" GroupLimit="100">{refs}</GroupBy>')
        if self.order_by:
            refs = "".join(
                f"<FieldRef Name={quoteattr(c)} Ascending={quoteattr('TRUE' if up else 'FALSE')} />"
                for c, up in self.order_by
            )
            parts.append(f"<OrderBy>{refs}</OrderBy>")
        if self.where:
            parts.append(f"<Where>{_joined('And', self.where)}</Where>")
        return "".join(parts)

    def creation(self) -> dict[str, Any]:
        """The body of `POST .../views/add`: an SP.ViewCreationInformation (odata=verbose). Public, paged,
        never the default view (people keep the list's own)."""
        return {
            "parameters": {
                "__metadata": {"type": "SP.ViewCreationInformation"},
                "Title": self.title,
                "ViewFields": {"results": list(self.columns)},
                "Query": self.query(),
                "RowLimit": self.row_limit,
                "Paged": True,
                "PersonalView": False,
                "SetAsDefaultView": False,
            }
        }


@dataclass(frozen=True)
class ColumnFormat:
    list_key: str
    column: Column
    colours: tuple[tuple[str, str], ...]  # (label as stored, colour class), one per choice

    def formatter(self) -> dict[str, Any]:
        """Column-formatting JSON: the word itself (`@currentField`), on the choice's colour."""
        expression = "''"
        for label, colour in reversed(self.colours):
            expression = f"if(@currentField == {_quoted(label)}, {_quoted(colour)}, {expression})"
        return {
            "$schema": FORMATTING_SCHEMA,
            "elmType": "div",
            "attributes": {"class": f"={expression}"},
            "txtContent": "@currentField",
        }


@dataclass(frozen=True)
class ViewManifest:
    views: tuple[View, ...]
    formats: tuple[ColumnFormat, ...]

    def for_list(self, key: str) -> tuple[tuple[View, ...], tuple[ColumnFormat, ...]]:
        return (
            tuple(v for v in self.views if v.list_key == key),
            tuple(f for f in self.formats if f.list_key == key),
        )


def same_query(found: str, wanted: str) -> bool:
    """Whether two CAML queries say the same, however SharePoint stored ours: line endings (\r\n), whitespace
    between elements, attribute order, <X/> or <X></X>, and the order of GroupBy, OrderBy and Where (which
    means nothing). So a second `provision` does not rewrite a view SharePoint merely reformatted."""
    return _canonical(found) == _canonical(wanted)


def _canonical(caml: str) -> str:
    try:
        root = ElementTree.fromstring(f"<Query>{caml}</Query>")  # the parser turns \r\n into \n
    except ElementTree.ParseError:
        return caml
    for element in root.iter():
        element.text = (element.text or "").strip() or None
        element.tail = (element.tail or "").strip() or None
    root[:] = sorted(root, key=lambda part: part.tag)
    # C14N sorts attributes and writes every empty element as <X></X>.
    return ElementTree.canonicalize(ElementTree.tostring(root, encoding="unicode"))


def load_views(schema: Schema, directory: Path = MANIFEST_DIR) -> ViewManifest:
    """Reads and checks views.json against the schema; raises SchemaInvalid naming the view and what."""
    raw = read_manifest(directory / VIEWS_FILE)
    views = tuple(_view(schema, entry) for entry in _entries(raw, "views"))
    titles = [(v.list_key, v.title.lower()) for v in views]
    twice = sorted({title for key, title in titles if titles.count((key, title)) > 1})
    if twice:
        raise SchemaInvalid(f"views.json: the view title(s) {', '.join(twice)} are used twice in one list")
    formats = tuple(_format(schema, entry) for entry in _entries(raw, "columnFormatting"))
    return ViewManifest(views, formats)


def _entries(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = raw.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SchemaInvalid(f"views.json: “{key}” must be a list of objects")
    return entries


def _list(schema: Schema, raw: dict[str, Any], where: str) -> ListSchema:
    key = raw.get("list")
    try:
        return schema.list(str(key))
    except KeyError:
        raise SchemaInvalid(f"{where}: there is no list with key “{key}” in schema.json") from None


def _view(schema: Schema, raw: dict[str, Any]) -> View:
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise SchemaInvalid("views.json: every view needs a “title”")
    where = f"views.json view “{title}”"
    the_list = _list(schema, raw, where)

    def column(name: Any) -> str:
        if not isinstance(name, str) or (name not in BUILT_IN and name not in _names(the_list)):
            raise SchemaInvalid(f"{where}: {the_list.display_name} has no column “{name}”")
        return name

    columns = tuple(column(c) for c in raw.get("columns") or [])
    if not columns:
        raise SchemaInvalid(f"{where}: “columns” must name at least one column")
    conditions = tuple(_condition(the_list, c, where) for c in raw.get("where") or [])
    group_by = tuple(column(c) for c in raw.get("groupBy") or [])
    if len(group_by) > 2:
        raise SchemaInvalid(f"{where}: SharePoint groups by at most two columns")
    order_by = []
    for entry in raw.get("orderBy") or []:
        if not isinstance(entry, dict):
            raise SchemaInvalid(f"{where}: each “orderBy” entry is {{“column”: name, “ascending”: true}}")
        order_by.append((column(entry.get("column")), bool(entry.get("ascending", True))))
    limit = raw.get("rowLimit", 30)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 5000:
        raise SchemaInvalid(f"{where}: “rowLimit” must be a whole number from 1 to 5000")
    return View(the_list.key, title, columns, conditions, group_by, tuple(order_by), limit)


def _names(the_list: ListSchema) -> set[str]:
    return {c.name for c in the_list.columns}


def _condition(the_list: ListSchema, raw: Any, where: str) -> Condition | Group:
    if not isinstance(raw, dict):
        raise SchemaInvalid(f"{where}: each “where” condition must be an object")
    groups = [kind for kind in _GROUPS if kind in raw]
    if groups:
        kind = groups[0]
        parts = raw[kind]
        if len(raw) != 1 or not isinstance(parts, list) or len(parts) < 2:
            raise SchemaInvalid(
                f"{where}: “{kind}” stands alone in its object and lists at least two conditions"
            )
        return Group(kind, tuple(_condition(the_list, part, where) for part in parts))
    name = raw.get("column")
    try:
        column = the_list.column(str(name))
    except KeyError:
        raise SchemaInvalid(f"{where}: {the_list.display_name} has no column “{name}” to filter on") from None
    operators = [op for op in _OPERATORS if op in raw]
    if len(operators) != 1:
        raise SchemaInvalid(f"{where}: a condition on {name} needs exactly one of {', '.join(_OPERATORS)}")
    operator = operators[0]
    argument = raw[operator]
    if operator in {"in", "notIn"}:
        if column.type != "choice" or not isinstance(argument, list) or not argument:
            raise SchemaInvalid(f"{where}: “{operator}” needs a choice column and a list of its choices")
        labels = []
        for key in argument:
            try:
                labels.append(column.label_for(str(key)))
            except KeyError:
                keys = ", ".join(k for k, _ in column.choices)
                raise SchemaInvalid(f"{where}: {name} has no choice “{key}” (its choices: {keys})") from None
        return Condition(column, operator, values=tuple(labels))
    if operator == "greaterThan":
        if column.type not in {"number", "currency"} or not isinstance(argument, int | float):
            raise SchemaInvalid(f"{where}: “greaterThan” needs a number column and a number")
        return Condition(column, operator, number=float(argument))
    days = argument.get("daysFromToday") if isinstance(argument, dict) else None
    if column.type not in {"date", "dateTime"} or not isinstance(days, int) or isinstance(days, bool):
        raise SchemaInvalid(
            f"{where}: “{operator}” needs a date column and {{“daysFromToday”: a whole number}}"
        )
    return Condition(column, operator, days_from_today=days)


def _format(schema: Schema, raw: dict[str, Any]) -> ColumnFormat:
    where = f"views.json column formatting of “{raw.get('column')}”"
    the_list = _list(schema, raw, where)
    try:
        column = the_list.column(str(raw.get("column")))
    except KeyError:
        raise SchemaInvalid(f"{where}: {the_list.display_name} has no such column") from None
    if column.type != "choice":
        raise SchemaInvalid(f"{where}: only choice columns are formatted (a colour for each choice)")
    colours = raw.get("colours")
    if not isinstance(colours, dict):
        raise SchemaInvalid(f"{where}: “colours” maps each choice to a colour class")
    unknown = sorted(set(colours) - {k for k, _ in column.choices})
    if unknown:
        raise SchemaInvalid(f"{where}: {column.name} has no choice(s) {', '.join(unknown)}")
    missing = [k for k, _ in column.choices if k not in colours]
    if missing:
        raise SchemaInvalid(f"{where}: no colour for the choice(s) {', '.join(missing)}")
    wrong = sorted({str(c) for c in colours.values()} - COLOUR_CLASSES)
    if wrong:
        raise SchemaInvalid(
            f"{where}: {', '.join(wrong)} is not one of SharePoint's colour classes "
            f"({', '.join(sorted(COLOUR_CLASSES))})"
        )
    return ColumnFormat(
        the_list.key, column, tuple((label, str(colours[key])) for key, label in column.choices)
    )


def _quoted(text: str) -> str:
    """A string literal in a column-formatting expression."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
