"""The reminders' settings: KCPF_NOTIFY_KEY (or _FILE) and KCPF_REMIND_DAYS."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcpf.cli.settings import InvalidSetting, Settings

KEY = "k" * 40


def test_defaults_leave_notify_off_and_warn_fourteen_days_ahead() -> None:
    settings = Settings.from_env({})
    assert settings.notify_key == ""
    assert settings.remind_days == 14


def test_the_key_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert Settings.from_env({"KCPF_NOTIFY_KEY": f" {KEY} "}).notify_key == KEY
    path = tmp_path / "notify-key"
    path.write_text(KEY + "\n", encoding="utf-8")
    assert Settings.from_env({"KCPF_NOTIFY_KEY_FILE": str(path)}).notify_key == KEY


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"KCPF_NOTIFY_KEY": "short"}, "KCPF_NOTIFY_KEY is too short"),
        ({"KCPF_NOTIFY_KEY": KEY, "KCPF_NOTIFY_KEY_FILE": "/x"}, "both set"),
        ({"KCPF_NOTIFY_KEY_FILE": "/no/such/file"}, "KCPF_NOTIFY_KEY_FILE is"),
        ({"KCPF_REMIND_DAYS": "0"}, "KCPF_REMIND_DAYS"),
        ({"KCPF_REMIND_DAYS": "two weeks"}, "KCPF_REMIND_DAYS"),
    ],
)
def test_bad_values_stop_start_up_naming_the_setting(env: dict[str, str], says: str) -> None:
    with pytest.raises(InvalidSetting) as raised:
        Settings.from_env(env)
    assert says in raised.value.message
    assert "“short”" not in raised.value.message  # the key itself is never shown


def test_a_short_key_in_a_file_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "notify-key"
    path.write_text("secret-but-short", encoding="utf-8")
    with pytest.raises(InvalidSetting) as raised:
        Settings.from_env({"KCPF_NOTIFY_KEY_FILE": str(path)})
    assert "KCPF_NOTIFY_KEY_FILE is too short" in raised.value.message
    assert "secret-but-short" not in raised.value.message


def test_remind_days_is_read() -> None:
    assert Settings.from_env({"KCPF_REMIND_DAYS": "21"}).remind_days == 21
