"""The directory backend: users, their sign-in sessions and authentication methods, consents, user risk.

Every change Graph makes to the directory goes through a function here. A password is never stored: only that
it changed (``lastPasswordChangeDateTime``) and the force-change flags.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reclaim.emulator.clock import iso, new_id

JSON = dict[str, Any]


def update_user(user: JSON, changes: JSON, now: datetime) -> None:
    """``PATCH /users/{id}``, already checked: writable properties as given; a password profile as its flags."""
    for key, value in changes.items():
        if key == "passwordProfile":
            user["lastPasswordChangeDateTime"] = iso(now)
            user["passwordProfile"] = {
                "forceChangePasswordNextSignIn": bool(value.get("forceChangePasswordNextSignIn", False)),
                "forceChangePasswordNextSignInWithMfa": bool(value.get("forceChangePasswordNextSignInWithMfa", False)),
            }
        else:
            user[key] = value


def revoke_sessions(user: JSON, now: datetime) -> None:
    """Refresh tokens and session cookies issued before now are no longer valid."""
    user["signInSessionsValidFromDateTime"] = iso(now)


def remove_authentication_method(user: JSON, method: JSON) -> None:
    methods: list[JSON] = user.setdefault("authenticationMethods", [])
    methods[:] = [m for m in methods if m is not method]


def remove_grant(held: list[JSON], grant: JSON) -> None:
    """Revoke a delegated consent from the list that holds it (a user's, or the tenant-wide one)."""
    held[:] = [g for g in held if g is not grant]


def confirm_compromised(state_data: JSON, user: JSON, now: datetime) -> None:
    """Identity Protection: the user's risk is set high, with the admin's detection recorded."""
    stamp = iso(now)
    user.setdefault("risk", {}).update({"riskLevel": "high", "riskState": "confirmedCompromised",
                                        "riskDetail": "adminConfirmedUserCompromised",
                                        "riskLastUpdatedDateTime": stamp})
    detections: list[JSON] = state_data.setdefault("riskDetections", [])
    detections.append({
        "id": new_id(), "requestId": None, "correlationId": None, "riskEventType": "adminConfirmedUserCompromised",
        "riskState": "confirmedCompromised", "riskLevel": "high", "riskDetail": "adminConfirmedUserCompromised",
        "source": "IdentityProtection", "detectionTimingType": "offline", "activity": "user",
        "tokenIssuerType": "AzureAD", "ipAddress": None, "location": None, "activityDateTime": stamp,
        "detectedDateTime": stamp, "lastUpdatedDateTime": stamp, "userId": user["id"],
        "userDisplayName": user.get("displayName"), "userPrincipalName": user.get("userPrincipalName"),
        "additionalInfo": "[]",
    })


def dismiss_risk(user: JSON, now: datetime) -> None:
    user.setdefault("risk", {}).update({"riskLevel": "none", "riskState": "dismissed",
                                        "riskDetail": "adminDismissedAllRiskForUser",
                                        "riskLastUpdatedDateTime": iso(now)})
