"""`DebouncerClient` (DBOS Transact 3.4's name and signatures): debouncing from outside the
app. The waiting is done by the debouncer workflow an app process runs, so the target starts
even if the client goes away (see `dbos.management.debounce`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dbos import DBOSException, Queue, WorkflowHandle, WorkflowHandleAsync
from dbos.management import EnqueueOptions, debounce, run_async, run_sync

if TYPE_CHECKING:
    from ._client import DBOSClient

R_co = TypeVar("R_co", covariant=True)


class DebouncerClient(Generic[R_co]):
    """Start a workflow once for many calls, from outside the app: `debounce` calls with one
    key start one workflow (named and placed by `workflow_options`, as `DBOSClient.enqueue`
    takes them) with the last call's inputs, once `debounce_period_sec` has passed since the
    last call (or `debounce_timeout_sec` since the first). See `dbos.Debouncer`.

    Args:
        client: The `DBOSClient` to act through.
        workflow_options: The workflow's `EnqueueOptions`; `workflow_id` names the workflow
            a new window starts. A deduplication ID, delay, priority, duplication policy or
            ``workflow_id_reuse_policy="reject"`` is refused (a debounce owns them).
        debounce_timeout_sec: At most this many seconds after the first call of a window,
            the workflow starts even if calls keep coming (None: no limit).
        queue: The queue (or its name) to run on instead of ``workflow_options["queue_name"]``.
        application_name: Refused unless None (one application per system database here).

    Raises:
        DBOSException: refused options (when `debounce` is called) or an application name.
    """

    def __init__(
        self,
        client: DBOSClient,
        workflow_options: EnqueueOptions,
        *,
        debounce_timeout_sec: float | None = None,
        queue: Queue | str | None = None,
        application_name: str | None = None,
    ) -> None:
        if application_name is not None:
            raise DBOSException(
                "application_name is not supported here: one system database serves one "
                "application (DBOS Transact 3.4 lets several share one)"
            )
        self.client = client
        self.workflow_options = workflow_options
        self.debounce_timeout_sec = debounce_timeout_sec
        self.queue_name = queue.name if isinstance(queue, Queue) else queue

    def _target(self) -> EnqueueOptions:
        target: EnqueueOptions = dict(self.workflow_options)  # type: ignore[assignment]
        if self.queue_name is not None:
            target["queue_name"] = self.queue_name
        return target

    def debounce(
        self, debounce_key: str, debounce_period_sec: float, *args: Any, **kwargs: Any
    ) -> WorkflowHandle[R_co]:
        """Start the workflow with these inputs once `debounce_period_sec` seconds pass with no
        other call for `debounce_key` (the last call's inputs and period win). Returns the
        handle of the workflow that will start (the same for every call of one window).

        Raises:
            DBOSException: refused options, a bad key, period or timeout.
        """
        client = self.client
        workflow_id = run_sync(
            debounce(
                client._management,
                client,
                self._target(),
                debounce_key,
                debounce_period_sec,
                self.debounce_timeout_sec,
                args,
                kwargs,
            )
        )
        return WorkflowHandle(client._waiter, workflow_id)

    async def debounce_async(
        self, debounce_key: str, debounce_period_sec: float, *args: Any, **kwargs: Any
    ) -> WorkflowHandleAsync[R_co]:
        """`debounce` for async code: the waiting does not block the event loop, and the handle
        is a `WorkflowHandleAsync`."""
        client = self.client
        workflow_id = await run_async(
            debounce(
                client._management,
                client,
                self._target(),
                debounce_key,
                debounce_period_sec,
                self.debounce_timeout_sec,
                args,
                kwargs,
            )
        )
        return WorkflowHandleAsync(client._waiter, workflow_id)
