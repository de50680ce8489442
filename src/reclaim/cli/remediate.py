"""``reclaim remediate`` / ``verify`` / ``undo`` / ``restore-access``: the procedure's steps, planned, applied,
confirmed by reads, journaled, resumable and reversible where the platform allows.

Permissions (app-only): User.EnableDisableAccount.All, User.RevokeSessions.All,
User-PasswordProfile.ReadWrite.All (+ the User Administrator role), MailboxSettings.ReadWrite,
UserAuthenticationMethod.ReadWrite.All (+ Authentication Administrator), DelegatedPermissionGrant.ReadWrite.All,
IdentityRiskyUser.ReadWrite.All (Entra ID P2), Exchange.ManageAsApp + Exchange Administrator. A missing one
fails only the steps that need it, each saying which.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.markup import escape

from reclaim.cli.common import (
    DB_OPTION,
    ENDPOINT_OPTION,
    TENANT_OPTION,
    check_upn,
    reclaim_errors,
    resolve_settings,
    run_connected,
)
from reclaim.cli.console import console, err_console, inert_json, safe, visible
from reclaim.cli.operator import OPERATOR_OPTION, configured_operator, operator_for
from reclaim.cli.password_file import file_sink
from reclaim.errors import EXIT_CONNECT, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, BadInput
from reclaim.text import article

if TYPE_CHECKING:
    from reclaim.m365 import Connection, ConnectionSettings
    from reclaim.remediate import Outcome, Plan, RunReport
    from reclaim.store import Store

__all__ = ["remediate_command", "remediate_demo", "restore_access_command", "undo_command", "verify_command"]

T = TypeVar("T")

# by State value (a StrEnum: its members look up their own value)
_STATE_STYLE = {"held": "green", "already": "green", "pending": "yellow", "not held": "bold red",
                "failed": "bold red", "skipped": "dim", "manual": "yellow", "undone": "cyan", "not undoable": "dim",
                "not reached": "yellow", "could not read": "yellow"}

# options of more than one of these commands (``--db``, ``--tenant`` and ``--endpoint`` come from common)
YES_OPTION: bool = typer.Option(False, "--yes", help="Do not ask for confirmation.")
JSON_RESULT_OPTION: bool = typer.Option(False, "--json", help="Print the result as JSON.")


async def _as_operator(conn: Connection, flag: str | None, work: Callable[[Connection, str], Awaitable[T]]) -> T:
    """Run ``work(conn, operator)``: the operator from --operator / RECLAIM_OPERATOR / the config, else whom the
    connection signs in as (never the local login name)."""
    return await work(conn, await operator_for(conn, flag))


def parse_duration(text: str, *, limit: float = 86400) -> float:
    """``90`` (seconds), ``30s``, ``30m``, ``1h``, ``24h`` → seconds; BadInput (exit 2) otherwise or past ``limit``."""
    raw = text.strip().lower()
    unit = {"s": 1, "m": 60, "h": 3600}.get(raw[-1:], 0)
    number = raw[:-1] if unit else raw
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise BadInput(f"--wait {text!r} is not a duration", hint="seconds, or 30m, 1h, 24h") from None
    if not 0 <= seconds <= limit or seconds != seconds:
        raise BadInput(f"--wait {text!r} is out of range", hint=f"0 to {limit / 3600:g}h")
    return seconds


def _names(values: list[str] | None) -> frozenset[str]:
    return frozenset(v.strip() for raw in values or [] for v in raw.split(",") if v.strip())


def _progress(as_json: bool) -> Callable[[Outcome], None] | None:
    """Each step's outcome as it happens, on the terminal (not with ``--json``: one document only)."""
    return None if as_json else render_outcome


def _not_confirmed(store: Store | None, why: str) -> NoReturn:
    """One line, exit 2: a declined or wrong confirmation, EOF or Ctrl-C at a prompt changes nothing."""
    if store is not None:
        store.close()
    err_console.print(f"not confirmed ({why}): nothing was changed", markup=False)
    raise typer.Exit(EXIT_USAGE)


def _confirm(yes: bool, question: str, store: Store) -> None:
    """Unless ``--yes``, ask; a no, EOF or Ctrl-C closes the store and exits 2 with nothing changed."""
    if yes:
        return
    try:
        answer = typer.confirm(question, err=True)
    except typer.Abort:  # EOF or Ctrl-C at the prompt
        _not_confirmed(store, "no answer")
    if not answer:
        _not_confirmed(store, "answered no")


def _type_upn(upn: str, question: str, store: Store) -> None:
    """Ask to type the UPN; anything else (a wrong UPN, EOF, Ctrl-C) exits 2 with nothing changed."""
    try:
        answer = typer.prompt(question, default="", show_default=False, err=True)
    except typer.Abort:
        _not_confirmed(store, "no answer")
    if answer.strip().casefold() != upn.casefold():
        _not_confirmed(store, f"typed {answer.strip()!r}, not {upn}" if answer.strip() else "nothing typed")


def _on_tenant(store: Store, tenant: str | None, endpoint: str | None,
               work: Callable[[Connection, str], Awaitable[T]], operator: str | None = None, *,
               lease: tuple[str, str, str] | None = None) -> T:
    """Connect to ``--tenant`` / ``--endpoint`` and run ``work(connection, operator)``; the store is closed
    afterwards, whatever happens. Errors become one line and an exit code. ``lease``: (user, case, command) whose
    remediation lease is held meanwhile (a second run on the user is refused)."""
    with store:
        settings = resolve_settings(tenant, endpoint)
        def run() -> T:
            return run_connected(settings, lambda conn: _as_operator(conn, operator, work))

        if lease is None:
            return run()
        user, case_id, command = lease
        return _leased(store, user, case_id, command, run, operator)


def _lease_holder(flag: str | None) -> str:
    """Who holds a lease, for the run it refuses: the configured operator, else this process's login and host
    (the lease is taken before the connection says whom it signs in as)."""
    import getpass
    import socket

    return configured_operator(flag) or f"{getpass.getuser()}@{socket.gethostname()}"


def _leased(store: Store, user: str, case_id: str, command: str, work: Callable[[], T],
            operator_flag: str | None = None) -> T:
    """Run ``work`` holding ``user``'s remediation lease; a run already holding it: one line, exit 2."""
    from reclaim.remediate.lease import Lease

    with reclaim_errors():
        lease = Lease(store, user, case_id=case_id, command=command, operator=_lease_holder(operator_flag))
        lease.start()
    try:
        return work()
    finally:
        lease.release()


def terminal_sink(upn: str, password: str) -> str:
    """Show the password once on the operator's terminal (stderr, never stdout: stdout may be a file)."""
    err_console.print(f"\n[bold]new password for {safe(upn)}[/bold] (shown once; the user must change it at the "
                      "next sign-in; give it over the phone or in person, never by mail):")
    # not safe(): that scrubs remembered secrets, and this is the one place the password must show (it is
    # generated from letters, digits and !#%+-=?@^_: nothing that is markup or a control character)
    err_console.print(f"    [bold reverse] {escape(password)} [/bold reverse]\n", highlight=False)
    return "terminal"


def remediate_command(
    user: str | None = typer.Argument(None, metavar="USER", help="The user's principal name (not with --resume)."),
    plan_only: bool = typer.Option(False, "--plan", help="Show the plan; change nothing (the default)."),
    apply: bool = typer.Option(False, "--apply", help="Apply the plan (asks to type the UPN unless --yes)."),
    resume: str | None = typer.Option(None, "--resume", metavar="CASE",
                                      help="Continue the interrupted run of CASE from its journal (shows what "
                                           "remains and asks, unless --yes)."),
    case: str | None = typer.Option(None, "--case", metavar="CASE",
                                    help="Plan from this investigate case (default: the user's "
                                                         "latest; none: investigate first)."),
    fresh: bool = typer.Option(False, "--fresh", help="Investigate again first (a new case) instead of using the "
                                                      "latest investigation."),
    only: list[str] | None = typer.Option(None, "--only", metavar="ACTIONS",
                                          help="Only these actions (comma-separated)."),
    skip: list[str] | None = typer.Option(None, "--skip", metavar="ACTIONS",
                                          help="Leave out these actions (comma-separated)."),
    include: list[str] | None = typer.Option(None, "--include", metavar="STEPS",
                                             help="Choose offered steps: an action name or "
                                                                     "ACTION:TARGET (comma-separated)."),
    delete_rules: bool = typer.Option(False, "--delete-rules", help="Delete malicious inbox rules instead of "
                                                                    "disabling them."),
    keep_forwarding: bool = typer.Option(False, "--keep-forwarding", help="Leave mailbox forwarding (verified "
                                                                          "as legitimate)."),
    contain: bool = typer.Option(False, "--contain", help="Contain (block, revoke, reset) although the verdict is "
                                                          "not compromised (asks to type the UPN, even with --yes)."),
    password_file: Path | None = typer.Option(None, "--password-file", metavar="FILE",
                                              help="Write the new password to this file "
                                              "(mode 0600) instead of showing it on the terminal."),
    yes: bool = YES_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the plan or the result as JSON."),
    db: str | None = DB_OPTION,
    tenant: str | None = TENANT_OPTION,
    endpoint: str | None = ENDPOINT_OPTION,
    operator: str | None = OPERATOR_OPTION,
) -> None:
    """Contain, eradicate and recover a compromised account, in the procedure's order.

    Exit codes: 0 planned / applied and verified, 1 some step did not hold or failed, 2 bad input,
    3 cannot authenticate / reach the tenant, 4 an earlier run was interrupted (use --resume CASE).
    """
    from reclaim.remediate import ACTIONS, PlanOptions, plan_for_case, remaining, resume_plan
    from reclaim.store import Store

    with reclaim_errors():
        if plan_only and apply:
            raise BadInput("--plan and --apply exclude each other")
        if fresh and case is not None:
            raise BadInput("--fresh and --case exclude each other")
        if resume is None and user is None:
            raise BadInput("name the user, or --resume CASE", hint="reclaim remediate alice@contoso.com --plan")
        if user is not None:
            check_upn(user)
        options = PlanOptions(only=_names(only) or None, skip=_names(skip), include=_names(include),
                              delete_rules=delete_rules, keep_forwarding=keep_forwarding, contain=contain)
        store = Store(db)
    settings = resolve_settings(tenant, endpoint)
    try:
        if resume is not None:
            with reclaim_errors():
                plan = resume_plan(store, resume)
            left = remaining(store, plan)
            err_console.print(f"the run of case {safe(resume)} for {safe(plan.user)} was interrupted; a resumed run "
                              f"still has {len(left)} of {len(plan.steps)} steps to do:")
            for step, where in left:
                err_console.print(f"   - {safe(step.action)}  {brief(step.label)} ({safe(where)})", style="dim")
            _confirm(yes, f"Continue the interrupted run of {plan.user} ({len(left)} steps)?", store)
            _run(settings, store, plan, password_file, as_json, resume=True, operator_flag=operator)
            return
        assert user is not None
        if case is not None:
            with reclaim_errors():
                check_case_subject(store, case, user)
        case_id = None if fresh else case or _latest_case(store, user)
        if case is None and case_id is not None and _new_since_remediation(store, case_id):
            if not as_json:
                err_console.print(f"`reclaim verify {safe(case_id)}` found objects new since the remediation: "
                                  "investigating again", markup=False)
            case_id, fresh = None, True
        if case_id is None:
            case_id = _investigate_first(settings, store, user, quiet=as_json, fresh=fresh)
        with reclaim_errors():
            plan = plan_for_case(store, case_id, options)
            interrupted = _interrupted(store, case_id)
        if not apply:
            if as_json:
                document = plan.to_json()
                for item in (*document["steps"], *document["offered"]):
                    item["needs"] = ACTIONS[item["action"]].requires.text()  # the permissions and roles it needs
                typer.echo(inert_json(document))
            else:
                render_plan(plan)
                for line in plan.not_offered:
                    err_console.print(line, style="yellow", markup=False)
                if interrupted:
                    err_console.print(f"note: a run of case {safe(case_id)} was interrupted; continue it with "
                                      f"`reclaim remediate --resume {safe(case_id)}`", style="yellow")
            raise typer.Exit(EXIT_OK)
        if not as_json:
            render_plan(plan)
        if plan.not_offered:
            with reclaim_errors():
                raise BadInput(plan.not_offered[0] + (f" (and {len(plan.not_offered) - 1} more)"
                                                      if len(plan.not_offered) > 1 else ""),
                               hint="nothing was changed; leave it out, or see the plan with --plan")
        if not plan.steps:
            err_console.print("nothing to do: no step is planned" + (
                " (the case's only indicators are tenant-wide: not this user's)" if plan.tenant_only else ""),
                markup=False)
            raise typer.Exit(EXIT_OK)
        if contain and plan.verdict != "compromised":
            # containing an account the evidence does not call compromised: the operator types the UPN, --yes or not
            err_console.print(f"--contain: the verdict of {safe(plan.user)} is {safe(plan.verdict)}; containment "
                              "signs the user out and resets the password", style="yellow")
            _type_upn(plan.user, f"Type {plan.user} to contain this account anyway", store)
        elif not yes:
            _type_upn(plan.user, f"Type {plan.user} to apply these {len(plan.steps)} steps", store)
        _run(settings, store, plan, password_file, as_json, resume=False, operator_flag=operator)
    finally:
        store.close()


def _latest_case(store: Store, user: str) -> str | None:
    with reclaim_errors():
        found = store.latest_case_for(user)
        return found.id if found is not None else None
    raise AssertionError("unreachable")  # pragma: no cover


def check_case_subject(store: Store, case_id: str, user: str) -> None:
    """Refuse (exit 2, nothing sent) a ``--case`` that is not an investigation of ``user``: a case names its
    subject, and a remediation acts on the subject of its case; sweep and hunt cases are never remediation cases."""
    case = store.get_case(case_id)
    if case.kind != "investigate":
        raise BadInput(f"case {case_id} is {article(case.kind)} {case.kind} case, not an investigation of {user}: "
                       f"{article(case.kind)} {case.kind} is "
                       "never remediated directly",
                       hint=f"investigate the user first: reclaim investigate {user}")
    if case.subject.casefold() != user.casefold():
        raise BadInput(f"case {case_id} is the investigation of {case.subject}, not of {user}: nothing was sent",
                       hint=f"reclaim remediate {user} (its latest case), or reclaim investigate {user}")


def _new_since_remediation(store: Store, case_id: str) -> bool:
    """The case's latest verify, after its latest run, found persistence new since the remediation."""
    from reclaim.remediate.persistence import found_new

    latest: bool = False
    for e in store.journal(case_id):
        if e.action_id == "run" and e.step == "applying":
            latest = False
        elif e.action_id == "run" and e.target.startswith("verify-"):
            latest = found_new(e.result)
    return latest


def _password_delivered(store: Store, case_id: str) -> bool:
    """The case's last reset attempt delivered its password (confirmed or not yet): a resumed run confirms it and
    makes no new one, so it needs no new password file (and must not touch the one that holds it)."""
    last = None
    for e in store.journal(case_id):
        if e.action_id == "reset-password" and e.step in ("snapshot", "applying", "applied", "failed", "undone"):
            last = e
    return last is not None and last.step == "applied" and isinstance((last.result or {}).get("passwordReset"), str)


def _password_reset(store: Store, case_id: str) -> bool:
    return any(e.action_id == "reset-password" and e.step == "verified" for e in store.journal(case_id))


def _interrupted(store: Store, case_id: str) -> bool:
    from reclaim.remediate.journal import Journal

    return Journal(store, case_id, None).interrupted_run() is not None


def _investigate_first(settings: ConnectionSettings, store: Store, user: str, *, quiet: bool,
                       fresh: bool = False) -> str:
    from reclaim.collect import investigate

    if not quiet:
        err_console.print(f"investigating {safe(user)} first" if fresh else
                          f"no investigation of {safe(user)} yet: investigating first")

    async def work(conn: Connection) -> str:
        return (await investigate(conn, store, user)).case_id

    return run_connected(settings, work)


def _earlier_delivery(store: Store, case_id: str) -> str | None:
    """Where this case's last password reset was delivered ("file /path", "terminal"), with when."""
    found = None
    for e in store.journal(case_id):
        where = (e.result or {}).get("passwordReset") if e.action_id == "reset-password" else None
        if e.step == "applied" and isinstance(where, str):
            found = f"{where.removeprefix('delivered to ')} at {e.recorded_at:%Y-%m-%d %H:%M:%S} UTC"
    return found


def _sink(store: Store, plan: Plan, password_file: Path | None) -> Callable[[str, str], str] | None:
    # a reset this case already made and confirmed is not made again: no password to deliver then
    needs = any(s.action == "reset-password" and not s.params.get("federated") for s in plan.steps) and \
        not _password_reset(store, plan.case_id) and not _password_delivered(store, plan.case_id)
    earlier = _earlier_delivery(store, plan.case_id)
    if not needs and earlier is not None and any(s.action == "reset-password" for s in plan.steps):
        err_console.print(f"the password reset of this case was already made; the password went to {visible(earlier)}"
                          " (no new password now)", markup=False)
    elif needs and earlier is not None:
        err_console.print(f"note: an earlier reset in this case delivered a password to {visible(earlier)}; it is "
                          "replaced by the one this run makes", markup=False)
    if password_file is not None:
        if password_file.is_dir():
            raise BadInput(f"--password-file {password_file} is a directory")
        # created only when a password will be written: never an empty new file beside the real one
        return file_sink(password_file) if needs else terminal_sink
    if needs and not sys.stderr.isatty():
        raise BadInput("reset-password shows the new password once on the terminal, and there is no terminal",
                       hint="add --password-file FILE (written with mode 0600), or --skip reset-password")
    return terminal_sink


def _run(settings: ConnectionSettings, store: Store, plan: Plan, password_file: Path | None, as_json: bool, *,
         resume: bool, operator_flag: str | None = None) -> None:
    from reclaim.remediate import apply_plan

    command = "remediate --resume" if resume else "remediate --apply"

    def leased() -> RunReport:  # the lease first: a refused run leaves no password file behind
        with reclaim_errors():
            sink = _sink(store, plan, password_file)

        async def work(conn: Connection, operator: str) -> RunReport:
            return await apply_plan(conn, store, plan, password_sink=sink, operator=operator, resume=resume,
                                    progress=_progress(as_json))

        return run_connected(settings, lambda conn: _as_operator(conn, operator_flag, work))

    _finish(_leased(store, plan.user, plan.case_id, command, leased, operator_flag), as_json)


def _finish(report: RunReport, as_json: bool) -> None:
    if as_json:
        typer.echo(inert_json(report.to_json()))
    else:
        render_report(report)
    if report.not_reached is not None:
        left = sum(1 for o in report.outcomes if o.state.value == "not reached")
        err_console.print(f"error: could not reach the tenant: {report.not_reached}; {left} step(s) not reached "
                          "(not a result: each keeps its last real one in the journal) — re-run once the tenant "
                          "is reachable", markup=False)
    elif not report.reached:
        err_console.print("error: some objects could not be read (above): their state is unknown, not held — "
                          "re-run later", markup=False)
    raise typer.Exit(report.exit_code)


def verify_command(
    case: str = typer.Argument(..., metavar="CASE", help="The case whose remediation to re-check."),
    wait: str = typer.Option("0", "--wait", metavar="DURATION",
                             help="Keep polling pending steps (the restricted-sender unblock) for up to this long: "
                                  "seconds, or 30m, 1h, 24h (at most 24h)."),
    as_json: bool = JSON_RESULT_OPTION,
    db: str | None = DB_OPTION,
    tenant: str | None = TENANT_OPTION,
    endpoint: str | None = ENDPOINT_OPTION,
    offline: bool = typer.Option(False, "--offline", help="Only re-check the case store: the case's seal, journal "
                                                          "chain and evidence hashes (no tenant; a read-only "
                                                          "store is opened read-only)."),
    operator: str | None = OPERATOR_OPTION,
) -> None:
    """Re-read the tenant: did every applied step hold? Re-lists what an attacker uses to come back (inbox and
    sweep rules, forwarding, MFA methods, consent grants, FullAccess and SendAs delegates, mobile devices) and
    reports what is new since the investigation. Also re-checks the journal's hash chain and the case's seal.

    Exit codes: 0 everything held (pending steps are reported), 1 something did not hold, something is new since
    the remediation, or the case was altered (its seal, journal chain or an evidence hash no longer matches); 2 bad
    input; 3 the tenant could not be reached, an object could not be read, or a permission is missing.
    """
    from reclaim.remediate import verify_case
    from reclaim.store import Store

    if offline:
        _verify_offline(case, db, as_json)
    with reclaim_errors():
        seconds = parse_duration(wait)
        store = Store(db, create=False)
        store.get_case(case)
    report = _on_tenant(store, tenant, endpoint, lambda conn, who: verify_case(
        conn, store, case, operator=who, wait=seconds, progress=_progress(as_json)), operator)
    _finish(report, as_json)


def _verify_offline(case: str, db: str | None, as_json: bool) -> NoReturn:
    """``verify --offline``: the case store's integrity result for one case, exit 0 intact / 1 altered."""
    from reclaim.store import Store

    with reclaim_errors(), Store(db, create=False) as store:
        detail = store.case_detail(case)
    seal, chain = detail.integrity, detail.chain
    state = "intact" if detail.intact else "altered"
    problems = list(seal.problems)
    if not chain.ok:
        problems.append(f"journal chain broken at entry {chain.first_bad_seq}: {chain.reason}")
    if as_json:
        typer.echo(inert_json({"case": case, "state": state, "sealHead": seal.head, "sealLength": seal.length,
                               "journalHead": chain.head_hash, "journalLength": chain.length,
                               "problems": problems}))
    elif detail.intact:
        console.print(f"case {safe(case)}: [green]intact[/green] ({seal.length} seal entries, {chain.length} "
                      f"journal entries, {len(detail.evidence)} evidence items re-hashed)")
        console.print(f"  seal head {seal.head}")
    else:
        console.print(f"case {safe(case)}: [bold red]ALTERED[/bold red] (changed outside reclaim; do not rely on it)")
        for problem in problems:
            console.print(f"  - {safe(problem)}", style="red")
        console.print(f"  seal head recorded: {seal.head}", style="dim")
    raise typer.Exit(EXIT_OK if detail.intact else EXIT_FINDINGS)


def undo_command(
    case: str = typer.Argument(..., metavar="CASE", help="The case whose remediation to undo."),
    action: str | None = typer.Argument(None, metavar="ACTION",
                                        help="Only this action (e.g. disable-inbox-rule) or step "
                                                   "(ACTION:TARGET)."),
    yes: bool = YES_OPTION,
    as_json: bool = JSON_RESULT_OPTION,
    db: str | None = DB_OPTION,
    tenant: str | None = TENANT_OPTION,
    endpoint: str | None = ENDPOINT_OPTION,
    operator: str | None = OPERATOR_OPTION,
) -> None:
    """Restore from the snapshots what the platform lets be restored (journaled); says which steps cannot be."""
    from reclaim.remediate import undo_case
    from reclaim.store import Store

    with reclaim_errors():
        store = Store(db, create=False)
        subject = store.get_case(case).subject
    _confirm(yes, f"Undo the remediation of {subject} ({action or 'every step'})?", store)
    report = _on_tenant(store, tenant, endpoint, lambda conn, who: undo_case(
        conn, store, case, only=action, operator=who, progress=_progress(as_json)), operator,
        lease=(subject, case, "undo"))
    _finish(report, as_json)


def restore_access_command(
    user: str = typer.Argument(..., metavar="USER", help="The user's principal name."),
    case: str | None = typer.Option(None, "--case", metavar="CASE",
                                    help="Journal into this case (default: the user's latest)."),
    force: bool = typer.Option(False, "--force", help="Re-enable even when a check (password changed, MFA "
                                                      "registered, attacker's objects removed) does not pass."),
    yes: bool = YES_OPTION,
    db: str | None = DB_OPTION,
    tenant: str | None = TENANT_OPTION,
    endpoint: str | None = ENDPOINT_OPTION,
    operator: str | None = OPERATOR_OPTION,
) -> None:
    """Re-enable sign-in, once the user has a new password and MFA (journaled in the user's case)."""
    from reclaim.remediate import restore_access_checked
    from reclaim.store import Store

    with reclaim_errors():
        check_upn(user)
        store = Store(db, create=False)
        if case is not None:
            check_case_subject(store, case, user)
        case_id = case or _latest_case(store, user)
        if case_id is None:
            raise BadInput(f"no case for {user}", hint="investigate and remediate first")
    if not _password_reset(store, case_id):
        err_console.print(f"caution: reclaim did not reset the password of {safe(user)} in case {safe(case_id)}; "
                          "re-enable sign-in only once the user has a new password and MFA", style="yellow")
    _confirm(yes, f"Re-enable sign-in for {user}?", store)
    checks, done = _on_tenant(store, tenant, endpoint, lambda conn, who: restore_access_checked(
        conn, store, case_id, operator=who, force=force), operator, lease=(user, case_id, "restore-access"))
    for check in checks:
        mark = ("[yellow]could not read[/yellow]" if check.ok is None else
                "[green]passed[/green]" if check.ok else "[bold red]failed[/bold red]")
        console.print(f"  {mark}  {safe(check.name)} — {safe(check.detail)}")
    if done is None:
        unread = any(c.ok is None for c in checks)
        err_console.print("error: sign-in was not re-enabled: " + (
            "the tenant could not be read for every check; re-run later" if unread else
            "a check failed (above); fix it, or re-enable anyway with --force"), markup=False)
        raise typer.Exit(EXIT_CONNECT if unread else EXIT_FINDINGS)
    outcome = done
    if force and not all(c.ok for c in checks):
        err_console.print("--force: re-enabled although a check did not pass", style="yellow")
    render_outcome(outcome)
    if not outcome.state.result:
        err_console.print(f"error: {outcome.detail} — nothing is known to have changed; re-run once the tenant "
                          "is reachable", markup=False)
        raise typer.Exit(EXIT_CONNECT)
    raise typer.Exit(EXIT_OK if outcome.state.ok else EXIT_FINDINGS)


# -- rendering ----------------------------------------------------------------------------------------

def brief(text: object) -> str:
    """Attacker-chosen text (rule names, labels) for the terminal: inert and cut to a screenful; the JSON and the
    report keep it whole."""
    from reclaim.text import cut

    return safe(cut(str(text)))


def render_plan(plan: Plan) -> None:
    from reclaim.remediate import Phase

    console.print(f"remediation plan for [bold]{safe(plan.user)}[/bold] · case {safe(plan.case_id)} · verdict "
                  f"{safe(plan.verdict)}")
    if plan.tenant_only:
        console.print("  no step is planned: the case's only indicators are tenant-wide, not this user's (below); "
                      "nothing is contained for them")
    elif not plan.steps:
        console.print("  no step is planned")
    n = 0
    for phase in Phase:
        steps = plan.phase(phase)
        if not steps:
            continue
        console.print(f"\n[bold]{phase.value}[/bold]")
        for step in steps:
            n += 1
            undo = "undo: " + step.undo_note if step.reversible else step.undo_note
            console.print(f"  {n:>2}. [bold]{safe(step.action)}[/bold]  {brief(step.label)}")
            console.print(f"      because \\[{safe(step.reason.severity)}] {safe(step.reason.check)}: "
                          f"{brief(step.reason.title)}", style="dim")
            console.print(f"      {safe(undo)}", style="dim")
    if plan.offered:
        console.print("\n[bold]offered[/bold] (not done unless chosen with --include ACTION or ACTION:TARGET)")
        for step in plan.offered:
            console.print(f"   - {safe(step.action)}:{brief(step.target)}  {brief(step.label)}")
    if plan.advice:
        console.print("\n[bold]advice[/bold] (for a person to do)")
        for advice in plan.advice:
            console.print(f"   - {safe(advice.text)}")
    if plan.tenant:
        console.print("\n[bold]the tenant[/bold] (tenant-wide findings: not this user's, never changed from here; "
                      "`reclaim investigate` names who made them)")
        for item in plan.tenant:
            console.print(f"   - {safe(item.artifact)}: {safe(item.why)}", style="dim")
    if plan.permissions:
        console.print("\n[bold]needs[/bold] (what the app must be granted for these steps)", style="dim")
        for line in plan.permissions:
            console.print(f"   - {safe(line)}", style="dim")
    if plan.left_alone:
        console.print("\n[bold]left alone[/bold]")
        for item in plan.left_alone:
            console.print(f"   - {safe(item.artifact)}: {safe(item.why)}", style="dim")


def render_outcome(outcome: Outcome) -> None:
    style = _STATE_STYLE.get(outcome.state, "")
    console.print(f"  [{style}]{outcome.state.value:>12}[/{style}]  {safe(outcome.step.action)}  "
                  f"{brief(outcome.step.label)}" + (f" — {brief(outcome.detail)}" if outcome.detail else ""))


def render_report(report: RunReport, *, hints: bool = True) -> None:
    counts: dict[str, int] = {}
    for o in report.outcomes:
        counts[o.state.value] = counts.get(o.state.value, 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    console.print(f"\ncase {safe(report.case_id)} · {safe(summary) or 'nothing to do'} · "
                  f"{report.total_seconds:.1f} s · {report.requests} requests")
    if report.contain_seconds is not None:
        console.print(f"  contained in {report.contain_seconds:.1f} s", style="dim")
    if report.password_delivery:
        console.print(f"  password reset, delivered to {safe(report.password_delivery)}", style="dim")
    if report.relisted:
        console.print(f"  re-listed: {safe('; '.join(report.relisted))}", style="dim")
    for item in report.new_since:
        console.print(f"  [bold red]new since remediation[/bold red]  {safe(item.get('what'))}")
    if report.new_since:
        console.print(f"  {safe(report.new_since[0].get('advice'))}", style="red")
    chain = "intact" if report.chain_ok else "BROKEN"
    console.print(f"  journal chain {chain}: {safe(report.chain_detail)}", style="dim" if report.chain_ok else "red")
    if not report.ok and report.reached and not report.new_since:
        console.print("  some steps did not hold: see above; re-run to retry them", style="red")
    if not hints:
        return
    from reclaim.remediate.actions.unblock_sender import UNBLOCK_DELAY

    pending = [o for o in report.outcomes if o.state.value == "pending"]
    console.print("\n[bold]next[/bold]")
    if pending:
        console.print(f"  reclaim verify {safe(report.case_id)} --wait 24h   # {len(pending)} step(s) pending: "
                      f"Microsoft applies them {UNBLOCK_DELAY}")
    console.print(f"  reclaim report {safe(report.case_id)} --format html --out report.html")


async def remediate_demo(conn: Connection, store: Store, case_id: str, out: Path) -> RunReport:
    """``reclaim demo``: plan, apply and verify the remediation of an investigated practice-tenant user.

    The new password goes to a 0600 file in ``out`` (the demo has no user to hand it to)."""
    from reclaim.remediate import apply_plan, plan_for_case, verify_case

    plan = plan_for_case(store, case_id)
    console.print()
    render_plan(plan)
    console.print(f"\n[bold]remediate {safe(plan.user)}[/bold] (apply, each change confirmed by a read)")
    sink = file_sink(out / f"{plan.user}.password.txt")
    operator = await operator_for(conn, None)
    report = await apply_plan(conn, store, plan, password_sink=sink, operator=operator, progress=render_outcome)
    render_report(report, hints=False)
    console.print(f"\n[bold]verify {safe(case_id)}[/bold] (re-read the tenant, re-check the journal chain)")
    checked = await verify_case(conn, store, case_id, operator=operator, progress=render_outcome)
    render_report(checked, hints=False)
    return checked
