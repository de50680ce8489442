"""The public sample data of ``../shared/data/public``, reached relative to the repository (never an absolute
path). A test whose data is missing is skipped with the reason, never passed."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``<repository>/../shared/data/public``
PUBLIC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "public"


def public(relative: str) -> Path:
    """The sample file or folder ``relative`` below ``shared/data/public``; skips the test when it is missing."""
    path = PUBLIC / relative
    if not path.exists():
        pytest.skip(f"sample data not found: ../shared/data/public/{relative} (the shared folder beside the "
                    "repository holds it)")
    return path
