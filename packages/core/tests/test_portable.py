"""DBOS Transact 3.4's portable JSON format (`WorkflowSerializationFormat.PORTABLE`,
`DBOSPortableJSONSerializer`, `PortableWorkflowError`) and argument validation
(`validate_args`, `pydantic_args_validator`), on every backend."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSConfigError,
    DBOSPortableJSONSerializer,
    DBOSSerializationError,
    EnqueueOptions,
    PortableWorkflowError,
    Queue,
    SetWorkflowID,
    SystemStorage,
    WorkflowSerializationFormat,
    make_pydantic_args_validator,
    pydantic_args_validator,
)
from dbos.storage import Message, NewWorkflow

Launch = Callable[..., None]
PORTABLE = WorkflowSerializationFormat.PORTABLE
WHEN = dt.datetime(2024, 5, 1, 12, 30, 15, 250000, tzinfo=dt.timezone.utc)


def _row(storage: SystemStorage, workflow_id: str) -> Any:
    row = storage.get_workflow(workflow_id)
    assert row is not None
    return row


def test_a_portable_workflow_stores_plain_json_and_round_trips(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    seen: list[Any] = []

    @DBOS.workflow(serialization_type=PORTABLE)
    def portable(
        when: dt.datetime, amount: Decimal, tags: tuple[str, ...], *, note: str
    ) -> dict[str, Any]:
        seen.append((when, amount, tags, note))
        return {"when": when, "amount": amount, "tags": set(tags)}

    launch()
    with SetWorkflowID("p1"):
        result = portable(WHEN, Decimal("1.50"), ("a",), note="n")
    # The direct call gets its own return value; what is stored is portable JSON.
    assert result["when"] == WHEN
    row = _row(dbos_storage, "p1")
    assert row.serialization == "portable_json"
    assert json.loads(row.inputs) == {
        "positionalArgs": ["2024-05-01T12:30:15.250Z", "1.50", ["a"]],
        "namedArgs": {"note": "n"},
    }
    assert json.loads(row.output) == {
        "when": "2024-05-01T12:30:15.250Z",
        "amount": "1.50",
        "tags": ["a"],
    }
    # Read back (another process would see this): JSON values.
    assert DBOS.retrieve_workflow("p1").get_result() == {
        "when": "2024-05-01T12:30:15.250Z",
        "amount": "1.50",
        "tags": ["a"],
    }
    status = DBOS.get_workflow_status("p1")
    assert status is not None and status.input == {
        "args": ("2024-05-01T12:30:15.250Z", "1.50", ["a"]),
        "kwargs": {"note": "n"},
    }


def test_handles_that_did_not_start_a_portable_workflow_get_its_stored_form(
    launch: Launch,
) -> None:
    """The caller's own handle gets the value as returned; an enqueue's handle and a
    retrieved one get the stored JSON, as from another process, even though the task runs
    here at once (it was stored claimed by this process) (DBOS semantics)."""
    queue = Queue("portable-here")

    @DBOS.workflow(serialization_type=PORTABLE)
    def dated(when: dt.datetime) -> dict[str, Any]:
        return {"when": when}

    @DBOS.workflow(serialization_type=PORTABLE)
    def refusing() -> None:
        raise ValueError("no")

    launch()
    stored = {"when": "2024-05-01T12:30:15.250Z"}
    assert queue.enqueue(dated, WHEN).get_result() == stored
    with SetWorkflowID("started-here"):
        assert DBOS.start_workflow(dated, WHEN).get_result() == {"when": WHEN}
    assert DBOS.retrieve_workflow("started-here").get_result() == stored
    with pytest.raises(PortableWorkflowError):
        queue.enqueue(refusing).get_result()


def test_portable_inputs_are_coerced_to_type_hints_when_run_from_storage(
    launch: Launch,
) -> None:
    queue = Queue("portable_queue")
    seen: list[Any] = []

    @DBOS.workflow(serialization_type=PORTABLE)
    def typed(
        when: dt.datetime,
        day: dt.date,
        amount: Decimal,
        pair: tuple[int, int],
        maybe: dt.date | None,
    ) -> str:
        seen.append((when, day, amount, pair, maybe))
        return "ok"

    launch()
    handle = queue.enqueue(typed, WHEN, dt.date(2024, 5, 2), Decimal("3.25"), (1, 2), None)
    assert handle.get_result() == "ok"
    assert seen == [(WHEN, dt.date(2024, 5, 2), Decimal("3.25"), (1, 2), None)]


def test_a_portable_error_is_stored_and_read_as_portable_workflow_error(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    class CodedError(Exception):
        def __init__(self, message: str) -> None:
            super().__init__(message)
            self.code = 42
            self.data = {"field": "amount"}

    @DBOS.workflow(serialization_type=PORTABLE)
    def fails() -> None:
        raise CodedError("bad amount")

    @DBOS.workflow(serialization_type=PORTABLE)
    def fails_portably() -> None:
        raise PortableWorkflowError("no stock", "OutOfStock", "E7", [1, 2])

    launch()
    with SetWorkflowID("e1"), pytest.raises(CodedError):
        fails()
    assert json.loads(_row(dbos_storage, "e1").error) == {
        "name": "CodedError",
        "message": "bad amount",
        "code": 42,
        "data": {"field": "amount"},
    }
    with pytest.raises(PortableWorkflowError) as caught:
        DBOS.retrieve_workflow("e1").get_result()
    assert (caught.value.name, caught.value.message, caught.value.code) == (
        "CodedError",
        "bad amount",
        42,
    )
    assert caught.value.data == {"field": "amount"}
    with SetWorkflowID("e2"), pytest.raises(PortableWorkflowError):
        fails_portably()
    error = DBOS.get_workflow_status("e2")
    assert error is not None and isinstance(error.error, PortableWorkflowError)
    assert (error.error.name, error.error.code, error.error.data) == ("OutOfStock", "E7", [1, 2])
    assert str(error.error) == "no stock"


def test_a_row_written_by_another_language_runs_and_is_readable(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    """A row as DBOS's TypeScript SDK (or the SQL function) writes it: portable inputs with
    an ISO timestamp, a message in plain JSON; this process runs it and stores a portable
    result another language can read."""
    queue = Queue("polyglot")

    @DBOS.workflow(name="polyglot_workflow")
    def polyglot(when: dt.datetime, count: int, label: str = "none") -> dict[str, Any]:
        message = DBOS.recv("topic", timeout_seconds=30)
        return {"when": when, "count": count, "label": label, "message": message}

    launch()
    dbos_storage.create_workflow(
        NewWorkflow(
            workflow_id="ts-1",
            name="polyglot_workflow",
            inputs='{"positionalArgs":["2024-05-01T12:30:15.250Z",3],"namedArgs":{"label":"x"}}',
            executor_id=None,
            application_version=None,
            created_at_ms=1,
            queue_name=queue.name,
            status="ENQUEUED",
            serialization="portable_json",
        )
    )
    dbos_storage.send(Message("m-1", "ts-1", "topic", '{"from":"ts","n":[1,2]}', 1))
    result = DBOS.retrieve_workflow("ts-1").get_result()
    # The datetime came back a datetime (coerced to the hint). A handle that meets the
    # execution in this process gets its value as returned; the stored form is portable.
    assert result["when"] in (WHEN, "2024-05-01T12:30:15.250Z")
    assert (result["count"], result["label"]) == (3, "x")
    assert result["message"] == {"from": "ts", "n": [1, 2]}
    row = _row(dbos_storage, "ts-1")
    assert row.serialization == "portable_json"
    assert json.loads(row.output) == {
        "when": "2024-05-01T12:30:15.250Z",
        "count": 3,
        "label": "x",
        "message": {"from": "ts", "n": [1, 2]},
    }


def test_a_portable_row_is_never_unpickled(launch: Launch, dbos_storage: SystemStorage) -> None:
    """A portable row whose value looks like this library's pickle tag is just a dict."""

    @DBOS.workflow(name="echo_portable")
    def echo(value: Any) -> Any:
        return [type(value).__name__, sorted(value.values())]

    launch()
    tagged = {"__dbos_pickle__": "gASVBAAAAAAAAACMAXiULg=="}
    dbos_storage.create_workflow(
        NewWorkflow(
            workflow_id="tagged",
            name="echo_portable",
            inputs=json.dumps({"positionalArgs": [tagged]}),
            executor_id=None,
            application_version=None,
            created_at_ms=1,
            queue_name=Queue("tagged_queue").name,
            status="ENQUEUED",
            serialization="portable_json",
        )
    )
    assert DBOS.retrieve_workflow("tagged").get_result() == ["dict", [tagged["__dbos_pickle__"]]]


def test_messages_events_and_streams_take_a_serialization_type(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    @DBOS.workflow()
    def publisher() -> Any:
        DBOS.set_event("when", WHEN, serialization_type=PORTABLE)
        DBOS.write_stream("s", {"at": WHEN}, serialization_type=PORTABLE)
        DBOS.close_stream("s")
        return DBOS.recv(timeout_seconds=30)

    launch()
    with SetWorkflowID("pub"):
        handle = DBOS.start_workflow(publisher)
    DBOS.send("pub", {"d": dt.date(2024, 1, 2)}, serialization_type=PORTABLE)
    assert handle.get_result() == {"d": "2024-01-02"}
    assert DBOS.get_event("pub", "when") == "2024-05-01T12:30:15.250Z"
    assert list(DBOS.read_stream("pub", "s")) == [{"at": "2024-05-01T12:30:15.250Z"}]
    # Native (the default) keeps Python types.
    with SetWorkflowID("pub2"):
        handle = DBOS.start_workflow(publisher)
    DBOS.send("pub2", {"d": dt.date(2024, 1, 2)})
    assert handle.get_result() == {"d": dt.date(2024, 1, 2)}
    with pytest.raises(DBOSSerializationError, match="no portable JSON form"):
        DBOS.send("pub2", object(), serialization_type=PORTABLE)
    with pytest.raises(DBOSSerializationError, match="serialization_type"):
        DBOS.send("pub2", 1, serialization_type="yaml")  # type: ignore[arg-type]


def test_enqueue_with_options_can_be_portable(launch: Launch, dbos_storage: SystemStorage) -> None:
    Queue("options_queue")

    @DBOS.workflow(name="opt_workflow")
    def opt(when: dt.datetime) -> bool:
        return when == WHEN

    launch()
    options: EnqueueOptions = {
        "workflow_name": "opt_workflow",
        "queue_name": "options_queue",
        "workflow_id": "opt-1",
        "serialization_type": PORTABLE,
    }
    assert DBOS.enqueue_workflow_with_options(options, WHEN).get_result() is True
    assert _row(dbos_storage, "opt-1").serialization == "portable_json"


def test_the_portable_serializer_as_the_configured_serializer(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    """Configured as the serializer, portable JSON is every row's format (marked so), errors
    included: nothing is ever pickled."""

    @DBOS.step()
    def when_step() -> dt.datetime:
        return WHEN

    @DBOS.workflow()
    def uses_steps() -> Any:
        return when_step()

    @DBOS.workflow()
    def returns_object() -> Any:
        return object()

    @DBOS.workflow()
    def raises() -> None:
        raise KeyError("k")

    launch(serializer=DBOSPortableJSONSerializer())
    assert DBOSPortableJSONSerializer().name() == "portable_json"
    with SetWorkflowID("conf-1"):
        assert uses_steps() == WHEN  # the first run's own value
    row = _row(dbos_storage, "conf-1")
    assert row.serialization == "portable_json"
    assert json.loads(row.output) == "2024-05-01T12:30:15.250Z"
    (step,) = dbos_storage.load_steps("conf-1")
    assert step.output == '"2024-05-01T12:30:15.250Z"'
    with SetWorkflowID("conf-2"), pytest.raises(DBOSSerializationError, match="no portable"):
        returns_object()
    with SetWorkflowID("conf-3"), pytest.raises(KeyError):
        raises()
    assert json.loads(_row(dbos_storage, "conf-3").error)["name"] == "KeyError"
    with pytest.raises(PortableWorkflowError):
        DBOS.retrieve_workflow("conf-3").get_result()


def test_a_bad_serialization_type_is_refused_at_declaration() -> None:
    with pytest.raises(DBOSConfigError, match="serialization_type"):
        DBOS.workflow(serialization_type="xml")  # type: ignore[arg-type]


def test_workflow_serialization_format_has_dbos_members() -> None:
    assert [m.name for m in WorkflowSerializationFormat] == ["PORTABLE", "NATIVE", "DEFAULT"]
    assert WorkflowSerializationFormat.PORTABLE.value == "portable"
    assert WorkflowSerializationFormat.NATIVE.value == "native"


# --- validate_args -------------------------------------------------------------------------


def test_pydantic_validation_converts_and_refuses_stored_arguments(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    pytest.importorskip("pydantic", reason="the dbos-core[pydantic] extra is not installed")
    queue = Queue("validated")

    @DBOS.workflow(name="validated_workflow", validate_args=pydantic_args_validator)
    def validated(name: str, count: int, when: dt.datetime | None = None) -> Any:
        return [name, count, when]

    launch()
    # Strings where the hints say int and datetime: what another language or SQL may send.
    loose: Any = validated
    good = queue.enqueue(loose, "a", "7", when="2024-05-01T12:30:15.250Z")
    assert good.get_result() == ["a", 7, WHEN]

    bad = queue.enqueue(loose, "a", "seven")
    with pytest.raises(ValueError, match="Argument 'count' \\(position 1\\)"):
        bad.get_result()
    status = DBOS.get_workflow_status(bad.workflow_id)
    assert status is not None and status.status == "ERROR"

    dbos_storage.create_workflow(
        NewWorkflow(
            workflow_id="missing",
            name="validated_workflow",
            inputs='{"positionalArgs":["a"]}',
            executor_id=None,
            application_version=None,
            created_at_ms=1,
            queue_name=queue.name,
            status="ENQUEUED",
            serialization="portable_json",
        )
    )
    with pytest.raises(PortableWorkflowError, match="Missing required argument: 'count'"):
        DBOS.retrieve_workflow("missing").get_result()


def test_a_custom_validator_gets_stored_arguments(launch: Launch) -> None:
    queue = Queue("custom_validated")
    calls: list[Any] = []

    def upper(
        args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        calls.append((args, kwargs))
        return tuple(str(a).upper() for a in args), kwargs

    @DBOS.workflow(validate_args=upper)
    def shout(word: str) -> str:
        return word

    launch()
    assert shout("direct") == "direct"  # a direct call is not validated (DBOS semantics)
    assert queue.enqueue(shout, "queued").get_result() == "QUEUED"
    assert calls == [(("queued",), {})]


def test_make_pydantic_args_validator_directly() -> None:
    pytest.importorskip("pydantic", reason="the dbos-core[pydantic] extra is not installed")

    def f(a: int, *rest: int, b: str = "x", **extra: float) -> None:
        pass

    validate = make_pydantic_args_validator(f)
    assert validate(("1", "2", 3), {"b": "y", "z": "1.5"}) == ((1, 2, 3), {"b": "y", "z": 1.5})
    with pytest.raises(ValueError, match="Missing required argument: 'a'"):
        validate((), {})
    with pytest.raises(ValueError, match="Argument at position 1"):
        validate((1, "no"), {})
    with pytest.raises(Exception, match="marker"):
        pydantic_args_validator((), {})


def test_without_pydantic_the_validator_says_what_to_install() -> None:
    """Core imports and runs without pydantic; asking for the validator says what to install."""
    code = (
        "import sys; sys.modules['pydantic'] = None\n"
        "import dbos\n"
        "from dbos import DBOS, pydantic_args_validator\n"
        "@DBOS.workflow()\n"
        "def plain(x: int) -> int: return x\n"
        "try:\n"
        "    @DBOS.workflow(validate_args=pydantic_args_validator)\n"
        "    def checked(x: int) -> int: return x\n"
        "except ImportError as exc:\n"
        "    print('refused:', exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "refused: pydantic_args_validator needs pydantic" in done.stdout
    assert "dbos-core[pydantic]" in done.stdout


def test_the_portable_example_runs(dbos_system_database_url: str) -> None:
    """examples/portable.py, in its own process, on the test's backend (on Postgres it also
    enqueues from SQL)."""
    import os
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "examples" / "portable.py"
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
    assert "billing acme: 12.50 (Decimal) due 2030-01-31" in out
    assert "'due': '2030-01-31T00:00:00.000Z', 'amount': '12.50'" in out
    assert "refused: Argument 'count'" in out
    assert "portable error: BlockedCustomer 403 mallory is blocked {'why': 'fraud'}" in out
    if dbos_system_database_url.startswith("postgresql"):
        assert "billing globex: 99 (Decimal) due 2030-02-28" in out
