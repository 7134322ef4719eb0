"""DBOS Transact 3.4's error classes: `dbos.error`, their codes, and what waiting on a cancelled
workflow raises (`DBOSAwaitedWorkflowCancelledError`), from handles and `DBOS.get_result`."""

from __future__ import annotations

import asyncio
import pickle
import threading
from collections.abc import Callable

import pytest

import dbos
from dbos import (
    DBOS,
    DBOSAwaitedWorkflowCancelledError,
    DBOSWorkflowCancelledError,
    SetWorkflowID,
)
from dbos.error import (
    DBOSBaseException,
    DBOSConflictingWorkflowError,
    DBOSErrorCode,
    DBOSException,
    DBOSNotAuthorizedError,
    DBOSQueryTimeoutError,
    DBOSRecoveryError,
    DBOSStepNondeterminismError,
    DBOSStepTimeoutError,
    DBOSStreamNondeterminismError,
    DBOSStreamTimeoutError,
    DBOSWorkflowConflictIDError,
    MaxRecoveryAttemptsExceededError,
)

Launch = Callable[..., None]

#: The exception classes DBOS Transact 3.4's ``dbos.error`` holds (all but
#: DBOSWorkflowIDInUseError, which comes with workflow ID reuse policies).
DBOS_34_CLASSES = [
    "DBOSAwaitedWorkflowCancelledError",
    "DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded",
    "DBOSBaseException",
    "DBOSConflictingWorkflowError",
    "DBOSException",
    "DBOSInitializationError",
    "DBOSMaxStepRetriesExceeded",
    "DBOSNonExistentWorkflowError",
    "DBOSNotAuthorizedError",
    "DBOSPatchNondeterminismError",
    "DBOSQueryTimeoutError",
    "DBOSQueueDeduplicatedError",
    "DBOSRecoveryError",
    "DBOSStepNondeterminismError",
    "DBOSStepTimeoutError",
    "DBOSStreamNondeterminismError",
    "DBOSStreamTimeoutError",
    "DBOSUnexpectedStepError",
    "DBOSWorkflowCancelledError",
    "DBOSWorkflowConflictIDError",
    "DBOSWorkflowFunctionNotFoundError",
    "MaxRecoveryAttemptsExceededError",
]


def test_dbos_error_is_a_module_of_every_class() -> None:
    import dbos.error as module

    assert dbos.error is module
    for name in [*DBOS_34_CLASSES, "DBOSErrorCode"]:
        assert name in module.__all__, name
        assert hasattr(module, name), name
    # Every error class `dbos` exports is there too, as the same object.
    for name in dbos.__all__:
        value = getattr(dbos, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert getattr(module, name) is value, name
    from dbos.error import DBOSInitializationError

    assert DBOSInitializationError is dbos.DBOSConfigError
    assert MaxRecoveryAttemptsExceededError is dbos.DBOSMaxRecoveryAttemptsExceededError


def test_codes_are_those_of_dbos_transact() -> None:
    code = DBOSErrorCode
    expected: dict[type[DBOSException], DBOSErrorCode] = {
        dbos.DBOSConfigError: code.InitializationError,
        dbos.DBOSWorkflowFunctionNotFoundError: code.WorkflowFunctionNotFound,
        dbos.DBOSNonExistentWorkflowError: code.NonExistentWorkflowError,
        MaxRecoveryAttemptsExceededError: code.MaxRecoveryAttemptsExceeded,
        dbos.DBOSMaxStepRetriesExceeded: code.MaxStepRetriesExceeded,
        DBOSConflictingWorkflowError: code.ConflictingWorkflowError,
        DBOSWorkflowConflictIDError: code.ConflictingWorkflowError,
        DBOSWorkflowCancelledError: code.WorkflowCancelled,
        dbos.DBOSUnexpectedStepError: code.UnexpectedStep,
        dbos.DBOSQueueDeduplicatedError: code.QueueDeduplicated,
        DBOSAwaitedWorkflowCancelledError: code.AwaitedWorkflowCancelled,
        dbos.DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded: (
            code.AwaitedWorkflowMaxRecoveryAttemptsExceeded
        ),
        dbos.DBOSPatchNondeterminismError: code.PatchNondeterminism,
        DBOSRecoveryError: code.RecoveryError,
        DBOSNotAuthorizedError: code.NotAuthorized,
        DBOSStepTimeoutError: code.StepTimeout,
        DBOSStepNondeterminismError: code.StepNondeterminism,
        DBOSStreamTimeoutError: code.StreamTimeout,
        DBOSStreamNondeterminismError: code.StreamNondeterminism,
        DBOSQueryTimeoutError: code.QueryTimeout,
    }
    for cls, member in expected.items():
        assert cls.dbos_error_code == member.value, cls
    assert (code.ConflictingIDError.value, code.StepNondeterminism.value) == (1, 28)
    assert dbos.DBOSRemoteError.dbos_error_code is None  # ours: no DBOS Transact code
    assert DBOSException("plain").dbos_error_code is None


@pytest.mark.parametrize(
    "error",
    [
        DBOSException("mine", 7),
        DBOSConflictingWorkflowError("wf", "another function"),
        DBOSWorkflowConflictIDError("wf", "a", "b"),
        DBOSAwaitedWorkflowCancelledError("wf"),
        dbos.DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded("wf"),
        DBOSRecoveryError("wf", "why"),
        DBOSNotAuthorizedError("no"),
        DBOSStepTimeoutError("step", 1.5),
        DBOSStepNondeterminismError("wf", 3),
        DBOSStreamTimeoutError("wf", "key", 2.0),
        DBOSStreamNondeterminismError("wf", "key"),
        DBOSQueryTimeoutError(0.5),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_survive_pickling_with_their_attributes(error: DBOSException) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.message == error.message
    assert copy.dbos_error_code == error.dbos_error_code
    assert vars(copy) == vars(error)


def test_base_exception_is_not_an_exception() -> None:
    error = DBOSBaseException("stop", 10)
    assert not isinstance(error, Exception)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.dbos_error_code) == ("stop", 10)


def test_awaited_errors_are_caught_by_the_classes_waiters_caught_before() -> None:
    assert issubclass(DBOSAwaitedWorkflowCancelledError, DBOSWorkflowCancelledError)
    assert issubclass(
        dbos.DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded,
        dbos.DBOSMaxRecoveryAttemptsExceededError,
    )
    assert issubclass(DBOSWorkflowConflictIDError, DBOSConflictingWorkflowError)


def _cancelled_workflow(launch: Launch) -> str:
    entered, release = threading.Event(), threading.Event()

    @DBOS.step()
    def wait_here() -> None:
        entered.set()
        release.wait(10)

    @DBOS.workflow()
    def slow() -> str:
        wait_here()
        wait_here()
        return "done"

    launch()
    with SetWorkflowID("to-cancel"):
        handle = DBOS.start_workflow(slow)
    assert entered.wait(10)
    DBOS.cancel_workflow("to-cancel")
    release.set()
    with pytest.raises(DBOSAwaitedWorkflowCancelledError, match="to-cancel"):
        handle.get_result(timeout_seconds=10)
    return handle.workflow_id


def test_get_result_of_a_cancelled_workflow(launch: Launch) -> None:
    workflow_id = _cancelled_workflow(launch)
    with pytest.raises(DBOSAwaitedWorkflowCancelledError) as caught:
        DBOS.get_result(workflow_id)
    assert caught.value.workflow_id == workflow_id
    # Code written against this library before still catches it.
    with pytest.raises(DBOSWorkflowCancelledError):
        DBOS.retrieve_workflow(workflow_id).get_result()

    async def awaited() -> None:
        with pytest.raises(DBOSAwaitedWorkflowCancelledError):
            await DBOS.get_result_async(workflow_id)
        handle = await DBOS.retrieve_workflow_async(workflow_id)
        with pytest.raises(DBOSAwaitedWorkflowCancelledError):
            await handle.get_result()

    asyncio.run(awaited())


def test_get_result_returns_the_result_and_raises_the_error(launch: Launch) -> None:
    release = threading.Event()

    @DBOS.workflow()
    def later(x: int) -> int:
        release.wait(10)
        if x < 0:
            raise ValueError("negative")
        return x * 2

    launch()
    with SetWorkflowID("later"):
        DBOS.start_workflow(later, 21)
    with SetWorkflowID("fails"):
        DBOS.start_workflow(later, -1)
    # Pending: get_result waits for it.
    with pytest.raises(TimeoutError):
        DBOS.get_result("later", timeout_seconds=0.2)
    release.set()
    assert DBOS.get_result("later") == 42
    assert asyncio.run(DBOS.get_result_async("later")) == 42
    with pytest.raises(ValueError, match="negative"):
        DBOS.get_result("fails")


def test_get_result_of_an_unknown_id_waits_for_it_to_appear(launch: Launch) -> None:
    @DBOS.workflow()
    def quick() -> str:
        return "here"

    launch()
    # As in DBOS Transact: the workflow may be about to start, so the ID is waited for.
    with pytest.raises(TimeoutError):
        DBOS.get_result("not-yet", timeout_seconds=0.2)
    timer = threading.Timer(0.3, lambda: _start_with_id(quick, "not-yet"))
    timer.start()
    try:
        assert DBOS.get_result("not-yet", timeout_seconds=20) == "here"
    finally:
        timer.join()
    with pytest.raises(DBOSException, match=r"blank|empty"):
        DBOS.get_result(" ")


def _start_with_id(workflow: Callable[[], str], workflow_id: str) -> None:
    with SetWorkflowID(workflow_id):
        DBOS.start_workflow(workflow)


def test_a_workflow_waiting_on_a_cancelled_child_fails_instead_of_being_cancelled(
    launch: Launch,
) -> None:
    entered, release = threading.Event(), threading.Event()

    @DBOS.step()
    def wait_here() -> None:
        entered.set()
        release.wait(10)

    @DBOS.workflow()
    def child() -> str:
        wait_here()
        wait_here()
        return "child"

    @DBOS.workflow()
    def parent() -> str:
        with SetWorkflowID("the-child"):
            handle = DBOS.start_workflow(child)
        return handle.get_result()

    @DBOS.workflow()
    def forgiving_parent() -> str:
        try:
            return str(DBOS.get_result("the-child"))
        except DBOSAwaitedWorkflowCancelledError as exc:
            return f"child {exc.workflow_id} was cancelled"

    launch()
    with SetWorkflowID("parent"):
        handle = DBOS.start_workflow(parent)
    assert entered.wait(10)
    DBOS.cancel_workflow("the-child")
    release.set()
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result(timeout_seconds=10)
    # As in DBOS Transact: the parent was not cancelled; it failed with the child's error.
    status = handle.get_status()
    assert status.status == "ERROR"
    assert isinstance(status.error, DBOSAwaitedWorkflowCancelledError)
    assert forgiving_parent() == "child the-child was cancelled"
