"""Exchange cmdlets on mobile devices: ``Get-MobileDevice``, ``Remove-MobileDevice``.
"""

from __future__ import annotations

from typing import Any

from reclaim.emulator.backends import mailbox as mailboxes
from reclaim.emulator.exchange_cmdlets import (
    CmdletContext,
    Item,
    Params,
    cmdlet,
    mailbox_users,
    mailboxes_in_scope,
    not_found,
    result_size,
)
from reclaim.emulator.exchange_objects import (
    device_id,
    device_view,
)

JSON = dict[str, Any]


# ------------------------------------------------------------------------------------------ mobile devices
def _device_matches(user: JSON, device: JSON, key: str) -> bool:
    view = device_view(user, device)
    k = key.strip().lower()
    return k in {str(view["Identity"]).lower(), str(view["Guid"]).lower(), str(view["Name"]).lower(),
                 device_id(device).lower(), str(device.get("id", "")).lower()}


@cmdlet("Get-MobileDevice", """
    Mailbox: !Mailbox:MailboxIdParameter
    Identity: Identity:MobileDeviceIdParameter
    *: ResultSize:Unlimited
    """, default_set="Identity", unserved=("ActiveSync", "Filter", "Monitoring", "OrganizationalUnit",
                                           "OWAforDevices", "SortBy", "RestApi", "UniversalOutlook"))
def get_mobile_device(ctx: CmdletContext, p: Params) -> list[Item]:
    identity = p.text("Identity")
    views: list[Item] = []
    for user in mailboxes_in_scope(ctx, p, "Mailbox"):
        for device in user["mailbox"].get("mobileDevices", []):
            if identity and not _device_matches(user, device, identity):
                continue
            views.append(device_view(user, device))
    if identity and not views:
        raise not_found(identity)
    return result_size(ctx, p, views)


@cmdlet("Remove-MobileDevice", "Default: !Identity:MobileDeviceIdParameter")
def remove_mobile_device(ctx: CmdletContext, p: Params) -> list[Item]:
    identity = str(p.text("Identity"))
    for user in mailbox_users(ctx.state):
        for device in user["mailbox"].get("mobileDevices", []):
            if _device_matches(user, device, identity):
                mailboxes.remove_device(user, device)
                return []
    raise not_found(identity)
