"""``reclaim emulator``: serve the practice tenant, list scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from reclaim.cli.common import reclaim_errors
from reclaim.cli.console import console, safe
from reclaim.errors import BadInput

app = typer.Typer(help="The practice tenant: a stateful Microsoft 365 emulator.", no_args_is_help=True,
                  rich_markup_mode=None)


@app.command("scenarios")
def list_scenarios(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the built-in scenarios."""
    from reclaim.emulator.scenarios import scenarios

    items = [{"name": s.name, "description": s.description} for s in scenarios()]
    items.append({"name": "--synthetic N", "description": "N users with benign rules and a seeded share of "
                                                          "compromised ones (--seed S)."})
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    for item in items:
        console.print(f"[bold]{safe(item['name'])}[/bold]  {safe(item['description'])}")


@app.command("serve")
def serve(
    fixture: Path | None = typer.Option(None, "--fixture", metavar="FILE", help="Load this fixture (JSON)."),
    scenario: str | None = typer.Option(None, "--scenario", metavar="NAME", help="Load a built-in scenario."),
    synthetic: int | None = typer.Option(None, "--synthetic", min=1, max=200_000,
                                         metavar="N", help="Generate a tenant of N users."),
    host: str = typer.Option("127.0.0.1", "--host", metavar="HOST", help="Loopback address to bind."),
    port: int = typer.Option(0, "--port", min=0, max=65535, metavar="PORT", help="Port (0: any free port)."),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0, max=60_000, metavar="MS",
                                     help="Added to every response."),
    faults: str = typer.Option("", "--faults", metavar="FAULTS", help="e.g. 429=0.1,503=0.05,reset=0.01,slow=0.01"),
    seed: int | None = typer.Option(None, "--seed", metavar="N", help="Seed for faults and --synthetic."),
    throttling: bool = typer.Option(True, "--throttling/--no-throttling",
                                    help="Apply Microsoft's throttling rules (off: benchmarks of raw speed)."),
) -> None:
    """Serve the emulator until interrupted; the first line of output is its base URL."""
    from reclaim.emulator import Emulator, FaultSpec, read_fixture_file
    from reclaim.emulator.scenarios import load_scenario
    from reclaim.emulator.scenarios import synthetic as make_synthetic
    from reclaim.emulator.server import base_url, bind, bound_port, check_loopback, make_server, run_announced

    with reclaim_errors():  # a bad fixture, host or fault spec: one line, exit 2 (in-process too)
        chosen = [x for x in (fixture, scenario, synthetic) if x is not None]
        if len(chosen) > 1:
            raise BadInput("choose one of --fixture, --scenario and --synthetic")
        check_loopback(host)
        try:
            spec = FaultSpec.parse(faults)
        except ValueError as exc:
            raise BadInput(f"--faults: {exc}") from None
        if fixture is not None:
            document = read_fixture_file(fixture)
        elif scenario is not None:
            document = load_scenario(scenario)
        elif synthetic is not None:
            document = make_synthetic(synthetic, seed or 0)
        else:
            document = load_scenario("bec-classic")
        if not throttling:
            document.setdefault("tenant", {}).setdefault("settings", {})["throttling"] = {"enabled": False}
        emulator = Emulator(document, latency_ms=latency_ms, faults=spec, seed=seed)
        sock = bind(host, port)  # bound and listening before anything is printed: the port shown is the one served
        port = bound_port(sock)
        server = make_server(emulator, host, port)
    url = base_url(host, port)
    # The URL is printed once uvicorn accepts connections on the socket, so a reader of the first line can connect.
    run_announced(server, sock, lambda: typer.echo(url, nl=True))
