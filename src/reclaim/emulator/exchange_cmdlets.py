"""The Exchange admin API's cmdlet table (``CMDLETS``, ``@cmdlet``), its errors and its recipient lookups.

The cmdlets themselves live by noun in ``exchange_mailbox``, ``exchange_rules``, ``exchange_permissions``,
``exchange_devices``, ``exchange_org`` and ``exchange_audit``. Each declares its syntax as Microsoft's cmdlet
reference prints it (its page: ``Cmdlet.reference``; the table of sources is in docs/architecture.md), and
``exchange_binding`` binds parameters as PowerShell does. Handlers return the objects the real
cmdlet writes to its pipeline (write cmdlets return nothing) and may add warnings, which reach the client
in ``@adminapi.warnings``. Errors are raised as ``ExoError`` and written by ``exchange.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reclaim.emulator import exchange_binding as binding
from reclaim.emulator.exchange_objects import (
    email_addresses,
    legacy_dn,
    stable_guid,
    strip_smtp,
)
from reclaim.emulator.state import TenantState

JSON = dict[str, Any]

#: Where each cmdlet's reference page lives (its syntax, parameter sets and types are held to it).
LEARN = "https://learn.microsoft.com/powershell/module/exchange/"

#: Where Exchange says it looked for an object it could not find (a domain controller name).
DOMAIN_CONTROLLER = "DB8PR01A01DC001.EURPR01A001.PROD.OUTLOOK.COM"

SELF = "NT AUTHORITY\\SELF"
DEFAULT_RESULT_SIZE = 1000
RESULT_SIZE_WARNING = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number "
    "of items returned. To return all items, specify \"-ResultSize Unlimited\". Be aware that, depending on "
    "the actual number of items, returning all items can take a long time and consume a large amount of "
    "memory. Also, we don't recommend storing the results in a variable. Instead, pipe the results to another "
    "task or script to perform batch changes.")
MAILBOX_RIGHTS = ("ChangeOwner", "ChangePermission", "DeleteItem", "ExternalAccount", "FullAccess",
                  "ReadPermission")


class ExoError(Exception):
    """A cmdlet failure: HTTP status and OData code, the .NET exception type and the text a person reads."""

    def __init__(self, status: int, code: str, exception_type: str, text: str, *, error_id: str = "",
                 message: str = "Error executing cmdlet", warnings: Iterable[str] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {exception_type}: {text}")
        self.status = status
        self.code = code
        self.exception_type = exception_type
        self.text = text
        self.error_id = error_id
        self.message = message
        self.warnings = list(warnings)
        self.headers = dict(headers or {})


def cmdlet_not_found(name: str) -> ExoError:
    """PowerShell's CommandNotFoundException, in the service's error shape.

    One community client measured the live service answering an unknown cmdlet with a bodiless 403
    instead; the emulator gives the readable error so a typo in reclaim is found in tests.
    """
    return ExoError(400, "BadRequest", "System.Management.Automation.CommandNotFoundException",
                    f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or "
                    "operable program. Check the spelling of the name, or if a path was included, verify that "
                    "the path is correct and try again.")


def not_found(identity: str) -> ExoError:
    return ExoError(404, "NotFound", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                    f"The operation couldn't be performed because object '{identity}' couldn't be found on "
                    f"'{DOMAIN_CONTROLLER}'.", error_id="Ex6F9304")


def ambiguous(identity: str) -> ExoError:
    return ExoError(400, "BadRequest", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException",
                    f"The operation couldn't be performed because '{identity}' matches multiple entries.",
                    error_id="Ex0F3F5B")


def binding_error(text: str) -> ExoError:
    return ExoError(400, "BadRequest", "System.Management.Automation.ParameterBindingException", text)


@dataclass
class CmdletContext:
    state: TenantState
    now: datetime
    warnings: list[str] = field(default_factory=list)


class Params:
    """Bound parameters, by canonical name."""

    def __init__(self, values: JSON) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        return name in self.values

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, dict):
            # a serialised identity object: {"Value": "..."} / {"Identity": "..."}
            for key in ("Value", "Identity", "value", "identity"):
                if key in value:
                    return str(value[key])
        return str(value)

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return False if value is None else to_bool(name, value)

    def strings(self, name: str) -> list[str]:
        value = self.values.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out: list[str] = []
        for item in items:
            out.extend(part.strip() for part in str(item).split(",") if part.strip())
        return out


def to_bool(name: str, value: Any) -> bool:
    try:
        return binding.to_bool(name, value)
    except binding.BindingError as exc:
        raise binding_error(exc.text) from None


#: An output object, or a function that builds it: large listings build only the page that is sent.
Item = JSON | Callable[[], JSON]
Handler = Callable[[CmdletContext, Params], list[Item]]


@dataclass(frozen=True)
class Cmdlet:
    name: str
    write: bool
    syntax: binding.Syntax
    run: Handler
    #: the cmdlet's page in Microsoft's reference
    reference: str = ""
    #: real parameters (lower-case -> name) the practice tenant does not implement: answered "not served"
    unserved: dict[str, str] = field(default_factory=dict)

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(self.syntax.names())

    def bind(self, given: JSON) -> Params:
        try:
            return Params(binding.bind(self.name, self.syntax, given, unserved=self.unserved,
                                       reference=self.reference))
        except binding.BindingError as exc:
            raise binding_error(exc.text) from None
        except binding.NotServed as exc:
            raise ExoError(501, "NotImplemented", "reclaim.emulator.ParameterNotServed", exc.text) from None

    def handler(self, ctx: CmdletContext, given: JSON) -> list[Item]:
        return self.run(ctx, self.bind(given))


class CmdletTable(dict[str, Cmdlet]):
    """The cmdlets served, by lower-case name; ``add`` is the decorator that registers one."""

    def add(self, name: str, syntax: str | None = None, *, reference: str = "", unserved: tuple[str, ...] = (),
            default_set: str | None = None, parameters: tuple[str, ...] = (),
            mandatory: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
        """Register a cmdlet with its syntax as the reference prints it (see ``exchange_binding``). The older
        form, ``parameters=`` and ``mandatory=`` names in one set with no types, is still accepted."""
        if syntax is None:
            syntax = "Default: " + " ".join(("!" if p in mandatory else "") + f"{p}:Any" for p in parameters)
        parsed = binding.Syntax.parse(syntax, default_set)

        def register(run: Handler) -> Handler:
            self[name.lower()] = Cmdlet(name, not name.startswith("Get-"), parsed, run, reference or LEARN + name,
                                        {u.lower(): u for u in unserved})
            return run
        return register


CMDLETS = CmdletTable()
cmdlet = CMDLETS.add


# ------------------------------------------------------------------------------------------ lookups
def identity_keys(user: JSON) -> set[str]:
    """The everyday identities of a recipient, lower-cased: object id, UPN, addresses, alias."""
    upn = str(user.get("userPrincipalName", ""))
    keys = {str(user.get("id", "")), upn, str(user.get("mail") or ""),
            str(user.get("mailNickname") or upn.split("@", 1)[0]),
            *(a.split(":", 1)[-1] for a in email_addresses(user))}
    return {k.lower() for k in keys if k}


def directory_keys(user: JSON) -> set[str]:
    """The other identities Exchange accepts: LegacyExchangeDN, ExchangeGuid and Guid."""
    uid = str(user["id"])
    return {legacy_dn(user).lower(), stable_guid("exchange", uid), stable_guid("recipient", uid)}


class RecipientIndex:
    """Identity → user for one state, so a lookup in a 10,000-mailbox tenant is not a scan.

    Users cannot be added, removed or renamed through the emulated APIs, so the index is rebuilt only
    when the user list itself changes (a new state is loaded, or its length changes); every hit is
    checked against the user before it is returned.
    """

    def __init__(self, users: list[JSON]) -> None:
        self.users = users
        self.size = len(users)
        self.by_key = self._build(identity_keys)
        self._by_directory_key: dict[str, JSON] | None = None

    def _build(self, keys: Callable[[JSON], set[str]]) -> dict[str, JSON]:
        out: dict[str, JSON] = {}
        # users without a mailbox first, so a mailbox user wins a shared key
        for user in sorted(self.users, key=lambda u: u.get("mailbox") is not None):
            for key in keys(user):
                out[key] = user
        return out

    def by_directory_key(self) -> dict[str, JSON]:
        if self._by_directory_key is None:
            self._by_directory_key = self._build(directory_keys)
        return self._by_directory_key

    def current(self, users: list[JSON]) -> bool:
        return users is self.users and len(users) == self.size


_INDEXES: dict[int, RecipientIndex] = {}


def recipient_index(st: TenantState) -> RecipientIndex:
    users = st.users()
    index = _INDEXES.get(id(st))
    if index is None or not index.current(users):
        if len(_INDEXES) > 16:
            _INDEXES.clear()
        index = _INDEXES[id(st)] = RecipientIndex(users)
    return index


def resolve_recipient(ctx: CmdletContext, key: str) -> JSON | None:
    """A recipient of the tenant (a mailbox if one matches, else another user) by any of its identities."""
    wanted = strip_smtp(key.strip()).lower()
    index = recipient_index(ctx.state)
    user = index.by_key.get(wanted)
    if user is not None and wanted in identity_keys(user):
        return user
    if wanted.startswith("/o=") or (len(wanted) == 36 and wanted.count("-") == 4):
        user = index.by_directory_key().get(wanted)
        if user is not None and wanted in directory_keys(user):
            return user
    return None


def mailbox_users(st: TenantState) -> list[JSON]:
    return list(st.iter_mailbox_users())


def resolve_mailbox(ctx: CmdletContext, key: str) -> JSON:
    user = resolve_recipient(ctx, key)
    if user is None or user.get("mailbox") is None:
        raise not_found(key)
    return user


def same_principal(ctx: CmdletContext, stored: Any, wanted: str) -> bool:
    if stored is None:
        return False
    if str(stored).lower() == wanted.lower():
        return True
    a, b = resolve_recipient(ctx, str(stored)), resolve_recipient(ctx, wanted)
    return a is not None and b is not None and a.get("id") == b.get("id")


def result_size(ctx: CmdletContext, params: Params, items: list[Item]) -> list[Item]:
    """Apply -ResultSize: 1000 by default (with Exchange's warning when more exist), ``Unlimited`` for all."""
    if not params.has("ResultSize"):
        if len(items) > DEFAULT_RESULT_SIZE:
            ctx.warnings.append(RESULT_SIZE_WARNING)
        return items[:DEFAULT_RESULT_SIZE]
    raw = params.raw("ResultSize")
    if isinstance(raw, str) and raw.strip().lower() == "unlimited":
        return items
    try:
        size = int(str(raw))
    except ValueError:
        size = 0
    if size < 1 or isinstance(raw, bool):
        raise binding_error(f"Cannot bind parameter 'ResultSize' to the target. Exception setting \"ResultSize\": "
                            f"\"The value '{raw}' is not valid: use a positive number or Unlimited.\"")
    return items[:size]


def mailboxes_in_scope(ctx: CmdletContext, params: Params, name: str = "Identity") -> list[JSON]:
    key = params.text(name)
    if key:
        return [resolve_mailbox(ctx, key)]
    anr = params.text("Anr")
    if anr:
        return [u for u in mailbox_users(ctx.state) if _anr_matches(u, anr)]
    return mailbox_users(ctx.state)


def _anr_matches(user: JSON, text: str) -> bool:
    """Ambiguous name resolution: the text begins the display name, a name in it, the alias or an address."""
    wanted = text.strip().lower()
    display = str(user.get("displayName") or "").lower()
    upn = str(user.get("userPrincipalName") or "").lower()
    names = [display, *display.split(), str(user.get("mailNickname") or upn.split("@", 1)[0]).lower(), upn,
             str(user.get("mail") or "").lower()]
    return any(n.startswith(wanted) for n in names if n)


def unchanged_warning(ctx: CmdletContext, identity: str) -> None:
    ctx.warnings.append(f"The command completed successfully but no settings of '{identity}' have been modified.")
