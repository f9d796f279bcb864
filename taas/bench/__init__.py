"""Benchmarks (`taas bench ...`): figures go to docs/benchmarks.md."""
