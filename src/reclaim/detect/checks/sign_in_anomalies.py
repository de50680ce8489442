"""Suspicious sign-ins: a new country for the user, impossible travel, legacy protocols, risk, MFA fatigue."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    NotCollected,
    Severity,
    get,
    items,
    strings,
    text,
    when,
)

METADATA = CheckMeta(
    id="sign-in-anomalies",
    title="Suspicious sign-ins",
    severity=("per sign-in, strongest reason wins: high for one session used from two countries (stolen "
              "cookie, adversary-in-the-middle), high for impossible travel (faster than 900 km/h over more "
              "than 500 km) or high sign-in risk; medium for a successful sign-in from a country the user does not "
              "use (not their usage location or usual country), a legacy protocol (IMAP, POP, SMTP, EAS, "
              "\"Other clients\", ROPC) or medium risk (a risk dismissed or remediated no longer counts); medium for "
              "MFA fatigue (5+ denied MFA prompts). "
              "The user's usual countries and addresses come from the sign-ins before the investigated period "
              "(read 30 days further back), so the attacker's own sign-ins never become usual; of an impossible "
              "jump or a replayed session the unfamiliar end is blamed, and two familiar ends are not reported. "
              "Failed sign-ins alone are not reported. Repeats from the same IP with the same reasons are "
              "grouped into one finding."),
    symptom="people receive mail the user did not send (suspicious sign-ins: new country, impossible travel, "
            "legacy protocols, risky)",
    references=("sigma azure_legacy_authentication_protocols", "panther Azure.Audit.LegacyAuth",
                "panther Azure.Audit.HighRiskSignIn", "https://learn.microsoft.com/graph/api/resources/signin"),
    scope="user",
    needs=("sign_ins",),
    reads=("user",),
    marks_attacker_ip=True,
)

LEGACY = {"imap4", "imap", "pop3", "pop", "smtp", "authenticated smtp", "exchange activesync", "mapi",
          "mapi over http", "exchange web services", "other clients", "autodiscover", "exchange online powershell",
          "offline address book", "outlook anywhere (rpc over http)", "reporting web services",
          "universal outlook"}
MFA_DENIED = {500121, 50074, 50076}
SPEED_KMH = 900.0
MIN_KM = 500.0
#: a sign-in's risk that no longer stands
CLEARED = {"dismissed", "remediated", "confirmedsafe"}
#: successful sign-ins before the window needed to take the user's usual places from them
BASELINE_MIN = 3


def _ok(s: Mapping[str, Any]) -> bool:
    code = get(get(s, "status"), "errorCode")
    return code in (0, "0", None)


def _coords(s: Mapping[str, Any]) -> tuple[float, float] | None:
    geo = get(get(s, "location"), "geoCoordinates")
    lat, lon = get(geo, "latitude"), get(geo, "longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float) and not isinstance(lat, bool):
        return float(lat), float(lon)
    return None


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _country(s: Mapping[str, Any]) -> str | None:
    c = text(get(s, "location"), "countryOrRegion")
    return c.upper() if c else None


def _rank(level: str | None) -> Severity | None:
    return {"high": Severity.HIGH, "medium": Severity.MEDIUM}.get((level or "").lower())


def _usual_places(ok: list[Mapping[str, Any]], usage: str | None, since: datetime | None
                  ) -> tuple[set[str], set[str], str]:
    """The countries and addresses the user normally signs in from, and where that knowledge comes from.

    From the sign-ins before the investigated window when there are enough of them (the attacker's own
    sign-ins, inside the window, can then never become "usual"); otherwise from the window itself, where a
    country counts only with at least 3 sign-ins and a quarter of the most used one's."""
    usual = {usage.upper()} if usage else set()
    history = [s for s in ok if since is not None and (t := when(s, "createdDateTime")) is not None and t < since]
    if len(history) >= BASELINE_MIN:
        countries = Counter(c for s in history if (c := _country(s)))
        usual.update(c for c, n in countries.items() if n >= 2 or n >= 0.1 * len(history))
        ips = {ip for s in history if (ip := text(s, "ipAddress"))}
        return usual, ips, f"the {len(history)} sign-ins before the investigated period"
    countries = Counter(c for s in ok if (c := _country(s)))
    if countries:
        top, top_n = countries.most_common(1)[0]
        usual.add(top)
        usual.update(c for c, n in countries.items() if n >= max(3, top_n * 0.25))
    return usual, set(), "the investigated period (no earlier sign-ins to compare with)"


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    sign_ins = [s for s in bundle.records("sign_ins") if when(s, "createdDateTime") is not None]
    sign_ins.sort(key=lambda s: when(s, "createdDateTime"))  # type: ignore[arg-type, return-value]
    usage = None if isinstance(bundle.user, NotCollected) else text(bundle.user, "usageLocation")
    ok = [s for s in sign_ins if _ok(s)]
    since = bundle.window.since
    usual, known_ips, baseline = _usual_places(ok, usage, since)
    per_sign_in: dict[int, list[tuple[Severity, str, str]]] = {}
    index = {id(s): i for i, s in enumerate(sign_ins)}
    judged = {i for i, s in enumerate(sign_ins) if bundle.window.contains(when(s, "createdDateTime"))}

    def add(i: int, severity: Severity, kind: str, reason: str) -> None:
        if i in judged:  # the baseline before the window is compared with, never reported
            per_sign_in.setdefault(i, []).append((severity, kind, reason))

    def familiar(s: Mapping[str, Any]) -> bool:
        return _country(s) in usual or text(s, "ipAddress") in known_ips

    previous: Mapping[str, Any] | None = None
    for s in ok:
        i = index[id(s)]
        country = _country(s)
        if country and usual and country not in usual and text(s, "ipAddress") not in known_ips:
            add(i, Severity.MEDIUM, "newCountry", f"signed in from {country}, a country the user does not use "
                f"(usual: {', '.join(sorted(usual))}, from {baseline})")
        app = (text(s, "clientAppUsed") or "").strip().lower()
        agent = (text(s, "userAgent") or "").lower()
        if app in LEGACY:
            add(i, Severity.MEDIUM, "legacyProtocol", f"signed in with the legacy protocol {text(s, 'clientAppUsed')}, "
                "which skips multi-factor authentication")
        elif "ropc" in agent or (text(s, "authenticationProtocol") or "").lower() == "ropc":
            add(i, Severity.MEDIUM, "ropc", "signed in with a password-only (ROPC) client")
        risk = _rank(text(s, "riskLevelDuringSignIn")) or _rank(text(s, "riskLevelAggregated"))
        events = strings(items(s, "riskEventTypes_v2")) or strings(items(s, "riskEventTypes"))
        if (text(s, "riskState") or "").lower() in CLEARED:
            risk, events = None, []  # an administrator dismissed the risk, or it was remediated
        if risk:
            add(i, risk, "risk", f"Microsoft rated the sign-in {risk.value} risk" + (
                f" ({', '.join(events)})" if events else ""))
        elif events:
            add(i, Severity.MEDIUM, "risk", f"risk detections on the sign-in: {', '.join(events)}")
        if previous is not None:
            a, b = _coords(previous), _coords(s)
            t0, t1 = when(previous, "createdDateTime"), when(s, "createdDateTime")
            if a and b and t0 and t1:
                km = _km(a, b)
                hours = max((t1 - t0).total_seconds() / 3600, 1 / 60)
                # Of an impossible jump, the end that is not where the user usually is is the suspect; two
                # familiar ends are the user's own (a VPN, two offices), never blamed on them.
                if km > MIN_KM and km / hours > SPEED_KMH and not (familiar(previous) and familiar(s)):
                    blamed, other = (previous, s) if familiar(s) else (s, previous)
                    add(index[id(blamed)], Severity.HIGH, "impossibleTravel",
                        f"{km:.0f} km from the sign-in in {_country(other) or '?'} within {hours * 60:.0f} "
                        "minutes: impossible travel")
        previous = s
    sessions: dict[str, list[Mapping[str, Any]]] = {}
    for s in ok:
        if sid := text(s, "sessionId"):
            sessions.setdefault(sid, []).append(s)
    for members in sessions.values():
        seen = {(_country(m), text(m, "ipAddress")) for m in members}
        if len({c for c, _ in seen if c}) >= 2:
            origin = members[0]
            for m in members[1:]:
                if _country(m) != _country(origin):
                    # the session started where the user is and was reused elsewhere, or the other way round
                    blamed, other = (origin, m) if familiar(m) and not familiar(origin) else (m, origin)
                    add(index[id(blamed)], Severity.HIGH, "sessionReplay", f"one session was used from "
                        f"{_country(other)} and {_country(blamed)}: a stolen session cookie")
                    break
    out = _group(sign_ins, per_sign_in)
    denied = [s for i, s in enumerate(sign_ins) if i in judged and get(get(s, "status"), "errorCode") in MFA_DENIED]
    if len(denied) >= 5:
        first = denied[0]
        out.append(Finding(METADATA.id, Severity.MEDIUM, f"{len(denied)} multi-factor prompts were denied or not "
                           "answered: someone who knows the password is trying (MFA fatigue).",
                           Artifact("signIn", text(first, "id") or ""),
                           evidence={"count": len(denied), "ipAddress": text(first, "ipAddress"),
                                     "attemptOnly": True},
                           reasons=("repeated MFA prompts are a push-bombing attack",),
                           time=when(first, "createdDateTime"), symptom=METADATA.symptom))
    return out


def _group(sign_ins: list[Mapping[str, Any]],
           per_sign_in: dict[int, list[tuple[Severity, str, str]]]) -> list[Finding]:
    groups: dict[tuple[str, frozenset[str]], list[int]] = {}
    for i, found in sorted(per_sign_in.items()):
        key = (text(sign_ins[i], "ipAddress") or "?", frozenset(k for _, k, _ in found))
        groups.setdefault(key, []).append(i)
    out: list[Finding] = []
    for (ip, _kinds), members in groups.items():
        first = sign_ins[members[0]]
        found = per_sign_in[members[0]]
        severity = max((s for s, _, _ in found), key=lambda s: s.rank)
        reasons = [r for _, _, r in sorted(found, key=lambda f: -f[0].rank)]
        if len(members) > 1:
            reasons.append(f"{len(members)} sign-ins like this from {ip}")
        moment: datetime | None = when(first, "createdDateTime")
        country = _country(first) or "an unknown country"
        out.append(Finding(
            METADATA.id, severity, f"Suspicious sign-in from {ip} ({country}) with "
            f"{text(first, 'clientAppUsed') or 'an unknown client'}: {reasons[0]}.",
            Artifact("signIn", text(first, "id") or ""),
            evidence={"ipAddress": ip, "country": _country(first), "clientAppUsed": text(first, "clientAppUsed"),
                      "appDisplayName": text(first, "appDisplayName"), "count": len(members),
                      "signInIds": [text(sign_ins[i], "id") for i in members[:20]],
                      "kinds": sorted({k for _, k, _ in found})},
            reasons=tuple(reasons), time=moment, symptom=METADATA.symptom))
    return out
