"""The operator the journal and the report name: --operator, RECLAIM_OPERATOR, the config file, else the account
the tenant connection signs in as; never the local login name (``root`` in a container)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.cli.operator import configured_operator, signed_in_as
from reclaim.config import CONFIG_ENV, Config
from reclaim.errors import BadInput
from reclaim.store import Store
from tests.remediate.helpers import Practice, practice

ALICE = "alice.wu@contoso.com"


def test_signed_in_as_names_the_user_or_the_app() -> None:
    assert signed_in_as({"upn": "ir.lead@contoso.com", "appid": "x"}) == "ir.lead@contoso.com"
    assert signed_in_as({"preferred_username": "ann@contoso.com"}) == "ann@contoso.com"
    assert signed_in_as({"appid": "4a1c", "app_displayname": "reclaim-ir"}) == 'app "reclaim-ir" (4a1c)'
    assert signed_in_as({"azp": "4a1c"}) == "app 4a1c"
    assert signed_in_as({}) is None
    assert signed_in_as({"upn": "evil\x1b[2J@x.example"}) == "evil\\x1b[2J@x.example"  # shown as data


def test_flag_then_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert configured_operator(None) is None
    config = Config.load()
    config.operator = "SOC shift lead <soc@contoso.com>"
    config.save()
    assert Config.load().operator == "SOC shift lead <soc@contoso.com>"
    assert configured_operator(None) == "SOC shift lead <soc@contoso.com>"
    assert configured_operator("  jane@contoso.com ") == "jane@contoso.com"
    path.write_text('operator = ""\n', encoding="utf-8")
    with pytest.raises(BadInput, match="operator must be a non-empty string"):
        Config.load()


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("operator"), throttling=False) as p:
        yield p


@pytest.mark.parametrize(("extra", "env_operator", "expected"), [
    ([], None, "app "),  # the connection's account: the practice tenant's app (an app-only token)
    ([], "env-operator", "env-operator"),
    (["--operator", "flag-operator"], "env-operator", "flag-operator"),
])
def test_the_journal_names_the_operator(tenant: Practice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        extra: list[str], env_operator: str | None, expected: str) -> None:
    db = tenant.fresh(tmp_path)
    env = {"RECLAIM_ENDPOINT": tenant.url, "RECLAIM_DB": str(db), "COLUMNS": "200",
           CONFIG_ENV: str(tmp_path / "none.toml")}
    monkeypatch.delenv("RECLAIM_OPERATOR", raising=False)
    if env_operator:
        env["RECLAIM_OPERATOR"] = env_operator
    result = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--only", "block-sign-in",
                                      *extra], env=env)
    assert result.exit_code in (0, 1), result.output
    with Store(db) as store:
        operators = {e.operator for e in store.journal(tenant.cases[ALICE])}
    assert len(operators) == 1
    operator = operators.pop() or ""
    assert operator.startswith(expected), operator
    if not extra and not env_operator:
        assert operator != getpass.getuser() and operator != "root"
        client_id = tenant.settings().credential.client_id
        assert client_id and client_id in operator
