"""Settings are read once at start-up; a bad one stops start-up with a message that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcpf.calendar import Period
from kcpf.cli.settings import InvalidSetting, Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path("data")
    assert settings.register_path == Path("data/register.sqlite3")
    assert settings.framework().version == "2025.1"
    assert settings.roles.tp == frozenset()


def test_roles_and_deadlines() -> None:
    settings = Settings.from_env(
        {
            "KCPF_DATA_DIR": "/srv/kcpf",
            "KCPF_TP": "TP@chorley.gov.uk, partnerships@southribble.gov.uk",
            "KCPF_SMT": "0f0e0d0c-0000-4000-8000-000000000001",
            "KCPF_H1_UPDATE_DUE": "15 October",
            "KCPF_USER": "Admin@Chorley.gov.uk",
        }
    )
    assert settings.roles.tp == {"tp@chorley.gov.uk", "partnerships@southribble.gov.uk"}
    assert settings.user == "admin@chorley.gov.uk"
    rules = settings.framework().monitoring
    assert Period.parse("2026/27-H1").due_date(rules).isoformat() == "2026-10-15"
    assert Period.parse("2026/27-H2").due_date(rules).isoformat() == "2027-04-30"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KCPF_TP", "tp@chorley.gov.uk, Jo Bloggs", "KCPF_TP must be a comma-separated list"),
        ("KCPF_SMT", "chief", "KCPF_SMT must be a comma-separated list"),
        ("KCPF_H1_UPDATE_DUE", "October", "KCPF_H1_UPDATE_DUE is “October”: write a day and a month"),
        ("KCPF_H2_UPDATE_DUE", "31 April", "KCPF_H2_UPDATE_DUE is “31 April”, a day that does not exist"),
        (
            "KCPF_H2_UPDATE_DUE",
            "15 March",
            "half-year that ends in March, so its deadline must fall in the six",
        ),
        ("KCPF_H1_UPDATE_DUE", "30 September", "half-year that ends in September"),
        ("KCPF_FRAMEWORK_VERSION", "2019.1", "KCPF_FRAMEWORK_VERSION is “2019.1”"),
        ("KCPF_USER", "admin", "KCPF_USER is “admin”, which is not an email address"),
    ],
)
def test_malformed_settings_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidSetting) as raised:
        Settings.from_env({name: value})
    assert message in raised.value.message
