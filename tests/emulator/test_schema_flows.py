"""Every command's traffic, held to Microsoft's Graph v1.0 schema.

Each built-in scenario is served with answers recorded (``Emulator.record_answers``: every request and answer,
``$batch`` sub-requests one by one); reclaim's commands run against it through the CLI — investigate,
remediate --apply, verify, undo, restore-access, sweep --deep, hunt — and every Graph call is checked by
``reclaim.emulator.csdl.calls.violations``: the path, the query options' properties and enum literals, the
request body and the answer. One violation fails the test. A deliberate violation is caught (the test that the
check can fail).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.emulator import Emulator
from reclaim.emulator.app import CallRecord
from reclaim.emulator.csdl.calls import violations
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import serve_in_thread

SCENARIOS = ("bec-classic", "bec-campaign", "clean", "admin-takeover")


def _graph_violations(calls: list[CallRecord]) -> list[str]:
    """Each distinct violation once (item indexes folded), with how often it occurred."""
    seen: dict[str, int] = {}
    for call in calls:
        if call.path.startswith("/v1.0/"):
            for found in violations(call.method, call.path, call.query, call.body, call.status, call.answer):
                key = re.sub(r"\[\d+\]", "[]", found.split(" ", 2)[2] if found.count(" ") >= 2 else found)
                seen[f"{call.method} {_shape(call.path)} {key}"] = seen.get(key, 0) + 1
    return [f"{k} (x{n})" for k, n in sorted(seen.items())]


def _shape(path: str) -> str:
    """The path with its ids folded, so one violation is reported once per resource."""
    return "/".join("{id}" if len(part) > 20 or "@" in part else part for part in path.split("/"))


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    assert result.exit_code in (0, 1), f"{args}: exit {result.exit_code}\n{result.output}"
    return result


@pytest.fixture(scope="module", params=SCENARIOS)
def flows(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[CallRecord]]:
    """The scenario served, every command run against it; yields the call log (requests and answers)."""
    fixture = copy.deepcopy(load_scenario(request.param))
    fixture["tenant"].setdefault("settings", {})["throttling"] = False  # real time in the CLI: no waits
    truth = fixture.get("scenarioTruth", {})
    emulator = Emulator(fixture)
    emulator.record_answers = True
    tmp = tmp_path_factory.mktemp(request.param)
    with serve_in_thread(emulator) as url:
        env = {"RECLAIM_ENDPOINT": url, "RECLAIM_DB": str(tmp / "cases.db"), "RECLAIM_OPERATOR": "schema-test",
               "COLUMNS": "200"}
        compromised = list(truth.get("compromised") or [])
        others = [u for u in truth.get("clean") or [] if u not in compromised][:1]
        cases: dict[str, str] = {}
        for upn in [*compromised, *others]:
            done = _run(env, "investigate", upn, "--json", "--audit-wait", "5")
            cases[upn] = json.loads(done.stdout)["case"]
        for upn in compromised:
            applied = _run(env, "remediate", upn, "--apply", "--yes", "--json", "--password-file",
                           str(tmp / f"{upn}.pw"))
            report = json.loads(applied.stdout[applied.stdout.index("{"):])
            _run(env, "verify", report["case"], "--json")
            _run(env, "undo", report["case"], "--yes")
            _run(env, "restore-access", upn, "--yes")
        _run(env, "sweep", "--deep", "--json", "--no-progress")
        for upn in compromised[:1]:
            _run(env, "hunt", "--from-case", cases[upn], "--json")
        yield list(emulator.calls)


def test_every_graph_call_holds_to_the_schema(flows: list[CallRecord]) -> None:
    graph = [c for c in flows if c.path.startswith("/v1.0/")]
    assert len(graph) > 20  # the flows ran
    assert any(c.via == "$batch" for c in graph)  # sub-requests are checked one by one
    found = _graph_violations(flows)
    assert found == [], "\n".join(found)


def _exchange_refusals(calls: list[CallRecord]) -> list[str]:
    """Cmdlet calls the binder refused, or that named a parameter the practice tenant does not serve."""
    out: set[str] = set()
    for call in calls:
        if not call.path.endswith("/InvokeCommand") or call.status not in (400, 501) or not isinstance(call.answer,
                                                                                                    dict):
            continue
        details = call.answer.get("error", {}).get("details") or [{}]
        text = str(details[0].get("message", ""))
        if "ParameterBindingException" in text or "ParameterNotServed" in text or "CommandNotFound" in text:
            cmdlet = (call.body or {}).get("CmdletInput", {}).get("CmdletName") if isinstance(call.body, dict) else None
            out.add(f"{cmdlet}: {text.split('|')[-1]}")
    return sorted(out)


def test_every_cmdlet_call_binds_as_exchange_binds_it(flows: list[CallRecord]) -> None:
    """Every command's Exchange calls name real cmdlets and parameters, in one parameter set, of the right type."""
    assert any(c.path.endswith("/InvokeCommand") for c in flows)
    assert _exchange_refusals(flows) == []


def test_a_deliberate_violation_is_caught() -> None:
    """The check fails on what real Graph refuses or never sends: each of these is one violation."""
    folder = {"id": "AAMk", "displayName": "Inbox", "childFolderCount": 0, "unreadItemCount": 0,
              "totalItemCount": 0, "parentFolderId": "AAMr", "isHidden": False}
    ok = violations("GET", "/v1.0/users/u/mailFolders/inbox", "$select=id,displayName", None, 200, folder)
    assert ok == []
    cases: list[tuple[str, str, str, Any, int, Any]] = [
        ("GET", "/v1.0/users/u/mailFolders", "$select=id,wellKnownName", None, 200, {"value": []}),
        ("GET", "/v1.0/users/u/mailFolderz", "", None, 200, {"value": []}),
        ("GET", "/v1.0/identityProtection/riskyUsers", "$filter=riskLevel eq 'severe'", None, 200, {"value": []}),
        ("GET", "/v1.0/users/u/mailFolders/inbox", "", None, 200, {**folder, "sizeInBytes": 10}),
        ("GET", "/v1.0/users/u/mailboxSettings", "", None, 200,
         {"delegateMeetingMessageDeliveryOptions": "sendToDelegateOutlookAndInformationToPrincipal"}),
        ("PATCH", "/v1.0/users/u/mailFolders/inbox/messageRules/r", "", {"isEnabled": "no"}, 200, None),
        ("GET", "/v1.0/identityProtection/riskyUsers/r", "", None, 200, {"id": "r", "riskLastUpdatedDateTime": 5}),
    ]
    for method, path, query, body, status, answer in cases:
        assert len(violations(method, path, query, body, status, answer)) == 1, (method, path, query)


def test_the_schema_is_derived_from_the_shared_csdl() -> None:
    """The vendored schema names its source; when the CSDL is at hand, it is the one it was derived from."""
    import hashlib

    from reclaim.emulator.csdl import schema
    from reclaim.emulator.csdl.derive import DEFAULT_SOURCE

    if not DEFAULT_SOURCE.exists():
        pytest.skip("../shared/reference/graph/v1.0.csdl not found beside the repository")
    digest = hashlib.sha256(Path(DEFAULT_SOURCE).read_bytes()).hexdigest()
    assert schema().source["sha256"] == digest, "regenerate: python -m reclaim.emulator.csdl.derive"


def test_the_risk_event_members_are_v1() -> None:
    from reclaim.emulator.csdl import schema
    from reclaim.emulator.scenarios._common import V1_RISK_EVENT_TYPES

    assert set(schema().enums["microsoft.graph.riskEventType"]["members"]) == V1_RISK_EVENT_TYPES
