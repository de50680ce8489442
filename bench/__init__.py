"""Benchmarks (``make bench``): numbers written to bench/results.json, never timed unit tests."""
