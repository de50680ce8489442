"""The OData ``$filter`` / ``$orderby`` parser and evaluator (unit and property tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclaim.emulator.odata_filter import (
    MAX_DEPTH,
    apply_filter,
    apply_orderby,
    comparisons,
    evaluate,
    parse_filter,
    parse_orderby,
    properties,
    tokenize,
)
from reclaim.emulator.wire import ApiError

ITEMS: list[dict[str, Any]] = [
    {"id": "1", "upn": "Alice@contoso.com", "n": 3, "ok": True, "when": "2026-05-01T10:00:00Z",
     "loc": {"country": "NG"}, "targets": [{"id": "x", "type": "User"}], "tags": ["a", "b"]},
    {"id": "2", "upn": "bob@contoso.com", "n": 10, "ok": False, "when": "2026-05-03T10:00:00.1234567Z",
     "loc": {"country": "DE"}, "targets": [{"id": "y"}, {"id": "z"}], "tags": []},
    {"id": "3", "upn": "o'brien@contoso.com", "n": None, "when": None, "loc": None, "targets": []},
]


def ids(text: str) -> list[str]:
    return [i["id"] for i in apply_filter(ITEMS, text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("upn eq 'alice@contoso.com'", ["1"]),  # case-insensitive, as the directory compares strings
    ("upn ne 'alice@contoso.com'", ["2", "3"]),
    ("n gt 3", ["2"]),
    ("n ge 3", ["1", "2"]),
    ("3 lt n", ["2"]),  # literal on the left
    ("n eq null", ["3"]),
    ("ok eq true", ["1"]),
    ("ok eq false or ok eq null", ["2", "3"]),
    ("when ge 2026-05-02T00:00:00Z", ["2"]),
    ("when le 2026-05-03T10:00:00.1234567Z and when gt 2026-05-01", ["1", "2"]),
    ("when lt 2026-05-03T11:00:00+01:00", ["1"]),
    ("when lt 2026-05-03T12:00:00+01:00", ["1", "2"]),
    ("loc/country eq 'NG'", ["1"]),
    ("not (loc/country eq 'NG')", ["2", "3"]),
    ("(id eq '1' or id eq '2') and not ok", ["2"]),
    ("ok", ["1"]),
    ("(id eq '1' or id eq '2') and not (ok eq true)", ["2"]),
    ("upn eq 'o''brien@contoso.com'", ["3"]),
    ("startswith(upn,'BOB')", ["2"]),
    ("endswith(upn, '@contoso.com')", ["1", "2", "3"]),
    ("contains(upn,'rie')", ["3"]),
    ("targets/any(t: t/id eq 'z')", ["2"]),
    ("targets/any(t:t/id eq 'x' and t/type eq 'User')", ["1"]),
    ("targets/all(t: t/id ne 'x')", ["2", "3"]),
    ("tags/any(t: t eq 'b')", ["1"]),
    ("id eq 3", []),  # a number is not a string
])
def test_filter_forms(text: str, expected: list[str]) -> None:
    assert ids(text) == expected


@pytest.mark.parametrize("text", [
    "upn eq", "eq 'x'", "upn equals 'x'", "upn eq 'x", "(upn eq 'x'", "upn eq 'x')", "'a' eq 'b'",
    "foo(upn,'x')", "startswith(upn)", "startswith('x', upn)", "targets/any(t t/id eq 'x')",
    "targets/any(: t/id eq 'x')", "upn eq 'x' and", "and", "not", "upn eq 'x' upn eq 'y'",
    "when ge 2026-13-45T00:00:00Z", "upn eq #", "n gt 1 or or n lt 2",
])
def test_invalid_filters_are_400(text: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_filter(text)
    assert info.value.status == 400 and info.value.code == "BadRequest"
    assert info.value.message.startswith("Invalid filter clause")


def test_nesting_is_bounded() -> None:
    deep = "(" * (MAX_DEPTH + 5) + "id eq '1'" + ")" * (MAX_DEPTH + 5)
    with pytest.raises(ApiError):
        parse_filter(deep)
    assert ids("(((id eq '1')))") == ["1"]
    with pytest.raises(ApiError):
        parse_filter("not " * 200 + "ok eq true")


def test_long_chains_stay_flat() -> None:
    chain = " or ".join(["ok"] * 650)
    assert len(chain) < 4096
    assert ids(chain) == ["1"]
    assert ids(" and ".join(["n ge 3"] * 300)) == ["1", "2"]
    with pytest.raises(ApiError):
        parse_filter("id eq '1' or " * 400 + "id eq '2'")  # longer than Graph's URL allows


def test_inspection_helpers() -> None:
    expr = parse_filter("receivedDateTime ge 2026-01-01T00:00:00Z and subject eq 'x' and "
                        "2026-01-02T00:00:00Z gt receivedDateTime")
    assert properties(expr) == ["receivedDateTime", "subject", "receivedDateTime"]
    assert comparisons(expr) == [
        ("receivedDateTime", "ge", datetime(2026, 1, 1, tzinfo=UTC)),
        ("subject", "eq", "x"),
        ("receivedDateTime", "lt", datetime(2026, 1, 2, tzinfo=UTC)),
    ]
    assert [t.kind for t in tokenize("a/b eq 12345678-1234-1234-1234-123456789abc")] == ["ident", "ident", "string"]


def test_allowed_properties() -> None:
    with pytest.raises(ApiError) as info:
        apply_filter(ITEMS, "n eq 1", allowed={"upn"})
    assert info.value.code == "BadRequest"
    with pytest.raises(ApiError) as info:
        apply_filter(ITEMS, "n eq 1", allowed={"upn"}, resource="User")
    assert info.value.code == "Request_UnsupportedQuery"
    assert [i["id"] for i in apply_filter(ITEMS, "targets/any(t: t/id eq 'x')", allowed={"targets"})] == ["1"]


def test_orderby() -> None:
    assert [i["id"] for i in apply_orderby(ITEMS, "when desc")] == ["2", "1", "3"]
    assert [i["id"] for i in apply_orderby(ITEMS, "n")] == ["3", "1", "2"]
    assert [i["id"] for i in apply_orderby(ITEMS, "loc/country asc, id desc")] == ["3", "2", "1"]
    assert parse_orderby("a desc,b") == [("a", True), ("b", False)]
    for bad in ("", "a sideways", "a b c", "1abc"):
        with pytest.raises(ApiError):
            parse_orderby(bad)


# ---------------------------------------------------------------------------------------- properties
_FRAGMENTS = st.sampled_from([
    "upn", "n", "ok", "when", "loc/country", "targets/any(t:", "t/id", "tags/all(x:", "x", " eq ", " ne ",
    " gt ", " le ", " and ", " or ", "not ", "(", ")", ",", ":", "'a'", "'o''b'", "''", "'", "null", "true",
    "false", "3", "-2.5", "1e3", "2026-05-01T00:00:00Z", "2026-05-01", "startswith(", "contains(", "endswith(",
    "12345678-1234-1234-1234-123456789abc", " ", "/", "$", "@", "any", "all",
])


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_random_text_never_crashes(text: str) -> None:
    try:
        expr = parse_filter(text)
    except ApiError as exc:
        assert exc.status == 400
        return
    for item in ITEMS:
        assert isinstance(evaluate(expr, item), bool)


@settings(max_examples=600, deadline=None)
@given(st.lists(_FRAGMENTS, min_size=1, max_size=25).map("".join))
def test_token_soup_never_crashes(text: str) -> None:
    try:
        expr = parse_filter(text)
    except ApiError as exc:
        assert exc.status == 400 and exc.code == "BadRequest"
        return
    for item in ITEMS:
        assert isinstance(evaluate(expr, item), bool)
    properties(expr)
    comparisons(expr)


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["a", "B", "2026-05-01T00:00:00Z"]))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]), _VALUES,
       st.sampled_from(["'a'", "'b'", "3", "true", "null", "2026-05-01T00:00:00Z"]))
def test_not_is_the_complement(op: str, value: Any, literal: str) -> None:
    expr = parse_filter(f"v {op} {literal}")
    negated = parse_filter(f"not (v {op} {literal})")
    item = {"v": value}
    assert evaluate(negated, item) is (not evaluate(expr, item))
