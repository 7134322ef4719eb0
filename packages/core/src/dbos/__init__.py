"""Durable workflows for Python.

An independent implementation that keeps DBOS Transact's Python API::

    from dbos import DBOS

    @DBOS.step()
    def step_one() -> None: ...

    @DBOS.workflow()
    def workflow() -> None:
        step_one()
"""

from __future__ import annotations

from ._config import DBOSConfig
from ._context import SetWorkflowID, SetWorkflowTimeout
from ._dbos import DBOS
from ._errors import (
    DBOSConfigError,
    DBOSConflictingRegistrationError,
    DBOSConnectionError,
    DBOSException,
    DBOSInitializationError,
    DBOSMaxRecoveryAttemptsExceededError,
    DBOSMaxStepRetriesExceeded,
    DBOSMigrationError,
    DBOSNonExistentWorkflowError,
    DBOSNotLaunchedError,
    DBOSQueueDeduplicatedError,
    DBOSRemoteError,
    DBOSSerializationError,
    DBOSStepConflictError,
    DBOSStorageError,
    DBOSUnexpectedStepError,
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
    DBOSWorkflowError,
    DBOSWorkflowFunctionNotFoundError,
)
from ._handle import WorkflowHandle, WorkflowHandleAsync, WorkflowStatus
from ._hookspecs import hookimpl
from ._queue import Queue, SetEnqueueOptions
from ._records import WorkflowStatusString
from ._serialization import JsonPickleSerializer, Serializer
from ._storage import SystemStorage

__all__ = [
    "DBOS",
    "DBOSConfig",
    "DBOSConfigError",
    "DBOSConflictingRegistrationError",
    "DBOSConnectionError",
    "DBOSException",
    "DBOSInitializationError",
    "DBOSMaxRecoveryAttemptsExceededError",
    "DBOSMaxStepRetriesExceeded",
    "DBOSMigrationError",
    "DBOSNonExistentWorkflowError",
    "DBOSNotLaunchedError",
    "DBOSQueueDeduplicatedError",
    "DBOSRemoteError",
    "DBOSSerializationError",
    "DBOSStepConflictError",
    "DBOSStorageError",
    "DBOSUnexpectedStepError",
    "DBOSWorkflowCancelledError",
    "DBOSWorkflowConflictIDError",
    "DBOSWorkflowError",
    "DBOSWorkflowFunctionNotFoundError",
    "JsonPickleSerializer",
    "Queue",
    "Serializer",
    "SetEnqueueOptions",
    "SetWorkflowID",
    "SetWorkflowTimeout",
    "SystemStorage",
    "WorkflowHandle",
    "WorkflowHandleAsync",
    "WorkflowStatus",
    "WorkflowStatusString",
    "hookimpl",
]
