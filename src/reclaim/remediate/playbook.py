"""From an investigation's findings to an ordered plan: contain → eradicate → recover (→ prevent).

The playbook knows no action by name. It asks every action (:mod:`reclaim.remediate.actions`) about the
findings of the artifact types it ``answers`` — containment answers the verdict — and orders what they
propose by phase and the action's ``order``. What each action plans is in its own module:

- containment (block sign-in, revoke sessions, reset password, confirm compromised) when the user's verdict
  is *compromised*; offered for a *suspicious* account (confirm with the user, then ``--include``). The verdict
  rests only on compromise indicators about the user or their mailbox, so an account whose only indicators
  are tenant-wide is never contained;
- one eradication step per malicious artifact, rated medium or above; lower-rated ones (a delegate of unknown
  date) are offered, never removed by default;
- recovery: unblock the restricted sender (it runs only once containment and eradication are verified);
- prevention: offered steps and advice (Conditional Access, password policy). reclaim never changes
  tenant-wide settings: a tenant-scoped finding (a mail-flow rule, a consent for every user) is listed apart,
  with the check's advice, never acted on from one user's remediation.

A finding no action answers gets its check's advice (``CheckMeta.advice``), when it has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from reclaim.detect.registry import meta_of
from reclaim.remediate.actions import ACTIONS
from reclaim.remediate.model import Advice, LeftAlone, Phase, Plan, PlannedStep, Reason
from reclaim.remediate.planning import VERDICT, PlanContext, PlanItem, PlanOptions, parse_time
from reclaim.store import Finding, Store

__all__ = ["PlanOptions", "build_plan", "plan_for_case", "steps_from_json"]


class _Defaults(dict[str, Any]):
    """Formatting advice: a value a finding does not carry reads as "?"."""

    def __missing__(self, key: str) -> str:
        return "?"


def _advice(f: Finding, ctx: PlanContext) -> Advice | None:
    """The check's advice for a finding that calls for it: an exposure, a tenant-wide finding, or a compromise
    finding the plan acts on (context, and findings rated too low to act on, get none)."""
    if f.kind == "context" or (f.kind == "compromise" and f.scope != "tenant" and not ctx.acts(f)):
        return None
    try:
        text = meta_of(f.check_id).advice
    except KeyError:
        return None
    if not text:
        return None
    values = _Defaults({k: ", ".join(map(str, v)) if isinstance(v, list | dict) else v
                        for k, v in f.evidence.items()})
    values["user"] = ctx.upn
    return Advice(f.check_id, text.format_map(values), f.check_id)


def build_plan(case_id: str, upn: str, user_id: str, verdict: str, findings: Sequence[Finding], *,
               because: str = "", federated: bool = False, options: PlanOptions | None = None,
               window_since: datetime | None = None) -> Plan:
    """``window_since``: start of the suspicious window; methods, devices and grants dated before it are only
    offered, never removed by default (they are the user's own)."""
    opts = options or PlanOptions()
    ctx = PlanContext(upn=upn, user_id=user_id, verdict=verdict, options=opts, because=because,
                      federated=federated, window_since=window_since)
    items: list[PlanItem] = []
    tenant: list[LeftAlone] = []
    advised: set[str] = set()
    for action in ACTIONS.values():
        if VERDICT in action.answers:
            items += action.plan(None, ctx)
    for f in findings:
        if f.scope == "tenant":
            tenant.append(LeftAlone(f.check_id, f"{f.artifact_type} {f.artifact_id or ''}".strip(),
                                    f"tenant-wide ({f.title}): not this user's, and reclaim does not change "
                                    "tenant-wide settings from a user's remediation"))
        else:
            for action in ACTIONS.values():
                if action.plannable and f.artifact_type in action.answers:
                    items += action.plan(f, ctx)
        advice = _advice(f, ctx)
        if advice is not None and advice.text not in advised:
            advised.add(advice.text)
            items.append(advice)
    return _select(case_id, ctx, items, tenant)


def _select(case_id: str, ctx: PlanContext, items: Iterable[PlanItem], tenant: Sequence[LeftAlone]) -> Plan:
    opts = ctx.options
    steps: dict[str, PlannedStep] = {}
    advice: list[Advice] = []
    left: list[LeftAlone] = []
    for item in items:
        if isinstance(item, Advice):
            advice.append(item)
        elif isinstance(item, LeftAlone):
            left.append(item)
        else:
            existing = steps.get(item.key)  # one step per object: chosen wins over offered
            if existing is None or (existing.opt_in and not item.opt_in):
                steps[item.key] = item
    chosen: list[PlannedStep] = []
    offered: list[PlannedStep] = []
    for step in steps.values():
        wanted = not step.opt_in or step.action in opts.include or step.key in opts.include or (
            opts.only is not None and step.action in opts.only)
        if opts.only is not None and step.action not in opts.only:
            wanted = False
        if step.action in opts.skip:
            left.append(LeftAlone(step.reason.check, step.label, f"--skip {step.action}"))
            continue
        (chosen if wanted else offered).append(step)

    def key(s: PlannedStep) -> tuple[int, int, str]:
        return (s.phase.rank, ACTIONS[s.action].order, s.target)

    chosen.sort(key=key)
    missing = _not_offered(ctx, steps.values())
    needs = tuple(dict.fromkeys(f"{s.action}: {ACTIONS[s.action].requires.text()}" for s in chosen))
    return Plan(case_id=case_id, user=ctx.upn, user_id=ctx.user_id, verdict=ctx.verdict, steps=tuple(chosen),
                offered=tuple(sorted(offered, key=key)), advice=tuple(advice), left_alone=tuple(left),
                options=opts.to_json(), tenant=tuple(tenant), permissions=needs,
                not_offered=missing)


def _not_offered(ctx: PlanContext, steps: Iterable[PlannedStep]) -> tuple[str, ...]:
    """Each ``--include`` / ``--only`` entry that matches no step the plan made or offered, with why."""
    opts = ctx.options
    keys = {s.key for s in steps}
    actions = {s.action for s in steps}
    out: list[str] = []
    for wanted in sorted(opts.include | (opts.only or frozenset())):
        if wanted in keys or wanted in actions:
            continue
        name = wanted.split(":", 1)[0]
        if ":" in wanted and name in actions:
            why = "the plan has no step for that target (see the plan's steps and offered steps)"
        elif VERDICT in ACTIONS[name].answers:
            why = (f"containment is planned only for a compromised or suspicious account, and the verdict is "
                   f"{ctx.verdict}; to contain anyway add --contain (you will be asked to type the UPN)")
        else:
            answers = ", ".join(sorted(ACTIONS[name].answers)) or "nothing"
            why = f"the case has no finding it answers ({answers})"
        out.append(f"{wanted}: not offered: {why}")
    return tuple(out)


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
