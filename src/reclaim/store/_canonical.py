"""Canonical JSON and content hashes, and the refusal to store secrets.

Canonical JSON (the input of every hash the store computes): ``json.dumps`` with sorted keys, no
insignificant whitespace, non-ASCII characters as UTF-8 (not ``\\u`` escapes), NaN/Infinity refused,
encoded as UTF-8. Two JSON values that are equal as Python values after a JSON round trip have the
same canonical bytes, whatever the key order; strings are hashed exactly as given (no Unicode
normalisation: a look-alike rule name must not hash like the real one).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from reclaim.store.errors import SecretRefused, StoreError

# The one value a caller may put under a secret-looking key: it says "something was sent here".
REDACTED = "[redacted]"

GENESIS_HASH = "0" * 64

# Keys are compared lower-cased with everything but letters and digits removed, so ``newPassword``,
# ``new_password`` and ``New-Password`` are the same key. A key is secret-looking when it *ends* with one
# of these words (``password``, ``newPassword``, ``clientSecret``, ``access_token``), so that
# ``passwordPolicies`` or ``forceChangePasswordNextSignIn`` stay storable.
_SECRET_KEY = re.compile(r"(password|passwd|passphrase|secret|secrettext|token|apikey|privatekey|authorization"
                         r"|cookie|clientassertion|credential|credentials)$")
# Paging tokens are cursors, not credentials.
_NOT_SECRET_KEYS = frozenset({"skiptoken", "deltatoken", "pagetoken", "nexttoken", "continuationtoken",
                              "synctoken"})
# Values that are credentials whatever the key: bearer headers and JWTs.
_SECRET_VALUE = re.compile(r"^\s*bearer\s+\S|^eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.", re.IGNORECASE)


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 JSON bytes of ``value`` (a JSON value: dict, list, str, int, float, bool, None)."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"not storable as JSON: {exc}") from exc
    return text.encode("utf-8", "surrogatepass")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _normal_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def is_secret_key(key: str) -> bool:
    normal = _normal_key(key)
    return normal not in _NOT_SECRET_KEYS and _SECRET_KEY.search(normal) is not None


def refuse_secrets(value: Any, path: str = "$") -> None:
    """Raise :class:`SecretRefused` if ``value`` carries a secret.

    A secret is a string or number other than :data:`REDACTED` directly under a secret-looking key
    (password, newPassword, secret, clientSecret, token, access_token, Authorization, ...), or any
    string that is a bearer header or a JWT, wherever it is. ``None`` and booleans are not secrets;
    containers under such keys are searched like any other.
    """
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}"
            if (isinstance(key, str) and is_secret_key(key) and isinstance(item, str | int | float)
                    and not isinstance(item, bool) and item != REDACTED):
                raise SecretRefused(where)
            refuse_secrets(item, where)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            refuse_secrets(item, f"{path}[{i}]")
    elif isinstance(value, str) and _SECRET_VALUE.search(value):
        raise SecretRefused(path)
