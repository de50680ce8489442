"""Token lifetimes are clamped: ``expires_in: 0`` does not mean a token fetch per request, a huge lifetime is still
refreshed, and a nonsensical one is a one-line authentication error (exit 3), not a crash."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from reclaim.errors import EXIT_CONNECT
from reclaim.m365.auth import (
    MAX_TOKEN_LIFETIME,
    MIN_TOKEN_LIFETIME,
    AzureIdentityTokens,
    ClientCredentialsTokens,
)
from reclaim.m365.errors import AuthenticationFailed


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _provider(expires_in: Any, clock: Clock) -> tuple[ClientCredentialsTokens, list[int]]:
    fetched: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(1)
        body: dict[str, Any] = {"access_token": f"token-number-{len(fetched)}", "token_type": "Bearer"}
        if expires_in is not ...:
            body["expires_in"] = expires_in
        return httpx.Response(200, json=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ClientCredentialsTokens(http, token_url="https://login.example/tenant/oauth2/v2.0/token", client_id="c",
                                   client_secret="App~Secret.Value-1234", clock=clock), fetched


def _tokens_over(expires_in: Any, seconds: float, step: float = 1.0) -> tuple[list[str], list[int]]:
    """Ask for a token every ``step`` seconds (fake clock) for ``seconds``: the tokens seen, the fetches made."""
    clock = Clock()
    provider, fetched = _provider(expires_in, clock)

    async def main() -> list[str]:
        seen = []
        for _ in range(int(seconds / step)):
            seen.append((await provider.get_token("s")).token)
            clock.now += step
        return seen

    return asyncio.run(main()), fetched


@pytest.mark.parametrize("expires_in", [0, 0.5, 1, "0"])
def test_a_zero_or_tiny_lifetime_is_reused_for_the_minimum(expires_in: Any) -> None:
    seen, fetched = _tokens_over(expires_in, MIN_TOKEN_LIFETIME / 2)
    assert len(fetched) == 1 and set(seen) == {"token-number-1"}  # was: one fetch per request
    seen, fetched = _tokens_over(expires_in, 10 * MIN_TOKEN_LIFETIME)
    assert 10 <= len(fetched) <= 15  # refreshed before each (clamped) expiry: every 48 s over 600 s


def test_an_ordinary_lifetime_is_refreshed_before_expiry() -> None:
    _seen, fetched = _tokens_over(3599, 3 * 3600, step=60)
    assert len(fetched) == 4  # at 55 minutes (5 minutes' margin): 0, 3300, 6600, 9900


def test_a_numeric_string_lifetime_is_read() -> None:
    _seen, fetched = _tokens_over("3599", 3000, step=60)
    assert len(fetched) == 1


def test_a_huge_lifetime_is_refreshed_after_a_day() -> None:
    _seen, fetched = _tokens_over(10**12, 2 * MAX_TOKEN_LIFETIME + 3600, step=600)
    assert len(fetched) == 3


@pytest.mark.parametrize("expires_in", ["soon", -1, "-5", None, True, [], {}, "nan", "inf"])
def test_a_nonsensical_lifetime_is_an_authentication_error(expires_in: Any) -> None:
    provider, _ = _provider(expires_in, Clock())
    with pytest.raises(AuthenticationFailed) as caught:
        asyncio.run(provider.get_token("s"))
    line = caught.value.one_line()
    assert caught.value.exit_code == EXIT_CONNECT and "\n" not in line
    assert line.startswith(f"the identity platform issued a token with a nonsensical expires_in ({expires_in!r}")
    assert "token-number" not in line


def test_azure_identity_expiry_is_validated_and_clamped() -> None:
    clock = Clock()

    class Credential:
        expires_on: Any = "soon"

        def get_token(self, scope: str) -> Any:
            return SimpleNamespace(token="opaque-token-value-42", expires_on=self.expires_on)

    credential = Credential()
    with pytest.raises(AuthenticationFailed, match="nonsensical expires_on"):
        asyncio.run(AzureIdentityTokens(credential, clock=clock).get_token("s"))
    credential.expires_on = clock.now - 3600  # already expired (clock skew): still reused for the minimum
    provider = AzureIdentityTokens(credential, clock=clock)
    token = asyncio.run(provider.get_token("s"))
    assert token.expires_on == clock.now + MIN_TOKEN_LIFETIME and provider.fetches == 1


def test_a_missing_lifetime_is_the_usual_hour() -> None:
    _seen, fetched = _tokens_over(..., 3000, step=60)
    assert len(fetched) == 1


def _token_endpoint(answer: Any, limits: Any) -> ClientCredentialsTokens:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answer()))
    return ClientCredentialsTokens(http, token_url="https://login.example/t/oauth2/v2.0/token", client_id="c",
                                   client_secret="App~Secret.Value-1234", limits=limits)


def test_a_trickling_token_endpoint_is_cut_at_the_deadline() -> None:
    from collections.abc import AsyncIterator

    from reclaim.m365.limits import Limits

    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"access_token": "'
        await asyncio.Event().wait()
        yield b'"}'

    provider = _token_endpoint(lambda: httpx.Response(200, content=trickle()), Limits(request_deadline=0.05))
    with pytest.raises(AuthenticationFailed, match=r"did not answer within the request deadline of 0\.05 s"):
        asyncio.run(provider.get_token("s"))


def test_a_huge_token_answer_is_refused() -> None:
    from reclaim.m365.limits import Limits

    body = b'{"access_token": "' + b"A" * (2 * 1024 * 1024) + b'", "expires_in": 3599}'
    provider = _token_endpoint(lambda: httpx.Response(200, content=body), Limits())
    with pytest.raises(AuthenticationFailed, match="the token endpoint's answer exceeded 1,048,576 bytes"):
        asyncio.run(provider.get_token("s"))


def test_a_deeply_nested_token_answer_is_a_refusal_not_a_crash() -> None:
    from reclaim.m365.limits import Limits

    provider = _token_endpoint(lambda: httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000), Limits())
    with pytest.raises(AuthenticationFailed, match="refused the app's credentials"):
        asyncio.run(provider.get_token("s"))
