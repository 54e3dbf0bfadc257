"""The fake's SharePoint REST (`{site}/_api/...`): what Graph v1.0 lacks and provisioning needs, list views
and a field's column formatting, on the same lists as the Graph store.

Shapes: requests in odata=verbose (`{"parameters": {"__metadata": {"type": "SP.ViewCreationInformation"},
"ViewFields": {"results": [...]}, ...}}`; updates as POST with X-HTTP-Method: MERGE and IF-MATCH), answers
in odata=nometadata (plain JSON, collections in "value"; a view's fields as {"Items": [...], "SchemaXml"});
errors as {"odata.error": {"code", "message": {"lang", "value"}}}. As SharePoint Online does, it refuses an
app-only token got with a client secret (401 {"error_description": "Unsupported app only token."}) and, with
403, an app without the SharePoint API's Sites.Selected role or a grant on the site.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from tests.fake_graph.store import FakeList, Graph, Reply

BUILT_IN_FIELDS = ("LinkTitle", "Title", "ID", "Modified", "Created")


def rest_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"odata.error": {"code": code, "message": {"lang": "en-US", "value": message}}})


def _denied() -> Reply:
    return rest_error(
        403,
        "-2147024891, System.UnauthorizedAccessException",
        "Access denied. You do not have permission to perform this action or access this resource.",
    )


class _Refused(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _bad(message: str) -> _Refused:
    return _Refused(rest_error(400, "-1, Microsoft.SharePoint.Client.InvalidClientQueryException", message))


def handle_rest(
    graph: Graph,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    app_id: str,
) -> Reply:
    """`path` is the URL path (`/sites/kcpf/_api/web/...`); the caller has checked the token's audience,
    its credential type and its roles."""
    site, _, rest = path.partition("/_api/")
    if site.strip("/") != graph.site_path:
        return rest_error(404, "-2147024894, System.IO.FileNotFoundException", "File Not Found.")
    verb = (headers.get("X-HTTP-Method") or method).upper()
    roles = set(graph.grants.get(app_id, []))
    if not roles or (verb != "GET" and not roles & {"write", "owner", "fullcontrol"}):
        return _denied()
    with graph.lock:
        try:
            return _route(graph, verb, unquote(rest), headers, body)
        except _Refused as refused:
            return refused.reply


def _route(graph: Graph, verb: str, rest: str, headers: Mapping[str, str], body: bytes) -> Reply:
    match = re.fullmatch(r"web/lists\(guid'([^']+)'\)/(.*)", rest)
    if not match:
        raise _bad(f'The expression "{rest}" is not valid.')
    the_list = next((x for x in graph.lists.values() if x.id == match.group(1)), None)
    if the_list is None:
        raise _Refused(
            rest_error(404, "-1, System.ArgumentException", "List does not exist at site with URL.")
        )
    tail = match.group(2)
    if verb in {"MERGE", "PUT", "DELETE"} and headers.get("IF-MATCH", headers.get("If-Match")) is None:
        raise _bad("The request ETag value '' does not match the object's ETag value.")
    if tail == "views" and verb == "GET":
        graph.operations["rest.views.get"] += 1
        return Reply(200, {"value": [_view_json(v) for v in the_list.views]})
    if tail == "views/add" and verb == "POST":
        graph.operations["rest.views.create"] += 1
        return Reply(200, _view_json(_add_view(the_list, _parameters(body))))
    view_match = re.fullmatch(r"views\(guid'([^']+)'\)(?:/(.*))?", tail)
    if view_match:
        view = next((v for v in the_list.views if v["Id"] == view_match.group(1)), None)
        if view is None:
            raise _Refused(rest_error(404, "-2147024809, System.ArgumentException", "Invalid view."))
        return _view_route(the_list, view, verb, view_match.group(2) or "", body, graph)
    if tail.split("?")[0] == "fields" and verb == "GET":
        graph.operations["rest.fields.get"] += 1
        return Reply(200, {"value": [_field_json(the_list, c) for c in the_list.columns]})
    field_match = re.fullmatch(r"fields/getbyinternalnameortitle\('([^']+)'\)", tail)
    if field_match:
        column = next(
            (c for c in the_list.columns if field_match.group(1) in {c["name"], c.get("displayName")}), None
        )
        if column is None:
            raise _Refused(
                rest_error(
                    404,
                    "-2147024809, System.ArgumentException",
                    f"Column '{field_match.group(1)}' does not exist. It may have been deleted by another "
                    "user.",
                )
            )
        if verb == "GET":
            graph.operations["rest.fields.get"] += 1
            return Reply(200, _field_json(the_list, column))
        if verb == "MERGE":
            graph.operations["rest.fields.update"] += 1
            data = _json(body)
            if (data.get("__metadata") or {}).get("type") != "SP.Field":
                raise _bad("A type name was not specified for the entry (expected SP.Field).")
            formatter = data.get("CustomFormatter")
            if formatter is not None:
                if not isinstance(formatter, str):
                    raise _bad("CustomFormatter must be a string.")
                try:
                    json.loads(formatter)
                except json.JSONDecodeError:
                    raise _bad("CustomFormatter is not valid JSON.") from None
                the_list.formatters[column["name"]] = formatter
            return Reply(204)
    raise _bad(f'The expression "{tail}" is not valid.')


def _view_route(
    the_list: FakeList, view: dict[str, Any], verb: str, tail: str, body: bytes, graph: Graph
) -> Reply:
    if tail == "" and verb == "GET":
        graph.operations["rest.views.get"] += 1
        return Reply(200, _view_json(view))
    if tail == "" and verb == "MERGE":
        graph.operations["rest.views.update"] += 1
        data = _json(body)
        if (data.get("__metadata") or {}).get("type") != "SP.View":
            raise _bad("A type name was not specified for the entry (expected SP.View).")
        if "ViewQuery" in data:
            view["ViewQuery"] = _query(str(data["ViewQuery"]))
        if "RowLimit" in data:
            view["RowLimit"] = int(data["RowLimit"])
        return Reply(204)
    if tail == "viewfields" and verb == "GET":
        graph.operations["rest.viewfields.get"] += 1
        schema = '<FieldRef Name="' + '" /><FieldRef Name="'.join(view["fields"]) + '" />'
        return Reply(200, {"Items": list(view["fields"]), "SchemaXml": f"<FieldRefs>{schema}</FieldRefs>"})
    if tail == "viewfields/removeallviewfields" and verb == "POST":
        graph.operations["rest.viewfields.update"] += 1
        view["fields"] = []
        return Reply(200, {"odata.null": True})
    add = re.fullmatch(r"viewfields/addviewfield\('([^']+)'\)", tail)
    if add and verb == "POST":
        graph.operations["rest.viewfields.update"] += 1
        name = _field_name(the_list, add.group(1))
        if name not in view["fields"]:
            view["fields"].append(name)
        return Reply(200, {"odata.null": True})
    raise _bad(f'The expression "{tail}" is not valid.')


def _parameters(body: bytes) -> dict[str, Any]:
    data = _json(body)
    parameters = data.get("parameters")
    if not isinstance(parameters, dict):
        raise _bad("The parameter parameters does not exist in method Add.")
    kind = (parameters.get("__metadata") or {}).get("type")
    if kind not in (None, "SP.ViewCreationInformation"):
        raise _bad(f"A type named '{kind}' could not be resolved by the model.")
    return parameters


def _add_view(the_list: FakeList, parameters: dict[str, Any]) -> dict[str, Any]:
    title = parameters.get("Title")
    if not isinstance(title, str) or not title:
        raise _bad("The view's title cannot be empty.")
    raw_fields = parameters.get("ViewFields") or {}
    fields = raw_fields.get("results") if isinstance(raw_fields, dict) else None
    if not isinstance(fields, list):
        raise _bad('ViewFields must be {"results": [...]} in odata=verbose.')
    view = {
        "Id": str(uuid.uuid4()),
        "Title": title,
        "ViewQuery": _query(str(parameters.get("Query") or "")),
        "RowLimit": int(parameters.get("RowLimit") or 30),
        "Paged": bool(parameters.get("Paged", False)),
        "PersonalView": bool(parameters.get("PersonalView", False)),
        "DefaultView": bool(parameters.get("SetAsDefaultView", False)),
        "fields": [_field_name(the_list, str(f)) for f in fields],
    }
    the_list.views.append(view)
    return view


def _query(caml: str) -> str:
    try:
        ElementTree.fromstring(f"<Query>{caml}</Query>")
    except ElementTree.ParseError:
        raise _bad("Cannot complete this action. The view's query is not valid CAML.") from None
    return caml


def _field_name(the_list: FakeList, name: str) -> str:
    if name in BUILT_IN_FIELDS or the_list.column(name) is not None:
        return name
    raise _Refused(
        rest_error(
            400,
            "-2147024809, System.ArgumentException",
            f"Column '{name}' does not exist. It may have been deleted by another user.",
        )
    )


def _view_json(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k != "fields"} | {
        "ServerRelativeUrl": f"/Lists/{view['Title'].replace(' ', '')}.aspx"
    }


def _field_json(the_list: FakeList, column: dict[str, Any]) -> dict[str, Any]:
    return {
        "InternalName": column["name"],
        "Title": column.get("displayName", column["name"]),
        "CustomFormatter": the_list.formatters.get(column["name"]),
        "Hidden": bool(column.get("hidden", False)),
    }


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except json.JSONDecodeError:
        raise _bad("Invalid JSON. A token was not recognized in the JSON content.") from None
    if not isinstance(data, dict):
        raise _bad("Invalid JSON.")
    return data


def as_sharepoint_stores(caml: str) -> str:
    """Our CAML as SharePoint may give it back: \r\n and indentation between elements, attributes in another
    order, empty elements written out, and Where before OrderBy and GroupBy."""

    def write(element: ElementTree.Element, depth: int) -> str:
        pad = "\r\n" + "  " * depth
        attributes = "".join(f' {k}="{escape(v)}"' for k, v in reversed(element.attrib.items()))
        inner = escape(element.text or "") + "".join(write(child, depth + 1) for child in element)
        close = pad if len(element) else ""
        return f"{pad}<{element.tag}{attributes}>{inner}{close}</{element.tag}>"

    root = ElementTree.fromstring(f"<Query>{caml}</Query>")
    return "".join(write(part, 0) for part in sorted(root, key=lambda p: -ord(p.tag[0])))
