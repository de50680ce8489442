"""What every built-in tenant has, so that each scenario states only what is particular to it.

The preamble: accepted domains, tenant settings (licences, unblock delay), Microsoft's own service
principals, the verified app users consent to (Zoom); and the closing ``scenarioTruth`` document
(the format is in ``_common``).
"""

from __future__ import annotations

from collections.abc import Sequence

from reclaim.emulator.scenarios._common import (
    EXO_APP_ID,
    GRAPH_APP_ID,
    GRAPH_EXPLORER_APP_ID,
    JSON,
    MICROSOFT_TENANT_ID,
    Clock,
    TenantBuilder,
    grant,
    grant_id,
    guid,
    service_principal,
    truth_lists,
)

#: Zoom: the verified third-party app that benign users have consented to.
ZOOM_APP_ID = "f8f1a9c4-3b2e-4c1d-9a8b-7c6d5e4f3a2b"
ZOOM_OWNER_TENANT = "7e7b8a3c-2d1f-4e5a-9b6c-0d1e2f3a4b5c"
ZOOM_PUBLISHER = "Zoom Video Communications, Inc."
ZOOM_SCOPE = "openid profile email offline_access User.Read Calendars.ReadWrite"


def tenant_domains(stem: str) -> list[str]:
    """A tenant's accepted domains: its own ``stem.com`` first, then the initial ``stem.onmicrosoft.com``."""
    return [f"{stem}.com", f"{stem}.onmicrosoft.com"]


def tenant_settings(*, entra_id_p2: bool, unblock_delay_seconds: int) -> JSON:
    """``tenant.settings``: every tenant has Entra ID P1 and no security defaults; P2 (Identity Protection:
    risk detections, risky users) and the delay before a blocked sender can send again vary."""
    return {"licenses": {"entraIdP1": True, "entraIdP2": entra_id_p2}, "unblockDelaySeconds": unblock_delay_seconds,
            "securityDefaultsEnabled": False}


def graph_sp_id(key: str) -> str:
    """The id of Microsoft Graph's service principal in tenant ``key`` (the resource of most grants)."""
    return guid(key, "sp", "graph")


def first_party_service_principals(key: str, created: str) -> list[JSON]:
    """Microsoft's own service principals every tenant has (the resources grants point at).

    As in a real tenant, first-party apps carry no ``verifiedPublisher``: they are recognised by
    ``appOwnerOrganizationId`` (Microsoft's tenant), not by a publisher verification."""
    return [
        service_principal(graph_sp_id(key), GRAPH_APP_ID, "Microsoft Graph", publisher="Microsoft Services",
                          verified=False, owner_tenant=MICROSOFT_TENANT_ID, created=created),
        service_principal(guid(key, "sp", "exo"), EXO_APP_ID, "Office 365 Exchange Online",
                          publisher="Microsoft Services", verified=False, owner_tenant=MICROSOFT_TENANT_ID,
                          created=created),
        service_principal(guid(key, "sp", "graphexplorer"), GRAPH_EXPLORER_APP_ID, "Graph Explorer",
                          publisher="Microsoft Services", verified=False, owner_tenant=MICROSOFT_TENANT_ID,
                          created=created),
    ]


def open_tenant(key: str, tenant_id: str, name: str, *, apps_created: tuple[int, int]) -> TenantBuilder:
    """A hand-written tenant on ``tenant_domains(key)``, timed from now, with Microsoft's service principals
    created ``apps_created`` = (days ago, hour UTC)."""
    t = TenantBuilder(key, tenant_id, name, tenant_domains(key), Clock())
    t.service_principals.extend(first_party_service_principals(key, t.clock.days_ago(*apps_created)))
    return t


def zoom_app(key: str, created: str) -> JSON:
    """Zoom's service principal in tenant ``key``."""
    return service_principal(guid(key, "sp", "zoom"), ZOOM_APP_ID, "Zoom", publisher=ZOOM_PUBLISHER, verified=True,
                             owner_tenant=ZOOM_OWNER_TENANT, created=created, homepage="https://zoom.us")


def zoom_grant(key: str, who: str, user: JSON) -> JSON:
    """``user``'s (``who`` names them in ids) consent to Zoom's ordinary scopes on Microsoft Graph."""
    return grant(grant_id(key, who, "zoom"), guid(key, "sp", "zoom"), graph_sp_id(key), user["id"], ZOOM_SCOPE)


def scenario_truth(name: str, tenant: TenantBuilder, entries: dict[str, JSON], *, ips: Sequence[str] = (),
                   forwarding_addresses: Sequence[str] = (), domains: Sequence[str] = (),
                   app_ids: Sequence[str] = (), phishing_subjects: Sequence[str] = (),
                   rule_names: Sequence[str] = (), internal_recipients: Sequence[str] = (),
                   hostile_text: Sequence[str] | None = None) -> JSON:
    """``scenarioTruth``: the attacker's indicators, the verdict lists, and ``entries`` (one per user, by UPN)
    in the tenant's user order."""
    users = {upn: entries[upn] for upn in tenant.users}
    truth: JSON = {
        "scenario": name,
        "indicators": {"ips": list(ips), "forwardingAddresses": list(forwarding_addresses), "domains": list(domains),
                       "appIds": list(app_ids), "phishingSubjects": list(phishing_subjects),
                       "ruleNames": list(rule_names), "internalRecipients": list(internal_recipients)},
    }
    if hostile_text is not None:
        truth["hostileText"] = list(hostile_text)
    return {**truth, **truth_lists(users), "users": users}
