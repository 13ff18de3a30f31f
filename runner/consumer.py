"""The consume loop: one pika BlockingConnection, prefetch 1, each job in a worker thread while this thread
keeps the connection's events (heartbeats) flowing; acks and rejects happen here only, asked for through
`add_callback_threadsafe` (anchor: pika examples/basic_consumer_threaded.py at 1.4.4). A retry is published to
its delay queue by the worker, through the project's one Publisher, before the ack is asked for.
Also: graceful shutdown, reconnect with backoff, idle exit, and the watchdog for handlers that never stop."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_when_event_set, wait_exponential, wait_random

from leadengine import topology
from leadengine.errors import PublishFailed
from leadengine.log import get_logger
from leadengine.publisher import Publisher
from leadengine.settings import Settings
from runner import metrics, policy
from runner.processing import JobProcessor, Settlement

log = get_logger(__name__)

# What a lost broker looks like to pika: the connection or the channel closes, or the socket fails.
CONNECTION_ERRORS = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError, OSError)
POLL_S = 0.2  # how long one process_data_events may wait: bounds how late a stop or idle check is seen
INTERRUPT_WAIT_S = 3.0  # after the grace period, how long an interrupted attempt gets to hand its job back
EXIT_OK = 0
EXIT_STUCK = 3  # a handler ignored its time limit; a fresh process is the only way to be rid of it
# After a retry could not be parked in its delay queue, the message goes back to scrape_jobs after at least this
# long, so a broker that refuses every publish does not get the same message back in a tight loop.
REQUEUE_PAUSE_S = 1.0
# What the connection's thread does with a delivery: ack, reject (to failed_jobs), requeue (back to
# scrape_jobs), or leave (no ack: redelivered once this connection closes).
Action = Literal["ack", "reject", "requeue", "leave"]


@dataclass(eq=False)
class Delivery:
    """One message as delivered on one connection: its tag means nothing on any other connection."""

    connection: pika.BlockingConnection
    channel: BlockingChannel
    tag: int
    body: bytes
    properties: pika.BasicProperties
    redelivered: bool
    thread: threading.Thread | None = None
    settled: bool = False
    received: float = field(default_factory=time.monotonic)

    @property
    def job_id(self) -> str | None:
        # For the consumer's own log lines; publishers set message_id to the job id (§4), seed ones may not.
        return self.properties.message_id


class Consumer:
    def __init__(
        self,
        settings: Settings,
        processor: JobProcessor,
        *,
        exit_when_idle: float | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self._settings = settings
        self._processor = processor
        self._publisher = publisher or Publisher(settings)
        self._exit_when_idle = exit_when_idle
        self._delays = tuple(sorted(set(settings.job_retry_delays_s)))
        self._stop = threading.Event()
        self._stop_deadline: float | None = None
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._consumer_tag: str | None = None
        self._current: Delivery | None = None
        self._last_activity = time.monotonic()
        self._connections = 0

    # --- control --------------------------------------------------------------------------------------

    def request_stop(self, signum: int | None = None, _frame: Any = None) -> None:
        """Signal handler (SIGTERM, SIGINT): only sets a flag; the loop sees it within POLL_S."""
        if not self._stop.is_set():
            self._stop.set()

    @property
    def busy(self) -> bool:
        return self._current is not None and self._current.thread is not None and self._current.thread.is_alive()

    def run(self) -> int:
        """Consume until stopped or idle; the process's exit code."""
        try:
            return self._run()
        finally:
            self._publisher.close()

    def _run(self) -> int:
        while True:
            if self._stop.is_set():
                return self._shutdown_disconnected()
            try:
                self._connect()
            except RetryError:  # stop requested while the broker was away
                continue
            try:
                return self._serve()
            except CONNECTION_ERRORS as e:
                log.warning("connection_lost", error=repr(e), job_in_flight=self.busy)
                self._drop_connection()

    # --- connection -----------------------------------------------------------------------------------

    def _connect(self) -> None:
        retrying = Retrying(
            retry=retry_if_exception_type(CONNECTION_ERRORS),
            wait=wait_exponential(multiplier=0.5, max=15) + wait_random(0, 0.5),
            stop=stop_when_event_set(self._stop),
            sleep=self._sleep,  # a stop request cuts the backoff short
            before_sleep=lambda state: log.warning(
                "connect_failed", attempt=state.attempt_number, error=repr(state.outcome and state.outcome.exception())
            ),
        )
        for attempt in retrying:
            with attempt:
                self._open()

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _open(self) -> None:
        connection = pika.BlockingConnection(topology.connection_parameters(self._settings))
        try:
            channel = connection.channel()
            topology.declare(channel, self._delays)
            channel.basic_qos(prefetch_count=1)
        except BaseException:
            with contextlib.suppress(Exception):
                connection.close()
            raise
        self._connection, self._channel, self._consumer_tag = connection, channel, None
        self._connections += 1
        if self._connections > 1:
            metrics.RECONNECTS.inc()
        log.info("connected", broker=self._settings.amqp_url_for_logs(), connection=self._connections,
                 heartbeat_s=self._settings.rabbitmq_heartbeat_s)  # fmt: skip

    def _drop_connection(self) -> None:
        connection, self._connection, self._channel, self._consumer_tag = self._connection, None, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(Exception):
                connection.close()

    # --- the loop -------------------------------------------------------------------------------------

    def _serve(self) -> int:
        assert self._connection is not None and self._channel is not None
        connection, channel = self._connection, self._channel
        while True:
            if self._stop.is_set():
                return self._shutdown()
            self._reap()
            # After a reconnect, a job from the old connection may still be running: take no new one until
            # it is done, so that this runner never holds two.
            if self._current is None and self._consumer_tag is None:
                self._consumer_tag = channel.basic_consume(topology.SCRAPE_JOBS, self._on_message)
                log.info("consuming", queue=topology.SCRAPE_JOBS, prefetch=1)
            connection.process_data_events(time_limit=POLL_S)
            self._reap()
            if self._watchdog():
                return EXIT_STUCK
            if self._idle_for_long_enough():
                log.info("idle_exit", idle_s=self._exit_when_idle)
                self._drop_connection()
                return EXIT_OK

    def _on_message(self, channel: BlockingChannel, method: Any, properties: pika.BasicProperties, body: bytes) -> None:
        assert self._connection is not None
        if self._current is not None:  # cannot happen with prefetch 1; never run two jobs if it does
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        delivery = Delivery(self._connection, channel, method.delivery_tag, body, properties, bool(method.redelivered))
        delivery.thread = threading.Thread(
            target=self._work, args=(delivery,), name=f"job-{method.delivery_tag}", daemon=True
        )
        self._current = delivery
        self._last_activity = time.monotonic()
        delivery.thread.start()

    def _work(self, delivery: Delivery) -> None:
        """The worker thread: process, then ask the connection's thread to settle the delivery."""
        try:
            settlement = self._processor.process(delivery.body, redelivered=delivery.redelivered)
        except BaseException as e:  # a runner bug, or a handler's sys.exit(): park it rather than hold it forever
            log.exception(
                "message_failed", job_id=delivery.job_id, code="internal_error", error=repr(e), action="delay"
            )
            settlement = Settlement("delay", policy.wait_delay_s(self._delays, 0))
        action = self._action(delivery, settlement)
        try:
            delivery.connection.add_callback_threadsafe(functools.partial(self._settle, delivery, action))
        except pika.exceptions.AMQPError:
            # The connection it came on is gone; the broker redelivers the message and the job's document
            # (finished, or held by its lease) decides what that copy does.
            log.warning("stale_delivery_not_settled", job_id=delivery.job_id, delivery_tag=delivery.tag,
                        settlement=settlement.kind)  # fmt: skip

    def _action(self, delivery: Delivery, settlement: Settlement) -> Action:
        """On the worker thread: what the connection's thread must do with the delivery. A delay is published
        here (confirmed, within PUBLISH_TIMEOUT_S) so that the message is acked only once its delay queue holds
        it, and the connection's thread never waits on a confirm."""
        if settlement.kind == "ack":
            return "ack"
        if settlement.kind == "dead_letter":
            return "reject"
        if settlement.kind == "leave":
            return "leave"
        envelope = topology.delayed_envelope(delivery.body, delivery.properties, settlement.delay_s)
        try:
            self._publisher.send(envelope)
        except PublishFailed as e:
            # Not parked: give the message back rather than lose it. If this connection is as dead as the
            # publish was, the nack never arrives and the broker redelivers the message once it drops us.
            log.error("delay_publish_failed", job_id=delivery.job_id, delay_s=settlement.delay_s, error=str(e),
                      action="requeue")  # fmt: skip
            self._stop.wait(max(REQUEUE_PAUSE_S, self._publisher.paused_for()))
            return "requeue"
        return "ack"

    def _settle(self, delivery: Delivery, action: Action) -> None:
        """On the connection's thread. A delivery tag is only valid on the channel it came on: one from an
        earlier connection is never acked on the current one (the broker would close the channel)."""
        if delivery.settled:
            return
        if delivery.connection is not self._connection or not delivery.channel.is_open:
            log.warning("stale_delivery_not_settled", job_id=delivery.job_id, delivery_tag=delivery.tag,
                        action=action)  # fmt: skip
            return
        delivery.settled = True
        channel = delivery.channel
        if action == "ack":
            channel.basic_ack(delivery.tag)
        elif action == "reject":
            # scrape_jobs' own dead-letter arguments route a rejected message through dlx to failed_jobs.
            channel.basic_reject(delivery.tag, requeue=False)
        elif action == "requeue":
            channel.basic_nack(delivery.tag, requeue=True)
        # "leave": no ack; the broker redelivers it once this connection closes.
        if self._current is delivery:
            self._current = None
            self._last_activity = time.monotonic()

    def _reap(self) -> None:
        """Forget a delivery whose worker is done and that is settled or belongs to a closed connection."""
        current = self._current
        if current is None or current.thread is None or current.thread.is_alive():
            return
        connection: pika.BlockingConnection = current.connection
        if current.settled or not connection.is_open or connection is not self._connection:
            self._current = None
            self._last_activity = time.monotonic()

    def _watchdog(self) -> bool:
        """True when a handler ignored checkpoints past JOB_TIMEOUT_S + RUNNER_STUCK_GRACE_S: its job is
        failed with `timeout` and its message dead-lettered, and the runner exits for a clean restart."""
        ctx, current = self._processor.current, self._current
        if ctx is None or current is None or current.settled:
            return False
        if time.monotonic() < ctx.deadline + self._settings.runner_stuck_grace_s:
            return False
        log.error("handler_stuck", job_id=ctx.job_id, attempt=ctx.attempt, timeout_s=self._settings.job_timeout_s)
        if self._processor.give_up_stuck(ctx) and current.connection is self._connection:
            current.settled = True
            current.channel.basic_reject(current.tag, requeue=False)
            metrics.DELIVERIES.labels("failed").inc()
            log.warning("message_failed", job_id=ctx.job_id, code="timeout", action="dead_letter")
        self._drop_connection()
        return True

    def _idle_for_long_enough(self) -> bool:
        if self._exit_when_idle is None or self._current is not None:
            return False
        return time.monotonic() - self._last_activity >= self._exit_when_idle

    # --- shutdown -------------------------------------------------------------------------------------

    def _shutdown(self) -> int:
        """Stop taking messages, give the job in hand RUNNER_SHUTDOWN_GRACE_S to finish, else hand it back."""
        assert self._connection is not None and self._channel is not None
        grace = self._settings.runner_shutdown_grace_s
        if self._stop_deadline is None:
            self._stop_deadline = time.monotonic() + grace
            log.info("shutdown_started", grace_s=grace, job_in_flight=self._current is not None)
        if self._consumer_tag is not None:
            # Messages delivered but not yet dispatched are nacked back to the queue by pika.
            self._channel.basic_cancel(self._consumer_tag)
            self._consumer_tag = None
        self._process_until(self._stop_deadline)
        if self._current is not None:
            self._interrupt_current()
            self._process_until(time.monotonic() + INTERRUPT_WAIT_S)
        self._drop_connection()
        log.info("runner_stopped", job_left_for_redelivery=self._current is not None)
        return EXIT_OK

    def _process_until(self, deadline: float) -> None:
        assert self._connection is not None
        while self._current is not None and time.monotonic() < deadline:
            self._connection.process_data_events(time_limit=POLL_S)
            self._reap()

    def _interrupt_current(self) -> None:
        ctx = self._processor.current
        log.warning("shutdown_grace_expired", job_id=ctx.job_id if ctx else None)
        if ctx is not None:
            ctx.interrupt("shutdown")

    def _shutdown_disconnected(self) -> int:
        """Stopped while the broker is away: the job in hand cannot be acked anyway; let it finish its writes
        within the grace period (its copy is redelivered and deduplicated), then go."""
        if self._stop_deadline is None:
            self._stop_deadline = time.monotonic() + self._settings.runner_shutdown_grace_s
        while self.busy and time.monotonic() < self._stop_deadline:
            time.sleep(POLL_S)
        if self.busy:
            self._interrupt_current()
            deadline = time.monotonic() + INTERRUPT_WAIT_S
            while self.busy and time.monotonic() < deadline:
                time.sleep(POLL_S)
        log.info("runner_stopped", job_left_for_redelivery=self.busy)
        return EXIT_OK
