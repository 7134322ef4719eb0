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

from typing import TYPE_CHECKING, Any

from . import error
from ._api_classes import DBOSConfiguredInstance
from ._api_schedules import ScheduleInput
from ._api_steps import StepOptions, StepReservation, StepStatus
from ._base.errors import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded,
    DBOSConfigError,
    DBOSConflictingRegistrationError,
    DBOSConnectionError,
    DBOSException,
    DBOSForkStepError,
    DBOSInitializationError,
    DBOSMaxRecoveryAttemptsExceededError,
    DBOSMaxStepRetriesExceeded,
    DBOSMigrationError,
    DBOSNonExistentWorkflowError,
    DBOSNotLaunchedError,
    DBOSPatchNondeterminismError,
    DBOSQueueDeduplicatedError,
    DBOSRemoteError,
    DBOSSerializationError,
    DBOSStepConflictError,
    DBOSStepTimeoutError,
    DBOSStorageError,
    DBOSTransactionRetriesExceeded,
    DBOSUnexpectedStepError,
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
    DBOSWorkflowError,
    DBOSWorkflowFunctionNotFoundError,
    DBOSWorkflowIDInUseError,
    PortableWorkflowError,
)
from ._base.portable import DBOSPortableJSONSerializer, WorkflowSerializationFormat
from ._base.serialization import JsonPickleSerializer, Serializer
from ._config import DBOSConfig
from ._context import (
    DBOSContextSetAuth,
    PropagateOtelContext,
    SetShardKey,
    SetWorkflowAttributes,
    SetWorkflowID,
    SetWorkflowTimeout,
)
from ._dbos import DBOS
from ._debouncer import Debouncer
from ._distribution import core_version, warn_if_shadowed
from ._engine.batch import EnqueueCall
from ._engine.sending import SendMessage
from ._engine.starting import DuplicationPolicy, WorkflowIDReusePolicy
from ._queue import Queue, SetEnqueueOptions
from ._validation import make_pydantic_args_validator, pydantic_args_validator
from .management._handle import WorkflowHandle, WorkflowHandleAsync
from .management._management import EnqueueOptions, StepInfo
from .management._schedules import ClientScheduleInput, WorkflowSchedule
from .management._status import WorkflowStatus
from .management._versions import VersionInfo
from .plugins._hookspecs import hookimpl
from .storage._protocol import SystemStorage
from .storage._records import WorkflowStatusString

if TYPE_CHECKING:
    from dbos_client import DBOSClient as DBOSClient
    from dbos_client import DebouncerClient as DebouncerClient

    from ._datasource.aio import AsyncSQLAlchemyDatasource as AsyncSQLAlchemyDatasource
    from ._datasource.sync import SQLAlchemyDatasource as SQLAlchemyDatasource

#: The installed version of dbos-core (``0+unknown`` when imported from a source tree); read
#: from the installed metadata when first asked for (see `__getattr__`), not at import.
__version__: str

# DBOS Inc.'s `dbos` distribution uses the same import name: say so instead of shadowing.
warn_if_shadowed()

__all__ = [
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


def __getattr__(name: str) -> Any:
    # Lazy, so that importing dbos does not pay for a metadata lookup nobody asked for.
    if name == "__version__":
        return core_version()
    # `from dbos import DBOSClient`, as in DBOS Transact, when dbos-client is installed. Lazy:
    # dbos_client imports dbos, and core must work without it.
    from ._base.install import install_hint, needs_install

    if name in ("DBOSClient", "DebouncerClient"):
        try:
            import dbos_client
        except ImportError as exc:
            raise AttributeError(
                needs_install(f"dbos.{name}", "the dbos-client package", "dbos-client")
            ) from exc
        return getattr(dbos_client, name)
    if name in ("SQLAlchemyDatasource", "AsyncSQLAlchemyDatasource"):
        # Lazy: datasources need SQLAlchemy, an optional extra; core works without it.
        try:
            if name == "SQLAlchemyDatasource":
                from ._datasource import sync as module
            else:
                from ._datasource import aio as module  # type: ignore[no-redef]
        except ImportError as exc:
            raise ImportError(
                needs_install(
                    f"dbos.{name}",
                    "SQLAlchemy 2 (with greenlet for async)",
                    "dbos-core[sqlalchemy]",
                )
                + f" (for async SQLite: {install_hint('dbos-core[aiosqlite]')}; {exc})"
            ) from exc
        return getattr(module, name)
    raise AttributeError(f"module 'dbos' has no attribute {name!r}")
