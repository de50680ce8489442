"""Judgement by scope and kind: a user's verdict rests only on compromise indicators about them or their mailbox.

Exposure findings (MFA not required, weak password policy) are advice and tenant-scoped findings (a mail-flow
rule, a consent for every user, audit ingestion off) make the tenant's own verdict: neither ever makes a user
compromised. These tests go over every check the registry has, so a new check is held to it too.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaim.detect import correlate
from reclaim.detect.model import Artifact, Finding, Severity
from reclaim.detect.registry import CheckDefinitionError, checks, resolve
from tests.detect.helpers import NOW

EXPOSURE = [c.meta.id for c in checks() if c.meta.kind == "exposure"]
TENANT = [c.meta.id for c in checks() if c.meta.finds_tenant]
COMPROMISE = [c.meta.id for c in checks() if c.meta.kind == "compromise" and c.meta.scope != "tenant"]


def _finding(check: str, severity: Severity, **kw: object) -> Finding:
    return resolve(Finding(check, severity, "t", Artifact("user", f"{check}-{severity}"), **kw))  # type: ignore[arg-type]


def test_every_check_states_its_scope_and_kind() -> None:
    for c in checks():
        assert c.meta.scope in ("user", "mailbox", "tenant") and c.meta.kind in ("compromise", "exposure", "context")
    assert EXPOSURE and TENANT and len(COMPROMISE) > 10


@pytest.mark.parametrize("check", EXPOSURE)
@pytest.mark.parametrize("severity", list(Severity))
def test_no_exposure_finding_changes_a_verdict(check: str, severity: Severity) -> None:
    exposure = _finding(check, severity)
    assert exposure.kind == "exposure"
    for base in ([], [_finding("mailbox-forwarding", Severity.MEDIUM)],
                 [_finding("sign-in-anomalies", Severity.HIGH)]):
        assert correlate.verdict([*base, exposure], [], None) == correlate.verdict(base, [], None)
        assert correlate.tenant_verdict([*base, exposure]) == correlate.tenant_verdict(base)


@pytest.mark.parametrize("check", EXPOSURE)
def test_an_exposure_check_cannot_report_a_compromise(check: str) -> None:
    with pytest.raises(CheckDefinitionError, match="cannot report a compromise"):
        _finding(check, Severity.HIGH, kind="compromise")


@pytest.mark.parametrize("check", TENANT)
def test_tenant_findings_never_make_a_user_compromised(check: str) -> None:
    tenant = _finding(check, Severity.CRITICAL, scope="tenant")
    assert correlate.verdict([tenant], [], None).name.value == "clean"
    assert correlate.tenant_verdict([tenant]).name.value == "compromised"
    dated = _finding(check, Severity.CRITICAL, scope="tenant", time=NOW - timedelta(days=1))
    assert correlate.suspicious_window([dated], NOW) == (None, None)  # the tenant is not the user


def test_context_findings_never_count() -> None:
    context = _finding("directory-profile-change", Severity.HIGH, kind="context")
    assert correlate.verdict([context], [], None).name.value == "clean"
