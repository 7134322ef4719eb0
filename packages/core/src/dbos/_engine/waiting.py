"""Waiting for a workflow's outcome in this process: from the execution that runs it here
(running it inline if its worker has not started it yet), else from storage."""

from __future__ import annotations

from collections.abc import Callable

from .._base.serialization import Codec
from ..storage._protocol import SystemStorage
from ..storage._waiting import Wakeups
from .context import current_step, current_workflow
from .effects import Blocking, Procedure
from .execution import ActiveWorkflow
from .interrupt import await_stored_outcome
from .local_wait import await_local_outcome
from .outcome import NOT_RUN_HERE, Outcome, outcome_from_row


def local_or_stored_outcome(
    workflow_id: str,
    active: ActiveWorkflow | None,
    running_here: Callable[[str], ActiveWorkflow | None],
    backing: tuple[SystemStorage, Codec, Wakeups],
    timeout_s: float | None = None,
    started_it: bool = False,
) -> Procedure[Outcome]:
    """The outcome of `workflow_id`: from `active` (or the execution `running_here` finds),
    claiming and running it inline when its worker has not started it, else read from
    storage once terminal. `started_it`: the caller started `active` and gets the body's own
    value, not the stored form (DBOS semantics). A cancel of a workflow running here ends the
    wait with its CANCELLED outcome at once, even while its body is inside a step
    (`local_wait`). Raises TimeoutError after `timeout_s`; awaited inside a workflow, that
    workflow's cancel ends the wait (`interrupt`)."""
    storage, codec, wakeups = backing
    caller = current_workflow() if current_step() is None else None
    if active is None:
        active = running_here(workflow_id)
    if active is not None:
        run = active.claim()
        if run is not None:
            # Not started yet by its worker: run it here rather than block on it.
            outcome: Outcome = yield Blocking(run)
            if outcome is not NOT_RUN_HERE:
                return outcome if started_it or outcome.as_stored is None else outcome.as_stored
            active = None
    if active is not None:
        local: Outcome = yield from await_local_outcome(caller, active, storage, wakeups, timeout_s)
        if local is not NOT_RUN_HERE:
            return local if started_it or local.as_stored is None else local.as_stored
    row = yield from await_stored_outcome(caller, storage, workflow_id, timeout_s)
    if row is None:
        raise TimeoutError(f"workflow {workflow_id!r} did not finish in {timeout_s} s")
    return outcome_from_row(codec, row)
