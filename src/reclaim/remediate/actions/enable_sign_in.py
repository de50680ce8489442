"""``enable-sign-in``: the ``reclaim restore-access`` action: PATCH ``accountEnabled=true`` once the user has a
new password and MFA. Undo blocks sign-in again."""

from __future__ import annotations

from typing import ClassVar

from reclaim.remediate.actions._sign_in import SignInSwitch
from reclaim.remediate.model import Phase


class EnableSignIn(SignInSwitch):
    name: ClassVar[str] = "enable-sign-in"
    phase: ClassVar[Phase] = Phase.RECOVER
    title: ClassVar[str] = "Restore access (re-enable sign-in)"
    undo_note: ClassVar[str] = "blocks sign-in again"
    enabled: ClassVar[bool] = True
    order: ClassVar[int] = 90
    #: run by `reclaim restore-access`, never planned from findings
    plannable: ClassVar[bool] = False


ACTION = EnableSignIn()
