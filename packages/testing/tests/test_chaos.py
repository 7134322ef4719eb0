"""The chaos run's checks (they must be able to fail) and a short real run."""

from __future__ import annotations

from typing import Any

import pytest

from dbos_testing import most_at_once
from dbos_testing.chaos.__main__ import _check_steps, main


def test_most_at_once_counts_overlaps() -> None:
    assert most_at_once([]) == 0
    assert most_at_once([(0, 1), (1, 2)]) == 1  # one ends as the next begins
    assert most_at_once([(0, 3), (1, 2), (1.5, 4), (5, 6)]) == 3


class _Steps:
    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs

    def list_workflow_steps(self, workflow_id: str) -> list[dict[str, Any]]:
        steps = [
            {"function_name": f"chaos.step_{name}", "output": token}
            for name, token in self.outputs.items()
        ]
        return [*steps, {"function_name": "DBOS.send", "output": None}]


def test_check_steps_allows_reruns_only_in_killed_processes() -> None:
    client: Any = _Steps({"a": "t2", "b": "t3", "c": "t4"})
    runs = {(0, "a"): [("t1", 10), ("t2", 11)], (0, "b"): [("t3", 11)], (0, "c"): [("t4", 11)]}
    violations: list[str] = []
    assert _check_steps(client, 1, runs, {10}, violations) == (1, 1)
    assert violations == []
    # The same history where process 10 was never killed: the step ran twice for real.
    assert _check_steps(client, 1, runs, set(), violations) == (1, 1)
    assert violations and "ran again" in violations[0]


def test_check_steps_catches_a_run_after_the_checkpoint() -> None:
    client: Any = _Steps({"a": "t1", "b": "t3", "c": "t4"})
    runs = {(0, "a"): [("t1", 10), ("t2", 10)], (0, "b"): [("t3", 10)], (0, "c"): [("t4", 10)]}
    violations: list[str] = []
    _check_steps(client, 1, runs, {10}, violations)
    assert violations and "not the last run" in violations[0]


@pytest.mark.slow
@pytest.mark.postgres_only
def test_a_short_chaos_run_passes(
    dbos_system_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--duration",
            "6",
            "--kill-every",
            "1",
            "2",
            "--seed",
            "5",
            "--database-url",
            dbos_system_database_url,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert '"kills": ' in out and '"violations": []' in out


@pytest.mark.slow
@pytest.mark.postgres_only
def test_a_short_chaos_run_with_a_shared_executor_and_kills_for_good_passes(
    dbos_system_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11: live workers share one executor ID (none may run another's live work) and a
    killed worker never comes back (its work is taken over when its lease expires)."""
    code = main(
        [
            "--duration",
            "8",
            "--kill-every",
            "1.5",
            "2.5",
            "--mode",
            "for-good",
            "--lease",
            "1.5",
            "--seed",
            "7",
            "--database-url",
            dbos_system_database_url,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert '"mode": "for-good"' in out and '"violations": []' in out
    assert '"kills": 0' not in out


def test_check_steps_counts_sends_and_flags_a_job_without_one() -> None:
    class NoSend(_Steps):
        def list_workflow_steps(self, workflow_id: str) -> list[dict[str, Any]]:
            return super().list_workflow_steps(workflow_id)[:-1]

    client: Any = NoSend({"a": "t1"})
    violations: list[str] = []
    assert _check_steps(client, 1, {(0, "a"): [("t1", 10)]}, set(), violations) == (0, 0)
    assert violations == ["job-0 recorded 0 sends"]
