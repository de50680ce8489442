"""A service that misbehaves is never read as "nothing there" (issue 17): the practice tenant behind a layer that
answers chosen requests wrongly (``tests/reliability/hostile_server.py``), driven through the CLI.

The tenant: the clean scenario, plus one malicious inbox rule in Eva's mailbox, her only indicator. Each case
makes the answers that hold it unreadable and asserts the honest outcome: the reads are recorded as not
collected with the reason, the checks that needed them are listed under "not checked", the verdict says checks
could not run (and ``--strict`` exits 3), never a silent "clean"; the run finishes (caps set low through the
``RECLAIM_*`` limits; no timing assertion); no access token or client secret reaches the output. The generated
password echoed in a 400 runs through remediate on the bec-classic scenario.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from reclaim.cli.main import app
from reclaim.emulator import Emulator
from reclaim.emulator.server import serve_in_thread
from reclaim.m365.connection import EMULATOR_CLIENT_SECRET
from reclaim.store import Store
from reclaim.text import forget_secrets
from tests.reliability.hostile_server import Hostile, Request, endless, trickle
from tests.reliability.support import quiet_fixture

ALICE = "alice.wu@contoso.com"
EVA = "eva.schmidt@adatum.com"
#: Eva's one indicator: a rule that forwards payment mail outside and deletes it
HOSTILE_RULE = {"id": "AQAAAHostile01", "displayName": ".", "sequence": 1, "isEnabled": True, "hasError": False,
                "isReadOnly": False, "conditions": {"bodyOrSubjectContains": ["invoice", "payment", "wire"]},
                "actions": {"forwardTo": [{"emailAddress": {"name": "drop", "address": "drop@evil.example"}}],
                            "delete": True, "stopProcessingRules": True}, "exceptions": {}, "hidden": False}
GRAPH_RULES = r"/users/[^/]+/mailFolders/inbox/messageRules$"
EXCHANGE = r"/InvokeCommand$"


@dataclass
class Tenant:
    emulator: Emulator
    hostile: Hostile
    url: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"RECLAIM_ENDPOINT": self.url, "RECLAIM_DB": str(self.home / "cases.db"),
                "RECLAIM_CONFIG": str(self.home / "config.toml"), "RECLAIM_HOME": str(self.home / "state"),
                "RECLAIM_OPERATOR": "hostile-test", "COLUMNS": "200", **extra}

    def run(self, *args: str, **env: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env(**env))

    def files(self) -> list[Path]:
        return sorted(p for p in self.home.rglob("*") if p.is_file())


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenant]:
    for var in [v for v in os.environ if v.startswith("RECLAIM_")]:
        monkeypatch.delenv(var)
    forget_secrets()
    emulator = Emulator(quiet_fixture("bec-classic"))
    hostile = Hostile(emulator.app)
    emulator.app = hostile  # type: ignore[assignment]
    with serve_in_thread(emulator) as url:
        yield Tenant(emulator, hostile, url, tmp_path)
    forget_secrets()


@dataclass
class Served:
    hostile: Hostile
    url: str
    #: every access token the token endpoint issued
    tokens: list[str]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    fixture = quiet_fixture("clean")
    fixture["tenant"]["settings"]["licenses"] = {"entraIdP1": True, "entraIdP2": True}
    (eva,) = [u for u in fixture["users"] if u["userPrincipalName"] == EVA]
    eva["mailbox"]["inboxRules"] = [*eva["mailbox"].get("inboxRules", []), HOSTILE_RULE]
    emulator = Emulator(fixture)
    hostile = Hostile(emulator.app)
    emulator.app = hostile  # type: ignore[assignment]
    with serve_in_thread(emulator) as url:
        yield Served(hostile, url, [])


@dataclass
class Run:
    served: Served
    home: Path

    def __call__(self, *args: str, **env: str) -> Result:
        result = CliRunner().invoke(app, list(args), env={
            "RECLAIM_ENDPOINT": self.served.url, "RECLAIM_DB": str(self.home / "cases.db"),
            "RECLAIM_HOME": str(self.home), "RECLAIM_CONFIG": str(self.home / "config.toml"),
            "RECLAIM_OPERATOR": "hostile-test", "COLUMNS": "200", **env})
        shown = result.stdout + result.stderr
        assert "Traceback" not in shown and result.exit_code != 70, shown[-3000:]
        assert EMULATOR_CLIENT_SECRET not in shown
        assert self.served.tokens and not [t for t in self.served.tokens if t in shown or t.split(".")[-1] in shown]
        return result

    def not_collected(self, case: str) -> dict[str, str]:
        store = Store(str(self.home / "cases.db"))
        try:
            return {r.kind: r.reason for r in store.not_collected(case)}
        finally:
            store.close()


@pytest.fixture
def run(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    for var in [v for v in os.environ if v.startswith("RECLAIM_")]:
        monkeypatch.delenv(var)
    forget_secrets()
    served.hostile.rules.clear()

    def record(body: Any, request: Request) -> Any:
        served.tokens.append(str(body["access_token"]))
        return body

    served.hostile.rewrite("POST", r"/oauth2/v2\.0/token$", record)
    yield Run(served, tmp_path)
    served.hostile.rules.clear()
    forget_secrets()


def _investigate(run: Run, *extra: str, **env: str) -> tuple[Result, dict[str, Any]]:
    done = run("investigate", EVA, "--json", "--no-follow-actors", *extra, **env)
    return done, json.loads(done.stdout)


def _rule_checks(doc: dict[str, Any]) -> dict[str, str]:
    return {n["check"]: n["reason"] for n in doc["notChecked"] if n["check"].startswith("inbox-rule")}


def _page(change: Callable[[Any], Any]) -> Callable[[Any, Request], Any]:
    return lambda body, request: change(body)


def _cmdlet(name: str) -> Callable[[Request], bool]:
    return lambda request: request.cmdlet == name


# ---------------------------------------------------------------------------------------------- shapes
def test_the_tenant_as_served_flags_the_rule(run: Run) -> None:
    done, doc = _investigate(run)
    assert done.exit_code == 1 and doc["verdict"] != "clean", done.stderr
    assert any(f["artifact"]["id"] == HOSTILE_RULE["id"] for f in doc["findings"]), doc["findings"]
    assert _rule_checks(doc) == {}


@pytest.mark.parametrize(("graph", "exchange", "graph_why", "exchange_why"), [
    (lambda b: {k: v for k, v in b.items() if k != "value"}, lambda b: {**b, "value": None},
     "a collection page without 'value'", "'value' is null, not a list"),
    (lambda b: {**b, "value": "none"}, lambda b: {**b, "value": [1, "x"]},
     "'value' is a string, not a list", "item 0 of 'value' is a number, not an object"),
    (lambda b: {**b, "value": [*b["value"], None]}, lambda b: b["value"],
     "is null, not an object", "a collection page that is a list, not an object"),
], ids=["missing+null", "string+scalars", "null-item+bare-list"])
def test_rules_in_an_unexpected_shape_are_not_checked_never_clean(
        run: Run, graph: Callable[[Any], Any], exchange: Callable[[Any], Any], graph_why: str,
        exchange_why: str) -> None:
    g = run.served.hostile.rewrite("GET", GRAPH_RULES, _page(graph))
    x = run.served.hostile.rewrite("POST", EXCHANGE, _page(exchange), when=_cmdlet("Get-InboxRule"))
    done, doc = _investigate(run)
    assert g.hits == 1 and x.hits == 1
    missing = run.not_collected(doc["case"])
    assert "unexpected shape" in missing["graph_rules"] and graph_why in missing["graph_rules"], missing
    assert "unexpected shape" in missing["exo_rules"] and exchange_why in missing["exo_rules"], missing
    # the rule checks could not run, and the verdict says so: clean only about what was read
    reasons = _rule_checks(doc)
    assert reasons and all("unexpected shape" in r for r in reasons.values()), doc["notChecked"]
    assert done.exit_code == 0 and "check(s) could not run" in done.stdout
    if "missing" in graph_why:  # once is enough: the same not-checked, under --strict
        assert run("investigate", EVA, "--no-follow-actors", "--strict").exit_code == 3


def test_get_mailbox_answering_no_mailbox_is_unreadable_not_none(run: Run) -> None:
    rule = run.served.hostile.rewrite("POST", EXCHANGE, _page(lambda b: {**b, "value": []}),
                                      when=_cmdlet("Get-Mailbox"))
    done, doc = _investigate(run)
    assert rule.hits == 1 and done.exit_code == 1  # the rule is still read and found
    missing = run.not_collected(doc["case"])
    assert "unexpected shape (Get-Mailbox answered 0 objects, not one)" in missing["mailbox"], missing


# ---------------------------------------------------------------------------------------------- bounds
def test_a_self_next_link_is_a_cycle_not_a_loop(run: Run) -> None:
    def self_link(body: Any, request: Request) -> Any:
        return {**body, "@odata.nextLink": f"{run.served.url}{request.url_path}"}

    g = run.served.hostile.rewrite("GET", GRAPH_RULES, self_link)
    x = run.served.hostile.rewrite("POST", EXCHANGE, self_link, when=_cmdlet("Get-InboxRule"))
    done, doc = _investigate(run)
    assert g.hits == 1 and x.hits == 1  # not followed: was ~600 requests a second, forever
    missing = run.not_collected(doc["case"])
    assert "nextLink cycle" in missing["graph_rules"] and "nextLink cycle" in missing["exo_rules"], missing
    assert _rule_checks(doc) and done.exit_code == 0


def test_a_trickling_answer_is_cut_at_the_deadline(run: Run) -> None:
    g = run.served.hostile.add("GET", GRAPH_RULES, trickle(every=0.2))
    x = run.served.hostile.add("POST", EXCHANGE, trickle(b'{"value": [', every=0.2), when=_cmdlet("Get-InboxRule"))
    done, doc = _investigate(run, RECLAIM_REQUEST_DEADLINE="1")
    assert g.hits == 1 and x.hits == 1  # a bound is not retried: the same server would trickle again
    missing = run.not_collected(doc["case"])
    for kind in ("graph_rules", "exo_rules"):
        assert "the request deadline of 1 s exceeded" in missing[kind], missing
    assert _rule_checks(doc) and done.exit_code == 0


def test_a_body_without_end_is_cut_at_the_size_cap(run: Run) -> None:
    g = run.served.hostile.add("GET", GRAPH_RULES, endless())
    x = run.served.hostile.add("POST", EXCHANGE, endless(), when=_cmdlet("Get-InboxRule"))
    done, doc = _investigate(run, RECLAIM_MAX_BODY_MB="2")
    assert g.hits == 1 and x.hits == 1
    missing = run.not_collected(doc["case"])
    for kind in ("graph_rules", "exo_rules"):
        assert "the body size cap of 2 MB" in missing[kind] and "exceeded" in missing[kind], missing
    assert _rule_checks(doc) and done.exit_code == 0


def test_a_page_with_too_many_items_is_refused(run: Run) -> None:
    many = lambda b: {**b, "value": [*b["value"], *({"id": f"r{i}"} for i in range(600))]}  # noqa: E731
    run.served.hostile.rewrite("GET", GRAPH_RULES, _page(many))
    run.served.hostile.rewrite("POST", EXCHANGE, _page(many), when=_cmdlet("Get-InboxRule"))
    done, doc = _investigate(run, RECLAIM_MAX_PAGE_ITEMS="500")
    missing = run.not_collected(doc["case"])
    assert "the cap of 500 items per page" in missing["graph_rules"], missing
    assert _rule_checks(doc) and done.exit_code == 0


# ---------------------------------------------------------------------------------------------- $batch (sweep)
def test_duplicate_batch_ids_are_never_merged(run: Run) -> None:
    """The first rules envelope answers every id twice, the second copy empty ("later one wins" lost the rule):
    the sub-requests are re-sent and Eva's rule is read."""
    def doubled(body: Any, request: Request) -> Any:
        body["responses"] += [{**sub, "body": {"value": []}} for sub in body["responses"]]
        return body

    rule = run.served.hostile.rewrite("POST", r"/\$batch$", doubled, times=1,
                                      when=lambda r: b"/mailFolders/inbox/messageRules" in r.body)
    done = run("sweep", "--no-progress", "--json")
    assert rule.hits == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert EVA in {m["user"] for m in doc["flagged"]} and done.exit_code == 1, doc["flagged"]
    (tenant,) = doc["tenants"]
    assert tenant["incomplete"] == 0, tenant


def test_a_batch_page_in_an_unexpected_shape_leaves_the_mailbox_not_checked(run: Run) -> None:
    def nulled(body: Any, request: Request) -> Any:
        for sub in body["responses"]:
            sub["body"] = {"value": None}
        return body

    run.served.hostile.rewrite("POST", r"/\$batch$", nulled,
                               when=lambda r: b"/mailFolders/inbox/messageRules" in r.body)
    done = run("sweep", "--no-progress", "--json")
    doc = json.loads(done.stdout)
    (tenant,) = doc["tenants"]
    assert EVA not in {m["user"] for m in doc["flagged"]}
    assert tenant["incomplete"] == tenant["mailboxes"] > 0, tenant  # not "complete, nothing found"
    assert run("sweep", "--no-progress", "--strict").exit_code == 3


# ---------------------------------------------------------------------------------------------- tokens
def _issued(run: Run, **changes: Any) -> Callable[[Any, Request], Any]:
    """A token answer recorded (to look for the token in the output) and changed."""
    def change(body: Any, request: Request) -> Any:
        run.served.tokens.append(str(body["access_token"]))
        return {**body, **changes}

    return change


def test_a_nonsensical_token_lifetime_is_a_one_line_error(run: Run) -> None:
    run.served.hostile.rules.clear()
    run.served.hostile.rewrite("POST", r"/oauth2/v2\.0/token$", _issued(run, expires_in="soon"))
    done = run("investigate", EVA)
    assert done.exit_code == 3, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "nonsensical expires_in ('soon')" in errors[0], done.stderr


def test_a_zero_token_lifetime_does_not_fetch_a_token_per_request(run: Run) -> None:
    run.served.hostile.rules.clear()
    rule = run.served.hostile.rewrite("POST", r"/oauth2/v2\.0/token$", _issued(run, expires_in=0))
    done, doc = _investigate(run)
    assert done.exit_code == 1 and doc["verdict"] != "clean"
    assert 1 <= rule.hits <= 4, rule.hits  # one per scope (Graph, Exchange), a refresh at most: was one per request


def _dotnet(text: str) -> str:
    """``text`` as the inside of a JSON string written by System.Text.Json's default encoder (Graph's)."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char in "\"'+<>&`" or not 0x20 <= ord(char) <= 0x7E:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def _case(stdout: str) -> str:
    for word in stdout.replace("(", " ").replace(")", " ").split():
        if word.startswith("c-") and word[2:10].isdigit():
            return word
    raise AssertionError(f"no case id in {stdout[:300]!r}")


def _db_bytes(home: Path) -> bytes:
    """The case store and its WAL / journal files, as written."""
    return b"".join(p.read_bytes() for p in sorted(home.glob("cases.db*")))


# ---------------------------------------------------------------------------------------------- our secrets
def test_a_400_echoing_the_new_password_never_shows_it(tenant: Tenant) -> None:
    sent: list[str] = []

    def echo(request: Request) -> Any:
        body = request.json()
        sent.append(body["passwordProfile"]["password"])
        # the request body repeated in the message, once as Python writes JSON, once as .NET does
        raw = request.body.decode()
        return {"error": {"code": "Request_BadRequest", "message": f"Invalid value in request body: {raw}",
                          "innerError": {"details": _dotnet(raw)}}}

    rule = tenant.hostile.answer("PATCH", r"^/v1\.0/users/[^/]+$", 400, echo,
                                 when=lambda r: b"passwordProfile" in r.body)
    investigated = tenant.run("investigate", ALICE)
    assert investigated.exit_code == 1, investigated.stdout + investigated.stderr
    case = _case(investigated.stdout)
    done = tenant.run("remediate", ALICE, "--apply", "--yes", "--password-file", str(tenant.home / "pw.txt"),
                      "--json")
    assert rule.hits >= 1 and sent, done.stdout + done.stderr
    password = sent[0]
    assert done.exit_code != 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "[redacted]" in done.stdout + done.stderr, done.stdout + done.stderr  # the echo, without the password
    report = tenant.run("report", case, "--format", "all", "--out", str(tenant.home / "reports"))
    assert report.exit_code == 0, report.stdout + report.stderr
    shown = tenant.run("cases", "show", case)
    outputs = {"remediate": done.stdout + done.stderr, "report": report.stdout + report.stderr,
               "cases show": shown.stdout + shown.stderr}
    reports = {p.name: p.read_text() for p in (tenant.home / "reports").iterdir()}
    assert {p.rsplit(".", 1)[-1] for p in reports} >= {"html", "json"}
    journal = _journal_text(tenant.home / "cases.db")
    assert "reset-password" in journal
    for form in {password, json.dumps(password)[1:-1], _dotnet(password)}:
        assert form not in json.dumps(outputs), form
        assert not [name for name, text in reports.items() if form in text], form
        assert form not in journal
        assert form.encode() not in _db_bytes(tenant.home)
    assert not [p for p in tenant.files() if password.encode() in p.read_bytes()]


def _journal_text(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        rows = [repr(row) for t in tables for row in conn.execute(f'select * from "{t}"')]  # noqa: S608
    return "\n".join(rows)


def test_a_trickling_token_endpoint_ends_the_run_in_one_line(run: Run) -> None:
    run.served.tokens.append("never-issued-token-placeholder")  # no token is issued here
    run.served.hostile.rules.clear()
    rule = run.served.hostile.add("POST", r"/oauth2/v2\.0/token$", trickle(b'{"access_token": "', every=0.2))
    done = run("investigate", EVA, RECLAIM_REQUEST_DEADLINE="1")
    assert done.exit_code == 3 and 1 <= rule.hits <= 2, done.stdout + done.stderr  # Graph and Exchange tokens
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "did not answer within the request deadline of 1 s" in errors[0], done.stderr


# ---------------------------------------------------------------------------------------------- remediate, verify
def test_an_unreadable_mailbox_is_never_already_clean_in_remediate_or_verify(tenant: Tenant) -> None:
    """Get-Mailbox answering no mailbox and the Graph rules answering ``value: null``: remove-forwarding used to
    say "already holds" and send nothing (the forwarding to the attacker stayed, exit 0)."""
    investigated = tenant.run("investigate", ALICE, "--no-follow-actors")
    assert investigated.exit_code == 1, investigated.stdout + investigated.stderr
    case = _case(investigated.stdout)
    mailbox = tenant.hostile.rewrite("POST", r"/InvokeCommand$", lambda body, req: {**body, "value": []},
                                     when=lambda req: req.cmdlet == "Get-Mailbox")
    graph = tenant.hostile.rewrite("GET", r"/mailFolders/inbox/messageRules$",
                                   lambda body, req: {**body, "value": None})
    done = tenant.run("remediate", ALICE, "--apply", "--yes", "--password-file", str(tenant.home / "pw.txt"),
                      "--json")
    assert done.exit_code == 3 and mailbox.hits >= 1 and graph.hits >= 1, done.stdout[-2000:] + done.stderr
    outcomes = json.loads(done.stdout)["outcomes"]
    forwarding = [o for o in outcomes if o["action"] == "remove-forwarding"]
    graph_rules = [o for o in outcomes if o["action"] == "disable-inbox-rule" and "through Graph" in o["label"]]
    assert forwarding and graph_rules
    for outcome in forwarding + graph_rules:
        assert outcome["state"] not in ("already", "held", "done"), outcome
        assert "unexpected shape" in outcome["detail"], outcome
    writes = [c for c in tenant.emulator.calls if isinstance(c.body, dict)
              and (c.body.get("CmdletInput") or {}).get("CmdletName") == "Set-Mailbox"]
    assert writes == []  # nothing was changed on an object that was not read
    verified = tenant.run("verify", case, "--json")
    (again,) = [o for o in json.loads(verified.stdout)["outcomes"] if o["action"] == "remove-forwarding"]
    assert again["state"] not in ("already", "held", "done", "skipped"), again  # never "held" on what was not read
    assert verified.exit_code == 3, verified.stdout[-2000:]  # could not read: not a result, never exit 0
