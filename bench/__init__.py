"""Afterdesk benchmarks at festival scale: `python -m bench [--quick]` (see docs/performance.md)."""
from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; returns the process exit code."""
    from bench.cli import main as run

    return run(argv)
