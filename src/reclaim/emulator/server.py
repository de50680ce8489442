"""Serve the emulator on loopback with uvicorn (``reclaim emulator serve``), or in a background thread."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import threading
import time
from collections.abc import Iterator

import uvicorn

from reclaim.emulator.app import Emulator
from reclaim.errors import BadInput


def check_loopback(host: str) -> None:
    """Refuse any address that is not loopback: the practice tenant is never exposed to a network."""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise BadInput(f"--host {host!r} is not an IP address",
                       hint="the emulator binds loopback only: use 127.0.0.1 or ::1") from None
    if not address.is_loopback:
        raise BadInput(f"refusing to bind {host}: the emulator serves loopback addresses only",
                       hint="use 127.0.0.1 or ::1")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def base_url(host: str, port: int, scheme: str = "http") -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def make_server(emulator: Emulator, host: str, port: int, *, ssl_certfile: str | None = None,
                ssl_keyfile: str | None = None) -> uvicorn.Server:
    """``ssl_certfile`` / ``ssl_keyfile`` (PEM) serve HTTPS, e.g. for MSAL, which refuses http:// authorities."""
    check_loopback(host)
    config = uvicorn.Config(emulator.app, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off", timeout_keep_alive=30, backlog=2048, ssl_certfile=ssl_certfile,
                            ssl_keyfile=ssl_keyfile)
    server = uvicorn.Server(config)
    emulator.drop_connection = lambda client: _abort_connection(server, client)
    return server


def _abort_connection(server: uvicorn.Server, client: tuple[str, int]) -> bool:
    """Reset the TCP connection of ``client`` (SO_LINGER 0, then abort: the peer gets an RST, no response)."""
    for connection in list(server.server_state.connections):
        if getattr(connection, "client", None) != client:
            continue
        transport = connection.transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        return True
    return False


@contextlib.contextmanager
def serve_in_thread(emulator: Emulator, host: str = "127.0.0.1", port: int = 0, *,
                    ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> Iterator[str]:
    """Run the emulator on an ephemeral loopback port in a daemon thread; yields its base URL
    (``https://`` when ``ssl_certfile`` and ``ssl_keyfile`` are given)."""
    port = port or free_port(host)
    server = make_server(emulator, host, port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    thread = threading.Thread(target=server.run, name="reclaim-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the emulator did not start")
        time.sleep(0.01)
    try:
        yield base_url(host, port, "https" if ssl_certfile else "http")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
