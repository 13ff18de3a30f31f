"""Scraping for the runner (contract §6): search providers, the LinkedIn source, polite SSRF-safe website
fetching, extraction and lead building. The entry point is `runner.scrape.handler:handle`."""
