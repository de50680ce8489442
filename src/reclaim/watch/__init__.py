"""``reclaim watch``: every configured tenant on a schedule; what is new since the last cycle becomes an alert
(a JSON webhook, Microsoft Teams, Slack, the console), and opt-in containment policies propose actions for a
person to confirm.

::

    config = WatchConfig.load("watch.toml")
    cycle = await watch_tenant(store, "contoso", settings, config)
    cycle.new          # findings the previous cycle had not seen (or could not deliver)
    cycle.proposals    # policies whose conditions now hold: actions proposed, nothing applied

See :mod:`reclaim.watch.cycle` for how "new" is decided and where the state lives (the case store).
"""

from reclaim.watch.alerts import Alert, Delivery, NewFinding, Proposal, body, deliver, markdown_escape
from reclaim.watch.config import WATCH_CONFIG_ENV, AlertTarget, Policy, WatchConfig
from reclaim.watch.cycle import WatchCycle, fingerprint, previous_cycle, proposals, watch_tenant

__all__ = [
    "WATCH_CONFIG_ENV",
    "Alert",
    "AlertTarget",
    "Delivery",
    "NewFinding",
    "Policy",
    "Proposal",
    "WatchConfig",
    "WatchCycle",
    "body",
    "deliver",
    "fingerprint",
    "markdown_escape",
    "previous_cycle",
    "proposals",
    "watch_tenant",
]
