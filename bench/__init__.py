"""Benchmarks (see the README, section Performance). Not installed with the package."""
