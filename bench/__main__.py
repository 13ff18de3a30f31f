"""`make bench`: every benchmark in turn, each printing its own ratios against a peer measured in the same run."""

from __future__ import annotations

import runpy
import sys

BENCHMARKS = (
    "bench.enqueue", "bench.runner", "bench.scrape", "bench.quality", "bench.fairness", "bench.soak", "bench.export",
)  # fmt: skip


def main() -> None:
    chosen = sys.argv[1:] or BENCHMARKS
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        runpy.run_module(name, run_name="__main__")


if __name__ == "__main__":
    main()
