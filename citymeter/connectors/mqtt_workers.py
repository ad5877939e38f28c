"""Several subscriber processes for one MQTT source, on an MQTT 5 shared subscription.

One Python process receives, decodes, stores and acknowledges MQTT messages on one core at most
(paho's network thread and the storing thread share the interpreter). A source configured with
`"processes": N` (N > 1) is served by N worker processes instead. Each worker is an ordinary
`MqttConnector` with its own persistent session (client id `<client_id>-<k>`) subscribed to
`$share/<group>/<filter>`, so the broker hands each message to one worker only. Each worker stores
its messages in its own transactions and acknowledges them after commit, exactly as the single
process does, so nothing changes about loss: a message a worker has not acknowledged is sent again.

The broker keeps queuing a worker's share of the messages for its persistent session while that
worker is away (Mosquitto 2 round-robins a shared subscription over its members' sessions, online
or not), and delivers them when the worker comes back. So the workers are always started with the
same client ids `-1 … -N`; lowering N leaves the messages already queued for the workers dropped
from the configuration in their sessions until those expire (`session_expiry_s`).

The supervisor (this module's `WorkerPool`, run by the `MqttConnector` the runner started) starts
the workers, restarts one that dies, adds up their counters and forwards their health reports and
errors to the runner.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from citymeter.connectors.base import ConnectorContext, ConnectorResult

log = logging.getLogger(__name__)

# How often a worker sends its counters to the supervisor.
STATS_EVERY_S = 0.2
# A worker that dies is started again after this long (doubling, up to a minute, while it dies).
RESTART_DELAY_S = 1.0


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs to build its own engine and connector."""

    database_url: str
    source_code: str
    kind: str
    config: Mapping[str, Any]
    city: str | None
    member: int


def database_url_of(ctx: ConnectorContext) -> str:
    """The URL of the database the runner's sessions write to, password included."""
    bind = ctx.sessions.kw.get("bind")
    url = getattr(bind, "url", None)
    if url is None:
        raise ValueError("the source's sessions are not bound to an engine")
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise ValueError(
            "an in-memory SQLite database cannot be shared by several processes; "
            'use a database file or PostgreSQL, or set "processes": 1'
        )
    return str(url.render_as_string(hide_password=False))


def worker_main(spec: WorkerSpec, line: Connection) -> None:
    """A worker process: one MqttConnector on the shared subscription until the supervisor says
    "stop" on `line` (or goes away).

    Sends ("stats", counters), ("report", counts) and ("error", text) to the supervisor on `line`:
    a pipe of its own, so that a worker killed halfway through a message harms no other worker."""
    from citymeter.connectors.mqtt import MqttConnector
    from citymeter.db.engine import make_engine, make_sessionmaker
    from citymeter.runtime import tune_garbage_collector

    tune_garbage_collector()
    engine = make_engine(spec.database_url)
    sending = threading.Lock()

    def send(kind: str, payload: Any) -> None:
        with sending, contextlib.suppress(OSError):
            line.send((kind, payload))

    def report(result: ConnectorResult) -> None:
        send("report", (result.records_in, result.accepted, result.rejected))

    def report_error(message: str) -> None:
        send("error", message)

    ctx = ConnectorContext(
        source_code=spec.source_code,
        kind=spec.kind,
        config=spec.config,
        sessions=make_sessionmaker(engine),
        city=spec.city,
        on_report=report,
        on_error=report_error,
    )
    connector = MqttConnector(member=spec.member)
    connector.start(ctx)

    def send_stats() -> None:
        counters = dataclasses.asdict(connector.stats)
        counters["connected"] = connector.connected.is_set()
        counters["inbox"] = connector.inbox_size()
        send("stats", counters)

    try:
        while not line.poll(STATS_EVERY_S):  # "stop", or end of file when the supervisor died
            send_stats()
    finally:
        connector.stop()
        send_stats()
        engine.dispose()


class WorkerPool:
    """Starts, watches and stops the worker processes of one source."""

    def __init__(
        self,
        ctx: ConnectorContext,
        processes: int,
        on_stats: Callable[[dict[int, dict[str, Any]], list[dict[str, Any]]], None],
        on_error: Callable[[str], None],
    ) -> None:
        self._ctx = ctx
        self._processes = processes
        self._on_stats = on_stats
        self._on_error = on_error
        self._mp = multiprocessing.get_context("spawn")
        self._workers: dict[int, Any] = {}
        self._lines: dict[int, Connection] = {}
        self._restart_at: dict[int, float] = {}
        self._delays: dict[int, float] = {}
        self._stats: dict[int, dict[str, Any]] = {}
        # The last counters of workers that ended: what they did still counts.
        self._ended: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._url = database_url_of(ctx)

    def start(self) -> None:
        for member in range(1, self._processes + 1):
            self._spawn(member)
        self._thread = threading.Thread(
            target=self._watch, name=f"citymeter-mqtt-pool-{self._ctx.source_code}", daemon=True
        )
        self._thread.start()

    def _spawn(self, member: int) -> None:
        spec = WorkerSpec(
            database_url=self._url,
            source_code=self._ctx.source_code,
            kind=self._ctx.kind,
            config=dict(self._ctx.config),
            city=self._ctx.city,
            member=member,
        )
        ours, theirs = self._mp.Pipe()
        process = self._mp.Process(
            target=worker_main,
            args=(spec, theirs),
            name=f"citymeter-mqtt-{self._ctx.source_code}-{member}",
            daemon=True,
        )
        process.start()
        theirs.close()
        self._workers[member] = process
        self._lines[member] = ours

    def _watch(self) -> None:
        while not self._stopping.is_set():
            self._drain(timeout=0.2)
            self._revive()

    def _drain(self, timeout: float) -> None:
        if not self._lines:
            time.sleep(timeout)
            return
        members = {id(line): member for member, line in self._lines.items()}
        for ready in wait(list(self._lines.values()), timeout=timeout):
            assert isinstance(ready, Connection)
            member = members[id(ready)]
            try:
                while ready.poll():
                    kind, payload = ready.recv()
                    self._handle(kind, member, payload)
            except (EOFError, OSError):  # the worker is gone; _revive starts it again
                ready.close()
                if self._lines.get(member) is ready:
                    del self._lines[member]
                    if member in self._stats:
                        self._ended.append(self._stats.pop(member))

    def _handle(self, kind: str, member: int, payload: Any) -> None:
        if kind == "stats":
            self._stats[member] = payload
            self._on_stats(dict(self._stats), list(self._ended))
        elif kind == "report":
            records_in, accepted, rejected = payload
            with contextlib.suppress(Exception):
                self._ctx.report(
                    ConnectorResult(records_in=records_in, accepted=accepted, rejected=rejected)
                )
        elif kind == "error":
            self._on_error(f"worker {member}: {payload}")

    def _revive(self) -> None:
        now = time.monotonic()
        for member, process in list(self._workers.items()):
            if process.is_alive() or self._stopping.is_set():
                continue
            due = self._restart_at.get(member)
            if due is None:
                delay = self._delays.get(member, RESTART_DELAY_S)
                self._restart_at[member] = now + delay
                self._delays[member] = min(delay * 2, 60.0)
                self._on_error(
                    f"worker {member} stopped (exit code {process.exitcode}); "
                    f"starting it again in {delay:g} s"
                )
            elif now >= due:
                del self._restart_at[member]
                self._spawn(member)

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for line in self._lines.values():
            with contextlib.suppress(OSError):
                line.send("stop")
        deadline = time.monotonic() + timeout
        while self._lines and time.monotonic() < deadline:
            self._drain(timeout=0.1)  # the workers' last counters, until each line closes
        for process in self._workers.values():
            process.join(timeout=max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for line in self._lines.values():
            line.close()
        self._lines.clear()
        self._workers.clear()

    def alive(self) -> int:
        return sum(1 for process in self._workers.values() if process.is_alive())
