"""The five inbox-rule checks and their consolidation: positive, benign look-alike, malformed input."""

from __future__ import annotations

from typing import Any

import pytest

from reclaim.detect.model import Severity
from reclaim.detect.rules import FolderRef, InboxRule, RuleActions, RuleConditions, from_graph
from tests.detect.helpers import graph_rule, one, recipient, rule_findings

# -- inbox-rule-external-forward -------------------------------------------------------------------


def test_external_forward_is_medium_data_leak() -> None:
    f = one(rule_findings(graph_rule(conditions={"subjectContains": ["payroll"]},
                                     actions={"forwardTo": [recipient("me@gmail.com")]})))
    assert f.check == "inbox-rule-external-forward"
    assert f.severity is Severity.MEDIUM
    assert f.artifact.type == "inboxRule" and f.artifact.id == "r1"
    assert "outside" in f.title and "me@gmail.com" in f.title


def test_forward_to_colleague_or_subdomain_is_not_flagged() -> None:
    assert rule_findings(graph_rule(actions={"forwardTo": [recipient("bob@contoso.com"),
                                                           recipient("Shared@EU.Contoso.com")]})) == []


def test_forward_everything_outside_with_dot_name_is_high() -> None:
    f = one(rule_findings(graph_rule(name="..", actions={"redirectTo": [recipient("x@evil.example")]})))
    assert f.severity.rank >= Severity.HIGH.rank
    assert "inbox-rule-suspicious-name" in f.evidence["checks"]


def test_external_forward_from_outside_newsletter_is_low() -> None:
    f = one(rule_findings(graph_rule(conditions={"fromAddresses": [recipient("news@booking.com")]},
                                     actions={"redirectTo": [recipient("me@gmail.com")]})))
    assert f.severity is Severity.LOW


def test_forward_delete_finance_is_critical() -> None:
    f = one(rule_findings(graph_rule(conditions={"bodyOrSubjectContains": ["Überweisung"]},
                                     actions={"forwardTo": [recipient("a@proton.me")], "delete": True})))
    assert f.severity is Severity.CRITICAL
    assert f.check == "inbox-rule-external-forward"
    assert set(f.evidence["checks"]) >= {"inbox-rule-external-forward", "inbox-rule-hiding", "inbox-rule-keywords"}


def test_forward_malformed_recipients_do_not_crash() -> None:
    findings = rule_findings(graph_rule(actions={"forwardTo": [None, 3, {"emailAddress": None}, "garbage"]}))
    assert all(f.severity.rank < Severity.MEDIUM.rank for f in findings)


def test_forward_without_accepted_domains_is_not_checked() -> None:
    from reclaim.detect.evidence import NotCollected
    from tests.detect.helpers import not_checked, run

    a = run(graph_rules=[graph_rule(actions={"forwardTo": [recipient("x@gmail.com")]})],
            exo_rules=[], accepted_domains=NotCollected("missing permission Domain.Read.All"))
    assert not_checked(a, "inbox-rule-external-forward")
    assert all(f.severity.rank < Severity.MEDIUM.rank for f in a.findings)

# -- inbox-rule-hiding ------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["RSS Feeds", "RSS-Feeds", "Flux RSS", "Fuentes RSS", "Kanały RSS",
                                    "Conversation History", "Unterhaltungsverlauf", "Notes"])
def test_move_to_unusual_folder_with_warning_words_is_high(folder: str) -> None:
    rule = InboxRule("r9", "x y z", "exo", conditions=RuleConditions(subject=("phishing",)),
                     actions=RuleActions(move_to=FolderRef(None, folder)))
    f = one(rule_findings(rule))
    assert f.check == "inbox-rule-hiding" and f.severity.rank >= Severity.HIGH.rank


def test_delete_everything_is_high() -> None:
    f = one(rule_findings(graph_rule(actions={"delete": True})))
    assert f.severity is Severity.HIGH
    assert "every incoming message" in f.title


def test_single_vowel_condition_counts_as_all_mail() -> None:
    f = one(rule_findings(graph_rule(conditions={"subjectContains": ["e"]}, actions={"permanentDelete": True})))
    assert f.severity is Severity.HIGH


@pytest.mark.parametrize("rule", [
    graph_rule(conditions={"fromAddresses": [recipient("deals@shop.example")]},
               actions={"moveToFolder": "junkemail", "stopProcessingRules": True}),
    graph_rule(conditions={"subjectContains": ["newsletter"]}, actions={"delete": True}),
    graph_rule(conditions={"subjectContains": ["Newsletter Signups"]},
               actions={"moveToFolder": "archive", "markAsRead": True}),
])
def test_benign_tidying_stays_low(rule: dict[str, Any]) -> None:
    assert all(f.severity.rank <= Severity.LOW.rank for f in rule_findings(rule))


def test_move_to_user_folder_is_not_flagged() -> None:
    folders = {"f1": {"id": "f1", "displayName": "Newsletters"}}
    rule = from_graph(graph_rule(conditions={"senderContains": ["news"]}, actions={"moveToFolder": "f1"}), folders)
    assert rule_findings(rule) == []


def test_hiding_with_malformed_actions_does_not_crash() -> None:
    rule = from_graph(graph_rule(actions="delete everything"))  # type: ignore[arg-type]
    assert rule.problems
    assert rule_findings(rule) == []

# -- inbox-rule-suspicious-name ---------------------------------------------------------------------


@pytest.mark.parametrize("name", [".", "..", ";;;", ",,", " ", "\u200b", "发"])
def test_disguised_name_raises_a_hiding_rule(name: str) -> None:
    f = one(rule_findings(graph_rule(name=name, conditions={"subjectContains": ["report"]},
                                     actions={"moveToFolder": "junkemail"})))
    assert f.severity is Severity.MEDIUM
    assert "inbox-rule-suspicious-name" in f.evidence["checks"]


@pytest.mark.parametrize("name", ["HR", "Uber", "1. Nuke the Newsletters"])
def test_short_real_names_stay_low(name: str) -> None:
    f = one(rule_findings(graph_rule(name=name, conditions={"fromAddresses": [recipient("a@uber.com")]},
                                     actions={"moveToFolder": "junkemail"})))
    assert f.severity is Severity.LOW


def test_name_alone_is_low_and_bad_name_type_is_tolerated() -> None:
    assert one(rule_findings(graph_rule(name=".", actions={"markImportance": "high"}))).severity is Severity.LOW
    odd = rule_findings(graph_rule(name=None, actions={"markImportance": "high"}))  # type: ignore[arg-type]
    assert all(f.severity.rank <= Severity.LOW.rank for f in odd)

# -- inbox-rule-keywords ----------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["invoice", "Rechnung", "virement", "factura", "fattura", "factuur",
                                  "pagamento", "przelew", "wire transfer", "W-2", "ACH"])
def test_finance_words_make_hiding_high(word: str) -> None:
    f = one(rule_findings(graph_rule(conditions={"subjectContains": [word]}, actions={"moveToFolder": "archive"})))
    assert f.severity is Severity.HIGH, word


@pytest.mark.parametrize("word", ["hacked", "Phishing", "verdächtig", "mot de passe", "contraseña", "wachtwoord",
                                  "hasło", "did you send"])
def test_warning_words_make_hiding_high(word: str) -> None:
    f = one(rule_findings(graph_rule(conditions={"bodyOrSubjectContains": [word]}, actions={"delete": True})))
    assert f.severity is Severity.HIGH, word


def test_keywords_alone_or_lookalike_words_are_not_flagged() -> None:
    assert rule_findings(graph_rule(conditions={"subjectContains": ["Invoice", "Budget"]},
                                    actions={"assignCategories": ["Finance"]})) == []
    # "coach" contains "ach", "spam" is not a warning term (gateways tag [SPAM])
    assert all(f.severity is Severity.LOW for f in rule_findings(
        graph_rule(conditions={"subjectContains": ["coach", "[SPAM]"]}, actions={"moveToFolder": "junkemail"})))


def test_keywords_of_wrong_type_are_ignored() -> None:
    findings = rule_findings(graph_rule(conditions={"subjectContains": [1, None, {"x": 1}, True]},
                                        actions={"moveToFolder": "junkemail"}))
    assert all(f.severity.rank <= Severity.LOW.rank for f in findings)

# -- inbox-rule-hidden ------------------------------------------------------------------------------


def test_hidden_deleting_rule_is_at_least_high() -> None:
    from tests.detect.helpers import run

    exo = {"Name": "x", "RuleIdentity": "42", "Priority": 1, "Enabled": True, "DeleteMessage": True,
           "SubjectContainsWords": ["security alert"]}
    a = run(graph_rules=[], exo_rules=[exo])
    f = one([f for f in a.findings if f.artifact.type == "inboxRule"])
    assert f.artifact.id == "42"
    assert f.severity is Severity.CRITICAL
    assert "inbox-rule-hidden" in f.evidence["checks"] and f.title.startswith("Hidden inbox rule")


def test_system_hidden_rules_are_ignored() -> None:
    from tests.detect.helpers import run

    a = run(graph_rules=[], exo_rules=[{"Name": "Junk E-Mail Rule", "RuleIdentity": "1", "Enabled": True},
                                       {"Name": "Microsoft.Exchange.OOF.KnownSenders.Template", "RuleIdentity": "2"}])
    assert [f for f in a.findings if f.artifact.type == "inboxRule"] == []


def test_hidden_rule_only_noted_when_visible_in_graph() -> None:
    from tests.detect.helpers import run

    g = graph_rule("AQAAAJ5dZp8=", "Tidy", conditions={"subjectContains": ["build"]}, actions={"delete": True})
    exo = {"Name": "Tidy", "RuleIdentity": "3296353452258492417", "Priority": 1, "DeleteMessage": True,
           "SubjectContainsWords": ["build"]}
    a = run(graph_rules=[g], exo_rules=[exo])
    f = one([f for f in a.findings if f.artifact.type == "inboxRule"])
    assert f.artifact.id == "AQAAAJ5dZp8=" and f.evidence["exchangeRuleIdentity"] == "3296353452258492417"
    assert not f.evidence["hidden"] and f.severity is Severity.LOW


def test_hidden_check_not_run_without_exchange_rules() -> None:
    from reclaim.detect.evidence import NotCollected
    from tests.detect.helpers import not_checked, run

    a = run(graph_rules=[], exo_rules=NotCollected("missing role Exchange Administrator"))
    assert "missing role Exchange Administrator" in not_checked(a, "inbox-rule-hidden")[0]


def test_malformed_exchange_rule_is_tolerated() -> None:
    from tests.detect.helpers import run

    a = run(graph_rules=[], exo_rules=[{"Name": ["not", "a", "string"], "Enabled": "maybe", "DeleteMessage": "x"},
                                       "not an object", 17])
    assert not [n for n in a.not_checked if n.check.startswith("inbox-rule") and "read" in n.reason]


def test_disabled_rule_is_one_level_lower() -> None:
    f = one(rule_findings(graph_rule(isEnabled=False, actions={"delete": True})))
    assert f.severity is Severity.MEDIUM and "disabled" in " ".join(f.reasons)


def test_system_rules_stay_quiet_unless_they_forward_out() -> None:
    junk = {"Name": "Junk E-Mail Rule", "RuleIdentity": "1", "MoveToFolder": "Junk Email", "IsHidden": True}
    oof = {"Name": "Microsoft.Exchange.OOF.KnownSenders.Template", "RuleIdentity": "2", "DeleteMessage": True}
    assert rule_findings(junk, oof) == []
    fake = {"Name": "Junk E-Mail Rule", "RuleIdentity": "3", "ForwardTo": ["x@evil.example"]}
    assert one(rule_findings(fake)).severity is Severity.HIGH  # forwards every message out
