"""A stored workflow's arguments, as its function is to get them back."""

from __future__ import annotations

import logging
from typing import Any

from .._base.errors import DBOSSerializationError, DBOSWorkflowFunctionNotFoundError
from .._base.portable import PORTABLE_JSON, codec_for, coerce_to_hints
from .._base.serialization import Codec
from ..storage._protocol import SystemStorage
from ..storage._records import WorkflowOutcome, WorkflowRow, WorkflowStatusString
from . import registry as _registry
from .classes import CLASS, INSTANCE, bound_args
from .engine_log import log_exceeded
from .outcome import now_ms
from .registry import WorkflowRegistration

logger = logging.getLogger("dbos")


class ArgumentsRefused(Exception):
    """A workflow's `validate_args` refused its stored arguments (the cause says why)."""


def stored_arguments(
    registration: WorkflowRegistration, codec: Codec, row: WorkflowRow
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """`row`'s arguments (without a method's instance or class), decoded with `codec` (the
    row's format) and then either coerced to the function's type hints where portable JSON
    lost their type (DBOS semantics), or given to the workflow's `validate_args`, which then
    does all conversion itself (as in DBOS Transact 3.4).

    Raises:
        DBOSSerializationError: the inputs cannot be read.
        ArgumentsRefused: `validate_args` raised; its exception is the cause.
    """
    args, kwargs = codec.decode_inputs(row.inputs)
    validate = registration.validate_args
    if validate is None:
        if row.serialization == PORTABLE_JSON:
            method = registration.binding.kind in (INSTANCE, CLASS)
            return coerce_to_hints(registration.function, args, kwargs, skip_first=method)
        return args, kwargs
    try:
        return validate(args, kwargs)
    except Exception as exc:
        raise ArgumentsRefused(str(exc)) from exc


def pending_call(
    row: WorkflowRow, codec: Codec, storage: SystemStorage
) -> tuple[WorkflowRegistration, tuple[Any, ...], dict[str, Any]] | None:
    """The function and arguments a PENDING row runs with here, or None if it cannot run
    here: its function is not registered in this process, or its instance is not (both
    logged, the row left for a process that has them), or its arguments cannot be read or
    are refused by `validate_args` (then it is finished as ERROR with that error). `codec`
    is the configured one (the row's own format is picked from its serialization marker)."""
    registration = _registry.workflow(row.name)
    if registration is None:
        logger.error("%s", DBOSWorkflowFunctionNotFoundError(row.workflow_id, row.name))
        return None
    if past_registered_limit(row, registration):
        _mark_exceeded(row, registration, storage)
        return None
    try:
        args, kwargs = stored_arguments(registration, codec_for(codec, row.serialization), row)
        args = bound_args(
            row.workflow_id, row.name, registration.binding, row.class_name, row.config_name, args
        )
    except DBOSWorkflowFunctionNotFoundError as exc:
        logger.error("%s", exc)  # left as it is, for a process that has the instance
        return None
    except (DBOSSerializationError, ArgumentsRefused) as exc:
        error = exc.__cause__ if isinstance(exc, ArgumentsRefused) else exc
        assert error is not None
        logger.error("cannot run workflow %s: %s", row.workflow_id, error)
        try:
            text = codec_for(codec, row.serialization).encode_error(error)
        except DBOSSerializationError:  # a marker this library cannot write
            text = codec.encode_error(error)
        error_status = WorkflowStatusString.ERROR.value
        storage.finish_workflow(
            WorkflowOutcome(row.workflow_id, error_status, None, text, now_ms())
        )
        return None
    return registration, args, kwargs


def past_registered_limit(row: WorkflowRow, registration: WorkflowRegistration) -> bool:
    """Whether `row` has been recovered more often than its function's decorator now allows
    (``max_recovery_attempts``). Storage marks a row past the limit stored with it; this
    catches a row stored with another one: a task a `DBOSClient` enqueued (which cannot know
    the decorator's, and stores the default) or one started before a deploy changed it. DBOS
    Transact 3.4 checks the registered function's limit when it runs a workflow, too."""
    limit = registration.max_recovery_attempts
    return limit is not None and row.recovery_attempts > limit + 1


def _mark_exceeded(
    row: WorkflowRow, registration: WorkflowRegistration, storage: SystemStorage
) -> None:
    exceeded = WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value
    stored = storage.finish_workflow(
        WorkflowOutcome(
            row.workflow_id, exceeded, None, None, now_ms(), owner_instance=row.owner_instance
        )
    )
    if stored == exceeded:
        log_exceeded(row.workflow_id, row.name, registration.max_recovery_attempts)
