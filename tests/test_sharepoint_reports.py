"""Reports go to the "KCPF Reports" library, tagged with what they cover, and the bot gets their link."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.sharepoint.graph import GraphSession
from connectors.sharepoint.provision import Provisioner
from connectors.sharepoint.reports import ReportLibrary, safe_name
from connectors.sharepoint.schema import load_schema
from tests.fake_graph import FakeGraph

SCHEMA = load_schema()


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGraph]:
    with FakeGraph.running(tmp_path) as running:
        yield running


def library(fake: FakeGraph, *, provision: bool = True) -> ReportLibrary:
    graph = GraphSession(fake.graph_settings(), sleep=lambda _: None)
    if provision:
        assert Provisioner(graph, SCHEMA).provision().ok
    return ReportLibrary(graph, SCHEMA)


def test_a_report_is_uploaded_tagged_and_linked(fake: FakeGraph) -> None:
    reports = library(fake)
    published = reports.publish("2026-27 H1/KCP-0001 update.docx", b"PK\x03\x04 report", reference="KCP-0001")
    assert published.url == f"{fake.site_url}/KCPFReports/2026-27 H1/KCP-0001 update.docx"
    assert published.name == "KCP-0001 update.docx"
    files = fake.graph.list_named("KCPF Reports")
    assert [(f["FileLeafRef"], f.get("KcpfReference")) for f in files.values()] == [
        ("KCP-0001 update.docx", "KCP-0001")
    ]


def test_a_large_report_goes_in_an_upload_session_and_the_drive_is_found_once(fake: FakeGraph) -> None:
    reports = library(fake)
    reports.publish("small.docx", b"x", period="2026/27 H1")
    reports.graph.reset_counts()
    data = b"y" * (6 * 1024 * 1024)
    reports.publish("SMT update.docx", data, period="2026/27 H1")
    assert reports.graph.requests_by_kind == {"POST": 1, "upload-chunk": 2, "PATCH": 1}
    drive = reports.drive_path().split("/")[-1]
    assert fake.graph.files[(drive, "SMT update.docx")] == data


def test_a_missing_library_says_to_provision(fake: FakeGraph) -> None:
    with pytest.raises(LookupError, match="kcpf sharepoint provision"):
        library(fake, provision=False).publish("r.docx", b"x")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("SMT update: H1?.docx", "SMT update- H1-.docx"),
        ("2026/27 H1\\report.docx", "2026/27 H1/report.docx"),
        (" /a//b. /c.docx", "a/b/c.docx"),
    ],
)
def test_names_sharepoint_would_refuse_are_made_safe(name: str, safe: str) -> None:
    assert safe_name(name) == safe
