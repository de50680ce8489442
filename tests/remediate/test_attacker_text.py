"""Attacker text never blocks an action: an inbox rule named ``Bearer 0wned`` or with a JWT-shaped name is
journaled escaped (inert: no credential pattern matches it) and remediated; a resumed run gets the exact name
back; our own secrets (the generated password, the client secret, tokens) are refused wherever they would be
journaled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reclaim.m365 import Connection
from reclaim.remediate import RunReport, apply_plan, journaled_steps, plan_for_case
from reclaim.remediate.inert import escape, remember, unescape
from reclaim.store import SecretRefused, Store, refuse_secrets
from reclaim.text import forget_secrets
from tests.remediate.helpers import Practice, practice, tenant_view

ALICE = "alice.wu@contoso.com"
BEARER = "Bearer 0wned"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwd25lZCJ9.c2lnbmF0dXJl"


def _rename(fixture: dict[str, Any]) -> None:
    alice = next(u for u in fixture["users"] if u["userPrincipalName"] == ALICE)
    for rule in alice["mailbox"]["inboxRules"]:
        if rule["displayName"] == ".":
            rule["displayName"] = BEARER
        elif rule["displayName"] == "..":
            rule["displayName"] = JWT


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("attacker-text"), edit=_rename) as p:
        yield p


def test_rules_with_credential_looking_names_are_remediated(named: Practice, tmp_path: Path) -> None:
    db = named.fresh(tmp_path)
    case_id = named.cases[ALICE]
    planted = named.truth["users"][ALICE]["planted"]
    with Store(str(db)) as store:
        plan = plan_for_case(store, case_id)
        names = {s.params.get("name") for s in plan.steps if s.action == "disable-inbox-rule"}
        assert {BEARER, JWT} <= names

        async def work(conn: Connection) -> RunReport:
            return await apply_plan(conn, store, plan, password_sink=named.sink, operator="t")

        report = named.run(work)
        assert report.ok, {o.step.key: (o.state.value, o.detail) for o in report.outcomes}
        rules = tenant_view(named.emulator, ALICE)["rules"]
        assert all(rules[r] is False for r in planted["inboxRules"] + planted["hiddenInboxRules"])
        raw = json.dumps([[e.request, e.result, e.verify] for e in store.journal(case_id)])
        for value in json.loads(raw):  # every journaled value passes the store's own guard
            refuse_secrets(value)
        assert '"name": "escaped:Bearer%200wned"' in raw and '"name": "escaped:eyJ' in raw
        assert f'"{BEARER}"' not in raw and f'"{JWT}"' not in raw
        assert named.passwords[-1] not in raw
        # the journal gives the exact names back (a resumed run finds the rules by them)
        back = {s.params.get("name") for s in journaled_steps(store, case_id) if s.action == "disable-inbox-rule"}
        assert {BEARER, JWT} <= back


@pytest.mark.parametrize("text", [BEARER, JWT, "escaped:Bearer%200wned", "  bearer x.y", "a.b-c %2E", "plain"])
def test_escape_round_trips_and_is_inert(text: str) -> None:
    stored = escape({"name": text, "list": [text]})
    refuse_secrets(stored)
    assert unescape(stored) == {"name": text, "list": [text]}


def test_known_secrets_are_refused() -> None:
    secret = "K7#pq-Generated+Password"
    remember(secret)
    try:
        with pytest.raises(SecretRefused):
            escape({"result": {"detail": f"set to {secret}"}})
    finally:
        forget_secrets()
    assert escape({"detail": f"set to {secret}"}) == {"detail": f"set to {secret}"}
    with pytest.raises(SecretRefused):
        escape({"x": "the token abcdefghij12"}, also=["abcdefghij12"])
