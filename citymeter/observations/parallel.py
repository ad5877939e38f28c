"""Reading a large file in a second process while this one stores what it has read.

Parsing and storing a million observations each take a few seconds of one core; on a machine
with two cores they overlap. The reader is a forked child (it inherits the file, the mapping and
the area lookup without copying them) that sends chunks of compact rows, with the periods and
series first seen in each, through a pipe; the database stays in this process and in its
transaction, so a batch is still all or nothing.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Generator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from citymeter.observations.bulk import CompactRow, ObservationKeys

# Below this many observations (estimated) a second process costs more than it saves.
MIN_OBSERVATIONS = 100_000

Progress = Callable[[int, int], None]


class ChunkSource(Protocol):
    """An import run as the reader needs it (`importer._Run`)."""

    keys: ObservationKeys
    progress: Progress | None

    def chunks(self) -> Generator[list[CompactRow], None, None]: ...

    def outcome(self) -> Any:
        """What reading found besides the rows (counts, rejects, skips), picklable."""

    def adopt(self, outcome: Any) -> None:
        """Take over what the reader found."""


def worth_it(estimated_observations: int) -> bool:
    """Whether to read in a second process: a big file, a second core, and a safe fork.

    A fork copies only the calling thread; with other threads alive a lock one of them holds could
    stay locked forever in the child, so a multi-threaded caller (the web server) reads in-process.
    """
    return (
        estimated_observations >= MIN_OBSERVATIONS
        and _cores() > 1
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


def _cores() -> int:
    """Cores this process may run on (a container or taskset may allow fewer than the machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _read(run: ChunkSource, sender: Connection) -> None:
    """The child: read the whole file, send chunks as they fill, then what else was found."""
    latest: list[tuple[int, int]] = []

    def note(done: int, total: int) -> None:
        latest[:] = [(done, total)]

    run.progress = note
    keys = run.keys
    sent_periods = sent_series = 0
    try:
        for chunk in run.chunks():
            new_periods, new_series = keys.periods[sent_periods:], keys.series[sent_series:]
            sent_periods, sent_series = len(keys.periods), len(keys.series)
            sender.send(("chunk", (new_periods, new_series, chunk, latest[:1])))
        sender.send(("done", (run.outcome(), latest[:1])))
    except BaseException as exc:  # everything goes back to the parent, which raises it
        _send_error(sender, exc)
    finally:
        sender.close()


def _send_error(sender: Connection, exc: BaseException) -> None:
    # An exception that does not pickle goes back as its repr. When the parent has stopped
    # listening (it failed first and closed the pipe) there is nobody to tell: exit quietly.
    for error in (exc, RuntimeError(f"reading the file failed: {exc!r}")):
        try:
            sender.send(("error", error))
        except Exception:
            continue
        return


def start_reader(run: ChunkSource) -> tuple[Connection, BaseProcess]:
    """Fork the child that reads `run`; returns the end of the pipe to receive from, and it."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    reader = context.Process(target=_read, args=(run, sender), daemon=True)
    # Objects that were garbage at the fork must not be collected in the child: a collected
    # database connection would close the socket the parent still uses.
    gc.freeze()
    try:
        reader.start()
    finally:
        gc.unfreeze()
    sender.close()
    return receiver, reader


def chunks(run: ChunkSource) -> Generator[list[CompactRow], None, None]:
    """`run.chunks()`, read by a forked child; the keys are numbered here as the child numbers
    them."""
    receiver, reader = start_reader(run)
    progress = run.progress
    try:
        while True:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                reader.join(5)  # it has closed the pipe: it is exiting, or has exited
                raise RuntimeError(
                    f"the process reading the file stopped (exit code {reader.exitcode})"
                ) from None
            if kind == "error":
                raise payload
            if kind == "done":
                outcome, point = payload
                run.adopt(outcome)
                if progress is not None and point:
                    progress(*point[0])
                return
            periods, series, rows, point = payload
            for start in periods:
                run.keys.period(start)
            for one in series:
                run.keys.series_number(one)
            if progress is not None and point:
                progress(*point[0])
            yield rows
    finally:
        receiver.close()
        if reader.is_alive():
            reader.terminate()
        reader.join()
