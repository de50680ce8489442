"""Contract tests for the emulator cmdlets remediation's undo relies on: Add-MailboxPermission and
Add-RecipientPermission (the inverse of the Remove-* cmdlets)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reclaim.emulator.scenarios import load_scenario
from tests.conftest import TenantClient

ALICE = "alice.wu@contoso.com"
MARK = "mark.davis@contoso.com"
BEN = "ben.carter@contoso.com"


def test_add_mailbox_permission_reverses_remove(serve: Callable[..., TenantClient]) -> None:
    t = serve(load_scenario("bec-classic"))

    def users() -> list[Any]:
        r = t.exo("Get-MailboxPermission", {"Identity": ALICE})
        assert r.status_code == 200, r.text
        return [(e["User"], e["AccessRights"]) for e in r.json()["value"]]

    assert (MARK, ["FullAccess"]) in users()
    assert t.exo("Remove-MailboxPermission", {"Identity": ALICE, "User": MARK,
                                              "AccessRights": ["FullAccess"]}).status_code == 200
    assert all(u != MARK for u, _ in users())
    added = t.exo("Add-MailboxPermission", {"Identity": ALICE, "User": MARK, "AccessRights": ["FullAccess"]})
    assert added.status_code == 200, added.text
    assert added.json()["value"][0]["User"] == MARK
    assert (MARK, ["FullAccess"]) in users()
    # adding it again changes nothing and says so
    again = t.exo("Add-MailboxPermission", {"Identity": ALICE, "User": MARK, "AccessRights": ["FullAccess"]})
    assert again.status_code == 200 and again.json().get("@adminapi.warnings")
    assert sum(1 for u, _ in users() if u == MARK) == 1
    # an unknown user is refused like Exchange does
    missing = t.exo("Add-MailboxPermission", {"Identity": ALICE, "User": "nobody@contoso.com",
                                              "AccessRights": ["FullAccess"]})
    assert missing.status_code == 404


def test_add_recipient_permission(serve: Callable[..., TenantClient]) -> None:
    t = serve(load_scenario("bec-classic"))
    added = t.exo("Add-RecipientPermission", {"Identity": ALICE, "Trustee": BEN, "AccessRights": ["SendAs"]})
    assert added.status_code == 200, added.text
    r = t.exo("Get-RecipientPermission", {"Identity": ALICE, "Trustee": BEN})
    assert [e["AccessRights"] for e in r.json()["value"]] == [["SendAs"]]
    removed = t.exo("Remove-RecipientPermission", {"Identity": ALICE, "Trustee": BEN, "AccessRights": ["SendAs"]})
    assert removed.status_code == 200
    assert t.exo("Get-RecipientPermission", {"Identity": ALICE, "Trustee": BEN}).json()["value"] == []
