"""The Graph layer against the fake Graph: auth, retries, paging, If-Match, $batch, delta, uploads, and no
secret in logs or errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.sharepoint.graph import (
    UPLOAD_CHUNK_UNIT,
    BatchRequest,
    GraphError,
    GraphSession,
    GraphSettings,
    NotFoundError,
    OutcomeUnknown,
    PreconditionFailed,
    ThrottledOut,
    Unavailable,
    _chunks,
    deadline,
)
from connectors.sharepoint.schema import load_schema
from tests.fake_graph import FakeGraph, Fault


class Sleeps:
    """An injected sleep that records instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGraph]:
    with FakeGraph.running(tmp_path) as running:
        yield running


def session(fake: FakeGraph, sleeps: Sleeps | None = None, **overrides: Any) -> GraphSession:
    return GraphSession(fake.graph_settings(**overrides), sleep=sleeps or Sleeps(), random=lambda: 0.5)


def arrangements_list(graph: GraphSession) -> str:
    created = graph.post(f"/sites/{graph.site_id()}/lists", load_schema().list("arrangements").definition())
    return str(created["id"])


def item_fields(n: int) -> dict[str, Any]:
    return {"Title": f"Leisure contract {n}", "KcpfReference": f"KCP-{n:04d}", "Council": "Chorley"}


def items_path(graph: GraphSession, list_id: str) -> str:
    return f"/sites/{graph.site_id()}/lists/{list_id}/items"


# --- auth -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("certificate", [False, True], ids=["client secret", "certificate"])
def test_app_only_sign_in_finds_the_site_and_reuses_the_token(fake: FakeGraph, certificate: bool) -> None:
    graph = session(fake, certificate=certificate)
    site = graph.site()
    assert site["id"] == fake.graph.site_id
    assert site["webUrl"] == fake.site_url
    graph.get(f"/sites/{graph.site_id()}/lists")
    assert fake.tokens_issued == 1
    assert graph.token_requests == 2  # the authority's OpenID configuration, then the token
    assert graph.round_trips == 4


def test_a_wrong_secret_fails_with_the_authority_code_and_never_the_secret(
    fake: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-Secret-value-1234567890"
    graph = session(fake, client_secret=secret)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(GraphError) as raised:
        graph.site()
    assert raised.value.status == 401
    assert "invalid_client" in raised.value.message
    assert secret not in str(raised.value)
    assert secret not in caplog.text
    assert secret not in repr(graph.settings)


def test_no_token_or_secret_reaches_logs_or_errors(fake: FakeGraph, caplog: pytest.LogCaptureFixture) -> None:
    graph = session(fake, max_retries=1)
    caplog.set_level(logging.DEBUG)
    graph.site()
    fake.faults.schedule(Fault("unavailable", retry_after=0), Fault("unavailable", retry_after=0))
    with pytest.raises(Unavailable) as raised:
        graph.get(f"/sites/{graph.site_id()}/lists")
    token = graph._tokens.token()
    for text in (caplog.text, str(raised.value), repr(graph), repr(graph.settings)):
        assert token not in text
        assert fake.client_secret not in text


def test_a_certificate_file_without_a_key_is_named_not_shown(fake: FakeGraph, tmp_path: Path) -> None:
    bad = tmp_path / "cert-only.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n")
    with pytest.raises(ValueError, match="no unencrypted PEM private key"):
        session(fake, certificate=True, certificate_path=bad)


# --- retries ----------------------------------------------------------------------------------------------


def test_throttling_honours_retry_after_in_seconds(fake: FakeGraph) -> None:
    sleeps = Sleeps()
    graph = session(fake, sleeps)
    graph.site()
    fake.faults.schedule(Fault("throttle", retry_after=7))
    graph.get(f"/sites/{graph.site_id()}/lists")
    assert sleeps.calls == [7.0]
    assert graph.retries == 1


def test_retry_after_as_an_http_date_is_honoured() -> None:
    from connectors.sharepoint.graph import _retry_after

    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = _retry_after({"Retry-After": format_datetime(when, usegmt=True)})
    assert seconds is not None
    assert 28 <= seconds <= 30
    assert _retry_after({"retry-after": "12"}) == 12.0
    assert _retry_after({"Retry-After": "soon"}) is None
    assert _retry_after({}) is None


def test_retry_after_is_waited_whole_and_only_backoff_without_it_is_capped(fake: FakeGraph) -> None:
    sleeps = Sleeps()
    graph = session(fake, sleeps, backoff_cap=10.0, backoff_base=1.0)
    graph.site()
    fake.faults.schedule(
        Fault("throttle", retry_after=3600),
        Fault("unavailable", retry_after=None),
        Fault("unavailable", retry_after=None),
        Fault("unavailable", retry_after=None),
        Fault("unavailable", retry_after=None),
        Fault("unavailable", retry_after=None),
    )
    graph.get(f"/sites/{graph.site_id()}/lists")
    # Retrying before Retry-After is throttled again: 3600 is waited. Then full jitter (random 0.5 here) of
    # 1·2^(n-1), capped at 10.
    assert sleeps.calls == [3600.0, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_retry_after_longer_than_the_wait_limit_is_raised_with_it_not_waited(fake: FakeGraph) -> None:
    sleeps = Sleeps()
    graph = session(fake, sleeps, wait_limit=2.0)
    graph.site()
    fake.faults.schedule(Fault("throttle", retry_after=1), Fault("throttle", retry_after=120))
    with pytest.raises(ThrottledOut) as raised:
        graph.get(f"/sites/{graph.site_id()}/lists")
    assert sleeps.calls == [1.0]  # the short one waited here; the long one left to the caller
    assert raised.value.retry_after == 120.0


def test_within_a_deadline_no_wait_outlasts_it_and_requests_time_out_by_it(fake: FakeGraph) -> None:
    sleeps = Sleeps()
    graph = session(fake, sleeps, timeout=30.0)
    graph.site()
    fake.faults.schedule(Fault("throttle", retry_after=12))
    with deadline(8.0), pytest.raises(ThrottledOut) as raised:
        graph.get(f"/sites/{graph.site_id()}/lists")
    assert sleeps.calls == []
    assert raised.value.retry_after == 12.0
    fake.faults.schedule(Fault("timeout", delay=3.0))
    started = time.monotonic()
    with deadline(0.5), pytest.raises(Unavailable):
        graph.get(f"/sites/{graph.site_id()}/lists")
    assert time.monotonic() - started < 2.0  # the request's timeout was what was left, not 30 s
    with deadline(0.0), pytest.raises(Unavailable, match="no time left"):
        graph.get(f"/sites/{graph.site_id()}/lists")
    assert graph.get(f"/sites/{graph.site_id()}/lists") == {"value": []}  # outside the block: no deadline


def test_a_batch_whose_retry_after_is_too_long_comes_back_as_answered(fake: FakeGraph) -> None:
    sleeps = Sleeps()
    graph = session(fake, sleeps, wait_limit=2.0)
    site = graph.site_id()
    fake.faults.schedule(Fault("throttle", retry_after=60, only="/lists"))  # the sub-request, not $batch
    (answer,) = graph.batch([BatchRequest("1", "GET", f"/sites/{site}/lists")])
    assert sleeps.calls == []
    assert (answer.status, answer.retry_after) == (429, 60.0)


def test_throttled_until_the_retries_run_out_raises_throttled_out(fake: FakeGraph) -> None:
    sleeps = Sleeps()
    graph = session(fake, sleeps, max_retries=2)
    graph.site()
    fake.faults.schedule(*[Fault("throttle", retry_after=1)] * 3)
    with pytest.raises(ThrottledOut) as raised:
        graph.get(f"/sites/{graph.site_id()}/lists")
    assert raised.value.status == 429
    assert sleeps.calls == [1.0, 1.0]


def test_reads_survive_dropped_connections_and_timeouts(fake: FakeGraph) -> None:
    graph = session(fake, timeout=0.5)
    graph.site()
    fake.faults.schedule(Fault("drop"), Fault("timeout", delay=1.0), Fault("unavailable"))
    assert graph.get(f"/sites/{graph.site_id()}/lists") == {"value": []}
    assert graph.retries == 3


def test_a_create_whose_answer_is_lost_is_not_repeated_blind(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    fake.faults.schedule(Fault("drop-after"))
    with pytest.raises(OutcomeUnknown):
        graph.post(items_path(graph, list_id), {"fields": item_fields(1)})
    # It was applied once, and only once: the caller looks for it before sending it again.
    assert [i["KcpfReference"] for i in fake.graph.items("KCPF Arrangements")] == ["KCP-0001"]


def test_a_create_refused_with_503_is_retried(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    fake.faults.schedule(Fault("unavailable", retry_after=0))
    graph.post(items_path(graph, list_id), {"fields": item_fields(1)})
    assert len(fake.graph.items("KCPF Arrangements")) == 1


def test_not_found_and_bad_requests_are_not_retried(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    with pytest.raises(NotFoundError):
        graph.get(f"{items_path(graph, list_id)}/999")
    with pytest.raises(GraphError) as raised:
        graph.post(items_path(graph, list_id), {"fields": {"NoSuchColumn": "x"}})
    assert raised.value.status == 400
    assert "NoSuchColumn" in raised.value.message
    assert graph.retries == 0


# --- paging, filters, If-Match --------------------------------------------------------------------------


def test_get_all_follows_next_links_at_the_page_size_asked(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    graph.batch(
        [
            BatchRequest(str(n), "POST", items_path(graph, list_id), {"fields": item_fields(n)})
            for n in range(450)
        ]
    )
    graph.reset_counts()
    default_pages = graph.get_all(items_path(graph, list_id), {"expand": "fields"})
    assert len(default_pages) == 450
    assert graph.requests_by_kind["GET"] == 3  # 200 a page by default
    graph.reset_counts()
    one_page = graph.get_all(items_path(graph, list_id), {"expand": "fields", "$top": "5000"})
    assert [i["fields"]["KcpfReference"] for i in one_page] == [f"KCP-{n:04d}" for n in range(450)]
    assert graph.requests_by_kind["GET"] == 1


def test_an_update_with_a_stale_etag_is_refused_and_changes_nothing(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    created = graph.post(items_path(graph, list_id), {"fields": item_fields(1)})
    etag = created["eTag"]
    fields = f"{items_path(graph, list_id)}/{created['id']}/fields"
    graph.patch(fields, {"Partner": "Active Nation"}, if_match=etag)
    with pytest.raises(PreconditionFailed) as raised:
        graph.patch(fields, {"Partner": "Someone else"}, if_match=etag)
    assert raised.value.status == 412
    assert fake.graph.items("KCPF Arrangements")[0]["Partner"] == "Active Nation"


# --- $batch ------------------------------------------------------------------------------------------------


def test_batch_sends_at_most_20_a_call_and_answers_in_request_order(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    graph.reset_counts()
    requests = [
        BatchRequest(f"r{n}", "POST", items_path(graph, list_id), {"fields": item_fields(n)})
        for n in range(45)
    ]
    answers = graph.batch(requests)
    assert graph.requests_by_kind["$batch"] == 3
    assert [a.id for a in answers] == [r.id for r in requests]
    assert all(a.status == 201 for a in answers)
    assert [a.body["fields"]["KcpfReference"] for a in answers] == [f"KCP-{n:04d}" for n in range(45)]


def test_a_throttled_sub_request_is_retried_alone_after_its_retry_after(fake: FakeGraph) -> None:
    sleeps = Sleeps()
    graph = session(fake, sleeps)
    list_id = arrangements_list(graph)
    fake.faults.include_sub_requests = True
    graph.reset_counts()
    fake.reset_counts()
    # The first sub-request the fake sees is throttled; the $batch itself is answered 200.
    fake.faults.schedule(Fault("throttle", retry_after=4))
    answers = graph.batch(
        [
            BatchRequest(str(n), "POST", items_path(graph, list_id), {"fields": item_fields(n)})
            for n in range(5)
        ]
    )
    assert [a.status for a in answers] == [201] * 5
    assert sleeps.calls == [4.0]
    assert fake.graph.operations["items.create"] == 5
    assert graph.requests_by_kind["$batch"] == 2
    assert len(fake.graph.items("KCPF Arrangements")) == 5


def test_a_request_whose_dependency_was_throttled_is_retried_with_it(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    first = BatchRequest("a", "POST", items_path(graph, list_id), {"fields": item_fields(1)})
    second = BatchRequest("b", "GET", f"{items_path(graph, list_id)}/1", depends_on=["a"])
    fake.faults.schedule(Fault("throttle", retry_after=0, only="/items"))  # "a": then "b" is a 424
    answers = graph.batch([first, second])
    assert [a.status for a in answers] == [201, 200]
    assert len(fake.graph.items("KCPF Arrangements")) == 1


def test_a_retried_sub_request_no_longer_waits_for_a_dependency_that_succeeded(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    first = BatchRequest("a", "POST", items_path(graph, list_id), {"fields": item_fields(1)})
    second = BatchRequest("b", "GET", f"/sites/{graph.site_id()}/lists/{list_id}/columns", depends_on=["a"])
    fake.faults.schedule(Fault("throttle", retry_after=0, only="/columns"))
    answers = graph.batch([first, second])
    assert [a.status for a in answers] == [201, 200]
    assert graph.requests_by_kind["$batch"] == 2
    with pytest.raises(ValueError, match="unique"):
        graph.batch([first, first])


def test_a_conflict_inside_a_batch_is_returned_not_retried(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    created = graph.post(items_path(graph, list_id), {"fields": item_fields(1)})
    fields = f"{items_path(graph, list_id)}/{created['id']}/fields"
    graph.patch(fields, {"Partner": "A"})
    answers = graph.batch(
        [BatchRequest("1", "PATCH", fields, {"Partner": "B"}, headers={"If-Match": created["eTag"]})]
    )
    assert answers[0].status == 412
    assert graph.retries == 0


def test_dependent_requests_stay_in_one_batch() -> None:
    plain = [BatchRequest(str(n), "GET", "/x") for n in range(19)]
    tied = [BatchRequest("a", "GET", "/x"), BatchRequest("b", "GET", "/x", depends_on=["a"])]
    chunks = _chunks(plain + tied, 20)
    assert [len(c) for c in chunks] == [19, 2]
    assert [len(c) for c in _chunks([BatchRequest(str(n), "GET", "/x") for n in range(41)], 20)] == [
        20,
        20,
        1,
    ]


# --- delta -------------------------------------------------------------------------------------------------


def test_delta_gives_everything_then_only_changes_and_deletions(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    delta_path = f"{items_path(graph, list_id)}/delta"
    for n in range(3):
        graph.post(items_path(graph, list_id), {"fields": item_fields(n)})
    everything, link = graph.delta(delta_path)
    assert sorted(i["fields"]["KcpfReference"] for i in everything) == ["KCP-0000", "KCP-0001", "KCP-0002"]
    nothing, link = graph.delta(delta_path, link)
    assert nothing == []
    graph.patch(f"{items_path(graph, list_id)}/2/fields", {"Partner": "Changed"})
    graph.delete(f"{items_path(graph, list_id)}/3")
    changes, link = graph.delta(delta_path, link)
    assert [(c["id"], c.get("fields", {}).get("Partner"), "deleted" in c) for c in changes] == [
        ("2", "Changed", False),
        ("3", None, True),
    ]


def test_an_expired_delta_link_is_a_410(fake: FakeGraph) -> None:
    graph = session(fake)
    list_id = arrangements_list(graph)
    delta_path = f"{items_path(graph, list_id)}/delta"
    _, link = graph.delta(delta_path)
    graph.post(items_path(graph, list_id), {"fields": item_fields(1)})
    fake.graph.min_delta_seq = fake.graph.seq + 1
    with pytest.raises(GraphError) as raised:
        graph.delta(delta_path, link)
    assert raised.value.status == 410


# --- uploads -----------------------------------------------------------------------------------------------


def reports_drive(graph: GraphSession) -> str:
    library = graph.post(f"/sites/{graph.site_id()}/lists", load_schema().list("reports").definition())
    drive = graph.get(f"/sites/{graph.site_id()}/lists/{library['id']}/drive")
    return f"/drives/{drive['id']}"


def test_a_small_report_is_one_put(fake: FakeGraph) -> None:
    graph = session(fake)
    drive = reports_drive(graph)
    graph.reset_counts()
    item = graph.upload(drive, "2026-27 H1/SMT update.docx", b"PK small")
    assert graph.requests_by_kind == {"PUT": 1}
    assert item["webUrl"].endswith("/2026-27 H1/SMT update.docx")
    assert fake.graph.files[(drive.split("/")[-1], "2026-27 H1/SMT update.docx")] == b"PK small"


def test_a_large_report_goes_up_in_chunks_of_320_kib_multiples(fake: FakeGraph) -> None:
    graph = session(fake, upload_chunk=2 * UPLOAD_CHUNK_UNIT)
    drive = reports_drive(graph)
    data = bytes(range(256)) * (5 * 1024 * 1024 // 256) + b"tail"
    graph.reset_counts()
    item = graph.upload(drive, "big.docx", data)
    assert item["size"] == len(data)
    assert graph.requests_by_kind["upload-chunk"] == -(-len(data) // (2 * UPLOAD_CHUNK_UNIT))
    assert fake.graph.files[(drive.split("/")[-1], "big.docx")] == data


def test_a_chunk_whose_answer_was_lost_is_not_sent_twice(fake: FakeGraph) -> None:
    graph = session(fake, upload_chunk=8 * UPLOAD_CHUNK_UNIT)
    drive = reports_drive(graph)
    data = b"x" * (5 * 1024 * 1024)
    fake.faults.schedule(Fault("drop-after", only="/upload/"))
    item = graph.upload(drive, "lost.docx", data)
    assert fake.faults.injected == {"drop-after": 1}
    assert graph.requests_by_kind["upload-chunk"] == 4  # 2 chunks, the first sent again (416), 1 status
    assert item["size"] == len(data)
    assert fake.graph.files[(drive.split("/")[-1], "lost.docx")] == data


def test_upload_chunks_must_be_multiples_of_320_kib() -> None:
    with pytest.raises(ValueError, match="multiple of 327680"):
        GraphSettings(tenant_id="t", client_id="c", site_url="https://x/sites/y", upload_chunk=2_000_000)


def test_an_upload_session_whose_answer_was_lost_is_simply_asked_for_again(fake: FakeGraph) -> None:
    graph = session(fake)
    drive = reports_drive(graph)
    fake.faults.schedule(Fault("drop-after", only="createUploadSession"))
    data = b"z" * (5 * 1024 * 1024)
    assert graph.upload(drive, "again.docx", data)["size"] == len(data)
    assert fake.faults.injected == {"drop-after": 1}


@pytest.mark.parametrize(
    ("site_url", "path"),
    [
        ("https://tenant.sharepoint.com/sites/kcpf", "/sites/tenant.sharepoint.com:/sites/kcpf"),
        (
            "https://tenant.sharepoint.com/sites/KCPF Register/",
            "/sites/tenant.sharepoint.com:/sites/KCPF%20Register",
        ),
        ("https://tenant.sharepoint.com", "/sites/tenant.sharepoint.com"),
    ],
)
def test_the_site_is_addressed_by_host_and_path(site_url: str, path: str) -> None:
    settings = GraphSettings(tenant_id="t", client_id="c", site_url=site_url, client_secret="s")
    assert GraphSession(settings).site_path() == path


def test_a_refused_connection_is_known_never_sent_and_a_dropped_one_is_not() -> None:
    import socket

    import requests

    from connectors.sharepoint.graph import _never_sent

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(requests.ConnectionError) as refused:
        requests.post(f"http://127.0.0.1:{port}/v1.0/$batch", timeout=2)
    assert _never_sent(refused.value)
    assert not _never_sent(requests.ConnectionError("Connection aborted.", ConnectionResetError(104)))
