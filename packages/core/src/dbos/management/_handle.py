"""Workflow handles: what starting or retrieving a workflow returns."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from .._base.errors import DBOSException, DBOSNonExistentWorkflowError
from .._base.ids import check_workflow_id
from .._base.serialization import Codec
from .._engine.effects import Blocking, Procedure, run_async, run_sync
from .._engine.recorded_management import GET_STATUS_NAME, recorded_management_call
from ..storage._records import WorkflowRow
from ..storage._waiting import RESULT_POLL_S
from ._recorded_forms import row_form, row_from_form
from ._status import WorkflowStatus

if TYPE_CHECKING:
    from .._engine.execution import ActiveWorkflow
    from .._engine.operations import Recorder
    from .._engine.outcome import Outcome
    from ..storage._protocol import SystemStorage

R_co = TypeVar("R_co", covariant=True)


@contextlib.contextmanager
def result_polling(polling_interval_sec: object) -> Iterator[None]:
    """Poll for a result every `polling_interval_sec` seconds in this block (None: the
    default back-off). Raises `DBOSException` for anything but a number > 0."""
    if polling_interval_sec is None:
        yield
        return
    if (
        isinstance(polling_interval_sec, bool)
        or not isinstance(polling_interval_sec, (int, float))
        or not 0 < polling_interval_sec < math.inf
    ):
        raise DBOSException(
            f"get_result: polling_interval_sec must be a number > 0, got {polling_interval_sec!r}"
        )
    token = RESULT_POLL_S.set(float(polling_interval_sec))
    try:
        yield
    finally:
        RESULT_POLL_S.reset(token)


class HandleSource(Protocol):
    """What a handle needs: the launched engine in the app, or a `DBOSClient` outside it."""

    @property
    def storage(self) -> SystemStorage: ...

    @property
    def codec(self) -> Codec: ...

    @property
    def recorder(self) -> Recorder | None:
        """What records `get_status` in a workflow body (the app's; None outside it)."""
        ...

    def wait(
        self,
        workflow_id: str,
        active: ActiveWorkflow | None,
        timeout_s: float | None = None,
        *,
        stored_form: bool = False,
    ) -> Procedure[Outcome]: ...


def _status(engine: HandleSource, workflow_id: str, row: WorkflowRow | None) -> WorkflowStatus:
    if row is None:
        raise DBOSNonExistentWorkflowError(workflow_id)
    return WorkflowStatus.from_row(row, engine.codec)


class _Handle:
    """What both handle kinds share: the engine, the ID, and this process's execution."""

    def __init__(
        self,
        engine: HandleSource,
        workflow_id: str,
        active: ActiveWorkflow | None = None,
        *,
        stored_form: bool = False,
    ) -> None:
        self._engine = engine
        self._workflow_id = check_workflow_id(workflow_id)
        self._active = active
        #: The result as storage holds it even from `active` (an enqueue's handle; see
        #: `Engine.wait`).
        self._stored_form = stored_form

    @property
    def workflow_id(self) -> str:
        return self._workflow_id

    def get_workflow_id(self) -> str:
        return self._workflow_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._workflow_id!r})"


class WorkflowHandle(_Handle, Generic[R_co]):
    """A reference to a workflow execution, for waiting on its result from sync code."""

    def get_result(
        self, *, timeout_seconds: float | None = None, polling_interval_sec: float | None = None
    ) -> R_co:
        """Wait for the workflow to finish; return its result or raise its error. From a
        workflow's body, the wait is one of its recorded operations (``DBOS.getResult``, as in
        DBOS Transact 3.4): a replay returns the recorded result without waiting.

        `polling_interval_sec` (DBOS Transact 3.4): seconds between two reads of the database
        while waiting for a workflow that runs elsewhere (None, ours: start at 5 ms and back
        off to 100 ms). A finish in this process (or, on Postgres, one the database notifies)
        ends the wait at once whatever the interval.

        Raises:
            TimeoutError: `timeout_seconds` passed first (the workflow keeps running).
            DBOSException: a `polling_interval_sec` that is not a number > 0.
        """
        with result_polling(polling_interval_sec):
            outcome = run_sync(
                self._engine.wait(
                    self._workflow_id, self._active, timeout_seconds, stored_form=self._stored_form
                )
            )
        result: R_co = outcome.unwrap()
        return result

    def get_status(self) -> WorkflowStatus:
        """The workflow's stored status, read now (each call reads the database). From a
        workflow's body (a handle of the app, not of a `DBOSClient`) the read is one of its
        recorded operations (``DBOS.getStatus``, as in DBOS Transact 3.4): a replay returns
        the recorded status.

        Raises:
            DBOSNonExistentWorkflowError: there is no workflow with this ID.
        """
        return run_sync(_get_status(self._engine, self._workflow_id))


class WorkflowHandleAsync(_Handle, Generic[R_co]):
    """A reference to a workflow execution, for awaiting its result from async code."""

    async def get_result(
        self, *, timeout_seconds: float | None = None, polling_interval_sec: float | None = None
    ) -> R_co:
        """Await the workflow's result (see `WorkflowHandle.get_result`)."""
        with result_polling(polling_interval_sec):
            outcome = await run_async(
                self._engine.wait(
                    self._workflow_id, self._active, timeout_seconds, stored_form=self._stored_form
                )
            )
        result: R_co = outcome.unwrap()
        return result

    async def get_status(self) -> WorkflowStatus:
        """`WorkflowHandle.get_status` for async code: the read does not block the event loop."""
        return await run_async(_get_status(self._engine, self._workflow_id))


def _get_row(engine: HandleSource, workflow_id: str) -> Procedure[WorkflowRow | None]:
    row: WorkflowRow | None = yield Blocking(engine.storage.get_workflow, (workflow_id,))
    return row


def _get_status(engine: HandleSource, workflow_id: str) -> Procedure[WorkflowStatus]:
    row = yield from recorded_management_call(
        engine.recorder,
        GET_STATUS_NAME,
        lambda: _get_row(engine, workflow_id),
        stored_form=row_form,
        from_stored=row_from_form,
    )
    return _status(engine, workflow_id, row)
