"""Terminal output. Attacker-controlled text goes through ``safe()`` before it reaches rich.

Width: on a terminal, the terminal's; ``COLUMNS`` when the user set it; otherwise (piped into a file, a pager
or a log) lines are not wrapped at all, so a table stays one row per line instead of folding at 80 columns.
"""

from __future__ import annotations

import os

from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from reclaim.text import inert_json, visible

__all__ = ["UNWRAPPED_WIDTH", "console", "err_console", "inert_json", "safe", "visible"]

#: The width rich lays output out in when it goes to a file or pipe and COLUMNS is not set: no wrapping.
UNWRAPPED_WIDTH = 10_000


class _Console(Console):
    """A rich console whose width follows ``COLUMNS`` (read at each use) and does not wrap when not a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        natural = super().size
        columns = os.environ.get("COLUMNS", "")
        if columns.isdigit() and int(columns) > 0:
            return ConsoleDimensions(int(columns), natural.height)
        if not self.is_terminal:
            return ConsoleDimensions(UNWRAPPED_WIDTH, natural.height)
        return natural

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        width, height = new_size
        self._width, self._height = width, height


console = _Console(highlight=False, soft_wrap=False)
err_console = _Console(stderr=True, highlight=False, soft_wrap=True)


def safe(text: object) -> str:
    """Attacker-controlled text as inert rich markup: no markup, no escape sequences, nothing hidden."""
    return escape(visible(str(text)))
