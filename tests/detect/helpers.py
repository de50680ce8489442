"""Builders for detection tests: Graph-, Exchange- and CSV-shaped inbox rules, bundles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reclaim.detect.engine import Analysis, analyze, analyze_rules
from reclaim.detect.evidence import EvidenceBundle
from reclaim.detect.model import Finding
from reclaim.detect.rules import InboxRule, from_exchange, from_graph

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DOMAINS = ["contoso.com"]
USER = {"id": "u1", "userPrincipalName": "alice@contoso.com", "mail": "alice@contoso.com",
        "displayName": "Alice Wu", "accountEnabled": True}


def recipient(address: str, name: str | None = None) -> dict[str, Any]:
    return {"emailAddress": {"name": name or address, "address": address}}


def graph_rule(rule_id: str = "r1", name: str = "Rule", *, conditions: dict[str, Any] | None = None,
               actions: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "displayName": name, "sequence": 1, "isEnabled": True, "hasError": False,
            "isReadOnly": False, "conditions": conditions or {}, "actions": actions or {}, **extra}


def rule_findings(*rules: InboxRule | dict[str, Any], domains: list[str] | None = None) -> list[Finding]:
    built = [r if isinstance(r, InboxRule) else (from_graph(r) if "displayName" in r else from_exchange(r))
             for r in rules]
    return list(analyze_rules(built, domains=domains or DOMAINS, mailbox="alice@contoso.com", now=NOW).findings)


def one(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def bundle(**kwargs: Any) -> EvidenceBundle:
    base: dict[str, Any] = {"user": USER, "accepted_domains": list(DOMAINS), "now": NOW}
    base.update(kwargs)
    return EvidenceBundle(**base)


def run(**kwargs: Any) -> Analysis:
    return analyze(bundle(**kwargs))


def by_check(analysis: Analysis, check: str) -> list[Finding]:
    return [f for f in analysis.findings if f.check == check]


def not_checked(analysis: Analysis, check: str) -> list[str]:
    return [n.reason for n in analysis.not_checked if n.check == check]
