"""The liveness conformance suite: leases, owners and takeovers (issue 11), through the
protocol only. Run it from a test module with
``from dbos_testing.conformance.leases import *``."""

from __future__ import annotations

import threading
from dataclasses import replace

from dbos import SystemStorage
from dbos.storage import (
    ClaimRequest,
    Lease,
    Message,
    NewWorkflow,
    QueueSpec,
    StepRecord,
    WorkflowOutcome,
    WorkflowStatusString,
)

PENDING = WorkflowStatusString.PENDING.value
SUCCESS = WorkflowStatusString.SUCCESS.value
ENQUEUED = WorkflowStatusString.ENQUEUED.value
EXCEEDED = WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value

#: Long enough to stay live for a whole test.
LIVE_MS = 600_000

__all__ = [
    "test_a_live_owner_is_never_taken_over",
    "test_an_expired_lease_is_taken_over_by_exactly_one_caller",
    "test_no_owner_and_a_missing_lease_count_as_expired",
    "test_a_released_lease_frees_its_workflows_at_once",
    "test_list_leases_says_where_and_whether_live",
    "test_take_over_keeps_to_its_version_and_limit_and_counts_attempts",
    "test_recover_pending_with_an_instance_spares_live_owners_of_any_executor",
    "test_recovered_and_taken_over_rows_say_whether_they_recorded_operations",
    "test_recovered_and_taken_over_queue_tasks_go_back_to_their_queue",
    "test_claims_and_resumes_record_their_owner",
    "test_checkpoint_acks_report_the_owner",
    "test_finish_refuses_a_former_owner",
    "test_concurrent_finishes_refuse_former_owners_each",
]


def lease(instance_id: str, duration_ms: int = LIVE_MS, executor_id: str = "ex") -> Lease:
    return Lease(instance_id, executor_id, "v1", duration_ms)


def owned(workflow_id: str, owner: str | None, **overrides: object) -> NewWorkflow:
    workflow = NewWorkflow(
        workflow_id=workflow_id,
        name="module.workflow",
        inputs='{"args":[],"kwargs":{}}',
        executor_id="ex",
        application_version="v1",
        created_at_ms=1_000,
        owner_instance=owner,
    )
    return replace(workflow, **overrides)  # type: ignore[arg-type]


def record(workflow_id: str, function_id: int) -> StepRecord:
    return StepRecord(workflow_id, function_id, "step", '"x"', None, 1, 2)


def done(workflow_id: str, owner: str | None) -> WorkflowOutcome:
    return WorkflowOutcome(workflow_id, SUCCESS, '"done"', None, 5, owner_instance=owner)


def test_a_live_owner_is_never_taken_over(dbos_storage: SystemStorage) -> None:
    dbos_storage.renew_lease(lease("alive"))
    dbos_storage.renew_lease(lease("survivor"))
    created = dbos_storage.create_workflow(owned("busy", "alive"))
    assert created.row.owner_instance == "alive"
    assert dbos_storage.take_over_workflows("survivor", "other", "v1", 10) == []
    # The same executor ID does not make a live process's work this one's.
    assert dbos_storage.recover_pending("ex", "v1", "survivor") == []
    row = dbos_storage.get_workflow("busy")
    assert row is not None and (row.status, row.recovery_attempts) == (PENDING, 1)


def test_an_expired_lease_is_taken_over_by_exactly_one_caller(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.renew_lease(lease("dead", duration_ms=0))
    for index in range(20):
        dbos_storage.create_workflow(owned(f"w{index}", "dead", created_at_ms=index))
    takers = [f"taker-{n}" for n in range(4)]
    for taker in takers:
        dbos_storage.renew_lease(lease(taker))
    taken: dict[str, list[str]] = {}
    barrier = threading.Barrier(len(takers))

    def take(taker: str) -> None:
        barrier.wait()
        rows = dbos_storage.take_over_workflows(taker, f"ex-{taker}", "v1", 100)
        taken[taker] = [row.workflow_id for row in rows]
        assert all(row.executor_id == f"ex-{taker}" for row in rows)

    threads = [threading.Thread(target=take, args=(taker,)) for taker in takers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = sorted(wid for rows in taken.values() for wid in rows)
    assert everything == sorted(f"w{index}" for index in range(20))
    # Once taken, the rows belong to a live instance: nobody takes them again.
    dbos_storage.renew_lease(lease("late"))
    assert dbos_storage.take_over_workflows("late", "ex", "v1", 100) == []


def test_no_owner_and_a_missing_lease_count_as_expired(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(owned("legacy", None, created_at_ms=1))
    dbos_storage.create_workflow(owned("ghost", "never-heartbeat", created_at_ms=2))
    dbos_storage.renew_lease(lease("me"))
    rows = dbos_storage.take_over_workflows("me", "mine", "v1", 10)
    assert [(r.workflow_id, r.executor_id, r.recovery_attempts) for r in rows] == [
        ("legacy", "mine", 2),
        ("ghost", "mine", 2),
    ]


def test_a_released_lease_frees_its_workflows_at_once(dbos_storage: SystemStorage) -> None:
    dbos_storage.renew_lease(lease("leaving"))
    dbos_storage.renew_lease(lease("staying"))
    dbos_storage.create_workflow(owned("left", "leaving"))
    assert dbos_storage.take_over_workflows("staying", "ex", "v1", 10) == []
    dbos_storage.release_lease("leaving")
    dbos_storage.release_lease("unknown-instance")  # nothing to release: no error
    assert [r.workflow_id for r in dbos_storage.take_over_workflows("staying", "ex", "v1", 10)] == [
        "left"
    ]
    # Renewing after the release makes a live lease again, but the row has a new owner.
    dbos_storage.renew_lease(lease("leaving"))
    assert dbos_storage.take_over_workflows("leaving", "ex", "v1", 10) == []


def test_list_leases_says_where_and_whether_live(dbos_storage: SystemStorage) -> None:
    dbos_storage.renew_lease(replace(lease("here"), host="h1", pid=11))
    dbos_storage.renew_lease(replace(lease("gone", duration_ms=0), host="h1", pid=12))
    dbos_storage.renew_lease(replace(lease("there"), host="h2", pid=11))
    everywhere = dbos_storage.list_leases()
    assert [(h.instance_id, h.host, h.pid, h.live) for h in everywhere] == [
        ("gone", "h1", 12, False),
        ("here", "h1", 11, True),
        ("there", "h2", 11, True),
    ]
    assert [h.instance_id for h in dbos_storage.list_leases("h1")] == ["gone", "here"]
    assert everywhere[1].expires_at_ms > everywhere[0].expires_at_ms
    # A renewal moves the expiry; the identity stays.
    dbos_storage.renew_lease(replace(lease("gone"), host="h1", pid=12))
    assert [h.live for h in dbos_storage.list_leases("h1")] == [True, True]


def test_take_over_keeps_to_its_version_and_limit_and_counts_attempts(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.renew_lease(lease("me"))
    for index in range(3):
        dbos_storage.create_workflow(owned(f"old-{index}", None, created_at_ms=index))
    dbos_storage.create_workflow(owned("v2", None, application_version="v2"))
    dbos_storage.create_workflow(owned("mine", "me"))
    dbos_storage.create_workflow(owned("queued", None, status=ENQUEUED, queue_name="q"))
    dbos_storage.create_workflow(owned("limited", None, created_at_ms=10, max_recovery_attempts=0))
    first = dbos_storage.take_over_workflows("me", "ex", "v1", 2)
    assert [r.workflow_id for r in first] == ["old-0", "old-1"]
    rest = dbos_storage.take_over_workflows("me", "ex", "v1", 10)
    assert [(r.workflow_id, r.status) for r in rest] == [("old-2", PENDING), ("limited", EXCEEDED)]
    for untouched in ("v2", "mine", "queued"):
        row = dbos_storage.get_workflow(untouched)
        assert row is not None and row.recovery_attempts == 1


def test_recover_pending_with_an_instance_spares_live_owners_of_any_executor(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.renew_lease(lease("live"))
    dbos_storage.renew_lease(lease("dead", duration_ms=0))
    dbos_storage.renew_lease(lease("restarted"))
    dbos_storage.create_workflow(owned("live-one", "live", created_at_ms=1))
    dbos_storage.create_workflow(owned("dead-one", "dead", created_at_ms=2))
    dbos_storage.create_workflow(owned("no-owner", None, created_at_ms=3))
    dbos_storage.create_workflow(owned("own", "restarted", created_at_ms=4))
    dbos_storage.create_workflow(owned("elsewhere", "dead", executor_id="other", created_at_ms=5))
    rows = dbos_storage.recover_pending("ex", "v1", "restarted")
    assert [r.workflow_id for r in rows] == ["dead-one", "no-owner", "own"]
    assert {r.owner_instance for r in rows} == {"restarted"}
    # They are the restarted instance's now: a takeover by anyone else finds only the row
    # of the other executor.
    dbos_storage.renew_lease(lease("someone"))
    taken = dbos_storage.take_over_workflows("someone", "ex", "v1", 10)
    assert [r.workflow_id for r in taken] == ["elsewhere"]


def test_recovered_and_taken_over_rows_say_whether_they_recorded_operations(
    dbos_storage: SystemStorage,
) -> None:
    """Recovery and takeover rows carry `has_operations` as claims do (a bool), so the
    engine skips loading the steps of a workflow that stopped in its first operation."""
    dbos_storage.renew_lease(lease("dead", duration_ms=0))
    dbos_storage.renew_lease(lease("restarted"))
    for index, workflow_id in enumerate(("mine-ran", "mine-new")):
        dbos_storage.create_workflow(owned(workflow_id, "dead", created_at_ms=index))
    for index, workflow_id in enumerate(("theirs-ran", "theirs-new")):
        dbos_storage.create_workflow(
            owned(workflow_id, "dead", executor_id="other", created_at_ms=10 + index)
        )
    dbos_storage.record_step(record("mine-ran", 1))
    dbos_storage.record_step(record("theirs-ran", 1))
    recovered = dbos_storage.recover_pending("ex", "v1", "restarted")
    assert [(r.workflow_id, r.has_operations) for r in recovered] == [
        ("mine-ran", True),
        ("mine-new", False),
    ]
    taken = dbos_storage.take_over_workflows("restarted", "ex", "v1", 10)
    assert [(r.workflow_id, r.has_operations) for r in taken] == [
        ("theirs-ran", True),
        ("theirs-new", False),
    ]
    assert all(type(r.has_operations) is bool for r in [*recovered, *taken])


def test_recovered_and_taken_over_queue_tasks_go_back_to_their_queue(
    dbos_storage: SystemStorage,
) -> None:
    """A queue's task that recovery or a takeover finds goes back to its queue (DBOS
    Transact 3.4 re-enqueues it), so that the claim starting it again counts it against the
    queue's limits: a survivor must not run a dead process's tasks on top of its own. A task
    the recovering process runs itself, a workflow of no queue and one past its recovery
    limit are not put back."""
    dbos_storage.renew_lease(lease("dead", duration_ms=0))
    dbos_storage.renew_lease(lease("me"))
    on_queue = {"queue_name": "q", "deduplication_id": None, "priority": 3}
    dbos_storage.create_workflow(owned("theirs", "dead", executor_id="other", **on_queue))
    dbos_storage.create_workflow(
        owned("deduplicated", "dead", executor_id="other", queue_name="q", deduplication_id="d")
    )
    dbos_storage.create_workflow(owned("plain", "dead", executor_id="other", created_at_ms=2))
    dbos_storage.create_workflow(
        owned("limited", "dead", executor_id="other", queue_name="q", max_recovery_attempts=0)
    )
    dbos_storage.create_workflow(owned("own-dead", "dead", queue_name="q", created_at_ms=3))
    dbos_storage.create_workflow(owned("own-running", "me", queue_name="q", created_at_ms=4))
    recovered = {r.workflow_id: r for r in dbos_storage.recover_pending("ex", "v1", "me")}
    assert sorted(recovered) == ["own-dead", "own-running"]
    taken = {r.workflow_id: r for r in dbos_storage.take_over_workflows("me", "ex", "v1", 10)}
    assert sorted(taken) == ["deduplicated", "limited", "plain", "theirs"]
    for workflow_id in ("theirs", "deduplicated", "own-dead"):
        returned = {**taken, **recovered}[workflow_id]
        stored = dbos_storage.get_workflow(workflow_id)
        assert stored is not None
        for row in (returned, stored):
            assert (row.status, row.queue_name) == (ENQUEUED, "q"), workflow_id
            assert (row.executor_id, row.owner_instance, row.started_at_ms) == (None, None, None)
            assert row.recovery_attempts == 2
    stored_theirs = dbos_storage.get_workflow("theirs")
    stored_deduplicated = dbos_storage.get_workflow("deduplicated")
    assert stored_theirs is not None and stored_theirs.priority == 3
    assert stored_deduplicated is not None and stored_deduplicated.deduplication_id == "d"
    assert (taken["plain"].status, taken["plain"].owner_instance) == (PENDING, "me")
    assert taken["limited"].status == EXCEEDED
    own = recovered["own-running"]
    assert (own.status, own.owner_instance) == (PENDING, "me")
    # Back on the queue, they are claimed as any task is, once each.
    spec = QueueSpec(name="q", worker_concurrency=None, concurrency=None)
    request = ClaimRequest(spec, "ex", "v1", 10, ("module.workflow",), now_ms=9_000)
    claimed = dbos_storage.claim_queued(request)
    assert sorted(r.workflow_id for r in claimed) == ["deduplicated", "own-dead", "theirs"]
    assert all(r.status == PENDING and r.started_at_ms == 9_000 for r in claimed)
    assert dbos_storage.claim_queued(request) == []


def test_claims_and_resumes_record_their_owner(dbos_storage: SystemStorage) -> None:
    dbos_storage.renew_lease(lease("worker", duration_ms=0))
    dbos_storage.renew_lease(lease("survivor"))
    dbos_storage.create_workflow(owned("task", None, status=ENQUEUED, queue_name="q"))
    request = ClaimRequest(QueueSpec("q"), "ex", "v1", 1, ("module.workflow",), 50, "worker")
    assert [r.workflow_id for r in dbos_storage.claim_queued(request)] == ["task"]
    dbos_storage.create_workflow(owned("cancelled", None))
    dbos_storage.cancel_workflow("cancelled", 60)
    resumed = dbos_storage.resume_workflow("cancelled", "ex", "v1", 70, "worker")
    assert resumed is not None and resumed.resumed
    # Both belong to "worker", whose lease has expired: the survivor takes both, runs the
    # resumed one and puts the queue's task back on its queue, where its claim owns it.
    taken = {r.workflow_id: r for r in dbos_storage.take_over_workflows("survivor", "ex", "v1", 10)}
    assert sorted(taken) == ["cancelled", "task"]
    assert taken["cancelled"].owner_instance == "survivor"
    assert (taken["task"].status, taken["task"].owner_instance) == (ENQUEUED, None)
    survivor = replace(request, instance_id="survivor", now_ms=80)
    assert [r.owner_instance for r in dbos_storage.claim_queued(survivor)] == ["survivor"]
    ack = dbos_storage.record_step(record("task", 0))
    assert ack.owner_instance == "survivor"


def test_checkpoint_acks_report_the_owner(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(owned("w", "me"))
    dbos_storage.create_workflow(owned("unowned", None))
    ack = dbos_storage.record_step(record("w", 0))
    assert (ack.workflow_status, ack.owner_instance) == (PENDING, "me")
    assert dbos_storage.record_step(record("unowned", 0)).owner_instance is None
    sent = dbos_storage.send(Message("m1", "unowned", "topic", '"hi"', 3), record("w", 1))
    assert (sent.workflow_status, sent.owner_instance) == (PENDING, "me")


def test_finish_refuses_a_former_owner(dbos_storage: SystemStorage) -> None:
    dbos_storage.renew_lease(lease("old", duration_ms=0))
    dbos_storage.renew_lease(lease("new"))
    dbos_storage.create_workflow(owned("w", "old"))
    assert [r.workflow_id for r in dbos_storage.take_over_workflows("new", "ex", "v1", 1)] == ["w"]
    assert dbos_storage.finish_workflow(done("w", "old")) == PENDING
    row = dbos_storage.get_workflow("w")
    assert row is not None and (row.status, row.output) == (PENDING, None)
    assert dbos_storage.finish_workflow(done("w", "new")) == SUCCESS
    # Without an owner (a finish from outside an execution), only the status decides.
    dbos_storage.create_workflow(owned("any", "someone"))
    assert dbos_storage.finish_workflow(done("any", None)) == SUCCESS


def test_concurrent_finishes_refuse_former_owners_each(dbos_storage: SystemStorage) -> None:
    """Finishes that share a statement (a backend's group commit) are judged one by one."""
    for index in range(12):
        dbos_storage.create_workflow(owned(f"w{index}", "owner"))
    results: dict[str, str] = {}
    barrier = threading.Barrier(12)

    def finish(index: int) -> None:
        barrier.wait()
        owner = "owner" if index % 2 == 0 else "intruder"
        results[f"w{index}"] = dbos_storage.finish_workflow(done(f"w{index}", owner))

    threads = [threading.Thread(target=finish, args=(index,)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {f"w{i}": SUCCESS if i % 2 == 0 else PENDING for i in range(12)}
