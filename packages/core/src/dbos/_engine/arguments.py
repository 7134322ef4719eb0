"""A stored workflow's arguments, as its function is to get them back."""

from __future__ import annotations

from typing import Any

from .._base.portable import PORTABLE_JSON, coerce_to_hints
from .._base.serialization import Codec
from ..storage._records import WorkflowRow
from .classes import CLASS, INSTANCE
from .registry import WorkflowRegistration


class ArgumentsRefused(Exception):
    """A workflow's `validate_args` refused its stored arguments (the cause says why)."""


def stored_arguments(
    registration: WorkflowRegistration, codec: Codec, row: WorkflowRow
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """`row`'s arguments (without a method's instance or class), decoded with `codec` (the
    row's format) and then either coerced to the function's type hints where portable JSON
    lost their type (DBOS semantics), or given to the workflow's `validate_args`, which then
    does all conversion itself (as in DBOS Transact 3.4).

    Raises:
        DBOSSerializationError: the inputs cannot be read.
        ArgumentsRefused: `validate_args` raised; its exception is the cause.
    """
    args, kwargs = codec.decode_inputs(row.inputs)
    validate = registration.validate_args
    if validate is None:
        if row.serialization == PORTABLE_JSON:
            method = registration.binding.kind in (INSTANCE, CLASS)
            return coerce_to_hints(registration.function, args, kwargs, skip_first=method)
        return args, kwargs
    try:
        return validate(args, kwargs)
    except Exception as exc:
        raise ArgumentsRefused(str(exc)) from exc
