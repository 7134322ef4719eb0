"""An execution as the hooks see it: `observed` pairs every ``dbos_workflow_started`` (which
`Engine.execute` calls first) with one ``dbos_workflow_ended``, however the execution ends, so
that a plugin holding something open per execution (a trace span) always closes it."""

from __future__ import annotations

from ..plugins._hooks import Hooks
from .effects import Procedure
from .outcome import NOT_RUN_HERE, Outcome


def observed(
    hooks: Hooks, workflow_id: str, name: str, execution: Procedure[Outcome]
) -> Procedure[Outcome]:
    """Run `execution` (an `Engine.execute` procedure), then call ``dbos_workflow_ended``
    with its recorded status and error, or with None and what stopped it."""
    status: str | None = None
    error: BaseException | None = None
    try:
        outcome: Outcome = yield from execution
        if outcome is not NOT_RUN_HERE:  # taken over: this execution recorded nothing
            status, error = outcome.status, outcome.error
        return outcome
    except BaseException as exc:
        error = exc
        raise
    finally:
        hooks.workflow_ended(workflow_id, name, status, error)
