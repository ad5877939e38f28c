"""Process-wide tuning: the young-generation threshold and the start-up heap frozen once."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from citymeter import runtime


@pytest.fixture
def collector() -> Iterator[None]:
    threshold, frozen = gc.get_threshold(), runtime._frozen
    # As in a fresh process (an earlier app's lifespan may have frozen this one already, and
    # observations.parallel unfreezes after its pool).
    runtime._frozen = False
    yield
    gc.set_threshold(*threshold)
    runtime._frozen = frozen


def test_the_young_generation_is_collected_less_often(collector: None) -> None:
    gc.set_threshold(700, 10, 10)
    runtime.tune_garbage_collector()
    assert gc.get_threshold() == (runtime.YOUNG_GENERATION_THRESHOLD, 10, 10)
    gc.set_threshold(50_000, 10, 10)
    runtime.tune_garbage_collector()
    assert gc.get_threshold()[0] == 50_000  # never more often than configured


def test_the_start_up_heap_is_frozen_once_per_process(collector: None) -> None:
    runtime.tune_garbage_collector()
    frozen = gc.get_freeze_count()
    assert runtime._frozen and frozen > 0
    garbage = [[index] for index in range(1000)]
    runtime.tune_garbage_collector()
    # Later objects (another app's, a test's) stay collectable: the second call froze none of
    # them. (The count may fall a little: frozen objects are still freed when their last
    # reference goes, by other threads too.)
    assert gc.get_freeze_count() <= frozen
    del garbage
