from __future__ import annotations

import pytest

from dbos import DBOSUnexpectedStepError
from dbos._engine.decisions import child_workflow_id, remaining_sleep, replayed_step, retry_delay
from dbos._engine.registry import StepPolicy
from dbos.storage._records import StepRecord


def _record(function_id: int, name: str) -> StepRecord:
    return StepRecord("wf", function_id, name, '"out"', None, 1, 2)


def test_replay_returns_the_recorded_step_at_this_position() -> None:
    recorded = {0: _record(0, "a"), 1: _record(1, "b")}
    assert replayed_step(recorded, "wf", 1, "b") == recorded[1]
    assert replayed_step(recorded, "wf", 2, "c") is None


def test_replay_detects_a_changed_workflow() -> None:
    with pytest.raises(DBOSUnexpectedStepError, match=r"step 0: the code now calls 'b'"):
        replayed_step({0: _record(0, "a")}, "wf", 0, "b")


def test_no_retry_without_permission() -> None:
    assert retry_delay(StepPolicy(retries_allowed=False), 1) is None


def test_retry_delays_grow_by_the_backoff_rate_until_attempts_run_out() -> None:
    policy = StepPolicy(retries_allowed=True, interval_seconds=0.5, max_attempts=4, backoff_rate=3)
    assert [retry_delay(policy, n) for n in (1, 2, 3, 4)] == [0.5, 1.5, 4.5, None]


def test_child_ids_are_deterministic() -> None:
    assert child_workflow_id("parent", 3) == "parent-3"


def test_remaining_sleep_never_negative() -> None:
    assert remaining_sleep(100.0, 90.0) == 10.0
    assert remaining_sleep(100.0, 150.0) == 0.0


def test_claimable_respects_every_limit_and_never_goes_negative() -> None:
    from dbos.storage import claimable
    from dbos.storage._records import QueueSpec

    unlimited = QueueSpec("q")
    assert claimable(unlimited, capacity=10, running_global=500, started_in_period=500) == 10
    limited = QueueSpec("q", concurrency=5)
    assert claimable(limited, capacity=10, running_global=3, started_in_period=0) == 2
    assert claimable(limited, capacity=1, running_global=3, started_in_period=0) == 1
    assert claimable(limited, capacity=10, running_global=7, started_in_period=0) == 0
    rated = QueueSpec("q", limit=4, period_s=1.0)
    assert claimable(rated, capacity=10, running_global=0, started_in_period=3) == 1
    both = QueueSpec("q", concurrency=5, limit=4, period_s=1.0)
    assert claimable(both, capacity=10, running_global=4, started_in_period=0) == 1
    assert claimable(both, capacity=0, running_global=0, started_in_period=0) == 0


def test_partition_limits_apply_to_each_partition_on_its_own() -> None:
    from dbos.storage import partition_quotas
    from dbos.storage._records import PartitionLoad, QueueSpec

    queue = QueueSpec(
        "q", partitioned=True, partition_concurrency=2, partition_limit=3, partition_period_s=1.0
    )
    loads = [
        PartitionLoad("full", queued=5, running=2, started=0, last_started_ms=None),
        PartitionLoad("rated", queued=5, running=0, started=2, last_started_ms=None),
        PartitionLoad("free", queued=5, running=1, started=0, last_started_ms=None),
    ]
    assert partition_quotas(queue, 100, loads) == {"rated": 1, "free": 1}


def test_partition_quotas_never_exceed_queued_tasks_or_capacity() -> None:
    from dbos.storage import partition_quotas
    from dbos.storage._records import PartitionLoad, QueueSpec

    queue = QueueSpec("q", partitioned=True)
    loads = [PartitionLoad("a", queued=1), PartitionLoad("b", queued=10)]
    assert partition_quotas(queue, 100, loads) == {"a": 1, "b": 10}
    assert partition_quotas(queue, 4, loads) == {"a": 1, "b": 3}
    assert partition_quotas(queue, 0, loads) == {}
    assert partition_quotas(queue, 5, []) == {}


def test_partitions_are_served_round_robin_least_recently_served_first() -> None:
    from dbos.storage import partition_quotas
    from dbos.storage._records import PartitionLoad, QueueSpec

    queue = QueueSpec("q", partitioned=True)
    busy = PartitionLoad("busy", queued=1000, last_started_ms=2_000)
    quiet = PartitionLoad("quiet", queued=1, last_started_ms=1_000)
    new = PartitionLoad("new", queued=3, last_started_ms=None)
    # One slot: the partition never served wins, then the one served longest ago.
    assert partition_quotas(queue, 1, [busy, quiet, new]) == {"new": 1}
    assert partition_quotas(queue, 2, [busy, quiet, new]) == {"new": 1, "quiet": 1}
    # Every partition gets one before any gets a second.
    assert partition_quotas(queue, 3, [busy, quiet, new]) == {"new": 1, "quiet": 1, "busy": 1}
    assert partition_quotas(queue, 6, [busy, quiet, new]) == {"new": 3, "quiet": 1, "busy": 2}


def test_partition_worker_concurrency_counts_this_process_only() -> None:
    from dbos.storage import partition_quotas
    from dbos.storage._records import PartitionLoad, QueueSpec

    queue = QueueSpec("q", partitioned=True, partition_worker_concurrency=2)
    loads = [
        PartitionLoad("elsewhere", queued=5, running=7, mine=0),  # others' tasks do not count
        PartitionLoad("mine-full", queued=5, running=2, mine=2),
        PartitionLoad("mine-one", queued=5, running=1, mine=1),
    ]
    assert partition_quotas(queue, 100, loads) == {"elsewhere": 2, "mine-one": 1}


def test_whole_queue_limits_bound_a_partitioned_claim_before_partitions_share_it() -> None:
    from dbos.storage import claimable, partition_quotas
    from dbos.storage._records import PartitionLoad, QueueSpec

    queue = QueueSpec("q", concurrency=4, partitioned=True, partition_concurrency=3)
    loads = [PartitionLoad(key, queued=5, running=1) for key in "abc"]
    # Three run already across the queue: one more may start, in whichever partition is first.
    budget = claimable(queue, capacity=100, running_global=3, started_in_period=0)
    assert budget == 1
    assert partition_quotas(queue, budget, loads) == {"a": 1}
    assert partition_quotas(queue, claimable(queue, 100, 4, 0), loads) == {}
