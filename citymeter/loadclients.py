"""Benchmark load: the same client loop on several threads at once, each on its own keep-alive
connection, with every request's latency and the failures gathered in one place."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# One client's work: given its index, return (latencies in seconds, failures).
ClientLoop = Callable[[int], tuple[list[float], int]]


@dataclass
class Gathered:
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    elapsed: float = 0.0


def fan_out(clients: int, loop: ClientLoop) -> Gathered:
    """Run `loop(0)` … `loop(clients - 1)` on as many threads and wait for all of them."""
    gathered = Gathered()
    guard = threading.Lock()

    def run(index: int) -> None:
        latencies, failures = loop(index)
        with guard:
            gathered.latencies.extend(latencies)
            gathered.failures += failures

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gathered.elapsed = time.perf_counter() - started
    return gathered
