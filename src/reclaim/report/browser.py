"""Headless Chromium for checking reports in a real browser: the rendered DOM and a PNG screenshot.

Used by the browser test and ``make screenshot``. Finds the browser in ``RECLAIM_CHROMIUM`` or on ``PATH``
(Debian's ``chromium`` package), runs it with a throw-away profile, no network services, no sandbox (CI
containers run as root), and a time limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from reclaim.errors import ReclaimError

__all__ = ["BROWSER_ENV", "BrowserError", "dump_dom", "find_chromium", "load", "print_pdf", "screenshot"]

BROWSER_ENV = "RECLAIM_CHROMIUM"
_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
          "--force-device-scale-factor=1", "--no-default-browser-check")


class BrowserError(ReclaimError):
    """Chromium is missing, failed or timed out."""


def find_chromium() -> str | None:
    """The Chromium executable: ``$RECLAIM_CHROMIUM``, else the first of chromium / google-chrome on PATH."""
    configured = os.environ.get(BROWSER_ENV)
    if configured:
        return configured if Path(configured).is_file() else shutil.which(configured)
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(page: Path, extra: list[str], *, timeout: float) -> str:
    executable = find_chromium()
    if executable is None:
        raise BrowserError("headless Chromium was not found",
                           hint=f"install it (Debian: apt-get install chromium) or set {BROWSER_ENV}")
    with tempfile.TemporaryDirectory(prefix="reclaim-chromium-") as profile:
        command = [executable, *_FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,  # noqa: S603
                                  check=False, env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"Chromium did not finish within {timeout:g} s") from exc
        except OSError as exc:
            raise BrowserError(f"cannot run Chromium ({executable}): {exc.strerror or exc}") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BrowserError(f"Chromium exited with {done.returncode}: {last[:300]}")
    return done.stdout


def load(page: Path, *, png: Path | None = None, width: int = 1200, height: int = 1600,
         timeout: float = 60) -> str:
    """Open ``page`` once: its DOM after it loaded (and after any script would have run), serialised as HTML,
    and with ``png`` a screenshot of its top ``width`` x ``height`` pixels."""
    extra = ["--dump-dom"]
    if png is not None:
        png.parent.mkdir(parents=True, exist_ok=True)
        extra += [f"--screenshot={png.resolve()}", f"--window-size={width},{height}"]
    dom = _run(page, extra, timeout=timeout)
    if png is not None and (not png.is_file() or png.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n"):
        raise BrowserError(f"Chromium wrote no PNG screenshot to {png}")
    return dom


def print_pdf(page: Path, pdf: Path, *, timeout: float = 60) -> Path:
    """The page printed to PDF (its print stylesheet, the browser's default paper size, no header or footer)."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    _run(page, [f"--print-to-pdf={pdf.resolve()}", "--no-pdf-header-footer"], timeout=timeout)
    if not pdf.is_file() or pdf.read_bytes()[:5] != b"%PDF-":
        raise BrowserError(f"Chromium wrote no PDF to {pdf}")
    return pdf


def dump_dom(page: Path, *, timeout: float = 60) -> str:
    """The page's DOM after it loaded, serialised as HTML."""
    return load(page, timeout=timeout)


def screenshot(page: Path, png: Path, *, width: int = 1200, height: int = 1600, timeout: float = 60) -> Path:
    """A PNG of the top ``width`` x ``height`` pixels of the page."""
    load(page, png=png, width=width, height=height, timeout=timeout)
    return png
