"""Canonical JSON and hashing: order-independent, exact for Unicode, injective on JSON values."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclaim.store import (
    GENESIS_HASH,
    REDACTED,
    JournalEntry,
    SecretRefused,
    StoreError,
    canonical_json,
    journal_hash,
    refuse_secrets,
    sha256_hex,
)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=5)
                           | st.dictionaries(st.text(max_size=12), children, max_size=5), max_leaves=15)
json_objects = st.dictionaries(st.text(max_size=20), json_values, max_size=6)


def reordered(value: Any) -> Any:
    """The same JSON value with every object's keys in reverse insertion order."""
    if isinstance(value, dict):
        return {k: reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


@settings(deadline=None)  # the suite runs on loaded 2-core CI machines
@given(json_values)
def test_key_order_does_not_matter(value: Any) -> None:
    assert canonical_json(reordered(value)) == canonical_json(value)


@settings(deadline=None)  # the suite runs on loaded 2-core CI machines
@given(json_values)
def test_canonical_json_round_trips(value: Any) -> None:
    data = canonical_json(value)
    assert json.loads(data.decode("utf-8")) == value
    assert canonical_json(json.loads(data)) == data  # a fixed point


@settings(deadline=None)  # the suite runs on loaded 2-core CI machines
@given(json_values, json_values)
def test_different_values_have_different_bytes(a: Any, b: Any) -> None:
    if canonical_json(a) == canonical_json(b):
        assert json.loads(canonical_json(a)) == json.loads(canonical_json(b))
    else:
        assert sha256_hex(canonical_json(a)) != sha256_hex(canonical_json(b))


@settings(deadline=None)  # the suite runs on loaded 2-core CI machines
@given(st.text())
def test_unicode_is_kept_as_utf8_not_normalised(s: str) -> None:
    data = canonical_json({"name": s})
    assert json.loads(data)["name"] == s
    nfc = unicodedata.normalize("NFC", s)
    if nfc != s:  # a look-alike must not hash like the original
        assert canonical_json({"name": nfc}) != data


def test_unicode_examples() -> None:
    assert canonical_json({"b": "é", "a": "\u202eexe.pdf"}) == '{"a":"\u202eexe.pdf","b":"é"}'.encode()
    assert canonical_json("e\u0301") != canonical_json("é")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"when": datetime(2026, 1, 1, tzinfo=UTC)}, b"x"])
def test_non_json_values_are_refused(value: Any) -> None:
    with pytest.raises(StoreError):
        canonical_json(value)


def _entry(request: dict[str, Any]) -> JournalEntry:
    at = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    return JournalEntry(id=1, case_id="c-20261127-0001", seq=1, action_id="disable-inbox-rule", target="rule",
                        step="applied", before_evidence_id=7, before_evidence_sha256="a" * 64, request=request,
                        result={"status": 200}, verify=None,
                        operator="admin", started_at=at, recorded_at=at, prev_hash=GENESIS_HASH, entry_hash="")


@settings(deadline=None, max_examples=50)
@given(json_objects)
def test_journal_hash_ignores_key_order_but_not_content(request: dict[str, Any]) -> None:
    entry = _entry(request)
    assert journal_hash(entry) == journal_hash(_entry(reordered(request)))
    assert journal_hash(entry) != journal_hash(replace(entry, request={**request, "\x00extra": 1}))
    assert journal_hash(entry) != journal_hash(replace(entry, prev_hash="f" * 64))
    assert journal_hash(entry) == journal_hash(replace(entry, id=99, entry_hash="anything"))  # not covered


secret_words = st.sampled_from(["password", "Password", "new_password", "newPassword", "client-secret", "clientSecret",
                                "access_token", "refreshToken", "Authorization", "apiKey", "x-api-key"])


@settings(deadline=None)
@given(secret_words, st.text(min_size=1).filter(lambda v: v != REDACTED), st.lists(st.text(max_size=8), max_size=3))
def test_secret_keys_are_refused_at_any_depth(key: str, value: str, path: list[str]) -> None:
    document: object = {key: value}
    for step in reversed(path):
        document = {step: [document]}
    with pytest.raises(SecretRefused):
        refuse_secrets(document)
    redacted: object = {key: REDACTED}
    for step in reversed(path):
        redacted = {step: [redacted]}
    refuse_secrets(redacted)
