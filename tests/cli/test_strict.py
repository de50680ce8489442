"""``--strict`` on investigate, sweep and hunt: a script tells "clean, every check ran" (0) from "clean, but
something could not be checked" (3). Against the practice tenant, one answer made unreadable by a hostile layer."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from reclaim.cli.main import app
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import serve_in_thread
from tests.reliability.hostile_server import Hostile, Request

EVA = "eva.schmidt@adatum.com"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Hostile, str]]:
    fixture = copy.deepcopy(load_scenario("clean"))
    settings = fixture["tenant"].setdefault("settings", {})
    settings["throttling"] = {"enabled": False}
    settings["licenses"] = {"entraIdP1": True, "entraIdP2": True}  # every check can run
    emulator = Emulator(fixture)
    hostile = Hostile(emulator.app)
    emulator.app = hostile  # type: ignore[assignment]
    with serve_in_thread(emulator) as url:
        yield hostile, url


@pytest.fixture
def tenant(served: tuple[Hostile, str], tmp_path: Path) -> Iterator[tuple[Hostile, Any]]:
    hostile, url = served
    hostile.rules.clear()

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, list(args), env={
            "RECLAIM_ENDPOINT": url, "RECLAIM_DB": str(tmp_path / "cases.db"), "RECLAIM_HOME": str(tmp_path),
            "RECLAIM_CONFIG": str(tmp_path / "config.toml"), "RECLAIM_OPERATOR": "strict-test", "COLUMNS": "200"})

    yield hostile, run
    hostile.rules.clear()


def _null_rules_in_batch(body: Any, request: Request) -> Any:
    """A ``$batch`` answer in which the first mailbox's inbox rules come back as ``{"value": null}``."""
    sent = {s["id"]: s["url"] for s in request.json()["requests"]}
    first = next(i for i, url in sent.items() if url.endswith("/mailFolders/inbox/messageRules"))
    for sub in body["responses"]:
        if sub["id"] == first:
            sub["body"] = {"value": None}
    return body


def _rules_batch(request: Request) -> bool:
    return b"/mailFolders/inbox/messageRules" in request.body


def _strict_line(result: Result) -> str:
    lines = [x for x in result.stderr.splitlines() if x.startswith("strict:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_complete_investigation_keeps_its_exit_code(tenant: tuple[Hostile, Any]) -> None:
    _, run = tenant
    done = run("investigate", EVA, "--strict", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["notChecked"] == [] and "strict:" not in done.stderr


def test_an_unreadable_answer_makes_a_strict_investigation_exit_3(tenant: tuple[Hostile, Any]) -> None:
    hostile, run = tenant
    # both views of the inbox rules (Graph's and Exchange's: the rule checks run on either) answer value: null
    graph = hostile.rewrite("GET", r"/mailFolders/inbox/messageRules$", lambda body, req: {**body, "value": None})
    exo = hostile.rewrite("POST", r"/InvokeCommand$", lambda body, req: {**body, "value": None},
                          when=lambda req: req.cmdlet == "Get-InboxRule")
    lenient = run("investigate", EVA, "--json")
    assert graph.hits == exo.hits == 1 and lenient.exit_code == 0, lenient.stdout + lenient.stderr
    doc = json.loads(lenient.stdout)
    assert doc["verdict"] == "clean"  # what was read is clean ...
    reasons = {n["check"]: n["reason"] for n in doc["notChecked"]}  # ... and what was not, is said
    assert reasons and all("unexpected shape ('value' is null, not a list)" in r for r in reasons.values()), reasons
    strict = run("investigate", EVA, "--strict", "--json")
    assert strict.exit_code == 3 and json.loads(strict.stdout)["notChecked"] == doc["notChecked"]
    line = _strict_line(strict)
    assert line.startswith("strict: exit 3 instead of 0: not everything was checked (")
    assert all(check in line for check in reasons), line


def test_sweep_strict(tenant: tuple[Hostile, Any]) -> None:
    hostile, run = tenant
    complete = run("sweep", "--no-progress", "--strict", "--json")
    (summary,) = json.loads(complete.stdout)["tenants"]
    assert summary["status"] == "complete" and summary["incomplete"] == 0, summary
    # every mailbox checked; a tenant-wide list the emulator does not serve (Get-AdminAuditLogConfig, today) is
    # still a gap, named in the strict line
    missing = [f"endpoint: {m['kind']}" for m in summary["notCollected"]]
    assert complete.exit_code == (3 if missing else 0), complete.stdout + complete.stderr
    if missing:
        assert _strict_line(complete).endswith(f"({', '.join(missing)})")
    rule = hostile.rewrite("POST", r"/\$batch$", _null_rules_in_batch, when=_rules_batch, times=1)
    lenient = run("sweep", "--no-progress", "--json")
    assert rule.hits >= 1, lenient.stdout + lenient.stderr
    (summary,) = json.loads(lenient.stdout)["tenants"]
    assert summary["status"] == "complete" and summary["incomplete"] == 1, summary
    assert lenient.exit_code == 0, lenient.stderr
    rule.hits = 0  # once more
    strict = run("sweep", "--no-progress", "--strict")
    assert strict.exit_code == 3, strict.stdout + strict.stderr
    assert "1 mailbox(es)" in _strict_line(strict)
    assert "1 not checked" in strict.stdout


def test_hunt_strict(tenant: tuple[Hostile, Any]) -> None:
    hostile, run = tenant
    complete = run("hunt", "--ioc", "address:drop@evil.example", "--strict", "--json")
    assert complete.exit_code == 0, complete.stdout + complete.stderr
    assert json.loads(complete.stdout)["notCollected"] == []
    rule = hostile.rewrite("POST", r"/\$batch$", _null_rules_in_batch, when=_rules_batch, times=1)
    lenient = run("hunt", "--ioc", "address:drop@evil.example", "--json")
    assert lenient.exit_code == 0, lenient.stdout + lenient.stderr
    (missing,) = json.loads(lenient.stdout)["notCollected"]
    assert missing["kind"] == "graph_rules" and "unexpected shape" in missing["reason"], missing
    rule.hits = 0  # once more
    strict = run("hunt", "--ioc", "address:drop@evil.example", "--strict")
    assert strict.exit_code == 3 and "graph_rules" in _strict_line(strict)
