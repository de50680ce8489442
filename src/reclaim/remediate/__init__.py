"""Remediation: plan, apply, verify and undo the procedure's steps, journaled and resumable.

::

    plan = plan_for_case(store, case_id, PlanOptions(delete_rules=False))
    report = await apply_plan(conn, store, plan, password_sink=show_once)
    report = await verify_case(conn, store, case_id)
    report = await undo_case(conn, store, case_id, only="disable-inbox-rule")

One module per action in :mod:`reclaim.remediate.actions`; the order and the choice of steps in
:mod:`reclaim.remediate.playbook`; the journal's protocol in :mod:`reclaim.remediate.journal`.
"""

from reclaim.remediate.actions import ACTIONS, Action, ActionContext, PasswordSink
from reclaim.remediate.actions.reset_password import generate_password
from reclaim.remediate.model import Advice, LeftAlone, Outcome, Phase, Plan, PlannedStep, Reason, RunReport, State
from reclaim.remediate.playbook import PlanOptions, build_plan, plan_for_case
from reclaim.remediate.runner import (
    access_restored,
    apply_plan,
    journaled_steps,
    remaining,
    restore_access,
    restore_access_checked,
    resume_plan,
    undo_case,
    verify_case,
)

__all__ = [
    "ACTIONS",
    "Action",
    "ActionContext",
    "Advice",
    "LeftAlone",
    "Outcome",
    "PasswordSink",
    "Phase",
    "Plan",
    "PlanOptions",
    "PlannedStep",
    "Reason",
    "RunReport",
    "State",
    "access_restored",
    "apply_plan",
    "build_plan",
    "generate_password",
    "journaled_steps",
    "plan_for_case",
    "remaining",
    "restore_access",
    "restore_access_checked",
    "resume_plan",
    "undo_case",
    "verify_case",
]
