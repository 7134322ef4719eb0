"""pluggy hook specifications (project name ``dbos``).

Backends answer `dbos_storage_for_url` (and `dbos_test_backends` for test suites); the
lifecycle hooks are what fault injection, tracing and metrics attach to. Every hook is called
with keyword arguments through `_plugins.Hooks`. A lifecycle hook that raises propagates into
the workflow at that point: that is how the testing package simulates a crash between two
operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._base.hookmarks import PROJECT_NAME, hookimpl, hookspec

if TYPE_CHECKING:
    from ..storage._protocol import StorageBackend
    from ..storage._records import StepRecord, StorageOptions
    from ._testdb import BackendForTests

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]


@hookspec(firstresult=True)
def dbos_storage_for_url(url: str, options: StorageOptions) -> StorageBackend | None:
    """Return a storage backend for `url`, or None if this plugin does not handle its scheme.
    Core wraps it (`dbos.storage.with_wakeups`) before use."""


@hookspec
def dbos_test_backends() -> Sequence[BackendForTests] | None:
    """Return the test databases this plugin contributes (usually one `BackendForTests`,
    named as ``--dbos-backend`` selects it), or None for none. Only test runners call it
    (``dbos-testing``); every implementation's records are used, and two with one name are
    an error."""


@hookspec
def dbos_workflow_started(
    workflow_id: str,
    name: str,
    recovered: bool,
    authenticated_user: str | None,
    authenticated_roles: tuple[str, ...] | None,
    assumed_role: str | None,
) -> None:
    """A workflow body is about to run in this process (first run or recovery), as
    `authenticated_user` with `authenticated_roles` and `assumed_role` (None: none)."""


@hookspec
def dbos_workflow_finished(workflow_id: str, name: str, status: str) -> None:
    """A workflow body returned or raised and its outcome is recorded."""


@hookspec
def dbos_workflow_prepared(
    workflow_id: str, name: str, queue_name: str | None, attributes: str | None
) -> None:
    """A workflow is about to be created by a start or enqueue in this thread, or a stored
    one (claimed from a queue, recovered, resumed) is about to run here. `attributes` is its
    JSON text (None: none). Tracing reads the caller's trace context here."""


@hookspec
def dbos_workflow_ended(
    workflow_id: str, name: str, status: str | None, error: BaseException | None
) -> None:
    """The execution a `dbos_workflow_started` began has ended, however it ended: `status`
    is the outcome recorded (None when the execution stopped without one: a crash, a
    shutdown); `error` what the body raised, or what stopped the execution."""


@hookspec
def dbos_operation_started(workflow_id: str, function_id: int, name: str, kind: str) -> None:
    """A recorded operation (not a replayed one) is about to run: `kind` is ``"step"`` for a
    step, ``"transaction"`` for a datasource transaction, ``"operation"`` for sleep,
    messaging, events, streams and the like."""


@hookspec
def dbos_operation_ended(
    workflow_id: str, function_id: int, name: str, kind: str, error: BaseException | None
) -> None:
    """The operation a `dbos_operation_started` announced is checkpointed, or stopped with
    `error` (a step's own error is its outcome, passed here too)."""


@hookspec
def dbos_step_retry(
    workflow_id: str,
    function_id: int,
    name: str,
    attempt: int,
    error: BaseException,
    delay_s: float,
) -> None:
    """Attempt `attempt` (from 1) of a step failed with `error`, or of a datasource
    transaction with a serialization conflict (the operation's `kind` was ``"transaction"``);
    it is retried in `delay_s` seconds."""


@hookspec
def dbos_before_step_checkpoint(step: StepRecord) -> None:
    """A step has run; its checkpoint is about to be written."""


@hookspec
def dbos_after_step_checkpoint(step: StepRecord) -> None:
    """A step's checkpoint is durable; the workflow is about to move past it."""


@hookspec
def dbos_before_step(workflow_id: str, function_id: int, name: str) -> None:
    """A step body (not a replayed one) is about to run."""


@hookspec
def dbos_storage_call(operation: str, attempt: int) -> None:
    """A storage operation (a `SystemStorage` method name) is about to reach the database;
    `attempt` counts from 1 and grows when the call is retried after a connection error.

    Raising `DBOSConnectionError` here fails this attempt as if the database were
    unreachable, and the call is retried with backoff: the testing package's fault injection.
    """


@hookspec
def dbos_storage_call_done(operation: str, attempt: int) -> None:
    """A storage operation returned. Raising `DBOSConnectionError` here makes the call fail
    after it took effect, as when a connection dies between the commit and its reply: the
    call is retried, which must then be safe (see `dbos._resilient`)."""
