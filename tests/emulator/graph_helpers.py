"""Helpers shared by the Graph contract tests: follow paging exactly, act as another app."""

from __future__ import annotations

from contextlib import closing
from typing import Any

from tests.conftest import TenantClient


def as_app(c: TenantClient, client_id: str) -> closing[TenantClient]:
    """A client for another app of the fixture (use as a context manager: it closes its connections)."""
    app = next(a for a in c.emulator.state.data["apps"] if a["clientId"] == client_id)
    return closing(TenantClient(c.emulator, c.base_url, app=app))


def follow(c: TenantClient, url: str, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a collection, following ``@odata.nextLink`` exactly as given; and the page count."""
    items: list[dict[str, Any]] = []
    pages = 0
    r = c.graph("GET", url, **kwargs)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["value"])
        pages += 1
        nxt = body.get("@odata.nextLink")
        if not nxt:
            return items, pages
        assert nxt.startswith(c.base_url + "/v1.0/"), nxt
        r = c.graph("GET", nxt)
