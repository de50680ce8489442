"""Checks: one module each under :mod:`reclaim.detect.checks`, discovered at load.

A check module defines ``METADATA`` (a :class:`CheckMeta`) and exactly one of

- ``run(bundle, context) -> list[Finding] | NotChecked``: a check over the evidence bundle; or
- ``assess(rule, context) -> list[RuleSignal]``: a rule check. Rule checks do not emit findings
  themselves: the engine collects the signals of every rule check on one rule and
  :mod:`reclaim.detect.rulescore` turns them into ONE finding per rule (severity = the strongest
  signal, raised by combinations; every reason listed), so a rule's artifact id appears once.

A check describes itself, so the core keeps no list of check ids: what it is about (``scope``), whether
its findings are attack indicators, exposures or context (``kind``), the evidence it cannot run without
(``needs``: the engine reports "not checked: reason" instead of running it; a sweep runs exactly the
checks whose needs it collects), the evidence it also reads when there (``reads``), how its findings
correlate (``attempt_only``, ``marks_attacker_ip``, ``raised_by_attacker_ip``), which of their evidence
fields are indicators to hunt for elsewhere (``indicators``), and what a person should do when no
remediation action answers the finding (``advice``).

Metadata is validated at load: the id is the module name with dashes, the title and severity logic
are present, the references are URLs or source names, every evidence kind exists. Adding a check =
adding one file + its test; a check imports what it needs from :mod:`reclaim.detect.api`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from reclaim.detect.model import FINDING_KINDS, SCOPES, Finding, FindingKind, NotChecked, Scope

if TYPE_CHECKING:
    from reclaim.detect.context import Context, RuleSignal
    from reclaim.detect.evidence import EvidenceBundle
    from reclaim.detect.rules import InboxRule

#: phase 1 checks find the attacker's footprints; phase 2 checks judge what was created inside the
#: suspicious window derived from phase 1 (methods, devices, grants, delegates, auto-replies).
Phase = Literal[1, 2]

#: What a hunt looks for across the tenant (``reclaim hunt``): attacker addresses, forwarding destinations
#: (and their domains), application ids, rule names and keyword sets, phishing subjects.
IOC_KINDS: tuple[str, ...] = ("ip", "address", "domain", "app", "rule", "subject", "keywords")


@dataclass(frozen=True)
class CheckMeta:
    id: str
    title: str
    severity: str
    """How severity is earned, in a sentence or two."""
    symptom: str
    """The procedure symptom covered, or "beyond the procedure"."""
    references: tuple[str, ...]
    scope: Scope
    """What the findings are about: the user's account, their mailbox, or the whole tenant."""
    tenant_findings: bool = False
    """Besides findings of its ``scope``, some of its findings are about the whole tenant (a consent given for
    every user): a sweep runs it once on the tenant-wide lists too."""
    kind: FindingKind = "compromise"
    """``compromise`` (attack indicator: can make a verdict), ``exposure`` (advice, never a verdict) or
    ``context`` (information)."""
    phase: Phase = 1
    needs: tuple[str, ...] = ()
    """Evidence kinds (:class:`~reclaim.detect.evidence.EvidenceBundle` field names) the check cannot run
    without; ``"a|b"`` means either one. When one is not collected, the engine reports the check as not
    checked, with the reason the evidence is missing, and does not run it."""
    reads: tuple[str, ...] = ()
    """Evidence kinds the check uses when they were collected (dates, addresses) and does without."""
    attempt_only: bool = False
    """Its findings say someone tried, or that Microsoft suspects; not that an attacker got in or acted."""
    marks_attacker_ip: bool = False
    """Its findings of medium or more name an attacker's address (``evidence["ipAddress"]``)."""
    raised_by_attacker_ip: bool = False
    """A change it finds, made from an attacker's address (``evidence["auditEvents"][].clientIP``,
    ``setFromIP``, ``clientIP``), is the attacker's own work: at least high."""
    indicators: tuple[tuple[str, str], ...] = ()
    """(IOC kind, evidence key) pairs: where its findings hold indicators a hunt looks for elsewhere."""
    advice: str = ""
    """What a person should do about a finding no remediation action answers (a tenant mail-flow rule)."""

    @property
    def finds_tenant(self) -> bool:
        """Some of its findings can be tenant-scoped."""
        return self.scope == "tenant" or self.tenant_findings

    def needed_kinds(self) -> set[str]:
        """Every evidence kind named in ``needs`` (either side of an ``a|b``)."""
        return {kind for need in self.needs for kind in need.split("|")}


class CheckDefinitionError(Exception):
    """A check module is malformed (raised at load: a broken check must not go unnoticed)."""


RunFn = Callable[["EvidenceBundle", "Context"], "list[Finding] | NotChecked"]
#: a rule check's answer: why it worries about the rule, or why it could not judge it
AssessFn = Callable[["InboxRule", "Context"], "Sequence[RuleSignal | NotChecked]"]


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
    if meta.kind not in FINDING_KINDS or meta.scope not in SCOPES or meta.phase not in (1, 2):
        raise CheckDefinitionError(f"{module.__name__}: bad kind, scope or phase")
    from reclaim.detect.evidence import EVIDENCE_KINDS

    unknown = sorted((meta.needed_kinds() | set(meta.reads)) - EVIDENCE_KINDS)
    if unknown:
        raise CheckDefinitionError(f"{module.__name__}: names unknown evidence {unknown}")
    bad_iocs = [kind for kind, _ in meta.indicators if kind not in IOC_KINDS]
    if bad_iocs:
        raise CheckDefinitionError(f"{module.__name__}: unknown indicator kinds {bad_iocs}")
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


@cache
def _metas() -> dict[str, CheckMeta]:
    return {c.meta.id: c.meta for c in checks()}


def meta_of(check_id: str) -> CheckMeta:
    """The metadata of a built-in check (raises ``KeyError`` for an unknown id)."""
    return _metas()[check_id]


def resolve(finding: Finding) -> Finding:
    """The finding with its check's ``kind`` and ``scope`` filled in where the check left them unset (a
    finding of no built-in check: a compromise indicator about the user). Refuses a compromise finding
    from a check that does not report compromise (an exposure check can never make a verdict)."""
    try:
        meta: CheckMeta | None = meta_of(finding.check)
    except KeyError:
        meta = None
    kind = finding.kind or (meta.kind if meta else "compromise")
    if meta is not None and kind == "compromise" and meta.kind != "compromise":
        raise CheckDefinitionError(f"{meta.id} is a check of kind {meta.kind}: it cannot report a compromise")
    scope = finding.scope or (meta.scope if meta else "user")
    if finding.kind == kind and finding.scope == scope:
        return finding
    return replace(finding, kind=kind, scope=scope)


def by_id(check_id: str, available: Sequence[Check] | None = None) -> Check:
    for check in available or checks():
        if check.meta.id == check_id:
            return check
    raise KeyError(check_id)
