"""A desk that takes jobs from the event loop and works through them on one thread of its own,
several at a time.

A write path that many clients call at once (complaint filings) pays a transaction per call:
BEGIN, COMMIT, the write lock and the session's bookkeeping cost more than the rows. The desk
hands its worker every job waiting when it picks up the next one (up to `max_batch`), so those
costs are paid once a batch; with one client at a time every batch has one job and nothing
changes. One thread also means the jobs do not contend with each other for the interpreter lock
or the database's write lock. The thread starts with the first job and ends after
`idle_seconds` without one.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

J = TypeVar("J")
R = TypeVar("R")
_Waiting = tuple[J, asyncio.AbstractEventLoop, "asyncio.Future[R]"]


class BatchDesk(Generic[J, R]):
    """`run` takes a batch of jobs and returns one result per job, in order. If it raises, every
    job of the batch gets that exception."""

    def __init__(
        self,
        run: Callable[[list[J]], list[R]],
        name: str,
        max_batch: int = 64,
        idle_seconds: float = 5.0,
    ) -> None:
        self._run = run
        self.name = name
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[_Waiting[J, R]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0  # how many batches were run, and the jobs in them (for tests, benches)
        self.jobs = 0

    async def submit(self, job: J) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.put((job, loop, future))
        self._ensure_worker()
        return await future

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=self.name, daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:  # a job put before this check keeps the worker going
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            waiting = [first]
            while len(waiting) < self.max_batch:
                try:
                    waiting.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._run_batch(waiting)

    def _run_batch(self, waiting: list[_Waiting[J, R]]) -> None:
        self.batches += 1
        self.jobs += len(waiting)
        try:
            results = self._run([job for job, _loop, _future in waiting])
            if len(results) != len(waiting):
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(waiting)} jobs")
        except BaseException as exc:  # handed to every caller of the batch, never lost here
            for _job, loop, future in waiting:
                _settle_soon(loop, future, None, exc)
            return
        for (_job, loop, future), result in zip(waiting, results, strict=True):
            _settle_soon(loop, future, result, None)


def _settle_soon(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[R],
    result: R | None,
    error: BaseException | None,
) -> None:
    def settle() -> None:
        if future.done():  # the caller went away (its request was cancelled)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    with contextlib.suppress(RuntimeError):  # that event loop is closed: nobody waits any more
        loop.call_soon_threadsafe(settle)
