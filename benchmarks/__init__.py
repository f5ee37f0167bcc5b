"""Benchmark scripts: each writes JSON (and Markdown) under ``benchmarks/results``."""
