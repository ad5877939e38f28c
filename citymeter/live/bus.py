"""The event bus: in-process fan-out, optionally carried between worker processes.

`MemoryBus` delivers to the subscribers of this process. `PostgresBus` and `RedisBus` also send
every event to the other processes (PostgreSQL LISTEN/NOTIFY, Redis pub/sub) and deliver what the
others send. Every bus keeps the last events in a bounded replay buffer so that a client that
reconnects with `Last-Event-ID` gets what it missed.

`publish()` may be called from any thread (request threads, connector threads); subscribers are
asyncio queues bound to their event loop, or thread-safe queues for synchronous code.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from citymeter.live.events import LiveEvent
    from citymeter.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "citymeter_live"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; larger events go by reference.
NOTIFY_LIMIT = 7900
DEFAULT_REPLAY = 2000


class Subscription:
    """One subscriber's queue. Overflow marks it `lagging`; the reader should then resume."""

    def __init__(self, bus: LiveBus, maxsize: int) -> None:
        self._bus = bus
        self.maxsize = maxsize
        self.lagging = False
        self.closed = False

    def deliver(self, event: LiveEvent) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncSubscription(Subscription):
    """Events for a coroutine on one event loop: `await sub.get(timeout)`."""

    def __init__(self, bus: LiveBus, loop: asyncio.AbstractEventLoop, maxsize: int) -> None:
        super().__init__(bus, maxsize)
        self._loop = loop
        self._queue: asyncio.Queue[LiveEvent] = asyncio.Queue(maxsize=maxsize)

    def deliver(self, event: LiveEvent) -> None:
        with contextlib.suppress(RuntimeError):  # loop already closed
            self._loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: LiveEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagging = True

    async def get(self, timeout: float | None = None) -> LiveEvent | None:
        """The next event, or None when `timeout` seconds pass without one."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None


class ThreadSubscription(Subscription):
    """Events for synchronous code: `sub.get(timeout)` blocks."""

    def __init__(self, bus: LiveBus, maxsize: int) -> None:
        super().__init__(bus, maxsize)
        self._queue: queue.Queue[LiveEvent] = queue.Queue(maxsize=maxsize)

    def deliver(self, event: LiveEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.lagging = True

    def get(self, timeout: float | None = None) -> LiveEvent | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class LiveBus:
    """In-process bus with a replay buffer; the base of the cross-process buses."""

    backend = "memory"

    def __init__(self, replay_size: int = DEFAULT_REPLAY) -> None:
        self.node = uuid.uuid4().hex[:8]
        self._lock = threading.Lock()
        self._subscribers: set[Subscription] = set()
        self._replay: deque[LiveEvent] = deque(maxlen=replay_size)
        self._seq = itertools.count(1)
        self.published = 0
        self.received = 0

    # -- ids -----------------------------------------------------------------------------------
    def next_id(self) -> str:
        """A new event id; ids sort in publication order (time first, then a per-node counter)."""
        return f"{time.time_ns():019d}-{self.node}-{next(self._seq):010d}"

    # -- publishing ----------------------------------------------------------------------------
    def publish(self, event: LiveEvent) -> LiveEvent:
        """Stamp `event` with an id and time, deliver it here and to the other processes."""
        stamped = event.stamped(self.next_id(), dt.datetime.now(dt.UTC))
        self.published += 1
        self._deliver(stamped)
        self._send(stamped)
        return stamped

    def _send(self, event: LiveEvent) -> None:
        """Carry an event to the other processes (nothing to do in memory)."""

    def _deliver(self, event: LiveEvent) -> None:
        with self._lock:
            self._replay.append(event)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.deliver(event)

    # -- subscribing ---------------------------------------------------------------------------
    def subscribe(
        self, loop: asyncio.AbstractEventLoop | None = None, maxsize: int = 1000
    ) -> AsyncSubscription:
        sub = AsyncSubscription(self, loop or asyncio.get_running_loop(), maxsize)
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def subscribe_sync(self, maxsize: int = 10_000) -> ThreadSubscription:
        sub = ThreadSubscription(self, maxsize)
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    # -- replay --------------------------------------------------------------------------------
    def replay_after(self, last_id: str) -> list[LiveEvent]:
        """The buffered events after `last_id` (all buffered events newer than it if it is gone)."""
        with self._lock:
            buffered = list(self._replay)
        for position, event in enumerate(buffered):
            if event.id == last_id:
                return buffered[position + 1 :]
        return [event for event in buffered if (event.id or "") > last_id]

    def recent(self) -> list[LiveEvent]:
        with self._lock:
            return list(self._replay)

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Begin carrying events between processes (nothing to do in memory)."""

    def stop(self) -> None:
        """Stop the background threads; subscribers stay attached."""


class _RemoteBus(LiveBus):
    """A bus that also sends events to the other processes (sender thread) and hears theirs."""

    def __init__(self, replay_size: int = DEFAULT_REPLAY) -> None:
        super().__init__(replay_size)
        self._outbox: queue.SimpleQueue[LiveEvent | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.ready = threading.Event()  # set once the listener is listening

    def _send(self, event: LiveEvent) -> None:
        self._outbox.put(event)

    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        for target, name in ((self._send_loop, "sender"), (self._listen_loop, "listener")):
            thread = threading.Thread(target=target, name=f"citymeter-live-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        self._reset_sender()
        self.ready.clear()

    def _encode(self, event: LiveEvent) -> str:
        body = event.to_dict()
        body["origin"] = self.node
        return json.dumps(body, separators=(",", ":"), default=str)

    def _received(self, raw: dict[str, Any]) -> None:
        from citymeter.live.events import LiveEvent

        if raw.get("origin") == self.node:
            return  # our own event, already delivered here
        raw.pop("origin", None)
        try:
            event = LiveEvent.from_dict(raw)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("live bus: ignored a malformed event: %s", exc)
            return
        self.received += 1
        self._deliver(event)

    def _drain(self, first: LiveEvent) -> list[LiveEvent]:
        batch = [first]
        while len(batch) < 500:
            try:
                item = self._outbox.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._stopping.set()
                break
            batch.append(item)
        return batch

    def _send_loop(self) -> None:
        backoff = 0.2
        pending: list[LiveEvent] = []
        while True:
            if not pending:
                item = self._outbox.get()
                if item is None:
                    return
                pending = self._drain(item)
            try:
                self._send_batch(pending)
                pending = []
                backoff = 0.2
            except Exception as exc:  # connection lost: keep the batch and retry
                log.warning("live bus: could not send %d events: %s", len(pending), exc)
                self._reset_sender()
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, 5.0)
            if self._stopping.is_set() and not pending:
                with contextlib.suppress(queue.Empty):
                    while (item := self._outbox.get_nowait()) is not None:
                        pending.append(item)
                if pending:
                    continue
                return

    def _listen_loop(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                self._listen()
                backoff = 0.2
            except Exception as exc:
                self.ready.clear()
                log.warning("live bus: listener lost its connection: %s", exc)
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, 5.0)

    def _send_batch(self, events: list[LiveEvent]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _reset_sender(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _listen(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def libpq_url(sqlalchemy_url: str) -> str:
    """A libpq connection string from a SQLAlchemy PostgreSQL URL."""
    from sqlalchemy.engine import make_url

    url = make_url(sqlalchemy_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(
            "CITYMETER_LIVE_BACKEND=postgresql needs CITYMETER_DATABASE_URL to name a PostgreSQL "
            f"database, not {url.get_backend_name()}"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresBus(_RemoteBus):
    """Events between processes over PostgreSQL LISTEN/NOTIFY (large ones by reference)."""

    backend = "postgresql"

    def __init__(self, database_url: str, replay_size: int = DEFAULT_REPLAY) -> None:
        super().__init__(replay_size)
        self.conninfo = libpq_url(database_url)
        self._sender: Any = None
        self.by_reference = 0
        self._batches = 0

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)

    def _reset_sender(self) -> None:
        if self._sender is not None:
            with contextlib.suppress(Exception):
                self._sender.close()
        self._sender = None

    def _send_batch(self, events: list[LiveEvent]) -> None:
        if self._sender is None:
            self._sender = self._connect()
        conn = self._sender
        with conn.transaction(), conn.cursor() as cur:
            for event in events:
                payload = self._encode(event)
                if len(payload.encode()) > NOTIFY_LIMIT:
                    cur.execute(
                        "INSERT INTO live_event_payloads (event_id, payload, created_at) "
                        "VALUES (%s, %s, now())",
                        (event.id, payload),
                    )
                    payload = json.dumps({"origin": self.node, "ref": event.id})
                    self.by_reference += 1
                cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
            self._batches += 1
            if self.by_reference and self._batches % 200 == 0:
                cur.execute(
                    "DELETE FROM live_event_payloads WHERE created_at < now() - interval '1 hour'"
                )

    def _listen(self) -> None:
        conn = self._connect()
        # Large events are read on a second connection: the listening one is busy in notifies().
        reader: Any = None
        try:
            conn.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            while not self._stopping.is_set():
                for notify in conn.notifies(timeout=0.5):
                    raw = self._decode(notify.payload)
                    if raw is not None and "ref" in raw:
                        if reader is None:
                            reader = self._connect()
                        raw = self._fetch(reader, str(raw["ref"]))
                    if raw is not None:
                        self._received(raw)
                    if self._stopping.is_set():
                        break
        finally:
            self.ready.clear()
            for connection in (conn, reader):
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.close()

    def _decode(self, payload: str) -> dict[str, Any] | None:
        try:
            raw = json.loads(payload)
        except ValueError as exc:
            log.warning("live bus: ignored a malformed notification: %s", exc)
            return None
        if not isinstance(raw, dict) or raw.get("origin") == self.node:
            return None
        return raw

    def _fetch(self, reader: Any, ref: str) -> dict[str, Any] | None:
        row = reader.execute(
            "SELECT payload FROM live_event_payloads WHERE event_id = %s", (ref,)
        ).fetchone()
        if row is None:
            log.warning("live bus: event %s was gone before it could be read", ref)
            return None
        return self._decode(row[0])


class RedisBus(_RemoteBus):
    """Events between processes over Redis pub/sub."""

    backend = "redis"

    def __init__(self, redis_url: str, replay_size: int = DEFAULT_REPLAY) -> None:
        super().__init__(replay_size)
        self.redis_url = redis_url
        self._sender: Any = None

    def _client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.redis_url, socket_connect_timeout=5)

    def _reset_sender(self) -> None:
        if self._sender is not None:
            with contextlib.suppress(Exception):
                self._sender.close()
        self._sender = None

    def _send_batch(self, events: list[LiveEvent]) -> None:
        if self._sender is None:
            self._sender = self._client()
        pipe = self._sender.pipeline(transaction=False)
        for event in events:
            pipe.publish(CHANNEL, self._encode(event))
        pipe.execute()

    def _listen(self) -> None:
        client = self._client()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(CHANNEL)
            # Wait for the subscription to be confirmed before saying we are ready.
            pubsub.get_message(timeout=1.0, ignore_subscribe_messages=False)
            self.ready.set()
            while not self._stopping.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is None or message.get("type") != "message":
                    continue
                try:
                    self._received(json.loads(message["data"]))
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("live bus: ignored a malformed message: %s", exc)
        finally:
            self.ready.clear()
            with contextlib.suppress(Exception):
                pubsub.close()
                client.close()


def make_bus(settings: Settings) -> LiveBus:
    """The bus the settings ask for (CITYMETER_LIVE_BACKEND)."""
    backend = settings.live_backend
    if backend == "memory":
        return LiveBus()
    if backend == "postgresql":
        return PostgresBus(settings.resolved_database_url)
    if backend == "redis":
        return RedisBus(settings.redis_url)
    raise ValueError(f"unknown live backend {backend!r}: use memory, postgresql or redis")


_bus: LiveBus | None = None
_bus_lock = threading.Lock()


def get_bus() -> LiveBus:
    """This process's bus, made from the settings on first use (and started)."""
    global _bus
    if _bus is None:
        with _bus_lock:
            if _bus is None:
                from citymeter.settings import get_settings

                bus = make_bus(get_settings())
                bus.start()
                _bus = bus
    return _bus


def set_bus(bus: LiveBus | None) -> LiveBus | None:
    """Replace this process's bus (the app's lifespan, tests); returns the previous one."""
    global _bus
    with _bus_lock:
        previous, _bus = _bus, bus
    return previous


@contextlib.asynccontextmanager
async def bus_lifespan(settings: Settings) -> AsyncIterator[LiveBus]:
    """For the app's lifespan: the process-wide bus; a cross-process one is started and stopped.

    With the memory backend the process-wide bus is kept (so that an app made in a test shares it
    with the code around it); with PostgreSQL or Redis a bus for these settings is started,
    installed for the app's lifetime, then stopped and the previous one put back.
    """
    if settings.live_backend == "memory":
        yield get_bus()
        return
    bus = make_bus(settings)
    bus.start()
    previous = set_bus(bus)
    try:
        yield bus
    finally:
        bus.stop()
        set_bus(previous)
