"""``reclaim demo`` ends with the hunt from the case, which finds the second victim, and says what to run next."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.emulator.scenarios import load_scenario
from reclaim.store import Store


def test_the_demo_hunts_and_finds_the_second_victim(tmp_path: Path) -> None:
    truth = load_scenario("bec-classic")["scenarioTruth"]
    first, *others = truth["compromised"]
    assert others, "the scenario has a second victim (the README promises one)"
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "hunt c-" in out and out.index("hunt c-") > out.index("verify c-")
    tail = out[out.index("\nnext "):]
    for victim in others:
        assert f"reclaim investigate {victim}" in tail and f"reclaim remediate {victim}" in tail
    assert f"reclaim investigate {first}" not in tail
    with Store(tmp_path / "demo" / "cases.db") as store:
        kinds = sorted(item.case.kind for item in store.list_cases())
    assert kinds == ["hunt", "investigate"]
