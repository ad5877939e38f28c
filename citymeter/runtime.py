"""Process-wide tuning of the long-running processes (the web app, the connector runner)."""

from __future__ import annotations

import gc

# CPython runs a young-generation collection every 700 new container objects (dicts, lists,
# tuples). A batch of readings allocates hundreds of thousands that all live until the batch is
# stored (the parsed JSON, the points, the roll-up buckets), so each of them is traversed by
# several collections that free nothing; measured on a 5,000-reading batch, the collector took
# about a quarter of the ingest's CPU time. Every 10,000 objects keeps garbage short-lived while
# skipping most of those passes.
YOUNG_GENERATION_THRESHOLD = 10_000

_frozen = False


def tune_garbage_collector() -> None:
    """Collect the young generation less often (never more often than already configured), and
    once per process, after start-up, freeze what is alive then: the modules, the app's routes
    and models, SQLAlchemy's and pydantic's structures live as long as the process, and every
    full collection would traverse them again for nothing. Frozen objects are never collected;
    only the start-up heap is frozen, once (a test process that starts many apps does not keep
    each one's garbage)."""
    global _frozen
    young, middle, old = gc.get_threshold()
    if 0 < young < YOUNG_GENERATION_THRESHOLD:
        gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
