"""Issue 17's figures: ``reclaim investigate`` against a service that misbehaves (the practice tenant behind
``tests/reliability/hostile_server.py``), each case in its own process: exit code, wall time, peak memory, how many
hostile answers were served, and what the run said (not checked, with the reason).

The issue measured, before the bounds: a self nextLink followed ~600 times a second forever, a slow-loris held one
GET for 539 s with a 2 s timeout, a 500 MB body took 8 GB. ``python -m bench hostile``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import Result, register

#: peak RSS of the process, written at exit to the file named by the first argument
_LAUNCH = ("import atexit, resource, sys\n"
           "out = sys.argv.pop(1)\n"
           "atexit.register(lambda: open(out, 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))\n"
           "from reclaim.cli.main import run\n"
           "sys.argv[0] = 'reclaim'\n"
           "run()\n")


@register("hostile")
def hostile() -> Result:
    from tests.reliability.hostile_server import Hostile, Request, endless, rewriting, trickle
    from tests.reliability.support import quiet_fixture
    from tests.reliability.test_hostile_server import EVA, EXCHANGE, GRAPH_RULES, HOSTILE_RULE

    from reclaim.emulator import Emulator
    from reclaim.emulator.server import serve_in_thread

    fixture = quiet_fixture("clean")
    fixture["tenant"]["settings"]["licenses"] = {"entraIdP1": True, "entraIdP2": True}
    (eva,) = [u for u in fixture["users"] if u["userPrincipalName"] == EVA]
    eva["mailbox"]["inboxRules"] = [*eva["mailbox"].get("inboxRules", []), HOSTILE_RULE]
    emulator = Emulator(fixture)
    layer = Hostile(emulator.app)
    emulator.app = layer  # type: ignore[assignment]

    def rules(*arms: Callable[[], Any]) -> Callable[[], list[Any]]:
        return lambda: [arm() for arm in arms]

    def inbox_rules(graph: Any, exchange: Any) -> Callable[[], list[Any]]:
        return rules(lambda: layer.add("GET", GRAPH_RULES, graph),
                     lambda: layer.add("POST", EXCHANGE, exchange, when=lambda r: r.cmdlet == "Get-InboxRule"))

    results: dict[str, Any] = {}
    with serve_in_thread(emulator) as url:
        def self_link(body: Any, request: Request) -> Any:
            return {**body, "@odata.nextLink": f"{url}{request.url_path}"}

        cases: dict[str, tuple[Callable[[], list[Any]], dict[str, str]]] = {
            "served normally": (rules(), {}),
            "self nextLink": (inbox_rules(rewriting(self_link), rewriting(self_link)), {}),
            "slow-loris 1 byte / 1.5 s, deadline 2 s": (inbox_rules(trickle(every=1.5), trickle(every=1.5)),
                                                       {"RECLAIM_REQUEST_DEADLINE": "2"}),
            "endless body, default 64 MB cap": (inbox_rules(endless(most_mb=2048), endless(most_mb=2048)), {}),
        }
        for name, (arm, env) in cases.items():
            layer.rules.clear()
            armed = arm()
            results[name] = _run(url, env, armed)
    return {"cases": results}


def _run(url: str, extra: dict[str, str], armed: list[Any]) -> dict[str, Any]:
    from tests.reliability.test_hostile_server import EVA

    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_")}
        env.update({"RECLAIM_ENDPOINT": url, "RECLAIM_DB": f"{home}/cases.db", "RECLAIM_HOME": home,
                    "RECLAIM_CONFIG": f"{home}/config.toml", **extra})
        rss = Path(home) / "rss"
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _LAUNCH, str(rss), "investigate", EVA, "--json",
                               "--no-follow-actors"], env=env, capture_output=True, text=True, timeout=900,
                              check=False)
        seconds = time.perf_counter() - start
        doc = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
        return {"exit": done.returncode, "seconds": round(seconds, 1),
                "peakRssMB": round(int(rss.read_text()) / 1024) if rss.exists() else None,
                "hostileAnswers": [r.hits for r in armed], "verdict": doc.get("verdict"),
                "notChecked": len(doc.get("notChecked", [])),
                "reasons": sorted({n["reason"][:160] for n in doc.get("notChecked", [])})[:2]}
