"""``logs``: ``reclaim analyze logs`` over 1,000,000 generated unified audit records (issue 18).

The records are generated into a temporary folder (never committed): a realistic mix for 5,000 users over
30 days (MailItemsAccessed with their folders and message ids, file access and downloads, sign-ins and failed
sign-ins, mail sent, moved and deleted, Teams, a few benign mailbox changes) and three planted attacker
sessions (sign-in, a hiding inbox rule, external forwarding, mail read and files downloaded from the attacker's
address). They are written in four export formats, in files of 50,000 records: Purview / Search-UnifiedAuditLog
CSV (40%), Management Activity API JSON lines (30%), Defender CloudAppEvents JSON lines (15%) and Sentinel
OfficeActivity CSV with its BOM and multi-line JSON cells (15%).

Two measurements, each in a child process of its own (its peak RSS is its own ``ru_maxrss``):

- reclaim: ``reclaim analyze logs FOLDER --json`` (recognise, load, check, attribute, store the case);
- the floor: DuckDB alone reading the same files with the same readers and settings (``count(*)`` over
  ``read_csv`` / ``read_json_objects``), nothing extracted.

``ratio_to_floor`` is reclaim's wall time over the floor's (target ≤ 2); ``peak_rss_mb`` reclaim's peak RSS
(target ≤ 1,024). The run checks that the planted attackers were found. ``RECLAIM_BENCH_LOG_RECORDS`` changes
the number of records (default 1,000,000). Run: ``python -m bench logs``.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Result, register

RECORDS = int(os.environ.get("RECLAIM_BENCH_LOG_RECORDS", "1000000"))
PER_FILE = 50_000
USERS = 5_000
DOMAIN = "contoso.com"
TENANT = "3c6a2f1e-8d4b-4a7e-9f2c-5b1d0e7a6c94"
END = datetime(2026, 12, 1, tzinfo=UTC)
DAYS = 30
ATTACKERS = (("u17@contoso.com", "203.0.113.45"), ("u1234@contoso.com", "198.51.100.77"),
             ("u4321@contoso.com", "192.0.2.199"))
#: (operation, record type, workload, weight)
MIX = (("MailItemsAccessed", 50, "Exchange", 35), ("FileAccessed", 6, "OneDrive", 15),
       ("FileDownloaded", 6, "SharePoint", 5), ("FileModified", 6, "OneDrive", 5),
       ("UserLoggedIn", 15, "AzureActiveDirectory", 15), ("UserLoginFailed", 15, "AzureActiveDirectory", 2),
       ("Send", 2, "Exchange", 8), ("MoveToDeletedItems", 2, "Exchange", 4), ("SoftDelete", 3, "Exchange", 1),
       ("MessageSent", 25, "MicrosoftTeams", 6), ("MemberAdded", 25, "MicrosoftTeams", 1),
       ("Set-Mailbox", 1, "Exchange", 1), ("New-InboxRule", 1, "Exchange", 1), ("Update", 2, "Exchange", 1))
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _record(rng: random.Random, n: int, op: str, rtype: int, workload: str, user: str, ip: str,
            when: datetime, session: str) -> dict[str, Any]:
    r: dict[str, Any] = {"Id": f"{n:08x}-5e1f-4c1a-9b7d-{rng.getrandbits(48):012x}", "RecordType": rtype,
                         "CreationTime": when.strftime("%Y-%m-%dT%H:%M:%S"), "Operation": op,
                         "OrganizationId": TENANT, "UserType": 0, "UserKey": f"1003{n % USERS:012d}",
                         "Workload": workload, "ResultStatus": "Succeeded", "UserId": user, "ClientIP": ip}
    if op == "MailItemsAccessed":
        r.pop("ClientIP")
        r.update({"ClientIPAddress": ip, "ClientInfoString": "Client=OWA;" + UA, "SessionId": session,
                  "AppAccessContext": {"AADSessionId": session, "ClientAppId": "00000002-0000-0ff1-ce00-000000000000"},
                  "OperationProperties": [{"Name": "MailAccessType", "Value": "Bind"},
                                          {"Name": "IsThrottled", "Value": "False"}],
                  "Folders": [{"Id": f"LgAAAAD{rng.getrandbits(64):x}", "Path": "\\Inbox", "FolderItems": [
                      {"InternetMessageId": f"<{rng.getrandbits(80):x}@PR01MB{n % 9999:04}.prod.outlook.com>",
                       "SizeInBytes": rng.randint(3_000, 900_000)} for _ in range(rng.randint(1, 4))]}],
                  "OperationCount": 1, "MailboxOwnerUPN": user})
    elif workload in ("OneDrive", "SharePoint"):
        site = f"https://contoso-my.sharepoint.com/personal/{user.split('@')[0]}_contoso_com"
        name = f"Report {rng.randint(1, 4000)}.xlsx"
        r.update({"ObjectId": f"{site}/Documents/{name}", "SiteUrl": site + "/", "SourceFileName": name,
                  "SourceRelativeUrl": "Documents", "UserAgent": UA, "EventSource": "SharePoint",
                  "ItemType": "File", "ListItemUniqueId": f"{rng.getrandbits(128):032x}"})
    elif op in ("UserLoggedIn", "UserLoginFailed"):
        r.update({"ResultStatus": "Success" if op == "UserLoggedIn" else "Failed", "ObjectId": "Unknown",
                  "ExtendedProperties": [{"Name": "UserAgent", "Value": UA},
                                         {"Name": "RequestType", "Value": "OAuth2:Authorize"}],
                  "ApplicationId": "4765445b-32c6-49b0-83e6-1d93765276ca", "ErrorNumber": "0" if
                  op == "UserLoggedIn" else "50126", "InterSystemsId": session})
    elif op in ("Send", "MoveToDeletedItems", "SoftDelete", "Update"):
        r.update({"SessionId": session, "ClientInfoString": "Client=OWA;" + UA,
                  "Item": {"InternetMessageId": f"<{rng.getrandbits(80):x}@contoso.com>",
                           "Subject": f"RE: project {rng.randint(1, 900)}", "SizeInBytes": rng.randint(2_000, 90_000)}})
    elif workload == "MicrosoftTeams":
        r.update({"TeamName": f"Team {n % 300}", "ChannelName": "General", "UserAgent": UA})
    elif op == "Set-Mailbox":
        r["Parameters"] = [{"Name": "Identity", "Value": user},
                           {"Name": "RetainDeletedItemsFor", "Value": "30.00:00:00"}]
    elif op == "New-InboxRule":
        r["Parameters"] = [{"Name": "Name", "Value": "Newsletters"}, {"Name": "From", "Value": "news@vendor.example"},
                           {"Name": "MoveToFolder", "Value": "Newsletters"}]
    return r


def _attacker(n: int, user: str, ip: str, when: datetime) -> Iterator[dict[str, Any]]:
    rng = random.Random(n)
    session = f"attacker-{n}"
    yield _record(rng, n, "UserLoggedIn", 15, "AzureActiveDirectory", user, ip, when, session)
    rule = _record(rng, n + 1, "New-InboxRule", 1, "Exchange", user, ip, when + timedelta(minutes=3), session)
    rule["Parameters"] = [{"Name": "Name", "Value": "."}, {"Name": "SubjectOrBodyContainsWords",
                                                           "Value": "invoice;payment;wire"},
                          {"Name": "MoveToFolder", "Value": "RSS Feeds"}, {"Name": "MarkAsRead", "Value": "True"},
                          {"Name": "StopProcessingRules", "Value": "True"}]
    yield rule
    fwd = _record(rng, n + 2, "Set-Mailbox", 1, "Exchange", user, ip, when + timedelta(minutes=5), session)
    fwd["Parameters"] = [{"Name": "Identity", "Value": user},
                         {"Name": "ForwardingSmtpAddress", "Value": "smtp:drop@mailvault.example"},
                         {"Name": "DeliverToMailboxAndForward", "Value": "False"}]
    yield fwd
    for i in range(20):
        yield _record(rng, n + 3 + i, "MailItemsAccessed", 50, "Exchange", user, ip,
                      when + timedelta(minutes=10 + i), session)
    for i in range(30):
        yield _record(rng, n + 30 + i, "FileDownloaded", 6, "OneDrive", user, ip,
                      when + timedelta(minutes=40, seconds=9 * i), session)


#: placeholders of the pool's records, replaced per generated record (the same bytes the writers produce)
_ID, _USER, _IP, _SESSION = "zzidzz", "zzuserzz", "198.18.77.77", "zzsessionzz"
_WHEN = datetime(2001, 1, 1, 1, 1, 1, tzinfo=UTC)
POOL = 4_000


def _pool(rng: random.Random) -> list[dict[str, Any]]:
    ops = [m for m in MIX for _ in range(m[3])]
    out = []
    for i in range(POOL):
        op, rtype, workload, _ = ops[rng.randrange(len(ops))]
        r = _record(rng, i, op, rtype, workload, f"{_USER}@{DOMAIN}", _IP, _WHEN, _SESSION)
        r["Id"] = _ID
        out.append(r)
    return out


def _rows(text: str, header: bool) -> str:
    """The rows of a one-record CSV (without its header line and BOM), or the text itself."""
    if not header:
        return text
    body = text.lstrip("\ufeff")
    return body[body.index("\r\n") + 2:]


def generate(folder: Path, total: int) -> dict[str, int]:
    """Write ``total`` records into ``folder`` in the four formats (files of :data:`PER_FILE`); returns records per
    format. A pool of records is rendered once per format by reclaim's sample writers (the exports' exact layout);
    each generated record is one of them with its own id, time, user, address and session put in."""
    from reclaim.logs import samples

    rng = random.Random(18)
    pool = _pool(rng)
    writers = [("purview", "csv", samples.purview_csv, 8), ("maa", "jsonl", samples.json_lines, 6),
               ("cloudapp", "jsonl", samples.cloud_app_events, 3), ("sentinel", "csv", samples.sentinel_office_csv, 3)]
    rendered = {name: [_rows(write([r]), ext == "csv") for r in pool] for name, ext, write, _ in writers}
    headers = {name: write([]) for name, ext, write, _ in writers if ext == "csv"}
    order = "pmpsmpcmpspmcpmspmcp"  # 8 Purview, 6 Management Activity, 3 CloudAppEvents, 3 Sentinel, interleaved
    cycle = [next(w for w in writers if w[0][0] == c) for c in order]
    times = (_WHEN.strftime("%Y-%m-%dT%H:%M:%S"), samples.us_time(_WHEN), samples.sentinel_time(_WHEN))
    planted = {total // 4 * (i + 1): a for i, a in enumerate(ATTACKERS)}
    counts: dict[str, int] = {}
    n = 0
    index = 0
    while n < total:
        name, ext, write, _ = cycle[index % len(cycle)]
        size = min(PER_FILE, total - n)
        parts = [headers.get(name, "")]
        done = 0
        while done < size:
            if n in planted:
                user, ip = planted.pop(n)
                extra = list(_attacker(10_000_000 + n, user, ip, END - timedelta(days=3, hours=n % 7)))
                parts.append(_rows(write(extra), ext == "csv"))
                n += len(extra)
                done += len(extra)
                continue
            u = rng.randrange(USERS)
            ip = f"10.{u % 200}.{(u // 200) % 250}.{u % 97 + 1}" if rng.random() < 0.8 else f"2001:db8:{u:x}::1"
            when = END - timedelta(seconds=rng.randrange(DAYS * 86_400))
            text = rendered[name][rng.randrange(POOL)]
            text = (text.replace(_ID, f"{n:08x}-5e1f-4c1a-9b7d-{rng.getrandbits(48):012x}")
                    .replace(_USER, f"u{u}").replace(_IP, ip).replace(_SESSION, f"s-{u}-{n // 5000}")
                    .replace(times[0], when.strftime("%Y-%m-%dT%H:%M:%S"))
                    .replace(times[1], samples.us_time(when)).replace(times[2], samples.sentinel_time(when)))
            parts.append(text)
            n += 1
            done += 1
        samples.write(folder / f"{index:03d}-{name}.{ext}", "".join(parts))
        counts[name] = counts.get(name, 0) + done
        index += 1
        _bar("generating", n, total)
    sys.stderr.write("\n")
    return counts


# -- the two measured runs (each in a child process) --------------------------------------------------------

def _child_reclaim(folder: Path, db: Path, out: Path) -> None:
    from typer.testing import CliRunner

    from reclaim.cli.main import app

    start = time.perf_counter()
    result = CliRunner().invoke(app, ["analyze", "logs", str(folder), "--domain", DOMAIN, "--db", str(db),
                                          "--json"])
    seconds = time.perf_counter() - start
    doc = json.loads(result.output) if result.output.strip().startswith("{") else {}
    out.write_text(json.dumps({"seconds": seconds, "exit": result.exit_code, "records": doc.get("records"),
                               "users": doc.get("users", []), "error": None if doc else result.output[-500:],
                               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _child_floor(folder: Path, out: Path) -> None:
    from reclaim.logs.engine import LogDB
    from reclaim.logs.formats import recognise

    start = time.perf_counter()
    total = 0
    with LogDB() as db:  # the same DuckDB settings (memory limit, spill, threads)
        for path in sorted(folder.iterdir()):
            found = recognise(path)
            p = "'" + str(path).replace("'", "''") + "'"
            if getattr(found, "layout", None) == "csv":
                source = (f"read_csv({p}, all_varchar = true, header = true, strict_mode = false, delim = ',', "
                          "quote = '\"', escape = '\"', max_line_size = 67108864)")
            else:
                source = f"read_json_objects({p}, format = 'newline_delimited')"
            row = db.con.execute(f"SELECT count(*) FROM {source}").fetchone()
            total += int(row[0]) if row else 0
    seconds = time.perf_counter() - start
    out.write_text(json.dumps({"seconds": seconds, "records": total,
                               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _child(*args: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reclaim-bench-out-") as tmp:
        out = Path(tmp) / "out.json"
        subprocess.run([sys.executable, "-m", "bench.logs", *args, str(out)], check=True,
                       cwd=Path(__file__).resolve().parent.parent)
        loaded: dict[str, Any] = json.loads(out.read_text())
        return loaded


def _bar(label: str, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
    sys.stderr.flush()


@register("logs")
def logs() -> Result:
    with tempfile.TemporaryDirectory(prefix="reclaim-bench-logs-") as tmp:
        folder = Path(tmp) / "exports"
        folder.mkdir()
        started = time.perf_counter()
        sys.stderr.write(f"bench logs: generating {RECORDS:,} records ...\n")
        counts = generate(folder, RECORDS)
        generated = time.perf_counter() - started
        size = sum(p.stat().st_size for p in folder.iterdir())
        sys.stderr.write(f"bench logs: {size / 1e6:,.0f} MB in {len(list(folder.iterdir()))} files "
                         f"({generated:.0f} s); reclaim analyze logs ...\n")
        mine = _child("reclaim", str(folder), str(Path(tmp) / "cases.db"))
        sys.stderr.write("bench logs: the DuckDB floor ...\n")
        floor = _child("floor", str(folder))
    compromised = sorted(u["user"] for u in mine.get("users", []) if u.get("verdict") == "compromised")
    if mine.get("error") or mine.get("records") != RECORDS:
        raise SystemExit(f"bench logs: reclaim read {mine.get('records')} of {RECORDS} records: {mine.get('error')}")
    return {"records": RECORDS, "seconds": round(mine["seconds"], 2), "floor_seconds": round(floor["seconds"], 2),
            "ratio_to_floor": round(mine["seconds"] / max(floor["seconds"], 1e-9), 2),
            "peak_rss_mb": round(mine["peak_rss_mb"]), "floor_peak_rss_mb": round(floor["peak_rss_mb"]),
            "input_mb": round(size / 1e6), "files": counts, "generate_seconds": round(generated, 1),
            "attackers_found": [a for a, _ in ATTACKERS if a in compromised],
            "attackers_planted": [a for a, _ in ATTACKERS], "compromised_users": len(compromised),
            "targets": {"ratio_to_floor": 2.0, "peak_rss_mb": 1024}}


if __name__ == "__main__":
    kind, *rest = sys.argv[1:]
    if kind == "reclaim":
        _child_reclaim(Path(rest[0]), Path(rest[1]), Path(rest[2]))
    else:
        _child_floor(Path(rest[0]), Path(rest[1]))
