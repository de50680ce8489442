"""Terminal output. Attacker-controlled text goes through ``safe()`` before it reaches rich."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from reclaim.text import inert_json, visible

__all__ = ["console", "err_console", "inert_json", "safe", "visible"]

console = Console(highlight=False, soft_wrap=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def safe(text: object) -> str:
    """Attacker-controlled text as inert rich markup: no markup, no escape sequences, nothing hidden."""
    return escape(visible(str(text)))
