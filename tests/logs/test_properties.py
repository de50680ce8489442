"""Hypothesis: the readers never crash on what an export may hold, and keep every record's own id."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reclaim.logs import samples
from reclaim.logs.canonical import unwrap
from reclaim.logs.engine import LogDB
from reclaim.logs.formats import Recognised, Unrecognised, recognise

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
record = st.fixed_dictionaries({
    "Id": st.uuids().map(str), "Operation": st.sampled_from(["MailItemsAccessed", "Set-Mailbox", "Send", "x,y"]),
    "CreationTime": st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")),
    "UserId": text, "ClientIP": st.sampled_from(["1.2.3.4", "1.2.3.4:5000", "[2001:db8::1]:443", "", "junk"]),
    "RecordType": st.sampled_from(["ExchangeItem", "SharePoint", "AzureActiveDirectoryStsLogon"]),
    "Workload": text}, optional={"Parameters": st.lists(st.fixed_dictionaries({"Name": text, "Value": text})),
                                 "Subject": text})
WRITERS = [samples.purview_csv, samples.json_array, samples.json_lines, samples.sentinel_office_csv,
           samples.cloud_app_events, samples.graph_audit_query]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, min_size=1, max_size=8, unique_by=lambda r: r["Id"]), st.sampled_from(WRITERS))
def test_every_written_record_is_read_back_with_its_id(records: list[dict[str, Any]], writer: Any) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = samples.write(Path(d) / "f", writer(records))
        found = recognise(path)
        assert isinstance(found, Recognised), found
        with LogDB() as db:
            db.add(path, found, "f")
            assert sorted(r[0] for r in db.query("SELECT id FROM recs")) == sorted(r["Id"] for r in records)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_recognise_never_raises_on_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x"
        path.write_bytes(data)
        assert isinstance(recognise(path), Recognised | Unrecognised)


@given(text)
def test_unwrap_never_raises(value: str) -> None:
    unwrap(value)
