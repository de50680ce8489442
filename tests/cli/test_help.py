"""``--help`` reads as a person writes: metavars in words, a case is CASE, defaults that are true, exit codes."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from reclaim.cli.main import app


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    commands = getattr(group, "commands", None)  # a group (typer's own click)
    if isinstance(commands, dict):
        found: list[tuple[str, ...]] = []
        for name, command in commands.items():
            found.extend(_commands(command, (*prefix, name)))
        return found
    return [prefix]


COMMANDS = _commands(typer.main.get_command(app))


def help_text(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_covered() -> None:
    assert {("report",), ("hunt",), ("cases", "close"), ("tenant", "check"), ("verify",)} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_metavars_are_words_not_python_types(command: tuple[str, ...]) -> None:
    text = help_text(*command)
    options = text[text.index("Options:"):] if "Options:" in text else ""
    assert not re.search(r"--[\w-]+(?:, -\w)? <[a-z]", options), options  # no "--only <list[str]>"
    usage = text.splitlines()[0]
    # arguments in capitals (typer braces the required ones): {USER}, {CASE}, never {user} or <str>
    assert not re.search(r"\{[a-z]|<[a-z]", usage), usage
    assert "a investigate" not in text


def test_defaults_and_exit_codes_say_what_is_true() -> None:
    hunt = help_text("hunt")
    since = " ".join(hunt[hunt.index("--since"):hunt.index("--json")].split())
    assert "[default: 30d]" not in since and "the case's window" in since, since
    assert hunt.splitlines()[0] == "Usage: reclaim hunt [OPTIONS] [CASE]"
    verify = " ".join(help_text("verify").split())
    assert "2 bad input" in verify and "3 the tenant could not be reached" in verify
    assert "--tenant NAME" in help_text("tenant", "check")
    for command in (("report",), ("verify",), ("undo",), ("cases", "show"), ("cases", "close")):
        assert re.search(r" [{\[]?CASE\b", help_text(*command).splitlines()[0]), command


@pytest.mark.parametrize(("text", "seconds"), [("0", 0.0), ("90", 90.0), ("30s", 30.0), ("30m", 1800.0),
                                               ("1h", 3600.0), ("24H", 86400.0)])
def test_verify_wait_takes_a_duration(text: str, seconds: float) -> None:
    from reclaim.cli.remediate import parse_duration

    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["25h", "-1", "soon", "1d", "nan", ""])
def test_a_bad_wait_is_one_line_and_exit_2(text: str) -> None:
    result = CliRunner().invoke(app, ["verify", "c-20261127-0001", "--wait", text, "--db", "/nonexistent/x.db"])
    assert result.exit_code == 2 and "--wait" in result.output and result.output.count("\n") == 1, result.output
