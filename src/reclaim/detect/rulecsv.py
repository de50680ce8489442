"""Read ``Get-InboxRule | Export-Csv`` files (Microsoft-Extractor-Suite, Hawk, plain PowerShell).

UTF-8 with or without BOM (UTF-16 from Windows PowerShell 5 too), multi-line quoted cells, an optional
``#TYPE ...`` first line. Column names are matched case-insensitively; accepted sets:

- Microsoft-Extractor-Suite ``MailboxRules.csv``: ``UserName, RuleName, Enabled, Priority, RuleIdentity,
  StopProcessingRules, CopyToFolder, MoveToFolder, RedirectTo, ForwardTo, ForwardAsAttachmentTo, ...``
  (older versions: ``RuleEnabled, CopytoFolder, MovetoFolder, TextDescription``);
- Hawk / plain ``Get-InboxRule | Export-Csv``: ``MailboxOwnerId, Name, Identity, Enabled, Priority,
  RuleIdentity, ForwardTo, ...``.

Anything else (a foreign CSV, a truncated row, a non-boolean in a boolean column) raises
:class:`reclaim.errors.BadInput` naming the row and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reclaim.detect.fields import flag
from reclaim.detect.rules import InboxRule, from_exchange
from reclaim.errors import BadInput

USER_COLUMNS = ("UserName", "MailboxOwnerId", "MailboxOwnerID", "Mailbox", "UserPrincipalName", "UserId")
NAME_COLUMNS = ("RuleName", "Name")
BOOLEAN_COLUMNS = ("Enabled", "RuleEnabled", "StopProcessingRules", "DeleteMessage", "SoftDeleteMessage",
                   "MarkAsRead", "HasAttachment", "InError", "IsHidden")
#: Columns that say "this is an inbox-rule export" when present with a user and a name column.
RULE_COLUMNS = ("ForwardTo", "RedirectTo", "MoveToFolder", "DeleteMessage", "RuleIdentity", "Description",
                "TextDescription", "StopProcessingRules", "ForwardAsAttachmentTo", "Enabled", "RuleEnabled")

MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class RuleRow:
    row: int
    """1-based data row number (the header is row 0)."""
    line: int
    """Line of the file where the row ends."""
    user: str
    rule: InboxRule


def _decode(data: bytes, where: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{where}: not UTF-8 text (byte {exc.start})",
                       hint="export with Export-Csv -Encoding UTF8") from None


def _column(header: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for n in names:
        if n.lower() in header:
            return header[n.lower()]
    return None


def parse_text(text: str, where: str = "input") -> list[RuleRow]:
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith("#TYPE"):
        text = "".join(lines[1:])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header_row = next(reader)
    except StopIteration:
        raise BadInput(f"{where}: empty file, expected a Get-InboxRule CSV export") from None
    except csv.Error as exc:
        raise BadInput(f"{where}: header: {exc}") from None
    header_row = [h.strip() for h in header_row]
    header = {h.lower(): h for h in header_row if h}
    user_col = _column(header, USER_COLUMNS)
    name_col = _column(header, NAME_COLUMNS)
    if user_col is None or name_col is None or not any(c.lower() in header for c in RULE_COLUMNS):
        missing = [label for label, col in (("a mailbox column (UserName / MailboxOwnerId)", user_col),
                                            ("a rule name column (RuleName / Name)", name_col)) if col is None]
        what = ", ".join(missing) if missing else "any inbox-rule column (ForwardTo, MoveToFolder, ...)"
        raise BadInput(f"{where}: not a Get-InboxRule export: header has no {what}",
                       hint=f"columns found: {', '.join(header_row[:8])}")
    out: list[RuleRow] = []
    row_number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise BadInput(f"{where}: row {row_number + 1} (line {reader.line_num}): {exc}") from None
        row_number += 1
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header_row):
            raise BadInput(f"{where}: row {row_number} (line {reader.line_num}): {len(cells)} columns, the header "
                           f"has {len(header_row)}",
                           hint="the file is truncated or not one Export-Csv output")
        record = dict(zip(header_row, cells, strict=True))
        for col in BOOLEAN_COLUMNS:
            actual = header.get(col.lower())
            if actual is None:
                continue
            value = record[actual]
            if value.strip() and flag(record, actual) is None:
                raise BadInput(f"{where}: row {row_number} (line {reader.line_num}), column {actual}: "
                               f"{value[:40]!r} is not True or False")
        user = record[user_col].strip()
        if not user:
            raise BadInput(f"{where}: row {row_number} (line {reader.line_num}), column {user_col}: empty")
        out.append(RuleRow(row_number, reader.line_num, user, from_exchange(record, "csv", user)))
    return out


def parse_file(path: Path) -> list[RuleRow]:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BadInput(f"{path}: {size} bytes is more than this command reads ({MAX_BYTES})")
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_text(_decode(data, str(path)), str(path))


def by_user(rows: list[RuleRow]) -> dict[str, list[InboxRule]]:
    """Rules grouped by mailbox (case-insensitive), in file order; rules without id get ``row:N``."""
    grouped: dict[str, list[InboxRule]] = {}
    names: dict[str, str] = {}
    for r in rows:
        key = r.user.casefold()
        names.setdefault(key, r.user)
        rule = r.rule
        if not rule.id:
            from dataclasses import replace

            rule = replace(rule, id=f"row:{r.row}")
        grouped.setdefault(names[key], []).append(rule)
    return grouped
