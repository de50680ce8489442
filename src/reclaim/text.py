"""Attacker-controlled text made visible: the one place every output (terminal, HTML, Markdown, CSV) gets it from.

Rule names, subjects, display names and user agents come from the attacker. Before they reach any output,
:func:`visible` turns the characters that can hide or rewrite what a reader sees into plain, visible text:

- C0 / C1 control characters (ESC starts ANSI / OSC sequences: colours, screen clears, hyperlinks, window
  titles) become ``\\xNN``; tab and newline are kept (each writer decides how to show a line break);
- bidirectional overrides / isolates / marks and zero-width or otherwise invisible characters (which let one
  string look like another), and lone surrogates (undecodable input), become ``<U+NNNN>``.

The format's own escaping (rich markup, HTML, Markdown, CSV formulas) is applied after this, by each writer.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["TERMINAL_MAX", "cut", "forget_secrets", "inert_json", "remember_secret", "scrub", "scrub_bytes",
           "visible", "visible_line"]

#: the longest attacker string shown whole on a terminal (JSON and the report's evidence keep the full value)
TERMINAL_MAX = 400
#: secrets of this run (the generated password, access tokens, the client secret): known values, scrubbed from
#: whatever comes back from the service before it is printed, journaled or reported
_SECRETS: set[str] = set()
REDACTED = "[redacted]"
#: shorter values are not secrets we generate (and would scrub ordinary words)
_MIN_SECRET = 8


def remember_secret(value: str | None) -> None:
    """Scrub ``value`` (and the forms a JSON answer can carry it in) from every answer and output from now on."""
    if value and len(value) >= _MIN_SECRET:
        _SECRETS.update(form for form in _json_forms(value) if len(form) >= _MIN_SECRET)


def _json_forms(value: str) -> set[str]:
    """``value`` raw and as the inside of a JSON string written by Python (with and without ``ensure_ascii``) and
    by .NET's System.Text.Json default encoder (what Graph runs on), which writes ``"`` ``'`` ``+`` ``<`` ``>``
    ``&`` and `````, controls and non-ASCII as ``\\uXXXX`` (upper or lower hex: both are seen)."""
    forms = {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value, ensure_ascii=True)[1:-1]}
    for hexes in ("{:04X}", "{:04x}"):
        out = []
        for char in value:
            if char == "\\":
                out.append("\\\\")
            elif char in _DOTNET_ESCAPED or ord(char) < 0x20 or ord(char) > 0x7E:
                out.append("".join(f"\\u{hexes.format(unit)}" for unit in _utf16(char)))
            else:
                out.append(char)
        forms.add("".join(out))
    return forms


#: characters System.Text.Json's default ``JavaScriptEncoder`` escapes as ``\\uXXXX`` besides controls/non-ASCII
_DOTNET_ESCAPED = frozenset("\"'+<>&`")


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def forget_secrets() -> None:
    """Tests: start from no known secret."""
    _SECRETS.clear()


def scrub(text: str) -> str:
    """``text`` with every known secret replaced by ``[redacted]`` (longest first: an escaped form contains
    the raw one)."""
    if not _SECRETS:
        return text
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrub_bytes(data: bytes) -> bytes:
    """:func:`scrub` for an answer body before it is parsed (UTF-8: what JSON answers are)."""
    if not _SECRETS:
        return data
    for secret in sorted(_SECRETS, key=len, reverse=True):
        raw = secret.encode("utf-8", "surrogatepass")
        if raw in data:
            data = data.replace(raw, REDACTED.encode())
    return data


def cut(text: str, limit: int = TERMINAL_MAX) -> str:
    """``text`` cut to ``limit`` characters for a terminal, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters]"

# C0/C1 control characters except tab and newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi controls (U+061C, U+200E/F, U+202A-E, U+2066-9), zero-width and invisible characters (soft hyphen,
# Mongolian vowel separator, U+200B-D, word joiner and invisible operators, Hangul fillers, BOM, interlinear
# annotation, tag characters), the line / paragraph separators, and lone surrogates (undecodable bytes of an
# export read with ``surrogateescape``: they cannot be written as UTF-8).
_INVISIBLE = re.compile("[\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064"
                        "\u2066-\u2069\u3164\uffa0\ufeff\ufff9-\ufffb\U000e0000-\U000e007f\ud800-\udfff]")


def visible(text: str) -> str:
    """Make control, bidi and zero-width characters visible as ``\\xNN`` / ``<U+NNNN>``; known secrets are
    scrubbed (:func:`scrub`)."""
    text = scrub(text)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def visible_line(text: str) -> str:
    """:func:`visible`, and tab / newline shown as ``\\t`` / ``\\n``: the text stays on one line."""
    return visible(text).replace("\t", "\\t").replace("\n", "\\n")


# Inside a JSON document these can only be in strings, where ``\uNNNN`` is the same data.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e"
                          "\u2060-\u2064\u2066-\u2069\u3164\uffa0\ufeff\ufff9-\ufffb\U000e0000-\U000e007f"
                          "\ud800-\udfff]")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # a tag character: its UTF-16 pair, as JSON writes it
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def inert_json(value: Any, *, indent: int | None = 2) -> str:
    """``json.dumps`` for a terminal: readable non-ASCII text, but C1 controls, bidi and invisible characters (and
    lone surrogates, which cannot be written as UTF-8) as ``\\uNNNN`` escapes (C0 controls are escaped by JSON
    itself). The document parses to the same data; printed, it cannot drive the terminal or hide text."""
    return scrub(_JSON_UNSAFE.sub(_json_escape, json.dumps(value, indent=indent, ensure_ascii=False)))


def article(word: str) -> str:
    """``a`` or ``an`` before ``word`` ("an investigate case", "a sweep case")."""
    return "an" if word[:1].lower() in "aeiou" else "a"
