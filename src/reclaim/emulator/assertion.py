"""Client assertions (certificate credentials) at the emulated token endpoint.

An app in a fixture may list ``certificates``: PEM-encoded X.509 certificates (public part only). A
``client_assertion`` is accepted when it is a JWT signed by one of their keys, issued by and about the
app (``iss`` = ``sub`` = client id), addressed to the token endpoint and not expired — what Entra checks.
"""

from __future__ import annotations

from typing import Any

import jwt
from cryptography import x509

from reclaim.emulator.auth import AadError

_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def verify_client_assertion(app: dict[str, Any], form: dict[str, str], *, tenant_id: str, now: float) -> None:
    if form.get("client_assertion_type") != _ASSERTION_TYPE:
        raise AadError(400, "invalid_request", 90014, "The request body must contain client_assertion_type "
                       f"'{_ASSERTION_TYPE}'.")
    certificates = app.get("certificates") or []
    if not certificates:
        raise AadError(401, "invalid_client", 700027, "Client assertion failed signature validation: the "
                       "application has no certificate credentials.")
    assertion = form.get("client_assertion", "")
    for pem in certificates:
        try:
            cert = x509.load_pem_x509_certificate(str(pem).encode())
        except ValueError:
            continue
        try:
            claims = jwt.decode(assertion, cert.public_key(), algorithms=["RS256", "PS256"],  # type: ignore[arg-type]
                                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                                         "verify_iat": False})
        except jwt.PyJWTError:
            continue
        if claims.get("iss") != app["clientId"] or claims.get("sub") != app["clientId"]:
            raise AadError(401, "invalid_client", 700023, "Client assertion audience or issuer is invalid.")
        if "/oauth2/" not in str(claims.get("aud", "")):
            raise AadError(401, "invalid_client", 700021, "Client assertion audience claim does not match "
                           "Realm issuer.")
        if float(claims.get("exp", 0)) <= now:
            raise AadError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
        return
    raise AadError(401, "invalid_client", 700027, "Client assertion failed signature validation.")
