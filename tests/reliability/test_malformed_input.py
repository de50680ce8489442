"""Malformed input, hypothesis-generated: fixtures, rule exports (CSV), config files (TOML), CLI arguments, UPNs,
tenant ids. Each is refused with one clear error line and exit 2, no traceback, and nothing written: the config
file and the case store are byte for byte what they were, and no file appears. In-process (CliRunner) for
speed, and a few through the installed console script."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reclaim.cli.common import check_upn
from reclaim.cli.main import app
from reclaim.emulator import Emulator
from reclaim.emulator.fixture import FixtureError
from reclaim.errors import BadInput
from reclaim.store import Store

RECLAIM = str(Path(sys.executable).with_name("reclaim"))
DEAD_ENDPOINT = "http://127.0.0.1:9"  # nothing listens: a command that got past validation would fail with 3
GOOD_CONFIG = """default = "contoso"

[tenants.contoso]
tenant_id = "8f3c1d2e-4b5a-4c6d-9e7f-0a1b2c3d4e5f"
auth = "secret"
client_id = "11111111-2222-3333-4444-555555555555"
secret_env = "CONTOSO_SECRET"
"""
FAST = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
COUNT: dict[str, int] = {}


class Home:
    """A private config file and case store; ``snapshot()`` is every file under it, with a hash of its bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "config.toml"
        self.db = root / "cases.db"
        self.config.write_text(GOOD_CONFIG)
        self.config.chmod(0o600)
        Store(str(self.db)).close()  # an existing store (schema, no case): refused input must leave it as is

    def env(self, **extra: str) -> dict[str, str]:
        return {"RECLAIM_CONFIG": str(self.config), "RECLAIM_DB": str(self.db), "RECLAIM_ENDPOINT": "",
                "RECLAIM_TENANT": "", "COLUMNS": "200", **extra}

    def snapshot(self) -> dict[str, str]:
        """Every file's bytes, but the store's: its content (SQLite's -wal / -shm files come and go)."""
        out = {str(p.relative_to(self.root)): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in sorted(self.root.rglob("*")) if p.is_file() and not p.name.startswith("cases.db")}
        with closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as db:
            out["cases.db (content)"] = hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()
        return out


@pytest.fixture(scope="module")
def home() -> Iterator[Home]:
    with tempfile.TemporaryDirectory(prefix="reclaim-malformed-") as root:
        yield Home(Path(root))


def refused(home: Home, args: list[str], *, kind: str, env: dict[str, str] | None = None,
            allow: tuple[int, ...] = ()) -> int:
    """Run ``reclaim args``; unless it exits with one of ``allow``, it must be refused: exit 2, one error line,
    no traceback, nothing written."""
    COUNT[kind] = COUNT.get(kind, 0) + 1
    before = home.snapshot()
    result = CliRunner().invoke(app, args, env=home.env(**(env or {})))
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert home.snapshot() == before, f"{args}: files changed"
    if result.exit_code in allow:
        return result.exit_code
    assert result.exit_code == 2, (args, result.exit_code, result.stdout[-300:], result.stderr[-300:])
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    return 2


# ---------------------------------------------------------------------------------------------- UPNs
def _not_a_upn(text: str) -> bool:
    try:
        check_upn(text)
    except BadInput:
        return True
    return False


UPNS = st.one_of(
    st.text(max_size=60),
    st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=20), st.text(max_size=20)),
    st.sampled_from(["a/b@contoso.com", "x@y/../../me", "a@b@c", "@contoso.com", "alice@", "a b@contoso.com",
                     "alice@contoso.com?$select=id", "a\x1b[2J@contoso.com", "a%2Fb@contoso.com", "a@-x.com",
                     "a@x..com", "alice@contoso.com\n", "\u202ealice@contoso.com\x00"]),
).filter(lambda s: "\x00" not in s or True)


@FAST
@given(upn=UPNS)
def test_bad_upns_are_refused(home: Home, upn: str) -> None:
    assume(_not_a_upn(upn))
    assume(not upn.startswith("-"))  # an option, for click
    refused(home, ["investigate", upn, "--endpoint", DEAD_ENDPOINT], kind="upn")


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(upn=UPNS)
def test_bad_upns_are_refused_by_remediate(home: Home, upn: str) -> None:
    assume(_not_a_upn(upn) and not upn.startswith("-") and upn.strip())
    refused(home, ["remediate", upn, "--plan", "--endpoint", DEAD_ENDPOINT], kind="upn")


# ---------------------------------------------------------------------------------------------- tenant ids
GUIDISH = st.from_regex(r"\A[0-9a-fA-FxZ-]{30,40}\Z", fullmatch=True)
TENANT_IDS = st.one_of(st.text(min_size=1, max_size=80), GUIDISH,
                       st.sampled_from(["contoso", "-contoso.com", "contoso..com", "contoso.com.", "a_b.com",
                                        "8f3c1d2e-4b5a-4c6d-9e7f-0a1b2c3d4e5", "http://contoso.com",
                                        "contoso.com/../x", "c\u043entoso.com", "x" * 300 + ".com"]))


@FAST
@given(tenant_id=TENANT_IDS)
def test_bad_tenant_ids_are_refused_and_the_config_is_untouched(home: Home, tenant_id: str) -> None:
    from reclaim.config import _DOMAIN, _GUID

    assume(not (_GUID.match(tenant_id) or _DOMAIN.match(tenant_id)))
    assume(not tenant_id.startswith("-"))
    refused(home, ["tenant", "add", "fabrikam", "--tenant-id", tenant_id, "--client-id",
                   "11111111-2222-3333-4444-555555555555", "--secret-env", "FABRIKAM_SECRET"], kind="tenant id")


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(client_id=st.text(min_size=1, max_size=50), name=st.text(min_size=1, max_size=70))
def test_bad_client_ids_and_names_are_refused(home: Home, client_id: str, name: str) -> None:
    from reclaim.config import _GUID, _NAME

    assume(not _GUID.match(client_id) or not _NAME.match(name))
    assume(not client_id.startswith("-") and not name.startswith("-"))
    refused(home, ["tenant", "add", name, "--tenant-id", "fabrikam.com", "--client-id", client_id,
                   "--secret-env", "FABRIKAM_SECRET"], kind="tenant id")


# ---------------------------------------------------------------------------------------------- config files
SCALARS = st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.floats(allow_nan=False),
                    st.lists(st.text(max_size=5), max_size=3))
TENANT_TABLE = st.dictionaries(
    st.sampled_from(["tenant_id", "client_id", "auth", "secret_env", "secret_keyring", "certificate", "endpoint",
                     "ca_bundle", "color", "secret"]), SCALARS, max_size=6)
CONFIGS = st.one_of(
    st.builds(lambda t, d: tomli_w.dumps({"tenants": t, **d}),
              st.dictionaries(st.text(min_size=1, max_size=12), st.one_of(TENANT_TABLE, SCALARS), min_size=1,
                              max_size=3),
              st.dictionaries(st.sampled_from(["default", "version", "tenant"]), SCALARS, max_size=2)),
    st.text(max_size=200),
    st.sampled_from(["[tenants", "default = ", "tenants = 3", "[tenants.x]\ntenant_id = 1", "\x00\xff",
                     "[tenants.contoso]\nauth = \"secret\"\ntenant_id = \"contoso.com\"\nclient_id = \"x\""]),
)


@FAST
@given(text=CONFIGS)
def test_malformed_config_files(text: str) -> None:
    with tempfile.TemporaryDirectory() as root:
        home = Home(Path(root))
        home.config.write_text(text, encoding="utf-8", errors="surrogateescape")
        home.config.chmod(0o600)
        # a valid file (hypothesis can write one) is listed; anything else: one line, exit 2, file untouched
        refused(home, ["tenant", "list"], kind="config", allow=(0,))


# ---------------------------------------------------------------------------------------------- fixtures
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=3), max_leaves=8)
USER = st.fixed_dictionaries({}, optional={
    "id": JSON_VALUES, "userPrincipalName": st.one_of(st.text(max_size=20), JSON_VALUES),
    "displayName": JSON_VALUES, "accountEnabled": JSON_VALUES,
    "mailbox": st.one_of(JSON_VALUES, st.fixed_dictionaries({}, optional={
        "inboxRules": JSON_VALUES, "folders": JSON_VALUES, "sweepRules": JSON_VALUES, "forwardingSmtpAddress":
        JSON_VALUES, "permissions": JSON_VALUES, "messages": JSON_VALUES})),
    "authenticationMethods": JSON_VALUES, "oauth2PermissionGrants": JSON_VALUES, "risk": JSON_VALUES})
FIXTURES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries({}, optional={
        "tenant": st.one_of(JSON_VALUES, st.fixed_dictionaries({}, optional={
            "id": JSON_VALUES, "domains": JSON_VALUES, "settings": JSON_VALUES})),
        "users": st.one_of(JSON_VALUES, st.lists(USER, max_size=3)),
        "apps": JSON_VALUES, "signIns": JSON_VALUES, "blockedSenders": JSON_VALUES, "servicePrincipals": JSON_VALUES,
        "auditRecords": JSON_VALUES, "transportRules": JSON_VALUES}),
)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(fixture=FIXTURES)
def test_fixtures_load_or_fail_with_a_fixture_error(fixture: Any) -> None:
    """Whatever the document, the emulator loads it or says what is wrong and where: never another exception."""
    COUNT["fixture"] = COUNT.get("fixture", 0) + 1
    try:
        Emulator(fixture if isinstance(fixture, dict) else {"users": fixture})
    except FixtureError as exc:
        assert exc.reason


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fixture=FIXTURES, raw=st.one_of(st.none(), st.binary(max_size=40)))
def test_bad_fixture_files_are_refused_by_serve(home: Home, fixture: Any, raw: bytes | None) -> None:
    data = raw if raw is not None else json.dumps(fixture).encode()
    if raw is None:
        try:  # a valid fixture would start a server: only the refused ones are run
            Emulator(fixture) if isinstance(fixture, dict) else None
        except FixtureError:
            pass
        else:
            assume(not isinstance(fixture, dict))
    else:
        try:
            document = json.loads(raw)
        except ValueError:
            document = None
        assume(not isinstance(document, dict))
    with tempfile.TemporaryDirectory() as other:
        path = Path(other) / "fixture.json"
        path.write_bytes(data)
        refused(home, ["emulator", "serve", "--fixture", str(path), "--port", "1"], kind="fixture")


# ---------------------------------------------------------------------------------------------- exports (CSV)
HEADERS = ["MailboxOwnerId", "Name", "Enabled", "Priority", "RuleIdentity", "ForwardTo", "DeleteMessage",
           "UserName", "RuleName", "MoveToFolder", "IsHidden", "Description"]
CELL = st.one_of(st.text(max_size=12), st.sampled_from(["True", "False", "", "yes", "1", "=1+1", "\x00", '"']))
EXPORTS = st.one_of(
    st.binary(max_size=120),
    st.builds(lambda head, rows: "\r\n".join(",".join(r) for r in [head, *rows]).encode("utf-8", "surrogatepass"),
              st.lists(st.sampled_from(HEADERS), min_size=1, max_size=7),
              st.lists(st.lists(CELL, max_size=8), max_size=4)),
)


@settings(max_examples=50, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=EXPORTS)
def test_malformed_exports(home: Home, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as other:
        path = Path(other) / "rules.csv"
        path.write_bytes(data)
        refused(home, ["analyze", "rules", str(path), "--domain", "contoso.com"], kind="export", allow=(0, 1))


# ---------------------------------------------------------------------------------------------- other arguments
ARGUMENTS = [
    ["investigate", "alice@contoso.com", "--since", "yesterday-ish", "--endpoint", DEAD_ENDPOINT],
    ["investigate", "alice@contoso.com", "--since", "99999999d", "--endpoint", DEAD_ENDPOINT],
    ["investigate", "alice@contoso.com", "--since", "2999-01-01", "--endpoint", DEAD_ENDPOINT],
    ["investigate", "alice@contoso.com", "--endpoint", "ftp://127.0.0.1/"],
    ["investigate", "alice@contoso.com", "--endpoint", "http://203.0.113.7:8443"],
    ["investigate", "alice@contoso.com", "--endpoint", "not a url"],
    ["investigate", "alice@contoso.com", "--tenant", "nope"],
    ["hunt", "--ioc", "colour:blue", "--endpoint", DEAD_ENDPOINT],
    ["hunt", "--ioc", "ip:999.1.1.1", "--endpoint", DEAD_ENDPOINT],
    ["hunt", "--endpoint", DEAD_ENDPOINT],
    ["report", "c-20261127-0001", "--format", "pdf"],
    ["report", "c-20261127-0001", "--tz", "Mars/Olympus"],
    ["report", "not-a-case"],
    ["cases", "show", "c-99999999-9999"],
    ["remediate", "--resume", "c-99999999-9999", "--endpoint", DEAD_ENDPOINT],
    ["remediate", "alice@contoso.com", "--only", "reboot-the-internet", "--endpoint", DEAD_ENDPOINT],
    ["emulator", "serve", "--faults", "418=0.5"],
    ["emulator", "serve", "--faults", "429=2"],
    ["emulator", "serve", "--host", "0.0.0.0"],
    ["emulator", "serve", "--host", "192.0.2.1"],
    ["emulator", "serve", "--scenario", "nope"],
    ["analyze", "rules", "/nonexistent/rules.csv", "--domain", "contoso.com"],
    ["analyze", "rules", "/dev/null", "--domain", "not a domain"],
    ["tenant", "add", "x", "--tenant-id", "contoso.com", "--secret-env", "the actual secret value!"],
    ["tenant", "add", "x", "--tenant-id", "contoso.com", "--client-id", "11111111-2222-3333-4444-555555555555",
     "--endpoint", "http://203.0.113.7/", "--secret-env", "X"],
    ["tenant", "remove", "does-not-exist"],
]


@pytest.mark.parametrize("args", ARGUMENTS, ids=lambda a: " ".join(a)[:60])
def test_bad_arguments(home: Home, args: list[str]) -> None:
    refused(home, args, kind="argument")


@pytest.mark.parametrize("args", [
    ["investigate", "a/b@contoso.com", "--endpoint", DEAD_ENDPOINT],
    ["tenant", "add", "x", "--tenant-id", "contoso..com", "--client-id", "11111111-2222-3333-4444-555555555555",
     "--secret-env", "X"],
    ["emulator", "serve", "--host", "0.0.0.0"],
    ["investigate", "alice@contoso.com", "--endpoint", "http://203.0.113.7:8443"],
])
def test_the_console_script_refuses_in_one_line(home: Home, args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_")}
    env.update(home.env())
    before = home.snapshot()
    done = subprocess.run([RECLAIM, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert home.snapshot() == before


def test_enough_cases_ran() -> None:
    """Runs last in this module (file order): at least 200 malformed inputs were tried."""
    print(f"\nmalformed inputs tried: {sum(COUNT.values())} {COUNT}")
    assert sum(COUNT.values()) >= 200, COUNT
