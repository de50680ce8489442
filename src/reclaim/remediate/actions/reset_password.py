"""``reset-password``: a strong generated password with ``forceChangePasswordNextSignIn`` (contain).

The password goes to exactly one place, the operator's terminal or a 0600 file (the ``PasswordSink``); it is
never logged, journaled, stored or mailed: the journal records "password reset, delivered to terminal/file".
Users synchronised from on-premises Active Directory (``onPremisesSyncEnabled``) must be reset there; the
step says so and is recorded as manual. Confirmed by ``lastPasswordChangeDateTime`` moving past its snapshot.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from reclaim.remediate.actions._base import (
    Action,
    ActionContext,
    Check,
    Requires,
    Undelivered,
    Unsupported,
    held,
    later_than,
    not_held,
)
from reclaim.remediate.actions._contain import contain
from reclaim.remediate.model import JSON, Phase, PlannedStep, State
from reclaim.remediate.planning import VERDICT, PlanContext, PlanItem
from reclaim.store import REDACTED, Finding
from reclaim.text import remember_secret

SELECT = "id,lastPasswordChangeDateTime,onPremisesSyncEnabled"
#: No look-alikes (l/1/I, O/0) so the password can be read off a screen and typed.
_LOWER = "abcdefghijkmnopqrstuvwxyz"
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
_SYMBOLS = "!#%+-=?@^_"


def generate_password(length: int = 20) -> str:
    """A random password (``secrets``) with lower, upper, digit and symbol characters (Entra's complexity rule)."""
    if length < 12:
        raise ValueError("a generated password has at least 12 characters")
    alphabet = _LOWER + _UPPER + _DIGITS + _SYMBOLS
    while True:
        chars = [secrets.choice(alphabet) for _ in range(length)]
        if all(any(c in cls for c in chars) for cls in (_LOWER, _UPPER, _DIGITS, _SYMBOLS)):
            return "".join(chars)



class ResetPassword(Action):
    name: ClassVar[str] = "reset-password"
    phase: ClassVar[Phase] = Phase.CONTAIN
    title: ClassVar[str] = "Reset the password (must change at next sign-in)"
    undo_note: ClassVar[str] = "cannot be undone: the old password is not known and must not come back"
    repeat_after_interruption: ClassVar[bool] = True
    order: ClassVar[int] = 30
    answers: ClassVar[frozenset[str]] = frozenset({VERDICT})
    requires: ClassVar[Requires] = Requires(graph=("User-PasswordProfile.ReadWrite.All", "User.ReadWrite.All"),
                                            roles=("User Administrator", "Privileged Authentication Administrator"))
    essential: ClassVar[bool] = True
    witness: ClassVar[str | None] = "lastPasswordChangeDateTime"

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        where = " (synchronised from on-premises AD: must be done on-premises)" if ctx.federated else ""
        return contain(self, ctx, f"reset the password of {ctx.upn}{where}", params={"federated": ctx.federated})

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": ctx.user_path, "params": {"$select": SELECT}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        user = await ctx.graph_get(ctx.user_path, {"$select": SELECT})
        return {"id": user.get("id"), "lastPasswordChangeDateTime": user.get("lastPasswordChangeDateTime"),
                "onPremisesSyncEnabled": user.get("onPremisesSyncEnabled")}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        now = state.get("lastPasswordChangeDateTime")
        if before is not None and later_than(now, before.get("lastPasswordChangeDateTime")):
            return held(f"the password was changed at {now}")
        return not_held("the password was not changed since the snapshot")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        if before is not None and before.get("onPremisesSyncEnabled"):
            raise Unsupported("the user is synchronised from on-premises Active Directory: reset the password "
                              "there (or with password writeback), then run `reclaim verify`", state=State.MANUAL)
        if ctx.password_sink is None:
            raise Unsupported("no terminal to show the new password on: re-run with --password-file FILE",
                              state=State.FAILED)
        password = generate_password()
        # scrubbed from any answer that echoes it (a 400 repeating the request body); refused by the journal
        remember_secret(password)
        url = ctx.user_path
        body = {"passwordProfile": {"password": password, "forceChangePasswordNextSignIn": True}}
        # The same password sent twice gives the same state: safe to re-send after a lost answer.
        await ctx.graph_write("PATCH", url, body, idempotent=True)
        try:
            where = ctx.password_sink(ctx.upn, password)
        except OSError as exc:
            raise Undelivered(f"the password was changed but could not be delivered ({exc.strerror}); nobody has "
                              "it: run again, the reset is made again with a new password") from None
        del password, body
        return {"method": "PATCH", "url": url,
                "body": {"passwordProfile": {"password": REDACTED, "forceChangePasswordNextSignIn": True}},
                "delivered": where}


ACTION = ResetPassword()
