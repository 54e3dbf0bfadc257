"""Shared test plumbing."""

from __future__ import annotations

import shutil

import pytest


def require_system_package(command: str, package: str) -> str:
    """The path of `command`, or skip the test with a line naming the Debian package that provides it."""
    path = shutil.which(command)
    if path is None:
        pytest.skip(
            f"needs the Debian package {package} (`make system-deps` installs it): {command} not found"
        )
    return path
