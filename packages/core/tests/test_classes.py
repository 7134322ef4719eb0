"""Class-based workflows (issue 12, item 1): instance, class and static methods as workflows
and steps, called directly, started, enqueued, forked and recovered after a SIGKILL in a real
subprocess, each on the right instance; the names they are stored and listed under; and the
errors for instances and classes recovery could not find again."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSConfiguredInstance,
    DBOSConflictingRegistrationError,
    DBOSException,
    Queue,
    SetWorkflowID,
    SystemStorage,
)
from dbos.storage import NewWorkflow
from dbos_testing import kill_at_step

APPS = str(Path(__file__).parent / "apps")
sys.path.insert(0, APPS)
class_app: Any = importlib.import_module("class_app")  # the module the child processes run
Pricer = class_app.Pricer
north, south, books = class_app.north, class_app.south, class_app.books


@pytest.fixture(autouse=True)
def _fresh_instance_logs() -> None:
    for instance in (north, south):
        instance.ran.clear()
    books.entries.clear()


def _names(workflow_id: str) -> tuple[str, str | None, str | None]:
    status = DBOS.get_workflow_status(workflow_id)
    assert status is not None
    return status.name, status.class_name, status.config_name


def test_instance_workflows_run_on_their_instance_and_store_its_name(dbos: type[DBOS]) -> None:
    with SetWorkflowID("north-1"):
        assert north.checkout(5) == "north:10"
    with SetWorkflowID("south-1"):
        assert south.checkout(5) == "south:15"
    assert north.ran == ["price 5", "receipt 10"]
    assert south.ran == ["price 5", "receipt 15"]
    assert _names("north-1") == ("Pricer.checkout", "Pricer", "north")
    assert _names("south-1") == ("Pricer.checkout", "Pricer", "south")
    # The instance is found by name, not stored with the inputs.
    status = DBOS.get_workflow_status("north-1")
    assert status is not None and status.input == {"args": (5,), "kwargs": {}}
    steps = DBOS.list_workflow_steps("north-1")
    assert [s["function_name"] for s in steps] == ["Pricer.price", "Pricer.receipt"]


def test_a_class_registered_under_its_own_name(dbos: type[DBOS]) -> None:
    with SetWorkflowID("post-1"):
        assert books.post("rent") == "books:rent"
    assert _names("post-1") == ("Ledger.post", "ledger", "books")


def test_class_and_static_method_workflows(dbos: type[DBOS]) -> None:
    with SetWorkflowID("describe-1"):
        assert Pricer.describe("x") == "Pricer/Pricer/x"
    with SetWorkflowID("total-1"):
        assert Pricer.total(2, 3) == 50
    # A static method is stored like a function: no class to find again.
    assert _names("describe-1") == ("Pricer.describe", "Pricer", None)
    assert _names("total-1") == ("Pricer.total", None, None)
    status = DBOS.get_workflow_status("describe-1")
    assert status is not None and status.input == {"args": ("x",), "kwargs": {}}


def test_started_and_enqueued_methods_run_on_their_instance(dbos: type[DBOS]) -> None:
    queue = Queue("class-queue")
    started = DBOS.start_workflow(south.checkout, 2)
    enqueued = queue.enqueue(north.checkout, 3)
    classy = queue.enqueue(Pricer.describe, "q")
    static = DBOS.start_workflow(Pricer.total, 1, 1)
    assert started.get_result() == "south:6"
    assert enqueued.get_result() == "north:6"
    assert classy.get_result() == "Pricer/Pricer/q"
    assert static.get_result() == 20
    assert _names(enqueued.workflow_id) == ("Pricer.checkout", "Pricer", "north")
    assert _names(classy.workflow_id) == ("Pricer.describe", "Pricer", None)
    listed = {
        (s.workflow_id, s.class_name, s.config_name)
        for s in DBOS.list_workflows(queue_name="class-queue")
    }
    assert listed == {
        (enqueued.workflow_id, "Pricer", "north"),
        (classy.workflow_id, "Pricer", None),
    }


def test_started_and_enqueued_steps_of_an_instance(dbos: type[DBOS]) -> None:
    queue = Queue("class-step-queue")
    started = DBOS.start_workflow(south.price, 4)
    enqueued = queue.enqueue(north.receipt, 7)
    assert started.get_result() == 12
    assert enqueued.get_result() == "north:7"
    assert south.ran == ["price 4"] and north.ran == ["receipt 7"]
    assert _names(started.workflow_id) == ("dbos.step:Pricer.price", "Pricer", "south")
    assert _names(enqueued.workflow_id) == ("dbos.step:Pricer.receipt", "Pricer", "north")


def test_async_instance_methods(dbos: type[DBOS]) -> None:
    queue = Queue("class-async-queue")

    async def main() -> tuple[str, str, str]:
        with SetWorkflowID("async-1"):
            direct = await south.checkout_async(1)
        started = await DBOS.start_workflow_async(north.checkout_async, 2)
        enqueued = await queue.enqueue_async(south.checkout_async, 3)
        return direct, await started.get_result(), await enqueued.get_result()

    assert asyncio.run(main()) == ("south:3", "north:4", "south:9")
    assert south.ran == ["price_async 1", "price_async 3"]
    assert _names("async-1") == ("Pricer.checkout_async", "Pricer", "south")


def test_methods_called_as_child_workflows(dbos: type[DBOS]) -> None:
    @DBOS.workflow()
    def parent() -> list[str]:
        started = DBOS.start_workflow(south.checkout, 1)
        return [north.checkout(1), started.get_result(), Pricer.describe("c")]

    with SetWorkflowID("parent"):
        assert parent() == ["north:2", "south:3", "Pricer/Pricer/c"]
    children = {
        s.workflow_id: (s.class_name, s.config_name)
        for s in DBOS.list_workflows()
        if s.parent_workflow_id == "parent"
    }
    # Step 1 starts south's child; north's direct call is steps 2 (start) and 3 (its result),
    # the awaited handle step 4, and describe's call steps 5 and 6 (as in DBOS Transact).
    assert children == {
        "parent-1": ("Pricer", "south"),
        "parent-2": ("Pricer", "north"),
        "parent-5": ("Pricer", None),
    }
    # Called again under the same ID, the parent finds its children instead of rerunning them.
    north.ran.clear()
    with SetWorkflowID("parent"):
        assert parent() == ["north:2", "south:3", "Pricer/Pricer/c"]
    assert north.ran == []


def test_a_fork_runs_on_the_same_instance(dbos: type[DBOS]) -> None:
    with SetWorkflowID("fork-source"):
        assert south.checkout(10) == "south:30"
    south.ran.clear()
    forked = DBOS.fork_workflow("fork-source", 2)
    assert forked.get_result() == "south:30"
    # Step 1 (price) was copied; only the receipt ran again, on south.
    assert south.ran == ["receipt 30"] and north.ran == []
    assert _names(forked.workflow_id) == ("Pricer.checkout", "Pricer", "south")


@pytest.mark.slow
def test_an_instance_workflow_killed_mid_way_is_recovered_on_its_instance(
    dbos: type[DBOS], dbos_system_database_url: str
) -> None:
    run = kill_at_step(
        "class_app:south.checkout",
        4,
        database_url=dbos_system_database_url,
        step=2,  # price ran and was recorded in the child; die as the receipt starts
        workflow_id="killed-south",
        application_version=DBOS.application_version,
        extra_sys_path=[APPS],
    )
    assert run.returncode == -signal.SIGKILL
    (handle,) = DBOS.recover_pending_workflows()
    # South's rate (3), not north's: the row named the instance, and this process has it.
    assert handle.get_result() == "south:12"
    assert south.ran == ["receipt 12"] and north.ran == []


@pytest.mark.slow
def test_a_class_method_workflow_killed_mid_way_is_recovered_with_its_class(
    dbos: type[DBOS], dbos_system_database_url: str
) -> None:
    run = kill_at_step(
        "class_app:Pricer.describe",
        "k",
        database_url=dbos_system_database_url,
        step=2,
        workflow_id="killed-describe",
        application_version=DBOS.application_version,
        extra_sys_path=[APPS],
    )
    assert run.returncode == -signal.SIGKILL
    (handle,) = DBOS.recover_pending_workflows()
    assert handle.get_result() == "Pricer/Pricer/k"
    assert _names("killed-describe") == ("Pricer.describe", "Pricer", None)


# --- mistakes -------------------------------------------------------------------------------


def test_a_method_on_an_instance_without_a_config_name_is_refused(dbos: type[DBOS]) -> None:
    @DBOS.dbos_class()
    class Plain:
        @DBOS.workflow()
        def work(self) -> None:
            pass

    with pytest.raises(DBOSException, match=r"Plain' with no config_name.*DBOSConfiguredInstance"):
        Plain().work()
    assert DBOS.list_workflows() == []


def test_a_method_on_an_unregistered_instance_is_refused(dbos: type[DBOS]) -> None:
    @DBOS.dbos_class()
    class Forgetful(DBOSConfiguredInstance):
        def __init__(self) -> None:
            self.config_name = "forgot-super"  # never registered

        @DBOS.workflow()
        def work(self) -> None:
            pass

    with pytest.raises(DBOSException, match=r"'forgot-super' that is not registered"):
        DBOS.start_workflow(Forgetful().work)
    assert DBOS.list_workflows() == []


def test_a_method_of_an_undecorated_class_is_refused(dbos: type[DBOS]) -> None:
    class Undecorated(DBOSConfiguredInstance):
        @DBOS.workflow()
        def work(self) -> None:
            pass

    with pytest.raises(DBOSException, match=r"first parameter is 'self'.*@DBOS\.dbos_class"):
        Undecorated("u").work()
    assert DBOS.list_workflows() == []


def test_two_instances_of_a_class_under_one_name_are_refused() -> None:
    @DBOS.dbos_class()
    class Twice(DBOSConfiguredInstance):
        pass

    Twice("same")
    taken = r"Twice' already has an instance named 'same'"
    with pytest.raises(DBOSConflictingRegistrationError, match=taken):
        Twice("same")
    with pytest.raises(DBOSException, match="config_name must be a non-empty string"):
        Twice("")


def test_two_classes_under_one_class_name_are_refused() -> None:
    @DBOS.dbos_class(class_name="shared-class-name")
    class First:
        pass

    class Second:
        pass

    with pytest.raises(DBOSConflictingRegistrationError, match="shared-class-name"):
        DBOS.dbos_class(class_name="shared-class-name")(Second)


def test_an_instance_created_after_launch_warns(
    dbos: type[DBOS], caplog: pytest.LogCaptureFixture
) -> None:
    @DBOS.dbos_class()
    class Late(DBOSConfiguredInstance):
        @DBOS.workflow()
        def work(self) -> str:
            return str(self.config_name)

    caplog.set_level(logging.WARNING, logger="dbos")
    late = Late("late")
    assert "instance 'late' of class" in caplog.text
    assert "Late' was created after DBOS.launch()" in caplog.text
    assert late.work() == "late"  # registered all the same, as in DBOS


def test_a_row_naming_an_unknown_instance_is_left_for_a_process_that_has_it(
    dbos: type[DBOS], dbos_storage: SystemStorage, caplog: pytest.LogCaptureFixture
) -> None:
    engine = DBOS._launched_engine()
    for workflow_id, config_name in (("ghost-instance", "ghost"), ("ghost-class", None)):
        dbos_storage.create_workflow(
            NewWorkflow(
                workflow_id=workflow_id,
                name="Pricer.checkout",
                inputs=engine.codec.encode_inputs((1,), {}, "Pricer.checkout"),
                executor_id=engine.executor_id,
                application_version=engine.application_version,
                created_at_ms=1,
                class_name="Pricer" if config_name else "NoSuchClass",
                config_name=config_name,
            )
        )
    caplog.set_level(logging.ERROR, logger="dbos")
    assert DBOS.recover_pending_workflows() == []
    assert "configured instance 'ghost' of class 'Pricer' is not registered" in caplog.text
    assert "class 'NoSuchClass' is not registered" in caplog.text
    for workflow_id in ("ghost-instance", "ghost-class"):
        status = DBOS.get_workflow_status(workflow_id)
        assert status is not None and status.status == "PENDING"


@pytest.mark.slow
def test_the_classes_example_recovers_a_payment_on_its_gateway(
    dbos_system_database_url: str,
) -> None:
    """examples/classes.py: a process is SIGKILLed while capturing a payment on the ``us``
    gateway; the next process recovers it on ``us`` without authorizing it again."""
    example = Path(__file__).resolve().parents[3] / "examples" / "classes.py"
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url}
    run = subprocess.run(
        [sys.executable, str(example)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.count("us: authorizing order-1") == 1  # before the kill, not again
    assert out.count("us: capturing auth-order-1, fee 300") == 1  # after it, on us
    assert "order-1 paid 10300 cents through us" in out
    assert "order-2 paid 5100 cents through eu" in out
    assert "Gateway report for 2025-01-31" in out
    assert "Gateway.pay class=Gateway instance=us" in out
    assert "Gateway.report class=Gateway instance=None" in out
