"""``reclaim investigate`` end to end: the JSON document of DESIGN.md, exit codes, one-line errors."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import free_port, serve_in_thread

ARTIFACT_TYPES = {"inboxRule", "sweepRule", "mailboxForwarding", "signIn", "directoryAudit", "authenticationMethod",
                  "oauth2PermissionGrant", "mailboxPermission", "recipientPermission", "mobileDevice",
                  "blockedSender", "sentItemsGap", "automaticReplies", "transportRule", "riskyUser", "user",
                  "messageTrace", "auditRecord", "sharingLink", "fileActivity", "sharingPolicy", "deletedMail",
                  "sentMail"}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    fixture = copy.deepcopy(load_scenario("bec-classic"))
    fixture["tenant"]["settings"]["throttling"] = {"enabled": False}
    with serve_in_thread(Emulator(fixture)) as base:
        yield base


def run(*args: str, db: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["investigate", *args, "--db", str(db)])
    return result.exit_code, result.stdout, result.stderr


def test_json_document_and_exit_1_for_a_compromised_user(url: str, tmp_path: Path) -> None:
    code, out, _ = run("alice.wu@contoso.com", "--json", "--endpoint", url, db=tmp_path / "c.db")
    assert code == 1
    doc = json.loads(out)
    assert doc["verdict"] == "compromised"
    assert doc["user"]["userPrincipalName"] == "alice.wu@contoso.com"
    assert doc["case"].startswith("c-")
    assert isinstance(doc["notChecked"], list)
    for finding in doc["findings"]:
        assert finding["severity"] in {"info", "low", "medium", "high", "critical"}
        assert finding["artifact"]["type"] in ARTIFACT_TYPES and finding["artifact"]["id"]
        assert finding["check"] and finding["title"]


def test_clean_user_exits_0_and_terminal_output_names_the_case(url: str, tmp_path: Path) -> None:
    code, out, _ = run("ben.carter@contoso.com", "--endpoint", url, db=tmp_path / "c.db")
    assert code == 0, out
    assert "clean" in out and "case c-" in out
    assert "reclaim report c-" in out and "reclaim remediate" not in out  # nothing to remediate
    assert "suspicious window from" not in out  # said once, in words, by the analysis


def test_a_compromised_user_ends_with_what_to_run_next(url: str, tmp_path: Path) -> None:
    code, out, _ = run("alice.wu@contoso.com", "--endpoint", url, db=tmp_path / "c.db")
    assert code == 1, out
    tail = out[out.index("\nnext\n"):]
    assert "reclaim remediate alice.wu@contoso.com" in tail and "reclaim hunt c-" in tail


@pytest.mark.parametrize("bad", ["not-a-upn", "a b@contoso.com", "@contoso.com"])
def test_bad_upn_is_one_line_exit_2(url: str, tmp_path: Path, bad: str) -> None:
    code, out, err = run(bad, "--endpoint", url, db=tmp_path / "c.db")
    assert code == 2
    assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


def test_unknown_user_exit_2(url: str, tmp_path: Path) -> None:
    code, _, err = run("nobody@contoso.com", "--endpoint", url, db=tmp_path / "c.db")
    assert code == 2 and "no user" in err


def test_unreachable_tenant_exit_3(tmp_path: Path) -> None:
    code, _, err = run("alice.wu@contoso.com", "--endpoint", f"http://127.0.0.1:{free_port()}", db=tmp_path / "c.db")
    assert code == 3
    assert err.strip().startswith("error:") and "Traceback" not in err


def test_bad_since_exit_2(url: str, tmp_path: Path) -> None:
    code, _, err = run("alice.wu@contoso.com", "--since", "yesterday", "--endpoint", url, db=tmp_path / "c.db")
    assert code == 2 and "--since" in err


def test_the_admin_who_changed_the_tenant_is_investigated_too(tmp_path: Path) -> None:
    """admin-takeover: a clean user's investigation names the admin who made the tenant's forwarding rule and
    investigates that account in a case of its own (compromised); the user stays clean; exit 1, because the
    tenant shows compromise. ``--no-follow-actors`` only names the account and says what to run."""
    fixture = copy.deepcopy(load_scenario("admin-takeover"))
    fixture["tenant"]["settings"]["throttling"] = {"enabled": False}
    actor = fixture["scenarioTruth"]["tenant"]["actor"]
    with serve_in_thread(Emulator(fixture)) as base:
        code, out, _ = run("nancy.davolio@northwind.com", "--json", "--endpoint", base, db=tmp_path / "c.db")
        assert code == 1, out
        doc = json.loads(out)
        assert doc["verdict"] == "clean" and doc["tenant"]["verdict"] == "compromised"
        followed = [a for a in doc["tenant"]["actors"] if a["user"] == actor]
        assert followed and all(a["investigation"]["verdict"] == "compromised" for a in followed)
        assert followed[0]["investigation"]["case"] != doc["case"]

        code, text, _ = run("nancy.davolio@northwind.com", "--endpoint", base, db=tmp_path / "c.db")
        assert code == 1 and f"investigated {actor}: compromised" in " ".join(text.split())

        code, text, _ = run("nancy.davolio@northwind.com", "--no-follow-actors", "--endpoint", base,
                            db=tmp_path / "c.db")
        assert f"next: reclaim investigate {actor}" in " ".join(text.split())
        assert "investigated " not in text
