"""From an investigation's findings to an ordered plan: contain → eradicate → recover (→ prevent advice).

Only what the findings call for is planned:

- containment (block sign-in, revoke sessions, reset password) when the verdict is *compromised*; for a
  *suspicious* account it is offered, not chosen (confirm with the user, then ``--include``);
- one eradication step per malicious artifact: inbox rules (disable, or delete with ``--delete-rules``;
  Graph for visible rules, Exchange for hidden ones), sweep rules, forwarding (unless ``--keep-forwarding``),
  delegates, consent grants, sign-in methods and devices rated medium or above (added in the suspicious
  window); those rated lower (e.g. a delegate of unknown date) are offered, never removed by default;
  legacy protocols when the attacker signed in over IMAP / POP / SMTP; an attacker's automatic reply;
  confirm-compromised in Identity Protection;
- recovery: unblock the restricted sender (it runs only once containment and eradication are verified);
- prevention: advice (Conditional Access, password policy, tenant rules), and ``require-mfa-registration``
  offered when MFA is not required. reclaim never changes tenant-wide policy.

Exchange's own hidden system rules (junk mail, out-of-office) are never touched, whatever a check says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reclaim.errors import BadInput
from reclaim.remediate.actions import ACTIONS
from reclaim.remediate.actions._base import parse_time
from reclaim.remediate.model import Advice, LeftAlone, Phase, Plan, PlannedStep, Reason
from reclaim.store import Finding, Store

#: Hidden rules Exchange keeps in every mailbox (junk mail filter, out-of-office): never the attacker's.
SYSTEM_RULES = frozenset({"junk e-mail rule", "microsoft.exchange.oof.knownexternalsenders.global",
                          "microsoft.exchange.oof.allexternalsenders.global"})
LEGACY_CLIENTS = ("imap", "pop", "smtp", "exchange activesync", "other clients", "autodiscover",
                  "exchange web services", "mapi")
ACT_AT = frozenset({"medium", "high", "critical"})
CA_POLICY = ("add the Conditional Access policy \"Require multifactor authentication for all users\" "
             "(Entra admin centre → Protection → Conditional Access → Create new policy from templates), or "
             "turn on security defaults; reclaim does not change tenant-wide policy")


@dataclass(frozen=True)
class PlanOptions:
    #: only these actions (names); an offered action named here is chosen too
    only: frozenset[str] | None = None
    skip: frozenset[str] = frozenset()
    #: offered steps to choose (action names or ``action:target`` keys)
    include: frozenset[str] = frozenset()
    delete_rules: bool = False
    keep_forwarding: bool = False

    def __post_init__(self) -> None:
        for name in (self.only or frozenset()) | self.skip | {i.split(":", 1)[0] for i in self.include}:
            if name not in ACTIONS or name == "enable-sign-in":
                known = ", ".join(n for n in ACTIONS if n != "enable-sign-in")
                raise BadInput(f"unknown action {name!r}", hint=f"one of: {known}")

    def to_json(self) -> dict[str, Any]:
        return {"only": sorted(self.only) if self.only is not None else None, "skip": sorted(self.skip),
                "include": sorted(self.include), "deleteRules": self.delete_rules,
                "keepForwarding": self.keep_forwarding}


@dataclass
class _Builder:
    upn: str
    user_id: str
    options: PlanOptions
    window_since: datetime | None = None
    steps: dict[str, PlannedStep] = field(default_factory=dict)
    advice: list[Advice] = field(default_factory=list)
    left: list[LeftAlone] = field(default_factory=list)

    def add(self, action: str, target: str, label: str, reason: Reason, *, params: dict[str, Any] | None = None,
            opt_in: bool = False) -> None:
        spec = ACTIONS[action]
        step = PlannedStep(action=action, target=target, label=label, phase=spec.phase, reason=reason,
                           reversible=spec.reversible, undo_note=spec.undo_note, params=dict(params or {}),
                           opt_in=opt_in)
        existing = self.steps.get(step.key)
        if existing is None or (existing.opt_in and not opt_in):
            self.steps[step.key] = step


def _reason(f: Finding) -> Reason:
    return Reason(check=f.check_id, severity=f.severity, title=f.title, finding_id=f.id)


def _acts(f: Finding) -> bool:
    return f.kind == "compromise" and f.severity in ACT_AT


def _rule_steps(b: _Builder, f: Finding) -> None:
    ev = f.evidence
    name = str(ev.get("name") or "")
    target = f.artifact_id or ""
    if ev.get("hidden") and name.casefold() in SYSTEM_RULES:
        b.left.append(LeftAlone(f.check_id, f"rule {name!r}", "an Exchange system rule (junk mail / out of "
                                "office), not one a person made; left alone"))
        return
    if not target or target.startswith("name:"):
        b.left.append(LeftAlone(f.check_id, f"rule {name!r}", "the rule has no id to act on; remove it by hand"))
        return
    if not _acts(f):
        b.left.append(LeftAlone(f.check_id, f"rule {name!r}", f"rated {f.severity}: not an attacker's rule"))
        return
    source = "exchange" if ev.get("source") == "exo" else "graph"
    action = "delete-inbox-rule" if b.options.delete_rules else "disable-inbox-rule"
    where = "hidden rule, through Exchange" if source == "exchange" else "through Graph"
    b.add(action, target, f"inbox rule {name!r} ({where})", _reason(f), params={"source": source, "name": name})


def _delegate(b: _Builder, f: Finding, action: str) -> None:
    trustee = str(f.evidence.get("trustee") or f.artifact_id or "")
    rights = [str(r) for r in f.evidence.get("accessRights") or []]
    if not trustee:
        return
    right = "FullAccess" if action == "remove-mailbox-permission" else "SendAs"
    label = f"{right} delegate {trustee}"
    params = {"accessRights": [r for r in rights if r.lower() == right.lower()] or [right]}
    if _acts(f):
        b.add(action, trustee, label, _reason(f), params=params)
    elif f.kind == "compromise":
        b.add(action, trustee, label + " (when it was granted is unknown or outside the window: confirm with the "
              "user)", _reason(f), params=params, opt_in=True)


def _before_window(b: _Builder, f: Finding) -> bool:
    """True when the artifact is dated before the suspicious window: the user's own, whatever its rating."""
    moment = parse_time(f.evidence.get("createdDateTime") or f.evidence.get("time"))
    return b.window_since is not None and moment is not None and moment < b.window_since


def _maybe(b: _Builder, f: Finding, action: str, target: str, label: str,
           params: dict[str, Any] | None = None) -> None:
    """Act on a finding rated medium or above (and not dated before the suspicious window); offer the step
    for one rated lower."""
    if not target:
        return
    if _acts(f) and _before_window(b, f):
        b.add(action, target, label + " (dated before the suspicious window: confirm with the user)", _reason(f),
              params=params, opt_in=True)
    elif _acts(f):
        b.add(action, target, label, _reason(f), params=params)
    elif f.kind == "compromise" and f.severity != "info":
        b.add(action, target, label + " (not clearly the attacker's: confirm with the user)", _reason(f),
              params=params, opt_in=True)


def build_plan(case_id: str, upn: str, user_id: str, verdict: str, findings: Sequence[Finding], *,
               because: str = "", federated: bool = False, options: PlanOptions | None = None,
               window_since: datetime | None = None) -> Plan:
    """``window_since``: start of the suspicious window; methods, devices and grants dated before it are only
    offered, never removed by default (they are the user's own)."""
    opts = options or PlanOptions()
    b = _Builder(upn, user_id, opts, window_since)
    contain_reason = Reason("verdict", "critical" if verdict == "compromised" else "medium",
                            f"the account is {verdict}" + (f": {because}" if because else ""))
    if verdict in ("compromised", "suspicious"):
        offered = verdict != "compromised"
        suffix = " (offered: the account is only suspicious; confirm with the user)" if offered else ""
        b.add("block-sign-in", user_id, "block sign-in for " + upn + suffix, contain_reason, opt_in=offered)
        b.add("revoke-sessions", user_id, "revoke every session of " + upn + suffix, contain_reason,
              opt_in=offered)
        label = "reset the password of " + upn + (" (synchronised from on-premises AD: must be done on-premises)"
                                                  if federated else "")
        b.add("reset-password", user_id, label + suffix, contain_reason, params={"federated": federated},
              opt_in=offered)
        b.add("confirm-compromised", user_id, "confirm " + upn + " compromised in Identity Protection" + suffix,
              contain_reason, opt_in=offered)
    legacy_done = False
    for f in findings:
        kind = f.artifact_type
        ev = f.evidence
        if kind == "inboxRule":
            _rule_steps(b, f)
        elif kind == "sweepRule" and _acts(f):
            b.add("disable-sweep-rule", f.artifact_id or "", f"sweep rule {ev.get('name')!r}", _reason(f))
        elif kind == "mailboxForwarding" and _acts(f):
            to = ev.get("forwardingSmtpAddress") or ev.get("forwardingAddress")
            if opts.keep_forwarding:
                b.left.append(LeftAlone(f.check_id, f"forwarding to {to}", "--keep-forwarding: verified as legitimate"))
            else:
                b.add("remove-forwarding", upn, f"mailbox forwarding to {to}", _reason(f))
        elif kind == "mailboxForwarding":
            b.left.append(LeftAlone(f.check_id, "mailbox forwarding", f"rated {f.severity}: internal or expected"))
        elif kind == "mailboxPermission":
            _delegate(b, f, "remove-mailbox-permission")
        elif kind == "recipientPermission":
            _delegate(b, f, "remove-recipient-permission")
        elif kind == "oauth2PermissionGrant":
            _maybe(b, f, "revoke-oauth-grant", f.artifact_id or "",
                   f"consent to {ev.get('app') or ev.get('clientId')} ({', '.join(map(str, ev.get('scopes') or []))})")
        elif kind == "authenticationMethod":
            _maybe(b, f, "remove-auth-method", f.artifact_id or "",
                   f"{str(ev.get('type') or 'sign-in').removesuffix('AuthenticationMethod')} method "
                   f"{ev.get('detail') or ''}".rstrip() + f" registered {ev.get('createdDateTime') or ''}".rstrip(),
                   params={"type": ev.get("type")})
        elif kind == "mobileDevice":
            _maybe(b, f, "remove-mobile-device", f.artifact_id or "",
                   f"device {ev.get('model') or f.artifact_id} ({ev.get('clientType') or 'mobile'})")
        elif kind == "signIn" and _acts(f) and not legacy_done and _legacy(ev):
            legacy_done = True
            b.add("disable-legacy-protocols", upn, f"IMAP, POP and SMTP AUTH for {upn} (the attacker signed in "
                  f"with {ev.get('clientAppUsed') or 'a legacy protocol'})", _reason(f))
        elif kind == "automaticReplies" and _acts(f):
            b.add("disable-automatic-replies", upn, f"automatic reply ({ev.get('status')})", _reason(f))
        elif kind == "blockedSender" and _acts(f):
            blocked = ev.get("blockedSender")
            address = str(blocked.get("SenderAddress")) if isinstance(blocked, dict) and blocked.get(
                "SenderAddress") else upn
            b.add("unblock-sender", address, f"restricted sender {address} (after containment is verified)",
                  _reason(f))
        elif f.check_id == "mfa-not-required":
            b.add("require-mfa-registration", user_id, f"make {upn} register MFA again at the next sign-in",
                  _reason(f), opt_in=True)
            b.advice.append(Advice("mfa", f"MFA is not required for {upn}: " + CA_POLICY, f.check_id))
        elif f.check_id == "password-policy-weak":
            b.advice.append(Advice("password", f"{upn} has passwordPolicies {ev.get('passwordPolicies')}: clear "
                                   "DisableStrongPassword / DisablePasswordExpiration (PATCH passwordPolicies) "
                                   "unless there is a reason", f.check_id))
        elif kind == "transportRule" and f.kind == "compromise":
            b.advice.append(Advice("transport-rule", f"tenant mail-flow rule {ev.get('name')!r} sends mail out: "
                                   "review it in the Exchange admin centre (tenant-wide: reclaim does not change "
                                   "it)", f.check_id))
        elif kind == "directoryAudit" and _acts(f):
            b.advice.append(Advice("profile", f"profile changes by the attacker ({', '.join(ev.get('changed') or {})})"
                                   ": restore them in the Entra admin centre", f.check_id))
    return _select(case_id, upn, user_id, verdict, b, opts)


def _legacy(evidence: dict[str, Any]) -> bool:
    client = str(evidence.get("clientAppUsed") or "").lower()
    kinds = {str(k) for k in evidence.get("kinds") or []}
    return "legacyProtocol" in kinds or client.startswith(("imap", "pop", "authenticated smtp", "smtp"))


def _select(case_id: str, upn: str, user_id: str, verdict: str, b: _Builder, opts: PlanOptions) -> Plan:
    order = {name: i for i, name in enumerate(ACTIONS)}
    chosen: list[PlannedStep] = []
    offered: list[PlannedStep] = []
    for step in b.steps.values():
        wanted = not step.opt_in or step.action in opts.include or step.key in opts.include or (
            opts.only is not None and step.action in opts.only)
        if opts.only is not None and step.action not in opts.only:
            wanted = False
        if step.action in opts.skip:
            b.left.append(LeftAlone(step.reason.check, step.label, f"--skip {step.action}"))
            continue
        (chosen if wanted else offered).append(step)

    def key(s: PlannedStep) -> tuple[int, int, str]:
        return (s.phase.rank, order[s.action], s.target)

    return Plan(case_id=case_id, user=upn, user_id=user_id, verdict=verdict, steps=tuple(sorted(chosen, key=key)),
                offered=tuple(sorted(offered, key=key)), advice=tuple(b.advice), left_alone=tuple(b.left),
                options=opts.to_json())


def plan_for_case(store: Store, case_id: str, options: PlanOptions | None = None) -> Plan:
    """The plan for a stored investigation case (its findings, verdict and user)."""
    case = store.get_case(case_id)
    summary = case.summary or {}
    user = summary.get("user") or {}
    upn = str(user.get("userPrincipalName") or case.subject)
    user_id = str(user.get("id") or upn)
    federated = _federated(store, case_id)
    window = summary.get("suspiciousWindow") or {}
    return build_plan(case_id, upn, user_id, str(case.verdict or summary.get("verdict") or "clean"),
                      store.findings(case_id), because=str(summary.get("because") or ""), federated=federated,
                      options=options, window_since=parse_time(window.get("since") if isinstance(window, dict)
                                                               else None))


def _federated(store: Store, case_id: str) -> bool:
    for info in store.evidence(case_id):
        if info.kind == "user":
            payload = store.get_evidence(info.id).json()
            return isinstance(payload, dict) and bool(payload.get("onPremisesSyncEnabled"))
    return False


def steps_from_json(items: Iterable[dict[str, Any]]) -> list[PlannedStep]:
    """Planned steps as the journal recorded them (``PlannedStep.to_json``)."""
    out: list[PlannedStep] = []
    for item in items:
        reason = item.get("reason") or {}
        out.append(PlannedStep(action=str(item["action"]), target=str(item["target"]), label=str(item.get("label")),
                               phase=Phase(str(item["phase"])),
                               reason=Reason(str(reason.get("check")), str(reason.get("severity")),
                                             str(reason.get("title")), reason.get("findingId")),
                               reversible=bool(item.get("reversible")), undo_note=str(item.get("undo") or ""),
                               params=dict(item.get("params") or {}), opt_in=bool(item.get("optIn"))))
    return out
