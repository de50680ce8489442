"""Mobile (ActiveSync) devices that first synced during the suspicious window."""

from __future__ import annotations

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    judge_created,
    text,
    when,
)

METADATA = CheckMeta(
    id="mobile-device-added",
    title="A phone or mail app was connected to the mailbox",
    severity=("high for a device whose first sync falls in the suspicious window (it keeps a copy of the "
              "mailbox and keeps syncing after a password reset until removed); low for one added recently "
              "otherwise; older devices are not reported."),
    symptom="beyond the procedure (ActiveSync devices)",
    references=("T0pCyber/hawk Get-HawkUserMobileDevice",
                "https://learn.microsoft.com/powershell/module/exchange/get-mobiledevice"),
    scope="mailbox",
    phase=2,
    needs=("mobile_devices",),
)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    out: list[Finding] = []
    for device in bundle.records("mobile_devices"):
        first = when(device, "FirstSyncTime", "firstSyncTime", "WhenCreated")
        model = text(device, "DeviceModel", "deviceModel", "FriendlyName") or "unknown device"
        severity, reason = judge_created(context, first, inside=Severity.HIGH, recent=Severity.LOW,
                                         what=f"{model} first synced")
        if severity is None:
            continue
        device_id = text(device, "Guid", "Identity", "DeviceId", "id") or model
        agent = text(device, "DeviceUserAgent", "deviceUserAgent")
        out.append(Finding(METADATA.id, severity, f"The device {model} started syncing the mailbox"
                           + (" while the account was under attack." if severity is Severity.HIGH else "."),
                           Artifact("mobileDevice", device_id),
                           evidence={"model": model, "os": text(device, "DeviceOS", "deviceOS"), "userAgent": agent,
                                     "deviceId": text(device, "DeviceId", "deviceId"),
                                     "clientType": text(device, "ClientType", "clientType")},
                           reasons=(reason,), time=first, symptom=METADATA.symptom))
    return out
