"""Alerts: what a watch cycle found that the previous one had not, as a JSON webhook body, a Microsoft Teams
card or a Slack message, delivered over HTTPS.

Attacker text (rule names, addresses, titles quoting them) never becomes markup: the JSON body carries it as
data; Slack gets it in ``plain_text`` blocks (never parsed) and a fallback line without it; Teams gets it with
every Markdown punctuation character backslash-escaped. Control, bidi and invisible characters are made
visible first (:func:`reclaim.text.visible`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from reclaim.text import visible, visible_line
from reclaim.watch.config import AlertTarget

JSON = dict[str, Any]
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class NewFinding:
    fingerprint: str
    check: str
    severity: str
    title: str
    user: str | None
    artifact_type: str | None
    artifact_id: str | None

    def to_json(self) -> JSON:
        return {"fingerprint": self.fingerprint, "check": self.check, "severity": self.severity,
                "title": self.title, "user": self.user,
                "artifact": {"type": self.artifact_type, "id": self.artifact_id} if self.artifact_type else None}


@dataclass(frozen=True)
class Proposal:
    """A containment policy's conditions held for a user: the actions it proposes, for a person to apply."""

    policy: str
    user: str
    actions: tuple[str, ...]
    because: tuple[str, ...]  # fingerprints of the findings that met its conditions

    @property
    def command(self) -> str:
        return f"reclaim remediate {self.user}"

    def to_json(self) -> JSON:
        return {"policy": self.policy, "user": self.user, "actions": list(self.actions),
                "because": list(self.because), "apply": self.command, "applied": False}


@dataclass(frozen=True)
class Alert:
    tenant: str
    case: str
    findings: tuple[NewFinding, ...]
    proposals: tuple[Proposal, ...] = field(default=())

    def to_json(self) -> JSON:
        return {"type": "reclaim.watch.alert", "tenant": self.tenant, "case": self.case,
                "newFindings": [f.to_json() for f in self.findings],
                "proposedContainment": [p.to_json() for p in self.proposals]}


def _line(f: NewFinding) -> str:
    who = f.user or f"tenant {f.artifact_id or ''}".strip()
    return visible_line(f"{f.severity.upper()} {who}: {f.title}")


def _proposal_line(p: Proposal) -> str:
    return visible_line(f"policy {p.policy} proposes for {p.user}: {', '.join(p.actions)} — apply: {p.command}")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&])")


def markdown_escape(text: str) -> str:
    """Every Markdown punctuation character backslash-escaped (Teams renders the text as written)."""
    return _MARKDOWN.sub(r"\\\1", visible(text))


def body(alert: Alert, fmt: str) -> JSON:
    """The webhook body in ``fmt``: ``json`` (the alert as data), ``teams`` or ``slack``."""
    headline = f"reclaim: {len(alert.findings)} new finding(s) in tenant {alert.tenant} (case {alert.case})"
    lines = [_line(f) for f in alert.findings] + [_proposal_line(p) for p in alert.proposals]
    if fmt == "json":
        return alert.to_json()
    if fmt == "slack":
        blocks: list[JSON] = [{"type": "header", "text": {"type": "plain_text", "text": visible_line(headline)[:150]}}]
        blocks += [{"type": "section", "text": {"type": "plain_text", "text": line[:3000]}} for line in lines[:40]]
        if len(lines) > 40:
            blocks.append({"type": "context", "elements": [{"type": "plain_text",
                                                              "text": f"… {len(lines) - 40} more in the case"}]})
        fallback = f"reclaim: {len(alert.findings)} new finding(s), case {alert.case}"
        return {"text": fallback.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), "blocks": blocks}
    if fmt == "teams":
        items: list[JSON] = [{"type": "TextBlock", "text": markdown_escape(headline), "weight": "Bolder",
                              "wrap": True}]
        items += [{"type": "TextBlock", "text": markdown_escape(line), "wrap": True} for line in lines[:40]]
        return {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                        "version": "1.4", "body": items}}]}
    raise ValueError(fmt)


@dataclass(frozen=True)
class Delivery:
    target: str
    ok: bool
    detail: str

    def to_json(self) -> JSON:
        return {"target": self.target, "ok": self.ok, "detail": self.detail}


async def deliver(alert: Alert, targets: Sequence[AlertTarget], *,
                  client: httpx.AsyncClient | None = None) -> list[Delivery]:
    """POST the alert to every target; each result says delivered or why not (never raises for one target)."""
    from reclaim.errors import BadInput

    own = client is None
    http = client or httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False)
    out: list[Delivery] = []
    try:
        for target in targets:
            name = target.describe()
            try:
                response = await http.post(target.resolve_url(), json=body(alert, target.format))
            except BadInput as exc:
                out.append(Delivery(name, False, exc.one_line()))
                continue
            except httpx.HTTPError as exc:
                out.append(Delivery(name, False, f"not delivered: {type(exc).__name__}: {exc}"))
                continue
            if response.is_success:
                out.append(Delivery(name, True, f"HTTP {response.status_code}"))
            else:
                out.append(Delivery(name, False, f"not delivered: HTTP {response.status_code}"))
    finally:
        if own:
            await http.aclose()
    return out
