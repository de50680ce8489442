"""The normalised InboxRule: Graph, Exchange and CSV shapes; folders; external addresses (property tests)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclaim.detect.addresses import Recipient, parse_recipients
from reclaim.detect.lexicon import FolderKind, folder_kind
from reclaim.detect.rules import InboxRule, from_exchange, from_graph, merge_rules

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
graph_keys = st.sampled_from(["id", "displayName", "sequence", "isEnabled", "conditions", "actions", "exceptions",
                              "forwardTo", "moveToFolder", "delete", "subjectContains", "emailAddress"])
exo_keys = st.sampled_from(["Name", "RuleIdentity", "Identity", "Enabled", "Priority", "ForwardTo", "RedirectTo",
                            "MoveToFolder", "DeleteMessage", "SoftDeleteMessage", "MarkAsRead", "From",
                            "SubjectContainsWords", "WithinSizeRangeMinimum", "Description", "IsHidden"])


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(graph_keys, json_value, max_size=8),
       st.dictionaries(st.sampled_from(["forwardTo", "redirectTo", "moveToFolder", "delete", "markAsRead"]),
                       json_value, max_size=5))
def test_any_graph_shape_normalises(raw: dict[str, Any], actions: dict[str, Any]) -> None:
    raw = dict(raw)
    raw.setdefault("actions", actions)
    rule = from_graph(raw, {"f": {"id": "f", "displayName": "RSS Feeds"}})
    assert isinstance(rule, InboxRule) and isinstance(rule.evidence(), dict)
    _ = rule.applies_to_all


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(exo_keys, json_value, max_size=10))
def test_any_exchange_or_csv_shape_normalises(raw: dict[str, Any]) -> None:
    for source in ("exo", "csv"):
        rule = from_exchange(raw, source)
        assert isinstance(rule, InboxRule)
        assert all(isinstance(r, Recipient) for r in rule.actions.recipients)


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[a-z0-9.]{1,10}", fullmatch=True), st.from_regex(r"[a-z0-9]{1,8}\.[a-z]{2,5}", fullmatch=True),
       st.sampled_from(["", "smtp:", "SMTP:"]), st.booleans())
def test_external_invariants(local: str, domain: str, prefix: str, upper: bool) -> None:
    address = f"{prefix}{local}@{domain}"
    address = address.upper() if upper else address
    (r,) = parse_recipients(address)
    assert not r.is_external([domain])                  # its own domain is internal, any case/prefix
    assert not r.is_external([domain.upper() + "."])
    assert not r.is_external(["x.invalid", domain])
    (sub,) = parse_recipients(f"{local}@mail.{domain}")
    assert not sub.is_external([domain])                # a subdomain of an accepted domain is internal
    assert r.is_external(["other-" + domain])           # a look-alike suffix is not
    assert r.is_external([])                            # nothing accepted: everything is outside
    (ex,) = parse_recipients(f'"{local}" [EX:/o=ExchangeLabs/ou=Exchange/cn=Recipients/cn={local}]')
    assert not ex.is_external([])                       # legacy DNs live in the tenant


def test_csv_recipient_cells() -> None:
    cell = ('"William Jackson" [EX:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/'
            'cn=0f72-d0] "richardd16@bauscn.com" [SMTP:richardd16@bauscn.com]')
    ex, smtp = parse_recipients(cell)
    assert ex.kind == "legacyDN" and ex.name == "William Jackson"
    assert smtp.address == "richardd16@bauscn.com" and smtp.is_external(["bonacu.onmicrosoft.com"])
    assert [r.address for r in parse_recipients("a@x.com; b@y.com")] == ["a@x.com", "b@y.com"]
    assert parse_recipients({"emailAddress": {"address": "SMTP:A@B.com"}})[0].address == "A@B.com"


@pytest.mark.parametrize(("name", "kind"), [
    ("RSS Feeds", FolderKind.RSS), ("RSS-Feeds", FolderKind.RSS), ("Flux RSS", FolderKind.RSS),
    ("Fuentes RSS", FolderKind.RSS), ("RSS-feeds", FolderKind.RSS), ("Feed RSS", FolderKind.RSS),
    ("Kanały RSS", FolderKind.RSS), ("RSS Subscriptions", FolderKind.RSS), ("Notes", FolderKind.NOTES),
    ("Junk E-Mail", FolderKind.JUNK), ("Junk-E-Mail", FolderKind.JUNK), ("Courrier indésirable", FolderKind.JUNK),
    ("Ongewenste e-mail", FolderKind.JUNK), ("Correo no deseado", FolderKind.JUNK),
    ("Posta indesiderata", FolderKind.JUNK), ("Gelöschte Elemente", FolderKind.DELETED),
    ("Unterhaltungsverlauf", FolderKind.CONVERSATION_HISTORY),
    ("Historique des conversations", FolderKind.CONVERSATION_HISTORY), ("Archiv", FolderKind.ARCHIVE),
    ("alice:\\Inbox\\RSS Feeds", FolderKind.RSS), ("6a1c-user:\\Junk Email", FolderKind.JUNK),
    ("Project Coffee", None), ("Invoices", None), ("RSS Feeds old", None),
])
def test_folder_names_across_languages(name: str, kind: FolderKind | None) -> None:
    assert folder_kind(name) is kind


def test_graph_folder_ids_resolve_through_folder_list() -> None:
    folders = {"AAMk=": {"id": "AAMk=", "displayName": "RSS-Feeds"}, "B": {"id": "B", "wellKnownName": "junkemail"}}
    rule = from_graph({"id": "r", "displayName": "x", "actions": {"moveToFolder": "AAMk=", "copyToFolder": "B"}},
                      folders)
    assert rule.actions.move_to is not None and rule.actions.move_to.kind is FolderKind.RSS
    assert rule.actions.copy_to is not None and rule.actions.copy_to.kind is FolderKind.JUNK
    unknown = from_graph({"id": "r", "displayName": "x", "actions": {"moveToFolder": "ZZZ"}}, folders)
    assert unknown.actions.move_to is not None and not unknown.actions.move_to.resolved


def test_emulator_exchange_shape() -> None:
    exo = {"Name": "x", "RuleIdentity": 123, "Identity": "u1\\123", "Priority": 2, "Enabled": True,
           "MoveToFolder": "u1:\\Posteingang\\RSS-Feeds", "SoftDeleteMessage": True, "MailboxOwnerId": "u1",
           "WithinSizeRangeMinimum": "1 KB (1,024 bytes)", "From": None, "HasAttachment": False,
           "RedirectTo": ['"Eve" [SMTP:eve@evil.example]'], "SubjectContainsWords": []}
    rule = from_exchange(exo)
    assert rule.id == "123" and rule.mailbox == "u1" and rule.priority == 2
    assert rule.actions.permanent_delete and rule.actions.move_to and rule.actions.move_to.kind is FolderKind.RSS
    assert rule.conditions.min_size_kb == 1.0 and rule.applies_to_all
    assert rule.actions.redirect_to[0].address == "eve@evil.example"


def test_merge_marks_exchange_only_rules_hidden() -> None:
    g = from_graph({"id": "G1", "displayName": "a", "sequence": 1, "actions": {"delete": True}})
    e1 = from_exchange({"Name": "a", "RuleIdentity": "1", "Priority": 1, "DeleteMessage": True})
    e2 = from_exchange({"Name": "b", "RuleIdentity": "2", "Priority": 2})
    merged = merge_rules([g], [e1, e2])
    assert [(r.id, r.hidden, r.alt_id) for r in merged] == [("G1", False, "1"), ("2", True, None)]
    assert [r.hidden for r in merge_rules(None, [e1, e2])] == [False, False]  # no Graph view: unknown


def test_merge_pairs_a_unique_name_even_when_priorities_differ() -> None:
    g = from_graph({"id": "G1", "displayName": "News", "sequence": 1})
    e = from_exchange({"Name": "News", "RuleIdentity": "5", "Priority": 3})
    hidden = from_exchange({"Name": "x", "RuleIdentity": "6", "Priority": 1})
    assert [(r.id, r.hidden) for r in merge_rules([g], [hidden, e])] == [("6", True), ("G1", False)]
