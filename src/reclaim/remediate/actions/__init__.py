"""Remediation actions, one module each (``plan`` lives in the playbook; ``read`` / ``check`` / ``apply`` /
``undo`` here). ``ACTIONS`` maps each action's name to it, in the order the playbook runs them."""

from __future__ import annotations

from reclaim.remediate.actions import (
    block_sign_in,
    confirm_compromised,
    delete_inbox_rule,
    disable_automatic_replies,
    disable_inbox_rule,
    disable_legacy_protocols,
    disable_sweep_rule,
    enable_sign_in,
    remove_auth_method,
    remove_forwarding,
    remove_mailbox_permission,
    remove_mobile_device,
    remove_recipient_permission,
    require_mfa_registration,
    reset_password,
    revoke_oauth_grant,
    revoke_sessions,
    unblock_sender,
)
from reclaim.remediate.actions._base import Action, ActionContext, Check, PasswordSink, Unsupported

ACTIONS: dict[str, Action] = {a.name: a for a in (
    block_sign_in.ACTION, revoke_sessions.ACTION, reset_password.ACTION,
    remove_forwarding.ACTION, disable_inbox_rule.ACTION, delete_inbox_rule.ACTION, disable_sweep_rule.ACTION,
    remove_mailbox_permission.ACTION, remove_recipient_permission.ACTION, revoke_oauth_grant.ACTION,
    remove_auth_method.ACTION, remove_mobile_device.ACTION, disable_legacy_protocols.ACTION,
    disable_automatic_replies.ACTION, confirm_compromised.ACTION,
    unblock_sender.ACTION, enable_sign_in.ACTION, require_mfa_registration.ACTION,
)}

__all__ = ["ACTIONS", "Action", "ActionContext", "Check", "PasswordSink", "Unsupported"]
