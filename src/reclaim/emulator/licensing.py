"""Tenant licences that gate Graph features: Entra ID P1 (sign-in logs, registration reports,
Conditional Access) and P2 (Identity Protection).

Set per fixture as ``tenant.settings.licenses = {"entraIdP1": bool, "entraIdP2": bool}``; both default
to true. P2 includes P1, as Microsoft sells it: a tenant with P2 and no P1 flag is treated as P1.
"""

from __future__ import annotations

from reclaim.emulator.wire import ApiError, ApiRequest


def has_license(req: ApiRequest, sku: str) -> bool:
    licenses = req.state.settings.get("licenses") or {}
    if not isinstance(licenses, dict):
        return True
    p2 = bool(licenses.get("entraIdP2", True))
    if sku == "entraIdP2":
        return p2
    return bool(licenses.get("entraIdP1", True)) or p2


def require_p1(req: ApiRequest) -> None:
    """What Graph answers a tenant without Entra ID P1 for sign-in logs and the registration report."""
    if not has_license(req, "entraIdP1"):
        raise ApiError(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                       "Neither tenant is B2C or tenant doesn't have premium license")


def require_p2(req: ApiRequest) -> None:
    """What Graph answers a tenant without Entra ID P2 for Identity Protection."""
    if not has_license(req, "entraIdP2"):
        raise ApiError(403, "Forbidden", "Your tenant is not licensed for this feature.")
