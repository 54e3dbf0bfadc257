"""The fake's state and Graph's semantics for SharePoint sites, lists, columns, items and drives.

Everything here is synchronous and runs under one lock; `server.py` turns HTTP (and `$batch` sub-requests)
into calls of `Graph.handle`. Shapes follow the Graph v1.0 reference for site, list, columnDefinition,
listItem (with `fields`), driveItem and uploadSession.

Page size: list items page at 200 by default and at most 5,000 (`$top` above 5,000 still gives 5,000 a page).
5,000 is SharePoint's list view threshold ("Manage large lists and libraries", Microsoft support); the 200
default and the 5,000 cap through Graph are as reported in "Microsoft Graph: Working with Paginated result
sets" (microsoft365blogs.com, 2022). The fake enforces both.

Dates: SharePoint keeps a date-only value as midnight in the site's time zone and Graph returns it in UTC,
so 1 June 2026 on a UK site reads back as "2026-05-31T23:00:00Z". The fake does the same (site time zone
Europe/London by default): read dates back by converting to the site's zone.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 5000
BATCH_LIMIT = 20
CHUNK_UNIT = 327_680
MAX_CHUNK = 60 * 1024 * 1024
TEXT_MAX = 255
PREFER_NON_INDEXED = "HonorNonIndexedQueriesWarningMayFailRandomly"
_FACETS = ("text", "choice", "currency", "dateTime", "number", "boolean", "personOrGroup", "lookup")


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


def error(status: int, code: str, message: str, **headers: str) -> Reply:
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": _now_iso(), "request-id": str(uuid.uuid4())},
        }
    }
    return Reply(status, body, dict(headers))


class GraphFailure(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def fail(status: int, code: str, message: str) -> GraphFailure:
    return GraphFailure(error(status, code, message))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _now_iso() -> str:
    return _now().strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Item:
    id: int
    fields: dict[str, Any]
    etag_guid: str
    version: int
    created: str
    modified: str
    seq: int

    @property
    def etag(self) -> str:
        return f'"{self.etag_guid},{self.version}"'


@dataclass
class FakeList:
    id: str
    name: str
    display_name: str
    description: str
    template: str
    columns: list[dict[str, Any]]
    created: str
    items: dict[int, Item] = field(default_factory=dict)
    next_id: int = 1
    drive_id: str | None = None
    tombstones: list[tuple[int, int]] = field(default_factory=list)  # (seq, item id)
    # SharePoint REST only (Graph has neither): the list's views, and column formatting by internal name.
    views: list[dict[str, Any]] = field(default_factory=list)
    formatters: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.columns if c["name"] == name), None)

    def values(self) -> list[dict[str, Any]]:
        """Each item's fields (a copy), for tests."""
        return [dict(i.fields) for i in sorted(self.items.values(), key=lambda i: i.id)]


@dataclass
class UploadSession:
    drive_id: str
    path: str
    total: int | None = None
    data: bytearray = field(default_factory=bytearray)


class Graph:
    """One tenant with one SharePoint site. Tests read and change the state through its attributes."""

    def __init__(
        self,
        *,
        hostname: str,
        site_path: str,
        client_id: str,
        site_timezone: str = "Europe/London",
    ) -> None:
        self.lock = threading.RLock()
        self.hostname = hostname
        self.site_path = site_path.strip("/")
        self.site_id = f"{hostname},{uuid.uuid4()},{uuid.uuid4()}"
        self.site_name = self.site_path.rsplit("/", 1)[-1]
        self.zone = ZoneInfo(site_timezone)
        self.lists: dict[str, FakeList] = {}
        self.files: dict[tuple[str, str], bytes] = {}
        self.file_items: dict[tuple[str, str], str] = {}
        self.sessions: dict[str, UploadSession] = {}
        self.seq = 0
        self.min_delta_seq = 0  # delta tokens older than this answer 410 (tests set it to force a resync)
        self.permissions_readable = (
            True  # False: GET /permissions answers 403, as for an app without FullControl
        )
        self.grants: dict[str, list[str]] = {client_id: ["write"]}  # app id -> roles on the site
        self.operations: Counter[str] = Counter()  # every request and batch sub-request, by operation
        self.base_url = ""  # set by the server: https://127.0.0.1:PORT/v1.0
        self.upload_base = ""

    # --- inspection helpers for tests ---------------------------------------------------------------------
    def list_named(self, display_name: str) -> FakeList:
        with self.lock:
            for item in self.lists.values():
                if item.display_name == display_name:
                    return item
        raise KeyError(display_name)

    def items(self, display_name: str) -> list[dict[str, Any]]:
        with self.lock:
            return self.list_named(display_name).values()

    # --- dispatch ------------------------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        app_id: str,
    ) -> Reply:
        """One Graph request; `target` is the path after /v1.0 with its query string."""
        parts = urlsplit(target)
        path = unquote(parts.path).lstrip("/")
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self.lock:
            try:
                return self._route(method.upper(), path, query, headers, body, app_id)
            except GraphFailure as failure:
                return failure.reply

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        body: bytes,
        app_id: str,
    ) -> Reply:
        site_by_path = re.fullmatch(r"sites/([^/:]+):/(.*?):?", path)
        if site_by_path and method == "GET":
            self.operations["site"] += 1
            self._require(app_id, write=False)
            if site_by_path.group(1) != self.hostname or site_by_path.group(2).strip("/") != self.site_path:
                raise fail(404, "itemNotFound", "Requested site could not be found")
            return Reply(200, self._site())
        match = re.fullmatch(r"sites/([^/]+)(/.*)?", path)
        if match:
            if match.group(1) != self.site_id:
                self.operations["site"] += 1
                raise fail(404, "itemNotFound", "Requested site could not be found")
            return self._site_route(method, (match.group(2) or "").strip("/"), query, headers, body, app_id)
        drive = re.fullmatch(r"drives/([^/]+)/(.*)", path)
        if drive:
            return self._drive_route(method, drive.group(1), drive.group(2), query, body, app_id)
        self.operations["unknown"] += 1
        raise fail(400, "BadRequest", f"Resource not found for the segment '{path.split('/')[0]}'.")

    def _require(self, app_id: str, *, write: bool) -> None:
        roles = self.grants.get(app_id, [])
        if not roles or (write and not ({"write", "owner", "fullcontrol"} & set(roles))):
            raise fail(403, "accessDenied", "Access denied")

    def _site(self) -> dict[str, Any]:
        return {
            "@odata.context": f"{self.base_url}/$metadata#sites/$entity",
            "id": self.site_id,
            "name": self.site_name,
            "displayName": self.site_name.upper(),
            "webUrl": f"https://{self.hostname}/{self.site_path}",
            "createdDateTime": "2025-10-16T09:00:00Z",
            "lastModifiedDateTime": _now_iso(),
            "siteCollection": {"hostname": self.hostname},
        }

    def _site_route(
        self,
        method: str,
        rest: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        body: bytes,
        app_id: str,
    ) -> Reply:
        write = method in {"POST", "PATCH", "PUT", "DELETE"}
        if rest == "":
            self.operations["site"] += 1
            self._require(app_id, write=False)
            return Reply(200, self._site())
        if rest == "permissions":
            self.operations["permissions"] += 1
            if not self.permissions_readable:
                raise fail(403, "accessDenied", "Either scp or roles claim need to be present in the token.")
            return Reply(200, {"value": [self._permission(a, r) for a, r in self.grants.items() if r]})
        self._require(app_id, write=write)
        if rest == "lists":
            if method == "GET":
                self.operations["lists.get"] += 1
                lists = [self._list_json(x) for x in self.lists.values()]
                if "columns" in query.get("expand", query.get("$expand", "")):
                    # `columns($select=name)`: each column's name only, as KCPF asks at connect
                    for entry, the_list in zip(lists, self.lists.values(), strict=True):
                        entry["columns"] = [{"name": c["name"]} for c in the_list.columns]
                return Reply(200, {"value": lists})
            if method == "POST":
                self.operations["lists.create"] += 1
                return self._create_list(_json_body(body))
        drive = re.fullmatch(r"drives/([^/]+)/(.*)", rest)
        if drive:
            return self._drive_route(method, drive.group(1), drive.group(2), query, body, app_id)
        match = re.fullmatch(r"lists/([^/]+)(?:/(.*))?", rest)
        if not match:
            raise fail(400, "BadRequest", f"Resource not found for the segment '{rest.split('/')[0]}'.")
        the_list = self._find_list(match.group(1))
        tail = match.group(2) or ""
        return self._list_route(method, the_list, tail, query, headers, body)

    def _permission(self, app_id: str, roles: list[str]) -> dict[str, Any]:
        identity = {"application": {"id": app_id, "displayName": "KCPF"}}
        return {
            "id": base64.urlsafe_b64encode(app_id.encode()).decode().rstrip("="),
            "roles": list(roles),
            "grantedToIdentitiesV2": [identity],
            "grantedToIdentities": [identity],
        }

    def _find_list(self, key: str) -> FakeList:
        for item in self.lists.values():
            if key in {item.id, item.display_name, item.name}:
                return item
        raise fail(404, "itemNotFound", "The specified list was not found")

    def _list_json(self, the_list: FakeList) -> dict[str, Any]:
        return {
            "@odata.etag": f'"{the_list.id},1"',
            "id": the_list.id,
            "name": the_list.name,
            "displayName": the_list.display_name,
            "description": the_list.description,
            "createdDateTime": the_list.created,
            "lastModifiedDateTime": the_list.created,
            "webUrl": f"https://{self.hostname}/{self.site_path}/Lists/{the_list.name}",
            "list": {"template": the_list.template, "hidden": False, "contentTypesEnabled": False},
            "parentReference": {"siteId": self.site_id},
        }

    def _create_list(self, body: dict[str, Any]) -> Reply:
        name = body.get("displayName")
        template = (body.get("list") or {}).get("template", "genericList")
        if not isinstance(name, str) or not name.strip():
            raise fail(400, "invalidRequest", "displayName is required")
        if any(x.display_name.lower() == name.lower() for x in self.lists.values()):
            raise fail(409, "nameAlreadyExists", "The list name is already in use.")
        if template not in {"genericList", "documentLibrary"}:
            raise fail(400, "invalidRequest", f"Unsupported list template '{template}'")
        the_list = FakeList(
            id=str(uuid.uuid4()),
            name=re.sub(r"[^A-Za-z0-9]", "", name),
            display_name=name,
            description=str(body.get("description", "")),
            template=template,
            columns=_builtin_columns(template),
            created=_now_iso(),
        )
        for column in body.get("columns") or []:
            the_list.columns.append(_new_column(the_list, column))
        if template == "documentLibrary":
            the_list.drive_id = "b!" + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.lists[the_list.id] = the_list
        return Reply(201, self._list_json(the_list))

    def _list_route(
        self,
        method: str,
        the_list: FakeList,
        tail: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        if tail == "" and method == "GET":
            self.operations["list.get"] += 1
            answer = self._list_json(the_list)
            if "columns" in query.get("expand", query.get("$expand", "")):
                answer["columns"] = [dict(c) for c in the_list.columns]
            return Reply(200, answer)
        if tail == "columns":
            if method == "GET":
                self.operations["columns.get"] += 1
                return Reply(200, {"value": [dict(c) for c in the_list.columns]})
            if method == "POST":
                self.operations["columns.create"] += 1
                column = _new_column(the_list, _json_body(body))
                the_list.columns.append(column)
                return Reply(201, dict(column))
        column_match = re.fullmatch(r"columns/([^/]+)", tail)
        if column_match and method == "PATCH":
            self.operations["columns.update"] += 1
            return self._update_column(the_list, column_match.group(1), _json_body(body))
        if tail == "drive" and method == "GET":
            self.operations["list.drive"] += 1
            if the_list.drive_id is None:
                raise fail(404, "itemNotFound", "The list has no drive")
            return Reply(200, self._drive_json(the_list))
        if tail == "items" and method == "GET":
            self.operations["items.list"] += 1
            return self._list_items(the_list, query, headers)
        if tail == "items" and method == "POST":
            self.operations["items.create"] += 1
            return self._create_item(the_list, _json_body(body))
        if tail == "items/delta" and method == "GET":
            self.operations["items.delta"] += 1
            return self._delta(the_list, query)
        item_match = re.fullmatch(r"items/(\d+)(/fields)?", tail)
        if item_match:
            item = the_list.items.get(int(item_match.group(1)))
            if item is None:
                raise fail(404, "itemNotFound", "The requested resource doesn't exist.")
            if method == "GET":
                self.operations["items.get"] += 1
                if item_match.group(2):
                    return Reply(200, self._fields_json(the_list, item))
                return Reply(200, self._item_json(the_list, item, _expand_fields(query)))
            if method == "PATCH" and item_match.group(2):
                self.operations["items.update"] += 1
                return self._update_item(the_list, item, _json_body(body), headers)
            if method == "DELETE" and not item_match.group(2):
                self.operations["items.delete"] += 1
                _check_if_match(item, headers)
                del the_list.items[item.id]
                self.seq += 1
                the_list.tombstones.append((self.seq, item.id))
                return Reply(204)
        raise fail(405, "methodNotAllowed", f"{method} is not supported on this resource")

    # --- columns -------------------------------------------------------------------------------------------
    def _update_column(self, the_list: FakeList, key: str, body: dict[str, Any]) -> Reply:
        column = next((c for c in the_list.columns if key in {c["id"], c["name"]}), None)
        if column is None:
            raise fail(404, "itemNotFound", "The column was not found")
        if column.get("readOnly"):
            raise fail(400, "invalidRequest", "The column is read-only")
        for facet in _FACETS:
            if facet in body and facet not in column:
                raise fail(400, "invalidRequest", "A column's type cannot be changed")
        for key_name, value in body.items():
            if key_name in {"id", "name"}:
                continue
            if key_name in _FACETS and isinstance(value, dict):
                column[key_name] = {**column[key_name], **value}
            else:
                column[key_name] = value
        return Reply(200, dict(column))

    # --- items ---------------------------------------------------------------------------------------------
    def _item_json(self, the_list: FakeList, item: Item, expand: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "@odata.etag": item.etag,
            "eTag": item.etag,
            "id": str(item.id),
            "createdDateTime": item.created,
            "lastModifiedDateTime": item.modified,
            "webUrl": f"https://{self.hostname}/{self.site_path}/Lists/{the_list.name}/{item.id}_.000",
            "createdBy": {"application": {"id": "app", "displayName": "KCPF"}},
            "lastModifiedBy": {"application": {"id": "app", "displayName": "KCPF"}},
            "parentReference": {"id": the_list.id, "siteId": self.site_id},
            "contentType": {"id": "0x0100", "name": "Item"},
        }
        if expand:
            answer["fields@odata.context"] = f"{self.base_url}/$metadata#sites('{self.site_id}')/fields"
            answer["fields"] = self._fields_json(the_list, item)
        return answer

    def _fields_json(self, the_list: FakeList, item: Item) -> dict[str, Any]:
        fields = {"@odata.etag": item.etag, "id": str(item.id)}
        fields.update(item.fields)
        fields.update(
            {
                "ContentType": "Item" if the_list.template == "genericList" else "Document",
                "Created": item.created,
                "Modified": item.modified,
                "_UIVersionString": f"{item.version}.0",
            }
        )
        return fields

    def _coerce(self, the_list: FakeList, name: str, value: Any) -> Any:
        column = the_list.column(name)
        if column is None:
            raise fail(400, "invalidRequest", f"Field '{name}' is not recognized")
        if column.get("readOnly"):
            raise fail(400, "invalidRequest", f"Field '{name}' is read-only")
        if value is None:
            return None
        if "text" in column:
            if not isinstance(value, str):
                raise fail(400, "invalidRequest", f"Field '{name}' expects a string")
            if not column["text"].get("allowMultipleLines") and len(value) > TEXT_MAX:
                raise fail(400, "invalidRequest", f"Field '{name}' is longer than {TEXT_MAX} characters")
            return value
        if "choice" in column:
            if not isinstance(value, str) or (
                value not in column["choice"].get("choices", [])
                and not column["choice"].get("allowTextEntry")
            ):
                raise fail(400, "invalidRequest", f"Field '{name}' has no choice '{value}'")
            return value
        if "boolean" in column:
            if not isinstance(value, bool):
                raise fail(400, "invalidRequest", f"Field '{name}' expects true or false")
            return value
        if "number" in column or "currency" in column:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(400, "invalidRequest", f"Field '{name}' expects a number")
            return value
        if "dateTime" in column:
            return self._date_value(name, value, column["dateTime"].get("format") == "dateOnly")
        return value

    def _date_value(self, name: str, value: Any, date_only: bool) -> str:
        if not isinstance(value, str):
            raise fail(400, "invalidRequest", f"Field '{name}' expects a date")
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                instant = datetime.combine(date.fromisoformat(value), time(), self.zone)
            else:
                instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
                if instant.tzinfo is None:
                    instant = instant.replace(tzinfo=self.zone)
        except ValueError:
            raise fail(400, "invalidRequest", f"Field '{name}' has an unreadable date '{value}'") from None
        if date_only:
            instant = datetime.combine(instant.astimezone(self.zone).date(), time(), self.zone)
        return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _check_unique(self, the_list: FakeList, fields: dict[str, Any], exclude: int | None) -> None:
        for column in the_list.columns:
            name = column["name"]
            if column.get("enforceUniqueValues") and fields.get(name) is not None:
                for other in the_list.items.values():
                    if other.id != exclude and other.fields.get(name) == fields[name]:
                        raise fail(
                            409,
                            "nameAlreadyExists",
                            f"The value already exists in the column '{name}', which requires unique values.",
                        )

    def _create_item(self, the_list: FakeList, body: dict[str, Any]) -> Reply:
        raw = body.get("fields")
        if not isinstance(raw, dict):
            raise fail(400, "invalidRequest", "Invalid request: the item needs fields")
        fields = {k: self._coerce(the_list, k, v) for k, v in raw.items() if not k.startswith("@")}
        fields = {k: v for k, v in fields.items() if v is not None}
        self._check_unique(the_list, fields, None)
        self.seq += 1
        now = _now_iso()
        item = Item(the_list.next_id, fields, str(uuid.uuid4()), 1, now, now, self.seq)
        the_list.next_id += 1
        the_list.items[item.id] = item
        return Reply(201, self._item_json(the_list, item, True))

    def _update_item(
        self, the_list: FakeList, item: Item, body: dict[str, Any], headers: Mapping[str, str]
    ) -> Reply:
        _check_if_match(item, headers)
        changes = {k: self._coerce(the_list, k, v) for k, v in body.items() if not k.startswith("@")}
        merged = {**item.fields, **changes}
        merged = {k: v for k, v in merged.items() if v is not None}
        self._check_unique(the_list, merged, item.id)
        self.seq += 1
        item.fields = merged
        item.version += 1
        item.modified = _now_iso()
        item.seq = self.seq
        return Reply(200, self._fields_json(the_list, item))

    def _list_items(self, the_list: FakeList, query: dict[str, str], headers: Mapping[str, str]) -> Reply:
        token = query.get("$skiptoken")
        if token is not None:
            state = _decode(token)
            query = state["query"]
            offset = int(state["offset"])
        else:
            offset = 0
        predicate = self._filter(the_list, query.get("$filter", query.get("filter", "")), headers)
        top = _page_size(query)
        items = sorted(the_list.items.values(), key=lambda i: i.id)
        matching = [i for i in items if predicate(self._fields_json(the_list, i))]
        page = matching[offset : offset + top]
        expand = _expand_fields(query)
        answer: dict[str, Any] = {
            "@odata.context": f"{self.base_url}/$metadata#sites('{self.site_id}')/lists('{the_list.id}')/"
            "items",
            "value": [self._item_json(the_list, i, expand) for i in page],
        }
        if offset + top < len(matching):
            next_token = _encode({"query": query, "offset": offset + top})
            answer["@odata.nextLink"] = (
                f"{self.base_url}/sites/{self.site_id}/lists/{the_list.id}/items?$skiptoken={next_token}"
            )
        return Reply(200, answer)

    def _filter(self, the_list: FakeList, text: str, headers: Mapping[str, str]) -> Any:
        if not text.strip():
            return lambda fields: True
        prefer = ",".join(v for k, v in headers.items() if k.lower() == "prefer")
        clauses = re.split(r"\s+and\s+", text.strip())
        tests = []
        for clause in clauses:
            match = re.fullmatch(r"fields/(\w+)\s+(eq|ne|gt|ge|lt|le)\s+(.+)", clause.strip())
            if not match:
                raise fail(400, "invalidRequest", f"Invalid filter clause: {clause}")
            name, op, literal = match.groups()
            column = the_list.column(name)
            if column is None:
                raise fail(400, "invalidRequest", f"Field '{name}' is not recognized")
            if not column.get("indexed") and PREFER_NON_INDEXED not in prefer:
                raise fail(
                    400,
                    "invalidRequest",
                    f"Field '{name}' cannot be referenced in filter or orderby as it is not indexed. "
                    f"Provide the 'Prefer: {PREFER_NON_INDEXED}' header to allow this, but be warned that "
                    "such queries may fail on large lists.",
                )
            tests.append((name, op, _literal(literal)))

        def predicate(fields: dict[str, Any]) -> bool:
            for name, op, value in tests:
                have = fields.get(name)
                if op == "eq" and have != value:
                    return False
                if op == "ne" and have == value:
                    return False
                if op in {"gt", "ge", "lt", "le"}:
                    if have is None:
                        return False
                    if not {"gt": have > value, "ge": have >= value, "lt": have < value, "le": have <= value}[
                        op
                    ]:
                        return False
            return True

        return predicate

    def _delta(self, the_list: FakeList, query: dict[str, str]) -> Reply:
        base = f"{self.base_url}/sites/{self.site_id}/lists/{the_list.id}/items/delta"
        if "$skiptoken" in query:
            state = _decode(query["$skiptoken"])
            since, upto, offset, expand = state["since"], state["upto"], state["offset"], state["expand"]
            top = state["top"]
        else:
            since = 0
            if "token" in query:
                try:
                    token = _decode(query["token"])
                    since, expand, top = int(token["seq"]), bool(token["expand"]), int(token["top"])
                except (ValueError, KeyError, TypeError):
                    raise fail(400, "invalidRequest", "Invalid delta token") from None
                if since < self.min_delta_seq:
                    raise GraphFailure(
                        error(
                            410, "resyncRequired", "The delta token has expired.", Location=f"{base}?token="
                        )
                    )
            else:
                expand, top = _expand_fields(query), _page_size(query)
            upto, offset = self.seq, 0
        changed: list[dict[str, Any]] = [
            self._item_json(the_list, i, bool(expand))
            for i in sorted(the_list.items.values(), key=lambda i: i.seq)
            if since < i.seq <= upto
        ]
        if since > 0:
            changed += [
                {"id": str(item_id), "deleted": {"state": "deleted"}}
                for seq, item_id in the_list.tombstones
                if since < seq <= upto
            ]
        page = changed[offset : offset + top]
        answer: dict[str, Any] = {
            "@odata.context": f"{self.base_url}/$metadata#Collection(listItem)",
            "value": page,
        }
        if offset + top < len(changed):
            state = {"since": since, "upto": upto, "offset": offset + top, "expand": expand, "top": top}
            answer["@odata.nextLink"] = f"{base}?$skiptoken={_encode(state)}"
        else:
            answer["@odata.deltaLink"] = (
                f"{base}?token={_encode({'seq': upto, 'expand': expand, 'top': top})}"
            )
        return Reply(200, answer)

    # --- drives --------------------------------------------------------------------------------------------
    def _drive_json(self, the_list: FakeList) -> dict[str, Any]:
        return {
            "id": the_list.drive_id,
            "driveType": "documentLibrary",
            "name": the_list.display_name,
            "webUrl": f"https://{self.hostname}/{self.site_path}/{the_list.name}",
            "createdDateTime": the_list.created,
        }

    def _library(self, drive_id: str) -> FakeList:
        for item in self.lists.values():
            if item.drive_id == drive_id:
                return item
        raise fail(404, "itemNotFound", "The drive was not found")

    def _drive_route(
        self, method: str, drive_id: str, rest: str, query: dict[str, str], body: bytes, app_id: str
    ) -> Reply:
        self._require(app_id, write=method != "GET")
        library = self._library(drive_id)
        list_item = re.fullmatch(r"items/01(\d{8})[0-9A-F]{8}/listItem(/fields)?", rest)
        if list_item:  # a file's list item: its columns in the library
            item = library.items.get(int(list_item.group(1)))
            if item is None:
                raise fail(404, "itemNotFound", "The resource could not be found.")
            if method == "PATCH" and list_item.group(2):
                self.operations["items.update"] += 1
                return self._update_item(library, item, _json_body(body), {})
            if method == "GET":
                self.operations["items.get"] += 1
                return Reply(200, self._item_json(library, item, _expand_fields(query)))
        match = re.fullmatch(r"root:/(.+?):(/content|/createUploadSession)?", rest)
        if not match:
            raise fail(400, "BadRequest", "Unsupported drive path")
        path, action = match.group(1).strip("/"), match.group(2) or ""
        if action == "/content" and method == "PUT":
            self.operations["upload.simple"] += 1
            if len(body) > 250 * 1024 * 1024:
                raise fail(413, "requestTooLarge", "Simple upload takes at most 250 MB")
            existed = (drive_id, path) in self.files
            return Reply(200 if existed else 201, self._store_file(library, path, bytes(body)))
        if action == "/createUploadSession" and method == "POST":
            self.operations["upload.session"] += 1
            session_id = uuid.uuid4().hex
            self.sessions[session_id] = UploadSession(drive_id, path)
            return Reply(
                200,
                {
                    "uploadUrl": f"{self.upload_base}/{session_id}",
                    "expirationDateTime": "2030-01-01T00:00:00Z",
                    "nextExpectedRanges": ["0-"],
                },
            )
        if action == "/content" and method == "GET":
            self.operations["download"] += 1
            data = self.files.get((drive_id, path))
            if data is None:
                raise fail(404, "itemNotFound", "The resource could not be found.")
            return Reply(200, raw=data, headers={"Content-Type": "application/octet-stream"})
        if action == "" and method == "GET":
            self.operations["driveItem.get"] += 1
            if (drive_id, path) not in self.files:
                raise fail(404, "itemNotFound", "The resource could not be found.")
            return Reply(200, self._drive_item(library, path))
        raise fail(405, "methodNotAllowed", f"{method} is not supported on this resource")

    def upload_status(self, session_id: str) -> Reply:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return error(404, "itemNotFound", "The upload session was not found or has expired.")
            return Reply(
                200,
                {
                    "expirationDateTime": "2030-01-01T00:00:00Z",
                    "nextExpectedRanges": [f"{len(session.data)}-"],
                },
            )

    def upload_chunk(self, session_id: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """PUT to an upload URL (no bearer token: the URL is the authorisation)."""
        with self.lock:
            self.operations["upload.chunk"] += 1
            session = self.sessions.get(session_id)
            if session is None:
                return error(404, "itemNotFound", "The upload session was not found or has expired.")
            if any(k.lower() == "authorization" for k in headers):
                return error(401, "unauthenticated", "Do not send an Authorization header to an upload URL.")
            content_range = next((v for k, v in headers.items() if k.lower() == "content-range"), "")
            match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range.strip())
            if not match:
                return error(400, "invalidRange", "Content-Range must be bytes START-END/TOTAL")
            start, end, total = (int(g) for g in match.groups())
            size = end - start + 1
            if size != len(body):
                return error(400, "invalidRange", "The Content-Range does not match the body's length")
            if start != len(session.data):
                return error(416, "invalidRange", f"Expected the range starting at {len(session.data)}")
            last = end + 1 == total
            if size > MAX_CHUNK:
                return error(400, "invalidRange", "A chunk must be smaller than 60 MiB")
            if not last and size % CHUNK_UNIT:
                return error(
                    400, "invalidRange", f"A chunk must be a multiple of 320 KiB ({CHUNK_UNIT} bytes)"
                )
            session.total = total
            session.data.extend(body)
            if not last:
                return Reply(
                    202,
                    {"expirationDateTime": "2030-01-01T00:00:00Z", "nextExpectedRanges": [f"{end + 1}-"]},
                )
            del self.sessions[session_id]
            library = self._library(session.drive_id)
            existed = (session.drive_id, session.path) in self.files
            item = self._store_file(library, session.path, bytes(session.data))
            return Reply(200 if existed else 201, item)

    def _store_file(self, library: FakeList, path: str, data: bytes) -> dict[str, Any]:
        assert library.drive_id is not None
        key = (library.drive_id, path)
        self.files[key] = data
        if key not in self.file_items:
            self.seq += 1
            now = _now_iso()
            item = Item(
                library.next_id,
                {"FileLeafRef": path.rsplit("/", 1)[-1]},
                str(uuid.uuid4()),
                1,
                now,
                now,
                self.seq,
            )
            library.items[item.id] = item
            library.next_id += 1
            self.file_items[key] = str(item.id)
        return self._drive_item(library, path)

    def _drive_item(self, library: FakeList, path: str) -> dict[str, Any]:
        assert library.drive_id is not None
        data = self.files[(library.drive_id, path)]
        item_id = self.file_items[(library.drive_id, path)]
        return {
            "id": f"01{item_id.zfill(8)}{library.id[:8].upper()}",
            "name": path.rsplit("/", 1)[-1],
            "size": len(data),
            "webUrl": f"https://{self.hostname}/{self.site_path}/{library.name}/{path}",
            "file": {"mimeType": "application/octet-stream"},
            "parentReference": {"driveId": library.drive_id, "driveType": "documentLibrary"},
            "createdDateTime": _now_iso(),
            "lastModifiedDateTime": _now_iso(),
        }


def _builtin_columns(template: str) -> list[dict[str, Any]]:
    def builtin(name: str, display: str, facet: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "name": name,
            "displayName": display,
            "description": "",
            "columnGroup": "Custom Columns" if name == "Title" else "_Hidden",
            "enforceUniqueValues": False,
            "hidden": False,
            "indexed": name == "ID",
            "readOnly": name not in {"Title", "FileLeafRef"},
            "required": name in {"Title", "FileLeafRef"}
            and (template == "genericList" or name == "FileLeafRef"),
            facet: extra,
        }

    columns = [
        builtin("Title", "Title", "text", allowMultipleLines=False, maxLength=255),
        builtin("ID", "ID", "number", decimalPlaces="none"),
        builtin("Created", "Created", "dateTime", format="dateTime"),
        builtin("Modified", "Modified", "dateTime", format="dateTime"),
        builtin("ContentType", "Content Type", "text", allowMultipleLines=False),
    ]
    if template == "documentLibrary":
        columns.append(builtin("FileLeafRef", "Name", "text", allowMultipleLines=False))
    return columns


def _new_column(the_list: FakeList, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", name):
        raise fail(400, "invalidRequest", f"Invalid column name '{name}'")
    if the_list.column(name) is not None:
        raise fail(409, "nameAlreadyExists", f"A column named '{name}' already exists.")
    facets = [f for f in _FACETS if f in body]
    if len(facets) != 1:
        raise fail(400, "invalidRequest", "A column needs exactly one type")
    if body.get("enforceUniqueValues") and not body.get("indexed"):
        raise fail(400, "invalidRequest", "A column that enforces unique values must be indexed.")
    facet = facets[0]
    detail = dict(body.get(facet) or {})
    if facet == "text":
        detail.setdefault("allowMultipleLines", False)
        if detail["allowMultipleLines"] and body.get("indexed"):
            raise fail(400, "invalidRequest", "A multi-line text column cannot be indexed.")
    if facet == "dateTime":
        detail.setdefault("format", "dateTime")
        detail.setdefault("displayAs", "default")
    column = {
        "id": str(uuid.uuid4()),
        "name": name,
        "displayName": str(body.get("displayName") or name),
        "description": str(body.get("description", "")),
        "columnGroup": "Custom Columns",
        "enforceUniqueValues": bool(body.get("enforceUniqueValues", False)),
        "hidden": bool(body.get("hidden", False)),
        "indexed": bool(body.get("indexed", False)),
        "readOnly": bool(body.get("readOnly", False)),
        "required": bool(body.get("required", False)),
        facet: detail,
    }
    return column


def _check_if_match(item: Item, headers: Mapping[str, str]) -> None:
    given = next((v for k, v in headers.items() if k.lower() == "if-match"), None)
    if given is None or given.strip() == "*":
        return
    if given.strip() != item.etag:
        raise fail(
            412,
            "preconditionFailed",
            f"The request ETag value '{given}' does not match the object's ETag value '{item.etag}'.",
        )


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text in {"true", "false"}:
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise fail(400, "invalidRequest", f"Unreadable literal {text}") from None


def _page_size(query: dict[str, str]) -> int:
    raw = query.get("$top", query.get("top"))
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        value = int(raw)
    except ValueError:
        raise fail(400, "invalidRequest", f"Invalid page size specified: '{raw}'.") from None
    if value < 1:
        raise fail(400, "invalidRequest", f"Invalid page size specified: '{raw}'.")
    return min(value, MAX_PAGE_SIZE)


def _expand_fields(query: dict[str, str]) -> bool:
    return "fields" in query.get("expand", query.get("$expand", ""))


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except json.JSONDecodeError:
        raise fail(400, "BadRequest", "Unable to read JSON request payload.") from None
    if not isinstance(value, dict):
        raise fail(400, "BadRequest", "The request body must be a JSON object.")
    return value


def _encode(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, json.JSONDecodeError):
        raise fail(400, "invalidRequest", "Invalid skip token") from None
    if not isinstance(value, dict):
        raise fail(400, "invalidRequest", "Invalid skip token")
    return value
