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


def test_serve_answers_health_and_messages_then_stops(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "KCPF_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "kcpf", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "kcpf serve did not start in 30 s"
                time.sleep(0.2)
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
