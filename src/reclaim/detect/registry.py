"""Checks: one module each under :mod:`reclaim.detect.checks`, discovered at load.

A check module defines ``METADATA`` (a :class:`CheckMeta`) and exactly one of

- ``run(bundle, context) -> list[Finding] | NotChecked``: a check over the evidence bundle; or
- ``assess(rule, context) -> list[RuleSignal]``: a rule check. Rule checks do not emit findings
  themselves: the engine collects the signals of every rule check on one rule and
  :mod:`reclaim.detect.rulescore` turns them into ONE finding per rule (severity = the strongest
  signal, raised by combinations; every reason listed), so a rule's artifact id appears once.

Metadata is validated at load: the id is the module name with dashes, the title and severity logic
are present, the references are URLs or source names. Adding a check = adding one file + its tests.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from reclaim.detect.model import Finding, FindingKind, NotChecked

if TYPE_CHECKING:
    from reclaim.detect.context import Context, RuleSignal
    from reclaim.detect.evidence import EvidenceBundle
    from reclaim.detect.rules import InboxRule

#: phase 1 checks find the attacker's footprints; phase 2 checks judge what was created inside the
#: suspicious window derived from phase 1 (methods, devices, grants, delegates, auto-replies).
Phase = Literal[1, 2]


@dataclass(frozen=True)
class CheckMeta:
    id: str
    title: str
    severity: str
    """How severity is earned, in a sentence or two."""
    symptom: str
    """The procedure symptom covered, or "beyond the procedure"."""
    references: tuple[str, ...]
    kind: FindingKind = "compromise"
    phase: Phase = 1
    needs: tuple[str, ...] = ()
    """Evidence kinds (EvidenceBundle field names) the check reads."""


class CheckDefinitionError(Exception):
    """A check module is malformed (raised at load: a broken check must not go unnoticed)."""


RunFn = Callable[["EvidenceBundle", "Context"], "list[Finding] | NotChecked"]
AssessFn = Callable[["InboxRule", "Context"], "list[RuleSignal]"]


@dataclass(frozen=True)
class Check:
    meta: CheckMeta
    run: RunFn | None = None
    assess: AssessFn | None = None


def _validate(module: ModuleType, short_name: str) -> Check:
    meta = getattr(module, "METADATA", None)
    if not isinstance(meta, CheckMeta):
        raise CheckDefinitionError(f"{module.__name__}: METADATA must be a CheckMeta")
    expected = short_name.replace("_", "-")
    if meta.id != expected:
        raise CheckDefinitionError(f"{module.__name__}: id {meta.id!r} must be {expected!r}")
    for attr in ("title", "severity", "symptom"):
        if not getattr(meta, attr).strip():
            raise CheckDefinitionError(f"{module.__name__}: METADATA.{attr} is empty")
    if not meta.references:
        raise CheckDefinitionError(f"{module.__name__}: METADATA.references is empty")
    if meta.kind not in ("compromise", "prevention") or meta.phase not in (1, 2):
        raise CheckDefinitionError(f"{module.__name__}: bad kind or phase")
    from reclaim.detect.evidence import EvidenceBundle

    known = set(EvidenceBundle.__dataclass_fields__)
    unknown = [n for n in meta.needs if n not in known]
    if unknown:
        raise CheckDefinitionError(f"{module.__name__}: needs unknown evidence {unknown}")
    run = getattr(module, "run", None)
    assess = getattr(module, "assess", None)
    if (run is None) == (assess is None):
        raise CheckDefinitionError(f"{module.__name__}: define exactly one of run() or assess()")
    return Check(meta, run=run, assess=assess)


def load(package: str = "reclaim.detect.checks") -> tuple[Check, ...]:
    pkg = importlib.import_module(package)
    found: list[Check] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        found.append(_validate(importlib.import_module(f"{package}.{info.name}"), info.name))
    return tuple(found)


@cache
def checks() -> tuple[Check, ...]:
    """Every built-in check, sorted by id."""
    return load()


def by_id(check_id: str, available: Sequence[Check] | None = None) -> Check:
    for check in available or checks():
        if check.meta.id == check_id:
            return check
    raise KeyError(check_id)
