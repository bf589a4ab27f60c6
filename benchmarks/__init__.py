"""Reproducible speed figures quoted in the README: ``python -m benchmarks``."""
