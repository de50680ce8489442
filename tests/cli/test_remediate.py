"""``reclaim remediate`` / ``verify`` / ``undo`` / ``restore-access`` through the CLI, against the practice
tenant over HTTP: the plan changes nothing, --apply asks for the UPN, the password goes to a 0600 file only,
exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.remediate import generate_password
from reclaim.store import Store
from tests.remediate.helpers import Practice, practice, tenant_view, writes

ALICE = "alice.wu@contoso.com"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("cli"), throttling=False) as p:
        yield p


@pytest.fixture
def env(tenant: Practice, tmp_path: Path) -> dict[str, str]:
    db = tenant.fresh(tmp_path)
    return {"RECLAIM_ENDPOINT": tenant.url, "RECLAIM_DB": str(db), "RECLAIM_OPERATOR": "cli-test", "COLUMNS": "200"}


def test_plan_changes_nothing(tenant: Practice, env: dict[str, str]) -> None:
    tenant.emulator.calls.clear()
    result = CliRunner().invoke(app, ["remediate", ALICE, "--plan", "--json"], env=env)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["case"] == tenant.cases[ALICE] and plan["verdict"] == "compromised"
    assert [s["phase"] for s in plan["steps"]][:3] == ["contain"] * 3
    assert all(s["reason"]["check"] and "reversible" in s and s["needs"] for s in plan["steps"])
    assert writes(tenant.emulator) == [] and not tenant.emulator.calls  # the plan works from the stored case
    text = CliRunner().invoke(app, ["remediate", ALICE], env=env)
    assert text.exit_code == 0 and "contain" in text.stdout and "because" in text.stdout and "undo:" in text.stdout


def test_apply_asks_for_the_upn(tenant: Practice, env: dict[str, str], tmp_path: Path) -> None:
    before = tenant_view(tenant.emulator, ALICE)
    refused = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--password-file", str(tmp_path / "pw")],
                                 env=env, input="bob@contoso.com\n")
    assert refused.exit_code == 2 and "not confirmed (typed 'bob@contoso.com', not" in refused.output
    assert "nothing was changed" in refused.output
    # EOF at the prompt (Ctrl-C there takes the same path: click's Abort): exit 2, one line, not "Aborted!"
    eof = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--password-file", str(tmp_path / "pw")],
                             env=env, input="")
    assert eof.exit_code == 2 and "not confirmed (no answer): nothing was changed" in eof.output, eof.output
    assert "Aborted" not in eof.output
    assert tenant_view(tenant.emulator, ALICE) == before
    # no terminal and no --password-file: refused before anything changes
    no_tty = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes"], env=env)
    assert no_tty.exit_code == 2 and "--password-file" in no_tty.output
    assert tenant_view(tenant.emulator, ALICE) == before


def test_apply_verify_undo_restore(tenant: Practice, env: dict[str, str], tmp_path: Path) -> None:
    pw = tmp_path / "new-password"
    done = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--password-file", str(pw), "--json"], env=env,
                              input=ALICE.upper() + "\n")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["ok"] and report["passwordDelivery"] == f"file {pw}"
    password = pw.read_text().strip()
    assert len(password) >= 16 and oct(pw.stat().st_mode & 0o777) == "0o600"
    assert password not in done.output
    assert tenant_view(tenant.emulator, ALICE)["accountEnabled"] is False
    case_id = report["case"]

    # on the terminal, a pending unblock ends with the command that checks it again, in the one wording
    shown = CliRunner().invoke(app, ["verify", case_id], env=env)
    tail = shown.stdout[shown.stdout.index("\nnext\n"):]
    assert f"reclaim verify {case_id} --wait 24h" in tail and "usually within 1 hour, at most 24 hours" in tail

    # an idempotent re-run needs no terminal nor password file: the reset is not made again
    rerun = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--json"], env=env)
    assert rerun.exit_code == 0, rerun.output
    assert {o["state"] for o in json.loads(rerun.stdout)["outcomes"]} <= {"already", "pending"}

    verified = CliRunner().invoke(app, ["verify", case_id, "--json"], env=env)
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["chain"]["ok"]

    undone = CliRunner().invoke(app, ["undo", case_id, "remove-forwarding", "--yes"], env=env)
    assert undone.exit_code == 0, undone.output
    assert tenant_view(tenant.emulator, ALICE)["forwarding"][0]
    broken = CliRunner().invoke(app, ["verify", case_id], env=env)
    assert broken.exit_code == 0  # an undone step is reported as undone, not as "did not hold"
    assert "undone" in broken.stdout

    restored = CliRunner().invoke(app, ["restore-access", ALICE, "--yes"], env=env)
    assert restored.exit_code == 0, restored.output
    assert tenant_view(tenant.emulator, ALICE)["accountEnabled"] is True
    with Store(env["RECLAIM_DB"]) as store:
        journal = store.journal(case_id)
        assert store.verify_chain(case_id).ok
    assert {e.operator for e in journal} == {"cli-test"}
    assert password not in repr(journal)


def test_undo_and_restore_access_ask_first(tenant: Practice, env: dict[str, str]) -> None:
    case_id = tenant.cases[ALICE]
    tenant.emulator.calls.clear()
    undo = CliRunner().invoke(app, ["undo", case_id], env=env, input="n\n")
    assert undo.exit_code == 2, undo.output
    assert "not confirmed (answered no): nothing was changed" in undo.output
    assert f"Undo the remediation of {ALICE} (every step)? [y/N]" in undo.output
    restore = CliRunner().invoke(app, ["restore-access", ALICE], env=env, input="n\n")
    assert restore.exit_code == 2, restore.output
    eof = CliRunner().invoke(app, ["undo", case_id], env=env, input="")
    assert eof.exit_code == 2 and "no answer" in eof.output and "Aborted" not in eof.output
    assert "caution: reclaim did not reset the password" in restore.output
    assert f"Re-enable sign-in for {ALICE}? [y/N]" in restore.output
    assert not tenant.emulator.calls  # a no: not even a sign-in
    with Store(env["RECLAIM_DB"]) as store:
        assert store.journal(case_id) == []


def test_usage_errors(env: dict[str, str]) -> None:
    assert CliRunner().invoke(app, ["remediate"], env=env).exit_code == 2
    assert CliRunner().invoke(app, ["remediate", "not-a-upn", "--plan"], env=env).exit_code == 2
    assert CliRunner().invoke(app, ["remediate", ALICE, "--only", "nuke"], env=env).exit_code == 2
    assert CliRunner().invoke(app, ["remediate", "--resume", "c-19990101-0001"], env=env).exit_code == 2
    assert CliRunner().invoke(app, ["verify", "c-19990101-0001"], env=env).exit_code == 2


def test_generated_passwords() -> None:
    seen = {generate_password() for _ in range(200)}
    assert len(seen) == 200
    for p in seen:
        assert len(p) == 20
        assert any(c.islower() for c in p) and any(c.isupper() for c in p)
        assert any(c.isdigit() for c in p) and any(not c.isalnum() for c in p)


def test_password_file_through_a_symlink_is_refused_before_any_change(tenant: Practice, env: dict[str, str],
                                                                      tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    link = tmp_path / "pw-link"
    link.symlink_to(target)
    before = tenant_view(tenant.emulator, ALICE)
    result = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file", str(link)], env=env)
    assert result.exit_code == 2 and "password file" in result.output
    assert tenant_view(tenant.emulator, ALICE) == before
    assert target.read_text() == ""


def test_fresh_investigates_again(tenant: Practice, env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["remediate", ALICE, "--fresh", "--plan", "--json"], env=env)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["case"] != tenant.cases[ALICE] and plan["verdict"] == "compromised"
    both = CliRunner().invoke(app, ["remediate", ALICE, "--fresh", "--case", plan["case"]], env=env)
    assert both.exit_code == 2


def test_case_names_its_subject(tenant: Practice, env: dict[str, str], tmp_path: Path) -> None:
    """Reproduction: alice's case used for pat.kim blocked, signed out and reset alice; a hunt or sweep case was
    planned for "endpoint". Now each is refused before anything is sent."""
    with Store(env["RECLAIM_DB"]) as store:
        hunt = store.create_case("hunt", "contoso.com", tenant="contoso.com").id
        sweep = store.create_case("sweep", "contoso.com", tenant="contoso.com").id
    tenant.emulator.calls.clear()
    pw = str(tmp_path / "pw")
    wrong = CliRunner().invoke(app, ["remediate", "pat.kim@contoso.com", "--case", tenant.cases[ALICE], "--apply",
                                     "--yes", "--password-file", pw], env=env)
    assert wrong.exit_code == 2, wrong.output
    assert f"investigation of {ALICE}, not of pat.kim@contoso.com" in wrong.output
    for other in (hunt, sweep):
        refused = CliRunner().invoke(app, ["remediate", "mark.davis@contoso.com", "--case", other, "--plan"],
                                     env=env)
        assert refused.exit_code == 2, refused.output
        assert "not an investigation" in refused.output and "reclaim investigate mark.davis@contoso.com" in \
            refused.output
    restore = CliRunner().invoke(app, ["restore-access", "pat.kim@contoso.com", "--case", tenant.cases[ALICE],
                                       "--yes"], env=env)
    assert restore.exit_code == 2, restore.output
    assert not tenant.emulator.calls  # nothing sent, not even a sign-in
    # the right subject (any case) still plans
    ok = CliRunner().invoke(app, ["remediate", ALICE.upper(), "--case", tenant.cases[ALICE], "--plan"], env=env)
    assert ok.exit_code == 0, ok.output


def test_include_not_offered_and_contain_needs_the_typed_upn(tenant: Practice, env: dict[str, str],
                                                            tmp_path: Path) -> None:
    """Reproduction: `--include block-sign-in` on a clean user was dropped without a word (exit 0)."""
    ben = "ben.carter@contoso.com"
    with Store(env["RECLAIM_DB"]) as store:
        case_id = store.create_case("investigate", ben, tenant="contoso.com").id
        found = tenant.emulator.state.find_user(ben)
        assert found is not None
        store.set_verdict(case_id, "clean", summary={"verdict": "clean",
                                                      "user": {"id": found["id"], "userPrincipalName": ben}})
    tenant.emulator.calls.clear()
    pw = str(tmp_path / "pw")
    dropped = CliRunner().invoke(app, ["remediate", ben, "--include", "block-sign-in", "--apply", "--yes",
                                       "--password-file", pw], env=env)
    assert dropped.exit_code == 2, dropped.output
    assert "block-sign-in: not offered" in dropped.output and "verdict is clean" in dropped.output
    assert "--contain" in dropped.output
    planned = CliRunner().invoke(app, ["remediate", ben, "--include", "block-sign-in"], env=env)
    assert planned.exit_code == 0 and "block-sign-in: not offered" in planned.output
    # --contain plans containment, but --yes does not stand for the typed UPN
    no_upn = CliRunner().invoke(app, ["remediate", ben, "--contain", "--apply", "--yes", "--password-file", pw],
                                env=env, input="\n")
    assert no_upn.exit_code == 2 and "verdict of ben.carter@contoso.com is clean" in no_upn.output, no_upn.output
    assert not tenant.emulator.calls
    plan = CliRunner().invoke(app, ["remediate", ben, "--contain", "--plan", "--json"], env=env)
    assert {"block-sign-in", "revoke-sessions", "reset-password"} <= {s["action"] for s in
                                                                       json.loads(plan.stdout)["steps"]}
    contained = CliRunner().invoke(app, ["remediate", ben, "--contain", "--apply", "--yes", "--password-file", pw,
                                         "--json"], env=env, input=ben + "\n")
    assert contained.exit_code == 0, contained.output
    assert tenant_view(tenant.emulator, ben)["accountEnabled"] is False


def test_resume_only_an_interrupted_run(tenant: Practice, env: dict[str, str], tmp_path: Path) -> None:
    case_id = tenant.cases[ALICE]
    never = CliRunner().invoke(app, ["remediate", "--resume", case_id, "--yes"], env=env)
    assert never.exit_code == 2 and "no remediation run to resume" in never.output
    done = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file",
                                    str(tmp_path / "pw")], env=env)
    assert done.exit_code == 0, done.output
    undone = CliRunner().invoke(app, ["undo", case_id, "--yes"], env=env)
    assert undone.exit_code == 0, undone.output
    tenant.emulator.calls.clear()
    again = CliRunner().invoke(app, ["remediate", "--resume", case_id, "--yes", "--password-file",
                                     str(tmp_path / "pw2")], env=env)
    assert again.exit_code == 2, again.output
    assert "nothing to resume: the last run (run-1) ended" in again.output
    assert "its changes were undone on" in again.output
    assert not writes(tenant.emulator)


def test_restore_access_checks_first(tenant: Practice, env: dict[str, str], tmp_path: Path) -> None:
    # nothing remediated: the password is the one the attacker knows; not re-enabled (exit 1), each check listed
    early = CliRunner().invoke(app, ["restore-access", ALICE, "--yes"], env=env)
    assert early.exit_code == 1, early.output
    assert "failed  password changed since the investigation" in early.stdout
    assert "sign-in was not re-enabled" in early.output
    done = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file",
                                    str(tmp_path / "pw")], env=env)
    assert done.exit_code == 0, done.output
    # the attacker comes back with a new rule: refused; --force overrides
    user = tenant.emulator.state.find_user(ALICE)
    assert user is not None
    rule = dict(user["mailbox"]["inboxRules"][0], id="AQAAAJ5dZqEcomeback=", displayName="Back again")
    user["mailbox"]["inboxRules"].append(rule)
    refused = CliRunner().invoke(app, ["restore-access", ALICE, "--yes"], env=env)
    assert refused.exit_code == 1, refused.output
    for name in ("password changed since the investigation", "MFA registered", "the attacker's objects are removed"):
        assert f"passed  {name}" in refused.stdout, refused.stdout
    assert "failed  nothing new since remediation" in refused.stdout and "Back again" in refused.stdout
    assert tenant_view(tenant.emulator, ALICE)["accountEnabled"] is False
    forced = CliRunner().invoke(app, ["restore-access", ALICE, "--yes", "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    assert tenant_view(tenant.emulator, ALICE)["accountEnabled"] is True


def test_verify_after_undo_says_undone_not_restored(tenant: Practice, env: dict[str, str], tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--json", "--password-file",
                                    str(tmp_path / "pw")], env=env)
    assert done.exit_code == 0, done.output
    case_id = json.loads(done.stdout)["case"]
    assert CliRunner().invoke(app, ["undo", case_id, "--yes"], env=env).exit_code == 0
    checked = CliRunner().invoke(app, ["verify", case_id, "--json"], env=env)
    outcomes = json.loads(checked.stdout)["outcomes"]
    block = next(o for o in outcomes if o["action"] == "block-sign-in")
    assert block["state"] == "undone" and "restore-access" not in checked.stdout
    assert len(outcomes) == len(json.loads(done.stdout)["outcomes"])


def test_a_huge_attacker_rule_name_is_cut_on_the_terminal_only(capsys: pytest.CaptureFixture[str]) -> None:
    """A 5 MB rule name used to be printed whole by `remediate --plan` (10.6 MB); the plan's JSON keeps it."""
    from reclaim.cli.remediate import render_plan
    from reclaim.remediate.model import Phase, Plan, PlannedStep, Reason

    name = "Bearer " + "x" * 5_000_000
    step = PlannedStep("disable-inbox-rule", "r1", f"inbox rule {name!r}", Phase.ERADICATE,
                       Reason("inbox-rule-suspicious", "high", f"rule {name!r} forwards out"), True, "re-enable it")
    plan = Plan("c-1", "alice@contoso.com", "u-1", "compromised", (step,), offered=(step,))
    render_plan(plan)
    out = capsys.readouterr().out
    assert len(out) < 5_000 and "more characters]" in out
    assert name in step.to_json()["label"]
