"""The real Microsoft-Extractor-Suite export (mes-demo-tenant/MailboxRules.csv): 110 rules of 16 users."""

from __future__ import annotations

import pytest

from reclaim.detect.engine import Analysis, analyze_rules
from reclaim.detect.model import Severity
from reclaim.detect.rulecsv import by_user, parse_file
from tests.shared_data import PUBLIC

DATA = PUBLIC / "mes-demo-tenant"
MES = DATA / "MailboxRules.csv"
DOMAIN = "bonacu.onmicrosoft.com"

pytestmark = pytest.mark.skipif(not MES.exists(), reason="shared sample data not present")


@pytest.fixture(scope="module")
def analyses() -> dict[str, Analysis]:
    grouped = by_user(parse_file(MES))
    return {user.split("@")[0]: analyze_rules(rules, domains=[DOMAIN], mailbox=user) for user, rules in grouped.items()}


def _severity(analyses: dict[str, Analysis], user: str, rule: str) -> Severity | None:
    for f in analyses[user].findings:
        if f.evidence["name"].strip() == rule:
            return f.severity
    return None


def test_counts() -> None:
    rows = parse_file(MES)
    assert len(rows) == 110
    assert len(by_user(rows)) == 16
    assert all(r.rule.id.isdigit() for r in rows)
    assert sum(1 for r in rows if "\n" in (r.rule.description or "")) > 100  # multi-line cells survived


@pytest.mark.parametrize(("user", "rule", "floor"), [
    ("jacksone", "forward", Severity.CRITICAL),   # protonmail + delete + invoice/payment
    ("sarahr27", ".", Severity.CRITICAL),         # "." + Archive + phishing/compromise/hack
    ("garciad", "发", Severity.HIGH),             # one character + delete mail from security@alerts.com
    ("richardd16", "Large Attachment Warning", Severity.HIGH),  # every message > 1 KB to Junk
])
def test_known_malicious_rules_are_flagged(analyses: dict[str, Analysis], user: str, rule: str,
                                           floor: Severity) -> None:
    severity = _severity(analyses, user, rule)
    assert severity is not None and severity.rank >= floor.rank
    assert analyses[user].verdict.name.value == "compromised"


@pytest.mark.parametrize(("user", "rule"), [
    ("sarahr27", "Payslips"),          # payroll to a personal gmail: data leaves, not proof of attack
    ("davism", "pay slip"),
    ("richardd16", "Forward Invoices"),  # internal + an outside address
])
def test_personal_forwarding_of_pay_is_medium(analyses: dict[str, Analysis], user: str, rule: str) -> None:
    assert _severity(analyses, user, rule) is Severity.MEDIUM


@pytest.mark.parametrize(("user", "rule"), [
    ("garciad", "IT invoices"), ("garciad", "Uber"), ("garciad", "DevOps Alert Forward"),
    ("jacksone", "Weekly Reports Backup"), ("jacksone", "Remove Newsletters"), ("millerj", "Legal Capture"),
    ("ktaylor", "Remove spam"), ("richardw62", "Newsletter Signups"), ("davism", "Newsletter Redirect"),
    ("smoore", "Annoying Colleague"), ("sgarcia", "Redirect External Counsel to Shared Mailbox"),
    ("jonesk", "Color Code Budget Threads"), ("williamsj", "Security Alerts"),
])
def test_benign_rules_stay_below_medium(analyses: dict[str, Analysis], user: str, rule: str) -> None:
    severity = _severity(analyses, user, rule)
    assert severity is None or severity.rank < Severity.MEDIUM.rank


def test_clean_mailboxes(analyses: dict[str, Analysis]) -> None:
    clean = {u for u, a in analyses.items() if a.verdict.name.value == "clean"}
    assert {"millerj", "charles.taylor", "patriciad89", "smoore", "william.jackson"} <= clean
    assert {"jacksone", "sarahr27", "garciad"}.isdisjoint(clean)


def test_old_mes_format() -> None:
    old = DATA / "20230926091150_MailboxRules.csv"
    (row,) = parse_file(old)
    assert row.user == "FortunaHodan" and row.rule.name == ".."
    a = analyze_rules([row.rule], domains=["fortuna.example"], mailbox=row.user)
    assert a.findings[0].severity.rank >= Severity.HIGH.rank
