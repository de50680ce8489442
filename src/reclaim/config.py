"""reclaim's configuration file: the tenants it knows, as TOML, with nothing secret in it.

Location: ``$RECLAIM_CONFIG``, else ``config.toml`` in ``platformdirs.user_config_dir("reclaim")``.
The file is written atomically with mode 0600 (its directory 0700). ``RECLAIM_TENANT`` names the
default tenant; otherwise the file's ``default``, otherwise its only tenant.

::

    default = "contoso"

    [tenants.contoso]
    tenant_id = "8f3c1d2e-4b5a-4c6d-9e7f-0a1b2c3d4e5f"
    client_id = "2b7e...."
    auth = "certificate"                 # certificate | secret | managed-identity | device-code | azure-cli
    certificate = "/home/me/.config/reclaim/contoso.pem"
    certificate_password_env = "CONTOSO_CERT_PASSWORD"   # optional: the env var holding the PFX password

    [tenants.fabrikam]
    tenant_id = "fabrikam.onmicrosoft.com"
    client_id = "..."
    auth = "secret"
    secret_env = "FABRIKAM_SECRET"       # or: secret_keyring = true
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import platformdirs
import tomli_w

from reclaim.errors import BadInput

# reclaim.m365 (httpx, azure-identity) is imported where a tenant entry is checked or used, not here: the CLI
# imports this module for TENANT_ENV at startup, and `reclaim --help` must not load the client.
if TYPE_CHECKING:
    from reclaim.m365.connection import ConnectionSettings
    from reclaim.m365.credentials import CredentialKind, CredentialSpec

__all__ = ["CONFIG_ENV", "TENANT_ENV", "Config", "TenantEntry", "config_path"]

CONFIG_ENV = "RECLAIM_CONFIG"
TENANT_ENV = "RECLAIM_TENANT"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: an app id another authority may accept: no spaces, quotes or slashes (it goes into a form and a URL)
_APP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_KEYS = {"tenant_id", "client_id", "auth", "certificate", "certificate_password_env", "secret_env",
         "secret_keyring", "endpoint", "ca_bundle"}


def config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir("reclaim")) / "config.toml"


@dataclass(frozen=True)
class TenantEntry:
    """One configured tenant: ids and where its credential comes from (never the secret)."""

    name: str
    tenant_id: str
    auth: CredentialKind
    client_id: str | None = None
    certificate: str | None = None
    certificate_password_env: str | None = None
    secret_env: str | None = None
    secret_keyring: bool = False
    #: optional: an https:// base URL serving the token endpoint, Graph and Exchange (an emulator)
    endpoint: str | None = None
    #: optional: a CA bundle to trust in addition to the system's
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise BadInput(f"tenant {self.name!r}: {problems[0]}")

    def problems(self) -> list[str]:
        from reclaim.m365.connection import Endpoints
        from reclaim.m365.credentials import CREDENTIAL_KINDS

        out: list[str] = []
        if not _NAME.match(self.name):
            out.append("the name may use letters, digits, '.', '_' and '-' (at most 64)")
        if not (_GUID.match(self.tenant_id) or _DOMAIN.match(self.tenant_id)):
            out.append(f"tenant_id {self.tenant_id!r} is neither a GUID nor a domain name")
        if self.auth not in CREDENTIAL_KINDS:
            out.append(f"auth {self.auth!r} is not one of {', '.join(CREDENTIAL_KINDS)}")
        if self.client_id is not None and not _GUID.match(self.client_id) and not (
                self.endpoint is not None and _APP_ID.match(self.client_id)):
            # Microsoft's identity platform takes GUIDs; another authority (an emulator's) decides for itself
            out.append(f"client_id {self.client_id!r} is not a GUID (the app registration's Application ID)")
        if self.auth in ("certificate", "secret", "device-code") and not self.client_id:
            out.append(f"auth {self.auth!r} needs a client_id")
        if self.auth == "certificate" and not self.certificate:
            out.append("auth 'certificate' needs certificate = PATH (PEM or PFX)")
        if self.auth == "secret" and not (self.secret_env or self.secret_keyring):
            out.append("auth 'secret' needs secret_env = VAR or secret_keyring = true")
        if self.secret_env and self.secret_keyring:
            out.append("choose one of secret_env and secret_keyring")
        for key in ("secret_env", "certificate_password_env"):
            value = getattr(self, key)
            if value is not None and not _ENV_NAME.match(value):
                out.append(f"{key} must be the NAME of an environment variable, not its value")
        if self.endpoint is not None:
            try:
                Endpoints.under(self.endpoint)
            except BadInput as exc:
                out.append(exc.message)
        return out

    def credential(self) -> CredentialSpec:
        from reclaim.m365.credentials import CredentialSpec

        return CredentialSpec(kind=self.auth, client_id=self.client_id, certificate_path=self.certificate,
                              certificate_password_env=self.certificate_password_env, secret_env=self.secret_env,
                              secret_keyring=self.secret_keyring)

    def settings(self, *, endpoint: str | None = None) -> ConnectionSettings:
        """Connection settings; ``endpoint`` (``--endpoint``) overrides the entry's own."""
        from reclaim.m365.connection import ConnectionSettings, Endpoints

        base = endpoint or self.endpoint
        endpoints = Endpoints.under(base) if base else Endpoints.microsoft()
        return ConnectionSettings(endpoints=endpoints, tenant_id=self.tenant_id, credential=self.credential(),
                                  name=self.name, ca_bundle=self.ca_bundle)

    def to_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tenant_id": self.tenant_id, "auth": self.auth}
        for key in ("client_id", "certificate", "certificate_password_env", "secret_env", "endpoint", "ca_bundle"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.secret_keyring:
            out["secret_keyring"] = True
        return out

    @classmethod
    def from_toml(cls, name: str, data: Any, *, where: str) -> TenantEntry:
        if not isinstance(data, dict):
            raise BadInput(f"{where}: [tenants.{name}] must be a table")
        unknown = set(data) - _KEYS
        if unknown:
            raise BadInput(f"{where}: [tenants.{name}]: unknown key {sorted(unknown)[0]!r}",
                           hint="secrets never go in the config file: use secret_env or secret_keyring")
        for key in ("tenant_id", "auth"):
            if not isinstance(data.get(key), str):
                raise BadInput(f"{where}: [tenants.{name}]: {key} is required (a string)")
        for key in _KEYS - {"secret_keyring"}:
            if key in data and not isinstance(data[key], str):
                raise BadInput(f"{where}: [tenants.{name}]: {key} must be a string")
        if "secret_keyring" in data and not isinstance(data["secret_keyring"], bool):
            raise BadInput(f"{where}: [tenants.{name}]: secret_keyring must be true or false")
        try:
            return cls(name=name, tenant_id=data["tenant_id"], auth=cast("CredentialKind", data["auth"]),
                       client_id=data.get("client_id"), certificate=data.get("certificate"),
                       certificate_password_env=data.get("certificate_password_env"),
                       secret_env=data.get("secret_env"), secret_keyring=bool(data.get("secret_keyring", False)),
                       endpoint=data.get("endpoint"), ca_bundle=data.get("ca_bundle"))
        except BadInput as exc:
            raise BadInput(f"{where}: {exc.message}") from None


@dataclass
class Config:
    path: Path
    tenants: dict[str, TenantEntry] = field(default_factory=dict)
    default: str | None = None
    #: who acts, as the remediation journal and the report name them (``operator = "..."``; ``--operator`` and
    #: ``RECLAIM_OPERATOR`` win over it)
    operator: str | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        """Read the config file (a missing file is an empty config)."""
        path = path or config_path()
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path=path)
        except OSError as exc:
            raise BadInput(f"cannot read {path}: {exc.strerror}") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(f"{path}: not valid TOML: {exc}") from None
        unknown = set(data) - {"default", "tenants", "operator"}
        if unknown:
            raise BadInput(f"{path}: unknown key {sorted(unknown)[0]!r}")
        tenants_raw = data.get("tenants", {})
        if not isinstance(tenants_raw, dict):
            raise BadInput(f"{path}: tenants must be a table")
        tenants = {name: TenantEntry.from_toml(name, value, where=str(path)) for name, value in tenants_raw.items()}
        default = data.get("default")
        if default is not None and (not isinstance(default, str) or default not in tenants):
            raise BadInput(f"{path}: default = {default!r} is not a configured tenant")
        operator = data.get("operator")
        if operator is not None and (not isinstance(operator, str) or not operator.strip()):
            raise BadInput(f"{path}: operator must be a non-empty string (a name or an address)")
        return cls(path=path, tenants=tenants, default=default, operator=operator.strip() if operator else None)

    def save(self) -> None:
        """Write atomically, mode 0600 (directory 0700)."""
        document: dict[str, Any] = {}
        if self.default is not None:
            document["default"] = self.default
        if self.operator is not None:
            document["operator"] = self.operator
        document["tenants"] = {name: entry.to_toml() for name, entry in sorted(self.tenants.items())}
        text = ("# reclaim configuration (`reclaim tenant add` writes it). No secrets here: only where they come "
                "from.\n" + tomli_w.dumps(document))
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = directory / f".{self.path.name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.chmod(0o600)
            tmp.replace(self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def add(self, entry: TenantEntry, *, replace: bool = False, make_default: bool = False) -> None:
        if entry.name in self.tenants and not replace:
            raise BadInput(f"tenant {entry.name!r} already exists", hint="use --force to replace it")
        self.tenants[entry.name] = entry
        if make_default or (self.default is None and len(self.tenants) == 1):
            self.default = entry.name

    def remove(self, name: str) -> TenantEntry:
        if name not in self.tenants:
            raise BadInput(f"no tenant named {name!r}", hint="`reclaim tenant list` shows the configured ones")
        entry = self.tenants.pop(name)
        if self.default == name:
            self.default = next(iter(sorted(self.tenants)), None) if len(self.tenants) == 1 else None
        return entry

    def resolve(self, name: str | None = None) -> TenantEntry:
        """The tenant to use: ``name``, else ``$RECLAIM_TENANT``, else the default, else the only one."""
        chosen = name or os.environ.get(TENANT_ENV) or self.default
        if chosen is None and len(self.tenants) == 1:
            chosen = next(iter(self.tenants))
        if chosen is None:
            if not self.tenants:
                raise BadInput("no tenant configured",
                               hint="`reclaim tenant add NAME ...`, or point at the practice tenant with "
                                    "--endpoint / RECLAIM_ENDPOINT")
            raise BadInput("several tenants are configured and none is the default",
                           hint=f"choose one with --tenant or {TENANT_ENV}: {', '.join(sorted(self.tenants))}")
        if chosen not in self.tenants:
            raise BadInput(f"no tenant named {chosen!r} in {self.path}",
                           hint="`reclaim tenant list` shows the configured ones")
        return self.tenants[chosen]
