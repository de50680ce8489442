"""``purge-sent-mail`` at scale: 2,000 copies of the attacker's mail across 500 colleagues' mailboxes, 100 ms of
emulated latency (the emulator in its own process), against the ``$batch`` floor for the same requests.

``seconds``: the purge step applied and verified through ``apply_plan`` (snapshot read, moves, read back; journal
and snapshot included). ``floor_seconds``: the same requests sent straight through ``GraphClient.batch`` (one
read of every copy, every move, one read back), nothing else; ``ratio`` = seconds / floor_seconds (target ≤ 1.3).
``undo_seconds``: moving every copy back. Three rounds (floor, purge, undo); the fastest of each is reported, with
every round's numbers (the machine is shared). The tenant is built here (a sender and N mailboxes, each with its copies
in the Inbox and one legitimate message from the same sender that must stay), so nothing else is timed.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import Result, register
from bench.emulator import serve

LATENCY_MS = 100
MAILBOXES = 500
COPIES_PER_MAILBOX = 4
SENDER = "alice@contoso.com"
SUBJECT = 'Contoso Finance shared "Q4 Statement.pdf" with you'


def _imid(n: int) -> str:
    return f"<phish-{n:04d}@contoso.com>"


def fixture(mailboxes: int = MAILBOXES, per_mailbox: int = COPIES_PER_MAILBOX) -> dict[str, Any]:
    """A sender and ``mailboxes`` colleagues, each holding ``per_mailbox`` copies and one legitimate message."""
    sender = {"emailAddress": {"name": "Alice", "address": SENDER}}
    users: list[dict[str, Any]] = [{"id": "u-alice", "userPrincipalName": SENDER, "mailbox": {}}]
    traces: list[dict[str, Any]] = []
    for i in range(mailboxes):
        upn = f"user{i:04d}@contoso.com"
        inbox = []
        for j in range(per_mailbox):
            n = i * per_mailbox + j
            when = f"2026-11-02T03:{(n // 60) % 60:02d}:{n % 60:02d}Z"
            inbox.append({"id": f"m-{i}-{j}", "internetMessageId": _imid(n), "subject": SUBJECT, "from": sender,
                          "sender": sender, "receivedDateTime": when})
            traces.append({"id": f"t-{n}", "senderAddress": SENDER, "recipientAddress": upn,
                           "messageId": _imid(n), "subject": SUBJECT, "receivedDateTime": when,
                           "status": "delivered", "fromIP": "203.0.113.45"})
        inbox.append({"id": f"m-{i}-own", "internetMessageId": f"<own-{i}@contoso.com>", "subject": "Q4 accruals",
                      "from": sender, "sender": sender, "receivedDateTime": "2026-11-01T10:00:00Z"})
        users.append({"id": f"u-{i:04d}", "userPrincipalName": upn, "mailbox": {"messages": {"inbox": inbox}}})
    return {"tenant": {"domains": ["contoso.com"]}, "users": users, "messageTraces": traces}


def _finding(fx: dict[str, Any]) -> Any:
    from reclaim.store.models import NewFinding

    internal = [{"recipient": t["recipientAddress"], "internetMessageId": t["messageId"], "subject": t["subject"],
                 "time": t["receivedDateTime"], "status": "delivered", "fromIP": t["fromIP"]}
                for t in fx["messageTraces"]]
    return NewFinding("mail-sent-by-attacker", "medium", "The attacker sent mail from the account", kind="context",
                      scope="mailbox", artifact_type="sentMail", artifact_id=internal[0]["internetMessageId"],
                      evidence={"internal": internal, "external": [], "fromIPs": ["203.0.113.45"]})


async def _floor(url: str, fx: dict[str, Any]) -> float:
    """The same reads, moves and read-backs, straight through ``$batch``; then every copy moved back."""
    from reclaim.m365 import BatchRequest, Connection, ConnectionSettings

    prefer = {"Prefer": 'IdType="ImmutableId"'}
    pairs = [(t["recipientAddress"], t["messageId"]) for t in fx["messageTraces"]]

    def reads() -> list[BatchRequest]:
        return [BatchRequest("GET", f"/users/{box}/messages?$filter=internetMessageId eq '{imid}'"
                             "&$select=id,internetMessageId,parentFolderId,from", headers=prefer, mailbox=box)
                for box, imid in pairs]

    async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
        started = time.monotonic()
        found = await conn.graph.batch(reads())
        ids = [(box, r.json()["value"][0]["id"]) for (box, _), r in zip(pairs, found, strict=True)]
        moved = await conn.graph.batch([BatchRequest("POST", f"/users/{box}/messages/{mid}/move",
                                                     body={"destinationId": "recoverableitemsdeletions"},
                                                     headers=prefer, mailbox=box, idempotent=True)
                                        for box, mid in ids])
        again = await conn.graph.batch(reads())
        floor = time.monotonic() - started
        assert all(r.ok for r in moved) and all(not r.json()["value"] for r in again)
        back = await conn.graph.batch([BatchRequest("POST", f"/users/{box}/messages/{mid}/move",
                                                    body={"destinationId": "inbox"}, headers=prefer, mailbox=box,
                                                    idempotent=True) for box, mid in ids])
        assert all(r.ok for r in back)
        return floor


#: rounds of (floor, purge, undo); the fastest of each is kept (the machine is shared: one run is noisy)
ROUNDS = 3


@register("purge")
def purge() -> Result:
    from reclaim.m365 import Connection, ConnectionSettings
    from reclaim.remediate import PlanOptions, apply_plan, plan_for_case, undo_case
    from reclaim.store import Store

    fx = fixture()
    floors: list[float] = []
    runs: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tenant.json"
        path.write_text(json.dumps(fx), encoding="utf-8")
        with serve("--fixture", str(path), "--latency-ms", str(LATENCY_MS), "--no-throttling") as (url, _pid):
            store = Store(str(Path(tmp) / "bench.db"))
            try:
                for _ in range(ROUNDS):
                    floors.append(asyncio.run(_floor(url, fx)))
                    case = store.create_case("investigate", SENDER, summary={
                        "user": {"userPrincipalName": SENDER, "id": "u-alice"}, "verdict": "compromised"})
                    store.add_findings(case.id, [_finding(fx)])
                    plan = plan_for_case(store, case.id, PlanOptions(only=frozenset({"purge-sent-mail"})))

                    async def main(case_id: str = case.id, plan: Any = plan) -> Result:
                        async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
                            started = time.monotonic()
                            report = await apply_plan(conn, store, plan, password_sink=None, operator="bench")
                            seconds = time.monotonic() - started
                            started = time.monotonic()
                            undone = await undo_case(conn, store, case_id)
                            undo_seconds = time.monotonic() - started
                            return {"ok": report.ok, "states": sorted({o.state.value for o in report.outcomes}),
                                    "requests": report.requests, "seconds": round(seconds, 3),
                                    "undo_seconds": round(undo_seconds, 3),
                                    "undone": sorted({o.state.value for o in undone.outcomes})}

                    runs.append(asyncio.run(main()))
            finally:
                store.close()
    best = min(runs, key=lambda r: float(r["seconds"]))
    floor = min(floors)
    return {"copies": len(fx["messageTraces"]), "mailboxes": MAILBOXES, "latency_ms": LATENCY_MS, "rounds": ROUNDS,
            "floor_seconds": round(floor, 3), **best, "undo_seconds": min(float(r["undo_seconds"]) for r in runs),
            "ok": all(r["ok"] for r in runs), "ratio": round(float(best["seconds"]) / floor, 2) if floor else None,
            "all_seconds": [r["seconds"] for r in runs], "all_floor_seconds": [round(f, 3) for f in floors]}
