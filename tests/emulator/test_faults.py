"""Fault and latency injection: spec parsing, seeded draws, and each fault kind over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reclaim.emulator.faults import FaultInjector, FaultSpec
from tests.conftest import TenantClient

FIXTURE: dict[str, Any] = {
    "tenant": {"id": "11111111-2222-3333-4444-555555555555", "domains": ["contoso.com"]},
    "users": [{"id": "u-alice", "userPrincipalName": "alice@contoso.com", "displayName": "Alice", "mailbox": {}},
              {"id": "u-bob", "userPrincipalName": "bob@contoso.com", "displayName": "Bob", "mailbox": {}}],
}


# ---------------------------------------------------------------------------------------------- parsing
def test_parse_spec() -> None:
    spec = FaultSpec.parse(" 429=0.1, 503=0.05,reset=0.01,slow=0.01,retry_after=2.5,slow_seconds=3 ")
    assert spec.rates == {"429": 0.1, "503": 0.05, "reset": 0.01, "slow": 0.01}
    assert spec.retry_after == 2.5 and spec.slow_seconds == 3
    assert FaultSpec.parse("retry_after=none").retry_after is None
    assert not FaultSpec.parse("").active
    assert FaultSpec.from_json({"rates": {"500": 0.2}, "retry_after": None}).to_json() == \
        {"rates": {"500": 0.2}, "retry_after": None, "slow_seconds": 30.0}


@pytest.mark.parametrize(("text", "reason"), [
    ("429", "expected KIND=RATE"),
    ("418=0.1", "unknown kind '418'"),
    ("429=lots", "'lots' is not a number"),
    ("429=1.5", "between 0 and 1"),
    ("429=0.6,503=0.6", "add up to more than 1"),
    ("slow_seconds=-1", "between 0 and 3600"),
])
def test_parse_errors_name_the_bad_part(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        FaultSpec.parse(text)


# ---------------------------------------------------------------------------------------------- seeded draws
def _draws(injector: FaultInjector, n: int = 300) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(n):
        fault = injector.draw()
        out.append(None if fault is None else fault.kind)
    return out


def test_same_seed_same_faults_and_reset_replays() -> None:
    spec = FaultSpec.parse("429=0.2,503=0.1,reset=0.05,slow=0.05")
    a, b, c = FaultInjector(spec, seed=7), FaultInjector(spec, seed=7), FaultInjector(spec, seed=8)
    first = _draws(a)
    assert first == _draws(b)
    assert first != _draws(c)
    assert {"429", "503", "reset", "slow", None} == set(first)
    # rates are respected roughly (300 draws, 20 % 429s)
    assert 30 <= first.count("429") <= 90
    a.reset()
    assert _draws(a) == first
    assert a.injected["429"] == first.count("429")


def test_draw_limited_to_kinds() -> None:
    injector = FaultInjector(FaultSpec.parse("reset=1"), seed=1)
    assert injector.draw(kinds=("429", "503")) is None
    fault = injector.draw()
    assert fault is not None and fault.kind == "reset"


# ---------------------------------------------------------------------------------------------- over HTTP
@pytest.mark.parametrize(("kind", "code"), [("500", "generalException"), ("502", "generalException"),
                                            ("503", "serviceNotAvailable"), ("504", "UnknownError")])
def test_status_faults(serve: Callable[..., TenantClient], kind: str, code: str) -> None:
    c = serve(FIXTURE, faults=FaultSpec.parse(f"{kind}=1"), seed=1)
    r = c.graph("GET", "/users/u-alice")
    assert r.status_code == int(kind)
    assert r.json()["error"]["code"] == code
    assert ("Retry-After" in r.headers) is (kind == "503")


def test_429_fault_with_fractional_and_without_retry_after(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE, faults=FaultSpec.parse("429=1,retry_after=0.25"), seed=1)
    r = c.graph("GET", "/users/u-alice")
    assert r.status_code == 429 and r.headers["Retry-After"] == "0.250"
    assert r.json()["error"]["code"] == "TooManyRequests"
    c.emulator.faults.configure(FaultSpec.parse("429=1,retry_after=none"))
    r = c.graph("GET", "/users/u-alice")
    assert r.status_code == 429 and "Retry-After" not in r.headers


def test_reset_drops_the_connection(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    c.token()
    c.emulator.faults.configure(FaultSpec.parse("reset=1"))
    with pytest.raises(httpx.TransportError) as caught:
        c.graph("GET", "/users/u-alice")
    # a connection error, not an HTTP response of any status
    assert isinstance(caught.value, httpx.ReadError | httpx.RemoteProtocolError)
    assert c.emulator.faults.injected == {"reset": 1}
    c.emulator.faults.configure(FaultSpec())
    assert c.graph("GET", "/users/u-alice").status_code == 200  # the client reconnects


def test_slow_exceeds_a_client_timeout_and_the_write_still_lands(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    c.token()
    c.emulator.faults.configure(FaultSpec.parse("slow=1,slow_seconds=0.6"))
    with pytest.raises(httpx.ReadTimeout):
        c.graph("PATCH", "/users/u-bob", json={"displayName": "Robert"}, timeout=0.15)
    assert c.emulator.state.find_user("u-bob") is not None
    deadline = time.monotonic() + 3
    while c.emulator.state.find_user("u-bob")["displayName"] != "Robert":  # type: ignore[index]
        assert time.monotonic() < deadline, "the slow request was never answered"
        time.sleep(0.05)
    c.emulator.faults.configure(FaultSpec())


def test_batch_sub_requests_get_status_faults_inside_the_envelope(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE, faults=FaultSpec.parse("429=0.3,503=0.2,retry_after=1.5"), seed=3)
    body = {"requests": [{"id": str(n), "method": "GET", "url": "/users/u-alice"} for n in range(20)]}
    seen_sub_429 = False
    envelopes: list[int] = []
    for _ in range(6):
        r = c.graph("POST", "/$batch", json=body)
        envelopes.append(r.status_code)
        if r.status_code != 200:
            assert r.status_code in (429, 503)
            continue
        for sub in r.json()["responses"]:
            assert sub["status"] in (200, 429, 503)
            if sub["status"] == 429:
                seen_sub_429 = True
                assert sub["headers"]["Retry-After"] == "1.500"
                assert sub["body"]["error"]["code"] == "TooManyRequests"
    assert 200 in envelopes and seen_sub_429


def test_control_plane_sets_faults(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    assert c.http.get("/_emulator/faults").json()["rates"] == {}
    r = c.http.put("/_emulator/faults", json={"spec": "503=1,retry_after=2"})
    assert r.status_code == 200 and r.json()["rates"] == {"503": 1.0}
    got = c.graph("GET", "/users/u-alice")
    assert got.status_code == 503 and got.headers["Retry-After"] == "2"
    bad = c.http.put("/_emulator/faults", json={"spec": "503=2"})
    assert bad.status_code == 400 and "between 0 and 1" in bad.json()["error"]
    assert c.http.get("/_emulator/faults").json()["rates"] == {"503": 1.0}  # unchanged by the bad one
    assert c.http.put("/_emulator/faults", json={"rates": {}}).status_code == 200
    assert c.graph("GET", "/users/u-alice").status_code == 200


# ---------------------------------------------------------------------------------------------- latency
def test_latency_does_not_block_the_loop_and_applies_once_per_request(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE, latency_ms=250)
    token = c.token()
    headers = {"Authorization": f"Bearer {token}"}

    async def run() -> tuple[float, float]:
        async with httpx.AsyncClient(base_url=c.base_url, timeout=10, headers=headers) as client:
            started = time.perf_counter()
            results = await asyncio.gather(*[client.get("/v1.0/users/u-alice") for _ in range(10)])
            concurrent = time.perf_counter() - started
            assert all(r.status_code == 200 for r in results)
            body = {"requests": [{"id": str(n), "method": "GET", "url": "/users/u-alice"} for n in range(20)]}
            started = time.perf_counter()
            r = await client.post("/v1.0/$batch", json=body)
            batch = time.perf_counter() - started
            assert r.status_code == 200 and all(x["status"] == 200 for x in r.json()["responses"])
            return concurrent, batch

    concurrent, batch = asyncio.run(run())
    assert 0.25 <= concurrent < 1.5  # ten requests at once: ~0.25 s, not 2.5 s
    assert 0.25 <= batch < 1.5  # one latency for the whole $batch, not 20
