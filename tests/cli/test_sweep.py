"""``reclaim sweep`` / ``reclaim hunt`` end to end: a sweep killed with SIGKILL resumes without re-reading
finished mailboxes, ``--tenant all`` over two emulated tenants, JSON / JSON Lines, exit codes."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.collect import investigate
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario, synthetic
from reclaim.emulator.server import serve_in_thread
from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS, DEFAULT_APP_ROLES
from reclaim.m365 import Connection, ConnectionSettings
from reclaim.store import Store

JSON = dict[str, Any]
RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def unthrottled(fixture: JSON) -> JSON:
    out = copy.deepcopy(fixture)
    out.setdefault("tenant", {}).setdefault("settings", {})["throttling"] = {"enabled": False}
    return out


def expected(truth: JSON) -> set[str]:
    return {u for u, t in truth["users"].items() if RANK[t["maxSeverity"]] >= RANK["medium"]}


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"RECLAIM_CONFIG": "/nonexistent/reclaim.toml", **(env or {})})
    return result.exit_code, result.output


def test_json_document_and_exit_codes(tmp_path: Path) -> None:
    fixture = unthrottled(synthetic(200, 4))
    with serve_in_thread(Emulator(fixture)) as url:
        code, out = invoke("sweep", "--endpoint", url, "--db", str(tmp_path / "a.db"), "--json")
        assert code == 1, out
        doc = json.loads(out[out.index("{"):])
        assert doc["kind"] == "sweep" and doc["status"] == "complete" and doc["mailboxes"] == 200
        assert {m["user"] for m in doc["flagged"]} == expected(fixture["scenarioTruth"])
        code, out = invoke("sweep", "--endpoint", url, "--db", str(tmp_path / "a.db"), "--jsonl")
        lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        assert [x["type"] for x in lines].count("summary") == 1 and lines[-1]["type"] == "summary"
        assert {x["user"] for x in lines if x["type"] == "mailbox"} == expected(fixture["scenarioTruth"])
        code, out = invoke("sweep", "--endpoint", url, "--json", "--jsonl")
        assert code == 2 and "choose one" in out
    clean = unthrottled(synthetic(8, 1))
    with serve_in_thread(Emulator(clean)) as url:
        code, out = invoke("sweep", "--endpoint", url, "--db", str(tmp_path / "b.db"))
        assert code == 0, out
        assert "8 mailboxes" in out and "0 with findings" in out
        assert "\nnext\n" in out and "reclaim report c-" in out and "reclaim investigate" not in out
    code, out = invoke("sweep", "--endpoint", "http://127.0.0.1:9", "--db", str(tmp_path / "c.db"), "--json")
    assert code == 3
    doc = json.loads(out[out.index("{"):])
    assert doc["status"] == "failed" and "cannot reach" in doc["tenants"][0]["error"]


def _reclaim() -> list[str]:
    script = Path(sys.executable).with_name("reclaim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reclaim.cli.main"]


def test_resume_after_kill_does_not_reread_finished_mailboxes(tmp_path: Path) -> None:
    fixture = unthrottled(synthetic(300, 9))
    emulator = Emulator(fixture, latency_ms=60)
    order = [u["userPrincipalName"] for u in fixture["users"] if u.get("mailbox") is not None]
    db = tmp_path / "k.db"
    env = {**os.environ, "RECLAIM_CONFIG": str(tmp_path / "none.toml")}
    with serve_in_thread(emulator) as url:
        proc = subprocess.Popen([*_reclaim(), "sweep", "--endpoint", url, "--db", str(db), "--workers", "1",
                                 "--no-progress", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)
        deadline = time.monotonic() + 30
        done = 0
        while done < 60:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.05)
            if db.exists():
                store = Store(str(db))
                checkpoints = [c for case in store.list_cases(kind="sweep") for c in store.checkpoints(case.case.id)]
                store.close()
                done = max((c.mailboxes_done for c in checkpoints), default=0)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        store = Store(str(db))
        case_id = store.list_cases(kind="sweep")[0].case.id
        checkpoint = store.get_checkpoint(case_id, "endpoint")
        store.close()
        assert checkpoint is not None and 0 < checkpoint.mailboxes_done < 300
        chunks = set(range(checkpoint.state["prefix"])) | set(checkpoint.state["done"])
        finished = {upn.lower() for i, upn in enumerate(order) if i // 20 in chunks}
        assert len(finished) == checkpoint.mailboxes_done
        emulator.calls.clear()
        resumed = subprocess.run([*_reclaim(), "sweep", "--endpoint", url, "--db", str(db), "--resume", case_id,
                                  "--no-progress", "--json"], capture_output=True, text=True, env=env, timeout=60,
                                 check=False)
        assert resumed.returncode == 1, resumed.stderr
        read = {c.path.split("/")[3].lower() for c in emulator.calls
                if c.via == "$batch" and c.path.endswith("/messageRules")}
    ids = {u["id"].lower(): u["userPrincipalName"].lower() for u in fixture["users"]}
    read_upns = {ids.get(x, x) for x in read}
    assert read_upns.isdisjoint(finished)
    assert read_upns == {u.lower() for u in order} - finished
    doc = json.loads(resumed.stdout)
    assert doc["case"] == case_id and doc["status"] == "complete"
    assert doc["tenants"][0]["resumed"] == checkpoint.mailboxes_done
    # the report covers the whole tenant: findings of both runs
    assert {m["user"] for m in doc["flagged"]} == expected(fixture["scenarioTruth"])


def _with_app(fixture: JSON, client_id: str, secret: str) -> JSON:
    out = unthrottled(fixture)
    out["apps"] = [{"clientId": client_id, "clientSecret": secret, "permissions": list(ALL_GRAPH_PERMISSIONS),
                    "roles": list(DEFAULT_APP_ROLES)}]
    return out


def test_tenant_all_sweeps_every_configured_tenant(tmp_path: Path) -> None:
    a = _with_app(synthetic(120, 21), str(uuid.uuid4()), "secret-a")
    b = _with_app(synthetic(150, 22), str(uuid.uuid4()), "secret-b")
    ea, eb = Emulator(a), Emulator(b)
    config = tmp_path / "config.toml"
    with serve_in_thread(ea) as url_a, serve_in_thread(eb) as url_b:
        config.write_text(
            f'[tenants.alpha]\ntenant_id = "{a["tenant"]["id"]}"\nclient_id = "{a["apps"][0]["clientId"]}"\n'
            f'auth = "secret"\nsecret_env = "ALPHA_SECRET"\nendpoint = "{url_a}"\n\n'
            f'[tenants.beta]\ntenant_id = "{b["tenant"]["id"]}"\nclient_id = "{b["apps"][0]["clientId"]}"\n'
            f'auth = "secret"\nsecret_env = "BETA_SECRET"\nendpoint = "{url_b}"\n', encoding="utf-8")
        env = {"RECLAIM_CONFIG": str(config), "ALPHA_SECRET": "secret-a", "BETA_SECRET": "secret-b"}
        result = CliRunner().invoke(app, ["sweep", "--tenant", "all", "--db", str(tmp_path / "m.db"), "--json"],
                                    env=env)
        assert result.exit_code == 1, result.output
        doc = json.loads(result.output[result.output.index("{"):])
        assert doc["mailboxes"] == 270
        assert {t["tenant"]: t["mailboxes"] for t in doc["tenants"]} == {"alpha": 120, "beta": 150}
        got = {(m["tenant"], m["user"]) for m in doc["flagged"]}
        assert got == {("alpha", u) for u in expected(a["scenarioTruth"])} | \
            {("beta", u) for u in expected(b["scenarioTruth"])}
        # each tenant was read through its own endpoint, with its own app
        assert any(c.path.endswith("InvokeCommand") for c in ea.calls)
        assert any(c.path.endswith("InvokeCommand") for c in eb.calls)
        # one tenant's failure does not stop the other: a wrong secret for beta
        result = CliRunner().invoke(app, ["sweep", "--tenant", "all", "--db", str(tmp_path / "n.db"), "--json"],
                                    env={**env, "BETA_SECRET": "wrong"})
        assert result.exit_code == 3, result.output
        doc = json.loads(result.output[result.output.index("{"):])
        status = {t["tenant"]: t["status"] for t in doc["tenants"]}
        assert status == {"alpha": "complete", "beta": "failed"}


def test_hunt_cli_from_a_case(tmp_path: Path) -> None:
    with serve_in_thread(Emulator(unthrottled(load_scenario("bec-classic")))) as url:
        async def main() -> str:
            store = Store(str(tmp_path / "h.db"))
            try:
                async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
                    return (await investigate(conn, store, "alice.wu@contoso.com",
                                              identity_protection_spacing=0)).case_id
            finally:
                store.close()

        case_id = asyncio.run(main())
        code, out = invoke("hunt", "--from-case", case_id, "--endpoint", url, "--db", str(tmp_path / "h.db"), "--json")
        assert code == 1, out
        doc = json.loads(out)
        users = {u["user"]: u for u in doc["users"]}
        assert users["mark.davis@contoso.com"]["worst"] == "high"
        assert doc["campaigns"][0]["users"] == ["alice.wu@contoso.com", "mark.davis@contoso.com"]
        # the case as a positional CASE, like every other command; the terminal ends with what to run next
        code, out = invoke("hunt", case_id, "--endpoint", url, "--db", str(tmp_path / "h.db"))
        assert code == 1, out
        tail = out[out.index("\nnext\n"):]
        assert "reclaim investigate mark.davis@contoso.com" in tail and "reclaim report c-" in tail
        code, out = invoke("hunt", "--endpoint", url, "--db", str(tmp_path / "h.db"))
        assert code == 2 and "nothing to hunt for" in out
        code, out = invoke("hunt", "--ioc", "address:x@nowhere.example", "--endpoint", url,
                           "--db", str(tmp_path / "h.db"))
        assert code == 0 and "nobody else" in out
