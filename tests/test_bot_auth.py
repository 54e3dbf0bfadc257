"""The bot with app credentials: the channel's token checked on every request, replies carrying the bot's
own token, only the app's tenant served, and the secret never shown. Real parts throughout: the bot on a free
port, the channel's keys served by `tests/channel_keys.py`, the bot's sign-in at the fake Entra token endpoint
of `tests/fake_graph`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from microsoft_agents.activity import Activity

from bot.app import OUTSIDER_REFUSAL, outside_tenant
from bot.auth import KEYS_MAX_AGE, RETRY_AFTER_FAILURE, BotCredentials, ChannelAuth, Refused
from kcpf.cli.settings import InvalidSetting, Secret, Settings
from tests.bot_harness import OFFICER, OTHER, Chat, Running, running_bot
from tests.channel_keys import ChannelKeys, rsa_key, running_channel_keys
from tests.fake_graph.server import FakeGraph
from tests.test_serve import free_port, start_serve

APP_ID = "11111111-1111-4111-8111-111111111111"
TENANT = "00000000-0000-4000-8000-00000000c0de"
OTHER_TENANT = "99999999-9999-4999-8999-999999999999"
SECRET = "kcpf-test-app-password-Zq7v3Lr9Xw"


@dataclass
class Authenticated:
    bot: Running
    keys: ChannelKeys
    entra: FakeGraph
    data_dir: Path

    def token(self, **options: Any) -> str:
        return self.keys.token(APP_ID, self.bot.connector.url, **options)

    def chat(self, *, tenant: str = TENANT, person: Any = OFFICER) -> Chat:
        def authorize(activity: dict[str, Any]) -> str:
            return f"Bearer {self.keys.token(APP_ID, activity['serviceUrl'])}"

        return self.bot.chat(person, tenant=tenant, authorize=authorize)

    def activity(self, text: str = "help", **fields: Any) -> dict[str, Any]:
        return self.bot.chat(OFFICER, tenant=TENANT)._activity(text=text, **fields)

    async def post(self, activity: dict[str, Any], authorization: str | None) -> tuple[int, Any]:
        headers = {"Authorization": authorization} if authorization is not None else {}
        async with self.bot.session.post(self.bot.url, json=activity, headers=headers) as response:
            body = await response.json() if response.content_type == "application/json" else None
            if response.status == 401:
                assert response.headers.get("WWW-Authenticate") == "Bearer"
            return response.status, body

    def saved_rows(self) -> int:
        with sqlite3.connect(self.data_dir / "conversations.sqlite3") as db:
            return int(db.execute("SELECT count(*) FROM state").fetchone()[0])


@asynccontextmanager
async def authenticated(tmp_path: Path) -> AsyncIterator[Authenticated]:
    """The bot with credentials; the channel's keys: key-1 for msteams, key-2 for webchat only."""
    with FakeGraph.running(tmp_path, tenant_id=TENANT, client_id=APP_ID, client_secret=SECRET) as entra:
        async with running_channel_keys() as keys:
            keys.add_key("key-2", endorsements=("webchat",))
            credentials = BotCredentials(
                app_id=APP_ID,
                tenant_id=TENANT,
                client_secret=SECRET,
                authority=entra.authority_host,
                openid_metadata_url=keys.metadata_url,
                ca_bundle=entra.ca_path,
            )
            data_dir = tmp_path / "bot"
            data_dir.mkdir()
            async with running_bot(data_dir, credentials=credentials) as bot:
                yield Authenticated(bot, keys, entra, data_dir)


# Accepted.


async def test_a_valid_token_is_served_and_the_reply_carries_the_bots_own_token(tmp_path: Path) -> None:
    async with authenticated(tmp_path) as env:
        text = await env.chat().texts("help")
        assert "assess" in text
        connector = env.bot.connector
        assert connector.authorizations, "the bot called the connector"
        assert all(a.startswith("Bearer ") for a in connector.authorizations)
        token = jwt.decode(connector.authorizations[-1][7:], options={"verify_signature": False})
        assert token["appid"] == APP_ID  # signed in as the app, in its tenant
        assert token["tid"] == TENANT
        assert env.entra.tokens_issued >= 1


async def test_a_proactive_message_carries_the_bots_own_token(tmp_path: Path) -> None:
    """Reminders and notices (bot/proactive.py) sign in as the app too, as replies do."""
    from bot.proactive import Outcome

    async with authenticated(tmp_path) as env:
        await env.chat().say("help")  # where to reach the officer is kept from their turn
        bot = env.bot.bot
        assert bot is not None
        reference = await bot.references.find(OFFICER.email)
        assert reference is not None
        connector = env.bot.connector
        connector.authorizations.clear()
        delivery = await bot._proactive(reference, "Your half-year update is due in 14 days.")
        assert delivery.outcome is Outcome.SENT
        assert connector.sent[-1]["text"] == "Your half-year update is due in 14 days."
        (authorization,) = connector.authorizations
        token = jwt.decode(authorization.removeprefix("Bearer "), options={"verify_signature": False})
        assert (token["appid"], token["tid"]) == (APP_ID, TENANT)


async def test_a_token_within_the_five_minutes_of_skew_is_served(tmp_path: Path) -> None:
    async with authenticated(tmp_path) as env:
        now = time.time()
        expired_4_minutes_ago = env.token(issued=now - 3600 - 240, lifetime=3600)
        valid_in_4_minutes = env.token(issued=now + 240)
        for token in (expired_4_minutes_ago, valid_in_4_minutes):
            status, _ = await env.post(env.activity(), f"Bearer {token}")
            assert status == 202
        assert len(env.bot.connector.sent) == 2


# Refused: 401, and no turn.


def _forged(env: Authenticated) -> str:
    return env.token(signed_by=rsa_key())  # claims the published key-1, signed by another


REFUSALS: dict[str, Callable[[Authenticated], str | None]] = {
    "no token": lambda env: None,
    "not a bearer token": lambda env: "Basic a2NwZjpwYXNzd29yZA==",
    "not a JWT": lambda env: "Bearer not.a.jwt",
    "forged signature": lambda env: f"Bearer {_forged(env)}",
    "expired beyond the skew": lambda env: f"Bearer {env.token(issued=time.time() - 3600 - 400)}",
    "not valid yet beyond the skew": lambda env: f"Bearer {env.token(issued=time.time() + 400)}",
    "another app id": lambda env: f"Bearer {env.keys.token(OTHER_TENANT, env.bot.connector.url)}",
    "unknown key": lambda env: f"Bearer {env.token(kid='key-9', signed_by=rsa_key())}",
    "wrong issuer": lambda env: f"Bearer {env.token(issuer=f'https://sts.windows.net/{TENANT}/')}",
    "serviceUrl claim mismatch": lambda env: (
        f"Bearer {env.keys.token(APP_ID, 'https://smba.trafficmanager.net/evil/')}"
    ),
    "key not endorsed for the channel": lambda env: f"Bearer {env.token(kid='key-2')}",
    "no serviceUrl claim": lambda env: f"Bearer {env.token(serviceurl=None)}",
    "an audience list holding the app id": lambda env: f"Bearer {env.token(aud=[APP_ID, OTHER_TENANT])}",
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_a_request_without_a_good_channel_token_is_refused_and_no_turn_runs(
    tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kcpf")
    async with authenticated(tmp_path) as env:
        authorization = REFUSALS[case](env)
        status, body = await env.post(env.activity("new"), authorization)
        assert status == 401, case
        assert body == {"error": "not authenticated"}
        assert env.bot.connector.sent == []
        assert env.bot.connector.authorizations == []  # not even the members API
        assert env.saved_rows() == 0
    refusals = [r for r in caplog.records if "refused a request to /api/messages" in r.getMessage()]
    assert len(refusals) == 1
    if authorization is not None:
        assert authorization.split()[-1] not in caplog.text  # the token is never logged


async def test_the_service_url_claim_is_compared_without_regard_to_case(tmp_path: Path) -> None:
    async with authenticated(tmp_path) as env:
        token = env.keys.token(APP_ID, env.bot.connector.url.upper())
        status, _ = await env.post(env.activity(), f"Bearer {token}")
        assert status == 202


async def test_a_valid_token_for_a_different_activity_channel_is_refused(tmp_path: Path) -> None:
    async with authenticated(tmp_path) as env:
        status, _ = await env.post(env.activity(channelId="webchat"), f"Bearer {env.token()}")
        assert status == 401  # key-1 is endorsed for msteams only
        status, _ = await env.post(env.activity(), f"Bearer {env.token()}")
        assert status == 202


async def test_keys_are_fetched_again_for_a_new_key_but_not_for_every_unknown_one(tmp_path: Path) -> None:
    async with authenticated(tmp_path) as env:
        assert env.keys.fetches["jwks"] == 1  # at start-up, not on the first turn
        await env.chat().say("help")
        assert env.keys.fetches["jwks"] == 1
        env.keys.add_key("key-3")  # the channel rotates its keys
        status, _ = await env.post(env.activity(), f"Bearer {env.token(kid='key-3')}")
        assert status == 202
        assert env.keys.fetches["jwks"] == 2
        for n in range(3):  # tokens naming unknown keys do not make the bot fetch keys each time
            status, _ = await env.post(
                env.activity(), f"Bearer {env.token(kid=f'x-{n}', signed_by=rsa_key())}"
            )
            assert status == 401
        assert env.keys.fetches["jwks"] == 2


async def test_stale_keys_are_refreshed_in_the_background_while_the_cached_ones_serve() -> None:
    service_url = "https://smba.trafficmanager.net/uk/"
    body = json.dumps({"type": "message", "channelId": "msteams", "serviceUrl": service_url}).encode()
    clock = [1000.0]
    async with running_channel_keys() as keys:
        auth = ChannelAuth(APP_ID, keys.metadata_url, monotonic=lambda: clock[0])
        await auth.start()
        try:
            token = f"Bearer {keys.token(APP_ID, service_url)}"
            assert (await auth.authenticate(token, body))["aud"] == APP_ID
            clock[0] += KEYS_MAX_AGE + 1
            assert (await auth.authenticate(token, body))["aud"] == APP_ID
            assert keys.fetches["jwks"] == 1  # the turn did not wait for the refresh
            for _ in range(100):
                if keys.fetches["jwks"] == 2:
                    break
                await asyncio.sleep(0.02)
            assert keys.fetches["jwks"] == 2
        finally:
            await auth.close()


async def test_keys_that_cannot_be_fetched_make_the_bot_say_it_cannot_check_now() -> None:
    keys = ChannelKeys()
    keys.add_key("key-1")
    service_url = "https://smba.trafficmanager.net/uk/"
    body = json.dumps({"type": "message", "channelId": "msteams", "serviceUrl": service_url}).encode()
    clock = [1000.0]
    async with running_channel_keys() as published:
        down = ChannelKeys()  # the address of a server that is not there yet
        port = free_port()
        down.base_url = f"http://127.0.0.1:{port}"
        auth = ChannelAuth(APP_ID, down.metadata_url, monotonic=lambda: clock[0])
        await auth.start()  # logs a warning, does not stop the bot
        try:
            token = f"Bearer {keys.token(APP_ID, service_url)}"
            for _ in range(3):  # answered at once, without a fetch each time
                with pytest.raises(Refused) as refused:
                    await auth.authenticate(token, body)
                assert refused.value.status == 503
            auth.metadata_url = published.metadata_url  # the endpoint is back
            published.keys = keys.keys
            with pytest.raises(Refused):
                await auth.authenticate(token, body)
            assert published.fetches["metadata"] == 0  # not tried again so soon
            clock[0] += RETRY_AFTER_FAILURE
            assert (await auth.authenticate(token, body))["aud"] == APP_ID
            assert published.fetches["jwks"] == 1
        finally:
            await auth.close()


async def test_a_body_that_is_not_an_activity_with_a_good_token_is_a_bad_request(tmp_path: Path) -> None:
    async with authenticated(tmp_path) as env:
        headers = {"Authorization": f"Bearer {env.token()}", "Content-Type": "application/json"}
        async with env.bot.session.post(env.bot.url, data=b"[1, 2]", headers=headers) as response:
            assert response.status == 400


# The tenant.


async def test_someone_from_another_tenant_is_refused_politely_and_nothing_is_saved(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kcpf")
    async with authenticated(tmp_path) as env:
        replies = await env.chat(tenant=OTHER_TENANT, person=OTHER).say("new")
        assert [r["text"] for r in replies] == [OUTSIDER_REFUSAL]
        assert env.saved_rows() == 0
        assert len(env.bot.connector.authorizations) == 1  # the refusal; no members lookup
        assert OTHER_TENANT in caplog.text
        inside = await env.chat(tenant=TENANT).texts("new")
        assert OUTSIDER_REFUSAL not in inside
        assert "New contract or partnership" in inside
        assert env.saved_rows() > 0


async def test_a_card_action_from_another_tenant_is_answered_with_the_refusal(tmp_path: Path) -> None:
    async with authenticated(tmp_path) as env:
        body, _ = await env.chat(tenant=OTHER_TENANT, person=OTHER).execute({"flow": "assess"})
        assert OUTSIDER_REFUSAL in str(body)
        assert env.saved_rows() == 0


def _teams_activity(conversation_tenant: str | None, channel_tenant: str | None) -> Activity:
    data: dict[str, Any] = {"type": "message", "conversation": {"id": "a:1"}}
    if conversation_tenant:
        data["conversation"]["tenantId"] = conversation_tenant
    if channel_tenant:
        data["channelData"] = {"tenant": {"id": channel_tenant}}
    return Activity.model_validate(data)


@pytest.mark.parametrize(
    ("conversation_tenant", "channel_tenant", "configured", "outside"),
    [
        (TENANT, TENANT, TENANT, None),
        (TENANT.upper(), None, TENANT, None),
        (None, TENANT, TENANT, None),
        (OTHER_TENANT, OTHER_TENANT, TENANT, OTHER_TENANT),
        (TENANT, OTHER_TENANT, TENANT, OTHER_TENANT),  # the two places disagree
        (None, None, TENANT, ""),  # names no tenant: not known to be ours
        (OTHER_TENANT, None, "", None),  # no tenant configured (local, no credentials)
    ],
)
def test_who_is_outside_the_tenant(
    conversation_tenant: str | None, channel_tenant: str | None, configured: str, outside: str | None
) -> None:
    assert outside_tenant(_teams_activity(conversation_tenant, channel_tenant), configured) == outside


# Secrets.


async def test_the_secret_appears_in_no_log_even_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with authenticated(tmp_path) as env:
        await env.chat().say("help")
        assert env.entra.tokens_issued >= 1  # the secret was used
        sent = str(env.bot.connector.sent)
    # DEBUG was captured: the token request's own lines are there (other tests may quieten other loggers).
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert SECRET not in caplog.text
    assert all(SECRET not in repr(r.args) for r in caplog.records)
    assert SECRET not in sent


def _env(**values: str) -> dict[str, str]:
    return {"KCPF_DATA_DIR": "/tmp/kcpf-unused", **values}


async def test_the_bot_signs_in_only_as_itself_and_refuses_other_sign_ins_in_words() -> None:
    """The SDK's token-provider interface also offers Azure token credentials and on-behalf-of sign-in; KCPF
    uses neither, and says so rather than failing obscurely."""
    from bot.auth import AppTokenProvider

    provider = AppTokenProvider(BotCredentials(APP_ID, TENANT, client_secret=SECRET))
    with pytest.raises(PermissionError, match="only as itself"):
        provider.get_token_credential()
    with pytest.raises(PermissionError, match="on an officer's behalf"):
        await provider.acquire_token_on_behalf_of(["https://graph.microsoft.com/.default"], "assertion")
    with pytest.raises(PermissionError, match="app tokens"):
        await provider.get_access_token("https://api.botframework.com", ["User.Read"])


def test_a_secret_pasted_into_an_id_setting_is_not_shown_back() -> None:
    secret = "Xy8Q~kcpf.test_secret-value0123456789abcd"
    app = {"KCPF_APP_TENANT_ID": TENANT, "KCPF_APP_PASSWORD": SECRET}
    sharepoint = {
        "KCPF_SP_TENANT_ID": TENANT,
        "KCPF_SP_CLIENT_SECRET": SECRET,
        "KCPF_SP_SITE_URL": "https://t.sharepoint.com/sites/kcpf",
    }
    for name, others in (("KCPF_APP_ID", app), ("KCPF_SP_CLIENT_ID", sharepoint)):
        with pytest.raises(InvalidSetting) as raised:
            Settings.from_env(_env(**{name: secret}, **others))
        assert name in raised.value.message
        assert secret not in raised.value.message
        assert "may be a secret" in raised.value.message


def test_credentials_from_settings_and_files_never_show_the_secret(tmp_path: Path) -> None:
    secret_file = tmp_path / "app-password"
    secret_file.write_text(f"{SECRET}\n")
    settings = Settings.from_env(
        _env(KCPF_APP_ID=APP_ID.upper(), KCPF_APP_TENANT_ID=TENANT, KCPF_APP_PASSWORD_FILE=str(secret_file))
    )
    assert settings.app_id == APP_ID
    assert settings.app_tenant_id == TENANT
    assert settings.app_password == Secret(SECRET)
    assert settings.app_password.reveal() == SECRET
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.app_password)
    assert SECRET not in f"{settings.app_password}"
    direct = Settings.from_env(_env(KCPF_APP_ID=APP_ID, KCPF_APP_TENANT_ID=TENANT, KCPF_APP_PASSWORD=SECRET))
    assert direct.app_password == Secret(SECRET)
    assert SECRET not in repr(BotCredentials(APP_ID, TENANT, client_secret=SECRET))
    link = Settings.from_env(_env(KCPF_LINK_SECRET=SECRET * 2))
    assert SECRET not in repr(link)
    local = Settings.from_env(_env())
    assert (local.app_id, local.app_password) == ("", None)
    assert (
        local.bot_openid_metadata_url == "https://login.botframework.com/v1/.well-known/openidconfiguration"
    )
    assert local.bot_authority == "https://login.microsoftonline.com"


SETTING_ERRORS: list[tuple[dict[str, str], list[str]]] = [
    ({"KCPF_APP_ID": "kcpf-bot"}, ["KCPF_APP_ID", "GUID"]),
    ({"KCPF_APP_ID": APP_ID, "KCPF_APP_PASSWORD": SECRET}, ["KCPF_APP_TENANT_ID"]),
    ({"KCPF_APP_ID": APP_ID, "KCPF_APP_TENANT_ID": "chorley.gov.uk", "KCPF_APP_PASSWORD": SECRET}, ["GUID"]),
    ({"KCPF_APP_ID": APP_ID, "KCPF_APP_TENANT_ID": TENANT}, ["KCPF_APP_PASSWORD"]),
    ({"KCPF_APP_PASSWORD": SECRET}, ["KCPF_APP_PASSWORD", "KCPF_APP_ID"]),
    ({"KCPF_APP_TENANT_ID": TENANT}, ["KCPF_APP_TENANT_ID", "KCPF_APP_ID"]),
    (
        {
            "KCPF_APP_ID": APP_ID,
            "KCPF_APP_TENANT_ID": TENANT,
            "KCPF_APP_PASSWORD": SECRET,
            "KCPF_APP_PASSWORD_FILE": "/run/secrets/kcpf",
        },
        ["KCPF_APP_PASSWORD and KCPF_APP_PASSWORD_FILE"],
    ),
    (
        {"KCPF_APP_ID": APP_ID, "KCPF_APP_TENANT_ID": TENANT, "KCPF_APP_PASSWORD_FILE": "/nonexistent/kcpf"},
        ["KCPF_APP_PASSWORD_FILE", "/nonexistent/kcpf", "cannot read"],
    ),
    (
        {
            "KCPF_APP_ID": APP_ID,
            "KCPF_APP_TENANT_ID": TENANT,
            "KCPF_APP_PASSWORD": SECRET,
            "KCPF_APP_CERTIFICATE_PATH": "/run/secrets/kcpf.pem",
        },
        ["KCPF_APP_PASSWORD and KCPF_APP_CERTIFICATE_PATH"],
    ),
    (
        {
            "KCPF_APP_ID": APP_ID,
            "KCPF_APP_TENANT_ID": TENANT,
            "KCPF_APP_CERTIFICATE_PATH": "/nonexistent.pem",
        },
        ["KCPF_APP_CERTIFICATE_PATH"],
    ),
    (
        {"KCPF_BOT_OPENID_METADATA_URL": "http://login.example.com/v1"},
        ["KCPF_BOT_OPENID_METADATA_URL", "https"],
    ),
    ({"KCPF_BOT_AUTHORITY": "http://127.0.0.1:9999"}, ["KCPF_BOT_AUTHORITY", "https"]),
]


@pytest.mark.parametrize(("values", "named"), SETTING_ERRORS)
def test_a_bad_credential_setting_stops_start_up_naming_it(values: dict[str, str], named: list[str]) -> None:
    with pytest.raises(InvalidSetting) as refused:
        Settings.from_env(_env(**values))
    for words in named:
        assert words in refused.value.message
    assert SECRET not in refused.value.message


def test_an_empty_or_unreadable_password_file_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(InvalidSetting, match=f"KCPF_APP_PASSWORD_FILE is “{empty}”, which is empty"):
        Settings.from_env(
            _env(KCPF_APP_ID=APP_ID, KCPF_APP_TENANT_ID=TENANT, KCPF_APP_PASSWORD_FILE=str(empty))
        )
    with pytest.raises(InvalidSetting, match=r"KCPF_APP_PASSWORD_FILE .* cannot read"):
        Settings.from_env(
            _env(KCPF_APP_ID=APP_ID, KCPF_APP_TENANT_ID=TENANT, KCPF_APP_PASSWORD_FILE=str(tmp_path))
        )


def test_every_secret_setting_may_come_from_a_file(tmp_path: Path) -> None:
    link_file = tmp_path / "link-secret"
    link_file.write_text(SECRET * 2)
    sp_file = tmp_path / "sp-secret"
    sp_file.write_text(SECRET)
    sharepoint = {
        "KCPF_SP_TENANT_ID": TENANT,
        "KCPF_SP_CLIENT_ID": APP_ID,
        "KCPF_SP_SITE_URL": "https://chorleysouthribble.sharepoint.com/sites/kcpf",
    }
    settings = Settings.from_env(
        _env(KCPF_LINK_SECRET_FILE=str(link_file), KCPF_SP_CLIENT_SECRET_FILE=str(sp_file), **sharepoint)
    )
    assert settings.link_secret == SECRET * 2
    assert settings.sharepoint is not None
    assert settings.sharepoint.client_secret == SECRET
    assert SECRET not in repr(settings)
    with pytest.raises(InvalidSetting, match="KCPF_SP_CLIENT_SECRET and KCPF_SP_CLIENT_SECRET_FILE"):
        Settings.from_env(
            _env(KCPF_SP_CLIENT_SECRET=SECRET, KCPF_SP_CLIENT_SECRET_FILE=str(sp_file), **sharepoint)
        )


# `kcpf serve`.


def test_serve_with_credentials_listens_beyond_loopback_and_checks_tokens(tmp_path: Path) -> None:
    port = free_port()
    secret_file = tmp_path / "app-password"
    secret_file.write_text(SECRET)
    env = {
        **os.environ,
        "KCPF_DATA_DIR": str(tmp_path),
        "KCPF_APP_ID": APP_ID,
        "KCPF_APP_TENANT_ID": TENANT,
        "KCPF_APP_PASSWORD_FILE": str(secret_file),
        # nothing listens there: the bot starts anyway and refuses what it cannot check
        "KCPF_BOT_OPENID_METADATA_URL": f"http://127.0.0.1:{free_port()}/v1/.well-known/openidconfiguration",
    }
    host = "127.0.0.2"  # not in the loopback-only list, yet on this machine: nothing is exposed
    process = start_serve(env, host, port)
    try:
        request = urllib.request.Request(
            f"http://{host}:{port}/api/messages",
            data=b'{"type": "message", "text": "new"}',
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 401
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert f"Requests are authenticated for app {APP_ID} in tenant {TENANT}" in stderr
    assert "listens on this machine only" not in stderr
    assert "Traceback" not in stderr
    log_text = (tmp_path / "kcpf.log").read_text()
    assert "refused a request to /api/messages" in log_text
    assert SECRET not in stderr
    assert SECRET not in log_text
