"""``cases show``, ``report`` and ``verify --offline`` read the case's seal: "altered" and exit 1 when it no longer
matches, the seal head (the anchor) printed when it does."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.errors import EXIT_FINDINGS, EXIT_OK
from reclaim.store import Store
from tests.store.conftest import Backend
from tests.store.test_seal import make_case


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.fixture
def case(backend: Backend) -> tuple[str, str]:
    with backend.store() as store:
        case_id = make_case(store)
        head = store.verify_case(case_id).head
    return case_id, head


def test_an_intact_case_shows_its_seal_head(backend: Backend, case: tuple[str, str]) -> None:
    case_id, head = case
    code, out = invoke("cases", "show", case_id, "--db", backend.url)
    assert code == EXIT_OK and "case: intact" in out and head in out
    code, out = invoke("verify", "--offline", case_id, "--db", backend.url)
    assert code == EXIT_OK and "intact" in out and head in out
    code, out = invoke("report", case_id, "--format", "md", "--db", backend.url)
    assert code == EXIT_OK and "Case seal intact" in out and head in out
    code, out = invoke("report", case_id, "--format", "html", "--db", backend.url)
    assert code == EXIT_OK and head in out
    code, out = invoke("report", case_id, "--format", "json", "--db", backend.url)
    document = json.loads(out)
    assert code == EXIT_OK and document["seal"] == {"state": "intact", "headHash": head, "length": 11,
                                                    "problems": []} and document["intact"] is True


@pytest.mark.parametrize("tamper", [
    "DELETE FROM journal WHERE case_id = :id AND seq > 2",
    "DELETE FROM findings WHERE case_id = :id",
    "UPDATE cases SET verdict = 'clean' WHERE id = :id",
])
def test_an_altered_case_says_so_everywhere(backend: Backend, case: tuple[str, str], tamper: str) -> None:
    case_id, head = case
    backend.sql(tamper, {"id": case_id})
    code, out = invoke("cases", "show", case_id, "--db", backend.url)
    assert code == EXIT_FINDINGS and "ALTERED" in out and head in out
    code, out = invoke("cases", "show", case_id, "--db", backend.url, "--json")
    shown = json.loads(out)
    assert code == EXIT_FINDINGS and shown["seal"]["state"] == "altered" and shown["intact"] is False
    code, out = invoke("verify", "--offline", case_id, "--db", backend.url)
    assert code == EXIT_FINDINGS and "ALTERED" in out
    code, out = invoke("verify", "--offline", case_id, "--db", backend.url, "--json")
    assert code == EXIT_FINDINGS and json.loads(out)["state"] == "altered"
    code, out = invoke("report", case_id, "--format", "md", "--db", backend.url)
    assert code == EXIT_FINDINGS and "Case ALTERED" in out and "altered" in out
    code, out = invoke("report", case_id, "--format", "json", "--db", backend.url)
    document = json.loads(out[:out.rindex("}") + 1])
    assert code == EXIT_FINDINGS and document["seal"]["state"] == "altered" and document["intact"] is False


def test_verify_offline_of_an_unknown_case_is_one_line(backend: Backend, case: tuple[str, str]) -> None:
    code, out = invoke("verify", "--offline", "c-19990101-0001", "--db", backend.url)
    assert code == 2 and "no case" in out and "Traceback" not in out


def test_the_other_cases_stay_intact(backend: Backend, case: tuple[str, str]) -> None:
    case_id, _ = case
    backend.sql("DELETE FROM timeline WHERE case_id = :id", {"id": case_id})
    with Store(backend.url) as store:
        other = next(c.case.id for c in store.list_cases() if c.case.id != case_id)
    assert invoke("verify", "--offline", other, "--db", backend.url)[0] == EXIT_OK
