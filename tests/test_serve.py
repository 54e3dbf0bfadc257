"""`kcpf serve` as an administrator runs it: a real process on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(env: dict[str, str], host: str, port: int) -> subprocess.Popen[str]:
    """`kcpf serve` in its own process, once `GET /healthz` answers; the caller stops it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kcpf", "serve", "--host", host, "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as response:
                assert response.status == 200
                return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(
                    process.stderr.read() if process.stderr else "kcpf serve stopped"
                ) from None
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("kcpf serve did not start in 30 s") from None
            time.sleep(0.2)


def test_serve_answers_health_and_messages_then_stops(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "KCPF_DATA_DIR": str(tmp_path)}
    process = start_serve(env, "127.0.0.1", port)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/messages", data=b"not json", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 400
        assert (tmp_path / "conversations.sqlite3").exists()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert f"listening on http://127.0.0.1:{port}/api/messages" in stderr
    assert f"The register page (is open): http://127.0.0.1:{port}/register" in stderr
    assert "Traceback" not in stderr


def test_serve_refuses_to_listen_beyond_this_machine_without_credentials(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kcpf", "serve", "--host", "0.0.0.0"],
        env={**os.environ, "KCPF_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "listens only on this machine" in result.stderr


def test_serve_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "kcpf", "serve", "--port", str(port)],
            env={**os.environ, "KCPF_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "choose another with --port" in result.stderr
    assert "Traceback" not in result.stderr
