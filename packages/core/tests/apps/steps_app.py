"""Steps with options, run in a process that is killed: an async step that times out (its
recorded `DBOSStepTimeoutError` must be replayed, its body not run again), and plain
functions run as steps with `DBOS.run_step` (replayed under the names they were recorded
with)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dbos import DBOS, DBOSStepTimeoutError


def note(effects: str, text: str) -> None:
    with Path(effects).open("a") as log:
        log.write(f"{text}\n")


@DBOS.step(timeout_seconds=0.3)
async def slow_call(effects: str) -> str:
    note(effects, "slow started")
    await asyncio.sleep(60)
    note(effects, "slow finished")  # never: the timeout cancels the sleep
    return "finished"


@DBOS.step()
def mark(effects: str, text: str) -> str:
    note(effects, f"mark {text}")
    return text


@DBOS.workflow()
async def timed_workflow(effects: str) -> str:
    try:
        outcome = await slow_call(effects)
    except DBOSStepTimeoutError as exc:
        outcome = f"timed out: {exc.step_name} after {exc.timeout_seconds} s"
    return mark(effects, outcome)


def fetch(effects: str, x: int) -> int:
    note(effects, f"fetch {x}")
    return x * 10


@DBOS.workflow()
def run_step_workflow(effects: str) -> int:
    a = DBOS.run_step({"name": "fetch-one"}, fetch, effects, 1)
    b = DBOS.run_step(None, fetch, effects, 2)
    mark(effects, f"sum {a + b}")
    return a + b
