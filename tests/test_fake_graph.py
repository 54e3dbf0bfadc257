"""The fake Graph's own rules, checked with plain HTTP: the limits it enforces are the ones the adapter is
measured against, so they must hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.sharepoint.graph import GraphError, GraphSession
from connectors.sharepoint.schema import load_schema
from tests.fake_graph import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, FakeGraph, Fault
from tests.fake_graph.tls import app_certificate


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGraph]:
    with FakeGraph.running(tmp_path) as running:
        yield running


class Client:
    """Plain HTTP to the fake, with a token from its token endpoint."""

    def __init__(self, fake: FakeGraph) -> None:
        self.fake = fake
        self.http = requests.Session()
        self.verify = str(fake.ca_path)
        graph = GraphSession(fake.graph_settings())
        self.site_id = graph.site_id()
        self.token = graph._tokens.token()

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        url = path if path.startswith("https://") else f"{self.fake.base_url}{path}"
        return self.http.request(
            method,
            url,
            json=body,
            headers={"Authorization": f"Bearer {self.token}", **headers},
            verify=self.verify,
            timeout=10,
        )

    def make_list(self, key: str = "arrangements") -> str:
        answer = self.call("POST", f"/sites/{self.site_id}/lists", load_schema().list(key).definition())
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def items(self, list_id: str) -> str:
        return f"/sites/{self.site_id}/lists/{list_id}/items"


@pytest.fixture
def client(fake: FakeGraph) -> Client:
    return Client(fake)


def fill(client: Client, list_id: str, count: int) -> None:
    for start in range(0, count, 20):
        requests_ = [
            {
                "id": str(n),
                "method": "POST",
                "url": client.items(list_id),
                "headers": {"Content-Type": "application/json"},
                "body": {"fields": {"Title": f"T{n}", "KcpfReference": f"KCP-{n:04d}", "Council": "Chorley"}},
            }
            for n in range(start, min(start + 20, count))
        ]
        answer = client.call("POST", "/$batch", {"requests": requests_})
        assert answer.status_code == 200
        assert {r["status"] for r in answer.json()["responses"]} == {201}


def test_graph_refuses_requests_without_a_token(fake: FakeGraph, client: Client) -> None:
    answer = requests.get(f"{fake.base_url}/sites/{client.site_id}", verify=str(fake.ca_path), timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_an_app_without_the_site_grant_is_denied(fake: FakeGraph, client: Client) -> None:
    fake.graph.grants.clear()
    answer = client.call("GET", f"/sites/{client.site_id}/lists")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "accessDenied"


def test_a_read_grant_does_not_allow_writes(fake: FakeGraph, client: Client) -> None:
    fake.graph.grants[fake.client_id] = ["read"]
    assert client.call("GET", f"/sites/{client.site_id}/lists").status_code == 200
    assert client.call("POST", f"/sites/{client.site_id}/lists", {"displayName": "X"}).status_code == 403


def test_a_certificate_the_app_did_not_register_is_refused(fake: FakeGraph, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    app_certificate(other)
    graph = GraphSession(fake.graph_settings(certificate=True, certificate_path=other))
    with pytest.raises(GraphError) as raised:
        graph.site()
    assert raised.value.status == 401
    assert "invalid_client" in raised.value.message
    assert fake.tokens_issued == 0


def test_list_items_page_at_200_by_default_and_5000_at_most(client: Client) -> None:
    list_id = client.make_list()
    fill(client, list_id, 260)
    first = client.call("GET", f"{client.items(list_id)}?expand=fields").json()
    assert len(first["value"]) == DEFAULT_PAGE_SIZE
    second = client.call("GET", first["@odata.nextLink"]).json()
    assert len(second["value"]) == 60
    assert "@odata.nextLink" not in second
    assert [i["fields"]["KcpfReference"] for i in first["value"] + second["value"]] == [
        f"KCP-{n:04d}" for n in range(260)
    ]
    capped = client.call("GET", f"{client.items(list_id)}?$top=100000").json()
    assert len(capped["value"]) == 260  # fewer than the cap: one page
    assert MAX_PAGE_SIZE == 5000


def test_the_page_cap_holds_above_5000_items(fake: FakeGraph, client: Client) -> None:
    list_id = client.make_list()
    the_list = fake.graph.lists[list_id]
    with fake.graph.lock:  # 5,001 items straight into the store: quicker than 251 batches
        for n in range(MAX_PAGE_SIZE + 1):
            fake.graph._create_item(the_list, {"fields": {"Title": str(n), "KcpfReference": f"R{n}"}})
    page = client.call("GET", f"{client.items(list_id)}?$top=9999").json()
    assert len(page["value"]) == MAX_PAGE_SIZE
    rest = client.call("GET", page["@odata.nextLink"]).json()
    assert len(rest["value"]) == 1


def test_filters_need_an_indexed_column_unless_the_caller_accepts_the_risk(client: Client) -> None:
    list_id = client.make_list()
    fill(client, list_id, 3)
    indexed = client.call(
        "GET", f"{client.items(list_id)}?expand=fields&$filter=fields/KcpfReference eq 'KCP-0001'"
    )
    assert [i["fields"]["Title"] for i in indexed.json()["value"]] == ["T1"]
    refused = client.call("GET", f"{client.items(list_id)}?$filter=fields/Partner eq 'x'")
    assert refused.status_code == 400
    assert "HonorNonIndexedQueriesWarningMayFailRandomly" in refused.json()["error"]["message"]
    allowed = client.call(
        "GET",
        f"{client.items(list_id)}?$filter=fields/Title eq 'T2'",
        Prefer="HonorNonIndexedQueriesWarningMayFailRandomly",
    )
    assert len(allowed.json()["value"]) == 1


def test_if_match_with_a_stale_etag_is_412_and_star_always_matches(client: Client) -> None:
    list_id = client.make_list()
    fill(client, list_id, 1)
    item = client.call("GET", f"{client.items(list_id)}/1").json()
    fields = f"{client.items(list_id)}/1/fields"
    assert client.call("PATCH", fields, {"Partner": "A"}, **{"If-Match": item["eTag"]}).status_code == 200
    stale = client.call("PATCH", fields, {"Partner": "B"}, **{"If-Match": item["eTag"]})
    assert stale.status_code == 412
    assert client.call("GET", fields).json()["Partner"] == "A"
    assert client.call("PATCH", fields, {"Partner": "C"}, **{"If-Match": "*"}).status_code == 200
    assert client.call("GET", f"{client.items(list_id)}/1").json()["eTag"].endswith(',3"')


def test_batch_refuses_more_than_20_requests(client: Client) -> None:
    requests_ = [{"id": str(n), "method": "GET", "url": f"/sites/{client.site_id}"} for n in range(21)]
    answer = client.call("POST", "/$batch", {"requests": requests_})
    assert answer.status_code == 400
    assert "20" in answer.json()["error"]["message"]


def test_batch_dependencies_fail_with_424_when_the_first_fails(client: Client) -> None:
    list_id = client.make_list()
    requests_ = [
        {"id": "1", "method": "POST", "url": client.items(list_id), "body": {"fields": {"Nope": 1}}},
        {"id": "2", "method": "GET", "url": f"/sites/{client.site_id}", "dependsOn": ["1"]},
    ]
    answer = client.call("POST", "/$batch", {"requests": requests_}).json()
    assert {r["id"]: r["status"] for r in answer["responses"]} == {"1": 400, "2": 424}


def test_unique_values_are_enforced(client: Client) -> None:
    list_id = client.make_list()
    fill(client, list_id, 1)
    again = client.call(
        "POST", client.items(list_id), {"fields": {"Title": "x", "KcpfReference": "KCP-0000"}}
    )
    assert again.status_code == 409


def test_upload_chunks_must_be_multiples_of_320_kib_except_the_last(fake: FakeGraph, client: Client) -> None:
    library = client.make_list("reports")
    drive = client.call("GET", f"/sites/{client.site_id}/lists/{library}/drive").json()["id"]
    session = client.call("POST", f"/drives/{drive}/root:/r.docx:/createUploadSession", {}).json()
    url = session["uploadUrl"]
    total = 1_000_000
    bad = requests.put(
        url,
        data=b"x" * 2_000_000,
        headers={"Content-Range": f"bytes 0-1999999/{total * 3}"},
        verify=client.verify,
    )
    assert bad.status_code == 400
    assert "320 KiB" in bad.json()["error"]["message"]
    with_token = requests.put(
        url,
        data=b"x" * 327_680,
        headers={"Content-Range": f"bytes 0-327679/{total}", "Authorization": f"Bearer {client.token}"},
        verify=client.verify,
    )
    assert with_token.status_code == 401
    first = requests.put(
        url, data=b"x" * 327_680, headers={"Content-Range": f"bytes 0-327679/{total}"}, verify=client.verify
    )
    assert first.status_code == 202
    assert first.json()["nextExpectedRanges"] == ["327680-"]
    last = requests.put(
        url,
        data=b"y" * (total - 327_680),
        headers={"Content-Range": f"bytes 327680-{total - 1}/{total}"},
        verify=client.verify,
    )
    assert last.status_code == 201
    assert fake.graph.files[(drive, "r.docx")] == b"x" * 327_680 + b"y" * (total - 327_680)


def test_faults_follow_the_schedule_then_stop(fake: FakeGraph, client: Client) -> None:
    fake.faults.schedule(Fault("throttle", retry_after=3), Fault("unavailable", retry_after=None))
    throttled = client.call("GET", f"/sites/{client.site_id}")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert client.call("GET", f"/sites/{client.site_id}").status_code == 503
    assert client.call("GET", f"/sites/{client.site_id}").status_code == 200
    fake.faults.schedule(Fault("drop"))
    with pytest.raises(requests.ConnectionError):
        client.call("GET", f"/sites/{client.site_id}")


def test_random_faults_hit_about_the_share_asked(fake: FakeGraph, client: Client) -> None:
    fake.faults.random(0.3, (Fault("throttle", retry_after=0), Fault("unavailable")), seed=7)
    statuses = [client.call("GET", f"/sites/{client.site_id}").status_code for _ in range(200)]
    failed = sum(s != 200 for s in statuses)
    assert 40 <= failed <= 80
    fake.faults.clear()
    assert client.call("GET", f"/sites/{client.site_id}").status_code == 200


def test_dates_only_read_back_as_midnight_in_the_site_zone_in_utc(client: Client) -> None:
    list_id = client.make_list()
    created = client.call(
        "POST",
        client.items(list_id),
        {"fields": {"Title": "x", "KcpfReference": "R", "StartDate": "2026-06-01", "EndDate": "2026-12-01"}},
    ).json()
    assert created["fields"]["StartDate"] == "2026-05-31T23:00:00Z"  # British Summer Time
    assert created["fields"]["EndDate"] == "2026-12-01T00:00:00Z"


def test_latency_is_added_to_every_request(fake: FakeGraph, client: Client) -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    fake.sleep = record
    fake.latency = 0.05
    client.call("GET", f"/sites/{client.site_id}")
    client.call("GET", f"/sites/{client.site_id}/lists")
    assert waits == [0.05, 0.05]
