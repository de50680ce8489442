"""Which audit-log export a file is, recognised by its content (never by its name).

:func:`recognise` reads the start of a file (a CSV header or the first JSON object) and names its
:class:`Format`, or says in one sentence why it is not one reclaim reads. Each format says the kind of record it
holds (``auditRecord``, ``signIn`` or ``directoryAudit``) and how its rows are laid out on disk (``layout``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

#: how much of a file is read to recognise it (a first JSON object larger than this is read further)
HEAD = 64 * 1024
MAX_HEAD = 4 * 1024 * 1024

RecordKind = Literal["auditRecord", "signIn", "directoryAudit"]
Layout = Literal["csv", "json-array", "json-lines", "json-value"]


class Format(StrEnum):
    """The exports reclaim reads."""

    PURVIEW_CSV = "purview-csv"                  # Purview audit search / Search-UnifiedAuditLog | Export-Csv
    MANAGEMENT_API = "management-activity-api"   # Office 365 Management Activity API records
    GRAPH_AUDIT_QUERY = "graph-audit-log-query"  # Graph security/auditLog/queries/{id}/records
    SENTINEL_OFFICE = "sentinel-officeactivity"  # Sentinel OfficeActivity table
    SENTINEL_SIGNIN = "sentinel-signinlogs"      # Sentinel SigninLogs (and AADNonInteractiveUserSignInLogs)
    SENTINEL_AUDIT = "sentinel-auditlogs"        # Sentinel AuditLogs
    GRAPH_SIGNIN = "graph-signin"                # Graph signIn objects
    GRAPH_DIRECTORY_AUDIT = "graph-directoryaudit"  # Graph directoryAudit objects
    CLOUD_APP_EVENTS = "defender-cloudappevents"  # Defender advanced hunting CloudAppEvents

    @property
    def kind(self) -> RecordKind:
        if self in (Format.SENTINEL_SIGNIN, Format.GRAPH_SIGNIN):
            return "signIn"
        if self in (Format.SENTINEL_AUDIT, Format.GRAPH_DIRECTORY_AUDIT):
            return "directoryAudit"
        return "auditRecord"


@dataclass(frozen=True)
class Recognised:
    format: Format
    layout: Layout


@dataclass(frozen=True)
class Unrecognised:
    """Why a file is not an export reclaim reads: ``"not text"``, ``"a CSV file with columns a, b"`` ..."""

    reason: str
    #: True when the file looks like one of the formats but is broken (as opposed to another kind of file)
    broken: bool = False


def _keys(obj: dict[str, Any]) -> set[str]:
    return {str(k).casefold() for k in obj}


def column(name: str) -> str:
    """A Sentinel export's column name without its unit: ``TimeGenerated [UTC]`` → ``TimeGenerated``."""
    return re.sub(r"\s*\[[^\]]*\]\s*$", "", name.lstrip("\ufeff").strip())


def classify(obj: dict[str, Any]) -> Format | None:
    """The format of one record (a JSON object or a CSV row's columns), or ``None``."""
    k = _keys(obj)
    if ("raweventdata" in k and ({"actiontype", "application", "applicationid"} & k)):
        return Format.CLOUD_APP_EVENTS
    if "auditdata" in k and ({"recordtype", "creationdate", "operations", "recordid"} & k):
        return Format.PURVIEW_CSV
    if "auditdata" in k and ({"auditlogrecordtype", "operation", "createddatetime"} & k):
        return Format.GRAPH_AUDIT_QUERY
    if "officeworkload" in k or "officeid" in k:
        return Format.SENTINEL_OFFICE
    if "timegenerated" in k and "resulttype" in k and ({"ipaddress", "userprincipalname", "appdisplayname"} & k):
        return Format.SENTINEL_SIGNIN
    if "timegenerated" in k and "operationname" in k and ({"initiatedby", "targetresources"} & k):
        return Format.SENTINEL_AUDIT
    if "creationtime" in k and "operation" in k and ({"recordtype", "workload", "organizationid"} & k):
        return Format.MANAGEMENT_API
    if "createddatetime" in k and ({"ipaddress", "appdisplayname", "clientappused"} & k) and "status" in k:
        return Format.GRAPH_SIGNIN
    if "activitydisplayname" in k and "activitydatetime" in k:
        return Format.GRAPH_DIRECTORY_AUDIT
    return None


_VALUE = re.compile(r'^\{\s*(?:"@odata\.[^"]*"\s*:\s*(?:"[^"]*"|\d+)\s*,\s*)*"value"\s*:\s*\[\s*')


def _first_json(text: str) -> tuple[dict[str, Any] | None, Layout | None, str]:
    """The first record of a JSON document (array, ``{"value": [...]}`` or JSON lines) and its layout."""
    decoder = json.JSONDecoder()
    if text.startswith("["):
        rest = text[1:].lstrip()
        if rest.startswith("]"):
            return None, "json-array", "an empty JSON array"
        try:
            obj, _ = decoder.raw_decode(rest)
        except json.JSONDecodeError as exc:
            return None, None, f"not valid JSON ({exc.msg} near the start)"
        return (obj, "json-array", "") if isinstance(obj, dict) else (None, None, "a JSON array of non-objects")
    if not text.startswith("{"):
        return None, None, ""
    match = _VALUE.match(text)
    if match:
        rest = text[match.end():]
        if rest.startswith("]"):
            return None, "json-value", "an empty Graph response (value: [])"
        try:
            obj, _ = decoder.raw_decode(rest)
        except json.JSONDecodeError as exc:
            return None, None, f"not valid JSON ({exc.msg} near the start)"
        return (obj, "json-value", "") if isinstance(obj, dict) else (None, None, "a value list of non-objects")
    try:
        obj, _ = decoder.raw_decode(text)
    except json.JSONDecodeError as exc:
        return None, None, f"not valid JSON ({exc.msg} near the start)"
    if isinstance(obj, dict) and isinstance(obj.get("value"), list):
        first = next((v for v in obj["value"] if isinstance(v, dict)), None)
        return first, "json-value", "" if first is not None else "an empty Graph response (value: [])"
    return (obj if isinstance(obj, dict) else None), "json-lines", ""


def _head(path: Path, size: int) -> str | None:
    with path.open("rb") as fh:
        raw = fh.read(size)
    if b"\x00" in raw[:4096]:
        return None
    text = raw.decode("utf-8", errors="ignore")
    return text.lstrip("\ufeff").lstrip()


def recognise(path: Path) -> Recognised | Unrecognised:
    """The format of ``path`` from its content."""
    try:
        size = path.stat().st_size
        text = _head(path, HEAD)
    except OSError as exc:
        return Unrecognised(f"cannot be read ({exc.strerror or exc})", broken=True)
    if size == 0:
        return Unrecognised("is empty", broken=True)
    if text is None:
        return Unrecognised("is not a text file (binary content)")
    if not text:
        return Unrecognised("holds only blank space", broken=True)
    if text[0] in "[{":
        read = HEAD
        obj, layout, why = _first_json(text)
        while obj is None and layout is None and read < min(size, MAX_HEAD) and "near the start" in why:
            read *= 4
            full = _head(path, read)
            if full is None:
                break
            obj, layout, why = _first_json(full)
        if obj is None:
            return Unrecognised(f"is JSON but {why}" if why else "is JSON of an unknown shape", broken=bool(why))
        found = classify(obj)
        if found is None:
            keys = ", ".join(sorted(obj)[:8])
            return Unrecognised(f"is JSON but not an audit, sign-in or directory log (first record has {keys})")
        assert layout is not None
        return Recognised(found, layout)
    try:
        header = next(csv.reader(io.StringIO(text.split("\n", 1)[0] + "\n")))
    except (csv.Error, StopIteration):
        return Unrecognised("is neither JSON nor CSV")
    columns = {column(h): "" for h in header if h.strip()}
    if len(columns) < 2:
        return Unrecognised("is neither JSON nor a CSV export with a header row")
    found = classify(columns)
    if found is None:
        return Unrecognised(f"is a CSV file but not an audit, sign-in or directory log export (columns: "
                            f"{', '.join(list(columns)[:8])})")
    return Recognised(found, "csv")


__all__ = ["Format", "Layout", "Recognised", "RecordKind", "Unrecognised", "classify", "column", "recognise"]
