"""``reclaim demo``: the whole job against the built-in practice tenant, no tenant needed."""

from __future__ import annotations

import asyncio

import httpx
from rich.table import Table

from reclaim.cli.console import console, safe


def demo(
    scenario: str = "bec-classic",
) -> None:
    """Start the practice tenant on loopback and show what is in it (over its real HTTP endpoints)."""
    from reclaim.emulator import Emulator
    from reclaim.emulator.scenarios import load_scenario
    from reclaim.emulator.server import serve_in_thread

    emulator = Emulator(load_scenario(scenario))
    with serve_in_thread(emulator) as url:
        console.print(f"practice tenant [bold]{safe(scenario)}[/bold] at {safe(url)}")
        asyncio.run(_show_tenant(url, emulator.state.tenant_id, emulator.state.data["apps"][0]))


async def _show_tenant(url: str, tenant_id: str, app: dict[str, object]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        async def token(scope: str) -> str:
            r = await http.post(f"/{tenant_id}/oauth2/v2.0/token", data={
                "grant_type": "client_credentials", "client_id": str(app["clientId"]),
                "client_secret": str(app["clientSecret"]), "scope": scope})
            r.raise_for_status()
            return str(r.json()["access_token"])

        graph = {"Authorization": f"Bearer {await token('https://graph.microsoft.com/.default')}"}
        r = await http.get("/v1.0/users", params={"$select": "id,userPrincipalName,displayName,accountEnabled"},
                           headers=graph)
        r.raise_for_status()
        users = r.json()["value"]
        table = Table(title="Users")
        for col in ("user", "display name", "sign-in", "inbox rules (Graph)"):
            table.add_column(col)
        for user in users:
            rr = await http.get(f"/v1.0/users/{user['id']}/mailFolders/inbox/messageRules", headers=graph)
            rules = [r["displayName"] for r in rr.json().get("value", [])] if rr.status_code == 200 else []
            table.add_row(safe(user["userPrincipalName"]), safe(user.get("displayName") or ""),
                          "enabled" if user.get("accountEnabled") else "blocked",
                          safe(", ".join(rules)) or "-")
        console.print(table)
