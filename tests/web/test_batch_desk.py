"""The batch desk: jobs that wait together are run together, in order, on one thread."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from citymeter.web.batch_desk import BatchDesk


class _Worker:
    """Doubles numbers; the first batch waits until it is let go, so that others queue behind it."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()
        self.started = threading.Event()
        self.go = threading.Event()

    def run(self, jobs: list[int]) -> list[int]:
        self.threads.add(threading.current_thread().name)
        self.batches.append(jobs)
        self.started.set()
        self.go.wait(timeout=5)
        if -1 in jobs:
            raise ValueError("no negative numbers")
        return [job * 2 for job in jobs]


def test_jobs_that_wait_together_are_run_as_one_batch_in_order() -> None:
    worker = _Worker()
    desk: BatchDesk[int, int] = BatchDesk(worker.run, "doubling", max_batch=4)

    async def scenario() -> list[int]:
        first = asyncio.ensure_future(desk.submit(1))
        await asyncio.to_thread(worker.started.wait, 5)
        rest = [asyncio.ensure_future(desk.submit(n)) for n in range(2, 8)]
        await asyncio.sleep(0.05)
        worker.go.set()
        return await asyncio.gather(first, *rest)

    assert asyncio.run(scenario()) == [2, 4, 6, 8, 10, 12, 14]
    assert worker.batches == [[1], [2, 3, 4, 5], [6, 7]]  # at most max_batch at a time
    assert worker.threads == {"doubling"}
    assert (desk.batches, desk.jobs) == (3, 7)


def test_an_error_goes_to_every_job_of_its_batch_and_no_further() -> None:
    worker = _Worker()
    worker.go.set()
    desk: BatchDesk[int, int] = BatchDesk(worker.run, "doubling")

    async def scenario() -> tuple[list[object], int]:
        worker.go.clear()
        blocker = asyncio.ensure_future(desk.submit(0))
        await asyncio.to_thread(worker.started.wait, 5)
        doomed = [asyncio.ensure_future(desk.submit(n)) for n in (5, -1)]
        await asyncio.sleep(0.05)
        worker.go.set()
        await blocker
        outcomes = await asyncio.gather(*doomed, return_exceptions=True)
        return list(outcomes), await desk.submit(21)

    outcomes, later = asyncio.run(scenario())
    assert all(isinstance(o, ValueError) for o in outcomes)
    assert later == 42


def test_a_wrong_number_of_results_is_an_error_for_the_callers() -> None:
    desk: BatchDesk[int, int] = BatchDesk(lambda jobs: [], "forgetful")
    with pytest.raises(RuntimeError, match="0 results for 1 jobs"):
        asyncio.run(desk.submit(1))


def test_the_thread_ends_when_idle_and_starts_again_with_the_next_job() -> None:
    worker = _Worker()
    worker.go.set()
    desk: BatchDesk[int, int] = BatchDesk(worker.run, "napping", idle_seconds=0.05)
    assert asyncio.run(desk.submit(2)) == 4
    deadline = time.monotonic() + 5
    while desk._thread is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert desk._thread is None
    assert not [t for t in threading.enumerate() if t.name == "napping"]
    assert asyncio.run(desk.submit(3)) == 6
