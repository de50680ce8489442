"""Throttling rules of Microsoft 365, as documented (shared/reference/m365-api.md, "Throttling").

The dispatcher calls ``admit`` before a handler runs and ``release`` after it (for every admitted
request, whether the handler succeeded or not); ``admit`` answers ``None`` (go ahead) or the
``Rejection`` to send as a 429. Every rule uses the emulator's ``Clock``, so tests advance time
instead of sleeping. Rules per throttle class (``Route.throttle``):

============================  ==============================================================  ========
class                          rule (defaults)                                                 source
============================  ==============================================================  ========
``outlook``                    per app + mailbox: 4 concurrent (or per app:                    [S30-ol]
                               ``concurrencyScope: "app"``); 10,000 requests / 600 s
``identity``                   per app + tenant: token bucket of resource units per 10 s:      [S30]
                               3,500 / 5,000 / 8,000 for < 50 / 50–500 / > 500 users; writes
                               also draw on a write quota of 3,000 / 150 s
``auditLogs``, ``authMethods``,  per app + tenant: 5 requests / 10 s ("identity and access         [S30]
``reports``                    reports": signIn, directoryAudit, authenticationMethod, ...; each
                               class has its own window; userRegistrationDetails is our mapping)
``identityProtection``         per tenant, all apps: 1 request / s; the 429 has NO Retry-After  [S30]
                               (riskyUsers, riskDetections and conditional access policies)
``messageTrace``               per tenant: 100 requests / 300 s (Get-MessageTraceV2's limit)   [B]
``exchange``                   per tenant: 10 concurrent InvokeCommand requests (assumption:   none
                               Microsoft documents no number for the admin API); an optional
                               rate rule (``requests`` / ``windowSeconds``), off by default
``security``, ``none``         not throttled (no documented limit is emulated)
============================  ==============================================================  ========

Like Dev Proxy's RetryAfterPlugin, a caller that comes back before the ``Retry-After`` it was given
gets another 429 for the time still left (``enforceRetryAfter``, on by default); a concurrency 429
is not remembered (the slot frees when a request in flight ends). Not emulated: the global 130,000
requests / 10 s per app, identity's per-app and per-tenant quotas across tenants, Outlook's 150 MB
upload / 5 min, and any limit on ``security`` (alerts, audit log queries).

Configuration: ``tenant.settings["throttling"]`` overrides any of the defaults below, per class, e.g.
``{"outlook": {"concurrency": 2}, "identity": {"resourceUnits": 100}}``; ``{"enabled": false}`` (or
``false``) turns throttling off. ``tenant.settings["exchangeConcurrency"]`` is a shorthand for
``{"exchange": {"concurrency": N}}``.

For Exchange, ``exchange.invoke`` calls ``admit(kind="exchange", app_id=...)`` and, when admitted,
``release(kind="exchange", app_id=...)`` in a ``finally``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from reclaim.emulator.fixture import FixtureError
from reclaim.emulator.state import Clock

JSON = dict[str, Any]

#: The documented defaults; ``tenant.settings["throttling"]`` overrides them key by key.
DEFAULTS: dict[str, JSON] = {
    # [S30-ol] "Outlook service limits": per app ID and mailbox combination. The current page words the
    # 4 concurrent requests as per app ID "regardless of whether the requests all access the same mailbox";
    # the reference sheet (and older pages) say per app and mailbox: "concurrencyScope": "app" selects the
    # stricter reading.
    "outlook": {"concurrency": 4, "requests": 10_000, "windowSeconds": 600.0, "concurrencyRetryAfter": 1.0,
                "concurrencyScope": "mailbox"},
    # [S30] "Identity and access service limits": application+tenant pair. ``resourceUnits`` None: by tenant size.
    "identity": {"resourceUnits": None, "windowSeconds": 10.0, "writes": 3_000, "writeWindowSeconds": 150.0,
                 "tenantUsers": None},
    # [S30] "Identity and access reports service limits": 5 requests per 10 seconds per app per tenant.
    "auditLogs": {"requests": 5, "windowSeconds": 10.0},
    "authMethods": {"requests": 5, "windowSeconds": 10.0},
    "reports": {"requests": 5, "windowSeconds": 10.0},
    # [S30] "Identity protection and conditional access service limits": 1 request per second per tenant,
    # and these resources "do not return a Retry-After header".
    "identityProtection": {"requests": 1, "windowSeconds": 1.0},
    # reference sheet B (Get-MessageTraceV2): 100 queries per 5 minutes per tenant.
    "messageTrace": {"requests": 100, "windowSeconds": 300.0},
    # SharePoint / OneDrive through Graph: app-only, a tenant of up to 1,000 licences gets 1,250 resource units a
    # minute and a permission request costs 5 (learn.microsoft.com "Avoid getting throttled or blocked in
    # SharePoint Online"): about 250 requests a minute per app.
    "sharepoint": {"requests": 250, "windowSeconds": 60.0},
    # Microsoft documents no limit for the admin API (InvokeCommand): the per-tenant cap of 10 concurrent
    # requests is our assumption, and there is no rate rule unless one is configured.
    "exchange": {"concurrency": 10, "requests": None, "windowSeconds": 60.0, "concurrencyRetryAfter": 1.0},
}

#: Tenant-size thresholds for the identity bucket: (< 50 users, 50–500 users, > 500 users) [S30].
IDENTITY_RESOURCE_UNITS = (3_500, 5_000, 8_000)

#: Classes with a plain "N requests per window" rule, and what the rule is keyed by.
_WINDOW_SCOPE = {"auditLogs": "app", "authMethods": "app", "reports": "app", "identityProtection": "tenant",
                 "messageTrace": "tenant", "sharepoint": "app"}


@dataclass(frozen=True)
class Rejection:
    """A 429 to send: ``retry_after`` None means the header is left out (identityProtection)."""

    retry_after: float | None
    code: str = "TooManyRequests"
    message: str = "Please retry again later."
    headers: dict[str, str] = field(default_factory=dict)


def identity_resource_units(users: int) -> int:
    """The application+tenant resource-unit quota per 10 s for a tenant of ``users`` users [S30]."""
    small, medium, large = IDENTITY_RESOURCE_UNITS
    if users < 50:
        return small
    if users <= 500:
        return medium
    return large


def _ceil_ms(seconds: float) -> float:
    """Round a wait up to the millisecond, so a client that waits exactly that long is admitted."""
    return max(0.001, math.ceil(seconds * 1000.0 - 1e-6) / 1000.0)


class _Window:
    """A sliding-window log: at most ``limit`` events in any ``window`` seconds."""

    __slots__ = ("times",)

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def wait(self, now: float, limit: int, window: float) -> float:
        """Seconds until one more event fits (0: it fits now)."""
        times = self.times
        cutoff = now - window
        while times and times[0] <= cutoff:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return times[len(times) - limit] + window - now

    def add(self, now: float) -> None:
        self.times.append(now)


#: Slack in time and unit comparisons: epoch seconds as floats carry ~0.2 µs of rounding, so a caller who comes
#: back exactly when its Retry-After said must not be refused for the last bit of a float.
_EPSILON = 1e-6


class _Bucket:
    """A token bucket of ``capacity`` units refilled evenly over ``window`` seconds."""

    __slots__ = ("tokens", "updated")

    def __init__(self, capacity: float, now: float) -> None:
        self.tokens = capacity
        self.updated = now

    def refill(self, now: float, capacity: float, window: float) -> None:
        if now > self.updated:
            self.tokens = min(capacity, self.tokens + (now - self.updated) * capacity / window)
        self.updated = now


@dataclass(frozen=True)
class _Config:
    enabled: bool
    enforce_retry_after: bool
    rules: dict[str, JSON]
    identity_units: int


def _config(settings: JSON, users: int) -> _Config:
    """The effective rules; bad settings raise ``FixtureError`` (path and reason), like any bad fixture."""
    raw = settings.get("throttling", {})
    if raw is False or raw is None:
        raw = {"enabled": False}
    where = "tenant.settings.throttling"
    if not isinstance(raw, dict):
        raise FixtureError(path=where, reason="must be an object (or false to turn throttling off)")
    unknown_classes = set(raw) - set(DEFAULTS) - {"enabled", "enforceRetryAfter"}
    if unknown_classes:
        raise FixtureError(path=where, reason=f"unknown keys {sorted(unknown_classes)} "
                                              f"(throttle classes: {', '.join(DEFAULTS)})")
    rules: dict[str, JSON] = {}
    for kind, defaults in DEFAULTS.items():
        override = raw.get(kind, {})
        if not isinstance(override, dict):
            raise FixtureError(path=f"{where}.{kind}", reason="must be an object")
        unknown = set(override) - set(defaults)
        if unknown:
            raise FixtureError(path=f"{where}.{kind}",
                               reason=f"unknown keys {sorted(unknown)} (known: {', '.join(defaults)})")
        for key, value in override.items():
            if value is None and defaults[key] is None:
                continue  # e.g. resourceUnits: by tenant size; exchange requests: no rate rule
            if key == "concurrencyScope":
                if value not in ("mailbox", "app"):
                    raise FixtureError(path=f"{where}.{kind}.{key}", reason='must be "mailbox" or "app"')
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise FixtureError(path=f"{where}.{kind}.{key}", reason="must be a positive number")
        rules[kind] = {**defaults, **override}
    if "exchangeConcurrency" in settings:
        value = settings["exchangeConcurrency"]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise FixtureError(path="tenant.settings.exchangeConcurrency", reason="must be a positive integer")
        rules["exchange"]["concurrency"] = value
    identity = rules["identity"]
    tenant_users = identity["tenantUsers"] if identity["tenantUsers"] is not None else users
    units = identity["resourceUnits"]
    return _Config(enabled=bool(raw.get("enabled", True)),
                   enforce_retry_after=bool(raw.get("enforceRetryAfter", True)),
                   rules=rules,
                   identity_units=int(units) if units is not None else identity_resource_units(int(tenant_users)))


class Throttler:
    """The throttling state of one tenant (windows, buckets, in-flight counts), on the emulator's clock."""

    def __init__(self, settings: dict[str, Any], clock: Clock, *, tenant_id: str = "", users: int = 0) -> None:
        self.settings = settings
        self.clock = clock
        self.tenant_id = tenant_id
        self.users = users
        self.config = _config(settings, users)
        self._windows: dict[tuple[str, str, str], _Window] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._inflight: dict[tuple[str, str], int] = {}
        #: RetryAfterPlugin: (class, scope key) -> clock time before which every call is refused again.
        self._penalty: dict[tuple[str, str], tuple[float, Rejection]] = {}
        #: 429s sent, per class (for tests and the control plane).
        self.rejected: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # ------------------------------------------------------------------ admit / release
    def admit(self, *, kind: str, app_id: str, mailbox: str | None = None, write: bool = False,
              cost: int = 1) -> Rejection | None:
        """``None`` if the request may run (call ``release`` after it), else the 429 to send."""
        config = self.config
        if not config.enabled:
            return None
        rule = config.rules.get(kind)
        if rule is None:
            return None
        now = self._now()
        if kind == "outlook":
            scope = f"{app_id}/{mailbox or ''}"
        elif kind == "identity" or _WINDOW_SCOPE.get(kind) == "app":
            scope = app_id
        else:
            scope = ""  # per tenant, all apps
        if config.enforce_retry_after and self._penalty:
            held = self._penalty.get((kind, scope))
            if held is not None:
                until, rejection = held
                if now < until - _EPSILON:
                    return self._reject(kind, scope, now, _ceil_ms(until - now), rejection, remember=False)
                del self._penalty[(kind, scope)]
        if kind == "outlook":
            return self._admit_outlook(rule, app_id, scope, now)
        if kind == "identity":
            return self._admit_identity(rule, scope, now, write, cost)
        if kind == "exchange":
            return self._admit_exchange(rule, now)
        limit = int(rule["requests"])
        window = float(rule["windowSeconds"])
        win = self._window(kind, scope, "requests")
        wait = win.wait(now, limit, window)
        if wait > 0:
            if kind == "identityProtection":
                return self._reject(kind, scope, now, None, Rejection(None))
            return self._reject(kind, scope, now, _ceil_ms(wait), Rejection(0.0))
        win.add(now)
        return None

    def release(self, *, kind: str, app_id: str, mailbox: str | None = None) -> None:
        """The admitted request is done: free its concurrency slot (outlook, exchange)."""
        if kind == "outlook":
            key = (kind, self._outlook_slot(app_id, f"{app_id}/{mailbox or ''}"))
        elif kind == "exchange":
            key = (kind, "")
        else:
            return
        count = self._inflight.get(key, 0)
        if count <= 1:
            self._inflight.pop(key, None)
        else:
            self._inflight[key] = count - 1

    def usage_headers(self, *, kind: str, app_id: str, cost: int) -> dict[str, str]:
        """Headers of a successful response: identity's ``x-ms-resource-unit`` and, past 80 % of the quota,
        ``x-ms-throttle-limit-percentage`` [S30]."""
        if kind != "identity" or not self.config.enabled:
            return {}
        headers = {"x-ms-resource-unit": str(cost)}
        bucket = self._buckets.get(app_id)
        if bucket is not None:
            capacity = float(self.config.identity_units)
            used = (capacity - bucket.tokens) / capacity
            if used > 0.8:
                headers["x-ms-throttle-limit-percentage"] = f"{min(used, 1.8):.1f}"
        return headers

    # ------------------------------------------------------------------ rules
    def _outlook_slot(self, app_id: str, scope: str) -> str:
        """What the outlook concurrency limit counts: app + mailbox (default) or the whole app."""
        return app_id if self.config.rules["outlook"]["concurrencyScope"] == "app" else scope

    def _admit_outlook(self, rule: JSON, app_id: str, scope: str, now: float) -> Rejection | None:
        key = ("outlook", self._outlook_slot(app_id, scope))
        if self._inflight.get(key, 0) >= int(rule["concurrency"]):
            return self._reject("outlook", scope, now, float(rule["concurrencyRetryAfter"]),
                                Rejection(0.0, message="Application is over its MailboxConcurrency limit."),
                                remember=False)
        win = self._window("outlook", scope, "requests")
        wait = win.wait(now, int(rule["requests"]), float(rule["windowSeconds"]))
        if wait > 0:
            return self._reject("outlook", scope, now, _ceil_ms(wait),
                                Rejection(0.0, message="Application is over its MailboxRequests limit."))
        win.add(now)
        self._inflight[key] = self._inflight.get(key, 0) + 1
        return None

    def _admit_identity(self, rule: JSON, app_id: str, now: float, write: bool, cost: int) -> Rejection | None:
        capacity = float(self.config.identity_units)
        window = float(rule["windowSeconds"])
        bucket = self._buckets.get(app_id)
        if bucket is None:
            bucket = self._buckets[app_id] = _Bucket(capacity, now)
        bucket.refill(now, capacity, window)
        cost = max(1, cost)
        if bucket.tokens + _EPSILON < cost:
            wait = (min(cost, capacity) - bucket.tokens) * window / capacity
            return self._reject("identity", app_id, now, _ceil_ms(wait), Rejection(0.0, headers={
                "x-ms-throttle-scope": f"Tenant_Application/ReadWrite/{app_id}/{self.tenant_id}",
                "x-ms-throttle-information": "ResourceUnitLimitExceeded"}))
        if write:
            win = self._window("identity", app_id, "writes")
            wait = win.wait(now, int(rule["writes"]), float(rule["writeWindowSeconds"]))
            if wait > 0:
                return self._reject("identity", app_id, now, _ceil_ms(wait), Rejection(0.0, headers={
                    "x-ms-throttle-scope": f"Tenant_Application/Write/{app_id}/{self.tenant_id}",
                    "x-ms-throttle-information": "WriteLimitExceeded"}))
            win.add(now)
        bucket.tokens -= cost
        return None

    def _admit_exchange(self, rule: JSON, now: float) -> Rejection | None:
        key = ("exchange", "")
        if self._inflight.get(key, 0) >= int(rule["concurrency"]):
            return self._reject("exchange", "", now, float(rule["concurrencyRetryAfter"]),
                                Rejection(0.0, message="The tenant is over its concurrent request limit "
                                                       "for the Exchange admin API."), remember=False)
        if rule["requests"] is not None:
            win = self._window("exchange", "", "requests")
            wait = win.wait(now, int(rule["requests"]), float(rule["windowSeconds"]))
            if wait > 0:
                return self._reject("exchange", "", now, _ceil_ms(wait), Rejection(0.0))
            win.add(now)
        self._inflight[key] = self._inflight.get(key, 0) + 1
        return None

    # ------------------------------------------------------------------ helpers
    def _window(self, kind: str, scope: str, name: str) -> _Window:
        key = (kind, scope, name)
        win = self._windows.get(key)
        if win is None:
            win = self._windows[key] = _Window()
        return win

    def _reject(self, kind: str, scope: str, now: float, retry_after: float | None, template: Rejection,
                *, remember: bool = True) -> Rejection:
        """Build the 429; with a Retry-After, remember it so an early retry is refused again."""
        self.rejected[kind] = self.rejected.get(kind, 0) + 1
        rejection = Rejection(retry_after, template.code, template.message, dict(template.headers))
        if remember and retry_after is not None and self.config.enforce_retry_after:
            self._penalty[(kind, scope)] = (now + retry_after, rejection)
        return rejection
