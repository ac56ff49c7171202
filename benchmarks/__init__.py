"""Benchmarks: ratios against the stdlib measured side by side in one run."""
