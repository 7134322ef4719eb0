"""Crash simulation in process: stop a workflow as if its process died at a chosen point,
then recover it and check what ran how often.

A crash is a `SimulatedCrash` (a `BaseException`, so user code's ``except Exception`` does not
swallow it) raised from one of core's lifecycle hooks. The engine treats it as the death of
the process: the workflow's row stays PENDING, as after a real crash, and
`DBOS.recover_pending_workflows()` (what a restart does) resumes it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from dbos import hookimpl
from dbos.storage import StepRecord


class SimulatedCrash(BaseException):
    """The process "died" here (raised by `CrashPlan`)."""


@dataclass
class _Point:
    kind: str  # "before_checkpoint" | "after_checkpoint" | "in_step"
    step: int | None = None
    name: str | None = None
    workflow_id: str | None = None


@dataclass
class CrashPlan:
    """A pluggy plugin that crashes the next workflow reaching an armed point, once per arm,
    and records every step body that actually ran (replayed steps do not count).

    Use the ``dbos_crash`` fixture, or register it with `dbos.plugin_manager()`.
    """

    armed: list[_Point] = field(default_factory=list)
    #: (workflow ID, step name) -> how many times its body ran.
    runs: Counter[tuple[str, str]] = field(default_factory=Counter)
    crashes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def before_checkpoint(self, step: int, *, workflow_id: str | None = None) -> CrashPlan:
        """Crash after step `step` (its function ID, counting from 1) ran but before its
        checkpoint was written: recovery runs that step again."""
        return self._arm(_Point("before_checkpoint", step=step, workflow_id=workflow_id))

    def after_checkpoint(self, step: int, *, workflow_id: str | None = None) -> CrashPlan:
        """Crash right after step `step`'s checkpoint is durable: recovery resumes after it."""
        return self._arm(_Point("after_checkpoint", step=step, workflow_id=workflow_id))

    def in_step(self, name: str, *, workflow_id: str | None = None) -> CrashPlan:
        """Crash when the step named `name` (its registered name or function name) starts,
        before its body runs."""
        return self._arm(_Point("in_step", name=name, workflow_id=workflow_id))

    def _arm(self, point: _Point) -> CrashPlan:
        with self._lock:
            self.armed.append(point)
        return self

    def ran(self, step_name: str, workflow_id: str | None = None) -> int:
        """How many times the body of the step named `step_name` ran (in `workflow_id`, or in
        every workflow)."""
        with self._lock:
            return sum(
                count
                for (wid, name), count in self.runs.items()
                if _same_name(name, step_name) and (workflow_id is None or wid == workflow_id)
            )

    def _fire(self, kind: str, workflow_id: str, step: int | None, name: str | None) -> None:
        with self._lock:
            for point in self.armed:
                if point.kind != kind:
                    continue
                if point.workflow_id is not None and point.workflow_id != workflow_id:
                    continue
                if point.step is not None and point.step != step:
                    continue
                if point.name is not None and (name is None or not _same_name(name, point.name)):
                    continue
                self.armed.remove(point)
                self.crashes += 1
                break
            else:
                return
        raise SimulatedCrash(f"simulated crash of workflow {workflow_id} ({kind}, step {step})")

    @hookimpl
    def dbos_before_step(self, workflow_id: str, function_id: int, name: str) -> None:
        """Hook: a step body is about to run. Raises `SimulatedCrash` if an `in_step` point for
        this step is armed (the body then does not run); otherwise counts the run for `ran`."""
        self._fire("in_step", workflow_id, function_id, name)
        with self._lock:
            self.runs[(workflow_id, name)] += 1

    @hookimpl
    def dbos_before_step_checkpoint(self, step: StepRecord) -> None:
        """Hook: a step ran and its checkpoint is about to be written. Raises `SimulatedCrash` if a
        `before_checkpoint` point for this step is armed."""
        self._fire("before_checkpoint", step.workflow_id, step.function_id, step.function_name)

    @hookimpl
    def dbos_after_step_checkpoint(self, step: StepRecord) -> None:
        """Hook: a step's checkpoint is durable. Raises `SimulatedCrash` if an `after_checkpoint`
        point for this step is armed."""
        self._fire("after_checkpoint", step.workflow_id, step.function_id, step.function_name)


def _same_name(registered: str, wanted: str) -> bool:
    """A step's registered name is usually its qualified name; tests may say just the
    function name."""
    return registered == wanted or registered.rsplit(".", 1)[-1] == wanted
