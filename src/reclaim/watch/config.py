"""The watch's settings: where alerts go and the containment policies, as TOML, with nothing secret in it.

Location: ``--config FILE``, else ``$RECLAIM_WATCH_CONFIG``, else ``watch.toml`` next to reclaim's config::

    min_severity = "medium"                  # findings below this never alert

    [[alerts]]
    format = "slack"                          # json | teams | slack
    url_env = "RECLAIM_SLACK_WEBHOOK"         # the env var holding the webhook URL (it is a secret)

    [[alerts]]
    format = "json"
    url = "https://soc.example.com/hooks/reclaim"

    [policies.forward-and-risky]              # off unless written here
    tenants = ["contoso"]                     # or ["*"]
    when_all = ["inbox-rule-external-forward", "risky-user"]   # check ids, all on the same user
    then = ["block-sign-in", "revoke-sessions"]                # containment actions proposed

A policy fires for a user when every check of ``when_all`` found something about them in this cycle and at
least one of those findings is new. It proposes its ``then`` actions in the alert; a person applies them with
``reclaim remediate USER`` (plan shown, confirmed) — the watch changes nothing in a tenant by itself.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reclaim.errors import BadInput

WATCH_CONFIG_ENV = "RECLAIM_WATCH_CONFIG"
FORMATS = ("json", "teams", "slack")
SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class AlertTarget:
    format: str
    url: str | None = None
    url_env: str | None = None

    def resolve_url(self) -> str:
        if self.url:
            return self.url
        assert self.url_env is not None
        value = os.environ.get(self.url_env)
        if not value:
            raise BadInput(f"the alert webhook's environment variable {self.url_env} is not set")
        return value

    def describe(self) -> str:
        return f"{self.format} webhook ({'$' + self.url_env if self.url_env else _host(self.url or '')})"


@dataclass(frozen=True)
class Policy:
    name: str
    when_all: tuple[str, ...]
    then: tuple[str, ...]
    tenants: tuple[str, ...] = ("*",)

    def applies_to(self, tenant: str) -> bool:
        return "*" in self.tenants or tenant in self.tenants


@dataclass(frozen=True)
class WatchConfig:
    alerts: tuple[AlertTarget, ...] = ()
    policies: tuple[Policy, ...] = ()
    min_severity: str = "medium"
    path: Path | None = field(default=None, compare=False)
    #: seconds between full sweeps (the safety net of the incremental cycles; 0: every cycle is a full sweep)
    full_every: float = 86400.0
    #: seconds the incremental cycle looks back before its watermark: the unified audit log makes a record
    #: searchable 60-90 minutes after the change (at worst 24 h), so a window that ended at the watermark
    #: would miss what was logged late; records already acted on are not acted on again
    audit_lookback: float = 7200.0
    #: seconds to wait for a unified audit log search to finish before the cycle says "not checked"
    audit_wait: float = 600.0

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> WatchConfig:
        """The file given, else ``$RECLAIM_WATCH_CONFIG``; no file at all: no alerts but the console, no policy."""
        chosen = Path(path) if path else (Path(os.environ[WATCH_CONFIG_ENV]) if os.environ.get(WATCH_CONFIG_ENV)
                                          else None)
        if chosen is None:
            return cls()
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BadInput(f"cannot read the watch config {chosen}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise BadInput(f"the watch config {chosen} is not valid TOML: {exc}") from exc
        return cls.from_dict(data, where=str(chosen))._at(chosen)

    def _at(self, path: Path) -> WatchConfig:
        return replace(self, path=path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "watch config") -> WatchConfig:
        unknown = set(data) - {"alerts", "policies", "min_severity", "full_every", "audit_lookback", "audit_wait"}
        if unknown:
            raise BadInput(f"{where}: unknown key {sorted(unknown)[0]!r}")
        severity = data.get("min_severity", "medium")
        if severity not in SEVERITIES:
            raise BadInput(f"{where}: min_severity must be one of {', '.join(SEVERITIES)}")
        alerts = tuple(_alert(a, where) for a in _list(data.get("alerts", []), where, "alerts"))
        policies_in = data.get("policies", {})
        if not isinstance(policies_in, dict):
            raise BadInput(f"{where}: [policies.NAME] tables expected")
        policies = tuple(_policy(name, p, where) for name, p in sorted(policies_in.items()))
        defaults = cls()

        def timing(key: str, default: float) -> float:
            return _seconds(data[key], where, key) if key in data else default

        return cls(alerts=alerts, policies=policies, min_severity=severity,
                   full_every=timing("full_every", defaults.full_every),
                   audit_lookback=timing("audit_lookback", defaults.audit_lookback),
                   audit_wait=timing("audit_wait", defaults.audit_wait))


def _seconds(value: Any, where: str, key: str) -> float:
    """``90`` (seconds), ``"30m"``, ``"2h"``, ``"1d"`` → seconds (0 up to 30 days)."""
    raw = str(value).strip().lower()
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(raw[-1:], 0)
    try:
        seconds = float(raw[:-1] if unit else raw) * (unit or 1)
    except ValueError:
        raise BadInput(f"{where}: {key} = {value!r} is not a duration", hint="seconds, or 30m, 2h, 1d") from None
    if not 0 <= seconds <= 30 * 86400:
        raise BadInput(f"{where}: {key} = {value!r} is out of range", hint="0 to 30d")
    return seconds


def _list(value: Any, where: str, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadInput(f"{where}: {key} must be a list of tables ([[{key}]])")
    return value


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "?"


def _alert(data: Any, where: str) -> AlertTarget:
    if not isinstance(data, dict):
        raise BadInput(f"{where}: each [[alerts]] must be a table")
    unknown = set(data) - {"format", "url", "url_env"}
    if unknown:
        raise BadInput(f"{where}: [[alerts]]: unknown key {sorted(unknown)[0]!r}")
    fmt = data.get("format", "json")
    if fmt not in FORMATS:
        raise BadInput(f"{where}: alert format {fmt!r} is not one of {', '.join(FORMATS)}")
    url, env = data.get("url"), data.get("url_env")
    if bool(url) == bool(env):
        raise BadInput(f"{where}: each [[alerts]] needs exactly one of url and url_env")
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        raise BadInput(f"{where}: alert url must be an http(s) URL")
    return AlertTarget(format=fmt, url=url, url_env=env)


def _policy(name: str, data: Any, where: str) -> Policy:
    from reclaim.detect.registry import checks
    from reclaim.remediate.actions import ACTIONS

    if not isinstance(data, dict):
        raise BadInput(f"{where}: [policies.{name}] must be a table")
    unknown = set(data) - {"tenants", "when_all", "then"}
    if unknown:
        raise BadInput(f"{where}: [policies.{name}]: unknown key {sorted(unknown)[0]!r}")
    when = tuple(data.get("when_all") or ())
    then = tuple(data.get("then") or ())
    tenants = tuple(data.get("tenants") or ("*",))
    if not when or not then:
        raise BadInput(f"{where}: [policies.{name}] needs when_all (check ids) and then (action ids)")
    known_checks = {c.meta.id for c in checks()}
    for check in when:
        if check not in known_checks:
            raise BadInput(f"{where}: [policies.{name}]: no check {check!r}")
    for action in then:
        if action not in ACTIONS:
            raise BadInput(f"{where}: [policies.{name}]: no action {action!r}",
                           hint=f"one of {', '.join(sorted(ACTIONS))}")
        if ACTIONS[action].phase.value != "contain":
            raise BadInput(f"{where}: [policies.{name}]: {action} is not a containment action",
                           hint="a policy only proposes containment; the rest of the plan is a person's")
    return Policy(name=name, when_all=when, then=then, tenants=tenants)
