"""The operator's tool for dead letters: what is in `failed_jobs`, and replaying chosen messages into scrape_jobs.

    python -m runner.deadletters list [--json]
    python -m runner.deadletters replay JOB_ID [JOB_ID ...]
    python -m runner.deadletters replay --all

Listing takes the messages without acknowledging them and gives them all back. Replaying resets each chosen
job for a fresh round of JOB_MAX_ATTEMPTS attempts (status back to queued: an operator's explicit act,
recorded in the job's history, and marked for the outbox), publishes its message to scrape_jobs with a confirm
through the project's one publisher, and only then removes the dead letter, so a replay interrupted at any point
loses nothing: a publish that fails stops the replay with one line on stderr and exit status 2, the dead letter
stays in failed_jobs, and the job's outbox mark has the relay publish it once RabbitMQ takes messages again.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import socket
import sys
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
from pydantic import ValidationError

from leadengine import log as logging_setup
from leadengine import outbox, topology
from leadengine.errors import DependencyUnavailable, PublishFailed
from leadengine.publisher import Publisher
from leadengine.schemas import JobMessage
from leadengine.settings import settings_or_exit
from leadengine.store import JobStore
from runner.lifecycle import Lifecycle


@dataclass
class DeadLetter:
    tag: int
    body: bytes
    job_id: str | None
    valid: bool  # a job message that can be replayed; malformed bodies stay for a person to read
    reason: str | None  # why the broker dead-lettered it (x-death), e.g. "rejected"


def _read(channel: Any) -> list[DeadLetter]:
    """Every message in failed_jobs, held unacknowledged by this channel until it acks or closes."""
    letters: list[DeadLetter] = []
    while True:
        method, properties, body = channel.basic_get(topology.FAILED_JOBS, auto_ack=False)
        if method is None:
            return letters
        letters.append(_letter(method.delivery_tag, properties, body))


def _letter(tag: int, properties: Any, body: bytes) -> DeadLetter:
    job_id, valid = None, False
    try:
        job_id = JobMessage.model_validate_json(body).job_id
        valid = True
    except ValidationError:
        job_id = JobMessage.job_id_in(body)
    deaths = (properties.headers or {}).get("x-death") or []
    reason = str(deaths[0].get("reason")) if deaths and isinstance(deaths[0], dict) else None
    return DeadLetter(tag, body, job_id, valid, reason)


def _describe(letter: DeadLetter, lifecycle: Lifecycle) -> dict[str, Any]:
    row: dict[str, Any] = {"job_id": letter.job_id, "replayable": letter.valid, "reason": letter.reason,
                           "status": None, "attempts": None, "error": None, "finished_at": None}  # fmt: skip
    if not letter.valid:
        row["body"] = letter.body[:200].decode("utf-8", errors="replace")
    if letter.job_id is not None:
        job = lifecycle.get(letter.job_id)
        if job is not None:
            row.update(status=job.status.value, attempts=job.attempts,
                       error=job.error.model_dump() if job.error else None,
                       finished_at=job.finished_at.isoformat() if job.finished_at else None)  # fmt: skip
    return row


def list_dead_letters(channel: Any, lifecycle: Lifecycle) -> list[dict[str, Any]]:
    letters = _read(channel)
    try:
        return [_describe(letter, lifecycle) for letter in letters]
    finally:
        if letters:  # give them all back, in order
            channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)


class ReplayStopped(DependencyUnavailable):
    """A replay's publish failed: the jobs replayed before it are done, every other dead letter stays."""

    def __init__(self, job_id: str, replayed: list[str], error: PublishFailed) -> None:
        super().__init__(
            f"replay stopped at job {job_id}: {error}; {len(replayed)} replayed before it; its dead letter and every "
            f"later one stay in {topology.FAILED_JOBS}, and the relay publishes job {job_id} once RabbitMQ is back"
        )
        self.replayed = replayed


def replay(
    channel: Any, lifecycle: Lifecycle, publisher: Publisher, job_ids: set[str] | None, operator: str
) -> tuple[list[str], list[str]]:
    """Replay the dead letters of these jobs (None: every replayable one). Returns (replayed, skipped);
    ReplayStopped if a publish fails."""
    letters = _read(channel)
    replayed: list[str] = []
    skipped: list[str] = []
    try:
        for letter in letters:
            chosen = job_ids is None or letter.job_id in job_ids
            if not chosen:
                continue
            if not letter.valid or letter.job_id is None:
                skipped.append(letter.job_id or "(unreadable message)")
                continue
            if letter.job_id in replayed:
                # Another copy of a job just replayed (a failed job's message is dead-lettered at least once):
                # one replay is enough, the copy goes.
                channel.basic_ack(letter.tag)
                continue
            job = lifecycle.reset_for_replay(letter.job_id, operator)
            try:
                if job is not None:
                    outbox.publish_then_clear(lifecycle.store, publisher, job)
                else:  # no job document (a seed message never read): the message itself is all there is
                    publisher.send(topology.job_envelope(letter.job_id, letter.body))
            except PublishFailed as e:
                raise ReplayStopped(letter.job_id, replayed, e) from e
            channel.basic_ack(letter.tag)
            replayed.append(letter.job_id)
    finally:
        if letters:  # whatever was not replayed goes back
            channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)
    return replayed, skipped


def _operator() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in a bare container
        user = "operator"
    return f"{user}@{socket.gethostname()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner.deadletters", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="show what is in failed_jobs (job id, status, attempts, error)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    replaying = commands.add_parser("replay", help="move chosen dead letters back to scrape_jobs")
    replaying.add_argument("job_ids", nargs="*", metavar="JOB_ID")
    replaying.add_argument("--all", action="store_true", help="every replayable dead letter")
    args = parser.parse_args(argv)
    if args.command == "replay" and bool(args.job_ids) == bool(args.all):
        parser.error("replay takes JOB_ID... or --all")
    settings = settings_or_exit()
    # An operator's tool: its own lines say what happened; library warnings (pika's reconnects, the publisher's
    # JSON events) would bury the one line that matters.
    logging_setup.configure("error")
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    lifecycle = Lifecycle(JobStore(settings), settings, runner_id=_operator())
    try:
        connection = pika.BlockingConnection(topology.connection_parameters(settings, heartbeat=0))
    except pika.exceptions.AMQPError as e:
        print(f"leadengine: cannot reach RabbitMQ at {settings.amqp_url_for_logs()}: {e!r}", file=sys.stderr)
        return 2
    publisher = Publisher(settings)
    try:
        channel = connection.channel()
        topology.declare(channel, settings.job_retry_delays_s)
        if args.command == "list":
            rows = list_dead_letters(channel, lifecycle)
            _print_rows(rows, as_json=args.json)
            return 0
        wanted = None if args.all else set(args.job_ids)
        replayed, skipped = replay(channel, lifecycle, publisher, wanted, _operator())
    except DependencyUnavailable as e:
        for job_id in e.replayed if isinstance(e, ReplayStopped) else []:
            print(f"replayed {job_id}")
        print(f"leadengine: {e}", file=sys.stderr)
        return 2
    finally:
        publisher.close()
        if connection.is_open:
            connection.close()
    for job_id in replayed:
        print(f"replayed {job_id}")
    for job_id in skipped:
        print(f"skipped {job_id}: not a valid job message, left in {topology.FAILED_JOBS}")
    missing = sorted((wanted or set()) - set(replayed) - set(skipped))
    for job_id in missing:
        print(f"not found in {topology.FAILED_JOBS}: {job_id}", file=sys.stderr)
    print(f"{len(replayed)} replayed")
    return 1 if missing else 0


def _print_rows(rows: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    print(f"{'JOB_ID':<36}  {'STATUS':<9}  {'ATTEMPTS':>8}  ERROR")
    for row in rows:
        error = row["error"] or {}
        text = f"{error.get('code')}: {error.get('message')}" if error else (row["reason"] or "")
        if not row["replayable"]:
            text = f"not a valid job message: {row.get('body', '')!r}"
        print(f"{row['job_id'] or '-':<36}  {row['status'] or '-':<9}  {row['attempts'] or 0:>8}  {text}")
    print(f"{len(rows)} dead-lettered message(s) in {topology.FAILED_JOBS}")


if __name__ == "__main__":
    sys.exit(main())
