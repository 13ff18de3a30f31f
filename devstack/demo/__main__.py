"""`python -m devstack.demo --search-port P [--sites-port Q]`: serve the demo until SIGINT/SIGTERM, after
printing the search URL (for SEARCH_API_URL) and each site's URL."""

from __future__ import annotations

import argparse
import signal
import threading

from devstack.demo import DemoStack


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=__doc__)
    parser.add_argument("--search-port", type=int, default=0, help="port of the search provider (default: free)")
    parser.add_argument("--sites-port", type=int, default=None, help="first of the sites' consecutive ports")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every site answer is delayed")
    args = parser.parse_args()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with DemoStack(args.search_port, args.sites_port, latency=args.latency) as demo:
        print(f"demo search (serper format): SEARCH_API_URL={demo.search_url}", flush=True)
        for site in demo.sites:
            print(f"demo site {site.company.name}: {site.url}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
