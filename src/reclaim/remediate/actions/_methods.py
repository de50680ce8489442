"""Authentication methods: the per-type Graph endpoint of each method type."""

from __future__ import annotations

from urllib.parse import quote

#: OData type (without the namespace) → the per-type endpoint's segment.
SEGMENTS: dict[str, str] = {
    "phoneAuthenticationMethod": "phoneMethods",
    "microsoftAuthenticatorAuthenticationMethod": "microsoftAuthenticatorMethods",
    "emailAuthenticationMethod": "emailMethods",
    "fido2AuthenticationMethod": "fido2Methods",
    "softwareOathAuthenticationMethod": "softwareOathMethods",
    "temporaryAccessPassAuthenticationMethod": "temporaryAccessPassMethods",
    "windowsHelloForBusinessAuthenticationMethod": "windowsHelloForBusinessMethods",
    "platformCredentialAuthenticationMethod": "platformCredentialMethods",
}
PASSWORD_TYPE = "passwordAuthenticationMethod"  # noqa: S105 - an OData type name


def odata_type(value: object) -> str:
    return str(value or "").rsplit(".", 1)[-1].lstrip("#")


def method_url(user_path: str, kind: str, method_id: str) -> str | None:
    segment = SEGMENTS.get(odata_type(kind))
    if segment is None:
        return None
    return f"{user_path}/authentication/{segment}/{quote(method_id, safe='')}"
