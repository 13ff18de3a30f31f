"""Scrape benchmark: one 50-lead job against 50 local company sites whose every answer takes 200 ms.
Prints the job's wall time against the sequential sum of its page latencies (the ratio shows how much
the bounded per-job concurrency buys under the politeness rules) and the job process's peak RSS, for the
current settings and, in the same run, for the settings before issue 14 (SCRAPE_MAX_SITES=8).

    .venv/bin/python -m bench.scrape [--sites 50] [--latency 0.2] [--max-sites N] [--politeness S] [--no-baseline]

The demo sites run in this process (they count every request); each job runs in a freshly spawned process
with the real handler and a context that keeps the leads, so its peak RSS is the scrape's own."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time
import uuid
from typing import Any

from leadengine.settings import Settings


class _Context:
    """The handler's context without a runner: leads kept in memory, no cancellation, no time limit."""

    def __init__(self, settings: Settings, max_leads: int) -> None:
        from leadengine.schemas import JobMessage

        self.job_id = str(uuid.uuid4())
        self.settings = settings
        self.attempt = 1
        self.message = JobMessage(
            job_id=self.job_id, user_id="bench", industry="SaaS", geography="Sydney, Australia",
            keywords=["B2B", "enterprise"], source_types=["google"], max_leads=max_leads,
        )  # fmt: skip
        self.saved: dict[str, Any] = {}

    def checkpoint(self) -> None:
        pass

    def save_leads(self, leads: list[Any]) -> None:
        self.saved.update((lead.lead_id, lead) for lead in leads)

    def progress(self, step: str, **fields: Any) -> None:
        pass


def _job(search_url: str, max_leads: int, overrides: dict[str, Any], out: Any) -> None:
    # Runs in the spawned child: nothing of the parent's memory is shared.
    from leadengine.log import configure
    from leadengine.settings import load_settings
    from runner.scrape.handler import handle

    configure("warning")  # the per-site log lines would only slow the measurement down
    settings = load_settings(
        search_api_url=search_url, search_api_key="bench-key", scrape_allow_private_networks=True, **overrides
    )
    ctx = _Context(settings, max_leads)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    handle(ctx)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with_emails = sum(1 for lead in ctx.saved.values() if lead.emails)
    out.put({"wall": wall, "leads": len(ctx.saved), "with_emails": with_emails, "rss_kib": peak, "rss_base_kib": baseline,
             "max_sites": settings.scrape_max_sites, "politeness": settings.scrape_politeness_delay_s})  # fmt: skip


OLD_SETTINGS: dict[str, Any] = {"scrape_max_sites": 8}  # the defaults before issue 14 (politeness unchanged)


def _run(sites: int, latency: float, overrides: dict[str, Any]) -> dict[str, Any]:
    """One job against fresh demo sites, in a freshly spawned process."""
    from bench.scrape import _job as job  # by its module name: under runpy this module is "__main__"
    from devstack.demo import DemoStack
    from devstack.demo.companies import synthetic_companies

    spawn = multiprocessing.get_context("spawn")
    with DemoStack(companies=synthetic_companies(sites), latency=latency) as demo:
        out = spawn.Queue()
        child = spawn.Process(target=job, args=(demo.search_url, sites, overrides, out))
        child.start()
        result: dict[str, Any] = out.get(timeout=600)
        child.join()
        result["requests"] = sum(sum(site.hits.values()) for site in demo.sites)
    return result


def _report(label: str, result: dict[str, Any], latency: float) -> float:
    sequential = result["requests"] * latency
    ratio = float(result["wall"]) / sequential
    print(f"  {label}: SCRAPE_MAX_SITES={result['max_sites']} SCRAPE_POLITENESS_DELAY_S={result['politeness']}")
    print(f"    {result['leads']} leads ({result['with_emails']} with emails), {result['requests']} site requests; "
          f"wall {result['wall']:.2f} s vs sequential page latency {sequential:.2f} s: ratio {ratio:.3f}"
          f" ({sequential / result['wall']:.1f}x faster than one request at a time)")  # fmt: skip
    print(f"    peak RSS of the job process: {result['rss_kib'] / 1024:.1f} MiB (after imports: "
          f"{result['rss_base_kib'] / 1024:.1f} MiB)")  # fmt: skip
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scrape", description=__doc__)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--max-sites", type=int, default=None, help="SCRAPE_MAX_SITES (default: the setting's)")
    parser.add_argument("--politeness", type=float, default=None, help="SCRAPE_POLITENESS_DELAY_S")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run with the settings before issue 14")
    args, _ = parser.parse_known_args()  # `python -m bench` passes its own arguments through
    os.environ.pop("SEARCH_API_KEY", None)

    overrides: dict[str, Any] = {}
    if args.max_sites is not None:
        overrides["scrape_max_sites"] = args.max_sites
    if args.politeness is not None:
        overrides["scrape_politeness_delay_s"] = args.politeness
    print(f"scrape benchmark: one {args.sites}-lead job, {args.sites} sites, every answer {args.latency * 1000:.0f} ms")
    ratio = _report("current settings", _run(args.sites, args.latency, overrides), args.latency)
    if not args.no_baseline:
        old = _report("before (issue 14)", _run(args.sites, args.latency, {**overrides, **OLD_SETTINGS}), args.latency)
        print(f"  ratio {ratio:.3f} now vs {old:.3f} before: {old / ratio:.1f}x faster")


if __name__ == "__main__":
    main()
