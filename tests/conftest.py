"""Shared test fixtures: an emulator served over real HTTP on loopback, and clients for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from reclaim.emulator import Emulator
from reclaim.emulator.server import serve_in_thread

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"


class TenantClient:
    """A thin synchronous client for contract tests: gets tokens and speaks the raw wire format."""

    def __init__(self, emulator: Emulator, base_url: str, app: dict[str, Any] | None = None) -> None:
        self.emulator = emulator
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.app = app or emulator.state.data["apps"][0]
        self._tokens: dict[str, str] = {}

    def token(self, scope: str = GRAPH_SCOPE) -> str:
        if scope not in self._tokens:
            r = self.http.post(f"/{self.emulator.state.tenant_id}/oauth2/v2.0/token", data={
                "grant_type": "client_credentials", "client_id": self.app["clientId"],
                "client_secret": self.app["clientSecret"], "scope": scope})
            assert r.status_code == 200, r.text
            self._tokens[scope] = r.json()["access_token"]
        return self._tokens[scope]

    def graph(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(GRAPH_SCOPE)}", **kwargs.pop("headers", {})}
        if not url.startswith("http"):
            url = "/v1.0" + url
        return self.http.request(method, url, headers=headers, **kwargs)

    def exo(self, cmdlet: str, parameters: dict[str, Any] | None = None, *, url: str | None = None,
            headers: dict[str, str] | None = None) -> httpx.Response:
        tenant = self.emulator.state.tenant_id
        target = url or f"/adminapi/beta/{tenant}/InvokeCommand"
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters or {}}}
        h = {"Authorization": f"Bearer {self.token(EXCHANGE_SCOPE)}", **(headers or {})}
        return self.http.post(target, json=body, headers=h)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., TenantClient]]:
    """``serve(fixture, **emulator_options)`` starts an emulator on loopback and returns a client."""
    stack: list[Any] = []

    def start(fixture: dict[str, Any] | None = None, **options: Any) -> TenantClient:
        emulator = Emulator(fixture or {}, **options)
        ctx = serve_in_thread(emulator)
        url = ctx.__enter__()
        client = TenantClient(emulator, url)
        stack.append((ctx, client))
        return client

    yield start
    for ctx, client in reversed(stack):
        client.close()
        ctx.__exit__(None, None, None)
