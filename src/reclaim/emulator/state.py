"""The emulator's state: one Microsoft 365 tenant as plain, Graph-shaped dicts (the fixture format).

The state model is separate from the wire format (``graph.py``, ``exchange.py``): routes read and
write these dicts, and ``dump()`` returns them in the fixture format of DESIGN.md, so load → dump is
lossless and unknown fields are kept as given.

Mailbox data lives under ``user["mailbox"]``; Graph and Exchange views are both derived from it, so a
write through one API is visible through the other.
"""

from __future__ import annotations

import gc
import hashlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# Clock and the timestamp helpers live in clock.py; the names stay importable from here.
from reclaim.emulator.clock import Clock as Clock
from reclaim.emulator.clock import copy_document as copy_document
from reclaim.emulator.clock import iso as iso
from reclaim.emulator.clock import new_id as new_id
from reclaim.emulator.clock import parse_iso as parse_iso
from reclaim.emulator.clock import without_gc as without_gc
from reclaim.emulator.drive_state import normalise_drives
from reclaim.emulator.fixture import validate_fixture

JSON = dict[str, Any]

#: Every Graph application permission reclaim uses; the default app is granted all of them.
ALL_GRAPH_PERMISSIONS: tuple[str, ...] = (
    "User.Read.All",
    "User.ReadWrite.All",
    "User.EnableDisableAccount.All",
    "User.RevokeSessions.All",
    "User-PasswordProfile.ReadWrite.All",
    "Directory.Read.All",
    "Domain.Read.All",
    "MailboxSettings.Read",
    "MailboxSettings.ReadWrite",
    "Mail.Read",
    "Mail.ReadBasic.All",
    "Mail.ReadWrite",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Application.Read.All",
    "AuditLog.Read.All",
    "IdentityRiskyUser.Read.All",
    "IdentityRiskyUser.ReadWrite.All",
    "IdentityRiskEvent.Read.All",
    "ExchangeMessageTrace.Read.All",
    "SecurityAlert.Read.All",
    "Policy.Read.All",
    "AuditLogsQuery.Read.All",
    "Files.Read.All",
    "Files.ReadWrite.All",
    "SharePointTenantSettings.Read.All",
    "Exchange.ManageAsApp",
)

#: Entra directory roles the default app holds.
DEFAULT_APP_ROLES: tuple[str, ...] = ("Exchange Administrator", "User Administrator",
                                     "Privileged Authentication Administrator")

DEFAULT_CLIENT_ID = "00000000-0000-0000-0000-0000000c1a1m"
DEFAULT_CLIENT_SECRET = "emulator-secret"  # noqa: S105 - the practice tenant's well-known secret
DEFAULT_TENANT_ID = "8f3c1d2e-4b5a-4c6d-9e7f-0a1b2c3d4e5f"

#: Well-known mail folders created when a fixture does not list them: (wellKnownName, English name).
WELL_KNOWN_FOLDERS: tuple[tuple[str, str], ...] = (
    ("msgfolderroot", "Top of Information Store"),
    ("inbox", "Inbox"),
    ("drafts", "Drafts"),
    ("sentitems", "Sent Items"),
    ("deleteditems", "Deleted Items"),
    ("junkemail", "Junk Email"),
    ("archive", "Archive"),
    ("outbox", "Outbox"),
    ("conversationhistory", "Conversation History"),
)

#: Folders outside the message folder tree (not children of ``msgfolderroot``, never in ``/mailFolders``) that
#: Graph still reaches by well-known name: (wellKnownName, English name, parent's wellKnownName).
RECOVERABLE_FOLDERS: tuple[tuple[str, str, str], ...] = (
    ("recoverableitemsroot", "Recoverable Items", "root"),
    ("recoverableitemsdeletions", "Deletions", "recoverableitemsroot"),
)

#: Top-level fixture sections that hold lists of objects.
LIST_SECTIONS: tuple[str, ...] = (
    "apps",
    "users",
    "servicePrincipals",
    "blockedSenders",
    "signIns",
    "directoryAudits",
    "messageTraces",
    "auditRecords",
    "transportRules",
    "alerts",
    "riskDetections",
    "conditionalAccessPolicies",
)


def _default_id(obj: JSON, key: str) -> None:
    """``obj.setdefault(key, new_id())`` without drawing a random id when there already is one."""
    if key not in obj:
        obj[key] = new_id()


@dataclass
class TenantState:
    """A loaded tenant. ``data`` is the fixture document; the rest are indexes over it."""

    data: JSON
    clock: Clock = field(default_factory=Clock)
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: what the services remember between requests that is not tenant data (``/users/delta`` rounds), by
    #: service; never dumped. ``Emulator.load`` hands it to the new state: a delta link given out before a
    #: reload still works after it, and reports what the reload changed
    sessions: JSON = field(default_factory=dict, repr=False, compare=False)
    #: lower-cased id / userPrincipalName / mail -> user; rebuilt when the users list changes (see find_user)
    _user_index: dict[str, JSON] = field(default_factory=dict, init=False, repr=False, compare=False)
    _user_index_of: tuple[int, int] = field(default=(0, -1), init=False, repr=False, compare=False)

    # ---------------------------------------------------------------- loading and dumping
    @classmethod
    def from_fixture(cls, fixture: JSON, clock: Clock | None = None) -> TenantState:
        """Validate and load a fixture. Raises ``FixtureError`` (path and reason) and loads nothing.

        The state is a copy: the caller's document is never changed (the emulator resets from it).
        """
        with without_gc():
            validate_fixture(fixture)
            state = cls(data=copy_document(fixture), clock=clock or Clock())
            state._normalise()
            # The state lives as long as the emulator: keep the cyclic collector from walking its millions of
            # objects on every collection (at 10,000 users each full collection took ~0.4 s, once per page of
            # Get-Mailbox). Frozen objects are still freed by reference counting when a reload drops them.
            gc.freeze()
        return state

    def dump(self) -> JSON:
        with self.lock, without_gc():
            return copy_document(self.data)

    def _normalise(self) -> None:
        d = self.data
        tenant = d.setdefault("tenant", {})
        tenant.setdefault("id", DEFAULT_TENANT_ID)
        tenant.setdefault("displayName", "Contoso")
        tenant.setdefault("domains", ["contoso.com"])
        if "apps" not in d:
            d["apps"] = [
                {
                    "clientId": DEFAULT_CLIENT_ID,
                    "clientSecret": DEFAULT_CLIENT_SECRET,
                    "displayName": "reclaim (practice tenant)",
                    "permissions": list(ALL_GRAPH_PERMISSIONS),
                    "roles": list(DEFAULT_APP_ROLES),
                    # Exchange RBAC roles given to the app (New-ManagementRoleAssignment -App): the recoverable
                    # items cmdlets are in "Mailbox Import Export" only
                    "exchangeRoles": ["Mailbox Import Export"],
                    # SharePoint REST's own application permission (the OneDrive recycle bin restore)
                    "sharepointPermissions": ["Sites.FullControl.All"],
                }
            ]
        for section in LIST_SECTIONS:
            d.setdefault(section, [])
        for user in d["users"]:
            self._normalise_user(user)
        normalise_drives(d)

    def _normalise_user(self, user: JSON) -> None:
        _default_id(user, "id")
        upn = user.setdefault("userPrincipalName", f"{user['id']}@{self.primary_domain}")
        user.setdefault("displayName", upn.split("@")[0])
        user.setdefault("accountEnabled", True)
        if "mailbox" in user and user["mailbox"] is not None:
            user.setdefault("mail", upn)
            mbx = user["mailbox"]
            mbx.setdefault("forwardingSmtpAddress", None)
            mbx.setdefault("forwardingAddress", None)
            mbx.setdefault("deliverToMailboxAndForward", False)
            folders = mbx.setdefault("folders", [])
            have = {f.get("wellKnownName") for f in folders}
            for wkn, name in WELL_KNOWN_FOLDERS:
                if wkn not in have:
                    folders.append({"id": _folder_id(user["id"], wkn), "displayName": name,
                                    "wellKnownName": wkn})
            have = {f.get("wellKnownName") for f in folders}
            for wkn, name, parent in RECOVERABLE_FOLDERS:
                if wkn not in have:
                    folders.append({"id": _folder_id(user["id"], wkn), "displayName": name, "wellKnownName": wkn,
                                    "parentFolderId": self.folder_id(user, parent) or _folder_id(user["id"], parent)})
            for f in folders:
                _default_id(f, "id")
                f.setdefault("wellKnownName", None)
            for rule in mbx.setdefault("inboxRules", []):
                _default_id(rule, "id")
                rule.setdefault("isEnabled", True)
                rule.setdefault("hidden", False)
                rule.setdefault("conditions", {})
                rule.setdefault("actions", {})
                rule.setdefault("exceptions", {})
            for seq, rule in enumerate(mbx["inboxRules"], start=1):
                rule.setdefault("sequence", seq)
            for sweep in mbx.setdefault("sweepRules", []):
                _default_id(sweep, "ruleId")
                sweep.setdefault("enabled", True)
            mbx.setdefault("automaticRepliesSetting", {"status": "disabled"})
            mbx.setdefault("permissions", [])
            mbx.setdefault("recipientPermissions", [])
            mbx.setdefault("mobileDevices", [])
            messages = mbx.setdefault("messages", {})
            for key, items in messages.items():
                for msg in items:
                    _default_id(msg, "id")
                    msg.setdefault("parentFolderId", self.folder_id(user, key) or key)
        user.setdefault("authenticationMethods", [])
        user.setdefault("oauth2PermissionGrants", [])

    # ---------------------------------------------------------------- lookups
    @property
    def tenant_id(self) -> str:
        return str(self.data["tenant"]["id"])

    @property
    def domains(self) -> list[str]:
        return [str(x) for x in self.data["tenant"].get("domains", [])]

    @property
    def primary_domain(self) -> str:
        domains = self.data.get("tenant", {}).get("domains") or ["contoso.com"]
        return str(domains[0])

    @property
    def settings(self) -> JSON:
        settings: JSON = self.data["tenant"].get("settings", {})
        return settings

    def users(self) -> list[JSON]:
        users: list[JSON] = self.data["users"]
        return users

    def find_user(self, key: str) -> JSON | None:
        """Find a user by object id, userPrincipalName or primary SMTP address (case-insensitive).

        O(1) through an index; a hit is re-checked against the user (so an edited UPN is never matched
        by its old value), and a miss falls back to a scan that rebuilds the index if it finds the user.
        """
        k = key.lower()
        users: list[JSON] = self.data["users"]
        if self._user_index_of != (id(users), len(users)):
            self._reindex_users(users)
        user = self._user_index.get(k)
        if user is not None and _user_has_key(user, k):
            return user
        for user in users:
            if _user_has_key(user, k):
                self._reindex_users(users)
                return user
        return None

    def _reindex_users(self, users: list[JSON]) -> None:
        index: dict[str, JSON] = {}
        for user in reversed(users):  # the first user with a key wins, as in a scan
            for field_name in ("mail", "userPrincipalName", "id"):
                value = user.get(field_name)
                if value:
                    index[str(value).lower()] = user
        self._user_index = index
        self._user_index_of = (id(users), len(users))

    def find_app(self, client_id: str) -> JSON | None:
        app: JSON
        for app in self.data["apps"]:
            if app.get("clientId") == client_id:
                return app
        return None

    def folder_id(self, user: JSON, key: str) -> str | None:
        """Resolve a well-known name or folder id to the folder's id in this user's mailbox."""
        mbx = user.get("mailbox") or {}
        for f in mbx.get("folders", []):
            if f.get("id") == key or (f.get("wellKnownName") or "").lower() == key.lower():
                return str(f["id"])
        return None

    def folder(self, user: JSON, key: str) -> JSON | None:
        fid = self.folder_id(user, key)
        if fid is None:
            return None
        f: JSON
        for f in (user.get("mailbox") or {}).get("folders", []):
            if f.get("id") == fid:
                return f  # the live dict: callers may write to it
        return None

    def folder_messages(self, user: JSON, key: str) -> list[JSON]:
        """The messages of a folder (by well-known name or id). Fixtures key them by either."""
        mbx = user.get("mailbox") or {}
        fid = self.folder_id(user, key)
        messages: dict[str, list[JSON]] = mbx.get("messages", {})
        out: list[JSON] = []
        for folder_key, items in messages.items():
            if folder_key == key or (fid is not None and self.folder_id(user, folder_key) == fid):
                out.extend(items)
        return out

    def is_internal(self, address: str) -> bool:
        domain = address.rsplit("@", 1)[-1].lower()
        return domain in {d.lower() for d in self.domains}

    def iter_mailbox_users(self) -> Iterator[JSON]:
        for user in self.data["users"]:
            if user.get("mailbox") is not None:
                yield user


def _user_has_key(user: JSON, key: str) -> bool:
    return (str(user.get("id", "")).lower() == key or str(user.get("userPrincipalName", "")).lower() == key
            or str(user.get("mail") or "").lower() == key)


def _folder_id(user_id: str, well_known: str) -> str:
    """A stable, Graph-looking folder id, so repeated loads of one fixture give the same ids."""
    # uuid.uuid5(uuid.NAMESPACE_URL, name).hex, computed directly (loading 10,000 mailboxes makes 80,000 of them)
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + f"{user_id}/{well_known}".encode(),
                                    usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return "AAMkA" + digest.hex() + "AAA="


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes
