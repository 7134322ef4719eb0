"""Workflows and steps that are methods: which class and instance a call is bound to, what is
stored of it, and how a recovery or a queue worker binds the stored call again.

DBOS semantics: a workflow row records the registered name of its method's class
(`class_name`) and, for an instance method, the ``config_name`` of the configured instance it
runs on (`config_name`); the instance (or class) itself is not stored with the inputs. A
process that runs the row later finds the instance in this registry, filled as the app
constructs its `DBOSConfiguredInstance` objects, and the class among those decorated with
``@DBOS.dbos_class()``.
"""

from __future__ import annotations

import inspect
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._base.errors import (
    DBOSConflictingRegistrationError,
    DBOSException,
    DBOSWorkflowFunctionNotFoundError,
)

#: What a decorated function is to its class, set by ``@DBOS.dbos_class()``.
FUNCTION = "function"
INSTANCE = "instance"
CLASS = "class"
STATIC = "static"

#: The attribute a class decorated with ``@DBOS.dbos_class()`` holds its registered name in
#: (in the class's own ``__dict__``: a subclass is named by the nearest registered class).
CLASS_NAME_ATTR = "__dbos_class_name__"


class MethodBinding:
    """How a registered function binds to a class. Created with the registration (a plain
    function), changed once by ``@DBOS.dbos_class()``, which runs after the methods in the
    class body are decorated."""

    __slots__ = ("first_parameter", "kind")

    def __init__(self, function: Callable[..., Any]) -> None:
        self.kind = FUNCTION
        #: The name of the function's first parameter, to tell a method of an undecorated
        #: class (``self``, ``cls``) from a function at call time without inspecting it then.
        self.first_parameter = _first_parameter(function)


def _first_parameter(function: Callable[..., Any]) -> str | None:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return None
    return parameters[0].name if parameters else None


@dataclass(frozen=True, slots=True)
class Target:
    """What a call of a registered function stores: its class and instance names, and the
    arguments without the instance or class (which are found again by name)."""

    class_name: str | None
    config_name: str | None
    args: tuple[Any, ...]


_lock = threading.Lock()
_classes: dict[str, type] = {}
_instances: dict[tuple[str, str], object] = {}


def registered_class_name(cls: type) -> str:
    """The name a class is recorded under: the name its nearest registered class (itself or a
    base) was registered with, else its qualified name (DBOS semantics)."""
    for klass in cls.__mro__:
        name = klass.__dict__.get(CLASS_NAME_ATTR)
        if isinstance(name, str):
            return name
    return cls.__qualname__


def _same_class(a: type, b: type) -> bool:
    # A module executed again (a reload, a test defining the class in its body) makes a new
    # class object for the same definition: that replaces the registration.
    return a is b or (a.__module__ == b.__module__ and a.__qualname__ == b.__qualname__)


def register_class(
    cls: type, class_name: str | None, binding_of: Callable[[Any], MethodBinding | None]
) -> None:
    """Register `cls` under `class_name` (default: its qualified name) and tell its decorated
    methods (found through `binding_of`) what kind of method each is.

    Raises:
        DBOSConflictingRegistrationError: another class is registered under that name.
    """
    name = cls.__qualname__ if class_name is None else class_name
    if not isinstance(name, str) or not name:
        raise DBOSException(f"class_name must be a non-empty string, got {class_name!r}")
    with _lock:
        existing = _classes.get(name)
        if existing is not None and not _same_class(existing, cls):
            raise DBOSConflictingRegistrationError(
                f"class name {name!r} is already registered for "
                f"{existing.__module__}.{existing.__qualname__}; pass class_name=... to "
                "@DBOS.dbos_class() to tell them apart"
            )
        if existing is not None and existing is not cls:
            # The old definition's instances go with it; the new one's register anew.
            for key in [key for key, inst in _instances.items() if isinstance(inst, existing)]:
                del _instances[key]
        _classes[name] = cls
        setattr(cls, CLASS_NAME_ATTR, name)
    for kind, function in _methods(cls):
        binding = binding_of(function)
        if binding is not None:
            binding.kind = kind


def _methods(cls: type) -> list[tuple[str, Callable[..., Any]]]:
    """The functions defined in the class's body, each with what it is to the class."""
    found: list[tuple[str, Callable[..., Any]]] = []
    for attribute in cls.__dict__.values():
        if isinstance(attribute, staticmethod):
            found.append((STATIC, attribute.__func__))
        elif isinstance(attribute, classmethod):
            found.append((CLASS, attribute.__func__))
        elif isinstance(attribute, types.FunctionType):
            found.append((INSTANCE, attribute))
    return found


def methods_of(cls: type) -> list[Callable[..., Any]]:
    """The functions (methods, class methods, static methods) defined in the class's body."""
    return [function for _, function in _methods(cls)]


def register_instance(instance: object, config_name: str) -> str:
    """Register a configured instance under its class's name and `config_name`; returns the
    class name.

    Raises:
        DBOSException: `config_name` is not a non-empty string.
        DBOSConflictingRegistrationError: another instance of the class has that name.
    """
    if not isinstance(config_name, str) or not config_name:
        raise DBOSException(
            f"config_name must be a non-empty string, got {config_name!r} (it names the "
            "instance in the system database, so that recovery finds it again)"
        )
    class_name = registered_class_name(type(instance))
    with _lock:
        existing = _instances.get((class_name, config_name))
        if existing is not None and existing is not instance:
            raise DBOSConflictingRegistrationError(
                f"class {class_name!r} already has an instance named {config_name!r}; "
                "give each configured instance of a class its own config_name"
            )
        _instances[(class_name, config_name)] = instance
    return class_name


def clear() -> None:
    """Forget every registered class and instance (``DBOS.destroy(destroy_registry=True)``)."""
    with _lock:
        _classes.clear()
        _instances.clear()


def target_of(name: str, binding: MethodBinding, args: tuple[Any, ...]) -> Target:
    """What a call of the registered function `name` with `args` (the instance or class first,
    for a method) stores.

    Raises:
        DBOSException: an instance method called on an instance with no ``config_name`` or
            one that is not registered (it could not be recovered), or a method of a class
            not decorated with ``@DBOS.dbos_class()``.
    """
    kind = binding.kind
    if kind == INSTANCE and args:
        instance = args[0]
        config_name = getattr(instance, "config_name", None)
        class_name = registered_class_name(type(instance))
        if config_name is None:
            raise DBOSException(
                f"workflow {name!r} was called on an instance of {class_name!r} with no "
                "config_name: a method workflow needs an instance that recovery can find "
                "again, so derive the class from DBOSConfiguredInstance and call "
                "super().__init__(config_name) in its __init__"
            )
        with _lock:
            registered = _instances.get((class_name, config_name))
        if registered is not instance:
            raise DBOSException(
                f"workflow {name!r} was called on an instance of {class_name!r} named "
                f"{config_name!r} that is not registered"
                + (
                    " (another instance is registered under that name)"
                    if registered is not None
                    else " (DBOSConfiguredInstance.__init__ registers it: call "
                    "super().__init__(config_name))"
                )
                + "; recovery could not find it again"
            )
        return Target(class_name, str(config_name), args[1:])
    if kind == CLASS and args:
        cls = args[0]
        if not isinstance(cls, type):
            raise DBOSException(
                f"class-method workflow {name!r} needs its class as first argument, got "
                f"{type(cls).__name__}"
            )
        return Target(registered_class_name(cls), None, args[1:])
    if kind == FUNCTION and binding.first_parameter in ("self", "cls") and args:
        raise DBOSException(
            f"workflow {name!r} looks like a method (its first parameter is "
            f"{binding.first_parameter!r}) of a class not decorated with "
            "@DBOS.dbos_class(): decorate the class, so that its instance or class is found "
            "again on recovery instead of being stored with the inputs"
        )
    return Target(None, None, args)


def bound_args(
    workflow_id: str,
    name: str,
    binding: MethodBinding,
    class_name: str | None,
    config_name: str | None,
    args: tuple[Any, ...],
) -> tuple[Any, ...]:
    """The arguments to run a stored workflow with: its stored `args` with the registered
    instance (or class) named by its row put first.

    Raises:
        DBOSWorkflowFunctionNotFoundError: the instance or class is not registered in this
            process.
    """
    if config_name is not None:
        with _lock:
            instance = _instances.get((class_name or "", config_name))
        if instance is None:
            raise DBOSWorkflowFunctionNotFoundError(
                workflow_id,
                name,
                detail=f"configured instance {config_name!r} of class {class_name!r} is not "
                "registered in this process (construct it before DBOS.launch())",
            )
        return (instance, *args)
    if class_name is not None:
        with _lock:
            cls = _classes.get(class_name)
        if cls is None:
            raise DBOSWorkflowFunctionNotFoundError(
                workflow_id,
                name,
                detail=f"class {class_name!r} is not registered in this process (decorate it "
                "with @DBOS.dbos_class() and import its module before DBOS.launch())",
            )
        return args if binding.kind == STATIC else (cls, *args)
    return args


def with_bound_self(func: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    """`args` for the function under a bound method (``DBOS.start_workflow(inst.method,
    ...)``, ``queue.enqueue(Cls.classmethod, ...)``): its instance or class first."""
    if inspect.ismethod(func):
        return (func.__self__, *args)
    return args
