"""Built-in scenarios: tenants as fixtures (the format of DESIGN.md), for the demo, tests and training."""

from __future__ import annotations

from typing import Any

from reclaim.emulator.scenarios._common import Scenario
from reclaim.errors import BadInput

JSON = dict[str, Any]

__all__ = ["Scenario", "load_scenario", "scenarios", "synthetic"]


def _registry() -> dict[str, Scenario]:
    from reclaim.emulator.scenarios import admin_takeover, bec_campaign, bec_classic, clean

    return {s.name: s for s in (bec_classic.SCENARIO, bec_campaign.SCENARIO, clean.SCENARIO,
                                admin_takeover.SCENARIO)}


def scenarios() -> list[Scenario]:
    return list(_registry().values())


def load_scenario(name: str) -> JSON:
    registry = _registry()
    if name not in registry:
        raise BadInput(f"unknown scenario {name!r}", hint=f"choose one of: {', '.join(sorted(registry))}")
    return registry[name].build()


def synthetic(users: int, seed: int = 0) -> JSON:
    from reclaim.emulator.scenarios.synthetic import build

    return build(users, seed)
