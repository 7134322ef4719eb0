from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from enum import Enum

import pytest

from dbos import DBOSRemoteError, DBOSSerializationError, JsonPickleSerializer
from dbos._base.serialization import PICKLE_KEY, Codec


@dataclass
class Point:
    x: int
    y: int


class Color(str, Enum):
    RED = "red"


class NeedsTwoArgs(Exception):
    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a}/{b}")


@pytest.mark.parametrize(
    "value",
    [None, True, 0, -5, 10**30, 1.5, "", 'héllo "quoted" \n', [1, "a", None], {"k": [1, {"n": 2}]}],
)
def test_plain_json_values_are_stored_as_readable_json(value: object) -> None:
    text = JsonPickleSerializer().serialize(value)
    assert json.loads(text) == value
    assert PICKLE_KEY not in text
    assert JsonPickleSerializer().deserialize(text) == value


@pytest.mark.parametrize(
    "value",
    [
        (1, 2),
        {1: "int key"},
        {"nested": (1,)},
        Point(1, 2),
        Color.RED,
        float("nan"),
        {PICKLE_KEY: "looks like a tag"},
        b"bytes",
        {1, 2},
    ],
)
def test_values_json_cannot_carry_exactly_round_trip_through_pickle(value: object) -> None:
    serializer = JsonPickleSerializer()
    text = serializer.serialize(value)
    assert PICKLE_KEY in json.loads(text)
    restored = serializer.deserialize(text)
    assert type(restored) is type(value)
    if not (isinstance(value, float) and math.isnan(value)):
        assert restored == value


def test_strict_mode_refuses_to_unpickle() -> None:
    text = JsonPickleSerializer().serialize(Point(1, 2))
    with pytest.raises(DBOSSerializationError, match="strict"):
        JsonPickleSerializer(strict=True).deserialize(text)
    assert JsonPickleSerializer(strict=True).deserialize('{"a": 1}') == {"a": 1}


def test_unserializable_value_names_its_type() -> None:
    with pytest.raises(DBOSSerializationError, match="generator"):
        JsonPickleSerializer().serialize(x for x in range(3))


def test_inputs_round_trip_args_as_tuple() -> None:
    codec = Codec(JsonPickleSerializer())
    text = codec.encode_inputs((1, "two", (3,)), {"k": Point(0, 1)})
    assert codec.decode_inputs(text) == ((1, "two", (3,)), {"k": Point(0, 1)})


def test_errors_keep_their_class_and_a_readable_form() -> None:
    codec = Codec(JsonPickleSerializer())
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        text = codec.encode_error(exc)
    readable = json.loads(text)["__dbos_error__"]
    assert readable["type"] == "builtins.ValueError"
    assert readable["message"] == "bad value"
    assert "raise ValueError" in readable["traceback"]
    restored = codec.decode_error(text)
    assert isinstance(restored, ValueError)
    assert str(restored) == "bad value"


class Coded(Exception):
    """Constructor parameters that are not its args, attributes set in __init__."""

    def __init__(self, code: int, detail: str, *, cause: BaseException | None = None) -> None:
        super().__init__(f"error {code}: {detail}")
        self.code = code
        self.detail = detail
        self.inner = cause


class CodedOSError(OSError):
    def __init__(self, code: int) -> None:
        super().__init__(code, "os-level failure")
        self.code = code


def test_error_with_other_constructor_arguments_comes_back_as_its_class() -> None:
    codec = Codec(JsonPickleSerializer())
    restored = codec.decode_error(codec.encode_error(NeedsTwoArgs(1, 2)))
    assert type(restored) is NeedsTwoArgs
    assert restored.args == ("1/2",)

    original = Coded(422, "malformed", cause=Coded(7, "inner"))
    vars(original)["__notes__"] = ["while checking order 1"]  # add_note (3.11+) stores this
    restored = codec.decode_error(codec.encode_error(original))
    assert type(restored) is Coded
    assert (restored.code, restored.detail, restored.args) == (422, "malformed", original.args)
    assert type(restored.inner) is Coded and restored.inner.code == 7
    assert vars(restored)["__notes__"] == ["while checking order 1"]
    assert str(restored) == "error 422: malformed"


def test_error_classes_with_their_own_pickling_keep_their_fields() -> None:
    codec = Codec(JsonPickleSerializer())
    restored = codec.decode_error(codec.encode_error(CodedOSError(5)))
    assert type(restored) is CodedOSError
    assert (restored.errno, restored.strerror, restored.code) == (5, "os-level failure", 5)


def test_unpicklable_attributes_are_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    codec = Codec(JsonPickleSerializer())
    error = Coded(1, "has a lock")
    error.lock = threading.Lock()  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="dbos"):
        restored = codec.decode_error(codec.encode_error(error, "step 'x' of workflow 'wf-1'"))
    assert type(restored) is Coded
    assert restored.code == 1 and not hasattr(restored, "lock")
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "step 'x' of workflow 'wf-1'" in record.getMessage()
    assert "'lock'" in record.getMessage()


def test_error_whose_class_cannot_be_imported_becomes_remote_error_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class LocalError(Exception):
        pass

    codec = Codec(JsonPickleSerializer())
    with caplog.at_level(logging.WARNING, logger="dbos"):
        text = codec.encode_error(LocalError("boom"), "workflow 'wf-2' (app.job)")
    restored = codec.decode_error(text)
    assert isinstance(restored, DBOSRemoteError)
    assert restored.type_name.endswith("LocalError")
    assert restored.message == "boom"
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert "workflow 'wf-2' (app.job)" in message and "LocalError" in message
    assert "DBOSRemoteError" in message


def test_strict_mode_reads_errors_without_unpickling() -> None:
    text = Codec(JsonPickleSerializer()).encode_error(KeyError("k"))
    restored = Codec(JsonPickleSerializer(strict=True)).decode_error(text)
    assert isinstance(restored, DBOSRemoteError)
    assert restored.type_name == "builtins.KeyError"


def _all_error_classes() -> list[type[BaseException]]:
    import dbos

    return [
        value
        for value in vars(dbos).values()
        if isinstance(value, type) and issubclass(value, dbos.DBOSException)
    ]


@pytest.mark.parametrize("error_class", _all_error_classes(), ids=lambda c: c.__name__)
def test_every_library_error_survives_storage_with_its_class(
    error_class: type[BaseException],
) -> None:
    # An error read back from the database (another process, or after a restart) must be the
    # same class as the one raised in-process, or `except`/`isinstance` behave differently.
    import inspect

    samples: dict[str, object] = {
        "max_attempts": 3,
        "function_id": 2,
        "errors": [ValueError("x")],
        "start_step": 4,
        "recorded_steps": 3,
    }
    if "__init__" not in vars(error_class) and error_class.__init__ is Exception.__init__:
        args: list[object] = ["message"]
    else:
        parameters = list(inspect.signature(error_class).parameters.values())
        args = [samples.get(p.name, f"{p.name}-value") for p in parameters if p.default is p.empty]
    original = error_class(*args)
    codec = Codec(JsonPickleSerializer())
    restored = codec.decode_error(codec.encode_error(original))
    assert type(restored) is error_class
    assert str(restored) == str(original)


def test_an_explicit_cause_comes_back_with_its_error() -> None:
    codec = Codec(JsonPickleSerializer())
    try:
        try:
            raise Coded(503, "upstream down")
        except Coded as low:
            raise RuntimeError("charge failed") from low
    except RuntimeError as exc:
        text = codec.encode_error(exc)
    restored = codec.decode_error(text)
    assert type(restored) is RuntimeError and str(restored) == "charge failed"
    cause = restored.__cause__
    assert isinstance(cause, Coded) and (cause.code, cause.detail) == (503, "upstream down")
    # Under strict serialization both come back as DBOSRemoteError, chain kept.
    strict = Codec(JsonPickleSerializer(strict=True)).decode_error(text)
    assert isinstance(strict, DBOSRemoteError) and isinstance(strict.__cause__, DBOSRemoteError)
    assert strict.__cause__.type_name.endswith("Coded")
