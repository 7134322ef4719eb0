"""DBOS's portable JSON format: values every language's SDK can read and write.

A portable value is plain JSON. Python values JSON has no type for are converted when they are
written (DBOS Transact 3.4's rules): a `datetime` becomes an RFC 3339 UTC string with
milliseconds and a ``Z`` (a naive one is taken as UTC), a `date` its ISO date, a `Decimal` its
fixed-point string, tuples and sets lists. Anything else (a class instance, a dict with
non-string keys) is refused with `DBOSSerializationError`: portable means no pickle, ever, so
reading a portable value never runs code.

Workflow inputs are ``{"positionalArgs": [...], "namedArgs": {...}}`` and an error is
``{"name", "message", "code", "data"}``, read back as `PortableWorkflowError`. A row says which
format its values use in its ``serialization`` column (``"portable_json"``; None is this
library's own format, see `serialization.py`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import json
import math
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from .errors import DBOSSerializationError, PortableWorkflowError
from .serialization import (
    PICKLE_KEY,
    Codec,
    LenientCodec,
    Serializer,
    UnreadableValue,
    _storable,
    error_from_record,
    error_text,
)

#: The ``serialization`` marker of rows whose values are portable JSON (DBOS 3.4's name).
PORTABLE_JSON = "portable_json"

#: A JSON value as Python holds it after ``json.loads``.
JsonValue = Any


class WorkflowSerializationFormat(str, Enum):
    """Which format a workflow's values are stored in (DBOS Transact 3.4's names).

    ``PORTABLE``: portable JSON, readable by every language's SDK and from SQL. ``NATIVE``:
    this library's own format (JSON where exact, tagged pickle elsewhere). ``DEFAULT``: the
    configured serializer's format (for a workflow started with portable inputs, such as one
    enqueued from SQL, its own format).
    """

    PORTABLE = "portable"
    NATIVE = "native"
    DEFAULT = None  # DBOS 3.4's member; its value is the string "None"


def serialization_for(fmt: WorkflowSerializationFormat | str | None) -> str | None:
    """The row marker for a `WorkflowSerializationFormat` (or its value): ``"portable_json"``
    for PORTABLE, None (this library's format) for NATIVE, DEFAULT and None.

    Raises:
        DBOSSerializationError: `fmt` is none of those.
    """
    if fmt is None:
        return None
    try:
        member = WorkflowSerializationFormat(fmt)
    except ValueError:
        raise DBOSSerializationError(
            f"serialization_type must be a WorkflowSerializationFormat "
            f"('portable' or 'native'), got {fmt!r}"
        ) from None
    return PORTABLE_JSON if member is WorkflowSerializationFormat.PORTABLE else None


def _utc_text(value: dt.datetime) -> str:
    value = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value
    text = value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _at(where: str) -> str:
    return f"at {where}: " if where else ""


def to_portable(value: Any, where: str = "") -> JsonValue:
    """`value` as a portable JSON value (see the module's rules).

    Raises:
        DBOSSerializationError: a value of a type the portable format has no form for, a
            non-finite float, or a dict key that is not a string; the message says where.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DBOSSerializationError(f"{_at(where)}{value} has no portable JSON form")
        return value
    if isinstance(value, dt.datetime):
        return _utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_portable(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise DBOSSerializationError(
                    f"{_at(where)}portable JSON objects need string keys, got {key!r}"
                )
            if key == PICKLE_KEY:  # ours: a value without a marker must never read as a pickle
                raise DBOSSerializationError(
                    f"{_at(where)}the key {PICKLE_KEY!r} is reserved in portable JSON"
                )
            out[key] = to_portable(item, f"{where}[{key!r}]")
        return out
    raise DBOSSerializationError(
        f"{_at(where)}a value of type {type(value).__qualname__} has no portable JSON form "
        "(portable values are JSON, datetimes, dates, Decimals, lists, tuples, sets and dicts "
        "with string keys)"
    )


def _dumps(value: JsonValue) -> str:
    return _storable(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _loads(text: str, what: str) -> JsonValue:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DBOSSerializationError(f"stored portable {what} is not valid JSON: {exc}") from exc


class DBOSPortableJSONSerializer:
    """A `Serializer` that writes portable JSON (DBOS Transact 3.4's name and rules): give it
    as ``config["serializer"]`` and every value this process stores is portable. It never
    unpickles, so it is also safe on an untrusted database."""

    def name(self) -> str:
        """``"portable_json"``, the row marker of values it writes."""
        return PORTABLE_JSON

    def serialize(self, value: Any) -> str:
        """`value` as portable JSON text.

        Raises:
            DBOSSerializationError: `value` has no portable form (see `to_portable`).
        """
        return _dumps(to_portable(value))

    def deserialize(self, text: str) -> Any:
        """The JSON value stored as `text` (datetimes come back as strings: see
        `coerce_to_hints`).

        Raises:
            DBOSSerializationError: `text` is not JSON.
        """
        return _loads(text, "value")


def error_record(error: BaseException) -> dict[str, JsonValue]:
    """`error` as a portable error object: its type name, message, an application code (from
    its ``code``, ``error_code``, ``errno``, ``status`` or ``status_code`` attribute, if an int
    or str) and data (its ``data``, ``details`` or ``payload`` attribute, made portable, or its
    text where it has no portable form). A `PortableWorkflowError` keeps its own fields."""
    if isinstance(error, PortableWorkflowError):
        name, message, code, data = error.name, error.message, error.code, error.data
    else:
        name, message, code, data = type(error).__name__, error_text(error), None, None
        for attribute in ("code", "error_code", "errno", "status", "status_code"):
            found = getattr(error, attribute, None)
            if isinstance(found, (int, str)) and not isinstance(found, bool):
                code = found
                break
        for attribute in ("data", "details", "payload"):
            found = getattr(error, attribute, None)
            if found is not None and not callable(found):
                try:
                    data = to_portable(found)
                except DBOSSerializationError:
                    data = error_text(Exception(found))
                break
    record: dict[str, JsonValue] = {"name": name, "message": message, "code": code}
    if data is not None:
        record["data"] = to_portable(data, "data")
    return record


def inputs_from_json(decoded: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(args, kwargs)`` from decoded portable inputs (``positionalArgs`` and
    ``namedArgs``, each optional).

    Raises:
        DBOSSerializationError: not an object, or the two fields have the wrong JSON types.
    """
    if not isinstance(decoded, dict):
        raise DBOSSerializationError("stored portable workflow inputs are not a JSON object")
    positional = decoded.get("positionalArgs") or []
    named = decoded.get("namedArgs") or {}
    if not isinstance(positional, list) or not isinstance(named, dict):
        raise DBOSSerializationError(
            "stored portable workflow inputs need positionalArgs as an array and namedArgs as "
            "an object"
        )
    return tuple(positional), dict(named)


class PortableCodec(Codec):
    """The codec of rows marked ``"portable_json"``: portable JSON in, portable JSON out, and
    never a pickle (a portable value with a ``__dbos_pickle__`` key is just a dict here)."""

    def __init__(self) -> None:
        super().__init__(DBOSPortableJSONSerializer())

    def encode_value(self, value: Any, what: str | None = None) -> str:
        try:
            return _dumps(to_portable(value))
        except DBOSSerializationError as exc:
            if what is None:
                raise
            raise DBOSSerializationError(
                f"{what} cannot be stored as portable JSON: {exc}"
            ) from exc

    def decode_value(self, text: str | None) -> Any:
        return None if text is None else _loads(text, "value")

    def encode_inputs(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        workflow: str = "the workflow",
        function: Callable[..., Any] | None = None,
    ) -> str:
        try:
            return _dumps(
                {
                    "positionalArgs": to_portable(list(args), "args"),
                    "namedArgs": to_portable(kwargs, "kwargs"),
                }
            )
        except DBOSSerializationError as exc:
            raise DBOSSerializationError(
                f"the inputs of workflow {workflow!r} cannot be stored as portable JSON: {exc}"
            ) from exc

    def decode_inputs(self, text: str | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if text is None:
            return (), {}
        return inputs_from_json(_loads(text, "workflow inputs"))

    def encode_error(self, error: BaseException, where: str = "a workflow") -> str:
        return _dumps(error_record(error))

    def decode_error(self, text: str | None) -> BaseException:
        if text is None:
            return PortableWorkflowError("no error was recorded", "UnknownError")
        try:
            found = error_from_record(json.loads(text))
        except ValueError:
            found = None
        return found or PortableWorkflowError(text, "UnknownError")


class LenientPortableCodec(PortableCodec):
    """`PortableCodec` for management tools: text that is not JSON comes back as an
    `UnreadableValue` instead of raising."""

    def decode_value(self, text: str | None) -> Any:
        try:
            return super().decode_value(text)
        except DBOSSerializationError as exc:
            assert text is not None
            return UnreadableValue(text, str(exc))

    def decode_inputs(self, text: str | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        try:
            return super().decode_inputs(text)
        except DBOSSerializationError as exc:
            assert text is not None
            return (UnreadableValue(text, str(exc)),), {}


class _UnknownFormatCodec(LenientCodec):
    """What a management tool reads a row of an unknown format with: every value is an
    `UnreadableValue` saying so."""

    def __init__(self, serialization: str) -> None:
        super().__init__(DBOSPortableJSONSerializer())
        self._reason = (
            f"stored with serialization {serialization!r}, which this library cannot read"
        )

    def decode_value(self, text: str | None) -> Any:
        return None if text is None else UnreadableValue(text, self._reason)

    def decode_inputs(self, text: str | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return ((), {}) if text is None else ((UnreadableValue(text, self._reason),), {})

    def decode_error(self, text: str | None) -> BaseException:
        return DBOSSerializationError(f"the error was {self._reason}")


def configured_codec(serializer: Serializer) -> Codec:
    """The engine's codec for a configured serializer: a `PortableCodec` for a
    `DBOSPortableJSONSerializer` (every value portable, errors included, and never a
    pickle), else a `Codec` over it."""
    if isinstance(serializer, DBOSPortableJSONSerializer):
        return PortableCodec()
    return Codec(serializer)


def default_serialization(codec: Codec) -> str | None:
    """The row marker of values `codec` writes by default: "portable_json" for a portable
    codec, None (this library's format, or the configured serializer's) otherwise."""
    return PORTABLE_JSON if isinstance(codec, PortableCodec) else None


def codec_for(codec: Codec, serialization: str | None) -> Codec:
    """The codec that reads and writes values marked `serialization`: `codec` itself for None
    (this library's format, or the configured serializer), a portable codec (lenient if
    `codec` is) for ``"portable_json"``.

    Raises:
        DBOSSerializationError: a marker this library has no reader for (such as DBOS
            Transact's ``"py_pickle"``).
    """
    if serialization is None:
        return codec
    if serialization == PORTABLE_JSON:
        return LenientPortableCodec() if isinstance(codec, LenientCodec) else PortableCodec()
    if isinstance(codec, LenientCodec):
        return _UnknownFormatCodec(serialization)
    raise DBOSSerializationError(
        f"values stored with serialization {serialization!r} cannot be read here "
        f"(this library reads its own format and {PORTABLE_JSON!r})"
    )


def _coerce(value: Any, hint: Any) -> Any:
    """`value` converted to `hint` where portable JSON lost the type (a datetime or date sent
    as a string, a Decimal as a string or number, a tuple as a list); otherwise unchanged."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _coerce(value, options[0]) if len(options) == 1 else value
    with contextlib.suppress(ValueError, TypeError, ArithmeticError):
        if hint is dt.datetime and isinstance(value, str):
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if hint is dt.date and isinstance(value, str):
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        if hint is Decimal and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return Decimal(str(value))
        if (hint is tuple or origin is tuple) and isinstance(value, list):
            return tuple(value)
    return value


def coerce_to_hints(
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    skip_first: bool = False,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Portable arguments converted to `function`'s type hints where JSON lost their type
    (DBOS 3.4 does datetimes and dates; this library also Decimals and tuples, and
    ``Optional[...]`` of those). Values that do not parse are left as they are. `skip_first`
    drops the leading ``self``/``cls`` parameter, which stored arguments do not include."""
    try:
        hints = typing.get_type_hints(function)
        parameters = list(inspect.signature(function).parameters.values())
    except Exception:  # unresolvable annotations: nothing to coerce to
        return args, kwargs
    if not hints:
        return args, kwargs
    if skip_first:
        parameters = parameters[1:]
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    coerced = tuple(
        _coerce(value, hints.get(positional[index].name)) if index < len(positional) else value
        for index, value in enumerate(args)
    )
    return coerced, {key: _coerce(value, hints.get(key)) for key, value in kwargs.items()}
