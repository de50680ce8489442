"""bec-campaign: several compromised users and clean ones in one tenant. Remediating each compromised user
removes what the attacker planted there and leaves the clean users exactly as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from reclaim.m365 import Connection
from reclaim.remediate import PlanOptions, RunReport, State, apply_plan, plan_for_case
from reclaim.store import Store
from tests.remediate.helpers import practice, tenant_view

pytestmark = pytest.mark.slow  # investigates four users (~15 s)

COMPROMISED = ["nina.fischer@fabrikam.com", "omar.haddad@fabrikam.com", "li.chen@fabrikam.com",
               "tom.berg@fabrikam.com"]


def test_campaign(tmp_path: Path) -> None:
    with practice("bec-campaign", COMPROMISED, tmp_path) as p:
        truth = p.truth["users"]
        clean = [u for u, t in truth.items() if t["verdict"] == "clean"]
        db = p.fresh(tmp_path)
        before = {u: tenant_view(p.emulator, u) for u in truth}
        store = Store(str(db))
        reports: dict[str, RunReport] = {}
        for upn in COMPROMISED:
            options = PlanOptions(delete_rules=upn == "li.chen@fabrikam.com",
                                  include=frozenset({"remove-recipient-permission", "remove-mailbox-permission"}))
            plan = plan_for_case(store, p.cases[upn], options)

            async def work(conn: Connection, plan: object = plan) -> RunReport:
                return await apply_plan(conn, store, plan, password_sink=p.sink, operator="test")  # type: ignore[arg-type]

            reports[upn] = p.run(work)
        store.close()
        for upn, report in reports.items():
            assert report.ok, (upn, {o.step.key: (o.state.value, o.detail) for o in report.outcomes})
            assert all(o.state is not State.FAILED for o in report.outcomes)
        assert len(p.passwords) == len(COMPROMISED) and len(set(p.passwords)) == len(COMPROMISED)

        after = {u: tenant_view(p.emulator, u) for u in truth}
        for upn in clean:
            assert after[upn] == before[upn], upn
        for upn in COMPROMISED:
            planted, keep = truth[upn]["planted"], truth[upn]["keep"]
            view, was = after[upn], before[upn]
            assert view["accountEnabled"] is False and view["passwordChanged"] != was["passwordChanged"]
            for rule_id in planted["inboxRules"] + planted["hiddenInboxRules"]:
                assert view["rules"].get(rule_id, False) is False, (upn, rule_id)
            for rule_id in keep["inboxRules"]:
                assert view["rules"][rule_id] == was["rules"][rule_id], (upn, rule_id)
            assert all(view["sweepRules"][r] is False for r in planted["sweepRules"])
            if planted["forwarding"]:
                assert view["forwarding"] == (None, None, False)
            assert not set(planted["authenticationMethods"]) & set(view["methods"])
            assert set(keep["authenticationMethods"]) - {"28c10230-6103-485e-b985-444c60001490"} <= set(view["methods"])
            assert not set(planted["oauth2PermissionGrants"]) & set(view["grants"])
            assert not set(planted["mobileDevices"]) & set(view["devices"])
            assert set(keep["mobileDevices"]) <= set(view["devices"])
            for perm in planted["recipientPermissions"]:
                assert perm["trustee"].lower() not in view["sendAs"]
            if planted["automaticReplies"]:
                assert view["autoReply"] == "disabled"
        # li.chen's visible rule was deleted (--delete-rules), not just disabled
        li = truth["li.chen@fabrikam.com"]["planted"]["inboxRules"]
        assert not set(li) & set(after["li.chen@fabrikam.com"]["rules"])
        # tom was restricted: unblocked once the emulated delay passed
        assert after["tom.berg@fabrikam.com"]["unblockRequested"] == [True]
