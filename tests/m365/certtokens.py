"""Certificate (client assertion) tokens for the practice tenant in tests: SharePoint REST refuses secrets."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from reclaim.m365.auth import ClientCredentialsTokens


def certificate_tokens(http: httpx.AsyncClient, *, token_url: str, client_id: str,
                       key_pem: Path) -> ClientCredentialsTokens:
    key = serialization.load_pem_private_key(key_pem.read_bytes(), password=None)

    def assertion() -> str:
        now = int(time.time())
        claims = {"iss": client_id, "sub": client_id, "aud": token_url, "iat": now, "nbf": now, "exp": now + 600,
                  "jti": str(uuid.uuid4())}
        return jwt.encode(claims, key, algorithm="RS256")  # type: ignore[arg-type]

    return ClientCredentialsTokens(http, token_url=token_url, client_id=client_id, client_secret="",
                                   assertion=assertion)
