"""Remediation actions, one module each, found at import (no list to keep): a module defines one
:class:`Action` subclass and ``ACTION = TheAction()``. ``ACTIONS`` maps each action's name to it, in the order
the procedure runs them (phase, then the action's ``order``)."""

from __future__ import annotations

import importlib
import pkgutil

from reclaim.remediate.actions._base import (
    Action,
    ActionContext,
    Check,
    PasswordSink,
    Requires,
    Undelivered,
    Unsupported,
)


def _discover() -> dict[str, Action]:
    found: list[Action] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        action = getattr(module, "ACTION", None)
        if not isinstance(action, Action):
            raise TypeError(f"{module.__name__}: ACTION must be an Action instance")
        if action.name.replace("-", "_") != info.name:
            raise TypeError(f"{module.__name__}: the action's name {action.name!r} must be the module's name")
        found.append(action)
    found.sort(key=lambda a: (a.phase.rank, a.order, a.name))
    return {a.name: a for a in found}


ACTIONS: dict[str, Action] = _discover()

__all__ = ["ACTIONS", "Action", "ActionContext", "Check", "PasswordSink", "Requires", "Undelivered", "Unsupported"]
