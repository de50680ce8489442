"""Apply a plan, verify it, undo it, restore access: every change snapshotted, journaled and confirmed by a read.

``apply_plan``: containment first, one step after the other, each confirmed by a read; then the eradication
steps concurrently (they touch different objects); then recovery, only if containment and eradication held;
then the chosen prevention steps. Every step is idempotent (a step whose wanted state already holds sends no
write and is journaled as "already holds") and resumable (see :mod:`reclaim.remediate.journal`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reclaim.errors import BadInput, Interrupted
from reclaim.m365 import AccessDenied, AuthenticationFailed, Connection, M365Error, Unreachable
from reclaim.remediate.actions import ACTIONS, Action, ActionContext, Check, PasswordSink, Undelivered, Unsupported
from reclaim.remediate.actions._base import later_than
from reclaim.remediate.inert import unescape
from reclaim.remediate.journal import RUN, Attempt, Journal
from reclaim.remediate.model import JSON, Outcome, Phase, Plan, PlannedStep, Reason, RunReport, State
from reclaim.remediate.persistence import Relisting, advice, relist
from reclaim.remediate.playbook import steps_from_json
from reclaim.remediate.restore import RestoreCheck, restore_checks
from reclaim.store import Store, StoreError

Progress = Callable[[Outcome], None]

#: States after which recovery (unblocking the sender) may run.
CONTAINED = frozenset({State.HELD, State.ALREADY, State.SKIPPED})


def _now() -> datetime:
    return datetime.now(UTC)


def not_reached(exc: BaseException) -> bool:
    """The tenant was not reached: no connection, or no token (nothing was sent, or nothing was accepted).
    Such a failure says nothing about the tenant: the run stops and the step keeps its last real result."""
    return isinstance(exc, AuthenticationFailed | Unreachable)


def pending_text(action: Action, detail: str) -> str:
    """A requested change the service applies later, in the one wording the report uses too."""
    delay = getattr(action, "pending_delay", "later")
    return f"pending: {detail} (requested; Microsoft applies it {delay})"


def _source(action: Action, step: PlannedStep, ctx: ActionContext) -> str:
    return "exchange" if "cmdlet" in action.describe_read(ctx, step) else "graph"


class _Runner:
    def __init__(self, conn: Connection, store: Store, case_id: str, upn: str, user_id: str, *,
                 operator: str | None, password_sink: PasswordSink | None, progress: Progress | None) -> None:
        self.store = store
        self.case_id = case_id
        self.journal = Journal(store, case_id, operator)
        self.ctx = ActionContext(conn=conn, upn=upn, user_id=user_id, password_sink=password_sink)
        self.progress = progress
        self.started = time.monotonic()
        self.password_delivery: str | None = None
        #: the first connection / authentication failure: from then on nothing more is sent
        self.unreached: M365Error | None = None
        #: steps whose state could not be read, with why (journaled once, at the run's level)
        self.unread: dict[str, str] = {}
        #: the user as the investigation read it (what one-way steps' witnesses are compared with)
        self._baseline: dict[str, Any] | None = None

    def _not_reached(self, step: PlannedStep, exc: M365Error | None = None) -> Outcome:
        if exc is not None and self.unreached is None:
            self.unreached = exc
        why = self.unreached.one_line() if self.unreached is not None else "the tenant could not be reached"
        return self._done(step, State.NOT_REACHED, f"not reached: {why}")

    def _could_not_read(self, step: PlannedStep, exc: M365Error) -> Outcome:
        self.unread[step.key] = exc.one_line()
        return self._done(step, State.UNREAD, f"could not read: {exc.one_line()}")

    def run_entry(self) -> JSON:
        """What the run could not do, for its journal entry: not reached, could not read."""
        out: JSON = {}
        if self.unreached is not None:
            out["notReached"] = self.unreached.one_line()
        if self.unread:
            out["couldNotRead"] = dict(self.unread)
        return out

    def _done(self, step: PlannedStep, state: State, detail: str) -> Outcome:
        outcome = Outcome(step, state, detail, at=time.monotonic() - self.started)
        if self.progress is not None:
            self.progress(outcome)
        return outcome

    def _write(self, step: PlannedStep, name: str, **kw: Any) -> None:
        self.journal.write(step.action, step.target, name, **kw)

    async def _awrite(self, step: PlannedStep, name: str, **kw: Any) -> None:
        """:meth:`_write` off the event loop: the other steps' requests go on while the entry is made durable."""
        await self.journal.awrite(step.action, step.target, name, **kw)

    def _snapshot_payload(self, attempt: Attempt) -> Any:
        if attempt.snapshot is None or attempt.snapshot.before_evidence_id is None:
            return None
        return self.store.get_evidence(attempt.snapshot.before_evidence_id).json()

    async def _read(self, action: Action, step: PlannedStep) -> tuple[Any, Outcome | None]:
        try:
            return await action.read(self.ctx, step), None
        except Unsupported as exc:
            await self._awrite(step, "skipped" if exc.state is State.SKIPPED else "failed",
                        result={"reason": str(exc), "state": exc.state.value})
            return None, self._done(step, exc.state, str(exc))
        except M365Error as exc:
            if not_reached(exc):
                return None, self._not_reached(step, exc)
            if isinstance(exc, AccessDenied):  # a real result: the app may not do this step
                await self._awrite(step, "failed", result={"stage": "read", "error": exc.one_line()})
                return None, self._done(step, State.FAILED, f"could not read the current state: {exc.one_line()}")
            # unreadable, throttled, no answer: the state is unknown (never "already holds"); not journaled
            # on the step, whose last real result stands, but in the run's entry
            return None, self._could_not_read(step, exc)

    async def run_step(self, step: PlannedStep) -> Outcome:
        action = ACTIONS[step.action]
        if self.unreached is not None:
            return self._not_reached(step)
        if not self.journal.planned(step):
            await self._awrite(step, "planned", request=step.to_json())
        attempt = self.journal.attempt(step)
        state, failed = await self._read(action, step)
        if failed is not None:
            return failed
        before = self._snapshot_payload(attempt)
        if attempt.snapshot is not None and (attempt.write_in_doubt or attempt.undelivered) \
                and action.repeat_after_interruption:
            # The earlier request's effect (a password nobody received) is useless: make the change again.
            return await self._apply(action, step, before, None, note="the interrupted request is sent again")
        if attempt.snapshot is not None:
            check = action.check(step, state, before)
            if check.holds:
                if attempt.write_in_doubt:
                    await self._awrite(step, "applied", result={"recovered": "the request sent before the interruption "
                                                                      "took effect"})
                if attempt.write_in_doubt or attempt.last == "applied":
                    await self._awrite(step, "verified", verify={"holds": True, "detail": check.detail})
                    return self._done(step, State.HELD, check.detail)
                await self._awrite(step, "skipped", result={"reason": "already holds", "detail": check.detail})
                return self._done(step, State.ALREADY, f"already holds: {check.detail}")
            if getattr(action, "eventual", False) and attempt.applied:
                await self._awrite(step, "not_held",
                                   verify={"holds": False, "state": "pending", "detail": check.detail})
                return self._done(step, State.PENDING, pending_text(action, check.detail))
            if not attempt.applied and not attempt.undone:
                # Snapshot taken, change not made (or not confirmed): use that snapshot (and what holds now).
                return await self._apply(action, step, before, state)
            # Applied earlier but no longer holds (re-created by the attacker?) or undone: a new attempt.
            return await self._apply(action, step, None, state)
        check = action.check(step, state, None)
        if check.holds:
            await self._awrite(step, "skipped", result={"reason": "already holds", "detail": check.detail})
            return self._done(step, State.ALREADY, f"already holds: {check.detail}")
        moved = self._witness_moved(action, state)
        if moved is not None:
            await self._awrite(step, "skipped", result={"reason": moved, "state": State.FAILED.value})
            return self._done(step, State.FAILED, moved)
        return await self._apply(action, step, None, state)

    def _witness_moved(self, action: Action, state: Any) -> str | None:
        """For a one-way step about to be made for the first time in this case: has its witness moved since the
        investigation? (another run, on another store, or a person made the change): then it is not made twice."""
        if action.witness is None or not isinstance(state, dict):
            return None
        if self._baseline is None:
            self._baseline = {}
            found = [e for e in self.store.evidence(self.case_id) if e.kind == "user"]
            if found:
                payload = self.store.get_evidence(found[-1].id).json()
                selected = str((found[-1].request.get("params") or {}).get("$select") or "").split(",")
                # a selected property the answer left out had no value then (null)
                self._baseline = {name: None for name in selected if name} | (
                    payload if isinstance(payload, dict) else {})
        if action.witness not in self._baseline:
            return None
        now, then = state.get(action.witness), self._baseline.get(action.witness)
        if not later_than(now, then):
            return None
        return (f"not done: {action.witness} moved to {now} since the investigation ({then}): someone else (another "
                "remediation run, an administrator or the user) already did this; check who, then run "
                f"`reclaim remediate {self.ctx.upn} --fresh` to plan from the tenant as it is now")

    async def _apply(self, action: Action, step: PlannedStep, before: Any, current: Any, *,
                     note: str | None = None) -> Outcome:
        if before is None:
            try:
                evidence = await self.journal.off_loop(
                    self.store.add_evidence, self.case_id, f"snapshot:{step.action}", _source(action, step, self.ctx),
                    action.describe_read(self.ctx, step), current, _now())
            except StoreError as exc:
                await self._awrite(step, "failed", result={"stage": "snapshot", "error": exc.one_line()})
                return self._done(step, State.FAILED, f"the snapshot failed, nothing was changed: {exc.one_line()}")
            await self._awrite(step, "snapshot", before_evidence_id=evidence.id, result={"sha256": evidence.sha256})
            before = current
        await self._awrite(step, "applying", request={"action": step.action, "target": step.target,
                                               **({"note": note} if note else {})})
        try:
            request = await action.apply_to(self.ctx, step, before, current)
        except Undelivered as exc:
            await self._awrite(step, "failed",
                               result={"stage": "deliver", "reason": str(exc), "state": exc.state.value})
            return self._done(step, exc.state, str(exc))
        except Unsupported as exc:
            await self._awrite(step, "skipped" if exc.state in (State.SKIPPED, State.MANUAL) else "failed",
                        result={"reason": str(exc), "state": exc.state.value})
            return self._done(step, exc.state, str(exc))
        except M365Error as exc:
            if not_reached(exc):
                # Left "applying": whether it arrived is settled by the next run's read (a reset is made again).
                return self._not_reached(step, exc)
            await self._awrite(step, "failed", result={"stage": "apply", "error": exc.one_line()})
            return self._done(step, State.FAILED, exc.one_line())
        delivered = request.pop("delivered", None)
        if delivered is not None:
            self.password_delivery = str(delivered)
        result: JSON = {"ok": True}
        if delivered is not None:
            result["passwordReset"] = f"delivered to {delivered}"
        await self._awrite(step, "applied", request=request, result=result)
        return await self._verify(action, step, before, applied_now=True)

    async def _verify(self, action: Action, step: PlannedStep, before: Any, *, applied_now: bool) -> Outcome:
        try:
            state = await action.read(self.ctx, step)
        except Unsupported as exc:
            await self._awrite(step, "not_held", verify={"holds": False, "state": "unknown", "detail": str(exc)})
            return self._done(step, State.NOT_HELD, f"could not re-read: {exc}")
        except M365Error as exc:
            # applied (journaled) but not confirmed: the next run or `verify` reads it again
            return self._not_reached(step, exc) if not_reached(exc) else self._could_not_read(step, exc)
        check: Check = action.check(step, state, before)
        if check.holds:
            await self._awrite(step, "verified", verify={"holds": True, "detail": check.detail})
            return self._done(step, State.HELD, check.detail)
        if getattr(action, "eventual", False):
            await self._awrite(step, "not_held", verify={"holds": False, "state": "pending", "detail": check.detail})
            return self._done(step, State.PENDING, pending_text(action, check.detail))
        await self._awrite(step, "not_held", verify={"holds": False, "state": "not held", "detail": check.detail})
        return self._done(step, State.NOT_HELD, check.detail)

    async def skip(self, step: PlannedStep, reason: str) -> Outcome:
        if not self.journal.planned(step):
            await self._awrite(step, "planned", request=step.to_json())
        await self._awrite(step, "skipped", result={"reason": reason})
        return self._done(step, State.SKIPPED, reason)


def _next_run(journal: Journal) -> str:
    return f"run-{sum(1 for e in journal.runs() if e.step == 'applying') + 1}"


async def apply_plan(conn: Connection, store: Store, plan: Plan, *, password_sink: PasswordSink | None,
                     operator: str | None = None, resume: bool = False,
                     progress: Progress | None = None) -> RunReport:
    """Run ``plan`` against the tenant; journal everything into the plan's case."""
    runner = _Runner(conn, store, plan.case_id, plan.user, plan.user_id, operator=operator,
                     password_sink=password_sink, progress=progress)
    journal = runner.journal
    interrupted = journal.interrupted_run()
    if interrupted is not None and not resume:
        raise Interrupted(f"a remediation run of case {plan.case_id} ({interrupted.target}, started "
                          f"{interrupted.recorded_at:%Y-%m-%d %H:%M:%S} UTC) was interrupted",
                          hint=f"continue it with `reclaim remediate --resume {plan.case_id}`")
    run_id = _next_run(journal)
    journal.write(RUN, run_id, "applying", request={
        "kind": "apply", "user": plan.user, "userId": plan.user_id, "options": plan.options,
        "steps": [s.to_json() for s in plan.steps],
        **({"resumes": interrupted.target} if interrupted is not None else {})})
    report = RunReport(case_id=plan.case_id, user=plan.user)
    restored = access_restored(store, plan.case_id)

    async def contain(step: PlannedStep) -> Outcome:
        if step.action == "block-sign-in" and restored:
            return await runner.skip(step, "access was restored with `reclaim restore-access`; block sign-in again "
                                     "with --only block-sign-in after undo")
        return await runner.run_step(step)

    # Block, revoke and reset are independent: read, write and confirm them concurrently (three round trips in
    # all, not three per step); the attacker gets no window between them that a sequence would not give too.
    report.outcomes += await asyncio.gather(*(contain(s) for s in plan.phase(Phase.CONTAIN)))
    if plan.phase(Phase.CONTAIN):
        report.contain_seconds = time.monotonic() - runner.started
    report.outcomes += await asyncio.gather(*(runner.run_step(s) for s in plan.phase(Phase.ERADICATE)))
    contained = all(o.state in CONTAINED for o in report.outcomes)
    for step in plan.phase(Phase.RECOVER):
        if runner.unreached is not None:
            report.outcomes.append(runner._not_reached(step))
        elif contained:
            report.outcomes.append(await runner.run_step(step))
        else:
            bad = [o for o in report.outcomes if o.state not in CONTAINED]
            report.outcomes.append(await runner.skip(step, "containment and eradication were not all verified ("
                                               + ", ".join(f"{o.step.action} {o.state.value}" for o in bad[:3])
                                               + "): the sender stays restricted; fix them and re-run"))
    for step in plan.phase(Phase.PREVENT):
        report.outcomes.append(await runner.run_step(step))
    report.total_seconds = time.monotonic() - runner.started
    report.requests = runner.ctx.requests[0]
    report.password_delivery = runner.password_delivery
    report.not_reached = runner.unreached.one_line() if runner.unreached is not None else None
    journal.write(RUN, run_id, "applied", result={
        "ok": report.ok, "states": {o.step.key: o.state.value for o in report.outcomes if o.state.result},
        **runner.run_entry()})
    chain = store.verify_chain(plan.case_id)
    report.chain_ok, report.chain_detail = chain.ok, chain.reason or f"{chain.length} entries, head {chain.head_hash}"
    return report


def resume_plan(store: Store, case_id: str) -> Plan:
    """The plan of the case's interrupted run, exactly as it was journaled. Only a run the journal shows as
    interrupted is resumed: a run that ended (even one whose changes were undone since) is not."""
    journal = Journal(store, case_id, None)
    recorded = journal.last_plan()
    if recorded is None:
        raise BadInput(f"case {case_id} has no remediation run to resume",
                       hint="start one with `reclaim remediate USER --apply`")
    interrupted = journal.interrupted_run()
    if interrupted is None:
        raise BadInput(_nothing_to_resume(journal), hint="to apply the plan again, run `reclaim remediate USER "
                                                         "--apply` (it shows the plan and asks)")
    case = store.get_case(case_id)
    steps = steps_from_json(recorded.get("steps") or [])
    return Plan(case_id=case_id, user=str(recorded.get("user") or case.subject),
                user_id=str(recorded.get("userId") or case.subject), verdict=str(case.verdict or ""),
                steps=tuple(steps), options=dict(recorded.get("options") or {}))


def _nothing_to_resume(journal: Journal) -> str:
    brackets = [e for e in journal.runs() if e.step in ("applying", "applied")]
    last = brackets[-1]
    text = f"nothing to resume: the last run ({last.target}) ended {last.recorded_at:%Y-%m-%d %H:%M:%S} UTC"
    undone = [e for e in journal.entries() if e.step == "undone" and e.seq > last.seq]
    if undone:
        text += f"; its changes were undone on {undone[-1].recorded_at:%Y-%m-%d %H:%M:%S} UTC"
    return text


def remaining(store: Store, plan: Plan) -> list[tuple[PlannedStep, str]]:
    """The steps of ``plan`` a resumed run still has to do, each with where it stopped."""
    journal = Journal(store, plan.case_id, None)
    out: list[tuple[PlannedStep, str]] = []
    for step in plan.steps:
        attempt = journal.attempt(step)
        last = attempt.last
        if last in ("verified", "undone") or (last == "skipped" and _already(attempt)):
            continue
        if attempt.write_in_doubt:
            where = "interrupted while the change was being sent: read first, then sent again only if needed"
        elif last == "applied":
            where = "changed, not yet confirmed by a read"
        elif last == "snapshot":
            where = "before-state saved, not changed yet"
        elif last in ("failed", "not_held", "skipped"):
            where = f"ended {last.replace('_', ' ')}: tried again"
        else:
            where = "not started"
        out.append((step, where))
    return out


def journaled_steps(store: Store, case_id: str) -> list[PlannedStep]:
    """Every step ever planned in the case (from its ``planned`` entries), in journal order."""
    seen: dict[str, PlannedStep] = {}
    for e in store.journal(case_id):
        if e.step == "planned" and e.action_id != RUN and e.request:
            for step in steps_from_json([unescape(e.request)]):
                seen.setdefault(step.key, step)
    return list(seen.values())


def access_restored(store: Store, case_id: str) -> bool:
    """True when the last sign-in change journaled in the case was ``restore-access`` (enable-sign-in)."""
    last: str | None = None
    for e in store.journal(case_id):
        if e.step not in ("applied", "undone") or e.action_id not in ("block-sign-in", "enable-sign-in"):
            continue
        if e.action_id == "enable-sign-in":
            last = "enabled" if e.step == "applied" else "blocked"
        else:  # the block undone is an undo, not `restore-access` (verify reports it as undone)
            last = "blocked" if e.step == "applied" else "undone"
    return last == "enabled"


def _user_of(store: Store, case_id: str) -> tuple[str, str]:
    case = store.get_case(case_id)
    user = (case.summary or {}).get("user") or {}
    upn = str(user.get("userPrincipalName") or case.subject)
    return upn, str(user.get("id") or upn)


async def verify_case(conn: Connection, store: Store, case_id: str, *, operator: str | None = None,
                      wait: float = 0.0, poll: float = 5.0, progress: Progress | None = None) -> RunReport:
    """Re-read every applied step of the case and re-check the journal chain (journaled too).

    ``wait``: keep polling steps that are pending (the restricted-sender unblock) for up to this many seconds.
    """
    upn, user_id = _user_of(store, case_id)
    runner = _Runner(conn, store, case_id, upn, user_id, operator=operator, password_sink=None, progress=None)
    report = RunReport(case_id=case_id, user=upn)
    deadline = time.monotonic() + wait
    restored = access_restored(store, case_id)

    async def one(step: PlannedStep) -> Outcome:
        if step.action == "block-sign-in" and restored:
            outcome = Outcome(step, State.SKIPPED, "access was restored with `reclaim restore-access`")
        else:
            outcome = await _verify_one(runner, step)
            while outcome.state is State.PENDING and time.monotonic() + poll <= deadline:
                await asyncio.sleep(poll)
                outcome = await _verify_one(runner, step)
        if progress is not None:
            progress(outcome)
        return outcome

    # every step re-read and every collection re-listed concurrently (the reads are independent)
    steps = journaled_steps(store, case_id)
    *outcomes, listing = await asyncio.gather(*(one(s) for s in steps), relist(runner.ctx, store, case_id))
    report.outcomes = [o for o in outcomes if isinstance(o, Outcome)]
    found: JSON = {}
    if runner.unreached is None and isinstance(listing, Relisting):
        report.relisted = listing.relisted + [f"{label} (not compared: {why})"
                                              for label, why in listing.not_compared.items()]
        report.new_since = [{**item, "advice": advice(upn)} for item in listing.new]
        runner.unread.update({f"re-list {label}": why for label, why in listing.unread.items()})
        found = {"relisted": listing.relisted, **({"notCompared": listing.not_compared}
                                                  if listing.not_compared else {})}
        if listing.new:
            found["newSinceRemediation"] = listing.new
    _close_side_run(runner, "verify", report, found)
    chain = store.verify_chain(case_id)
    report.chain_ok, report.chain_detail = chain.ok, chain.reason or f"{chain.length} entries, head {chain.head_hash}"
    report.total_seconds = time.monotonic() - runner.started
    report.requests = runner.ctx.requests[0]
    return report


async def _verify_one(runner: _Runner, step: PlannedStep) -> Outcome:
    action = ACTIONS[step.action]
    attempt = runner.journal.attempt(step)
    last = attempt.last
    if attempt.undone:
        return Outcome(step, State.UNDONE, "undone")
    if last == "failed" or (last == "skipped" and attempt.snapshot is None and not _already(attempt)):
        entry = attempt.entries[-1]
        reason = str((entry.result or {}).get("reason") or (entry.result or {}).get("error") or last)
        state = State((entry.result or {}).get("state") or ("failed" if last == "failed" else "skipped"))
        return Outcome(step, state, reason)
    if last is None and not action.plannable:
        return Outcome(step, State.SKIPPED, "planned, never run")  # a side run's step (restore-access), not the plan's
    if runner.unreached is not None:
        return runner._not_reached(step)
    before = runner._snapshot_payload(attempt)
    try:
        state = await action.read(runner.ctx, step)
    except Unsupported as exc:
        return Outcome(step, exc.state, str(exc))
    except M365Error as exc:
        # not a result: the step keeps its last real one (journaled at the run's level)
        return runner._not_reached(step, exc) if not_reached(exc) else runner._could_not_read(step, exc)
    check = action.check(step, state, before)
    if last is None:
        # a plan's step, planned in a run that stopped before it (interrupted, not reached, could not read): what
        # the tenant shows now is the answer, never "skipped"; nothing is journaled for a step that never ran
        if check.holds:
            return Outcome(step, State.HELD, f"holds, though no run applied it: {check.detail}")
        return Outcome(step, State.NOT_HELD, f"never applied: {check.detail} (`reclaim remediate --resume "
                                             f"{runner.case_id}` finishes the run)")
    if check.holds:
        runner._write(step, "verified", verify={"holds": True, "detail": check.detail, "by": "verify"})
        return Outcome(step, State.HELD, check.detail)
    if getattr(action, "eventual", False) and attempt.applied:
        runner._write(step, "not_held", verify={"holds": False, "state": "pending", "detail": check.detail})
        return Outcome(step, State.PENDING, f"pending: {check.detail}")
    runner._write(step, "not_held", verify={"holds": False, "state": "not held", "detail": check.detail,
                                           "by": "verify"})
    return Outcome(step, State.NOT_HELD, check.detail)


def _already(attempt: Attempt) -> bool:
    return any(e.step == "skipped" and (e.result or {}).get("reason") == "already holds" for e in attempt.entries)


async def undo_case(conn: Connection, store: Store, case_id: str, *, only: str | None = None,
                    operator: str | None = None, progress: Progress | None = None) -> RunReport:
    """Restore from the snapshots what can be restored, newest change first; journaled as undoing → undone."""
    upn, user_id = _user_of(store, case_id)
    runner = _Runner(conn, store, case_id, upn, user_id, operator=operator, password_sink=None, progress=progress)
    report = RunReport(case_id=case_id, user=upn)
    steps = journaled_steps(store, case_id)
    if only is not None:
        steps = [s for s in steps if only in (s.action, s.key)]
        if not steps:
            raise BadInput(f"case {case_id} has no step {only!r}",
                           hint="name an action (disable-inbox-rule) or a step (disable-inbox-rule:<id>)")
    # newest change first: the reverse of the order the changes were made in
    applied_at = {f"{e.action_id}:{e.target}": e.seq for e in store.journal(case_id) if e.step == "applied"}
    for step in sorted(steps, key=lambda s: -applied_at.get(s.key, 0)):
        report.outcomes.append(await _undo_one(runner, step))
    _close_side_run(runner, "undo", report)
    chain = store.verify_chain(case_id)
    report.chain_ok, report.chain_detail = chain.ok, chain.reason or f"{chain.length} entries, head {chain.head_hash}"
    report.total_seconds = time.monotonic() - runner.started
    report.requests = runner.ctx.requests[0]
    return report


def _close_side_run(runner: _Runner, kind: str, report: RunReport, found: JSON | None = None) -> None:
    """A verify or undo says in a run entry of its own (``run`` / ``verify-N``) what it could not reach or read
    (``skipped``: the steps keep their last real results) and what it found new since the remediation
    (``not_held``); a verify also records what it re-listed."""
    report.not_reached = runner.unreached.one_line() if runner.unreached is not None else None
    what = runner.run_entry()
    if not what and not found:
        return
    n = sum(1 for e in runner.journal.runs() if e.target.startswith(f"{kind}-")) + 1
    missing = [o.step.key for o in report.outcomes if o.state is State.NOT_REACHED]
    result: JSON = {"kind": kind, **(found or {})}
    if what:
        result.update(state="not reached" if runner.unreached is not None else "could not read",
                      reason=what.get("notReached") or "some objects could not be read", **what)
    if missing:
        result["steps"] = missing
    step = "not_held" if result.get("newSinceRemediation") else "skipped" if what else "verified"
    runner.journal.write(RUN, f"{kind}-{n}", step, result=result)


async def _undo_one(runner: _Runner, step: PlannedStep) -> Outcome:
    action = ACTIONS[step.action]
    if runner.unreached is not None:
        return runner._not_reached(step)
    attempt = runner.journal.attempt(step)
    if attempt.undone:
        return runner._done(step, State.UNDONE, "already undone")
    if attempt.snapshot is None or not (attempt.applied or attempt.write_in_doubt):
        return runner._done(step, State.SKIPPED, "nothing to undo: this step changed nothing")
    if not action.reversible:
        runner._write(step, "skipped", result={"reason": "cannot be undone", "detail": action.undo_note})
        return runner._done(step, State.NOT_UNDOABLE, action.undo_note)
    before = runner._snapshot_payload(attempt)
    try:  # look first: nothing is journaled for a tenant that cannot be reached or read
        current = await action.read(runner.ctx, step)
    except Unsupported as exc:
        return runner._done(step, exc.state, str(exc))
    except M365Error as exc:
        return runner._not_reached(step, exc) if not_reached(exc) else runner._could_not_read(step, exc)
    if action.restored(step, current, before):
        runner._write(step, "undone", result={"ok": True, "already": "the tenant already holds the before-state"})
        return runner._done(step, State.UNDONE, "already restored: the tenant holds the before-state")
    runner._write(step, "undoing", request={"action": step.action, "target": step.target,
                                            "restores": attempt.snapshot.before_evidence_id})
    try:
        request = await action.undo(runner.ctx, step, before)
    except Unsupported as exc:
        runner._write(step, "skipped", result={"reason": str(exc), "state": exc.state.value})
        return runner._done(step, exc.state, str(exc))
    except M365Error as exc:
        if not_reached(exc):  # left "undoing": the next undo looks at the tenant before it acts again
            return runner._not_reached(step, exc)
        runner._write(step, "failed", result={"stage": "undo", "error": exc.one_line()})
        return runner._done(step, State.FAILED, exc.one_line())
    runner._write(step, "undone", request=request, result={"ok": True})
    return runner._done(step, State.UNDONE, f"restored ({action.undo_note})")


async def restore_access_checked(conn: Connection, store: Store, case_id: str, *, operator: str | None = None,
                                 force: bool = False) -> tuple[list[RestoreCheck], Outcome | None]:
    """Check (see :mod:`reclaim.remediate.restore`), then re-enable sign-in when every check passed or ``force``;
    ``None`` for the outcome: not re-enabled."""
    upn, user_id = _user_of(store, case_id)
    runner = _Runner(conn, store, case_id, upn, user_id, operator=operator, password_sink=None, progress=None)
    steps = journaled_steps(store, case_id)
    undone = {s.key for s in steps if runner.journal.attempt(s).undone}
    try:
        checks = await restore_checks(runner.ctx, store, case_id, steps, undone)
    except M365Error as exc:
        if not_reached(exc):
            return [RestoreCheck("the tenant", None, f"not reached: {exc.one_line()}")], None
        raise
    if not force and not all(c.ok for c in checks):
        return checks, None
    return checks, await restore_access(conn, store, case_id, operator=operator, runner=runner)


async def restore_access(conn: Connection, store: Store, case_id: str, *, operator: str | None = None,
                         runner: _Runner | None = None) -> Outcome:
    """Re-enable sign-in (``reclaim restore-access``), journaled in the case like any step."""
    upn, user_id = _user_of(store, case_id)
    runner = runner or _Runner(conn, store, case_id, upn, user_id, operator=operator, password_sink=None,
                               progress=None)
    action = ACTIONS["enable-sign-in"]
    step = PlannedStep(action=action.name, target=user_id, label=f"re-enable sign-in for {upn}",
                       phase=action.phase, reason=Reason("restore-access", "info", "the operator restored access"),
                       reversible=action.reversible, undo_note=action.undo_note)
    run_id = _next_run(runner.journal)
    runner.journal.write(RUN, run_id, "applying", request={"kind": "restore-access", "user": upn})
    outcome = await runner.run_step(step)
    runner.journal.write(RUN, run_id, "applied", result={"ok": outcome.state.ok, "state": outcome.state.value,
                                                         **runner.run_entry()})
    return outcome
