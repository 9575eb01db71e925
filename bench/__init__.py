"""Reproducible benchmarks; each module prints its figures (python -m bench.NAME)."""
