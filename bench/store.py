"""``store``: the case store's write and verify throughput with the case seal, on SQLite (and PostgreSQL).

A sweep-shaped load: one case, 20 transactions of 1,000 evidence items (2 KB JSON each, batches of 500) and
50 findings. Measured: write seconds and items per second, seal entries per evidence item, the seconds of
``verify_case`` (re-computes the seal and re-hashes every payload) and of ``case_detail``. PostgreSQL runs too
when ``RECLAIM_TEST_POSTGRES_URL`` names a server (``eval "$(.ci/postgres start)"``), in a schema of its own.
Run: ``python -m bench store``.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench import Result, register

BATCHES = 20
PER_BATCH = 1000


def _load(url: str) -> Result:
    from reclaim.store import NewEvidence, NewFinding, Store

    now = datetime.now(UTC)
    with Store(url) as store:
        case = store.create_case("sweep", "contoso.com")
        start = time.perf_counter()
        for b in range(BATCHES):
            with store.transaction():
                store.add_evidence_many(case.id, (NewEvidence(
                    "inboxRules", "graph", {"method": "GET", "url": f"/users/u{b}-{i}/messageRules"},
                    {"value": [{"id": f"r{i}", "displayName": "x" * 2000}]}, now) for i in range(PER_BATCH)),
                    batch_size=500)
                store.add_findings(case.id, [NewFinding("rule-external-forward", "high", "t", user=f"u{b}-{i}")
                                             for i in range(50)])
        write = time.perf_counter() - start
        start = time.perf_counter()
        integrity = store.verify_case(case.id)
        verify = time.perf_counter() - start
        start = time.perf_counter()
        intact = store.case_detail(case.id).intact
        detail = time.perf_counter() - start
    items = BATCHES * PER_BATCH
    return {"evidence_items": items, "write_seconds": round(write, 2), "items_per_second": round(items / write),
            "seal_entries": integrity.length, "seal_entries_per_item": round(integrity.length / items, 4),
            "verify_case_seconds": round(verify, 2), "case_detail_seconds": round(detail, 2),
            "intact": integrity.ok and intact}


@register("store")
def store() -> Result:
    out: Result = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = _load(str(Path(tmp) / "cases.db"))
    base = os.environ.get("RECLAIM_TEST_POSTGRES_URL")
    if base:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(base)
        try:
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
            out["postgresql"] = _load(url.render_as_string(hide_password=False))
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()
    return out
