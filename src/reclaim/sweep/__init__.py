"""Tenant-wide sweep and blast radius: every mailbox with the mailbox checks, and hunting for indicators.

::

    result = await sweep([SweepTarget("contoso", settings)], store, options=SweepOptions(deep=True))
    hits = await hunt(conn, store, indicators_from_case(store, case_id))
"""

from reclaim.sweep.core import SweepTarget, flagged, selected_checks, sweep
from reclaim.sweep.model import (
    FlaggedFinding,
    FlaggedMailbox,
    NoProgress,
    SweepOptions,
    SweepProgress,
    SweepResult,
    TenantSweep,
)

__all__ = [
    "FlaggedFinding",
    "FlaggedMailbox",
    "NoProgress",
    "SweepOptions",
    "SweepProgress",
    "SweepResult",
    "SweepTarget",
    "TenantSweep",
    "flagged",
    "selected_checks",
    "sweep",
]
