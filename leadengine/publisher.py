"""The one way the project sends a message to RabbitMQ (new jobs, relayed jobs, delayed retries, replays, dead
letters): publisher confirms, `mandatory`, persistent, pika's errors turned into PublishFailed here, and every
publish bounded by PUBLISH_TIMEOUT_S, even against a broker that stopped answering with its socket still open."""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay, wait_exponential

from leadengine import topology
from leadengine.errors import PublishFailed, PublishPaused, PublishRejected
from leadengine.log import get_logger
from leadengine.schemas import JobMessage
from leadengine.settings import Settings
from leadengine.topology import Envelope

log = get_logger(__name__)

# What pika raises when the broker is down or the connection dropped: worth another try on a fresh connection.
_CONNECTION_ERRORS = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError, OSError)
# The broker answered and said no: trying again at once would get the same answer.
_REFUSALS = (pika.exceptions.NackError, pika.exceptions.UnroutableError)
MAX_PUBLISH_ATTEMPTS = 3
# After a publish failed, calls fail at once (PublishPaused) for this long, then one call probes the broker:
# against an unreachable broker every caller would otherwise wait out its own PUBLISH_TIMEOUT_S.
PAUSE_AFTER_FAILURE_S = 5.0
# Idle connections kept per process; more are opened while more threads publish at once.
MAX_IDLE_LANES = 8


class _TimedOut(Exception):
    """The broker did not confirm within the publish timeout."""


class _Lane:
    """One connection and its confirming channel, driven by a thread of its own. A caller hands it one publish
    at a time and waits on a future with a timeout, so a confirm that never comes holds that caller no longer
    than the timeout, and holds no other caller at all. Between publishes the thread services heartbeats."""

    def __init__(self, parameters: pika.ConnectionParameters) -> None:
        self._parameters = parameters
        self._idle_poll_s = max(0.5, parameters.heartbeat / 2) if parameters.heartbeat else 5.0
        # A connection whose heartbeats went unserviced this long (the process got no CPU, as an idle Cloud
        # Functions instance does not) may have been dropped without a word by the broker or a NAT on the way:
        # a fresh one costs a handshake, a dead one the whole publish timeout.
        self._stale_after_s = float(parameters.heartbeat or 60)
        self._alive_at = time.monotonic()
        self._work: queue.SimpleQueue[tuple[Envelope, Future[None]] | None] = queue.SimpleQueue()
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._thread = threading.Thread(target=self._run, name="publisher-lane", daemon=True)
        self._thread.start()

    def submit(self, envelope: Envelope) -> Future[None]:
        future: Future[None] = Future()
        self._work.put((envelope, future))
        return future

    def stop(self) -> None:
        """Close the connection once the publish in hand (if any) has ended, and end the thread. A lane stuck
        on a dead broker ends when the connection's heartbeat check gives up on it."""
        self._work.put(None)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                item = self._work.get(timeout=self._idle_poll_s)
            except queue.Empty:
                self._keep_alive()
                continue
            if item is None:
                self._close()
                return
            envelope, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                self._publish(envelope)
            except _REFUSALS as e:  # the connection is fine: keep it
                future.set_exception(e)
            except BaseException as e:  # the caller translates it; the next publish starts on a fresh connection
                self._close()
                future.set_exception(e)
            else:
                future.set_result(None)

    def _publish(self, envelope: Envelope) -> None:
        if self._connection is not None and time.monotonic() - self._alive_at > self._stale_after_s:
            self._close()
        channel = self._open()
        channel.basic_publish(
            exchange=envelope.exchange,
            routing_key=envelope.routing_key,
            body=envelope.body,
            properties=envelope.properties,
            mandatory=True,
        )
        self._alive_at = time.monotonic()

    def _open(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self._close()
        connection = pika.BlockingConnection(self._parameters)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            topology.declare(channel)
        except BaseException:
            with contextlib.suppress(Exception):
                connection.close()
            raise
        self._connection, self._channel = connection, channel
        self._alive_at = time.monotonic()
        return channel

    def _keep_alive(self) -> None:
        # pika's blocking adapter sends heartbeats only while it is called; an idle lane calls it here, and
        # notices a connection the broker closed before a publish has to.
        if self._connection is None:
            return
        try:
            self._connection.process_data_events(time_limit=0)
        except Exception:
            self._close()
            return
        self._alive_at = time.monotonic()

    def _close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(Exception):
                connection.close()


class _Breaker:
    """A small circuit breaker: open for PAUSE_AFTER_FAILURE_S after a failure, then one probe at a time."""

    def __init__(self, pause_s: float) -> None:
        self._pause_s = pause_s
        self._lock = threading.Lock()
        self._open_until: float | None = None  # None: closed
        self._probing = False

    def admit(self) -> None:
        with self._lock:
            if self._open_until is None:
                return
            remaining = self._open_until - time.monotonic()
            if remaining > 0 or self._probing:
                raise PublishPaused(
                    f"a publish failed a moment ago; RabbitMQ is tried again in {max(remaining, 0):.1f}s"
                )
            self._probing = True

    def succeeded(self) -> None:
        with self._lock:
            self._open_until, self._probing = None, False

    def failed(self) -> None:
        with self._lock:
            self._open_until, self._probing = time.monotonic() + self._pause_s, False

    def paused_for(self) -> float:
        """Seconds until a publish is tried again (0 when the breaker is closed)."""
        with self._lock:
            return 0.0 if self._open_until is None else max(0.0, self._open_until - time.monotonic())


class Publisher:
    """A process-wide publisher, safe to share between threads: each publish takes an idle lane (connection)
    of its own, so concurrent publishes never queue behind one another's confirms."""

    def __init__(
        self,
        settings: Settings,
        *,
        attempts: int = MAX_PUBLISH_ATTEMPTS,
        timeout_s: float | None = None,
        pause_s: float = PAUSE_AFTER_FAILURE_S,
    ) -> None:
        self._timeout_s = timeout_s if timeout_s is not None else settings.publish_timeout_s
        self._attempts = attempts
        # A short heartbeat: a lane left stuck on a silent broker ends (and frees its socket) within about
        # 2 x (heartbeat + 5 s), pika's check interval; an idle lane keeps it alive by itself.
        heartbeat = max(2, math.ceil(2 * self._timeout_s))
        self._parameters = topology.connection_parameters(settings, heartbeat=heartbeat)
        self._breaker = _Breaker(pause_s)
        self._lock = threading.Lock()
        self._idle: list[_Lane] = []

    def publish(self, message: JobMessage, *, routing_key: str = topology.SCRAPE_JOBS) -> None:
        """Publish a job's message to scrape_jobs and wait for the broker's confirm."""
        envelope = topology.job_envelope(message.job_id, message.body())
        if routing_key != topology.SCRAPE_JOBS:
            envelope = Envelope(routing_key, envelope.body, envelope.properties, envelope.job_id)
        self.send(envelope)

    def send(self, envelope: Envelope) -> None:
        """Publish one message and wait for its confirm, within PUBLISH_TIMEOUT_S in all. Connection errors are
        retried (MAX_PUBLISH_ATTEMPTS, each on a fresh connection); PublishRejected when the broker refused it,
        PublishPaused (no attempt) just after another publish failed, PublishFailed otherwise."""
        self._breaker.admit()
        deadline = time.monotonic() + self._timeout_s
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts) | stop_before_delay(self._timeout_s),
            wait=wait_exponential(multiplier=0.1, max=1),
            retry=retry_if_exception_type(_CONNECTION_ERRORS),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._attempt(envelope, deadline)
        except _REFUSALS as e:
            # The broker is up and answering; only this message was refused, so other publishes go on.
            self._breaker.succeeded()
            log.warning("publish_rejected", job_id=envelope.job_id, queue=envelope.routing_key, error=repr(e))
            raise PublishRejected(f"RabbitMQ refused the message of job {envelope.job_id}: {_describe(e)}") from e
        except (*_CONNECTION_ERRORS, _TimedOut) as e:
            self._breaker.failed()
            log.warning("publish_failed", job_id=envelope.job_id, queue=envelope.routing_key, error=repr(e))
            raise PublishFailed(f"RabbitMQ did not confirm the message of job {envelope.job_id}: {_describe(e)}") from e
        except BaseException:
            self._breaker.failed()
            raise
        self._breaker.succeeded()
        log.info("message_published", job_id=envelope.job_id, queue=envelope.routing_key)

    def _attempt(self, envelope: Envelope, deadline: float) -> None:
        lane = self._checkout()
        future = lane.submit(envelope)
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            # The lane's thread is stuck in pika's confirm wait, which has no timeout of its own: never hand
            # that lane out again. It ends by itself once its heartbeat check gives the connection up.
            future.cancel()
            lane.stop()
            raise _TimedOut(f"no confirm within {self._timeout_s:g}s") from None
        except BaseException:
            self._checkin(lane)
            raise
        self._checkin(lane)

    def _checkout(self) -> _Lane:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return _Lane(self._parameters)

    def _checkin(self, lane: _Lane) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_LANES:
                self._idle.append(lane)
                return
        lane.stop()

    def paused_for(self) -> float:
        """Seconds before a publish is tried again after a failure (0 when publishing normally)."""
        return self._breaker.paused_for()

    def close(self) -> None:
        """Close the idle connections (a later publish opens a fresh one)."""
        with self._lock:
            lanes, self._idle = self._idle, []
        for lane in lanes:
            lane.stop()
        for lane in lanes:
            lane.join(timeout=2)


def _describe(error: BaseException) -> str:
    if isinstance(error, pika.exceptions.UnroutableError):
        return "no queue took it"
    if isinstance(error, pika.exceptions.NackError):
        return "the broker nacked it"
    if isinstance(error, _TimedOut):
        return str(error)
    return repr(error)
