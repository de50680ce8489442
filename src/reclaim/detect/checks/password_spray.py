"""Password spray and brute force: failed sign-ins from one address (across users, or many for this user),
then a successful sign-in of this user from that address."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    get,
    normalise_ip,
    text,
    user_label,
    when,
)

METADATA = CheckMeta(
    id="password-spray",
    title="Password spray or brute force, then a successful sign-in",
    severity=("high when this user signed in successfully from an address that, before, failed to sign in as "
              f"{5} or more different users (spray) or {10} or more times as this user (brute force), within "
              "one hour; "
              "low context when the address failed that often but never got in as this user (an attempt: "
              "no verdict). The sign-ins of other users from the same addresses come with the evidence in "
              "analyze logs; investigate sees the user's own, so it finds brute force."),
    symptom="beyond the procedure (how the attacker got the password)",
    references=("panther-analysis Microsoft365.Brute.Force.Login.by.User",
                "panther-analysis Azure.Audit.ManyFailedSignIns",
                "https://learn.microsoft.com/security/operations/incident-response-playbook-password-spray"),
    scope="user",
    needs=("sign_ins",),
    marks_attacker_ip=True,
    indicators=(("ip", "ipAddress"),),
)

SPRAY_USERS = 5
BRUTE_FAILURES = 10
#: the failures must fall within this long (Panther's brute-force rule: 10 in 60 minutes); a user's ten typos
#: from the office over a month are not an attack
BURST = timedelta(hours=1)


def _burst(failed: list[Mapping[str, Any]], me: str) -> tuple[int, int]:
    """(most different users, most failures as ``me``) within any :data:`BURST` of time. Failures without a time
    cannot be placed: they count in every window (a conservative reading of a partial export)."""
    timed = sorted(((t, (text(s, "userPrincipalName") or me).casefold()) for s in failed
                    if (t := when(s, "createdDateTime")) is not None), key=lambda x: x[0])
    untimed = [(text(s, "userPrincipalName") or me).casefold() for s in failed if when(s, "createdDateTime") is None]
    base = Counter(untimed)
    users, mine = len(base), base[me]
    window: Counter[str] = Counter()
    start = 0
    for end in range(len(timed)):
        window[timed[end][1]] += 1
        while timed[end][0] - timed[start][0] > BURST:
            window[timed[start][1]] -= 1
            if not window[timed[start][1]]:
                del window[timed[start][1]]
            start += 1
        users, mine = max(users, len(window.keys() | base.keys())), max(mine, window[me] + base[me])
    return users, mine


def _failed(s: Mapping[str, Any]) -> bool:
    code = get(get(s, "status") or {}, "errorCode")
    return code not in (None, 0, "0", "")


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    me = user_label(bundle).casefold()
    failures: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    successes: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for s in bundle.records("sign_ins"):
        ip = normalise_ip(text(s, "ipAddress"))
        if not ip:
            continue
        if _failed(s):
            failures[ip].append(s)
        elif (text(s, "userPrincipalName") or me).casefold() == me:
            successes[ip].append(s)
    out: list[Finding] = []
    for ip, failed in failures.items():
        users = {(text(s, "userPrincipalName") or "").casefold() for s in failed}
        mine = [s for s in failed if (text(s, "userPrincipalName") or me).casefold() == me]
        burst_users, burst_mine = _burst(failed, me)
        spray = burst_users >= SPRAY_USERS
        brute = burst_mine >= BRUTE_FAILURES
        if not (spray or brute):
            continue
        first_failure = min((t for s in failed if (t := when(s, "createdDateTime"))), default=None)
        later = [s for s in successes.get(ip, [])
                 if first_failure is None or ((t := when(s, "createdDateTime")) is not None and t >= first_failure)]
        what = (f"failed sign-ins as {len(users)} users" if spray else f"{len(mine)} failed sign-ins as {me}")
        ids = [text(s, "id") or "" for s in (*failed, *later)]
        moment: datetime | None = when(later[0], "createdDateTime") if later else first_failure
        evidence = {"ipAddress": ip, "failures": len(failed), "users": sorted(users)[:50], "spray": spray,
                    "records": [i for i in ids if i]}
        if later:
            out.append(Finding(METADATA.id, Severity.HIGH, f"{user_label(bundle)} signed in from {ip} after "
                               f"{what} from there", Artifact("signIn", text(later[0], "id") or ip),
                               reasons=(f"{what} from {ip}", f"then {len(later)} successful sign-in(s) as "
                                        f"{user_label(bundle)}"), time=moment, symptom=METADATA.symptom,
                               evidence=evidence))
        elif mine:
            out.append(Finding(METADATA.id, Severity.LOW, f"{ip} tried the password of {user_label(bundle)} "
                               f"({what}); no successful sign-in from there",
                               Artifact("signIn", text(mine[0], "id") or ip), kind="context",
                               reasons=(f"{what} from {ip}",), time=moment, symptom=METADATA.symptom,
                               evidence={**evidence, "attemptOnly": True}))
    return out
