"""SharePoint settings: needed only with KCPF_STORE=sharepoint, checked at start-up, named when wrong, and
never echoing a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.sharepoint.graph import AUTHORITY_HOST, GRAPH_BASE_URL
from kcpf.cli.settings import InvalidSetting, Settings
from tests.fake_graph.tls import app_certificate

TENANT = "0f0e0d0c-0000-4000-8000-000000000001"
CLIENT = "1a2b3c4d-0000-4000-8000-000000000002"
SITE = "https://chorleysouthribble.sharepoint.com/sites/kcpf"
SECRET = "s3cret~Value.that-must-never-show"


def env(**values: str) -> dict[str, str]:
    base = {
        "KCPF_STORE": "sharepoint",
        "KCPF_SP_TENANT_ID": TENANT,
        "KCPF_SP_CLIENT_ID": CLIENT,
        "KCPF_SP_CLIENT_SECRET": SECRET,
        "KCPF_SP_SITE_URL": SITE,
    }
    base.update(values)
    return {k: v for k, v in base.items() if v != "-"}


def test_sqlite_is_the_default_and_needs_no_sharepoint_setting() -> None:
    settings = Settings.from_env({})
    assert settings.store == "sqlite"
    assert settings.sharepoint is None


def test_sharepoint_with_a_client_secret_defaults_to_the_real_graph() -> None:
    settings = Settings.from_env(env())
    assert settings.store == "sharepoint"
    graph = settings.sharepoint
    assert graph is not None
    assert (graph.tenant_id, graph.client_id, graph.site_url) == (TENANT, CLIENT, SITE)
    assert graph.graph_base_url == GRAPH_BASE_URL
    assert graph.authority_host == AUTHORITY_HOST
    assert SECRET not in repr(settings)


def test_sharepoint_with_a_certificate_and_a_local_graph(tmp_path: Path) -> None:
    pem = tmp_path / "kcpf.pem"
    app_certificate(pem)
    ca = tmp_path / "ca.pem"
    ca.write_text("trusted")
    settings = Settings.from_env(
        env(
            KCPF_SP_CLIENT_SECRET="-",
            KCPF_SP_CERTIFICATE_PATH=str(pem),
            KCPF_GRAPH_BASE_URL="https://127.0.0.1:8443/v1.0/",
            KCPF_GRAPH_AUTHORITY="https://127.0.0.1:8443",
            KCPF_GRAPH_CA_BUNDLE=str(ca),
        )
    )
    graph = settings.sharepoint
    assert graph is not None
    assert graph.certificate_path == pem
    assert graph.client_secret is None
    assert graph.graph_base_url == "https://127.0.0.1:8443/v1.0"
    assert graph.ca_bundle == ca


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"KCPF_STORE": "postgres"}, "KCPF_STORE is “postgres”: choose sqlite (the default) or sharepoint"),
        ({"KCPF_SP_TENANT_ID": "-"}, "KCPF_SP_TENANT_ID is not set"),
        ({"KCPF_SP_TENANT_ID": "chorley council"}, "KCPF_SP_TENANT_ID is “chorley council”"),
        ({"KCPF_SP_CLIENT_ID": "-"}, "KCPF_SP_CLIENT_ID is not set"),
        ({"KCPF_SP_CLIENT_ID": "kcpf-bot"}, "KCPF_SP_CLIENT_ID is “kcpf-bot”"),
        ({"KCPF_SP_CLIENT_SECRET": "-"}, "KCPF_SP_CERTIFICATE_PATH is not set"),
        ({"KCPF_SP_SITE_URL": "-"}, "KCPF_SP_SITE_URL is not set"),
        ({"KCPF_SP_SITE_URL": "http://x.sharepoint.com/sites/kcpf"}, "KCPF_SP_SITE_URL is “http://"),
        (
            {"KCPF_GRAPH_BASE_URL": "graph.local"},
            "KCPF_GRAPH_BASE_URL is “graph.local”: give an https address",
        ),
        ({"KCPF_GRAPH_AUTHORITY": "http://login"}, "KCPF_GRAPH_AUTHORITY is “http://login”"),
        ({"KCPF_GRAPH_CA_BUNDLE": "/no/such/ca.pem"}, "KCPF_GRAPH_CA_BUNDLE is “/no/such/ca.pem”"),
    ],
)
def test_bad_sharepoint_settings_are_named(values: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidSetting) as raised:
        Settings.from_env(env(**values))
    assert message in raised.value.message
    assert SECRET not in raised.value.message


def test_a_secret_and_a_certificate_together_are_refused_without_showing_the_secret(tmp_path: Path) -> None:
    pem = tmp_path / "kcpf.pem"
    app_certificate(pem)
    with pytest.raises(InvalidSetting) as raised:
        Settings.from_env(env(KCPF_SP_CERTIFICATE_PATH=str(pem)))
    assert "both set" in raised.value.message
    assert SECRET not in raised.value.message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read"),
        ("not a pem", "no unencrypted PEM private key"),
        ("key only", "no PEM certificate"),
    ],
)
def test_a_bad_certificate_file_is_named(tmp_path: Path, content: str | None, problem: str) -> None:
    pem = tmp_path / "kcpf.pem"
    if content == "key only":
        app_certificate(pem)
        pem.write_text(pem.read_text().split("-----BEGIN CERTIFICATE-----")[0])
    elif content is not None:
        pem.write_text(content)
    with pytest.raises(InvalidSetting) as raised:
        Settings.from_env(env(KCPF_SP_CLIENT_SECRET="-", KCPF_SP_CERTIFICATE_PATH=str(pem)))
    assert raised.value.message.startswith("KCPF_SP_CERTIFICATE_PATH")
    assert problem in raised.value.message


def test_sharepoint_settings_given_before_the_switch_are_checked_and_kept() -> None:
    settings = Settings.from_env(env(KCPF_STORE="sqlite"))
    assert settings.store == "sqlite"
    assert settings.sharepoint is not None
    with pytest.raises(InvalidSetting, match="KCPF_SP_CLIENT_ID"):
        Settings.from_env(env(KCPF_STORE="sqlite", KCPF_SP_CLIENT_ID="not a guid"))


def test_sharepoint_rest_is_the_site_host_unless_given() -> None:
    default = Settings.from_env(env()).sharepoint
    assert default is not None
    assert default.sharepoint_url is None
    assert default.sharepoint_origin == "https://chorleysouthribble.sharepoint.com"
    local = Settings.from_env(env(KCPF_SP_REST_URL="https://localhost:8443/")).sharepoint
    assert local is not None
    assert local.sharepoint_origin == "https://localhost:8443"


@pytest.mark.parametrize(
    "value",
    ["http://localhost:8443", "https://chorleysouthribble.sharepoint.com/sites/kcpf", "localhost"],
)
def test_a_bad_sharepoint_rest_address_is_named(value: str) -> None:
    with pytest.raises(InvalidSetting, match=r"^KCPF_SP_REST_URL is "):
        Settings.from_env(env(KCPF_SP_REST_URL=value))
