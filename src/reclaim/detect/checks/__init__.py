"""The checks: one module per detection; see :mod:`reclaim.detect.registry` for the contract."""
