"""Reports in the "KCPF Reports" library: uploaded through Graph (one PUT when small, an upload session in
320 KiB-multiple chunks when large), tagged with the arrangement and period they cover, linked by the bot."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from connectors.sharepoint.graph import GraphSession
from connectors.sharepoint.schema import Schema

# Characters SharePoint refuses in file and folder names.
_FORBIDDEN = re.compile(r'["*:<>?\\|#%]')


@dataclass(frozen=True)
class PublishedReport:
    name: str
    url: str  # the file in SharePoint, for the bot to link to
    size: int


class ReportLibrary:
    def __init__(self, graph: GraphSession, schema: Schema, *, key: str = "reports") -> None:
        self.graph = graph
        self.library = schema.list(key)
        self._drive: str | None = None
        self._lock = threading.Lock()

    def drive_path(self) -> str:
        """`/drives/{id}` of the library, found once (two requests)."""
        with self._lock:
            if self._drive is None:
                site = self.graph.site_id()
                lists = self.graph.get_all(f"/sites/{site}/lists")
                found = next((x for x in lists if x.get("displayName") == self.library.display_name), None)
                if found is None:
                    name = self.library.display_name
                    raise LookupError(f"The library “{name}” is missing: run `kcpf sharepoint provision`.")
                drive = self.graph.get(f"/sites/{site}/lists/{found['id']}/drive")
                self._drive = f"/drives/{drive['id']}"
            return self._drive

    def publish(
        self, name: str, data: bytes, *, reference: str | None = None, period: str | None = None
    ) -> PublishedReport:
        """Uploads (replacing a file of the same name) and tags it; returns where it is."""
        path = safe_name(name)
        drive = self.drive_path()
        item = self.graph.upload(drive, path, data)
        tags: dict[str, Any] = {}
        if reference:
            tags["KcpfReference"] = reference
        if period:
            tags["Period"] = period
        if tags:
            self.graph.patch(f"{drive}/items/{item['id']}/listItem/fields", tags)
        return PublishedReport(name=str(item.get("name", path)), url=str(item["webUrl"]), size=len(data))


def safe_name(name: str) -> str:
    """A path SharePoint accepts: folders kept, forbidden characters replaced, no empty or dotted parts."""
    parts = [_FORBIDDEN.sub("-", p).strip().strip(".") for p in name.replace("\\", "/").split("/")]
    parts = [p for p in parts if p]
    if not parts:
        raise ValueError("a report needs a file name")
    return "/".join(parts)


class LibraryStore:
    """The `ReportStore` port on the KCPF Reports library: saving uploads, and the location is the file's
    address in SharePoint, where the library's own permissions apply."""

    def __init__(self, library: ReportLibrary) -> None:
        self.library = library

    def save(self, name: str, content: bytes) -> str:
        return self.library.publish(name, content).url
