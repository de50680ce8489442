"""Terminal output. Attacker-controlled text goes through ``safe()`` before it reaches rich."""

from __future__ import annotations

import re

from rich.console import Console
from rich.markup import escape

console = Console(highlight=False, soft_wrap=False)
err_console = Console(stderr=True, highlight=False)

# C0/C1 control characters (ESC starts ANSI/OSC sequences), and the bidirectional / zero-width
# characters that let one string look like another.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def visible(text: str) -> str:
    """Make control, bidi and zero-width characters visible as ``\\xNN`` / ``<U+NNNN>``."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def safe(text: object) -> str:
    """Attacker-controlled text as inert rich markup: no markup, no escape sequences, nothing hidden."""
    return escape(visible(str(text)))
