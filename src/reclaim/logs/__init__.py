"""Offline analysis of audit-log exports (``reclaim analyze logs``).

- :mod:`reclaim.logs.formats`: which export a file is, by its content;
- :mod:`reclaim.logs.engine`: every record into one DuckDB table, indexed by what the analysis asks;
- :mod:`reclaim.logs.canonical`: the few records the checks read, in the shape they read;
- :mod:`reclaim.logs.analysis`: the checks per user and the attacker's sessions (what they touched);
- :mod:`reclaim.logs.case`: the analysis stored as a case (``reclaim report CASE``).
"""
