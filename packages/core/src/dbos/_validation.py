"""Argument validation for workflows with pydantic (an optional extra: ``dbos-core[pydantic]``).

``@DBOS.workflow(validate_args=pydantic_args_validator)`` validates and converts the arguments
a workflow gets back from storage (a queued task, a recovery, a workflow enqueued from another
language or from SQL) against the function's type hints, as DBOS Transact 3.4 does. pydantic
is imported only when a validator is built, so core works without it.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from ._base.errors import DBOSException
from ._base.install import needs_install
from ._engine.registry import ValidateArgs

_MISSING_PYDANTIC = needs_install(
    "pydantic_args_validator", "pydantic 2 or later", "dbos-core[pydantic]"
)


def pydantic_args_validator(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A marker for ``@DBOS.workflow(validate_args=pydantic_args_validator)``: the decorator
    replaces it with `make_pydantic_args_validator` of the decorated function (DBOS 3.4's
    name and use). Calling it directly raises `DBOSException`."""
    raise DBOSException(
        "pydantic_args_validator is a marker for @DBOS.workflow(validate_args=...); "
        "call make_pydantic_args_validator(function) for a validator of your own"
    )


def make_pydantic_args_validator(
    func: Callable[..., Any], *, skip_first: bool | Callable[[], bool] = False
) -> ValidateArgs:
    """A ``validate_args`` callable that validates (and converts, pydantic's lax mode: the
    string ``"2024-05-01T00:00:00Z"`` becomes a `datetime` for a `datetime` hint) each argument
    against `func`'s type hints. Parameters without a hint are passed through.

    Args:
        func: The workflow function whose signature and hints the arguments must match.
        skip_first: Whether the stored arguments leave out `func`'s first parameter (``self``
            or ``cls`` of a method, which storage does not hold), or a callable asked at the
            first validation (the decorator passes one, since ``@DBOS.dbos_class()`` runs
            after the method is decorated). Ours; DBOS 3.4 decides from its registry.

    Returns:
        ``(args, kwargs) -> (args, kwargs)``, raising `ValueError` that lists every
        problem (``Argument 'count' (position 1): ...``, ``Missing required argument:
        'name'``) when the arguments do not fit.

    Raises:
        ImportError: pydantic (2 or later) is not installed; the message says how to get it.
    """
    try:
        import pydantic
    except ImportError as exc:
        raise ImportError(_MISSING_PYDANTIC) from exc
    return _PydanticValidator(func, skip_first, pydantic)


class _PydanticValidator:
    """`make_pydantic_args_validator`'s callable: adapters built at the first call."""

    def __init__(
        self, func: Callable[..., Any], skip_first: bool | Callable[[], bool], pydantic: Any
    ) -> None:
        self._func = func
        self._skip_first = skip_first
        self._pydantic = pydantic
        self._built: list[tuple[list[inspect.Parameter], dict[str, Any]]] = []

    def _adapters(self) -> tuple[list[inspect.Parameter], dict[str, Any]]:
        if self._built:  # a list append is atomic: two first calls build the same thing
            return self._built[0]
        try:
            hints = typing.get_type_hints(self._func)
        except Exception:  # annotations that do not resolve: what is written
            hints = dict(getattr(self._func, "__annotations__", {}))
        parameters = list(inspect.signature(self._func).parameters.values())
        skip = self._skip_first() if callable(self._skip_first) else self._skip_first
        if skip:
            parameters = parameters[1:]
        adapter = self._pydantic.TypeAdapter
        by_name = {p.name: adapter(hints[p.name]) for p in parameters if p.name in hints}
        self._built.append((parameters, by_name))
        return self._built[0]

    def __call__(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        parameters, by_name = self._adapters()
        kinds = inspect.Parameter
        positional = [
            p for p in parameters if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
        ]
        var_args = next((p for p in parameters if p.kind is kinds.VAR_POSITIONAL), None)
        var_kwargs = next((p for p in parameters if p.kind is kinds.VAR_KEYWORD), None)
        errors: list[str] = []
        given: set[str] = set()

        def check(value: Any, parameter: inspect.Parameter | None, label: str) -> Any:
            adapter = by_name.get(parameter.name) if parameter is not None else None
            if adapter is None:
                return value
            try:
                return adapter.validate_python(value)
            except self._pydantic.ValidationError as exc:
                errors.append(f"{label}: {exc}")
                return value

        new_args = []
        for index, value in enumerate(args):
            parameter = positional[index] if index < len(positional) else var_args
            if index < len(positional):
                given.add(positional[index].name)
                label = f"Argument {positional[index].name!r} (position {index})"
            else:
                label = f"Argument at position {index}"
                if var_args is None:
                    errors.append(f"{label}: the function takes {len(positional)} positional")
            new_args.append(check(value, parameter, label))
        named = {
            p.name: p
            for p in parameters
            if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)
        }
        new_kwargs = {}
        for key, value in kwargs.items():
            found = named.get(key)
            if found is None and var_kwargs is None:
                errors.append(f"Argument {key!r}: the function has no such parameter")
            given.add(key)
            new_kwargs[key] = check(value, found or var_kwargs, f"Argument {key!r}")
        errors.extend(
            f"Missing required argument: {p.name!r}"
            for p in parameters
            if p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)
            and p.default is p.empty
            and p.name not in given
        )
        if errors:
            name = getattr(self._func, "__qualname__", self._func)
            raise ValueError(
                f"argument validation failed for workflow {name!r}:\n" + "\n".join(errors)
            )
        return tuple(new_args), new_kwargs
