"""Verify sees new persistence: between the remediation and the verify the attacker adds a new inbox rule
under a new name, a new MFA method, a new consent grant, SendAs and another FullAccess delegate. ``verify``
re-lists those collections over HTTP, reports each object as "new since remediation" (exit 1, with what to do,
and says what it re-listed); a plain ``remediate USER --apply`` re-run then investigates again and plans the
removal of what the checks find."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.emulator.scenarios._common import grant, inbox_rule, phone_method
from reclaim.emulator.state import iso
from reclaim.store import Store
from tests.remediate.helpers import Practice, practice

ALICE = "alice.wu@contoso.com"
NEW_RULE = "AQAAAJ5dZqEnewrule0001="
INTRUDER = "grant.ortiz@contoso.com"


@pytest.fixture(scope="module")
def classic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("persistence"), throttling=False) as p:
        yield p


def _counter_moves(p: Practice) -> dict[str, Any]:
    """What the attacker adds after the remediation (as the tenant would then hold it)."""
    state = p.emulator.state
    alice = state.find_user(ALICE)
    assert alice is not None
    now = iso(p.emulator.clock.now())
    mbx = alice["mailbox"]
    inbox = next(f["id"] for f in mbx["folders"] if f.get("wellKnownName") == "inbox" or f["displayName"] == "Inbox")
    assert inbox
    mbx["inboxRules"].append(inbox_rule(NEW_RULE, "Sync", sequence=7,
                                        conditions={"bodyOrSubjectContains": ["invoice", "payment"]},
                                        actions={"forwardTo": [{"emailAddress": {"address": "ap@evil.example"}}],
                                                 "delete": True, "stopProcessingRules": True}))
    method = phone_method("+1 202 555 0199", now, slot="alternateMobile")
    alice["authenticationMethods"].append(method)
    old = alice["oauth2PermissionGrants"][0] if alice["oauth2PermissionGrants"] else None
    sp = (old or {}).get("clientId") or state.data["servicePrincipals"][0]["id"]
    resource = (old or {}).get("resourceId") or state.data["servicePrincipals"][0]["id"]
    new_grant = grant("bmV3LWdyYW50LWFmdGVyLXJlbWVkaWF0aW9uLTAwMDAw", sp, resource, alice["id"],
                      "Mail.Read offline_access")
    alice["oauth2PermissionGrants"].append(new_grant)
    mbx.setdefault("permissions", []).append({"user": INTRUDER, "accessRights": ["FullAccess"],
                                              "isInherited": False, "deny": False, "inheritanceType": "All"})
    mbx.setdefault("recipientPermissions", []).append({"trustee": INTRUDER, "accessRights": ["SendAs"],
                                                       "accessControlType": "Allow", "isInherited": False})
    return {"method": method["id"], "grant": new_grant["id"]}


def test_verify_reports_new_persistence_and_a_rerun_removes_it(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    env = {"RECLAIM_ENDPOINT": classic.url, "RECLAIM_DB": str(db), "RECLAIM_OPERATOR": "t", "COLUMNS": "250"}
    case_id = classic.cases[ALICE]
    done = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file",
                                    str(tmp_path / "pw")], env=env)
    assert done.exit_code == 0, done.output
    clean = CliRunner().invoke(app, ["verify", case_id, "--json"], env=env)
    assert clean.exit_code == 0, clean.output
    report = json.loads(clean.stdout)
    assert report["newSinceRemediation"] == []
    assert "inbox rules (hidden ones included)" in report["relisted"] and "SendAs delegates" in report["relisted"]

    added = _counter_moves(classic)
    checked = CliRunner().invoke(app, ["verify", case_id, "--json"], env=env)
    assert checked.exit_code == 1, checked.output
    new = json.loads(checked.stdout)["newSinceRemediation"]
    # a rule by its Exchange RuleIdentity (hidden rules included), the rest by their own ids
    found = {(x["kind"], x["id"] if x["kind"] != "exo_rules" else x["what"]) for x in new}
    assert found == {("exo_rules", "inbox rule 'Sync' (enabled)"), ("auth_methods", added["method"]),
                     ("oauth_grants", added["grant"]), ("mailbox_permissions", INTRUDER),
                     ("recipient_permissions", INTRUDER)}
    text = CliRunner().invoke(app, ["verify", case_id], env=env)
    assert text.exit_code == 1
    assert text.stdout.count("new since remediation") == 5 and "re-listed:" in text.stdout
    assert f"reclaim remediate {ALICE} --apply" in text.stdout
    with Store(str(db)) as store:
        entry = store.journal(case_id)[-1]
    assert entry.action_id == "run" and entry.step == "not_held" and entry.target.startswith("verify-")

    # a plain re-run investigates again (a new case) and plans the removal of what the checks find
    plan = CliRunner().invoke(app, ["remediate", ALICE, "--plan", "--json"], env=env)
    assert plan.exit_code == 0, plan.output
    planned = json.loads(plan.stdout)
    assert planned["case"] != case_id
    targets = {s["target"] for s in planned["steps"]} | {s["target"] for s in planned["offered"]}
    chosen = {s["target"] for s in planned["steps"]}
    assert NEW_RULE in chosen and added["method"] in chosen, targets
    # delegates whose grant time is unknown are offered (a person confirms), never dropped
    assert {("remove-mailbox-permission", INTRUDER), ("remove-recipient-permission", INTRUDER)} <= {
        (s["action"], s["target"]) for s in planned["offered"]}
