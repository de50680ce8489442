"""The Exchange admin API held to Microsoft's cmdlet reference: parameter names, sets, types and outputs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reclaim.emulator import Emulator, services
from reclaim.emulator.exchange_binding import BindingError, Syntax, bind
from reclaim.emulator.exchange_cmdlets import CMDLETS
from reclaim.emulator.server import serve_in_thread
from tests.conftest import EXCHANGE_SCOPE, TenantClient
from tests.emulator.test_exchange import fixture

DOCS = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


@pytest.fixture(scope="module")
def tenant() -> Iterator[Callable[..., TenantClient]]:
    """One served tenant for the module: every test here only reads, or is refused before anything changes."""
    f = fixture()
    f["tenant"]["settings"] = {"unifiedAuditLogIngestionEnabled": False}
    f["users"][0]["mailbox"]["auditBypassEnabled"] = True
    f["users"][0]["mailbox"]["auditLogAgeLimit"] = "0.00:00:00"
    emulator = Emulator(f)
    with serve_in_thread(emulator) as url:
        client = TenantClient(emulator, url)
        client.token(EXCHANGE_SCOPE)
        yield lambda: client
        client.close()


def _detail(r: httpx.Response) -> tuple[str, str]:
    """The exception type and the text a person reads, from a cmdlet error."""
    _, exception, text = r.json()["error"]["details"][0]["message"].split("|", 2)
    return exception, text


BINDING = "System.Management.Automation.ParameterBindingException"


@pytest.mark.parametrize(("cmdlet", "parameters", "text"), [
    ("Get-Mailbox", {"Identity": "alice@contoso.com", "Bogus": 1},
     "A parameter cannot be found that matches parameter name 'Bogus'."),
    # on-premises only: Exchange Online has no -DomainController
    ("Get-InboxRule", {"Mailbox": "alice@contoso.com", "DomainController": "dc01.contoso.com"},
     "A parameter cannot be found that matches parameter name 'DomainController'."),
    ("Get-MobileDevice", {"Mailbox": "alice@contoso.com", "Identity": "x"},
     "Parameter set cannot be resolved using the specified named parameters."),
    ("Get-Mailbox", {"Identity": "alice@contoso.com", "Anr": "ali"},
     "Parameter set cannot be resolved using the specified named parameters."),
    ("Remove-MobileDevice", {}, "Cannot process command because of one or more missing mandatory parameters: "
                                "Identity."),
    ("Get-Mailbox", {"ResultSize": "lots"}, "Cannot bind parameter 'ResultSize' to the target."),
    ("Get-TransportRule", {"State": "Sometimes"}, "Unable to match the identifier name Sometimes"),
    ("Set-CASMailbox", {"Identity": "alice@contoso.com", "PopEnabled": "maybe"},
     "Cannot convert value \"maybe\" to type \"System.Boolean\""),
    ("Remove-MailboxPermission", {"Identity": "alice@contoso.com", "User": "bob@contoso.com",
                                  "AccessRights": ["FullAccess", "SendAs"]},
     "Cannot convert value \"SendAs\" to type \"Microsoft.Exchange.Management.RecipientTasks.MailboxRights\""),
    ("Get-Mailbox", {"Identity": ["alice@contoso.com", "bob@contoso.com"]}, "Cannot bind parameter 'Identity'."),
])
def test_the_binder_refuses_what_exchange_refuses(tenant: Callable[[], TenantClient], cmdlet: str,
                                                  parameters: dict[str, Any], text: str) -> None:
    r = tenant().exo(cmdlet, parameters)
    assert r.status_code == 400, r.text
    exception, said = _detail(r)
    assert exception == BINDING and text in said


def test_a_real_parameter_the_tenant_does_not_serve_is_not_called_unknown(
        tenant: Callable[[], TenantClient]) -> None:
    r = tenant().exo("Get-Mailbox", {"Filter": "ForwardingSmtpAddress -ne $null"})
    assert r.status_code == 501
    _, said = _detail(r)
    assert "does not serve the parameter 'Filter' of Get-Mailbox" in said and "learn.microsoft.com" in said


def test_common_parameters_parameter_names_and_sets_bind_case_insensitively(
        tenant: Callable[[], TenantClient]) -> None:
    c = tenant()
    r = c.exo("get-mailbox", {"anr": "Ali", "resultsize": "Unlimited", "ErrorAction": "Stop"})
    assert r.status_code == 200 and [m["UserPrincipalName"] for m in r.json()["value"]] == ["alice@contoso.com"]
    devices = c.exo("Get-MobileDevice", {"Mailbox": "alice@contoso.com"})
    assert devices.status_code == 200 and len(devices.json()["value"]) == 1


def test_audit_settings_are_read_as_exchange_returns_them(tenant: Callable[[], TenantClient]) -> None:
    c = tenant()
    config = c.exo("Get-AdminAuditLogConfig", {}).json()["value"]
    assert len(config) == 1 and config[0]["UnifiedAuditLogIngestionEnabled"] is False
    assert {"AdminAuditLogEnabled", "AdminAuditLogAgeLimit", "AdminAuditLogCmdlets", "LogLevel",
            "TestCmdletLoggingEnabled", "Identity", "Name"} <= set(config[0])
    bypass = c.exo("Get-MailboxAuditBypassAssociation", {"Identity": "alice@contoso.com"}).json()["value"]
    assert [(b["AuditBypassEnabled"], set(b) >= {"Name", "ObjectId", "Identity"}) for b in bypass] == [(True, True)]
    everyone = c.exo("Get-MailboxAuditBypassAssociation", {"ResultSize": "Unlimited"}).json()["value"]
    assert sorted(b["AuditBypassEnabled"] for b in everyone) == [False, False, True]
    mailbox = c.exo("Get-Mailbox", {"Identity": "alice@contoso.com"}).json()["value"][0]
    assert mailbox["AuditEnabled"] is True and mailbox["AuditLogAgeLimit"] == "0.00:00:00"
    assert "AuditBypassEnabled" not in mailbox  # Get-MailboxAuditBypassAssociation's, not Get-Mailbox's
    missing = c.exo("Get-AdminAuditLogConfig", {"Identity": "x"})
    assert missing.status_code == 400 and "'Identity'" in _detail(missing)[1]


def test_parameter_sets_resolve_to_the_default_when_several_fit() -> None:
    syntax = Syntax.parse("""
        Identity: Identity:MobileDeviceIdParameter
        Mailbox: !Mailbox:MailboxIdParameter
        *: ResultSize:Unlimited
        """, "Identity")
    assert bind("Get-MobileDevice", syntax, {"ResultSize": 5}, unserved={}, reference="") == {"ResultSize": 5}
    with pytest.raises(BindingError, match="missing mandatory parameters: Mailbox"):
        bind("Get-MobileDevice", Syntax.parse("Mailbox: !Mailbox:MailboxIdParameter"), {}, unserved={},
             reference="")


def test_every_cmdlet_names_its_reference_page_and_the_docs_list_them_all() -> None:
    assert services.EXCHANGE_CMDLETS
    table = dict(re.findall(r"^\| `([A-Za-z-]+)` \| <?(https://learn\.microsoft\.com/[^ >|]+)>? \|",
                            DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE))
    for cmdlet in CMDLETS.values():
        assert cmdlet.reference.startswith("https://learn.microsoft.com/powershell/module/exchange/"), cmdlet.name
        assert table.get(cmdlet.name) == cmdlet.reference, f"docs/architecture.md: add {cmdlet.name}"
    assert set(table) == {c.name for c in CMDLETS.values()}
