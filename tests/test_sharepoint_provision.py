"""`kcpf sharepoint provision` and `check` against the fake Graph: idempotent provisioning, and a check that
names each problem (permissions, site, lists, columns) with what to do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sharepoint.graph import GraphError, GraphSession
from connectors.sharepoint.provision import Provisioner
from connectors.sharepoint.schema import load_schema
from connectors.sharepoint.views import load_views
from kcpf.cli import main
from tests.fake_graph import FakeGraph, Fault

SCHEMA = load_schema()
VIEWS = load_views(SCHEMA)
WRITES = (
    "lists.create",
    "columns.create",
    "columns.update",
    "items.create",
    "items.update",
    "items.delete",
    "rest.views.create",
    "rest.views.update",
    "rest.viewfields.update",
    "rest.fields.update",
)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGraph]:
    with FakeGraph.running(tmp_path) as running:
        yield running


def provisioner(
    fake: FakeGraph, *, views: bool = True, sleep: Any = lambda _: None, **overrides: Any
) -> Provisioner:
    """With the app's certificate (SharePoint REST takes no other), unless a client secret is given."""
    settings = fake.graph_settings(certificate="client_secret" not in overrides, **overrides)
    return Provisioner(GraphSession(settings, sleep=sleep), SCHEMA, VIEWS if views else None)


def problems(fake: FakeGraph, **overrides: Any) -> list[str]:
    return [str(p) for p in provisioner(fake, **overrides).check().problems]


def test_provisioning_creates_every_list_and_column_then_has_nothing_to_do(fake: FakeGraph) -> None:
    first = provisioner(fake).provision()
    assert first.ok
    assert len(first.changes) == len(SCHEMA.lists) + len(VIEWS.views) + len(VIEWS.formats)
    for wanted in SCHEMA.lists:
        created = fake.graph.list_named(wanted.display_name)
        assert created.template == wanted.template
        names = {c["name"] for c in created.columns}
        assert {c.name for c in wanted.columns} <= names
    council = fake.graph.list_named("KCPF Arrangements").column("Council")
    assert council is not None
    assert council["indexed"] is True
    assert council["choice"]["choices"] == ["Chorley", "South Ribble", "Shared (Chorley and South Ribble)"]
    fake.reset_counts()
    second = provisioner(fake).provision()
    assert second.ok
    assert second.changes == ()
    assert not any(fake.graph.operations[w] for w in WRITES)


def test_check_on_an_empty_site_lists_every_missing_list(fake: FakeGraph) -> None:
    found = problems(fake)
    assert len(found) == len(SCHEMA.lists)
    assert found[0] == (
        "list “KCPF Arrangements”: is missing. What to do: run `kcpf sharepoint provision` to create it"
    )
    assert "library “KCPF Reports”: is missing" in found[-1]


def test_check_after_provisioning_finds_nothing_wrong(fake: FakeGraph) -> None:
    provisioner(fake).provision()
    report = provisioner(fake).check()
    assert report.problems == ()
    assert any("Sites.Selected only" in n for n in report.notes)
    assert any("grant on the site: write" in n for n in report.notes)


def test_drift_is_reported_then_put_right_without_deleting_anything(fake: FakeGraph) -> None:
    provisioner(fake).provision()
    arrangements = fake.graph.list_named("KCPF Arrangements")
    council = arrangements.column("Council")
    assert council is not None
    council["indexed"] = False
    council["choice"]["choices"] = ["Chorley", "South Ribble"]
    arrangements.columns.remove(next(c for c in arrangements.columns if c["name"] == "Partner"))
    notice = arrangements.column("NoticePeriod")
    assert notice is not None
    del notice["text"]
    notice["number"] = {"decimalPlaces": "none"}
    found = problems(fake)
    assert found == [
        "list “KCPF Arrangements”, column Council (Council): lacks the choice(s) "
        "Shared (Chorley and South Ribble). What to do: run `kcpf sharepoint provision`",
        "list “KCPF Arrangements”, column Council (Council): must be indexed (KCPF filters on it). "
        "What to do: run `kcpf sharepoint provision`",
        "list “KCPF Arrangements”, column Partner (Partner or supplier): is missing. "
        "What to do: run `kcpf sharepoint provision` to add it",
        "list “KCPF Arrangements”, column NoticePeriod (Notice period): is a number column; it must be text "
        "(recreate it: KCPF will not delete data). What to do: in SharePoint, rename the existing column "
        "NoticePeriod (its data stays) and run `kcpf sharepoint provision` to create it as KCPF needs it",
    ]
    report = provisioner(fake).provision()
    assert sorted(report.changes) == [
        "added list “KCPF Arrangements”, column Partner (Partner or supplier)",
        "list “KCPF Arrangements”, column Council (Council): indexed and added the choice(s) "
        "Shared (Chorley and South Ribble)",
    ]
    assert [p.where for p in report.problems] == [
        "list “KCPF Arrangements”, column NoticePeriod (Notice period)"
    ]
    assert "number" in notice  # never changed behind the administrator's back
    assert len(problems(fake)) == 1


def test_an_app_without_a_grant_on_the_site_is_told_how_to_get_one(fake: FakeGraph) -> None:
    fake.graph.grants.clear()
    found = problems(fake)
    assert len(found) == 1
    assert found[0].startswith(f"site {fake.site_url}: the app may not open the site")
    assert f'"id": "{fake.client_id}"' in found[0]
    assert "/permissions" in found[0]


def test_a_read_only_grant_is_named(fake: FakeGraph) -> None:
    provisioner(fake).provision()
    fake.graph.grants[fake.client_id] = ["read"]
    found = problems(fake)
    assert found == [
        "site permission: the app's grant on the site is read, not write. What to do: a SharePoint "
        'administrator changes the grant\'s roles to ["write"]'
    ]
    report = provisioner(fake).provision()
    assert report.ok  # nothing to create, so nothing refused


def test_permissions_that_cannot_be_listed_are_a_note_not_a_problem(fake: FakeGraph) -> None:
    provisioner(fake).provision()
    fake.graph.permissions_readable = False
    report = provisioner(fake).check()
    assert report.ok
    assert any("could not be listed" in n for n in report.notes)


def test_broad_permissions_break_least_privilege(tmp_path: Path) -> None:
    with FakeGraph.running(tmp_path, app_roles=("Sites.ReadWrite.All",)) as fake:
        provisioner(fake).provision()
        found = problems(fake)
    assert found == [
        "app permissions: the app holds Sites.ReadWrite.All, which reaches every site in the tenant. "
        "What to do: remove it from the app registration; keep only Sites.Selected, granted on the KCPF site"
    ]


def test_a_wrong_site_address_and_a_wrong_secret_are_named(fake: FakeGraph) -> None:
    wrong_site = problems(fake, site_url="https://chorleysouthribble.sharepoint.com/sites/nope")
    assert wrong_site[0].startswith(
        "site https://chorleysouthribble.sharepoint.com/sites/nope: does not exist"
    )
    assert "KCPF_SP_SITE_URL" in wrong_site[0]
    wrong_secret = problems(fake, client_secret="not-the-secret")
    assert wrong_secret[0].startswith("sign-in: ")
    assert "invalid_client" in wrong_secret[0]
    assert "not-the-secret" not in wrong_secret[0]


# --- the command line ----------------------------------------------------------------------------------


@pytest.fixture
def sharepoint_env(fake: FakeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeGraph:
    for name, value in {
        "KCPF_DATA_DIR": str(tmp_path / "data"),
        "KCPF_STORE": "sqlite",  # checked and provisioned before the switch
        "KCPF_SP_TENANT_ID": fake.tenant_id,
        "KCPF_SP_CLIENT_ID": fake.client_id,
        "KCPF_SP_CERTIFICATE_PATH": str(fake.certificate_path),
        "KCPF_SP_SITE_URL": fake.site_url,
        "KCPF_GRAPH_BASE_URL": fake.base_url,
        "KCPF_GRAPH_AUTHORITY": fake.authority_host,
        "KCPF_GRAPH_CA_BUNDLE": str(fake.ca_path),
        "KCPF_SP_REST_URL": fake.sharepoint_origin,
    }.items():
        monkeypatch.setenv(name, value)
    return fake


def test_the_commands_check_provision_and_check_again(
    sharepoint_env: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sharepoint", "check"]) == 2
    out = capsys.readouterr().out
    assert "problem: list “KCPF Assessments”: is missing." in out
    assert f"{len(SCHEMA.lists)} problems to put right before the bot can use SharePoint." in out

    assert main(["sharepoint", "provision"]) == 0
    out = capsys.readouterr().out
    assert "done: created the list “KCPF Arrangements” with" in out
    assert "done: created the library “KCPF Reports” with 2 columns" in out
    assert "done: created the view “Open governance gaps” of the list “KCPF Arrangements”" in out

    assert main(["sharepoint", "provision"]) == 0
    assert capsys.readouterr().out == (
        "Nothing to do: the site already has every list, library, column and view KCPF needs.\n"
    )

    assert main(["sharepoint", "check"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("The SharePoint site is ready for KCPF.\n")
    assert sharepoint_env.certificate_path.read_text() not in out


def test_the_commands_need_the_sharepoint_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KCPF_DATA_DIR", str(tmp_path / "data"))
    for name in ("KCPF_STORE", "KCPF_SP_SITE_URL", "KCPF_SP_TENANT_ID", "KCPF_SP_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    assert main(["sharepoint", "check"]) == 2
    assert "KCPF_SP_SITE_URL is not set" in capsys.readouterr().err


def test_sharepoint_failing_part_way_is_a_problem_not_a_traceback(fake: FakeGraph) -> None:
    fake.faults.random(1.0, (Fault("unavailable", retry_after=0, only="/lists"),))
    report = provisioner(fake, max_retries=2).check()
    assert [p.where for p in report.problems] == ["SharePoint"]
    assert "stopped answering part-way" in report.problems[0].what


# --- views and column formatting (SharePoint REST) -------------------------------------------------------

REST_WRITES = ("rest.views.create", "rest.views.update", "rest.viewfields.update", "rest.fields.update")


def test_provisioning_creates_the_views_and_formatting_then_makes_no_rest_write(fake: FakeGraph) -> None:
    first = provisioner(fake).provision()
    assert first.ok
    arrangements = fake.graph.list_named("KCPF Arrangements")
    made = {v["Title"]: v for v in arrangements.views}
    assert set(made) == {v.title for v in VIEWS.views}
    for view in VIEWS.views:
        assert made[view.title]["ViewQuery"] == view.query()
        assert made[view.title]["fields"] == list(view.columns)
        assert made[view.title]["PersonalView"] is False
        assert made[view.title]["DefaultView"] is False
    for fmt in VIEWS.formats:
        the_list = fake.graph.list_named(SCHEMA.list(fmt.list_key).display_name)
        assert json.loads(the_list.formatters[fmt.column.name]) == fmt.formatter()
    assert fake.counts["REST POST"] == len(VIEWS.views) + len(VIEWS.formats)  # each MERGE is a POST
    assert fake.tokens_issued == 2  # one for Graph, one for SharePoint: one provider, each scope cached

    fake.reset_counts()
    second = provisioner(fake).provision()
    assert second.ok
    assert second.changes == ()
    assert not any(fake.graph.operations[w] for w in REST_WRITES)
    assert fake.counts["REST POST"] == 0
    # Reads only: the views and their fields of the one list with views, the fields of the two formatted.
    assert fake.counts["REST GET"] == 1 + len(VIEWS.views) + 2


def test_check_names_each_missing_view_and_formatting(fake: FakeGraph) -> None:
    assert provisioner(fake, views=False).provision().ok  # lists and columns only
    found = problems(fake)
    assert len(found) == len(VIEWS.views) + len(VIEWS.formats)
    assert (
        "view “Awaiting SMT's decision” of the list “KCPF Arrangements”: is missing. What to do: run "
        "`kcpf sharepoint provision` to create it"
    ) in found
    assert (
        "list “KCPF Monitoring Updates”, column Performance (Performance (RAG)): lacks the formatting that "
        "shows each value as its word on its colour. What to do: run `kcpf sharepoint provision`"
    ) in found
    assert not any(fake.graph.operations[w] for w in REST_WRITES)  # check only reads


def test_a_view_changed_by_hand_is_reported_then_put_back(fake: FakeGraph) -> None:
    provisioner(fake).provision()
    view = next(
        v for v in fake.graph.list_named("KCPF Arrangements").views if v["Title"] == "Open governance gaps"
    )
    view["ViewQuery"] = '<OrderBy><FieldRef Name="Title" /></OrderBy>'
    view["fields"] = ["LinkTitle"]
    assert problems(fake) == [
        "view “Open governance gaps” of the list “KCPF Arrangements”: differs from manifests/sharepoint/"
        "views.json (its filter, sorting or grouping and its columns). What to do: run `kcpf sharepoint "
        "provision`, which updates it (a view holds no data: nothing is lost)"
    ]
    report = provisioner(fake).provision()
    assert report.changes == (
        "updated the view “Open governance gaps” of the list “KCPF Arrangements” to match views.json "
        "(its filter, sorting or grouping and its columns)",
    )
    wanted = next(v for v in VIEWS.views if v.title == "Open governance gaps")
    assert view["ViewQuery"] == wanted.query()
    assert view["fields"] == list(wanted.columns)
    assert len(fake.graph.list_named("KCPF Arrangements").views) == len(VIEWS.views)  # updated, not added
    assert problems(fake) == []


def test_with_a_client_secret_the_lists_are_made_and_the_views_need_a_certificate(fake: FakeGraph) -> None:
    report = provisioner(fake, client_secret=fake.client_secret).provision()
    assert len(report.changes) == len(SCHEMA.lists)  # all the Graph work
    assert report.ok  # what a site owner may have made by hand cannot be seen: a note, not a problem
    (note,) = report.notes
    assert note.startswith("views and column formatting not made or checked:")
    assert "certificate" in note
    assert "KCPF_SP_CERTIFICATE_PATH" in note
    assert "manifests/sharepoint/views.json" in note
    assert fake.counts["REST GET"] + fake.counts["REST POST"] == 0  # not even tried: it would be refused
    notes = provisioner(fake, client_secret=fake.client_secret).check().notes
    assert any(n.startswith("views and column formatting not checked:") for n in notes)


def test_sharepoint_refuses_a_token_got_with_a_client_secret(fake: FakeGraph) -> None:
    """The fake, like SharePoint Online: a REST call with a secret-based token is 401, and is named so."""
    provisioner(fake, views=False).provision()
    session = GraphSession(fake.graph_settings(), sleep=lambda _: None)
    arrangements = fake.graph.list_named("KCPF Arrangements")
    with pytest.raises(GraphError) as refused:
        session.rest("GET", f"web/lists(guid'{arrangements.id}')/views")
    assert refused.value.status == 401
    assert refused.value.message == "Unsupported app only token."
    assert problems(fake) != []  # with the certificate it reads fine (and finds the views missing)


def test_without_the_sharepoint_api_permission_the_fix_is_named(tmp_path: Path) -> None:
    with FakeGraph.running(tmp_path, sharepoint_roles=()) as fake:
        report = provisioner(fake).provision()
    assert len(report.changes) == len(SCHEMA.lists)
    (problem,) = report.problems
    assert problem.where == "list “KCPF Arrangements”: views and column formatting"
    assert "Office 365 SharePoint Online's Sites.Selected" in problem.fix
    assert "write grant covers both" in problem.fix


def test_throttled_rest_requests_wait_as_long_as_sharepoint_asks(fake: FakeGraph) -> None:
    waits: list[float] = []
    fake.faults.schedule(
        Fault("throttle", retry_after=3, only="/_api/"), Fault("throttle", retry_after=5, only="/_api/")
    )
    report = provisioner(fake, sleep=waits.append).provision()
    assert report.ok
    assert waits == [3.0, 5.0]
    assert len(fake.graph.list_named("KCPF Arrangements").views) == len(VIEWS.views)


def test_with_a_client_secret_provision_and_check_both_succeed_with_a_note(
    sharepoint_env: FakeGraph, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deploy script with `set -e` carries on: once the Graph work is done, both exit 0, and both say the
    views could not be made or checked, and why."""
    monkeypatch.delenv("KCPF_SP_CERTIFICATE_PATH")
    monkeypatch.setenv("KCPF_SP_CLIENT_SECRET", sharepoint_env.client_secret)
    assert main(["sharepoint", "provision"]) == 0
    out = capsys.readouterr().out
    assert "note: views and column formatting not made or checked:" in out
    assert main(["sharepoint", "provision"]) == 0  # every run, not only the first
    out = capsys.readouterr().out
    assert "note: views and column formatting not made or checked:" in out
    assert out.endswith(
        "Nothing else to do: the site already has every list, library and column KCPF needs.\n"
    )
    assert main(["sharepoint", "check"]) == 0
    out = capsys.readouterr().out
    assert "ok: views and column formatting not checked:" in out
    assert out.endswith("The SharePoint site is ready for KCPF.\n")


def test_a_view_sharepoint_stored_in_its_own_form_is_not_rewritten_by_a_second_provision(
    fake: FakeGraph,
) -> None:
    from tests.fake_graph.rest import as_sharepoint_stores

    assert provisioner(fake).provision().ok
    for stored in fake.graph.list_named("KCPF Arrangements").views:
        stored["ViewQuery"] = as_sharepoint_stores(stored["ViewQuery"])
    fake.reset_counts()
    again = provisioner(fake).provision()
    assert again.ok
    assert again.changes == ()
    assert fake.counts["REST POST"] == 0
    assert problems(fake) == []
