"""One implementation of engine logic for sync and async user code.

Engine procedures (run a step, run a workflow, start a workflow) are written once, as
generators that *yield* the blocking things they need done: call the user's function, call
storage, sleep. Two small drivers run such a generator: `run_sync` does each effect in the
calling thread; `run_async` awaits it (storage calls go to a worker thread so the event loop
never blocks on the database). The logic between the effects is shared and pure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .._base.errors import DBOSException, DBOSStepTimeoutError

if TYPE_CHECKING:
    from ..storage._waiting import Waiter

T = TypeVar("T")


class Effect:
    """Something an engine procedure needs done that may block."""

    def run_sync(self) -> Any:
        raise NotImplementedError

    async def run_async(self) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class CallBody(Effect):
    """Call the user's function: plainly for sync code, awaited for coroutine functions."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def run_sync(self) -> Any:
        return self.fn(*self.args, **self.kwargs)

    async def run_async(self) -> Any:
        result = self.fn(*self.args, **self.kwargs)
        if asyncio.iscoroutine(result):
            return await result
        return result


@dataclass(frozen=True, slots=True)
class TimedCall(Effect):
    """Call an async step's body with a deadline of `timeout_s` seconds (one attempt's).

    Past it, the body's task is cancelled and given the chance to finish its cleanup, then
    `DBOSStepTimeoutError` is raised (chained to whatever Exception the cleanup raised; a
    BaseException it raises, such as KeyboardInterrupt, goes up as it is). A body that finished
    first keeps its outcome. Sync bodies have no timeout: a thread cannot be stopped, and one
    left running would act after its step was recorded as timed out."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    timeout_s: float
    step_name: str

    def run_sync(self) -> Any:
        raise DBOSException(
            f"step {self.step_name!r} has timeout_seconds, which only async steps support"
        )

    async def run_async(self) -> Any:
        task: asyncio.Future[Any] = asyncio.ensure_future(self.fn(*self.args, **self.kwargs))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout_s)
            if task in done:
                return task.result()
            task.cancel()
            await asyncio.wait({task})
            cause = None if task.cancelled() else task.exception()
            if cause is not None and not isinstance(cause, Exception):
                raise cause
            raise DBOSStepTimeoutError(self.step_name, self.timeout_s) from cause
        finally:
            if not task.done():
                # This call itself was cancelled: do not leave the body running behind it.
                task.cancel()
                await asyncio.wait({task})
            if task.done() and not task.cancelled():
                task.exception()  # retrieved, so asyncio does not log it as never retrieved


@dataclass(frozen=True, slots=True)
class Blocking(Effect):
    """A blocking call (storage, waiting on a thread future): a worker thread under asyncio."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()

    def run_sync(self) -> Any:
        return self.fn(*self.args)

    async def run_async(self) -> Any:
        return await asyncio.to_thread(self.fn, *self.args)


@dataclass(frozen=True, slots=True)
class Sleep(Effect):
    seconds: float

    def run_sync(self) -> None:
        if self.seconds > 0:
            time.sleep(self.seconds)

    async def run_async(self) -> None:
        await asyncio.sleep(max(self.seconds, 0.0))


@dataclass(frozen=True, slots=True)
class AwaitFuture(Effect):
    """Wait for a result another thread (or task) will produce in this process."""

    future: concurrent.futures.Future[Any]
    timeout_s: float | None = None

    def run_sync(self) -> Any:
        try:
            return self.future.result(self.timeout_s)
        except concurrent.futures.TimeoutError as exc:
            # Before Python 3.11 this is not the builtin TimeoutError that callers catch.
            raise TimeoutError(str(exc) or "the awaited workflow did not finish in time") from None

    async def run_async(self) -> Any:
        # shield: a timeout here must not cancel the execution that others may wait for.
        waiter = asyncio.shield(asyncio.wrap_future(self.future))
        try:
            return await asyncio.wait_for(waiter, self.timeout_s)
        except asyncio.TimeoutError as exc:  # not the builtin TimeoutError before 3.11
            raise TimeoutError(str(exc) or "the awaited workflow did not finish in time") from None


@dataclass(frozen=True, slots=True)
class OffLoop(Effect):
    """Refuse a blocking wait for workflow `workflow_id` made in the thread of `loop`, the
    event loop its async body runs on: the wait would hold the one loop that could end it,
    forever (a user's trial). Awaiting lets the loop run on, so the async form passes."""

    loop: asyncio.AbstractEventLoop
    workflow_id: str

    def run_sync(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # no loop runs in this thread
            return
        if running is self.loop:
            raise RuntimeError(
                f"a blocking wait for workflow {self.workflow_id!r} was made on the event "
                "loop that runs its async body, where it could never end: await it there "
                "instead (`await DBOS.get_result_async(...)`, or the handle of "
                "`await DBOS.retrieve_workflow_async(...)`)"
            )

    async def run_async(self) -> None:
        return None


Procedure = Generator[Effect, Any, T]


def run_sync(procedure: Procedure[T]) -> T:
    """Drive `procedure` to completion in this thread."""
    send_value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = procedure.throw(error) if error is not None else procedure.send(send_value)
        except StopIteration as stop:
            return cast(T, stop.value)
        error = None
        try:
            send_value = effect.run_sync()
        except BaseException as exc:
            send_value, error = None, exc


async def run_async(procedure: Procedure[T]) -> T:
    """Drive `procedure` to completion on the running event loop."""
    send_value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = procedure.throw(error) if error is not None else procedure.send(send_value)
        except StopIteration as stop:
            return cast(T, stop.value)
        error = None
        try:
            send_value = await effect.run_async()
        except BaseException as exc:
            send_value, error = None, exc


@dataclass(frozen=True, slots=True)
class WaitWakeup(Effect):
    """Wait until a `Waiter` fires or `timeout_s` passes; True if it fired. Holds no database
    connection, and under asyncio no thread either."""

    waiter: Waiter
    timeout_s: float

    def run_sync(self) -> bool:
        return self.waiter.wait(self.timeout_s)

    async def run_async(self) -> bool:
        return await self.waiter.wait_async(self.timeout_s)
