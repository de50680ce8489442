"""Attacker text in the journal: stored escaped and inert, never a reason to stop; our own secrets: refused.

The store refuses any string that looks like a credential (a bearer header, a JWT) wherever it is, because a
secret must never reach the case file. But an attacker chooses the names of the rules, folders and apps
remediation acts on, and can name an inbox rule ``Bearer 0wned`` or give it a JWT-shaped name: refusing those
stopped the whole remediation (nothing contained). So the journal tells the two apart:

- **known secrets** (the generated password, the app's client secret, access tokens: values this process holds
  and registers with :func:`remember`) are refused wherever they appear, in full or inside a longer string;
- **attacker strings** that merely look like one are escaped (:func:`escape`): ``escaped:`` and the text
  percent-encoded with every space, dot and ``%`` encoded, so no credential pattern matches and a report shows
  the text as text; :func:`unescape` gives the exact string back (a resumed run finds the rule by that name).
  A string that already starts with ``escaped:`` is escaped too, so unescaping is exact.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import quote, unquote

from reclaim.store import SecretRefused, refuse_secrets
from reclaim.text import remember_secret, scrub

PREFIX = "escaped:"
#: shorter values are not secrets we generate (they would match ordinary text)
MIN_SECRET = 8


def remember(*secrets: str | None) -> None:
    """Register values this process holds that must never be journaled (kept in memory only; the same registry
    that scrubs them from every answer and output, :func:`reclaim.text.remember_secret`)."""
    for secret in secrets:
        remember_secret(secret)


def _looks_secret(text: str) -> bool:
    try:
        refuse_secrets(text)
    except SecretRefused:
        return True
    return False


def _encode(text: str) -> str:
    return PREFIX + quote(text, safe="").replace(".", "%2E").replace("-", "%2D")


def escape(value: Any, path: str = "$", *, also: Collection[str] = ()) -> Any:
    """``value`` with each attacker string that looks like a credential escaped; raises
    :class:`~reclaim.store.SecretRefused` for a known secret (remembered, or in ``also``): a bug, never stored."""
    return _escape(value, path, frozenset(s for s in also if s and len(s) >= MIN_SECRET))


def _escape(value: Any, path: str, known: frozenset[str]) -> Any:
    if isinstance(value, Mapping):
        return {k: _escape(v, f"{path}.{k}", known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escape(v, f"{path}[{i}]", known) for i, v in enumerate(value)]
    if isinstance(value, str):
        if scrub(value) != value or any(s in value for s in known):
            raise SecretRefused(path)
        if value.startswith(PREFIX) or _looks_secret(value):
            return _encode(value)
    return value


def unescape(value: Any) -> Any:
    """The exact value :func:`escape` was given."""
    if isinstance(value, Mapping):
        return {k: unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape(v) for v in value]
    if isinstance(value, str) and value.startswith(PREFIX):
        return unquote(value[len(PREFIX):])
    return value
