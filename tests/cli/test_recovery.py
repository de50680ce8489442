"""Recovery through the CLI on bec-classic, against the practice tenant over HTTP: hidden mail back in the Inbox,
the attacker's deletions restored, the phishing soft-deleted from colleagues' mailboxes only when chosen; the
look-alikes untouched; a second run writes nothing; verify confirms; undo restores each action's before-state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.emulator import Emulator
from tests.remediate.helpers import Practice, practice, writes

ALICE = "alice.wu@contoso.com"
PHISH = 'Contoso Finance shared "Q4 Statement.pdf" with you'
RECOVERY = ("restore-hidden-mail", "restore-deleted-mail", "purge-sent-mail")


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("recovery"), throttling=False) as p:
        yield p


@pytest.fixture
def env(tenant: Practice, tmp_path: Path) -> dict[str, str]:
    db = tenant.fresh(tmp_path)
    return {"RECLAIM_ENDPOINT": tenant.url, "RECLAIM_DB": str(db), "RECLAIM_OPERATOR": "cli-test", "COLUMNS": "200"}


def where(emulator: Emulator, upn: str) -> dict[str, str]:
    """internetMessageId → the well-known name (or display name) of the folder each message is in."""
    user = emulator.state.find_user(upn)
    assert user is not None
    names = {f["id"]: f.get("wellKnownName") or f["displayName"] for f in user["mailbox"]["folders"]}
    out: dict[str, str] = {}
    for items in user["mailbox"]["messages"].values():
        for m in items:
            out.setdefault(str(m.get("internetMessageId")), names.get(str(m.get("parentFolderId")), "?"))
    return out


def phish_copies(emulator: Emulator) -> dict[str, str]:
    """Colleague → folder of the attacker's phishing in their mailbox."""
    out: dict[str, str] = {}
    for user in emulator.state.iter_mailbox_users():
        names = {f["id"]: f.get("wellKnownName") or f["displayName"] for f in user["mailbox"]["folders"]}
        for items in user["mailbox"]["messages"].values():
            for m in items:
                sender = ((m.get("from") or {}).get("emailAddress") or {}).get("address")
                if m.get("subject") == PHISH and sender == ALICE and user["userPrincipalName"] != ALICE:
                    out[user["userPrincipalName"]] = names[m["parentFolderId"]]
    return out


def legit_copies(emulator: Emulator) -> dict[str, str]:
    """Alice's own mail to colleagues, by internet message id and mailbox → folder."""
    out: dict[str, str] = {}
    for user in emulator.state.iter_mailbox_users():
        if user["userPrincipalName"] == ALICE:
            continue
        for items in user["mailbox"]["messages"].values():
            for m in items:
                sender = ((m.get("from") or {}).get("emailAddress") or {}).get("address")
                if sender == ALICE and m.get("subject") != PHISH:
                    out[f"{user['userPrincipalName']}|{m['internetMessageId']}"] = str(m["parentFolderId"])
    return out


def _run(env: dict[str, str], *args: str, code: int = 0, stdin: str | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.output}"
    text = result.stdout
    return json.loads(text[text.index("{"):]) if "--json" in args else text


def test_plan_lists_every_message_and_mailbox(tenant: Practice, env: dict[str, str]) -> None:
    plan = _run(env, "remediate", ALICE, "--plan", "--json")
    chosen = {s["action"] for s in plan["steps"]}
    assert {"restore-hidden-mail", "restore-deleted-mail"} <= chosen and "purge-sent-mail" not in chosen
    offered = [s for s in plan["offered"] if s["action"] == "purge-sent-mail"]
    truth = tenant.truth["users"][ALICE]
    assert len(offered) == 1 and offered[0]["reversible"] and offered[0]["needs"].startswith("Mail.ReadWrite")
    copies = offered[0]["params"]["copies"]
    assert sorted(c["mailbox"] for c in copies) == sorted(tenant.truth["indicators"]["internalRecipients"])
    for c in copies:  # every other person's mailbox and message, item by item
        assert c["mailbox"] in offered[0]["label"] and c["internetMessageId"] in offered[0]["label"]
    assert "other people's mailboxes" in offered[0]["label"]
    deleted = {s["target"]: s for s in plan["steps"] if s["action"] == "restore-deleted-mail"}
    assert set(deleted) == set(truth["recovery"]["restored"])
    assert all(s["params"]["mailbox"] == ALICE and s["params"]["folder"] == "Inbox" for s in deleted.values())
    purged = deleted[truth["recovery"]["purged"][0]]
    assert purged["params"]["source"] == "exchange" and "Restore-RecoverableItems" in purged["label"]
    assert not purged["reversible"] and "does not delete it again" in purged["undo"]
    hidden = [s for s in plan["steps"] if s["action"] == "restore-hidden-mail"]
    assert {s["params"]["folderName"] for s in hidden} >= {"RSS Feeds", "Deleted Items"}


def test_apply_verify_rerun_undo(tenant: Practice, env: dict[str, str]) -> None:
    em = tenant.emulator
    truth = tenant.truth["users"][ALICE]["recovery"]
    before_alice, before_phish, before_legit = where(em, ALICE), phish_copies(em), legit_copies(em)
    assert set(before_phish.values()) == {"inbox"}
    report = _run(env, "remediate", ALICE, "--apply", "--yes", "--only", ",".join(RECOVERY), "--include",
                  "purge-sent-mail", "--json")
    states = {(o["action"], o["target"]): o["state"] for o in report["outcomes"]}
    assert report["ok"], states
    after = where(em, ALICE)
    for imid, folder in truth["restored"].items():
        assert after[imid] == folder
    for imid in truth["keepDeleted"]:
        assert after[imid] == before_alice[imid] != "inbox"  # her own deletions stay deleted
    for imid in truth["keepInRss"]:
        assert after[imid] == "RSS Feeds"
    rss = [i for i, f in before_alice.items() if f == "RSS Feeds" and i not in truth["keepInRss"]]
    assert len(rss) == 4 and all(after[i] == "inbox" for i in rss)
    warnings = [i for i, f in before_alice.items() if f == "deleteditems" and after[i] == "inbox"]
    assert len(warnings) >= 3  # the warnings the hidden rule deleted (and the notice the attacker moved)
    assert phish_copies(em) == {u: "recoverableitemsdeletions" for u in before_phish}
    assert legit_copies(em) == before_legit  # her legitimate mail to the same colleagues: untouched

    em.calls.clear()
    again = _run(env, "remediate", ALICE, "--apply", "--yes", "--only", ",".join(RECOVERY), "--include",
                 "purge-sent-mail", "--json")
    assert {o["state"] for o in again["outcomes"]} == {"already"} and writes(em) == []

    case_id = report["case"]
    verified = _run(env, "verify", case_id, "--json")
    assert {o["state"] for o in verified["outcomes"]} == {"held"}

    for action in RECOVERY:
        text = _run(env, "undo", case_id, action, "--yes")
        if action == "restore-deleted-mail":
            assert "does not delete it again" in " ".join(text.split())
    # the hard-deleted message restored from Purges is not deleted again (not undoable, and said so)
    purged = truth["purged"][0]
    assert purged not in before_alice and where(em, ALICE) == {**before_alice, purged: "inbox"}
    assert phish_copies(em) == before_phish and legit_copies(em) == before_legit


def test_report_lists_the_people_to_notify(tenant: Practice, env: dict[str, str], tmp_path: Path) -> None:
    import csv

    import jsonschema

    from reclaim.report import schema

    case_id = tenant.cases[ALICE]
    _run(env, "report", case_id, "--format", "all", "--out", str(tmp_path / "out"), "--tz", "UTC")
    doc = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema()).validate(doc)
    external = doc["notify"]["external"]
    assert len(external) == 116 and all(not r["address"].endswith("@contoso.com") for r in external)
    assert {r["subject"] for r in external} == {PHISH}
    assert sorted(r["address"] for r in doc["notify"]["internal"]) == sorted(
        tenant.truth["indicators"]["internalRecipients"])
    assert {r["copy"] for r in doc["notify"]["internal"]} == {"not removed (offered: purge-sent-mail)"}
    rows = list(csv.DictReader((tmp_path / "out" / "notify.csv").read_text(encoding="utf-8").splitlines()))
    assert [r["recipient"] for r in rows] == [r["address"] for r in external]
    assert all(r["account"] and r["time"] and r["subject"] == PHISH for r in rows)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="notify"' in html and external[0]["address"] in html
    assert "## People to notify" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
