"""Backends own the changes: Graph and Exchange change one inbox rule through the same operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reclaim.emulator.backends import mailbox as mailboxes
from reclaim.emulator.exchange_objects import rule_identity
from tests.conftest import EXCHANGE_SCOPE, TenantClient
from tests.emulator.test_exchange import fixture


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every call of ``mailboxes.set_rule_enabled``: the rule's id and the value set."""
    calls: list[tuple[str, bool]] = []
    real = mailboxes.set_rule_enabled

    def spy(rule: dict[str, Any], enabled: bool) -> None:
        calls.append((str(rule["id"]), enabled))
        real(rule, enabled)

    monkeypatch.setattr(mailboxes, "set_rule_enabled", spy)
    return calls


def test_graph_patch_and_disable_inboxrule_share_one_operation(serve: Callable[..., TenantClient],
                                                                spied: list[tuple[str, bool]]) -> None:
    c = serve(fixture())
    r = c.graph("PATCH", "/users/alice@contoso.com/mailFolders/inbox/messageRules/rule-fwd",
                json={"isEnabled": False})
    assert r.status_code == 200 and r.json()["isEnabled"] is False
    c.token(EXCHANGE_SCOPE)
    assert c.exo("Enable-InboxRule", {"Identity": "Fwd", "Mailbox": "alice@contoso.com"}).status_code == 200
    assert c.exo("Disable-InboxRule", {"Identity": "alice@contoso.com\\Finance"}).status_code == 200
    assert spied == [("rule-fwd", False), ("rule-fwd", True), ("rule-finance", False)]
    rules = {r["id"]: r["isEnabled"] for r in c.graph(
        "GET", "/users/alice@contoso.com/mailFolders/inbox/messageRules").json()["value"]}
    assert rules == {"rule-finance": False, "rule-fwd": True}


def test_one_lookup_finds_a_rule_by_graph_id_rule_identity_or_name() -> None:
    user = {"mailbox": {"inboxRules": [{"id": "r1", "displayName": "A", "sequence": 1},
                                       {"id": "r2", "displayName": "B", "sequence": 2, "hidden": True},
                                       {"id": "r3", "displayName": "a", "sequence": 3}]}}
    identity = str(rule_identity("r2"))
    assert mailboxes.find_rule(user, identity, include_hidden=True, by_name=False)["id"] == "r2"
    with pytest.raises(mailboxes.RuleNotFound):
        mailboxes.find_rule(user, "r2", include_hidden=False, by_name=False)  # Graph never sees hidden rules
    with pytest.raises(mailboxes.RuleNotFound):
        mailboxes.find_rule(user, "B", include_hidden=True, by_name=False)  # Graph has no names
    with pytest.raises(mailboxes.RuleAmbiguous):
        mailboxes.find_rule(user, "a", include_hidden=True, by_name=True)
