"""The report's "People to notify" section: the outside recipients of the mail the attacker sent from the account
(address, time, subject), and the colleagues whose copies reclaim moved to Recoverable Items (or not yet).

Built from the stored ``mail-sent-by-attacker`` finding and the journal only. Addresses and subjects are
attacker-controlled: the writers render them as text, and the CSV neutralises formulas (``csv_cell``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reclaim.store.models import Finding, JournalEntry

CHECK = "mail-sent-by-attacker"
CSV_COLUMNS = ("case", "account", "recipient", "time", "subject", "delivery", "from_ip")


@dataclass(frozen=True)
class Recipient:
    address: str
    time: str
    subject: str
    status: str
    from_ip: str


@dataclass(frozen=True)
class NotifyView:
    #: outside recipients: reclaim cannot reach their mailboxes; they are the people to tell
    external: tuple[Recipient, ...]
    #: colleagues who received it, and what happened to their copy ("in Recoverable Items", "not removed", ...)
    internal: tuple[tuple[Recipient, str], ...]

    @property
    def empty(self) -> bool:
        return not (self.external or self.internal)


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _row(e: Any) -> Recipient:
    return Recipient(_s(e.get("recipient")), _s(e.get("time")), _s(e.get("subject")), _s(e.get("status")),
                     _s(e.get("fromIP")))


def notify_view(findings: Iterable[Finding], journal: Iterable[JournalEntry]) -> NotifyView:
    purge = [e.step for e in journal if e.action_id == "purge-sent-mail"]
    state = ("in Recoverable Items (purge-sent-mail)" if purge and purge[-1] in ("verified", "skipped")
             else "moved back (purge undone)" if purge and purge[-1] == "undone"
             else "purge failed" if purge and purge[-1] in ("failed", "not_held")
             else "not removed (offered: purge-sent-mail)")
    external: list[Recipient] = []
    internal: list[tuple[Recipient, str]] = []
    for f in findings:
        if f.check_id != CHECK:
            continue
        for e in f.evidence.get("external") or []:
            if isinstance(e, dict):
                external.append(_row(e))
        for e in f.evidence.get("internal") or []:
            if isinstance(e, dict):
                delivered = _s(e.get("status")).lower() in ("delivered", "")
                internal.append((_row(e), state if delivered else "not delivered"))
    return NotifyView(tuple(sorted(external, key=lambda r: (r.time, r.address))),
                      tuple(sorted(internal, key=lambda r: (r[0].time, r[0].address))))


def notify_document(view: NotifyView) -> dict[str, Any]:
    def one(r: Recipient) -> dict[str, str]:
        return {"address": r.address, "time": r.time, "subject": r.subject, "delivery": r.status, "fromIP": r.from_ip}

    return {"external": [one(r) for r in view.external],
            "internal": [{**one(r), "copy": state} for r, state in view.internal]}


def notify_csv(case_id: str, account: str, view: NotifyView | None) -> str:
    """The outside recipients to notify, one row each, safe to open in a spreadsheet."""
    from reclaim.report._csv import csv_cell

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in view.external if view is not None else ():
        writer.writerow([csv_cell(v) for v in (case_id, account, r.address, r.time, r.subject, r.status,
                                               r.from_ip)])
    return buffer.getvalue()
