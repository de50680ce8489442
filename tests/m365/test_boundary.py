"""The client's boundary: every answer validated (structure strictly), bounded (deadline, body size, items, pages,
nextLink cycles), ``$batch`` answers matched exactly, and our own secrets scrubbed from whatever comes back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from reclaim.errors import EXIT_USAGE, BadInput
from reclaim.m365 import BatchRequest
from reclaim.m365.boundary import PageWalk, parse_json
from reclaim.m365.errors import BadRequest, LimitExceeded, UnexpectedShape, UnreadableAnswer
from reclaim.m365.graph import _match_responses
from reclaim.m365.limits import ENV, Limits
from reclaim.text import REDACTED, forget_secrets, inert_json, remember_secret, scrub, scrub_bytes, visible
from tests.m365.helpers import StaticTokens, mock_connection

GRAPH = "https://graph.microsoft.com/v1.0"
EXO = "https://outlook.office365.com"


@pytest.fixture(autouse=True)
def no_secrets() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


# ---------------------------------------------------------------------------------------------- PageWalk
@pytest.mark.parametrize(("page", "why"), [
    ({}, "a collection page without 'value'"),
    ({"value": None}, "'value' is null, not a list"),
    ({"value": "none"}, "'value' is a string, not a list"),
    ({"value": {"id": "1"}}, "'value' is an object, not a list"),
    ({"value": [{"id": "1"}, "x"]}, "item 1 of 'value' is a string, not an object"),
    ({"value": [None]}, "item 0 of 'value' is null, not an object"),
    ({"value": [[]]}, "item 0 of 'value' is a list, not an object"),
    ([{"id": "1"}], "a collection page that is a list, not an object"),
    (None, "a collection page that is null, not an object"),
    ({"value": [], "@odata.nextLink": 7}, "'@odata.nextLink' is a number, not a link"),
    ({"value": [], "@odata.nextLink": ""}, "'@odata.nextLink' is a string, not a link"),
])
def test_a_page_that_is_not_a_list_of_objects_is_an_unexpected_shape(page: Any, why: str) -> None:
    with pytest.raises(UnexpectedShape) as caught:
        PageWalk("/users/x/messageRules", Limits()).page(page, method="GET", url=f"{GRAPH}/users/x/messageRules")
    assert caught.value.why == why
    assert str(caught.value).startswith(f"the service answered in an unexpected shape ({why})")
    assert caught.value.what == "/users/x/messageRules"


def test_well_formed_pages_are_read_whatever_their_fields() -> None:
    walk = PageWalk("c", Limits())
    items, link = walk.page({"value": [{"id": "1"}, {}], "@odata.nextLink": "https://g/next?skip=1"}, url="https://g/c")
    assert items == [{"id": "1"}, {}] and link == "https://g/next?skip=1"
    assert walk.page({"value": [], "@odata.nextLink": None}, url=link) == ([], None)
    assert walk.pages == 2


def test_a_next_link_to_the_same_page_is_a_cycle() -> None:
    walk = PageWalk("c", Limits())
    with pytest.raises(UnreadableAnswer) as caught:
        walk.page({"value": [{"id": "1"}], "@odata.nextLink": "https://g/c"}, url="https://g/c")
    assert caught.value.why == "nextLink cycle" and "page 1 links back" in str(caught.value)


def test_a_next_link_back_to_an_earlier_page_is_a_cycle() -> None:
    walk = PageWalk("c", Limits())
    walk.page({"value": [], "@odata.nextLink": "https://g/2"}, url="https://g/1")
    walk.page({"value": [], "@odata.nextLink": "https://g/3"}, url="https://g/2")
    with pytest.raises(UnreadableAnswer, match="page 3 links back to an earlier page"):
        walk.page({"value": [], "@odata.nextLink": "https://g/1"}, url="https://g/3")


def test_the_page_cap_ends_the_walk_with_the_figure() -> None:
    walk = PageWalk("c", Limits(max_pages=3))
    for n in (1, 2):
        walk.page({"value": [], "@odata.nextLink": f"https://g/{n + 1}"}, url=f"https://g/{n}")
    assert walk.page({"value": [{}]}, url="https://g/3") == ([{}], None)  # a third and last page is fine
    walk = PageWalk("c", Limits(max_pages=3))
    for n in (1, 2):
        walk.page({"value": [], "@odata.nextLink": f"https://g/{n + 1}"}, url=f"https://g/{n}")
    with pytest.raises(LimitExceeded) as caught:
        walk.page({"value": [], "@odata.nextLink": "https://g/4"}, url="https://g/3")
    assert str(caught.value).startswith("the cap of 3 pages per collection exceeded")
    assert caught.value.setting == "RECLAIM_MAX_PAGES" and "RECLAIM_MAX_PAGES" in str(caught.value)


def test_the_item_cap_ends_the_walk_with_the_figure() -> None:
    walk = PageWalk("c", Limits(max_page_items=2))
    assert len(walk.page({"value": [{}, {}]})[0]) == 2
    with pytest.raises(LimitExceeded, match=r"the cap of 2 items per page \(3 items\) exceeded"):
        walk.page({"value": [{}, {}, {}]})


# ---------------------------------------------------------------------------------------------- parse_json
def test_json_nested_a_hundred_thousand_deep_is_an_unexpected_shape() -> None:
    deep = httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(UnexpectedShape, match="JSON nested too deeply to read"):
        parse_json(deep, what="/users")
    with pytest.raises(UnexpectedShape, match=r"\(not JSON\)"):
        parse_json(httpx.Response(200, content=b"<html>oops</html>"), what="/users")
    assert parse_json(httpx.Response(200, content=b'{"value": []}'), what="/users") == {"value": []}


# ---------------------------------------------------------------------------------------------- through the clients
def _serve(answer: Any) -> tuple[Any, list[httpx.Request]]:
    """A handler answering every request with ``answer`` (a response, or a callable of the request)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request) if callable(answer) else answer

    return handler, seen


def _graph_items(handler: Any, url: str = "/users/u1/mailFolders/inbox/messageRules", *,
                 limits: Limits | None = None) -> list[Any]:
    async def main() -> list[Any]:
        async with mock_connection(handler, StaticTokens(), limits=limits) as conn:
            return [item async for item in conn.graph.paged(url)]

    return asyncio.run(main())


@pytest.mark.parametrize("body", [{"value": None}, {"value": "none"}, {}, {"value": [1, 2]}])
def test_graph_paging_never_reads_a_bad_page_as_no_objects(body: Any) -> None:
    handler, seen = _serve(httpx.Response(200, json=body))
    with pytest.raises(UnexpectedShape):
        _graph_items(handler)
    assert len(seen) == 1  # not retried: the same server would answer the same


def test_a_graph_body_that_is_not_an_object_is_an_unexpected_shape() -> None:
    handler, _ = _serve(httpx.Response(200, json=[{"id": "u1"}]))

    async def main() -> Any:
        async with mock_connection(handler, StaticTokens()) as conn:
            return await conn.graph.get("/users/u1")

    with pytest.raises(UnexpectedShape, match="a body that is list, not an object"):
        asyncio.run(main())


def test_a_self_next_link_is_followed_once_not_forever() -> None:
    url = f"{GRAPH}/users/u1/mailFolders/inbox/messageRules"
    handler, seen = _serve(lambda request: httpx.Response(200, json={"value": [{"id": "r"}],
                                                                     "@odata.nextLink": str(request.url)}))
    with pytest.raises(UnreadableAnswer, match="nextLink cycle"):
        _graph_items(handler, url)
    assert len(seen) == 1


def test_a_next_link_chain_without_end_stops_at_the_page_cap() -> None:
    handler, seen = _serve(lambda request: httpx.Response(200, json={
        "value": [{"id": "r"}], "@odata.nextLink": f"{GRAPH}/users?page={len(seen) + 1}"}))
    with pytest.raises(LimitExceeded, match="the cap of 5 pages per collection exceeded"):
        _graph_items(handler, "/users", limits=Limits(max_pages=5))
    assert len(seen) == 5


def _exchange(handler: Any, call: str = "get_inbox_rules", *args: Any) -> Any:
    async def main() -> Any:
        async with mock_connection(handler, StaticTokens()) as conn:
            return await getattr(conn.exchange, call)(*(args or ("alice@contoso.com",)))

    return asyncio.run(main())


@pytest.mark.parametrize(("response", "why"), [
    (httpx.Response(200, json=[]), "a collection page that is a list, not an object"),
    (httpx.Response(200, json={"@odata.context": "x"}), "a collection page without 'value'"),
    (httpx.Response(200, json={"value": None}), "'value' is null, not a list"),
    (httpx.Response(200, content=b""), "an empty body where the cmdlet's objects belong"),
])
def test_an_exchange_answer_without_its_objects_is_an_unexpected_shape(response: httpx.Response, why: str) -> None:
    handler, _ = _serve(response)
    with pytest.raises(UnexpectedShape) as caught:
        _exchange(handler)
    assert caught.value.why == why


def test_get_mailbox_answering_no_object_is_unreadable_not_none() -> None:
    handler, _ = _serve(httpx.Response(200, json={"value": []}))
    with pytest.raises(UnexpectedShape, match="Get-Mailbox -Identity answered 0 objects, not one"):
        _exchange(handler, "get_mailbox")


def test_an_exchange_self_next_link_is_a_cycle() -> None:
    handler, seen = _serve(lambda request: httpx.Response(200, json={"value": [{"Name": "r"}],
                                                                     "@odata.nextLink": str(request.url)}))
    with pytest.raises(UnreadableAnswer, match="nextLink cycle"):
        _exchange(handler)
    assert len(seen) == 1


# ---------------------------------------------------------------------------------------------- $batch
def test_match_responses_reads_only_single_well_formed_answers() -> None:
    body = {"responses": [
        {"id": "ok", "status": 200, "body": {"x": 1}},
        {"id": "dup", "status": 200, "body": {"value": [{"id": "rule"}]}},
        {"id": "dup", "status": 200, "body": {"value": []}},
        {"id": "text", "status": "200"},
        {"id": "flag", "status": True},
        {"id": "huge", "status": 999},
        {"id": "hdr", "status": 200, "headers": ["Retry-After"]},
        {"id": "stranger", "status": 200},
        "not an object",
        {"status": 200},
        {"id": 7, "status": 204},
    ]}
    answers, unread = _match_responses(body, ["ok", "dup", "text", "flag", "huge", "hdr", "gone", "7"])
    assert set(answers) == {"ok", "7"} and answers["ok"]["body"] == {"x": 1}
    assert unread == {"dup": "2 answers with this id", "text": "an answer without a valid status",
                      "flag": "an answer without a valid status", "huge": "an answer without a valid status",
                      "hdr": "an answer whose headers are not an object", "gone": "no answer with this id"}


@pytest.mark.parametrize("body", [{}, {"responses": None}, {"responses": {"1": {}}}, None])
def test_an_envelope_without_a_list_of_responses_leaves_every_request_unread(body: Any) -> None:
    answers, unread = _match_responses(body, ["1", "2"])
    assert answers == {} and unread == dict.fromkeys(["1", "2"], "the envelope has no list of responses")


def _batch(handler: Any, requests: list[BatchRequest], *, max_attempts: int = 3) -> list[Any]:
    async def main() -> list[Any]:
        async with mock_connection(handler, StaticTokens(), max_attempts=max_attempts) as conn:
            return await conn.graph.batch(requests)

    return asyncio.run(main())


def _envelope(answer: Any) -> Any:
    """A ``$batch`` handler: ``answer(sub_requests, round)`` gives the responses list."""
    rounds: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        subs = json.loads(request.content)["requests"]
        rounds.append([s["id"] for s in subs])
        return httpx.Response(200, json={"responses": answer(subs, len(rounds))})

    return handler, rounds


def test_duplicate_batch_ids_are_re_sent_then_unread_never_merged() -> None:
    handler, rounds = _envelope(lambda subs, n: [
        *({"id": s["id"], "status": 200, "body": {"value": [{"id": "rule-1"}]}} for s in subs),
        *({"id": s["id"], "status": 200, "body": {"value": []}} for s in subs if s["id"] == "b"),
    ])
    a, b = _batch(handler, [BatchRequest("GET", "/users/a/mailFolders/inbox/messageRules", id="a"),
                            BatchRequest("GET", "/users/b/mailFolders/inbox/messageRules", id="b")])
    assert a.ok and a.json() == {"value": [{"id": "rule-1"}]} and a.attempts == 1
    assert not b.ok and isinstance(b.error, UnreadableAnswer) and b.attempts == 3
    assert "(2 answers with this id)" in str(b.error)
    with pytest.raises(UnreadableAnswer):
        b.json()
    assert rounds == [["a", "b"], ["b"], ["b"]]


def test_a_missing_batch_answer_is_re_sent_and_read_when_it_comes() -> None:
    handler, rounds = _envelope(lambda subs, n: [{"id": s["id"], "status": 200, "body": {"n": n}}
                                                 for s in subs if n > 1 or s["id"] != "b"])
    a, b = _batch(handler, [BatchRequest("GET", "/users/a", id="a"), BatchRequest("GET", "/users/b", id="b")])
    assert a.json() == {"n": 1} and b.json() == {"n": 2} and b.attempts == 2
    assert rounds == [["a", "b"], ["b"]]


def test_an_unread_answer_to_a_write_is_not_re_sent() -> None:
    handler, rounds = _envelope(lambda subs, n: [{"id": s["id"], "status": "201"} for s in subs])
    (result,) = _batch(handler, [BatchRequest("POST", "/users/a/revokeSignInSessions", id="w")])
    assert isinstance(result.error, UnreadableAnswer) and result.attempts == 1 and rounds == [["w"]]
    assert "an answer without a valid status" in str(result.error)


def test_an_unread_dependency_fails_its_dependants() -> None:
    handler, _ = _envelope(lambda subs, n: [{"id": "a", "status": 200}, {"id": "a", "status": 200},
                                            *({"id": "b", "status": 424} for s in subs if s["id"] == "b")])
    a, b = _batch(handler, [BatchRequest("GET", "/users/a", id="a"),
                            BatchRequest("GET", "/users/b", id="b", depends_on=("a",))], max_attempts=2)
    assert isinstance(a.error, UnreadableAnswer) and isinstance(b.error, BadRequest) and b.status == 424


# ---------------------------------------------------------------------------------------------- body size, deadline
def test_a_declared_body_over_the_cap_is_abandoned_unread() -> None:
    handler, seen = _serve(httpx.Response(200, headers={"Content-Length": str(5 * 1024 * 1024)}, content=b"{}"))
    with pytest.raises(LimitExceeded) as caught:
        _graph_items(handler, "/users", limits=Limits(max_body_mb=1))
    assert str(caught.value).startswith("the body size cap of 1 MB (5,242,880 bytes or more) exceeded")
    assert caught.value.setting == "RECLAIM_MAX_BODY_MB" and len(seen) == 1


def test_a_streamed_body_over_the_cap_is_cut_off_while_reading() -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"value": ['
        while True:  # never ends: only the cap stops it
            sent.append(1)
            yield b'{"id": "x"},' * 1000

    handler, seen = _serve(lambda request: httpx.Response(200, content=chunks()))
    with pytest.raises(LimitExceeded, match=r"the body size cap of 0\.5 MB"):
        _graph_items(handler, "/users", limits=Limits(max_body_mb=0.5))
    assert len(seen) == 1 and len(sent) < 60  # ~12 kB a chunk: stopped right past 0.5 MB


def test_a_body_under_the_cap_is_read_whole() -> None:
    handler, _ = _serve(httpx.Response(200, json={"value": [{"id": str(i)} for i in range(5000)]}))
    assert len(_graph_items(handler, "/users", limits=Limits(max_body_mb=1))) == 5000


def test_a_trickling_answer_is_cut_off_at_the_request_deadline() -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"value": ['
        await asyncio.Event().wait()  # the next byte never comes
        yield b"]}"

    handler, seen = _serve(lambda request: httpx.Response(200, content=trickle()))
    with pytest.raises(LimitExceeded) as caught:
        _graph_items(handler, "/users", limits=Limits(request_deadline=0.05))
    assert str(caught.value).startswith("the request deadline of 0.05 s exceeded")
    assert caught.value.setting == "RECLAIM_REQUEST_DEADLINE" and len(seen) == 1


# ---------------------------------------------------------------------------------------------- Limits from the env
def test_limits_from_the_environment() -> None:
    assert Limits.from_env({}) == Limits()
    got = Limits.from_env({"RECLAIM_REQUEST_DEADLINE": "2.5", "RECLAIM_MAX_BODY_MB": "0.5",
                           "RECLAIM_MAX_PAGE_ITEMS": "10", "RECLAIM_MAX_PAGES": " 7 ", "RECLAIM_MAX_PAGES_X": "x"})
    assert got == Limits(request_deadline=2.5, max_body_mb=0.5, max_page_items=10, max_pages=7)
    assert got.max_body_bytes == 512 * 1024
    assert Limits.from_env({"RECLAIM_MAX_PAGES": "  "}) == Limits()  # empty: the default


@pytest.mark.parametrize("name", sorted(ENV.values()))
@pytest.mark.parametrize("raw", ["soon", "0", "-5", "nan", "inf", "1e400"])
def test_a_bad_limit_is_a_usage_error(name: str, raw: str) -> None:
    with pytest.raises(BadInput) as caught:
        Limits.from_env({name: raw})
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.one_line() == f"{name} must be a positive number, not {raw!r} (unset {name} for the default)"


def test_a_whole_number_limit_refuses_a_fraction() -> None:
    with pytest.raises(BadInput, match="RECLAIM_MAX_PAGES must be a positive number"):
        Limits.from_env({"RECLAIM_MAX_PAGES": "2.5"})


# ---------------------------------------------------------------------------------------------- secrets
PASSWORD = "Kp7+mQ#x=Rt9@vW2^nZ_"


def test_scrub_replaces_remembered_secrets_only() -> None:
    assert scrub(f"echo {PASSWORD}") == f"echo {PASSWORD}"  # nothing remembered yet
    remember_secret(PASSWORD)
    remember_secret("short")  # too short to be one of ours: never scrubbed (it would eat ordinary words)
    remember_secret(None)
    assert scrub(f"echo {PASSWORD} and short") == f"echo {REDACTED} and short"
    assert visible(f"pw={PASSWORD}") == f"pw={REDACTED}"
    assert PASSWORD not in inert_json({"message": f"bad password {PASSWORD}"})


@pytest.mark.parametrize("encode", [json.dumps, lambda s: json.dumps(s, ensure_ascii=False)], ids=["ascii", "utf8"])
@pytest.mark.parametrize("secret", [PASSWORD, 'Quo"te\\back+slash<é>', "tok😀en&'`1234"])
def test_scrub_bytes_finds_a_secret_as_python_writes_it(encode: Any, secret: str) -> None:
    remember_secret(secret)
    raw = ('{"error": {"code": "x", "echo": ' + encode(secret) + "}}").encode("utf-8")
    assert json.loads(scrub_bytes(raw))["error"]["echo"] == REDACTED


@pytest.mark.parametrize(("secret", "written"), [
    (PASSWORD, "Kp7\\u002B" + PASSWORD[4:]),
    (PASSWORD, "Kp7\\u002b" + PASSWORD[4:]),
    ('Quo"te\\back+slash<é>', "Quo\\u0022te\\\\back\\u002Bslash\\u003C\\u00E9\\u003E"),
    ("tok😀en&'`1234", "tok\\uD83D\\uDE00en\\u0026\\u0027\\u00601234"),
])
def test_scrub_bytes_finds_a_secret_as_dotnet_writes_it(secret: str, written: str) -> None:
    """System.Text.Json's default encoder (Graph's) writes HTML-sensitive characters and non-ASCII as \\uXXXX."""
    remember_secret(secret)
    raw = ('{"error": {"message": "Invalid value \'' + written + '\'"}}').encode()
    assert json.loads(raw)["error"]["message"] == f"Invalid value '{secret}'"  # the test writes it right
    assert json.loads(scrub_bytes(raw))["error"]["message"] == f"Invalid value '{REDACTED}'"


def test_a_400_echoing_the_password_never_carries_it_into_the_error() -> None:
    remember_secret(PASSWORD)

    def handler(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["passwordProfile"]["password"]
        return httpx.Response(400, json={"error": {"code": "Request_BadRequest",
                                                   "message": f"Invalid value '{sent}' for passwordProfile"}})

    async def main() -> Any:
        async with mock_connection(handler, StaticTokens()) as conn:
            return await conn.graph.request("PATCH", "/users/u1", json={"passwordProfile": {"password": PASSWORD}})

    with pytest.raises(BadRequest) as caught:
        asyncio.run(main())
    assert PASSWORD not in str(caught.value) and REDACTED in str(caught.value)


# ---------------------------------------------------------------------------------------------- secrets registered
def test_the_client_secret_and_every_token_fetched_are_remembered() -> None:
    from reclaim.m365.auth import ClientCredentialsTokens

    secret = "App~Secret.Value-1234"
    issued = ["eyJ0eXAiOiJKV1QifQ.eyJ0aWQiOiJ4In0.first-signature", "eyJ0eXAiOiJKV1QifQ.eyJ0aWQiOiJ4In0.second-sig"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access_token": issued.pop(0), "expires_in": 3599, "token_type": "Bearer"})

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            tokens = ClientCredentialsTokens(http, token_url="https://login.example/t", client_id="c",
                                             client_secret=secret)
            first = await tokens.get_token("s")
            second = await tokens.get_token("s", refresh=True)
            assert scrub(f"{secret} {first.token} {second.token}") == f"{REDACTED} {REDACTED} {REDACTED}"

    assert scrub(secret) == secret
    asyncio.run(main())


def test_an_azure_identity_token_is_remembered() -> None:
    from types import SimpleNamespace

    from reclaim.m365.auth import AzureIdentityTokens

    class Credential:
        def get_token(self, scope: str) -> Any:
            return SimpleNamespace(token="opaque-token-value-42", expires_on=4_000_000_000)

    asyncio.run(AzureIdentityTokens(Credential()).get_token("s"))
    assert scrub("Bearer opaque-token-value-42") == f"Bearer {REDACTED}"


def test_a_secret_from_the_environment_is_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    from reclaim.m365.credentials import CredentialSpec

    monkeypatch.setenv("APP_SECRET_FOR_TEST", "Env~Secret.Value-5678")
    assert CredentialSpec(kind="secret", client_id="c", secret_env="APP_SECRET_FOR_TEST").resolve_secret() \
        == "Env~Secret.Value-5678"
    assert scrub("x Env~Secret.Value-5678") == f"x {REDACTED}"


def test_the_new_password_still_shows_once_on_the_terminal() -> None:
    from reclaim.cli.console import err_console
    from reclaim.cli.remediate import terminal_sink

    remember_secret(PASSWORD)
    with err_console.capture() as captured:
        assert terminal_sink(ALICE_UPN, PASSWORD) == "terminal"
    assert PASSWORD in captured.get()


ALICE_UPN = "alice@contoso.com"


@pytest.mark.parametrize("body", [{"value": None}, {}, {"value": "x"}, {"value": [1]}, None,
                                  {"value": [], "@odata.nextLink": "https://graph.microsoft.com/v1.0/users/a/r"}])
def test_a_batch_collection_answer_is_validated_like_a_page(body: Any) -> None:
    handler, _ = _envelope(lambda subs, n: [{"id": s["id"], "status": 200, "body": body} for s in subs])
    listed, plain = _batch(handler, [BatchRequest("GET", "/users/a/r", id="1", collection=True),
                                     BatchRequest("GET", "/users/a/r", id="2")])
    assert not listed.ok and isinstance(listed.error, UnreadableAnswer) and listed.status == 200
    assert listed.attempts == 1  # the answer was read; it is the service that answered wrongly
    assert plain.ok and plain.body == body  # not declared a collection: the caller reads it


def test_an_empty_answer_to_a_write_cmdlet_is_no_objects_not_a_bad_shape() -> None:
    handler, seen = _serve(httpx.Response(200, content=b""))
    assert _exchange(handler, "invoke", "Set-Mailbox", {"Identity": "a@contoso.com"}) == []
    assert len(seen) == 1
