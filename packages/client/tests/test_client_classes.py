"""`DBOSClient` and class-based workflows (issue 12, item 1), on every backend: enqueue a
method by class and instance name, resume and fork an instance's workflow from outside the
app, and list the class and instance names; the app's worker runs each on the right
instance."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dbos import DBOS, DBOSConfiguredInstance, DBOSException, Queue, SetWorkflowID
from dbos_client import DBOSClient

Launch = Callable[..., None]


@DBOS.dbos_class(class_name="client-counter")
class Counter(DBOSConfiguredInstance):
    def __init__(self, name: str, step: int) -> None:
        self.step = step
        self.failing = False
        self.ran: list[int] = []
        super().__init__(name)

    @DBOS.step()
    def bump(self, value: int) -> int:
        self.ran.append(value)
        return value + self.step

    @DBOS.workflow()
    def count(self, start: int) -> str:
        first = self.bump(start)
        if self.failing:
            raise RuntimeError("the second bump is down")
        return f"{self.config_name}:{self.bump(first)}"

    @classmethod
    @DBOS.workflow()
    def label(cls, text: str) -> str:
        return f"{cls.__name__}:{text}"

    @staticmethod
    @DBOS.workflow()
    def square(x: int) -> int:
        return x * x


ones = Counter("ones", 1)
tens = Counter("tens", 10)


@pytest.fixture(autouse=True)
def _reset() -> None:
    for counter in (ones, tens):
        counter.failing = False
        counter.ran.clear()


def test_enqueue_a_method_by_class_and_instance_name(
    launch: Launch, dbos_system_database_url: str
) -> None:
    Queue("client-classes")
    launch()
    client = DBOSClient(dbos_system_database_url)
    try:
        on_tens = client.enqueue(
            {
                "workflow_name": "Counter.count",
                "queue_name": "client-classes",
                "class_name": "client-counter",
                "instance_name": "tens",
            },
            1,
        )
        assert on_tens.get_result(timeout_seconds=30) == "tens:21"
        assert tens.ran == [1, 11] and ones.ran == []
        labelled = client.enqueue(
            {
                "workflow_name": "Counter.label",
                "queue_name": "client-classes",
                "class_name": "client-counter",
            },
            "x",
        )
        assert labelled.get_result(timeout_seconds=30) == "Counter:x"
        # DBOS's client names a static method's class too; the worker passes no class.
        squared = client.enqueue(
            {
                "workflow_name": "Counter.square",
                "queue_name": "client-classes",
                "class_name": "client-counter",
            },
            7,
        )
        assert squared.get_result(timeout_seconds=30) == 49
        listed = {
            (s.name, s.class_name, s.config_name)
            for s in client.list_workflows(queue_name="client-classes")
        }
        assert listed == {
            ("Counter.count", "client-counter", "tens"),
            ("Counter.label", "client-counter", None),
            ("Counter.square", "client-counter", None),
        }
        with pytest.raises(DBOSException, match="'instance_name' needs 'class_name'"):
            client.enqueue(
                {
                    "workflow_name": "Counter.count",
                    "queue_name": "client-classes",
                    "instance_name": "tens",
                },
                1,
            )
    finally:
        client.destroy()


def test_resume_and_fork_an_instance_workflow_from_the_client(
    launch: Launch, dbos_system_database_url: str
) -> None:
    launch()
    client = DBOSClient(dbos_system_database_url)
    try:
        ones.failing = True
        with SetWorkflowID("ones-count"), pytest.raises(RuntimeError, match="down"):
            ones.count(5)
        ones.failing = False
        ones.ran.clear()
        assert client.resume_workflow("ones-count").get_result(timeout_seconds=30) == "ones:7"
        # The first bump was recorded before the failure: only the second runs, on ones.
        assert ones.ran == [6] and tens.ran == []
        ones.ran.clear()
        forked = client.fork_workflow("ones-count", 2)
        assert forked.get_result(timeout_seconds=30) == "ones:7"
        assert ones.ran == [6] and tens.ran == []
        status = client.get_workflow_status(forked.workflow_id)
        assert status is not None
        assert (status.name, status.class_name, status.config_name) == (
            "Counter.count",
            "client-counter",
            "ones",
        )
    finally:
        client.destroy()
    # The `dbos` command shows them too.
    command = [str(Path(sys.executable).parent / "dbos"), "--db-url", dbos_system_database_url]
    shown = subprocess.run(
        [*command, "workflow", "get", "ones-count", "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    details = json.loads(shown.stdout)
    assert (details["class_name"], details["config_name"]) == ("client-counter", "ones")
