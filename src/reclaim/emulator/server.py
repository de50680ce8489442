"""Serve the emulator on loopback with uvicorn (``reclaim emulator serve``), or in a background thread."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

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
    """A port that was free a moment ago (for tests that need a closed port; never to serve on: use ``bind``)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def bind(host: str, port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: a port the kernel chooses), bound before anything is announced,
    so the port printed is the port served (no window in which another process can take it)."""
    check_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise BadInput(f"cannot listen on {base_url(host, port)}: {exc.strerror or exc}",
                       hint="choose another --port, or 0 for any free port") from None
    sock.set_inheritable(True)
    return sock


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


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
    server = _AnnouncingServer(config)
    emulator.drop_connection = lambda client: _abort_connection(server, client)
    return server


class _AnnouncingServer(uvicorn.Server):
    """uvicorn's server that calls ``on_ready`` once it accepts connections on its sockets."""

    on_ready: Callable[[], None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_ready is not None:
            self.on_ready()


def run_announced(server: uvicorn.Server, sock: socket.socket, announce: Callable[[], None]) -> None:
    """Serve on ``sock`` (already bound and listening) until interrupted; ``announce`` is called once the
    server accepts connections, never before."""
    if not isinstance(server, _AnnouncingServer):
        raise TypeError("run_announced needs a server made by make_server")
    server.on_ready = announce
    server.run(sockets=[sock])


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
    sock = bind(host, port)
    port = bound_port(sock)
    server = make_server(emulator, host, port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="reclaim-emulator", daemon=True)
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
        sock.close()
