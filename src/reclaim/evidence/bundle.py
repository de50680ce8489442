"""An evidence bundle to hand over: one zip with a case's raw evidence as collected, its findings, timeline,
not-collected records and remediation journal, and a manifest of SHA-256 hashes, checked offline.

Layout (every member stored uncompressed, with fixed metadata, in this order)::

    manifest.json             format, case, the journal's chain head, the case seal's head, and per file its
                              path, size and SHA-256
    manifest.sha256           the SHA-256 of manifest.json (so an altered manifest is found as well)
    case.json                 the case: kind, subject, tenant, window, verdict, summary
    evidence/<id>-<kind>.<ext>        each payload byte for byte as the case store keeps it
    evidence/<id>-<kind>.meta.json    its request, source, collection time and the SHA-256 recorded at collection
    findings.json, timeline.json, not_collected.json, journal.json

:func:`verify_bundle` needs nothing but the file: it re-hashes every member against the manifest and the
manifest against ``manifest.sha256``, checks each payload against the hash recorded when it was collected,
re-computes the journal's hash chain up to the head the manifest names, and rebuilds the zip container from
its members: any single altered byte, in a member or in the zip's own headers, is found and named where it can be.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reclaim.errors import BadInput
from reclaim.store import GENESIS_HASH, Store
from reclaim.store._canonical import canonical_json, sha256_hex
from reclaim.store._store import journal_body

FORMAT = "reclaim-evidence-bundle/1"
MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"
#: every member's metadata is fixed, so the container can be rebuilt byte for byte from its members
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_EXTENSIONS = {"application/json": "json", "text/csv": "csv", "text/plain": "txt"}


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True, default=_default) + "\n").encode()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to an evidence bundle")


def _record(value: Any) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    return info


def _container(members: Sequence[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members:
            archive.writestr(_member(name), data)
    return buffer.getvalue()


@dataclass(frozen=True)
class Exported:
    path: Path
    case_id: str
    files: int
    evidence: int
    chain_head: str
    seal_head: str
    sha256: str


def export_bundle(store: Store, case_id: str, out: Path) -> Exported:
    """Write case ``case_id``'s evidence bundle to ``out`` (replaced when it exists)."""
    case = store.get_case(case_id)
    chain = store.verify_chain(case_id)
    integrity = store.verify_case(case_id)
    members: list[tuple[str, bytes]] = [("case.json", _json_bytes(_record(case)))]
    evidence = store.evidence(case_id)
    for info in evidence:
        item = store.get_evidence(info.id, verify=False)
        base = f"evidence/{item.id:06d}-{item.kind}"
        ext = _EXTENSIONS.get(item.content_type.split(";")[0].strip(), "bin")
        members.append((f"{base}.{ext}", item.payload))
        members.append((f"{base}.meta.json", _json_bytes({
            "id": item.id, "kind": item.kind, "source": item.source, "request": item.request,
            "collectedAt": item.collected_at, "storedAt": item.stored_at, "contentType": item.content_type,
            "sha256": item.sha256, "payload": f"{base}.{ext}"})))
    members.append(("findings.json", _json_bytes([_record(f) for f in store.findings(case_id)])))
    members.append(("timeline.json", _json_bytes([_record(t) for t in store.timeline(case_id)])))
    members.append(("not_collected.json", _json_bytes([_record(n) for n in store.not_collected(case_id)])))
    members.append(("journal.json", _json_bytes([{**journal_body(j), "entry_hash": j.entry_hash}
                                                 for j in store.journal(case_id)])))
    manifest = {
        "format": FORMAT, "case": case_id, "kind": case.kind, "subject": case.subject,
        "chain": {"headHash": chain.head_hash, "length": chain.length, "ok": chain.ok,
                  "firstBadSeq": chain.first_bad_seq, "reason": chain.reason},
        "seal": {"head": integrity.head, "length": integrity.length, "state": integrity.state,
                 "problems": list(integrity.problems)},
        "files": [{"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                  for name, data in members],
    }
    manifest_bytes = _json_bytes(manifest)
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    data = _container([(MANIFEST, manifest_bytes), (MANIFEST_DIGEST, f"{digest}  {MANIFEST}\n".encode()), *members])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return Exported(out, case_id, len(members) + 2, len(evidence), chain.head_hash, integrity.head,
                    hashlib.sha256(data).hexdigest())


@dataclass
class Verified:
    """The result of :func:`verify_bundle`: ``ok`` when nothing was altered; ``problems`` names what was."""

    path: Path
    case_id: str | None = None
    files: int = 0
    chain_head: str | None = None
    seal_head: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "case": self.case_id, "intact": self.ok, "files": self.files,
                "chainHead": self.chain_head, "sealHead": self.seal_head, "problems": self.problems}


def _read_members(path: Path, out: Verified) -> list[tuple[str, bytes]] | None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = []
            for info in archive.infolist():
                try:
                    members.append((info.filename, archive.read(info)))
                except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
                    out.problems.append(f"{info.filename}: cannot be read ({exc})")
            return members
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        out.problems.append(f"the zip container is damaged ({exc})")
        return None


def verify_bundle(path: Path) -> Verified:
    """Check an exported bundle offline. Raises :class:`BadInput` when ``path`` is no file at all."""
    if not path.is_file():
        raise BadInput(f"{path}: no such file", hint="give the .zip written by `reclaim evidence export`")
    out = Verified(path)
    members = _read_members(path, out)
    if members is None:
        return out
    by_name = dict(members)
    if len(by_name) != len(members):
        out.problems.append("a file name appears twice in the zip")
    manifest_bytes = by_name.get(MANIFEST)
    if manifest_bytes is None:
        out.problems.append(f"{MANIFEST} is missing: not an evidence bundle, or altered")
        return out
    recorded = (by_name.get(MANIFEST_DIGEST) or b"").decode("utf-8", "replace").split(" ")[0].strip()
    if hashlib.sha256(manifest_bytes).hexdigest() != recorded:
        out.problems.append(f"{MANIFEST} was altered (its SHA-256 does not match {MANIFEST_DIGEST})")
    try:
        manifest = json.loads(manifest_bytes)
        files = {str(f["path"]): f for f in manifest["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        out.problems.append(f"{MANIFEST} cannot be read ({exc})")
        return out
    if manifest.get("format") != FORMAT:
        out.problems.append(f"{MANIFEST}: unknown format {manifest.get('format')!r}")
    out.case_id = str(manifest.get("case") or "") or None
    out.chain_head = (manifest.get("chain") or {}).get("headHash")
    out.seal_head = (manifest.get("seal") or {}).get("head")
    out.files = len(files)
    for name, entry in files.items():
        data = by_name.get(name)
        if data is None:
            out.problems.append(f"{name}: missing")
        elif hashlib.sha256(data).hexdigest() != entry.get("sha256") or len(data) != entry.get("size"):
            out.problems.append(f"{name}: altered (SHA-256 does not match the manifest)")
    for name in by_name.keys() - files.keys() - {MANIFEST, MANIFEST_DIGEST}:
        out.problems.append(f"{name}: not in the manifest (added)")
    _check_payloads(by_name, out)
    _check_journal(by_name.get("journal.json"), out)
    if _container(members) != path.read_bytes():
        out.problems.append("the zip container itself was altered (its headers differ from the bundle's layout)")
    return out


def _check_payloads(by_name: Mapping[str, bytes], out: Verified) -> None:
    """Each payload against the SHA-256 recorded when it was collected (in its .meta.json)."""
    for name, data in by_name.items():
        if not (name.startswith("evidence/") and name.endswith(".meta.json")):
            continue
        try:
            meta = json.loads(data)
            payload = by_name.get(str(meta["payload"]))
            wanted = str(meta["sha256"])
        except (ValueError, KeyError, TypeError):
            out.problems.append(f"{name}: cannot be read")
            continue
        if payload is None:
            out.problems.append(f"{meta['payload']}: missing")
        elif hashlib.sha256(payload).hexdigest() != wanted:
            out.problems.append(f"{meta['payload']}: does not match the SHA-256 recorded when it was collected")


def _check_journal(data: bytes | None, out: Verified) -> None:
    """Re-compute the journal's hash chain; its head must be the one the manifest names."""
    if data is None:
        out.problems.append("journal.json: missing")
        return
    try:
        entries = json.loads(data)
        prev = GENESIS_HASH
        for expected, entry in enumerate(entries, start=1):
            body = {k: v for k, v in entry.items() if k != "entry_hash"}
            if body.get("seq") != expected or body.get("prev_hash") != prev or \
                    sha256_hex(canonical_json(body)) != entry["entry_hash"]:
                out.problems.append(f"journal.json: entry {expected} does not match its hash chain")
                return
            prev = entry["entry_hash"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        out.problems.append(f"journal.json: cannot be read ({exc})")
        return
    if out.chain_head is not None and prev != out.chain_head:
        out.problems.append("journal.json: its chain head is not the one the manifest names")


__all__ = ["FORMAT", "Exported", "Verified", "export_bundle", "verify_bundle"]
