"""A fake Microsoft Graph (SharePoint sites, lists, items, delta, $batch, drive uploads) and Entra ID token
endpoint for tests and benchmarks: no SharePoint emulator exists. See `server.FakeGraph`."""

from tests.fake_graph.faults import Fault, Faults
from tests.fake_graph.server import CLIENT_ID, TENANT_ID, FakeGraph
from tests.fake_graph.store import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Graph

__all__ = [
    "CLIENT_ID",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "TENANT_ID",
    "FakeGraph",
    "Fault",
    "Faults",
    "Graph",
]
