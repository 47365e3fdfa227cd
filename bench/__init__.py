"""Benchmarks: ``python -m bench`` (or ``make bench``) runs them and prints one table each."""
