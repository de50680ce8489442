"""Fixtures of the report tests: one store with the investigated scenario cases (built once per session)."""

from __future__ import annotations

import pytest

from tests.report.cases import Investigated, investigate_scenarios


@pytest.fixture(scope="session")
def investigated(tmp_path_factory: pytest.TempPathFactory) -> Investigated:
    return investigate_scenarios(tmp_path_factory.mktemp("report") / "cases.db")
