"""What checks share besides the evidence: accepted domains, the windows, rule events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from reclaim.detect.evidence import EvidenceBundle, Window
from reclaim.detect.model import Severity


@dataclass(frozen=True)
class RuleSignal:
    """One reason a rule check has to worry about a rule.

    ``tags`` name the dimension for :mod:`reclaim.detect.rulescore`: ``steal`` (mail leaves the tenant),
    ``hide`` (mail removed from sight), ``catch-all`` (applies to every message), ``finance`` /
    ``warning`` (targets money or security-warning mail), ``disguise`` (name made to be overlooked),
    ``hidden`` (invisible in Outlook and the admin centre).
    """

    check: str
    severity: Severity
    reason: str
    tags: frozenset[str] = frozenset()
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleEvent:
    """A rule change in the unified audit log (New-InboxRule, Set-InboxRule, UpdateInboxRules...)."""

    operation: str
    time: datetime | None
    client_ip: str | None
    record_id: str | None


@dataclass
class Context:
    #: Accepted domains of the tenant; ``None`` when they could not be collected (reason in ``domains_reason``).
    domains: tuple[str, ...] | None
    now: datetime
    window: Window
    domains_reason: str | None = None
    #: The mailbox's own addresses (a rule forwarding to the owner's other address is not external).
    own_addresses: frozenset[str] = frozenset()
    #: Set between phase 1 and phase 2: from the first attacker footprint to ``now``; ``None`` if none.
    suspicious: Window | None = None
    suspicious_reason: str | None = None
    #: Set with ``suspicious``: the addresses phase-1 findings name as the attacker's (``marks_attacker_ip``).
    attacker_ips: frozenset[str] = frozenset()
    #: Audit-log rule events by rule name (casefolded).
    rule_events: dict[str, list[RuleEvent]] = field(default_factory=dict)
    #: Evidence kinds that were not collected, with the reason (a rule check that needs one says so).
    missing: Mapping[str, str] = field(default_factory=dict)
    #: The evidence being analysed (``None`` for rules read offline), for rule checks that weigh other evidence.
    bundle: EvidenceBundle | None = None
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def in_suspicious_window(self, moment: datetime | None) -> bool:
        return self.suspicious is not None and self.suspicious.contains(moment)

    def memo(self, key: str, compute: Callable[[], _T]) -> _T:
        """``compute()`` once per analysis (a rule check derives something from the bundle for every rule)."""
        if key not in self._memo:
            self._memo[key] = compute()
        value: _T = self._memo[key]
        return value


_T = TypeVar("_T")
