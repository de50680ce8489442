"""The checks' helper process (``reclaim.detect.worker``): same findings as in-process, in order, and a
helper that dies or fails is reported to the caller (who then runs the checks itself)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from reclaim.detect.evidence import EvidenceBundle
from reclaim.detect.worker import CheckProcess, CheckProcessGone, analyze_many
from tests.detect.helpers import bundle, graph_rule, recipient

CHECKS = ("inbox-rule-external-forward", "inbox-rule-hiding", "inbox-rule-keywords", "mailbox-forwarding")


def _bundles(n: int) -> list[EvidenceBundle]:
    out = []
    for i in range(n):
        rules = [graph_rule(f"r{i}", "..", conditions={"bodyContains": ["invoice", "payment"]},
                            actions={"forwardTo": [recipient(f"x{i}@evil.example")], "delete": True})] if i % 3 == 0 \
            else [graph_rule(f"r{i}", "Newsletters", conditions={"senderContains": ["news"]},
                             actions={"moveToFolder": "archive"})]
        out.append(bundle(graph_rules=rules, mailbox_owner=f"user{i}@contoso.com",
                          mailbox={"ForwardingSmtpAddress": f"smtp:fw{i}@evil.example"} if i % 5 == 0 else {}))
    return out


def test_the_helper_gives_the_findings_of_the_checks_here_in_request_order() -> None:
    groups = [_bundles(7), _bundles(3), _bundles(12)]

    async def main() -> list[list[tuple[str, object]]]:
        helper = await CheckProcess.start()
        try:
            # several requests in flight at once: each answer reaches its own caller
            return list(await asyncio.gather(*(helper.run(g, CHECKS) for g in groups)))
        finally:
            await helper.close()

    there = asyncio.run(main())
    here = [analyze_many(g, CHECKS) for g in groups]
    assert there == here
    assert any(f.check == "inbox-rule-external-forward" for _, f in here[0])
    assert {owner for owner, f in here[0] if f.check == "mailbox-forwarding"} == {"user0@contoso.com",
                                                                                  "user5@contoso.com"}


def test_a_killed_helper_fails_its_pending_and_later_requests() -> None:
    async def main() -> None:
        helper = await CheckProcess.start()
        try:
            assert await helper.run(_bundles(2), CHECKS)
            helper.process.kill()
            with pytest.raises(CheckProcessGone, match="ended"):
                await helper.run(_bundles(2), CHECKS)
            with pytest.raises(CheckProcessGone):
                await helper.run(_bundles(2), CHECKS)
        finally:
            await helper.close()

    asyncio.run(main())


def test_a_check_that_raises_ends_the_helper_with_its_error() -> None:
    async def main() -> None:
        helper = await CheckProcess.start()
        try:
            with pytest.raises(CheckProcessGone, match=r"KeyError.*no-such-check"):
                await helper.run(_bundles(1), ("no-such-check",))
        finally:
            await helper.close()
        assert helper.process.returncode not in (None, 0)

    asyncio.run(main())


def test_the_helper_imports_the_checks_only() -> None:
    # not the CLI, the client, the store or the caller's __main__: a helper starts in a fraction of a second
    code = ("import sys, reclaim.detect.worker; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'httpx', 'sqlalchemy', 'typer', 'rich', 'starlette', 'azure'} or m.startswith(("
            "'reclaim.cli', 'reclaim.m365', 'reclaim.store', 'reclaim.sweep', 'reclaim.collect'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
