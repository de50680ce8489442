"""Validation of fixtures (a tenant as JSON, the format in DESIGN.md).

Pydantic models describe the parts the emulator relies on; every model allows extra fields, because a
fixture keeps unknown fields and the emulator returns them as given. Validation only checks; the
loaded state is the fixture document itself, so nothing is lost or reordered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from reclaim.emulator.clock import parse_iso, without_gc
from reclaim.errors import BadInput


class FixtureError(BadInput, ValueError):
    """A fixture that cannot be loaded: ``path`` is where in the document, ``reason`` what is wrong."""

    def __init__(self, *, path: str, reason: str, source: str | None = None) -> None:
        self.path = path
        self.reason = reason
        self.source = source
        where = f"{source}: " if source else "fixture: "
        super().__init__(f"{where}{path or '(document)'}: {reason}",
                         hint="fix the fixture; nothing was loaded")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


def _timestamp(value: Any) -> Any:
    if value is None:
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp string")
    try:
        parse_iso(value)
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from exc
    return value


class Tenant(_Open):
    id: str | None = None
    displayName: str | None = None
    domains: list[str] | None = None
    settings: dict[str, Any] = {}  # an object when given (null would reach the state as None)

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("a tenant needs at least one accepted domain")
            for d in value:
                if "." not in d or "@" in d or " " in d:
                    raise ValueError(f"not a domain name: {d!r}")
        return value


class App(_Open):
    clientId: str
    clientSecret: str | None = None
    permissions: list[str] = []
    roles: list[str] = []


class Folder(_Open):
    id: str | None = None
    displayName: str
    wellKnownName: str | None = None
    parentFolderId: str | None = None


class InboxRule(_Open):
    id: str | None = None
    displayName: str
    sequence: int | None = None
    isEnabled: bool | None = None
    conditions: dict[str, Any] | None = None
    actions: dict[str, Any] | None = None
    exceptions: dict[str, Any] | None = None
    hidden: bool | None = None


class SweepRule(_Open):
    ruleId: str | None = None
    name: str
    sourceFolder: str | None = None
    destinationFolder: str | None = None
    enabled: bool | None = None


class Message(_Open):
    id: str | None = None
    subject: str | None = None
    receivedDateTime: str | None = None
    sentDateTime: str | None = None

    _ts_r = field_validator("receivedDateTime")(_timestamp)
    _ts_s = field_validator("sentDateTime")(_timestamp)


class Mailbox(_Open):
    forwardingSmtpAddress: str | None = None
    forwardingAddress: str | None = None
    deliverToMailboxAndForward: bool | None = None
    folders: list[Folder] = []
    inboxRules: list[InboxRule] = []
    sweepRules: list[SweepRule] = []
    automaticRepliesSetting: dict[str, Any] | None = None
    permissions: list[dict[str, Any]] = []
    recipientPermissions: list[dict[str, Any]] = []
    mobileDevices: list[dict[str, Any]] = []
    messages: dict[str, list[Message]] = {}


class AuthMethod(_Open):
    id: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _noop(cls, value: Any) -> Any:
        return value


class DrivePermission(_Open):
    id: str
    roles: list[str] = []
    link: dict[str, Any] | None = None
    expirationDateTime: str | None = None

    _ts = field_validator("expirationDateTime")(_timestamp)


class DriveItem(_Open):
    id: str | None = None
    name: str
    parentReference: dict[str, Any] | None = None
    permissions: list[DrivePermission] = []


class Drive(_Open):
    id: str | None = None
    items: list[DriveItem] = []
    recycleBin: list[DriveItem] = []


class Site(_Open):
    id: str
    drive: Drive | None = None


class User(_Open):
    id: str | None = None
    userPrincipalName: str
    displayName: str | None = None
    mail: str | None = None
    accountEnabled: bool | None = None
    mailbox: Mailbox | None = None
    authenticationMethods: list[dict[str, Any]] = []
    oauth2PermissionGrants: list[dict[str, Any]] = []
    risk: dict[str, Any] | None = None
    drive: Drive | None = None

    @field_validator("userPrincipalName")
    @classmethod
    def _upn(cls, value: str) -> str:
        local, sep, domain = value.partition("@")
        if not sep or not local or "." not in domain or " " in value:
            raise ValueError(f"not a user principal name: {value!r}")
        return value


class Fixture(_Open):
    tenant: Tenant = Tenant()  # an object when given: "tenant": null is refused, not loaded half-way
    apps: list[App] | None = None
    users: list[User] = []
    servicePrincipals: list[dict[str, Any]] = []
    blockedSenders: list[dict[str, Any]] = []
    signIns: list[dict[str, Any]] = []
    directoryAudits: list[dict[str, Any]] = []
    messageTraces: list[dict[str, Any]] = []
    auditRecords: list[dict[str, Any]] = []
    transportRules: list[dict[str, Any]] = []
    sites: list[Site] = []


def validate_fixture(document: Any, source: str | None = None) -> None:
    """Raise ``FixtureError`` naming the first problem; return quietly for a loadable fixture."""
    if not isinstance(document, dict):
        raise FixtureError(path="", reason="a fixture must be a JSON object", source=source)
    try:
        with without_gc():
            Fixture.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise FixtureError(path=path, reason=first["msg"], source=source) from None
    ids: set[str] = set()
    upns: set[str] = set()
    for i, user in enumerate(document.get("users", [])):
        uid = user.get("id")
        if uid is not None:
            if uid in ids:
                raise FixtureError(path=f"users.{i}.id", reason=f"duplicate user id {uid!r}", source=source)
            ids.add(uid)
        upn = str(user["userPrincipalName"]).lower()
        if upn in upns:
            raise FixtureError(path=f"users.{i}.userPrincipalName",
                               reason=f"duplicate userPrincipalName {upn!r}", source=source)
        upns.add(upn)


def read_fixture_file(path: Path) -> dict[str, Any]:
    """Read a fixture from a JSON (or, if PyYAML is installed, YAML) file and validate it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FixtureError(path="", reason="file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(path="", reason=f"cannot read: {exc}", source=str(path)) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FixtureError(path=f"line {exc.lineno} column {exc.colno}", reason=f"invalid JSON: {exc.msg}",
                           source=str(path)) from None
    validate_fixture(document, source=str(path))
    assert isinstance(document, dict)
    return document
