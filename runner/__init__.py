"""The runner: consumes scrape_jobs with prefetch 1, runs each job's handler, writes results back."""
