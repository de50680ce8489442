"""``bec-classic``: placeholder until the scenario is written."""

from __future__ import annotations

from typing import Any

from reclaim.emulator.scenarios import Scenario


def build() -> dict[str, Any]:
    return {
        "tenant": {"id": "5b0f3f4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "displayName": "Fabrikam",
                   "domains": ["fabrikam.com"]},
        "users": [
            {"id": "6a1c2e3f-0000-4000-8000-000000000001", "userPrincipalName": "dana@fabrikam.com",
             "displayName": "Dana Lee", "mailbox": {"inboxRules": [
                 {"displayName": "Newsletters", "conditions": {"senderContains": ["newsletter"]},
                  "actions": {"moveToFolder": "inbox", "stopProcessingRules": False}}]}},
        ],
    }


SCENARIO = Scenario("bec-classic", "One compromised user showing every symptom of the procedure.", build)
