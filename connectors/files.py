"""Writing files whole or not at all, with messages an administrator can act on."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TextIO

from kcpf.errors import InvalidInput


def write_atomically(path: Path, write: Callable[[TextIO], object], *, encoding: str = "utf-8") -> None:
    """Write to a temporary file beside `path`, then rename it into place: readers never see half a file."""
    _replace(path, lambda handle: os.fdopen(handle, "w", encoding=encoding, newline=""), write)


def write_bytes_atomically(path: Path, content: bytes) -> None:
    """The same for a file that is not text (a Word document)."""
    _replace(path, lambda handle: os.fdopen(handle, "wb"), lambda stream: stream.write(content))


def _replace(path: Path, open_stream: Callable[[int], IO[Any]], write: Callable[[Any], object]) -> None:
    try:
        # A new file gets the usual permissions (mkstemp's are owner-only); a replaced one keeps its own.
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with open_stream(handle) as stream:
                write(stream)
            os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise InvalidInput(f"Cannot write {path} ({error.strerror}).") from None
