"""The Export-Csv parser: column sets, encodings, multi-line cells, clear errors; property tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclaim.detect.rulecsv import by_user, parse_file, parse_text
from reclaim.errors import BadInput

HAWK = ('#TYPE Microsoft.Exchange.Management.Common.InboxRule\n'
        '"MailboxOwnerId","Name","Identity","Enabled","Priority","RuleIdentity","ForwardTo","MoveToFolder",'
        '"DeleteMessage","SubjectContainsWords","Description"\n'
        '"alice","..","alice\\\\123","True","1","123","""x"" [SMTP:x@evil.example]","","True","invoice",'
        '"If the message:\n\tthe message includes\nTake the following actions:\n\tdelete the message\n"\n')


def test_hawk_columns_and_type_line() -> None:
    (row,) = parse_text(HAWK)
    assert row.user == "alice" and row.rule.name == ".." and row.rule.id == "123"
    assert row.rule.actions.delete and row.rule.actions.forward_to[0].address == "x@evil.example"
    assert row.rule.conditions.subject == ("invoice",)


def test_bom_and_utf16(tmp_path: Path) -> None:
    text = '"UserName","RuleName","Enabled","MoveToFolder"\n"a@c.com","Tidy","True","RSS-Feeds"\n'
    for enc in ("utf-8-sig", "utf-16"):
        p = tmp_path / f"r-{enc}.csv"
        p.write_bytes(text.encode(enc))
        (row,) = parse_file(p)
        assert row.rule.actions.move_to is not None and row.rule.actions.move_to.kind is not None


@pytest.mark.parametrize(("text", "needle"), [
    ("", "empty file"),
    ('"Name","Description","State"\n"x","y","Enabled"\n', "not a Get-InboxRule export"),
    ('"UserName","RuleName","Enabled"\n"a@c.com","x","True","extra"\n', "row 1 (line 2): 4 columns"),
    ('"UserName","RuleName","Enabled"\n"a@c.com","x","maybe"\n', "row 1 (line 2), column Enabled"),
    ('"UserName","RuleName","Enabled"\n"","x","True"\n', "column UserName: empty"),
    ('"UserName","RuleName","Enabled"\n"a@c.com","x\n', "row 1"),
])
def test_malformed_files_name_row_and_column(text: str, needle: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_text(text, "f.csv")
    assert needle in info.value.one_line()


def test_unreadable_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read"):
        parse_file(tmp_path / "missing.csv")
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\x00\x81\x82garbage")
    with pytest.raises(BadInput):
        parse_file(p)


def test_grouping_is_case_insensitive() -> None:
    text = '"UserName","RuleName","Enabled"\n"A@c.com","x","True"\n"a@C.com","y","False"\n'
    grouped = by_user(parse_text(text))
    assert list(grouped) == ["A@c.com"] and [r.name for r in grouped["A@c.com"]] == ["x", "y"]
    assert grouped["A@c.com"][1].enabled is False


COLUMNS = ["UserName", "RuleName", "Enabled", "Priority", "RuleIdentity", "StopProcessingRules", "MoveToFolder",
           "RedirectTo", "ForwardTo", "DeleteMessage", "From", "SubjectContainsWords", "Description"]
cell = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
booleans = st.sampled_from(["True", "False", ""])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "UserName": st.emails(), "RuleName": cell, "Enabled": booleans, "Priority": cell, "RuleIdentity": cell,
    "StopProcessingRules": booleans, "MoveToFolder": cell, "RedirectTo": cell, "ForwardTo": cell,
    "DeleteMessage": booleans, "From": cell, "SubjectContainsWords": cell, "Description": cell,
}), max_size=8))
def test_any_well_formed_export_parses(rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows(rows)
    parsed = parse_text(buf.getvalue())
    nonblank = [r for r in rows if any(v.strip() for v in r.values())]
    assert len(parsed) == len(nonblank)
    for got, want in zip(parsed, nonblank, strict=True):
        assert got.user == want["UserName"].strip()


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_raises_bad_input(text: str) -> None:
    try:
        parse_text('"UserName","RuleName","ForwardTo"\n' + text)
    except BadInput as exc:
        assert "row" in exc.message or "header" in exc.message


def test_hawk_export_of_unflattened_lists() -> None:
    text = ('"MailboxOwnerId","Name","Enabled","ForwardTo","SubjectContainsWords","DeleteMessage"\n'
            '"alice","Tidy up","True","System.Collections.ArrayList","Microsoft.Exchange.Data.MultiValuedProperty`1'
            '[System.String]","True"\n')
    (row,) = parse_text(text)
    assert row.rule.actions.recipients[0].address == "(not exported)"
    assert row.rule.conditions.undisclosed and not row.rule.conditions.words
    assert not row.rule.applies_to_all  # an unknown condition is not "every message"
    from reclaim.detect.engine import analyze_rules

    (f,) = analyze_rules([row.rule], domains=["contoso.com"], mailbox="alice").findings
    assert "does not list" in " ".join(f.reasons) and "does not list" in f.title and f.severity.rank <= 1
