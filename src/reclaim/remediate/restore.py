"""``restore-access`` checks before it re-enables sign-in.

Re-enabling an account the attacker can still use undoes the containment. So, read from the tenant now:

1. **password changed**: ``lastPasswordChangeDateTime`` is later than when the investigation read it (the
   attacker's password no longer works);
2. **MFA registered**: the user has a strong method that is not one the remediation removed as the attacker's;
3. **attacker's objects removed**: every eradication step of the case (rules, forwarding, methods, grants,
   delegates...) still holds, re-read (steps undone on purpose are not counted);
4. **nothing new since remediation**: the re-listing of ``verify`` finds no object added since the investigation.

Each check is listed with its result; a check that could not read the tenant is "could not read" (never passed).
``--force`` re-enables anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reclaim.m365 import M365Error
from reclaim.remediate.actions import ACTIONS, ActionContext, Unsupported
from reclaim.remediate.actions._base import later_than
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.persistence import BUILT_IN_METHOD_ID, relist
from reclaim.store import Store


@dataclass(frozen=True)
class RestoreCheck:
    name: str
    #: True passed, False failed, None could not be read
    ok: bool | None
    detail: str

    def to_json(self) -> JSON:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def _baseline_user(store: Store, case_id: str) -> dict[str, Any]:
    found = [e for e in store.evidence(case_id) if e.kind == "user"]
    if not found:
        return {}
    payload = store.get_evidence(found[-1].id).json()
    return payload if isinstance(payload, dict) else {}


async def restore_checks(ctx: ActionContext, store: Store, case_id: str, steps: list[PlannedStep],
                         undone: set[str]) -> list[RestoreCheck]:
    out: list[RestoreCheck] = []
    then = _baseline_user(store, case_id).get("lastPasswordChangeDateTime")
    try:
        user = await ctx.graph_get(ctx.user_path, {"$select": "id,lastPasswordChangeDateTime"})
        now = user.get("lastPasswordChangeDateTime")
        changed = later_than(now, then)
        out.append(RestoreCheck("password changed since the investigation", changed,
                                f"last changed {now or 'never'} (at the investigation: {then or 'never'})"))
    except M365Error as exc:
        out.append(RestoreCheck("password changed since the investigation", None, exc.one_line()))

    removed = {s.target for s in steps if s.action == "remove-auth-method" and s.key not in undone}
    try:
        ctx.count()
        methods = [m async for m in ctx.conn.graph.paged(f"{ctx.user_path}/authentication/methods")
                   if isinstance(m, dict)]
        strong = [m for m in methods if str(m.get("id")) != BUILT_IN_METHOD_ID and str(m.get("id")) not in removed]
        kinds = sorted({str(m.get("@odata.type") or "").rsplit(".", 1)[-1] for m in strong})
        out.append(RestoreCheck("MFA registered", bool(strong),
                                f"{len(strong)} method(s): {', '.join(kinds)}" if strong else
                                "no strong method besides the password: have the user register MFA first"))
    except M365Error as exc:
        out.append(RestoreCheck("MFA registered", None, exc.one_line()))

    left: list[str] = []
    unread: list[str] = []
    for step in steps:
        if step.phase is not Phase.ERADICATE or step.key in undone:
            continue
        action = ACTIONS[step.action]
        try:
            state = await action.read(ctx, step)
        except (M365Error, Unsupported) as exc:
            unread.append(f"{step.label}: {exc}")
            continue
        if not action.check(step, state, None).holds:
            left.append(step.label)
    out.append(RestoreCheck("the attacker's objects are removed", None if unread and not left else not left,
                            "; ".join(left) or "; ".join(unread) or "every eradication step still holds"))

    listing = await relist(ctx, store, case_id)
    if listing.unread and not listing.new:
        out.append(RestoreCheck("nothing new since remediation", None, "; ".join(
            f"{k}: {v}" for k, v in listing.unread.items())))
    else:
        out.append(RestoreCheck("nothing new since remediation", not listing.new,
                                "; ".join(str(x["what"]) for x in listing.new) or
                                f"re-listed {len(listing.relisted)} collections"))
    return out
