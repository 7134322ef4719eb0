"""GroupCommit: concurrent submissions share batches; each caller gets its own result."""

from __future__ import annotations

import threading
import time

import pytest

from dbos.storage._group_commit import GroupCommit


def test_a_lone_caller_runs_its_own_batch_at_once() -> None:
    batches: list[list[int]] = []

    def run(items: list[int]) -> list[int]:
        batches.append(items)
        return [item * 2 for item in items]

    group: GroupCommit[int, int] = GroupCommit(run)
    assert group.submit(1) == 2
    assert group.submit(5) == 10
    assert batches == [[1], [5]]


def test_concurrent_callers_share_batches_and_get_their_own_results() -> None:
    batches: list[list[int]] = []

    def run(items: list[int]) -> list[int]:
        batches.append(items)
        time.sleep(0.005)  # a commit in flight: later submitters pile up meanwhile
        return [item * 2 for item in items]

    group: GroupCommit[int, int] = GroupCommit(run, max_batch=8)
    results: dict[int, int] = {}
    barrier = threading.Barrier(32)

    def caller(item: int) -> None:
        barrier.wait()
        results[item] = group.submit(item)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: i * 2 for i in range(32)}
    assert sorted(item for batch in batches for item in batch) == list(range(32))
    assert len(batches) < 32  # some calls shared a round trip
    assert max(len(batch) for batch in batches) <= 8


def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_runs() -> None:
    def run(items: list[int]) -> list[int]:
        if 13 in items:
            raise ValueError("bad batch")
        return items

    group: GroupCommit[int, int] = GroupCommit(run)
    with pytest.raises(ValueError, match="bad batch"):
        group.submit(13)
    assert group.submit(7) == 7


def test_an_item_can_fail_alone() -> None:
    def run(items: list[int]) -> list[int | BaseException]:
        return [KeyError(item) if item < 0 else item for item in items]

    group: GroupCommit[int, int] = GroupCommit(run)
    with pytest.raises(KeyError):
        group.submit(-1)
    assert group.submit(3) == 3


def test_a_wrong_number_of_results_is_an_error_not_a_mixup() -> None:
    group: GroupCommit[int, int] = GroupCommit(lambda items: [])
    with pytest.raises(RuntimeError, match="0 results for a batch of 1"):
        group.submit(1)


def test_several_batches_may_run_at_once_but_no_more() -> None:
    lock = threading.Lock()
    running = [0, 0]  # now, most

    def run(items: list[int]) -> list[int]:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return items

    group: GroupCommit[int, int] = GroupCommit(run, in_flight=2)
    barrier = threading.Barrier(12)
    results: list[int] = []

    def caller(item: int) -> None:
        barrier.wait()
        results.append(group.submit(item))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(12))
    assert running[1] == 2
