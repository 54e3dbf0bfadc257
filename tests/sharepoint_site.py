"""A KCPF site on the fake Graph, and the register pointed at it: shared by the SharePoint register tests,
the fault test's writer process and the benchmark."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connectors.sharepoint.graph import GraphSession
from connectors.sharepoint.outbox import OUTBOX_FILE, Outbox
from connectors.sharepoint.register import SharePointRegister
from connectors.sharepoint.schema import load_schema
from tests.fake_graph import FakeGraph

# Tests must not sleep for real: retries wait at most this long, whatever Retry-After says.
QUICK: dict[str, Any] = {"backoff_base": 0.005, "backoff_cap": 0.02, "max_retries": 3, "timeout": 2.0}


def create_lists(session: GraphSession) -> None:
    """The KCPF lists, as the schema describes them (what `kcpf sharepoint provision` does on a new site)."""
    site = session.site_id()
    existing = {entry.get("displayName") for entry in session.get_all(f"/sites/{site}/lists")}
    for the_list in load_schema().lists:
        if the_list.display_name not in existing:
            session.post(f"/sites/{site}/lists", the_list.definition())


def session_for(fake: FakeGraph, **overrides: Any) -> GraphSession:
    return GraphSession(fake.graph_settings(**{**QUICK, **overrides}))


@contextmanager
def sharepoint_register(
    session: GraphSession, data_dir: Path, **options: Any
) -> Iterator[SharePointRegister]:
    outbox = Outbox(data_dir / OUTBOX_FILE)
    try:
        register = SharePointRegister(session, outbox, **options)
        register.connect()
        yield register
    finally:
        outbox.close()
