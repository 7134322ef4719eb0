from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum

import pytest

from dbos import DBOSRemoteError, DBOSSerializationError, JsonPickleSerializer
from dbos._serialization import PICKLE_KEY, Codec


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


def test_error_that_cannot_be_rebuilt_becomes_remote_error() -> None:
    codec = Codec(JsonPickleSerializer())
    restored = codec.decode_error(codec.encode_error(NeedsTwoArgs(1, 2)))
    assert isinstance(restored, DBOSRemoteError)
    assert restored.type_name.endswith("NeedsTwoArgs")
    assert restored.message == "1/2"


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
