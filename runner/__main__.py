"""`python -m runner [--exit-when-idle SECONDS]`: consume scrape_jobs until SIGTERM/SIGINT (or idle), exit 0."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys

from leadengine import log as logging_setup
from leadengine.log import get_logger
from leadengine.publisher import Publisher
from leadengine.settings import settings_or_exit
from leadengine.store import JobStore
from runner import metrics
from runner.consumer import Consumer
from runner.errors import HandlerNotFound
from runner.handler_api import load_handler
from runner.processing import JobProcessor
from runner.scrape.sources import credential_problem

log = get_logger("runner")
SCRAPE_HANDLER = "runner.scrape.handler:handle"


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runner", description=__doc__)
    parser.add_argument(
        "--exit-when-idle", type=_seconds, metavar="SECONDS",
        help="exit 0 once no message has come for this long (scaled container jobs)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    logging_setup.configure(settings.log_level)
    # pika narrates every connection step at INFO; our own events say what matters, in JSON.
    logging.getLogger("pika").setLevel(logging.WARNING)
    try:
        handler = load_handler(settings.runner_handler)
    except HandlerNotFound as e:
        raise SystemExit(f"leadengine: invalid setting RUNNER_HANDLER: {e}") from None
    if settings.runner_handler == SCRAPE_HANDLER:
        # A runner that could only fail every job must not start: say which setting is missing instead.
        problem = credential_problem(settings)
        if problem is not None:
            raise SystemExit(f"leadengine: missing setting {problem}")
    try:
        metrics.serve(settings)
    except OSError as e:
        raise SystemExit(f"leadengine: invalid setting RUNNER_METRICS_PORT: cannot listen: {e}") from None
    runner_id = settings.runner_id or f"{socket.gethostname()}-{os.getpid()}"
    publisher = Publisher(settings)  # one per process: delayed retries, and held jobs a finished job makes room for
    processor = JobProcessor(settings, JobStore(settings), handler, runner_id, publisher)
    consumer = Consumer(settings, processor, exit_when_idle=args.exit_when_idle, publisher=publisher)
    signal.signal(signal.SIGTERM, consumer.request_stop)
    signal.signal(signal.SIGINT, consumer.request_stop)
    log.info(
        "runner_started", runner_id=runner_id, handler=settings.runner_handler,
        metrics_port=settings.runner_metrics_port or None, exit_when_idle_s=args.exit_when_idle,
    )  # fmt: skip
    code = consumer.run()
    # Exit now, without joining threads: an attempt left for redelivery may still be inside its handler,
    # and a Firestore call cut short by its deadline may still be waiting on the client's own retries.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
