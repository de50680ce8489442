"""Attacker-controlled strings, and how to tell that an output shows them as inert, visible data."""

from __future__ import annotations

import re

#: name → a string an attacker can put in a rule name, a subject, a display name
HOSTILE: dict[str, str] = {
    "ansi": "Clear\x1b[2J\x1b[HScreen\x1b[31mred",
    "osc8": "\x1b]8;;http://evil.example/\x1b\\click here\x1b]8;;\x1b\\",
    "title": "\x1b]0;window title changed\x07after",
    "c1": "c1\x9b31mcsi\x9d0;title\x9c",
    "markup": "[bold red]OK[/bold red] [link=http://evil.example]link[/link]",
    "html": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "formula": "=HYPERLINK(\"http://evil.example/x\",\"Sweep IT\")",
    "formula2": "+cmd|' /C calc'!A0",
    "formula3": "@SUM(1+1)*cmd|' /C calc'!A0",
    "rtl": "invoice\u202egpj.exe",
    "zero-width": "ad\u200bmin\u200d\ufeff",
    "newline": "first line\r\nsecond line",
    "backticks": "x`` `<img src=x onerror=alert(3)>` ``y",
    "long": "L" * 5000 + "END",
}

# In any terminal output: no C0 (but tab / newline / CR) or C1 control character, no bidi control, no
# zero-width character (they are shown as \xNN / <U+NNNN> instead).
_TERMINAL_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e"
                                 "\u2066-\u2069\ufeff]")


def terminal_problems(text: str) -> list[str]:
    """What in ``text`` could act on a terminal instead of being shown."""
    return sorted({f"U+{ord(m.group()):04X}" for m in _TERMINAL_FORBIDDEN.finditer(text)})
