"""The practice tenant: a stateful emulator of the slice of Microsoft 365 that reclaim uses."""

from reclaim.emulator.app import Emulator
from reclaim.emulator.faults import FaultSpec
from reclaim.emulator.fixture import FixtureError, read_fixture_file, validate_fixture

__all__ = ["Emulator", "FaultSpec", "FixtureError", "read_fixture_file", "validate_fixture"]
