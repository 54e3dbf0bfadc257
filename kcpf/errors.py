"""Typed errors of the framework core. Every message is written for the officer who will read it."""

from __future__ import annotations


class KcpfError(Exception):
    """Base of every error the framework raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(KcpfError):
    """What was typed or supplied cannot be accepted; the message says why and what would be."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotPermitted(KcpfError):
    """The person may not do this; the message gives the framework's reason."""


class NotFound(KcpfError):
    """No arrangement (or record) with that reference."""


class Conflict(KcpfError):
    """Someone else changed the record since it was read: the write was refused, nothing was overwritten."""


class InvalidTransition(NotPermitted):
    """The lifecycle does not allow this step from where the arrangement is now."""
