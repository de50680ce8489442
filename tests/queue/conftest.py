"""A real PostgreSQL for the queue tests (``.ci/postgres start`` prints ``RECLAIM_TEST_POSTGRES_URL``), and
emulated tenants configured by name, as a worker sees them."""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reclaim.emulator import Emulator
from reclaim.emulator.server import serve_in_thread
from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS, DEFAULT_APP_ROLES

PG_ENV = "RECLAIM_TEST_POSTGRES_URL"
JSON = dict[str, Any]


def _server_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} is not set on CI: `.ci/postgres start` must run first")
        pytest.skip(f"no PostgreSQL: set {PG_ENV} (`eval \"$(.ci/postgres start)\"`)")
    return url


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A database of its own on the test server (dropped afterwards), as a libpq URL."""
    import psycopg

    from reclaim.queue import libpq_url

    base = libpq_url(_server_url())
    name = f"reclaim_queue_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # a generated name, not input
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """The queue database with procrastinate's tables and no jobs."""
    import asyncio

    import psycopg

    from reclaim.queue import ensure_schema

    asyncio.run(ensure_schema(pg_server))
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("TRUNCATE procrastinate_jobs, procrastinate_workers RESTART IDENTITY CASCADE")
    return pg_server


def unthrottled(fixture: JSON) -> JSON:
    out = copy.deepcopy(fixture)
    out.setdefault("tenant", {}).setdefault("settings", {})["throttling"] = {"enabled": False}
    return out


@dataclass
class Tenants:
    """Emulated tenants on loopback and a config file naming them (secrets in ``env``)."""

    emulators: dict[str, Emulator]
    fixtures: dict[str, JSON]
    config: Path
    env: dict[str, str]


def serve_tenants(stack: ExitStack, tmp: Path, fixtures: dict[str, JSON], **options: Any) -> Tenants:
    lines: list[str] = []
    env: dict[str, str] = {"RECLAIM_CONFIG": str(tmp / "config.toml")}
    emulators: dict[str, Emulator] = {}
    prepared: dict[str, JSON] = {}
    for name, fixture in fixtures.items():
        fx = unthrottled(fixture)
        secret = f"secret-{name}"
        fx["apps"] = [{"clientId": str(uuid.uuid4()), "clientSecret": secret,
                       "permissions": list(ALL_GRAPH_PERMISSIONS), "roles": list(DEFAULT_APP_ROLES)}]
        emulator = Emulator(fx, **options)
        url = stack.enter_context(serve_in_thread(emulator))
        var = f"SECRET_{name.upper().replace('-', '_')}"
        env[var] = secret
        lines.append(f'[tenants.{name}]\ntenant_id = "{fx["tenant"]["id"]}"\nclient_id = "{fx["apps"][0]["clientId"]}"'
                     f'\nauth = "secret"\nsecret_env = "{var}"\nendpoint = "{url}"\n')
        emulators[name] = emulator
        prepared[name] = fx
    (tmp / "config.toml").write_text("\n".join(lines), encoding="utf-8")
    return Tenants(emulators, prepared, tmp / "config.toml", env)
