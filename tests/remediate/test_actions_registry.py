"""Actions describe themselves: the package finds them, and each says what it answers, when it runs and what it
needs, so the playbook, ``tenant check`` and the docs keep no list of them."""

from __future__ import annotations

from reclaim.detect.artifacts import ARTIFACT_TYPES
from reclaim.m365.permissions import Grants, assess
from reclaim.remediate.actions import ACTIONS
from reclaim.remediate.planning import VERDICT
from reclaim.remediate.requirements import commands, write_capabilities


def test_every_action_describes_itself() -> None:
    assert len(ACTIONS) >= 18
    for name, action in ACTIONS.items():
        assert action.name == name and action.title and isinstance(action.order, int)
        assert action.answers <= ARTIFACT_TYPES | {VERDICT}, name
        assert action.requires.graph or action.requires.cmdlets, f"{name} declares what it needs"
        assert action.requires.text()
        assert action.plannable == bool(action.answers), name
    ranks = [(a.phase.rank, a.order) for a in ACTIONS.values()]
    assert ranks == sorted(ranks), "ACTIONS is in the procedure's order"
    assert list(ACTIONS)[:3] == ["block-sign-in", "revoke-sessions", "reset-password"]


def test_tenant_check_is_made_from_the_actions() -> None:
    names = " ".join(c.name for c in write_capabilities())
    assert all(f"({name}" in names for name, a in ACTIONS.items() if a.plannable)
    remediate = next(c for c in commands() if c.command == "remediate")
    essential = {c.name for c in remediate.capabilities if c.required}
    assert any("(block-sign-in)" in n for n in essential) and any("(reset-password)" in n for n in essential)
    readers = Grants(frozenset({"User.Read.All", "MailboxSettings.Read"}), frozenset())
    state = {r.command: r.state for r in assess(readers, commands())}
    assert state["remediate"] == "blocked" and state["report"] == "ready"
