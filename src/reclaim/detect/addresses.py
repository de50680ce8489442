"""Recipients as rules, mailboxes and exports write them, and whether they leave the tenant.

Accepted forms: ``x@y``, ``smtp:x@y`` / ``SMTP:x@y``, Graph ``{"emailAddress": {"name", "address"}}``,
Exchange/CSV ``"Name" [SMTP:x@y]`` and ``"Name" [EX:/o=ExchangeLabs/...]`` (several in one cell),
and bare Exchange legacy DNs (``/o=ExchangeLabs/...``), which always denote a recipient in the tenant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reclaim.detect.fields import get, text

_BRACKETED = re.compile(r'(?:"(?P<name>(?:[^"]|"")*)"\s*)?\[(?P<scheme>[A-Za-z]+):(?P<value>[^\]]*)\]')
#: What Export-Csv writes for a list it cannot flatten ("System.Collections.ArrayList",
#: "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]", "System.Object[]").
TYPE_NAME = re.compile(r"^(?:System|Microsoft|Deserialized)\.[\w.`\[\], =+]*$")
NOT_EXPORTED = "(not exported)"
_EMAIL = re.compile(r"[^\s<>\"'\[\],;:]+@[^\s<>\"'\[\],;]+")


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str = ""
    kind: Literal["smtp", "legacyDN", "unknown"] = "smtp"

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].strip().strip(".").lower() if self.kind == "smtp" else ""

    def is_external(self, accepted_domains: Iterable[str]) -> bool:
        """True when the address is outside every accepted domain (subdomains of one count as inside).

        Legacy DNs (``EX:``) are mailbox-internal by construction; an unparsable value is not
        claimed external (the caller reports it as unresolved instead).
        """
        if self.kind != "smtp":
            return False
        domain = self.domain
        if not domain:
            return False
        for accepted in accepted_domains:
            a = accepted.strip().strip(".").lower()
            if a.startswith("*."):
                a = a[2:]
            if a and (domain == a or domain.endswith("." + a)):
                return False
        return True

    def to_json(self) -> dict[str, str]:
        return {"address": self.address, "name": self.name, "kind": self.kind}


def _strip_scheme(value: str) -> str:
    v = value.strip()
    if v.lower().startswith("smtp:"):
        v = v[5:]
    return v.strip().strip("<>").strip()


def parse_recipients(value: Any) -> list[Recipient]:
    """Every recipient in a value of any of the accepted forms; garbage yields nothing."""
    out: list[Recipient] = []
    if value is None:
        return out
    if isinstance(value, Mapping):
        email = get(value, "emailAddress")
        source = email if isinstance(email, Mapping) else value
        address = text(source, "address", "Address", "PrimarySmtpAddress")
        name = text(source, "name", "Name", "DisplayName") or ""
        if address:
            out.extend(_from_string(address, name))
        return out
    if isinstance(value, list | tuple):
        for element in value:
            out.extend(parse_recipients(element))
        return out
    if isinstance(value, str):
        return _from_string(value, "")
    return out


def _from_string(value: str, name: str) -> list[Recipient]:
    out: list[Recipient] = []
    if TYPE_NAME.match(value.strip()):
        return [Recipient(NOT_EXPORTED, value.strip(), "unknown")]
    matched = False
    for m in _BRACKETED.finditer(value):
        matched = True
        scheme = m.group("scheme").lower()
        display = (m.group("name") or "").replace('""', '"')
        raw = m.group("value").strip()
        if scheme == "smtp":
            out.append(Recipient(raw, display, "smtp"))
        elif scheme == "ex":
            out.append(Recipient(raw, display, "legacyDN"))
        else:
            out.append(Recipient(raw, display, "unknown"))
    if matched:
        return out
    v = _strip_scheme(value)
    if not v:
        return out
    if v.lower().startswith("ex:") or v.startswith("/o="):
        return [Recipient(v[3:] if v.lower().startswith("ex:") else v, name, "legacyDN")]
    emails = _EMAIL.findall(v)
    if emails:
        return [Recipient(_strip_scheme(e), name, "smtp") for e in emails]
    # A display name or alias alone (Get-Mailbox ForwardingAddress is an internal recipient's name).
    return [Recipient(v, name, "unknown")]
