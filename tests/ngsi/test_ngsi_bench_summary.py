"""The NGSI-LD bench's verdict names the connection counts that met the target and those that
did not (no server is started here)."""

from __future__ import annotations

from citymeter.ngsi.bench import ConnectionRun, NgsiBenchResult, Rate, summary


def _rate(per_second: float, p95_ms: float, failures: int = 0) -> Rate:
    return Rate("x", int(per_second * 2), 2.0, p95_ms / 2, p95_ms, p95_ms * 1.5, failures)


def _result(*runs: tuple[int, float, float, int]) -> NgsiBenchResult:
    floor = _rate(5000, 1)
    return NgsiBenchResult(
        100,
        "sqlite",
        [ConnectionRun(n, _rate(rate, p95, failures), floor) for n, rate, p95, failures in runs],
        _rate(2000, 1),
    )


def test_the_verdict_names_the_counts_that_met_the_target_and_those_that_missed() -> None:
    lines = summary(_result((1, 900, 2, 0), (4, 2100, 25, 0), (16, 2400, 12, 0)))
    assert lines[-1].endswith("met with 16 connection(s); MISSED with 1, 4")
    assert sum("citymeter, " in line for line in lines) == 3
    assert sum("bare uvicorn, " in line for line in lines) == 3


def test_failed_requests_miss_the_target_and_all_met_is_said_once() -> None:
    assert summary(_result((16, 2400, 12, 3)))[-1].endswith("MISSED at every connection count (16)")
    assert summary(_result((8, 2100, 9, 0), (16, 2400, 12, 0)))[-1].endswith(
        "met at every connection count (8, 16)"
    )
