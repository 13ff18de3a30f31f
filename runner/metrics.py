"""The runner's Prometheus metrics, served on RUNNER_METRICS_PORT at /metrics (0 disables the server)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from leadengine.settings import Settings

# Outcomes of one delivery: succeeded | failed | cancelled | retried | duplicate | held | invalid | interrupted.
DELIVERIES = Counter(
    "leadengine_runner_jobs", "Deliveries of scrape_jobs handled, by outcome", ["outcome"]
)  # fmt: skip
DURATION = Histogram(
    "leadengine_runner_job_duration_seconds",
    "Wall time of one attempt, by outcome",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200),
)
ATTEMPTS = Counter("leadengine_runner_attempts", "Attempts started (a job retried three times counts three)")
IN_FLIGHT = Gauge("leadengine_runner_jobs_in_flight", "Jobs this runner is working on right now (0 or 1)")
RECONNECTS = Counter("leadengine_runner_reconnects", "Connections to RabbitMQ opened after the first one")


def serve(settings: Settings) -> None:
    if settings.runner_metrics_port:
        start_http_server(settings.runner_metrics_port, addr=settings.runner_metrics_addr)
