"""Runnable ports of the Rust chapter's concurrency examples.

Each module is a program (``python examples/<name>.py``); the package is
installed as ``fearless._examples`` so that ``python -m fearless tour`` can
run them in chapter order.
"""
