from __future__ import annotations

import pytest

from tests.conftest import require_system_package


def test_a_missing_system_package_skips_naming_it() -> None:
    with pytest.raises(pytest.skip.Exception, match="needs the Debian package no-such-package"):
        require_system_package("kcpf-no-such-command", "no-such-package")


def test_a_present_command_is_found() -> None:
    assert require_system_package("sh", "dash").endswith("/sh")
