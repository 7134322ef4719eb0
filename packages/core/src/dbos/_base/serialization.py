"""How workflow inputs, step outputs and errors become stored text, and back.

Values that JSON carries exactly (dict with str keys, list, str, int, finite float, bool, None,
nested) are stored as plain JSON text, so they are readable from SQL (``output::jsonb``). Any
other value is pickled and stored as ``{"__dbos_pickle__": "<base64>"}``. A plain dict that has
that key is itself pickled, so decoding is never ambiguous. In strict mode the decoder refuses
pickled values: a compromised database must not mean code execution in the app.

Errors are stored as a JSON object with the exception's type, message and traceback text (for
people and other languages) and, where possible, the pickled exception, so that a replay raises
an instance of the same class and `except` clauses take the same path as on the first run. An
exception whose constructor takes other arguments than its `args` (which plain pickling cannot
rebuild) is stored as its class, `args` and instance attributes, and rebuilt without calling
`__init__`. Only an exception whose class cannot be imported (defined inside a function), or
any exception under strict serialization, comes back as `DBOSRemoteError`; the first case is
logged as a WARNING when it is recorded.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import io
import json
import logging
import math
import pickle
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import DBOSRemoteError, DBOSSerializationError, PortableWorkflowError

PICKLE_KEY = "__dbos_pickle__"

#: One encoder for every plain-JSON value: `json.dumps` with non-default options builds a new
#: encoder on each call, a measurable share of a no-op step's client CPU.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ERROR_KEY = "__dbos_error__"
#: How many links of a `raise ... from` chain an error's record keeps.
_MAX_CAUSES = 5

logger = logging.getLogger("dbos")


class Serializer(Protocol):
    """Turns values into text and back. Implement it to plug in another format."""

    def serialize(self, value: Any) -> str:
        """`value` as text. Raise `DBOSSerializationError` for a value the format cannot hold; the
        engine adds what the value was (an argument, a step's return value) to the message."""

    def deserialize(self, text: str) -> Any:
        """The value that `serialize` turned into `text`. Raise `DBOSSerializationError` for text it
        cannot read."""


def _is_plain_json(value: Any) -> bool:
    """True if JSON round-trips `value` to an equal object of exactly the same types."""
    kind = type(value)
    if value is None or kind in (str, bool, int):
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(_is_plain_json(item) for item in value)
    if kind is dict:
        return PICKLE_KEY not in value and all(
            type(key) is str and _is_plain_json(item) for key, item in value.items()
        )
    return False


def _storable(text: str) -> str:
    r"""`text` if the database can store it: a lone surrogate (``"\ud800"``, from a
    ``surrogateescape`` decode for example) cannot be encoded as UTF-8, and the driver would
    fail on it with a bare `UnicodeEncodeError` at insert time."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = text[exc.start : exc.end]
            raise DBOSSerializationError(
                f"a string with a lone surrogate ({bad!a}) cannot be stored as UTF-8 "
                "(decode bytes with errors='replace', or pass them as bytes)"
            ) from None
    return text


def _labelled_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], function: Callable[..., Any] | None
) -> list[tuple[str, Any]]:
    """Each argument with a label for messages: ``argument 'order' (position 0)``, or
    ``argument at position 3`` where the parameter has no name (``*args``, or no function)."""
    names: list[str] = []
    parameters: list[inspect.Parameter] = []
    if function is not None:
        # Without a signature (a builtin), positions will do.
        with contextlib.suppress(TypeError, ValueError):
            parameters = list(inspect.signature(function).parameters.values())
        for parameter in parameters:
            if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                break
            names.append(parameter.name)
    labelled = [
        (
            f"argument {names[index]!r} (position {index})"
            if index < len(names)
            else f"argument at position {index}",
            value,
        )
        for index, value in enumerate(args)
    ]
    labelled.extend((f"argument {name!r}", value) for name, value in kwargs.items())
    return labelled


@dataclass(frozen=True)
class JsonPickleSerializer:
    """JSON where it is exact, tagged pickle elsewhere; `strict` refuses to unpickle."""

    strict: bool = False

    def serialize(self, value: Any) -> str:
        """Plain JSON if `value` round-trips through JSON exactly, else ``{"__dbos_pickle__":
        "<base64 pickle>"}``.

        Raises:
            DBOSSerializationError: `value` cannot be pickled (a lock, a generator, a local class).
        """
        if value is None:
            return "null"
        if _is_plain_json(value):
            return _JSON.encode(value)
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise DBOSSerializationError(
                f"a value of type {type(value).__qualname__} cannot be serialized: {exc}"
            ) from exc
        return json.dumps({PICKLE_KEY: base64.b64encode(data).decode("ascii")})

    def deserialize(self, text: str) -> Any:
        """The value `serialize` stored as `text`.

        Raises:
            DBOSSerializationError: `text` is not JSON, its pickle cannot be loaded (its class is
                gone, for example), or it is pickled and `strict` is set.
        """
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise DBOSSerializationError(f"stored value is not valid JSON: {exc}") from exc
        if type(value) is dict and PICKLE_KEY in value:
            if self.strict:
                raise DBOSSerializationError(
                    "stored value is pickled and strict serialization refuses to unpickle it"
                )
            try:
                return pickle.loads(base64.b64decode(value[PICKLE_KEY]))
            except Exception as exc:
                raise DBOSSerializationError(f"cannot unpickle stored value: {exc}") from exc
        return value


class Codec:
    """The engine's view of serialization: inputs, values and errors."""

    def __init__(self, serializer: Serializer) -> None:
        self.serializer = serializer

    def encode_value(self, value: Any, what: str | None = None) -> str:
        """`value` as storable text.

        Args:
            value: Any value the serializer accepts.
            what: What the value is, for the error message (e.g. ``"the return value of
                step 'fetch'"``).

        Raises:
            DBOSSerializationError: the value cannot be serialized, or its text cannot be
                stored (a lone surrogate in a string); the message starts with `what`.
        """
        try:
            return _storable(self.serializer.serialize(value))
        except DBOSSerializationError as exc:
            if what is None:
                raise
            raise DBOSSerializationError(f"{what} cannot be stored: {exc}") from exc

    def decode_value(self, text: str | None) -> Any:
        """The value stored as `text` (None for None). Raises what the serializer raises,
        normally `DBOSSerializationError`."""
        return None if text is None else self.serializer.deserialize(text)

    def encode_inputs(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        workflow: str = "the workflow",
        function: Callable[..., Any] | None = None,
    ) -> str:
        """A workflow's arguments as storable text.

        Args:
            args: Positional arguments.
            kwargs: Keyword arguments.
            workflow: The workflow's registered name, for error messages.
            function: The workflow function, if known: errors then name positional arguments
                by their parameter names.

        Raises:
            DBOSSerializationError: an argument cannot be stored; the message names it, e.g.
                ``argument 'order' (position 0) of workflow 'process' cannot be stored: ...``.
        """
        try:
            return _storable(self.serializer.serialize({"args": list(args), "kwargs": kwargs}))
        except DBOSSerializationError as exc:
            for label, value in _labelled_arguments(args, kwargs, function):
                try:
                    _storable(self.serializer.serialize(value))
                except DBOSSerializationError as culprit:
                    raise DBOSSerializationError(
                        f"{label} of workflow {workflow!r} cannot be stored: {culprit}"
                    ) from culprit
            # Each argument alone is fine; only the whole is not (a custom serializer).
            raise DBOSSerializationError(
                f"the inputs of workflow {workflow!r} cannot be stored: {exc}"
            ) from exc

    def decode_inputs(self, text: str | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """A workflow's stored arguments as ``(args, kwargs)``; ``((), {})`` for None.

        Raises:
            DBOSSerializationError: the text cannot be read, or is not the ``{"args": [...],
                "kwargs": {...}}`` shape that `encode_inputs` writes.
        """
        if text is None:
            return (), {}
        decoded = self.serializer.deserialize(text)
        if isinstance(decoded, dict) and "args" not in decoded and "positionalArgs" in decoded:
            # Portable inputs in a row without the marker (written by another tool).
            positional, named = decoded["positionalArgs"], decoded.get("namedArgs") or {}
            if isinstance(positional, list) and isinstance(named, dict):
                return tuple(positional), dict(named)
        if not isinstance(decoded, dict) or "args" not in decoded:
            raise DBOSSerializationError("stored workflow inputs are malformed")
        return tuple(decoded["args"]), dict(decoded.get("kwargs") or {})

    def encode_error(self, error: BaseException, where: str = "a workflow") -> str:
        """The stored form of `error`. `where` names what raised it (for example ``"step
        'charge' of workflow 'order-1'"``) in the WARNING logged when the exception cannot be
        stored so that a replay rebuilds it as its own class. An explicit cause (``raise ...
        from cause``) is stored with it, and rebuilt as its `__cause__`."""
        return json.dumps({_ERROR_KEY: self._error_record(error, where, 0)}, ensure_ascii=False)

    def _error_record(self, error: BaseException, where: str, depth: int) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": f"{type(error).__module__}.{type(error).__qualname__}",
            "message": error_text(error),
        }
        if depth == 0:  # the full traceback text already shows the chain
            record["traceback"] = _storable_text(lambda: "".join(traceback.format_exception(error)))
        data, problem = pickle_exception(error)
        if data is not None:
            record[PICKLE_KEY] = base64.b64encode(data).decode("ascii")
        if problem is not None:
            logger.warning(
                "%s raised %s, which cannot be stored faithfully (%s): %s",
                where,
                record["type"],
                problem,
                "a replay raises it without those attributes"
                if data is not None
                else "a replay raises DBOSRemoteError instead",
            )
        cause = error.__cause__
        if cause is not None and depth < _MAX_CAUSES:
            where = f"{where} (as the cause of {record['type']})"
            record["cause"] = self._error_record(cause, where, depth + 1)
        return record

    def decode_error(self, text: str | None) -> BaseException:
        """The exception stored as `text`, rebuilt as its own class with its explicit cause where
        it can be unpickled; otherwise (its class cannot be imported, the serializer is strict, or
        the record is not one `encode_error` wrote) a `DBOSRemoteError` carrying its type name,
        message and traceback text. None gives ``DBOSRemoteError("UnknownError", ...)``. Never
        raises."""
        if text is None:
            return DBOSRemoteError("UnknownError", "no error was recorded")
        try:
            decoded = json.loads(text)
        except ValueError:
            return DBOSRemoteError("UnknownError", text)
        record = decoded.get(_ERROR_KEY) if isinstance(decoded, dict) else None
        if not isinstance(record, dict):
            # A portable error object (a step of a portable workflow, another language's
            # SDK) says what it is by its shape.
            return error_from_record(decoded) or DBOSRemoteError("UnknownError", text)
        return self._rebuild_error(record)

    def _rebuild_error(self, record: dict[str, Any]) -> BaseException:
        error: BaseException | None = None
        pickled = record.get(PICKLE_KEY)
        strict = isinstance(self.serializer, JsonPickleSerializer) and self.serializer.strict
        if pickled is not None and not strict:
            try:
                loaded = pickle.loads(base64.b64decode(pickled))
                if isinstance(loaded, BaseException):
                    error = loaded
            except Exception:
                pass
        if error is None:
            error = DBOSRemoteError(
                str(record.get("type", "UnknownError")),
                str(record.get("message", "")),
                record.get("traceback"),
            )
        cause = record.get("cause")
        if isinstance(cause, dict):
            error.__cause__ = self._rebuild_error(cause)
        return error


def error_from_record(record: Any) -> PortableWorkflowError | None:
    """The `PortableWorkflowError` a portable error object stands for, or None if `record` is
    not one (a dict with a string ``message``)."""
    if not isinstance(record, dict) or not isinstance(record.get("message"), str):
        return None
    code = record.get("code")
    return PortableWorkflowError(
        record["message"],
        str(record.get("name") or "Error"),
        code if isinstance(code, (int, str)) and not isinstance(code, bool) else None,
        record.get("data"),
    )


def error_text(error: BaseException) -> str:
    """`str(error)`, storable and printable whatever the exception's `__str__` does."""
    return _storable_text(lambda: str(error))


def _storable_text(render: Callable[[], str]) -> str:
    """Text for an error's readable form that any database can store: lone surrogates (which
    UTF-8 cannot encode) become backslash escapes, and an exception whose `__str__` itself
    fails is described instead of failing the write of its workflow's outcome."""
    try:
        text = render()
    except Exception as exc:
        text = f"<the error could not be rendered as text: {type(exc).__name__}>"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def rebuild_exception(
    cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]
) -> BaseException:
    """An instance of `cls` with `args` and instance attributes `state`, made without calling
    its `__init__` (whose parameters may not be its `args`). Unpickling calls it by name."""
    try:
        error = cls.__new__(cls, *args)
    except TypeError:  # a __new__ with parameters of its own
        error = cls.__new__(cls)
    # The nearest built-in base's __init__ sets `args` and the fields a built-in derives
    # from them (OSError's errno and strerror, for example): what `super().__init__` did.
    init = next(
        vars(base)["__init__"]
        for base in cls.__mro__
        if base.__module__ == "builtins" and "__init__" in vars(base)
    )
    try:
        init(error, *args)
    except TypeError:
        error.args = args
    error.__dict__.update(state)
    return error


class _ExceptionPickler(pickle.Pickler):
    """Pickles every exception in the object graph as `rebuild_exception(class, args,
    attributes)` instead of as ``class(*args)``."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, BaseException):
            return rebuild_exception, (type(obj), obj.args, dict(getattr(obj, "__dict__", {})))
        return NotImplemented


def _dumps_rebuilt(value: Any) -> bytes:
    buffer = io.BytesIO()
    _ExceptionPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _round_trips(data: bytes, error: BaseException) -> bool:
    try:
        return type(pickle.loads(data)) is type(error)
    except Exception:
        return False


def _plain_dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def pickle_exception(error: BaseException) -> tuple[bytes | None, str | None]:
    """`error` pickled so that unpickling gives an instance of its class (or None), and what
    could not be kept, if anything.

    Plain pickling first (it keeps what a class's own `__reduce__` keeps, such as OSError's
    fields); where that does not load back (a constructor with other parameters than `args`),
    class, `args` and attributes; where an attribute cannot be pickled, the others."""
    for dumps in (_plain_dumps, _dumps_rebuilt):
        try:
            data = dumps(error)
        except Exception:
            continue
        if _round_trips(data, error):
            return data, None
    try:
        _dumps_rebuilt(type(error))
    except Exception:
        return None, "its class cannot be imported by name (is it defined inside a function?)"
    state = dict(getattr(error, "__dict__", {}))
    dropped: list[str] = []
    for name, value in list(state.items()):
        try:
            _dumps_rebuilt(value)
        except Exception:
            dropped.append(name)
            del state[name]
    try:
        data = _dumps_rebuilt(rebuild_exception(type(error), error.args, state))
    except Exception as exc:
        return None, f"it cannot be pickled: {exc}"
    if not _round_trips(data, error):
        return None, "it cannot be rebuilt from its class, args and attributes"
    if dropped:
        return data, f"attribute(s) {', '.join(map(repr, dropped))} cannot be pickled"
    return data, None


@dataclass(frozen=True)
class UnreadableValue:
    """Stands in for a stored value this process cannot rebuild: a pickled object whose class
    is not importable here, or any pickled value under strict serialization. `text` is the
    stored text and `reason` says why it could not be read."""

    text: str
    reason: str

    def __repr__(self) -> str:
        return f"<unreadable value: {self.reason}>"


class LenientCodec(Codec):
    """A codec for management tools, which read values of apps whose code they lack: values
    that cannot be rebuilt come back as `UnreadableValue` instead of raising."""

    def decode_value(self, text: str | None) -> Any:
        """`Codec.decode_value`, but a value that cannot be decoded comes back as an
        `UnreadableValue` holding the stored text and the reason, instead of raising."""
        try:
            return super().decode_value(text)
        except DBOSSerializationError as exc:
            assert text is not None
            return UnreadableValue(text, str(exc))

    def decode_inputs(self, text: str | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """`Codec.decode_inputs`, but inputs that cannot be decoded come back as
        ``((UnreadableValue(text, reason),), {})`` instead of raising."""
        try:
            return super().decode_inputs(text)
        except DBOSSerializationError as exc:
            assert text is not None
            return (UnreadableValue(text, str(exc)),), {}
