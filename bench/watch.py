"""``watch``: what one watch cycle costs, in requests and in stored bytes, full against incremental (issue 21).

One emulated tenant of ``MAILBOXES`` mailboxes on loopback (in this process; the emulator's own call log counts
the requests, ``$batch`` parts one by one, the way Microsoft counts them against the limits; sign-ins left
out). Three cycles, one after the other:

- the full baseline (every mailbox swept);
- a quiet incremental cycle (nothing changed: the three change logs are read, nothing else);
- an incremental cycle after one planted forwarding rule (the logs name one mailbox; it is read with the
  tenant-wide lists, and the rule is alerted).

``quiet_ratio`` is the quiet cycle's requests over the full sweep's (the issue's target: ≤ 0.05); the bytes
are the growth of the SQLite case store file per cycle. No timing: the numbers do not depend on the machine.
Run: ``python -m bench watch``.
"""

from __future__ import annotations

import asyncio
import copy
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import Result, register
from reclaim.emulator import Emulator, audit_trail
from reclaim.emulator.backends import mailbox as mailboxes
from reclaim.emulator.scenarios import synthetic
from reclaim.emulator.server import serve_in_thread
from reclaim.m365 import ConnectionSettings
from reclaim.store import Store
from reclaim.sweep import SweepOptions
from reclaim.watch import WatchConfig, watch_tenant

MAILBOXES = 500


def _size(db: Path) -> int:
    """The store's bytes on disk: the database and its write-ahead log (SQLite moves pages between them)."""
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def _calls(emulator: Emulator) -> int:
    return sum(1 for c in emulator.calls if "/oauth2/" not in c.path and c.path != "/v1.0/$batch")


@register("watch")
def watch() -> Result:
    fixture = copy.deepcopy(synthetic(MAILBOXES, 21))
    fixture["tenant"].setdefault("settings", {})["throttling"] = {"enabled": False}
    emulator = Emulator(fixture)
    out: Result = {"mailboxes": MAILBOXES}
    with tempfile.TemporaryDirectory() as tmp, serve_in_thread(emulator) as url:
        db = Path(tmp) / "watch.db"
        store = Store(str(db))
        settings = ConnectionSettings.for_endpoint(url)
        options = SweepOptions(identity_protection_spacing=0)
        config = WatchConfig()

        def cycle(name: str) -> None:
            emulator.calls.clear()
            size = _size(db)
            done = asyncio.run(watch_tenant(store, "bench", settings, config, options=options))
            out[f"{name}_mode"] = done.mode
            out[f"{name}_requests"] = _calls(emulator)
            out[f"{name}_new_findings"] = len(done.new)
            out[f"{name}_stored_bytes"] = _size(db) - size

        try:
            cycle("full")
            cycle("quiet")
            # a rule made as through Graph: the rule, and the UpdateInboxRules record Exchange writes for it
            user: Any = next(u for u in emulator.state.users() if u.get("mailbox"))
            with emulator.state.lock:
                mailboxes.create_rule(user, display_name="fwd", sequence=1, is_enabled=True, conditions=None,
                                      actions={"forwardTo": [{"emailAddress": {"address": "x@exfil.example"}}]},
                                      exceptions=None)
                audit_trail.mailbox_rules_updated(emulator.state, datetime.now(UTC), user, caller="bench")
            cycle("changed")
        finally:
            store.close()
    out["quiet_ratio"] = round(out["quiet_requests"] / max(1, out["full_requests"]), 4)
    out["changed_ratio"] = round(out["changed_requests"] / max(1, out["full_requests"]), 4)
    return out
