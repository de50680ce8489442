"""``reclaim remediate --only restore-deleted-files --apply``, ``verify`` and ``undo`` through the CLI on
bec-classic, with the practice tenant served over HTTPS and a tenant entry using a certificate credential (the
only kind SharePoint REST accepts app-only): the file the attacker deleted comes back from the OneDrive recycle
bin, verify reads it back, undo puts it in the recycle bin again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.collect import investigate
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import serve_in_thread
from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS, DEFAULT_APP_ROLES
from reclaim.m365 import Connection, ConnectionSettings, CredentialSpec, Endpoints
from reclaim.store import Store
from tests.m365.tls import make_app_certificate, make_tls

ALICE = "alice.wu@contoso.com"
NAME = "Vendor bank change log.xlsx"
APP_ID = "6a1f0c2e-5b7d-4e19-9c3a-2f8d7b6e4a10"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("cli-files")
    (tmp / "tls").mkdir()
    (tmp / "cert").mkdir()
    tls, cert = make_tls(tmp / "tls"), make_app_certificate(tmp / "cert")
    fixture = load_scenario("bec-classic")
    fixture["tenant"].setdefault("settings", {})["throttling"] = False
    fixture["apps"] = [{"clientId": APP_ID, "certificates": [cert.public_pem],
                        "permissions": list(ALL_GRAPH_PERMISSIONS),
                        "roles": list(DEFAULT_APP_ROLES), "sharepointPermissions": ["Sites.FullControl.All"]}]
    emulator = Emulator(fixture)
    with serve_in_thread(emulator, ssl_certfile=str(tls.server_cert), ssl_keyfile=str(tls.server_key)) as url:
        db = tmp / "cases.db"
        settings = ConnectionSettings(endpoints=Endpoints.under(url), tenant_id=emulator.state.tenant_id,
                                      credential=CredentialSpec(kind="certificate", client_id=APP_ID,
                                                                certificate_path=str(cert.pem)),
                                      ca_bundle=str(tls.ca))

        async def main() -> None:
            store = Store(str(db))
            try:
                async with Connection.open(settings) as conn:
                    await investigate(conn, store, ALICE, audit_wait=5)
            finally:
                store.close()

        asyncio.run(main())
        env = {"RECLAIM_CONFIG": str(tmp / "config.toml"), "RECLAIM_DB": str(db), "RECLAIM_OPERATOR": "cli-test",
               "COLUMNS": "200"}
        added = CliRunner().invoke(app, ["tenant", "add", "practice", "--tenant-id", emulator.state.tenant_id,
                                         "--client-id", APP_ID, "--certificate", str(cert.pem),
                                         "--endpoint", url, "--ca-bundle", str(tls.ca), "--default"], env=env)
        assert added.exit_code == 0, added.output
        yield {"emulator": emulator, "env": env}


def _where(emulator: Emulator) -> tuple[bool, bool]:
    user = emulator.state.find_user(ALICE)
    assert user is not None
    drive = user["drive"]
    return (any(i.get("name") == NAME for i in drive["items"]), any(i.get("name") == NAME for i in drive["recycleBin"]))


def test_apply_verify_undo_through_the_cli(served: dict[str, Any]) -> None:
    emulator, env = served["emulator"], served["env"]
    assert _where(emulator) == (False, True)
    plan = CliRunner().invoke(app, ["remediate", ALICE, "--only", "restore-deleted-files"], env=env)
    assert plan.exit_code == 0 and NAME in plan.stdout, plan.output
    assert _where(emulator) == (False, True)  # the plan changes nothing
    done = CliRunner().invoke(app, ["remediate", ALICE, "--only", "restore-deleted-files", "--apply", "--yes",
                                    "--json"], env=env)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert [o["state"] for o in report["outcomes"]] == ["held"], report["outcomes"]
    assert _where(emulator) == (True, False)
    case_id = report["case"]
    checked = CliRunner().invoke(app, ["verify", case_id, "--json"], env=env)
    assert checked.exit_code == 0, checked.output
    verified = json.loads(checked.stdout)
    assert verified["chain"]["ok"] and "restore-deleted-files" in checked.stdout
    # a second run writes nothing
    emulator.calls.clear()
    rerun = CliRunner().invoke(app, ["remediate", ALICE, "--only", "restore-deleted-files", "--apply", "--yes",
                                     "--json"], env=env)
    assert rerun.exit_code == 0, rerun.output
    assert [c.path for c in emulator.calls if c.method == "POST" and "/_api/" in c.path] == []
    undone = CliRunner().invoke(app, ["undo", case_id, "restore-deleted-files", "--yes"], env=env)
    assert undone.exit_code == 0, undone.output
    assert _where(emulator) == (False, True)
