"""Benchmarks: each module prints its figures as JSON (python -m bench.<name>)."""
