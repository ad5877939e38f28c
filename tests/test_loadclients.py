"""The benchmarks' client fan-out gathers every client's latencies and failures."""

from __future__ import annotations

import threading

from citymeter.loadclients import fan_out


def test_every_client_runs_once_on_its_own_thread_and_all_results_are_gathered() -> None:
    seen: list[tuple[int, str]] = []

    def loop(index: int) -> tuple[list[float], int]:
        seen.append((index, threading.current_thread().name))
        return [0.001 * index] * (index + 1), index % 2

    gathered = fan_out(4, loop)
    assert sorted(i for i, _ in seen) == [0, 1, 2, 3]
    assert len({name for _, name in seen}) == 4
    assert len(gathered.latencies) == 1 + 2 + 3 + 4
    assert gathered.failures == 2  # clients 1 and 3
    assert gathered.elapsed > 0
