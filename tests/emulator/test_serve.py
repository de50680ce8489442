"""``reclaim emulator serve``: the first line is the base URL, printed only once the socket accepts connections."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from reclaim.emulator import Emulator
from reclaim.emulator.server import bind, bound_port, serve_in_thread

_SERVE = [sys.executable, "-c", "import sys; from reclaim.cli.main import run; sys.argv[0] = 'reclaim'; run()",
          "emulator", "serve", "--scenario", "clean"]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*_SERVE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = _start()
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # also closes the pipes


def test_the_printed_url_answers_at_once(served: tuple[subprocess.Popen[str], str]) -> None:
    proc, url = served
    assert url.startswith("http://127.0.0.1:"), url
    # No retry loop: the line is printed after the server accepts connections, so the first request succeeds.
    answer = httpx.get(f"{url}/_emulator/clock", timeout=5.0)
    assert answer.status_code == 200
    assert "now" in answer.json()
    assert proc.poll() is None


def test_a_taken_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = _start("--port", str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert out == ""  # nothing announced: nothing is served
    assert f"127.0.0.1:{port}" in err and "Traceback" not in err


def test_bind_holds_the_port_before_the_server_starts() -> None:
    sock = bind("127.0.0.1")
    try:
        port = bound_port(sock)
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))
    finally:
        sock.close()


def test_serve_in_thread_serves_the_port_it_bound() -> None:
    with serve_in_thread(Emulator({})) as url:
        assert httpx.get(f"{url}/_emulator/clock", timeout=5.0).status_code == 200
