from __future__ import annotations

import dbos


def test_public_names_are_pinned() -> None:
    # Adding or removing a public name is an API change: update this list on purpose.
    assert dbos.__all__ == [
        "AsyncSQLAlchemyDatasource",
        "ClientScheduleInput",
        "DBOS",
        "DBOSAwaitedWorkflowCancelledError",
        "DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded",
        "DBOSConfig",
        "DBOSConfigError",
        "DBOSConfiguredInstance",
        "DBOSConflictingRegistrationError",
        "DBOSContextSetAuth",
        "DBOSConnectionError",
        "DBOSException",
        "DBOSForkStepError",
        "DBOSInitializationError",
        "DBOSMaxRecoveryAttemptsExceededError",
        "DBOSMaxStepRetriesExceeded",
        "DBOSMigrationError",
        "DBOSNonExistentWorkflowError",
        "DBOSNotLaunchedError",
        "DBOSPatchNondeterminismError",
        "DBOSPortableJSONSerializer",
        "DBOSQueueDeduplicatedError",
        "DBOSRemoteError",
        "DBOSSerializationError",
        "DBOSStepConflictError",
        "DBOSStepTimeoutError",
        "DBOSStorageError",
        "DBOSTransactionRetriesExceeded",
        "DBOSUnexpectedStepError",
        "DBOSWorkflowCancelledError",
        "DBOSWorkflowConflictIDError",
        "DBOSWorkflowError",
        "DBOSWorkflowFunctionNotFoundError",
        "EnqueueCall",
        "EnqueueOptions",
        "DBOSWorkflowIDInUseError",
        "Debouncer",
        "DuplicationPolicy",
        "JsonPickleSerializer",
        "PortableWorkflowError",
        "Queue",
        "SQLAlchemyDatasource",
        "ScheduleInput",
        "SendMessage",
        "Serializer",
        "SetEnqueueOptions",
        "PropagateOtelContext",
        "SetShardKey",
        "SetWorkflowAttributes",
        "SetWorkflowID",
        "SetWorkflowTimeout",
        "StepInfo",
        "StepOptions",
        "StepReservation",
        "StepStatus",
        "SystemStorage",
        "VersionInfo",
        "WorkflowHandle",
        "WorkflowHandleAsync",
        "WorkflowIDReusePolicy",
        "WorkflowSchedule",
        "WorkflowSerializationFormat",
        "WorkflowStatus",
        "WorkflowStatusString",
        "error",
        "hookimpl",
        "make_pydantic_args_validator",
        "pydantic_args_validator",
    ]
    for name in dbos.__all__:
        assert hasattr(dbos, name), name


def test_error_tree_has_one_root_and_two_branches() -> None:
    assert issubclass(dbos.DBOSWorkflowError, dbos.DBOSException)
    assert issubclass(dbos.DBOSStorageError, dbos.DBOSException)
    assert issubclass(dbos.DBOSNonExistentWorkflowError, dbos.DBOSWorkflowError)
    assert issubclass(dbos.DBOSConnectionError, dbos.DBOSStorageError)
    assert dbos.DBOSInitializationError is dbos.DBOSConfigError
