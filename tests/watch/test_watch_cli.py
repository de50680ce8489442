"""``reclaim watch --once`` over configured tenants, here and through the queue (``--queue`` + a worker)."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import ExitStack
from pathlib import Path

from typer.testing import CliRunner

from reclaim.cli.main import app as cli
from reclaim.emulator.scenarios import synthetic
from tests.queue.conftest import serve_tenants
from tests.queue.test_postgres import _reclaim
from tests.watch.test_watch import Receiver


def test_watch_once_alerts_then_stays_quiet(tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        with ExitStack() as stack:
            t = serve_tenants(stack, tmp_path, {"alpha": synthetic(25, 41), "beta": synthetic(30, 42)})
            watch = tmp_path / "watch.toml"
            watch.write_text('[[alerts]]\nformat = "slack"\nurl_env = "HOOK"\n', encoding="utf-8")
            env = {**t.env, "HOOK": receiver.url}
            args = ["watch", "--once", "--config", str(watch), "--db", str(tmp_path / "w.db")]
            first = CliRunner().invoke(cli, [*args, "--json"], env=env)
            assert first.exit_code == 1, first.output
            cycles = [json.loads(line) for line in first.output.splitlines()]
            assert [c["tenant"] for c in cycles] == ["alpha", "beta"]
            assert all(c["newFindings"] and c["deliveries"][0]["ok"] for c in cycles)
            assert len(receiver.bodies) == 2 and all("blocks" in b for b in receiver.bodies)
            second = CliRunner().invoke(cli, args, env=env)
            assert second.exit_code == 0, second.output
            assert "alpha: quiet cycle, complete, 0 new" in second.output and len(receiver.bodies) == 2
            bad = CliRunner().invoke(cli, [*args, "--every", "soon"], env=env)
            assert bad.exit_code == 2 and "--every 'soon'" in bad.output
    finally:
        receiver.close()


def test_watch_cycles_run_on_a_worker(tmp_path: Path, pg_url: str) -> None:
    receiver = Receiver()
    try:
        with ExitStack() as stack:
            t = serve_tenants(stack, tmp_path, {"alpha": synthetic(25, 41)})
            watch = tmp_path / "watch.toml"
            watch.write_text(f'[[alerts]]\nformat = "json"\nurl = "{receiver.url}"\n', encoding="utf-8")
            db = str(tmp_path / "w.db")
            base = ["--db", db, "--queue-url", pg_url]
            queued = CliRunner().invoke(cli, ["watch", "--once", "--queue", "--json", *base], env=t.env)
            assert queued.exit_code == 0, queued.output
            job = json.loads(queued.output)["job"]
            again = CliRunner().invoke(cli, ["watch", "--once", "--queue", "--json", *base], env=t.env)
            assert json.loads(again.output) == {"tenant": "alpha", "job": job, "alreadyQueued": True}
            done = subprocess.run([*_reclaim(), "worker", "--until-empty", "--watch-config", str(watch), *base],
                                  env={**os.environ, **t.env}, capture_output=True, text=True, timeout=120,
                                  check=False)
            assert done.returncode == 0, done.stderr
            assert len(receiver.bodies) == 1 and receiver.bodies[0]["tenant"] == "alpha"
            listed = CliRunner().invoke(cli, ["jobs", "list", "--json", *base], env=t.env)
            rows = json.loads(listed.output)["jobs"]
            assert [(r["id"], r["task"], r["status"]) for r in rows] == [(job, "reclaim:watch", "succeeded")]
    finally:
        receiver.close()
