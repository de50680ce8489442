"""``reclaim tenant``: configure tenants (add, list, remove) and check what reclaim may do in one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.table import Table

from reclaim.cli.common import ENDPOINT_OPTION, TENANT_OPTION, fail, reclaim_errors, resolve_settings, run_connected
from reclaim.cli.console import console, safe
from reclaim.config import TENANT_ENV, Config, TenantEntry
from reclaim.errors import EXIT_CONNECT, BadInput

if TYPE_CHECKING:
    from reclaim.m365.check import TenantReport
    from reclaim.m365.credentials import CredentialKind

app = typer.Typer(help="Configure Microsoft 365 tenants and check what reclaim may do in them.",
                  no_args_is_help=True, rich_markup_mode=None)

_STATE_STYLE = {"ready": "green", "partial": "yellow", "blocked": "red"}


@app.command("add")
def add(
    name: str = typer.Argument(..., metavar="NAME", help="A short name for the tenant (e.g. contoso)."),
    tenant_id: str = typer.Option(..., "--tenant-id", metavar="ID",
                                  help="Directory (tenant) id, or a verified domain."),
    client_id: str | None = typer.Option(None, "--client-id", metavar="ID",
                                         help="Application (client) id of the app registration."),
    certificate: Path | None = typer.Option(None, "--certificate", metavar="FILE",
                                            help="Certificate with private key (PEM or PFX)."),
    certificate_password_env: str | None = typer.Option(
        None, "--certificate-password-env", metavar="VAR", help="Env var holding the PFX/PEM password."),
    secret_env: str | None = typer.Option(None, "--secret-env", metavar="VAR",
                                          help="Env var holding the client secret."),
    secret_keyring: bool = typer.Option(False, "--secret-keyring",
                                        help="Read the client secret from the OS keyring (service 'reclaim', "
                                             "user = client id)."),
    managed_identity: bool = typer.Option(False, "--managed-identity",
                                          help="Use the Azure managed identity of this machine."),
    device_code: bool = typer.Option(False, "--device-code", help="Sign in as an admin with a device code "
                                                                  "(delegated)."),
    azure_cli: bool = typer.Option(False, "--azure-cli", help="Use the account signed in to the Azure CLI."),
    endpoint: str | None = typer.Option(None, "--endpoint", metavar="URL",
                                        help="An https:// emulator base URL (testing only)."),
    ca_bundle: Path | None = typer.Option(None, "--ca-bundle", metavar="FILE",
                                          help="Extra CA certificates to trust (PEM)."),
    make_default: bool = typer.Option(False, "--default", help="Make this the default tenant."),
    force: bool = typer.Option(False, "--force", help="Replace a tenant of the same name."),
) -> None:
    """Add a tenant to the config file. No secret is ever written: only where it comes from."""
    with reclaim_errors():
        kinds: list[CredentialKind] = []
        if certificate is not None:
            kinds.append("certificate")
        if secret_env is not None or secret_keyring:
            kinds.append("secret")
        if managed_identity:
            kinds.append("managed-identity")
        if device_code:
            kinds.append("device-code")
        if azure_cli:
            kinds.append("azure-cli")
        if len(kinds) != 1:
            raise BadInput("choose exactly one credential: --certificate PATH, --secret-env VAR, --secret-keyring, "
                           "--managed-identity, --device-code or --azure-cli")
        if certificate_password_env and certificate is None:
            raise BadInput("--certificate-password-env goes with --certificate")
        cert_path: str | None = None
        if certificate is not None:
            resolved = certificate.expanduser().resolve()
            if not resolved.is_file():
                raise BadInput(f"certificate file not found: {resolved}")
            cert_path = str(resolved)
        if name.casefold() in RESERVED_NAMES:
            raise BadInput(f"the tenant name {name!r} is reserved (--tenant {name.casefold()} means every configured "
                           "tenant)", hint="choose another name, e.g. contoso")
        if certificate is not None:
            check_certificate(certificate.expanduser().resolve(), certificate_password_env)
        entry = TenantEntry(name=name, tenant_id=tenant_id, auth=kinds[0], client_id=client_id,
                            certificate=cert_path, certificate_password_env=certificate_password_env,
                            secret_env=secret_env, secret_keyring=secret_keyring, endpoint=endpoint,
                            ca_bundle=str(ca_bundle.expanduser().resolve()) if ca_bundle else None)
        if entry.endpoint is not None and entry.endpoint.strip().lower().startswith("http:") and entry.auth != "secret":
            # what `tenant check` (the connection) refuses, refused here too
            raise BadInput(f"a {entry.auth} credential needs an https:// endpoint",
                           hint="plain-HTTP (loopback emulator) endpoints support client secrets only")
        config = Config.load()
        config.add(entry, replace=force, make_default=make_default)
        config.save()
    marker = " (default)" if config.default == name else ""
    console.print(f"added tenant {safe(name)}{marker} to {safe(config.path)}")
    console.print(f"next: reclaim tenant check {safe(name)}")


#: names a tenant cannot have: ``--tenant all`` means every configured tenant
RESERVED_NAMES = frozenset({"all"})


def check_certificate(path: Path, password_env: str | None) -> None:
    """Refuse at ``tenant add`` what the connection would refuse later: not a file, not a PEM with a private key
    and a certificate, not a PFX that opens (with the password from ``password_env`` when it is set now)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

    if not path.is_file():
        raise BadInput(f"certificate file not found: {path}")
    data = path.read_bytes()
    password = os.environ.get(password_env or "", "").encode() or None
    if b"-----BEGIN" in data:
        try:
            x509.load_pem_x509_certificate(data)
        except ValueError:
            raise BadInput(f"{path}: no certificate in this PEM file",
                           hint="the PEM must hold the certificate and its private key") from None
        if b"PRIVATE KEY-----" not in data:
            raise BadInput(f"{path}: no private key in this PEM file",
                           hint="the PEM must hold the certificate and its private key")
        try:
            load_pem_private_key(data, password)
        except TypeError:
            if password_env is None:
                raise BadInput(f"{path}: the private key is encrypted",
                               hint="add --certificate-password-env VAR (the NAME of the variable)") from None
        except ValueError:
            raise BadInput(f"{path}: the private key cannot be read (wrong password, or not a key)") from None
        return
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(data, password)
    except ValueError:
        if password is None and password_env is not None:
            return  # encrypted, and its password is not in the environment now: `tenant check` opens it
        raise BadInput(f"{path}: neither a PEM file nor a PFX (PKCS#12) that opens",
                       hint="export the certificate with its private key as PEM or PFX") from None
    if key is None or cert is None:
        raise BadInput(f"{path}: the PFX must hold the certificate and its private key")


@app.command("list")
def list_tenants(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the configured tenants."""
    with reclaim_errors():
        config = Config.load()
    if as_json:
        typer.echo(json.dumps({"config": str(config.path), "default": config.default,
                               "tenants": [{"name": n, **e.to_toml()} for n, e in sorted(config.tenants.items())]},
                              indent=2))
        return
    if not config.tenants:
        console.print(f"no tenants configured in {safe(config.path)}; add one with `reclaim tenant add`")
        return
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("name", no_wrap=True)
    for col in ("tenant", "client id", "credential"):
        table.add_column(col, overflow="fold")
    for name, entry in sorted(config.tenants.items()):
        label = f"{name} (default)" if name == config.default else name
        table.add_row(safe(label), safe(entry.tenant_id), safe(entry.client_id or "-"),
                      safe(entry.credential().describe()))
    console.print(table)


@app.command("remove")
def remove(name: str = typer.Argument(..., metavar="NAME", help="The tenant to remove.")) -> None:
    """Remove a tenant from the config file (nothing changes in the tenant itself)."""
    with reclaim_errors():
        config = Config.load()
        config.remove(name)
        config.save()
    console.print(f"removed tenant {safe(name)} from {safe(config.path)}")


@app.command("check")
def check(
    name: str | None = typer.Argument(None, metavar="NAME",
                                      help="The tenant, as --tenant (default: RECLAIM_TENANT, else the default)."),
    tenant: str | None = TENANT_OPTION,
    endpoint: str | None = ENDPOINT_OPTION,
    require: list[str] = typer.Option([], "--require", metavar="COMMAND",
                                      help="Exit 3 unless this command can run (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Authenticate, read what the app was granted, and say which reclaim commands can run."""
    from reclaim.m365.check import check_tenant
    from reclaim.remediate.requirements import commands

    required = commands()
    known = {c.command for c in required}
    for wanted in require:
        if wanted not in known:
            fail(BadInput(f"--require {wanted!r}: not a command reclaim checks",
                          hint=f"one of {', '.join(sorted(known))}"))
    if name and tenant and name != tenant:
        fail(BadInput(f"two tenants given: {name} and --tenant {tenant}", hint="give one"))
    settings = resolve_settings(name or tenant or os.environ.get(TENANT_ENV), endpoint)
    report = run_connected(settings, lambda conn: check_tenant(conn, required))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        _render(report)
    blocked = [c.command for c in report.commands if c.command in require and not c.can_run]
    if blocked:
        raise typer.Exit(EXIT_CONNECT)


def _render(report: TenantReport) -> None:
    from reclaim.m365.permissions import missing_grants

    console.print(f"tenant      {safe(report.tenant_id)}")
    console.print(f"app         {safe(report.app_id or '-')}  ({safe(report.credential)}"
                  f"{', delegated' if report.delegated else ''})")
    console.print(f"endpoint    {safe(report.endpoint)}")
    console.print(f"Graph       {safe(', '.join(report.graph_permissions) or 'no permissions')}")
    exo = ", ".join(report.exchange_permissions) or "no permissions"
    console.print(f"Exchange    {safe(exo if not report.exchange_error else report.exchange_error)}")
    roles = ", ".join(report.roles) or "no directory roles"
    if report.unknown_role_ids:
        roles += f" (+ {len(report.unknown_role_ids)} other role id(s))"
    console.print(f"roles       {safe(roles)}")
    for probe in report.probes:
        mark = "[green]ok[/green]" if probe.ok else "[red]failed[/red]"
        detail = f": {safe(probe.detail)}" if probe.detail else ""
        console.print(f"probe       {safe(probe.name)} {mark}{detail}")
    table = Table(box=box.SIMPLE_HEAD, show_lines=False)
    table.add_column("command")
    table.add_column("can run")
    table.add_column("missing")
    for cmd in report.commands:
        style = _STATE_STYLE[cmd.state]
        missing_lines = []
        for status in cmd.statuses:
            if status.allowed:
                continue
            tag = "" if status.capability.required else " (skipped)"
            missing_lines.append(f"{status.capability.name}{tag}: {'; '.join(status.missing)}")
        table.add_row(safe(cmd.command), f"[{style}]{cmd.state}[/{style}]",
                      safe("\n".join(missing_lines)) if missing_lines else "-")
    console.print(table)
    to_grant, roles_to_assign = missing_grants(report.commands)
    if to_grant or roles_to_assign:
        parts = [", ".join(to_grant), ", ".join(f"{r} (role)" for r in roles_to_assign)]
        console.print("to make every command ready, grant: " + safe("; ".join(p for p in parts if p)))
    console.print("ready: everything works · partial: runs, some checks/actions skipped and reported · "
                  "blocked: a required permission or role is missing", style="dim")
