"""Benchmarks: each figure is a ratio against a raw baseline run side by side."""
