"""Lead-quality benchmark: the corpus of realistic company sites (tests/runner/scrape/corpus) read by the real job
(search, site reading, extraction, lead building), scored against its hand-written ground truth. Prints
precision and recall per field (emails, phones, names, LinkedIn) and what each site's lead got wrong.

    .venv/bin/python -m bench.quality [--site DOMAIN ...]"""

from __future__ import annotations

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__)
    parser.add_argument("--site", action="append", default=[], help="only this corpus site (repeatable)")
    args, _ = parser.parse_known_args()  # `python -m bench` passes its own arguments through
    for name in ("SEARCH_API_KEY", "SEARCH_PROVIDER", "SEARCH_API_URL", "SCRAPE_ALLOW_PRIVATE_NETWORKS"):
        os.environ.pop(name, None)

    from leadengine.log import configure
    from tests.runner.scrape.corpus import load_corpus
    from tests.runner.scrape.corpus.score import report, score
    from tests.runner.scrape.corpus.web import run_corpus

    configure("warning")  # one line per site read would bury the figures
    sites = load_corpus()
    if args.site:
        sites = tuple(site for site in sites if site.domain in args.site)
    print(report(score(run_corpus(sites))))


if __name__ == "__main__":
    main()
