"""Step options (DBOS Transact 3.4's `StepOptions`): `should_retry`, `timeout_seconds`,
`DBOS.run_step`, `DBOS.step_status` and step reservations, on every backend; and replay after
a SIGKILL in a real process of a step that timed out and of steps run with `run_step`."""

from __future__ import annotations

import asyncio
import importlib
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSConfigError,
    DBOSException,
    DBOSMaxStepRetriesExceeded,
    DBOSStepTimeoutError,
    SetWorkflowID,
    StepOptions,
    StepReservation,
    StepStatus,
    SystemStorage,
)
from dbos_testing import kill_at_step

Launch = Callable[..., None]
APPS = str(Path(__file__).parent / "apps")


class Transient(Exception):
    pass


class Permanent(Exception):
    pass


def _names(storage: SystemStorage, workflow_id: str) -> list[tuple[int, str]]:
    return [(s.function_id, s.function_name) for s in storage.load_steps(workflow_id)]


# --- should_retry ---------------------------------------------------------------------------


def test_should_retry_false_ends_the_step_with_the_exception_unwrapped(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    attempts: list[str] = []
    seen: list[BaseException] = []

    def only_transient(exc: BaseException) -> bool:
        seen.append(exc)
        return isinstance(exc, Transient)

    @DBOS.step(
        retries_allowed=True, interval_seconds=0, max_attempts=5, should_retry=only_transient
    )
    def flaky() -> str:
        attempts.append("try")
        if len(attempts) == 1:
            raise Transient("once")
        raise Permanent("for good")

    @DBOS.workflow()
    def wf() -> str:
        return flaky()

    launch()
    with SetWorkflowID("retry-refused"), pytest.raises(Permanent, match="for good"):
        wf()
    assert len(attempts) == 2  # the Permanent error was not retried
    assert [type(e) for e in seen] == [Transient, Permanent]
    (step,) = DBOS.list_workflow_steps("retry-refused")
    assert type(step["error"]) is Permanent  # recorded unwrapped, so a replay raises it too


def test_should_retry_true_keeps_retrying_up_to_max_attempts(launch: Launch) -> None:
    attempts: list[int] = []

    @DBOS.step(
        retries_allowed=True, interval_seconds=0, max_attempts=3, should_retry=lambda e: True
    )
    def always_fails() -> None:
        attempts.append(1)
        raise Transient("down")

    @DBOS.workflow()
    def wf() -> None:
        always_fails()

    launch()
    with pytest.raises(DBOSMaxStepRetriesExceeded):
        wf()
    assert len(attempts) == 3


def test_should_retry_is_not_consulted_without_retries(launch: Launch) -> None:
    calls: list[BaseException] = []

    def predicate(exc: BaseException) -> bool:
        calls.append(exc)
        return True

    @DBOS.step(should_retry=predicate)
    def fails() -> None:
        raise Transient("no retries")

    @DBOS.workflow()
    def wf() -> None:
        fails()

    launch()
    with pytest.raises(Transient):
        wf()
    assert calls == []


def test_an_async_should_retry_on_an_async_step(launch: Launch) -> None:
    attempts: list[int] = []

    async def retry_transient(exc: BaseException) -> bool:
        await asyncio.sleep(0)
        return isinstance(exc, Transient)

    @DBOS.step(
        retries_allowed=True, interval_seconds=0, max_attempts=4, should_retry=retry_transient
    )
    async def flaky() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise Transient("again")
        return len(attempts)

    @DBOS.workflow()
    async def wf() -> int:
        return await flaky()

    launch()
    assert asyncio.run(wf()) == 3


def test_a_should_retry_that_raises_ends_the_step_with_its_error(launch: Launch) -> None:
    def broken(exc: BaseException) -> bool:
        raise RuntimeError("predicate broke")

    @DBOS.step(retries_allowed=True, interval_seconds=0, should_retry=broken)
    def fails() -> None:
        raise Transient("x")

    @DBOS.workflow()
    def wf() -> None:
        fails()

    launch()
    with SetWorkflowID("broken-predicate"), pytest.raises(RuntimeError, match="predicate broke"):
        wf()
    (step,) = DBOS.list_workflow_steps("broken-predicate")
    assert type(step["error"]) is RuntimeError


def test_bad_step_options_are_refused_where_they_are_given() -> None:
    async def predicate(exc: BaseException) -> bool:
        return True

    with pytest.raises(DBOSConfigError, match="should_retry is async"):

        @DBOS.step(should_retry=predicate)
        def sync_step() -> None: ...

    with pytest.raises(DBOSConfigError, match="sync but has timeout_seconds"):

        @DBOS.step(timeout_seconds=1)
        def sync_timed() -> None: ...

    for bad in (0, -1, math.nan, math.inf, "1"):
        with pytest.raises(DBOSConfigError, match="timeout_seconds"):
            DBOS.step(timeout_seconds=bad)  # type: ignore[arg-type]
    with pytest.raises(DBOSConfigError, match="should_retry must be a callable"):
        DBOS.step(should_retry=3)  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="preemptible steps"):
        DBOS.step(preemptible=True)


# --- timeouts -------------------------------------------------------------------------------


def test_an_async_step_past_its_timeout_is_cancelled_and_the_error_recorded(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    cleanup: list[str] = []

    @DBOS.step(timeout_seconds=0.2)
    async def hangs() -> str:
        try:
            await asyncio.sleep(60)
        finally:
            cleanup.append("cancelled")  # the body was stopped, and its cleanup ran
        return "never"

    @DBOS.step(timeout_seconds=30)
    async def quick() -> str:
        return "quick"

    @DBOS.workflow()
    async def wf() -> str:
        first = await quick()
        await hangs()
        return first

    launch()

    async def run() -> None:
        with SetWorkflowID("timed-out"):
            await wf()

    with pytest.raises(
        DBOSStepTimeoutError, match=r"exceeding its timeout of 0\.2 seconds"
    ) as info:
        asyncio.run(run())
    assert (info.value.step_name, info.value.timeout_seconds) == (hangs.__qualname__, 0.2)
    assert cleanup == ["cancelled"]
    quick_step, hung_step = DBOS.list_workflow_steps("timed-out")
    assert quick_step["output"] == "quick"
    assert isinstance(hung_step["error"], DBOSStepTimeoutError)
    assert hung_step["error"].step_name == hangs.__qualname__
    status = DBOS.get_workflow_status("timed-out")
    assert status is not None and status.status == "ERROR"


def test_a_timed_out_attempt_is_retried_with_a_fresh_timeout(launch: Launch) -> None:
    attempts: list[int] = []

    @DBOS.step(retries_allowed=True, interval_seconds=0, max_attempts=3, timeout_seconds=0.2)
    async def slow_then_fast() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            await asyncio.sleep(60)
        return len(attempts)

    @DBOS.step(retries_allowed=True, interval_seconds=0, max_attempts=2, timeout_seconds=0.1)
    async def always_slow() -> None:
        await asyncio.sleep(60)

    @DBOS.workflow()
    async def wf() -> int:
        return await slow_then_fast()

    @DBOS.workflow()
    async def doomed() -> None:
        await always_slow()

    launch()
    assert asyncio.run(wf()) == 3
    with pytest.raises(DBOSMaxStepRetriesExceeded) as info:
        asyncio.run(doomed())
    assert [type(e) for e in info.value.errors] == [DBOSStepTimeoutError] * 2


def test_should_retry_sees_the_timeout_error(launch: Launch) -> None:
    seen: list[type[BaseException]] = []

    def no_retry_on_timeout(exc: BaseException) -> bool:
        seen.append(type(exc))
        return not isinstance(exc, DBOSStepTimeoutError)

    @DBOS.step(
        retries_allowed=True, max_attempts=5, timeout_seconds=0.1, should_retry=no_retry_on_timeout
    )
    async def slow() -> None:
        await asyncio.sleep(60)

    @DBOS.workflow()
    async def wf() -> None:
        await slow()

    launch()
    with pytest.raises(DBOSStepTimeoutError):
        asyncio.run(wf())
    assert seen == [DBOSStepTimeoutError]


def test_a_step_timeout_is_inert_outside_a_workflow() -> None:
    @DBOS.step(timeout_seconds=0.05)
    async def takes_a_while() -> str:
        await asyncio.sleep(0.3)
        return "done"

    assert asyncio.run(takes_a_while()) == "done"


# --- run_step -------------------------------------------------------------------------------


def double(x: int) -> int:
    return 2 * x


async def async_triple(x: int) -> int:
    await asyncio.sleep(0)
    return 3 * x


def test_run_step_checkpoints_a_plain_function_under_its_name(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    calls: list[int] = []

    def counted(x: int) -> int:
        calls.append(x)
        return x + 100

    @DBOS.workflow()
    def wf() -> list[int]:
        return [
            DBOS.run_step({"name": "named-step"}, counted, 1),
            DBOS.run_step(None, double, 2),
            DBOS.run_step({}, async_triple, 3),  # a coroutine function, from sync code
            DBOS.run_step({"name": None}, counted, 4),
        ]

    launch()
    with SetWorkflowID("run-step"):
        assert wf() == [101, 4, 9, 104]
    assert _names(dbos_storage, "run-step") == [
        (1, "named-step"),
        (2, double.__qualname__),
        (3, async_triple.__qualname__),
        (4, counted.__qualname__),
    ]
    # A fork from step 4 replays steps 1-3 (the function is not called again) and reruns 4.
    assert DBOS.fork_workflow("run-step", 4).get_result() == [101, 4, 9, 104]
    assert calls == [1, 4, 4]


def test_run_step_async_runs_coroutine_and_sync_functions(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    threads: list[bool] = []

    def on_a_thread(x: int) -> int:
        # A sync function run by run_step_async is off the event loop.
        try:
            asyncio.get_running_loop()
            threads.append(False)
        except RuntimeError:
            threads.append(True)
        return x

    @DBOS.workflow()
    async def wf() -> list[int]:
        return [
            await DBOS.run_step_async({"name": "triple"}, async_triple, 2),
            await DBOS.run_step_async(None, on_a_thread, 5),
        ]

    launch()

    async def run() -> list[int]:
        with SetWorkflowID("run-step-async"):
            return await wf()

    assert asyncio.run(run()) == [6, 5]
    assert threads == [True]
    assert _names(dbos_storage, "run-step-async") == [
        (1, "triple"),
        (2, on_a_thread.__qualname__),
    ]


def test_run_step_options_retry_and_time_out(launch: Launch) -> None:
    attempts: list[int] = []

    def flaky() -> int:
        attempts.append(1)
        if len(attempts) < 2:
            raise Transient("once")
        return len(attempts)

    async def hangs() -> None:
        await asyncio.sleep(60)

    options: StepOptions = {"retries_allowed": True, "interval_seconds": 0, "max_attempts": 2}

    @DBOS.workflow()
    async def wf() -> int:
        n = await DBOS.run_step_async(options, flaky)
        try:
            await DBOS.run_step_async({"timeout_seconds": 0.1}, hangs)
        except DBOSStepTimeoutError:
            return n
        return -1

    launch()
    assert asyncio.run(wf()) == 2


def test_run_step_outside_a_workflow_is_a_plain_call() -> None:
    assert DBOS.run_step(None, double, 4) == 8
    assert DBOS.run_step(None, async_triple, 2) == 6  # before any launch: a loop of its own
    assert asyncio.run(DBOS.run_step_async({"name": "x"}, async_triple, 1)) == 3
    assert asyncio.run(DBOS.run_step_async(None, double, 1)) == 2


def test_run_step_refuses_bad_options() -> None:
    with pytest.raises(DBOSException, match="unknown step option"):
        DBOS.run_step({"retries": True}, double, 1)  # type: ignore[call-overload]
    with pytest.raises(DBOSException, match="must be a dict"):
        DBOS.run_step("fast", double, 1)  # type: ignore[call-overload]
    with pytest.raises(DBOSException, match="'name' must be a non-empty string"):
        DBOS.run_step({"name": ""}, double, 1)
    with pytest.raises(DBOSConfigError, match="sync but has timeout_seconds"):
        DBOS.run_step({"timeout_seconds": 1}, double, 1)
    with pytest.raises(DBOSConfigError, match="max_attempts"):
        DBOS.run_step({"max_attempts": 0}, double, 1)
    with pytest.raises(DBOSException, match="needs a function"):
        DBOS.run_step(None, 3, 1)  # type: ignore[call-overload]

    async def sync_form_on_a_loop() -> None:
        DBOS.run_step(None, async_triple, 1)

    with pytest.raises(DBOSException, match="await the _async form"):
        asyncio.run(sync_form_on_a_loop())


# --- step_status ----------------------------------------------------------------------------


def test_step_status_inside_and_outside_steps(launch: Launch) -> None:
    seen: list[StepStatus | None] = []

    @DBOS.step()
    def plain() -> None:
        seen.append(DBOS.step_status)

    @DBOS.step(retries_allowed=True, interval_seconds=0, max_attempts=3)
    def retried() -> None:
        seen.append(DBOS.step_status)
        if len(seen) < 5:  # fail attempts 0 and 1
            raise Transient("again")

    @DBOS.workflow()
    def wf() -> None:
        seen.append(DBOS.step_status)  # the workflow's body is no step
        plain()
        retried()
        DBOS.run_step(None, lambda: seen.append(DBOS.step_status))

    launch()
    assert DBOS.step_status is None
    wf()
    assert seen == [
        None,
        StepStatus(1, None, None),
        StepStatus(2, 0, 3),
        StepStatus(2, 1, 3),
        StepStatus(2, 2, 3),
        StepStatus(3, None, None),
    ]


# --- reserve_step ---------------------------------------------------------------------------


def test_a_reserved_step_runs_at_its_reserved_id(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    calls: list[str] = []

    def later(tag: str) -> str:
        calls.append(tag)
        return f"later {tag}"

    @DBOS.step()
    def now() -> str:
        calls.append("now")
        return "now"

    @DBOS.workflow()
    def wf() -> list[str]:
        reservation = DBOS.reserve_step()
        assert isinstance(reservation, StepReservation)
        first = now()
        return [first, reservation.run({"name": "later"}, later, "x"), str(reservation.step_id)]

    launch()
    with SetWorkflowID("reserved"):
        assert wf() == ["now", "later x", "1"]
    assert _names(dbos_storage, "reserved") == [(1, "later"), (2, now.__qualname__)]
    # A fork from step 3 replays both: the reserved step replays at its ID, nothing reruns.
    assert DBOS.fork_workflow("reserved", 3).get_result() == ["now", "later x", "1"]
    assert calls == ["now", "x"]


def test_reservations_from_gathered_tasks_keep_ids_stable(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    async def fetch(n: int) -> int:
        # The later reservation finishes first; its ID was still drawn second.
        await asyncio.sleep(0.05 * (3 - n))
        return n

    @DBOS.workflow()
    async def wf() -> list[int]:
        reservations = [DBOS.reserve_step() for _ in range(3)]
        return list(
            await asyncio.gather(
                *(r.run_async({"name": f"fetch-{i}"}, fetch, i) for i, r in enumerate(reservations))
            )
        )

    launch()

    async def run() -> list[int]:
        with SetWorkflowID("gathered"):
            return await wf()

    assert asyncio.run(run()) == [0, 1, 2]
    assert _names(dbos_storage, "gathered") == [(1, "fetch-0"), (2, "fetch-1"), (3, "fetch-2")]


def test_reservation_misuse_is_refused(launch: Launch) -> None:
    kept: list[StepReservation] = []

    @DBOS.step()
    def reserves_in_a_step() -> None:
        DBOS.reserve_step()

    @DBOS.workflow()
    def in_step() -> None:
        reserves_in_a_step()

    @DBOS.workflow()
    def twice() -> None:
        reservation = DBOS.reserve_step()
        reservation.run(None, double, 1)
        reservation.run(None, double, 1)

    @DBOS.workflow()
    def keeps_one() -> None:
        kept.append(DBOS.reserve_step())  # never run: its step ID stays unused

    @DBOS.workflow()
    def other() -> None:
        kept[0].run(None, double, 1)

    launch()
    with pytest.raises(DBOSException, match="must be called from a workflow"):
        DBOS.reserve_step()
    with pytest.raises(DBOSException, match="must be called from a workflow"):
        in_step()
    with pytest.raises(DBOSException, match="already run"):
        twice()
    keeps_one()
    with pytest.raises(DBOSException, match="must be run from that workflow"):
        other()
    with pytest.raises(DBOSException, match="must be run from that workflow"):
        kept[0].run(None, double, 1)


# --- replay after a SIGKILL -----------------------------------------------------------------


def _effects(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _app() -> Any:
    sys.path.insert(0, APPS)
    return importlib.import_module("steps_app")


@pytest.mark.slow
def test_a_timed_out_step_is_replayed_after_a_sigkill_not_run_again(
    dbos: type[DBOS], dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    app = _app()
    effects = tmp_path / "effects.txt"
    run = kill_at_step(
        "steps_app:timed_workflow",
        str(effects),
        database_url=dbos_system_database_url,
        step=2,  # step 1 timed out and its error is recorded; die as `mark` starts
        workflow_id="timed-crash",
        application_version=DBOS.application_version,
        extra_sys_path=[APPS],
    )
    assert run.returncode == -signal.SIGKILL
    assert _effects(effects) == ["slow started"]
    (step,) = dbos_storage.load_steps("timed-crash")
    assert step.error is not None and step.function_name == app.slow_call.__qualname__

    (handle,) = DBOS.recover_pending_workflows()
    expected = f"timed out: {app.slow_call.__qualname__} after 0.3 s"
    assert handle.get_result() == expected
    # The slow body did not start again: its recorded DBOSStepTimeoutError was replayed.
    assert _effects(effects) == ["slow started", f"mark {expected}"]
    first = DBOS.list_workflow_steps("timed-crash")[0]
    assert isinstance(first["error"], DBOSStepTimeoutError)


@pytest.mark.slow
def test_run_step_steps_are_replayed_after_a_sigkill(
    dbos: type[DBOS], dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    app = _app()
    effects = tmp_path / "effects.txt"
    run = kill_at_step(
        "steps_app:run_step_workflow",
        str(effects),
        database_url=dbos_system_database_url,
        step=3,
        workflow_id="run-step-crash",
        application_version=DBOS.application_version,
        extra_sys_path=[APPS],
    )
    assert run.returncode == -signal.SIGKILL
    assert _effects(effects) == ["fetch 1", "fetch 2"]
    (handle,) = DBOS.recover_pending_workflows()
    assert handle.get_result() == 30
    assert _effects(effects) == ["fetch 1", "fetch 2", "mark sum 30"]
    assert _names(dbos_storage, "run-step-crash") == [
        (1, "fetch-one"),
        (2, app.fetch.__qualname__),
        (3, app.mark.__qualname__),
    ]


def test_the_step_options_example_runs(dbos_system_database_url: str) -> None:
    """examples/step_options.py: a timed-out attempt retried, run_step, reservations, and
    enqueues by queue name and by workflow name."""
    example = Path(__file__).resolve().parents[3] / "examples" / "step_options.py"
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url}
    run = subprocess.run(
        [sys.executable, str(example)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for symbol in ("ACME", "XYZ"):  # the first attempt timed out, the second answered
        assert f"quote {symbol}: attempt 1 of 3" in out
        assert f"quote {symbol}: attempt 2 of 3" in out
        assert f"quote {symbol}: attempt 3 of 3" not in out
    assert "result: ACME 40.00 (EUR 36.00, GBP 32.00)" in out
    assert "steps: quote_service, format, rate-EUR, rate-GBP" in out
    assert "result: XYZ 30.00 (EUR 27.00, GBP 24.00)" in out
    assert "quote X-1" not in out
    assert "failed at once: bad symbol 'X-1'" in out
