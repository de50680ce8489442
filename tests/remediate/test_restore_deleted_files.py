"""restore-deleted-files over real HTTP against bec-classic: the file the attacker deleted is listed (offered),
restored from the OneDrive recycle bin through SharePoint REST with a certificate credential, verify reads it
back, a second run writes nothing, undo puts it in the recycle bin again; with a client secret SharePoint refuses
the token and the step is left to a person, saying why."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.emulator.faults import FaultSpec
from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS, DEFAULT_APP_ROLES, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from reclaim.m365 import Connection
from reclaim.remediate import PlanOptions, RunReport, State, apply_plan, plan_for_case, undo_case, verify_case
from reclaim.store import Store
from tests.m365.certtokens import certificate_tokens
from tests.m365.tls import AppCertificate, make_app_certificate
from tests.remediate.helpers import Practice, practice, writes

ALICE = "alice.wu@contoso.com"
FILE = "Finance/Vendor bank change log.xlsx"
ONLY = PlanOptions(only=frozenset({"restore-deleted-files"}))


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> AppCertificate:
    return make_app_certificate(tmp_path_factory.mktemp("spcert"))


@pytest.fixture(scope="module")
def classic(tmp_path_factory: pytest.TempPathFactory, cert: AppCertificate) -> Iterator[Practice]:
    def edit(fixture: dict[str, Any]) -> None:
        fixture["apps"] = [{"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
                            "certificates": [cert.public_pem], "permissions": list(ALL_GRAPH_PERMISSIONS),
                            "roles": list(DEFAULT_APP_ROLES), "exchangeRoles": ["Mailbox Import Export"],
                            "sharepointPermissions": ["Sites.FullControl.All"]}]

    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("bec-files"), throttling=False, edit=edit) as p:
        yield p


def _names(p: Practice, where: str) -> set[str]:
    user = p.emulator.state.find_user(ALICE)
    assert user is not None
    return {str(i.get("name")) for i in user["drive"][where]}


def _run(p: Practice, db: Path, cert: AppCertificate, work: Any, *, certificate: bool = True) -> Any:
    settings = p.settings()

    async def main() -> Any:
        async with Connection.open(settings) as conn:
            if certificate:
                conn.pipeline.tokens = conn.tokens = certificate_tokens(
                    conn.http, token_url=settings.endpoints.token_url(p.emulator.state.tenant_id),
                    client_id=DEFAULT_CLIENT_ID, key_pem=cert.pem)
            store = Store(str(db))
            try:
                return await work(conn, store)
            finally:
                store.close()

    return asyncio.run(main())


def _apply(p: Practice, db: Path, cert: AppCertificate, *, certificate: bool = True) -> RunReport:
    async def work(conn: Connection, store: Store) -> RunReport:
        return await apply_plan(conn, store, plan_for_case(store, p.cases[ALICE], ONLY), password_sink=p.sink,
                                operator="test")

    result: RunReport = _run(p, db, cert, work, certificate=certificate)
    return result


def test_plan_offers_each_deleted_file(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    assert classic.truth["users"][ALICE]["drive"]["deleted"] == [FILE]
    store = Store(str(db))
    try:
        default = plan_for_case(store, classic.cases[ALICE], PlanOptions())
        chosen = plan_for_case(store, classic.cases[ALICE], ONLY)
    finally:
        store.close()
    assert not [s for s in default.steps if s.action == "restore-deleted-files"]
    [offered] = [s for s in default.offered if s.action == "restore-deleted-files"]
    assert offered.opt_in and offered.target == FILE and FILE in offered.label and "certificate" in offered.label
    assert [s.target for s in chosen.steps if s.action == "restore-deleted-files"] == [FILE]


def test_apply_verify_rerun_and_undo_with_a_certificate(classic: Practice, cert: AppCertificate,
                                                         tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    name = FILE.rpartition("/")[2]
    assert name in _names(classic, "recycleBin") and name not in _names(classic, "items")
    classic.emulator.calls.clear()
    report = _apply(classic, db, cert)
    assert report.ok, [(o.step.key, o.state.value, o.detail) for o in report.outcomes]
    [outcome] = [o for o in report.outcomes if o.step.action == "restore-deleted-files"]
    assert outcome.state == State.HELD
    assert name in _names(classic, "items") and name not in _names(classic, "recycleBin")
    restores = [w for w in writes(classic.emulator) if "/_api/" in w]
    assert len(restores) == 1 and restores[0].endswith("/restore()")
    assert "/personal/alice_wu_contoso_com/" in restores[0]

    verified = _run(classic, db, cert, lambda conn, store: verify_case(conn, store, classic.cases[ALICE]))
    assert all(o.state == State.HELD for o in verified.outcomes if o.step.action == "restore-deleted-files")

    classic.emulator.calls.clear()
    again = _apply(classic, db, cert)
    assert again.ok and [w for w in writes(classic.emulator) if "/_api/" in w] == []

    undone = _run(classic, db, cert, lambda conn, store: undo_case(conn, store, classic.cases[ALICE],
                                                                   operator="test"))
    assert all(o.state == State.UNDONE for o in undone.outcomes if o.step.action == "restore-deleted-files"), \
        [(o.step.key, o.state.value, o.detail) for o in undone.outcomes]
    assert name in _names(classic, "recycleBin") and name not in _names(classic, "items")


def test_a_client_secret_leaves_it_to_a_person(classic: Practice, cert: AppCertificate, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    classic.emulator.calls.clear()
    report = _apply(classic, db, cert, certificate=False)
    [outcome] = [o for o in report.outcomes if o.step.action == "restore-deleted-files"]
    assert outcome.state == State.MANUAL and "certificate" in outcome.detail and "Recycle bin" in outcome.detail
    assert writes(classic.emulator) == []
    assert FILE.rpartition("/")[2] in _names(classic, "recycleBin")


def test_cli_plan_lists_and_include_chooses(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    env = {"RECLAIM_ENDPOINT": classic.url, "RECLAIM_DB": str(db), "RECLAIM_OPERATOR": "cli-test", "COLUMNS": "200"}
    plan = CliRunner().invoke(app, ["remediate", ALICE, "--plan", "--json"], env=env)
    assert plan.exit_code == 0, plan.output
    body = json.loads(plan.stdout)
    offered = [s for s in [*body["steps"], *body.get("offered", [])] if s.get("action") == "restore-deleted-files"]
    assert offered and all(s["target"] == FILE for s in offered)
    chosen = CliRunner().invoke(app, ["remediate", ALICE, "--plan", "--json", "--only", "restore-deleted-files"],
                                env=env)
    assert chosen.exit_code == 0, chosen.output
    steps = json.loads(chosen.stdout)["steps"]
    assert [(s["action"], s["target"]) for s in steps] == [("restore-deleted-files", FILE)]
    assert "Sites.FullControl.All" in json.dumps(json.loads(chosen.stdout))


@pytest.mark.parametrize("seed", [3, 11])
def test_injected_faults_restore_the_file_once(classic: Practice, cert: AppCertificate, tmp_path: Path,
                                               seed: int) -> None:
    db = classic.fresh(tmp_path)
    classic.emulator.faults = type(classic.emulator.faults)(FaultSpec.parse("429=0.2,503=0.15,reset=0.05"), seed=seed)
    classic.emulator.calls.clear()
    try:
        report = _apply(classic, db, cert)
    finally:
        classic.emulator.faults = type(classic.emulator.faults)(FaultSpec(), seed=None)
    faulted = [c for c in classic.emulator.calls if c.fault and ("/_api/" in c.path or "/drive" in c.path)]
    assert faulted, "no fault reached a drive or SharePoint request: the test would prove nothing"
    [outcome] = [o for o in report.outcomes if o.step.action == "restore-deleted-files"]
    assert outcome.state in (State.HELD, State.ALREADY), (outcome.state, outcome.detail)
    name = FILE.rpartition("/")[2]
    assert sorted(_names(classic, "items")).count(name) == 1 and name not in _names(classic, "recycleBin")
