"""Benchmarks against real services; they print ratios against peers and are never part of `make test`."""
