"""Reading exports into DuckDB: one table of every record, indexed by the fields the analysis needs.

Each file is read by DuckDB's own CSV / JSON readers (parallel, streaming, spilling to disk beyond its memory
limit), in one pass: every row becomes one row of ``recs`` with the record's own id, time, user, address,
operation, workload, session ids, user agent, sign-in outcome, and the record itself as JSON text (``raw``, the
evidence as exported). Nothing the size of the input is ever held in Python: the analysis asks DuckDB for the
few records the checks read and for the records of the attacker's sessions.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import duckdb

from reclaim.logs.formats import Format, Recognised, column

#: DuckDB's working set: beyond this it spills to its temporary directory (bench: peak RSS ≤ 1 GB)
MEMORY_LIMIT = "400MB"

_US_TIMES = ["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y, %I:%M:%S.%g %p", "%m/%d/%Y, %I:%M:%S %p", "%m/%d/%Y %H:%M:%S",
             "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS recs (
  file VARCHAR, fmt VARCHAR, kind VARCHAR, id VARCHAR, t TIMESTAMP, usr VARCHAR, ip VARCHAR, op VARCHAR,
  workload VARCHAR, session VARCHAR, aad VARCHAR, ua VARCHAR, failed BOOLEAN, raw VARCHAR)
"""

# SQL for the index columns, from ``j`` (the record as JSON) and ``x`` (list of extracted strings, by position)
_AUDIT_PATHS = ["$.Id", "$.OfficeId", "$.CreationTime", "$.TimeGenerated", "$.UserId", "$.ClientIP",
                "$.ClientIPAddress", "$.Client_IPAddress", "$.ActorIpAddress", "$.Operation", "$.Workload",
                "$.OfficeWorkload", "$.SessionId", "$.AppAccessContext.AADSessionId", "$.UserAgent",
                "$.ClientInfoString", "$.ResultStatus", "$.AppAccessContext", "$.ExtendedProperties"]
_SIGNIN_PATHS = ["$.id", "$.Id", "$.createdDateTime", "$.TimeGenerated", "$.CreatedDateTime", "$.userPrincipalName",
                 "$.UserPrincipalName", "$.ipAddress", "$.IPAddress", "$.userAgent", "$.UserAgent", "$.sessionId",
                 "$.SessionId", "$.status.errorCode", "$.ResultType", "$.correlationId", "$.CorrelationId"]
_DIR_PATHS = ["$.id", "$.Id", "$.activityDateTime", "$.TimeGenerated", "$.ActivityDateTime",
              "$.initiatedBy.user.userPrincipalName", "$.InitiatedBy", "$.initiatedBy.user.ipAddress",
              "$.activityDisplayName", "$.OperationName", "$.loggedByService", "$.LoggedByService",
              "$.correlationId", "$.CorrelationId"]


def _paths(paths: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{p}'" for p in paths) + "]"


def _ip(expr: str) -> str:
    """``1.2.3.4:5678`` / ``[2001:db8::1]:443`` → the bare, lower-case address (as correlate.normalise_ip)."""
    return (f"lower(CASE WHEN {expr} LIKE '[%]%' THEN regexp_extract({expr}, '^\\[([^\\]]*)\\]', 1) "
            f"WHEN length({expr}) - length(replace({expr}, ':', '')) = 1 THEN split_part({expr}, ':', 1) "
            f"ELSE nullif(trim({expr}), '') END)")


def _ts(expr: str) -> str:
    fmts = "[" + ", ".join(f"'{f}'" for f in _US_TIMES) + "]"
    return f"coalesce(try_cast({expr} AS TIMESTAMP), try_strptime({expr}, {fmts}))"


def _index(kind: str, outer: str = "") -> tuple[str, str]:
    """The select list of ``recs`` from a relation with ``j`` (the record) and, optionally, outer fallbacks."""
    if kind == "auditRecord":
        x = f"json_extract_string(j, {_paths(_AUDIT_PATHS)})"
        o_id, o_t, o_usr, o_ip = (", o_id", ", o_t", ", o_usr", ", o_ip") if outer else ("", "", "", "")
        ip = _ip(f"coalesce(x[6], x[7], x[8], x[9]{o_ip})")
        return (f"""coalesce(x[1], x[2]{o_id}) AS id, {_ts(f"coalesce(x[3], x[4]{o_t})")} AS t,
            lower(coalesce(x[5]{o_usr})) AS usr, {ip} AS ip,
            coalesce(x[10]{outer and ", o_op"}) AS op, coalesce(x[11], x[12]) AS workload, x[13] AS session,
            coalesce(x[14], json_extract_string(x[18], '$.AADSessionId')) AS aad,
            coalesce(x[15], x[16], regexp_extract(x[19], '"Name":\\s*"UserAgent",\\s*"Value":\\s*"([^"]*)"', 1))
              AS ua,
            x[10] = 'UserLoginFailed' AS failed""", x)
    if kind == "signIn":
        x = f"json_extract_string(j, {_paths(_SIGNIN_PATHS)})"
        return (f"""coalesce(x[1], x[2]) AS id, {_ts("coalesce(x[3], x[4], x[5])")} AS t,
            lower(coalesce(x[6], x[7])) AS usr,
            {_ip("coalesce(x[8], x[9])")} AS ip, 'SignIn' AS op, 'AzureActiveDirectory' AS workload,
            coalesce(x[12], x[13]) AS session, coalesce(x[12], x[13]) AS aad, coalesce(x[10], x[11]) AS ua,
            coalesce(x[14], x[15], '0') NOT IN ('0', '') AS failed""", x)
    x = f"json_extract_string(j, {_paths(_DIR_PATHS)})"
    return (f"""coalesce(x[1], x[2]) AS id, {_ts("coalesce(x[3], x[4], x[5])")} AS t,
        lower(coalesce(x[6], json_extract_string(x[7], '$.user.userPrincipalName'),
                       json_extract_string(x[7], '$.app.displayName'))) AS usr,
        {_ip("coalesce(x[8], json_extract_string(x[7], '$.user.ipAddress'))")} AS ip,
        coalesce(x[9], x[10]) AS op, coalesce(x[11], x[12]) AS workload, NULL AS session,
        NULL AS aad, NULL AS ua, FALSE AS failed""", x)


def _nested(objs: str, inner: str, outer: Sequence[str]) -> str:
    """``j`` = the record held at ``inner`` (an object, or a string holding one) and the outer fallbacks (id, id,
    time, user, user, address, operation), from one parse of each object."""
    return (f"(SELECT CASE WHEN json_type(r) = 'VARCHAR' THEN r->>'$' ELSE r::VARCHAR END AS j, "
            "coalesce(o[1], o[2]) AS o_id, o[3] AS o_t, coalesce(o[4], o[5]) AS o_usr, o[6] AS o_ip, o[7] AS o_op "
            f"FROM (SELECT json_extract(j, {_lit(inner)}) AS r, json_extract_string(j, {_paths(outer)}) AS o "
            f"FROM {objs}))")


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class LogDB:
    """A DuckDB database (in a temporary directory) holding the ``recs`` table of every file read."""

    def __init__(self, *, memory_limit: str = MEMORY_LIMIT, threads: int | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="reclaim-logs-")
        self.con = duckdb.connect(str(Path(self._dir.name) / "logs.duckdb"))
        self.con.execute(f"SET memory_limit = {_lit(memory_limit)}")
        self.con.execute(f"SET temp_directory = {_lit(str(Path(self._dir.name) / 'spill'))}")
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute("SET enable_progress_bar = false")  # reclaim draws its own, on the terminal only
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute(_SCHEMA)

    def close(self) -> None:
        with suppress(duckdb.Error):
            self.con.close()
        self._dir.cleanup()

    def __enter__(self) -> LogDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------------------

    def _csv(self, path: Path) -> str:
        source = (f"read_csv({_lit(str(path))}, all_varchar = true, header = true, strict_mode = false, "
                  "delim = ',', quote = '\"', escape = '\"', max_line_size = 67108864)")
        names = [row[0] for row in self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        renamed = ", ".join(f'"{n.replace(chr(34), chr(34) * 2)}" AS "{column(n).replace(chr(34), chr(34) * 2)}"'
                            for n in names)
        return f"(SELECT {renamed} FROM {source})"

    def _source(self, path: Path, found: Recognised) -> tuple[str, str]:
        """(``FROM`` relation with ``j`` and maybe outer fallbacks, outer flag) for one file."""
        p = _lit(str(path))
        if found.layout == "csv":
            rel = self._csv(path)
            if found.format is Format.PURVIEW_CSV:
                cols = {column(r[0]).casefold(): column(r[0]) for r in
                        self.con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()}

                def col(*names: str) -> str:
                    hits = [f't."{cols[n.casefold()]}"' for n in names if n.casefold() in cols]
                    return f"coalesce({', '.join(hits)})" if hits else "NULL"

                return (f"(SELECT t.\"{cols['auditdata']}\" AS j, {col('RecordId')} AS o_id, "
                        f"{col('CreationDate')} AS o_t, {col('UserId', 'UserIds')} AS o_usr, NULL AS o_ip, "
                        f"{col('Operation', 'Operations')} AS o_op FROM {rel} t)", "outer")
            return f"(SELECT to_json(t)::VARCHAR AS j FROM {rel} t)", ""
        if found.layout == "json-value":
            objs = (f"(SELECT unnest(from_json(json->'value', '[\"JSON\"]'))::VARCHAR AS j "
                    f"FROM read_json_objects({p}, format = 'unstructured'))")
        else:
            fmt = "array" if found.layout == "json-array" else "newline_delimited"
            objs = f"(SELECT json::VARCHAR AS j FROM read_json_objects({p}, format = '{fmt}'))"
        # The record is a JSON value inside each object: each object is parsed once for all it gives (DuckDB
        # parses per expression, and seven parses of 50,000 CloudAppEvents rows ran out of its memory).
        if found.format is Format.CLOUD_APP_EVENTS:
            return _nested(objs, "$.RawEventData", ["$.ReportId", "$.RawEventData.Id", "$.Timestamp",
                                                    "$.AccountDisplayName", "$.AccountId", "$.IPAddress",
                                                    "$.ActionType"]), "outer"
        if found.format is Format.GRAPH_AUDIT_QUERY:
            return _nested(objs, "$.auditData", ["$.id", "$.id", "$.createdDateTime", "$.userPrincipalName",
                                                 "$.userPrincipalName", "$.clientIp", "$.operation"]), "outer"
        return objs, ""

    def add(self, path: Path, found: Recognised, label: str) -> int:
        """Read one file into ``recs``; returns the number of records. Raises ``duckdb.Error`` when broken."""
        source, outer = self._source(path, found)
        select, x = _index(found.format.kind, outer)
        # Graph's query API names the record's id at the top (its own id); Purview's RecordId is the same value
        if found.format is Format.GRAPH_AUDIT_QUERY:
            select = select.replace("coalesce(x[1], x[2], o_id) AS id", "coalesce(o_id, x[1], x[2]) AS id", 1)
        before = self.count()
        self.con.execute(f"""
            INSERT INTO recs
            SELECT {_lit(label)}, {_lit(found.format.value)}, {_lit(found.format.kind)}, {select}, j
            FROM (SELECT *, {x} AS x FROM {source} WHERE j IS NOT NULL)""")
        return self.count() - before

    def count(self) -> int:
        row = self.con.execute("SELECT count(*) FROM recs").fetchone()
        return int(row[0]) if row else 0

    # -- asking ------------------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params)).fetchall()

    def stream(self, sql: str, params: Sequence[Any] = (), batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        cursor = self.con.cursor()
        cursor.execute(sql, list(params))
        while rows := cursor.fetchmany(batch):
            yield from rows


__all__ = ["MEMORY_LIMIT", "LogDB"]
