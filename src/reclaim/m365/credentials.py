"""Which credential a tenant uses, and building the azure-identity credential for it.

A ``CredentialSpec`` holds *where* a secret comes from, never the secret: a certificate file path
(and the name of the env var holding its password), the name of an env var holding a client secret,
or "the OS keyring". The only exception is ``secret_value``, kept in memory for the practice
tenant's published secret and never written anywhere.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from reclaim.errors import BadInput
from reclaim.m365.errors import AuthenticationFailed
from reclaim.text import remember_secret

__all__ = ["KEYRING_SERVICE", "CredentialKind", "CredentialSpec", "build_credential"]

CredentialKind = Literal["certificate", "secret", "managed-identity", "device-code", "azure-cli"]
CREDENTIAL_KINDS: tuple[str, ...] = ("certificate", "secret", "managed-identity", "device-code", "azure-cli")

#: keyring service name; the entry's user name is the client id.
KEYRING_SERVICE = "reclaim"


@dataclass(frozen=True)
class CredentialSpec:
    kind: CredentialKind
    client_id: str | None = None
    certificate_path: str | None = None
    certificate_password_env: str | None = None
    secret_env: str | None = None
    secret_keyring: bool = False
    #: in memory only (the practice tenant's published secret); never serialised
    secret_value: str | None = None

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if v not in (None, False) and k != "secret_value"}
        if self.secret_value is not None:
            shown["secret_value"] = "<hidden>"  # noqa: S105 - a placeholder, not a password
        return "CredentialSpec(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    def describe(self) -> str:
        if self.kind == "certificate":
            return f"certificate {self.certificate_path}"
        if self.kind == "secret":
            if self.secret_env:
                return f"client secret from ${self.secret_env}"
            if self.secret_keyring:
                return "client secret from the OS keyring"
            return "client secret"
        return self.kind

    def resolve_secret(self) -> str:
        """The client secret, from where the spec says; raises ``AuthenticationFailed`` if absent. Remembered as a
        secret of this run (scrubbed from every answer and output)."""
        secret = self._resolve_secret()
        remember_secret(secret)
        return secret

    def _resolve_secret(self) -> str:
        if self.secret_value is not None:
            return self.secret_value
        if self.secret_env:
            value = os.environ.get(self.secret_env)
            if not value:
                raise AuthenticationFailed(f"the environment variable {self.secret_env} is not set",
                                           hint=f"export {self.secret_env}=<client secret>")
            return value
        if self.secret_keyring:
            return _keyring_secret(self.client_id or "")
        raise AuthenticationFailed("no client secret source configured",
                                   hint="use --secret-env VAR or --secret-keyring")

    def certificate_password(self) -> bytes | None:
        if not self.certificate_password_env:
            return None
        value = os.environ.get(self.certificate_password_env)
        if value is None:
            raise AuthenticationFailed(f"the environment variable {self.certificate_password_env} is not set",
                                       hint="it should hold the certificate's password")
        remember_secret(value)
        return value.encode()


def _keyring_secret(client_id: str) -> str:
    try:
        import keyring
        import keyring.errors
    except ImportError:
        raise AuthenticationFailed("the keyring package is not installed",
                                   hint="pip install 'reclaim[keyring]', or use --secret-env VAR") from None
    try:
        value = keyring.get_password(KEYRING_SERVICE, client_id)
    except keyring.errors.KeyringError as exc:
        raise AuthenticationFailed(f"the OS keyring is not usable: {type(exc).__name__}",
                                   hint="use --secret-env VAR instead") from None
    if not value:
        raise AuthenticationFailed(f"no secret in the OS keyring for service {KEYRING_SERVICE!r}, user {client_id!r}",
                                   hint=f"store it: keyring set {KEYRING_SERVICE} {client_id}")
    return str(value)


def _device_code_prompt(verification_uri: str, user_code: str, expires_on: Any) -> None:
    """Show the sign-in code on stderr, so that ``--json`` output on stdout stays clean."""
    until = f" (valid until {expires_on:%H:%M} UTC)" if isinstance(expires_on, datetime) else ""
    print(f"To sign in, open {verification_uri} and enter the code {user_code}{until}.", file=sys.stderr, flush=True)


def build_credential(spec: CredentialSpec, *, tenant_id: str, authority: str | None = None,
                     ca_bundle: str | None = None, retries: int | None = None) -> Any:
    """The azure-identity (sync) credential for ``spec``.

    ``authority`` (an https URL) replaces login.microsoftonline.com, for an emulator served over
    HTTPS; instance discovery is then disabled. ``ca_bundle`` is a CA file to trust in addition to
    the system's (verification is never disabled).
    """
    import azure.identity as ai

    options: dict[str, Any] = {}
    if authority is not None:
        options["authority"] = authority
        options["disable_instance_discovery"] = True
    if ca_bundle is not None:
        options["connection_verify"] = ca_bundle
    if retries is not None:
        options["retry_total"] = retries
    client_id = spec.client_id or ""
    if spec.kind in ("certificate", "secret", "device-code") and not client_id:
        raise BadInput(f"a {spec.kind} credential needs a client id", hint="--client-id")
    if spec.kind == "certificate":
        if not spec.certificate_path:
            raise BadInput("a certificate credential needs --certificate PATH")
        path = Path(spec.certificate_path).expanduser()
        if not path.is_file():
            raise AuthenticationFailed(f"certificate file not found: {path}", hint="check --certificate")
        return ai.CertificateCredential(tenant_id, client_id, certificate_path=str(path),
                                        password=spec.certificate_password(), **options)
    if spec.kind == "secret":
        return ai.ClientSecretCredential(tenant_id, client_id, spec.resolve_secret(), **options)
    if spec.kind == "managed-identity":
        mi: dict[str, Any] = {"client_id": spec.client_id} if spec.client_id else {}
        if ca_bundle is not None:
            mi["connection_verify"] = ca_bundle
        return ai.ManagedIdentityCredential(**mi)
    if spec.kind == "device-code":
        return ai.DeviceCodeCredential(client_id=client_id, tenant_id=tenant_id, prompt_callback=_device_code_prompt,
                                       **options)
    if spec.kind == "azure-cli":
        if tenant_id == "organizations":
            return ai.AzureCliCredential()
        return ai.AzureCliCredential(tenant_id=tenant_id)
    raise BadInput(f"unknown credential kind {spec.kind!r}", hint=f"one of {', '.join(CREDENTIAL_KINDS)}")
