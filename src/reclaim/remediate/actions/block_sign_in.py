"""``block-sign-in``: PATCH the user ``accountEnabled=false`` (contain). Undo re-enables sign-in."""

from __future__ import annotations

from typing import ClassVar

from reclaim.remediate.actions._contain import contain
from reclaim.remediate.actions._sign_in import SignInSwitch
from reclaim.remediate.model import Phase
from reclaim.remediate.planning import VERDICT, PlanContext, PlanItem
from reclaim.store import Finding


class BlockSignIn(SignInSwitch):
    name: ClassVar[str] = "block-sign-in"
    phase: ClassVar[Phase] = Phase.CONTAIN
    title: ClassVar[str] = "Block sign-in"
    undo_note: ClassVar[str] = "re-enables sign-in (accountEnabled back to its snapshot value)"
    enabled: ClassVar[bool] = False
    order: ClassVar[int] = 10
    answers: ClassVar[frozenset[str]] = frozenset({VERDICT})
    essential: ClassVar[bool] = True

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        return contain(self, ctx, f"block sign-in for {ctx.upn}")


ACTION = BlockSignIn()
