"""Class-based workflows (DBOS Transact 3.4's API): ``@DBOS.dbos_class()`` and
`DBOSConfiguredInstance`, over the class and instance registry of `_engine/classes.py`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ._base.errors import DBOSNotLaunchedError
from ._engine import classes as _classes
from ._engine.registry import REGISTRATION_ATTR, WorkflowRegistration
from ._launched import launched_engine

T = TypeVar("T")

logger = logging.getLogger("dbos")


def binding_of(function: Any) -> _classes.MethodBinding | None:
    registration = getattr(function, REGISTRATION_ATTR, None)
    return registration.binding if isinstance(registration, WorkflowRegistration) else None


class ClassesAPI:
    """Workflows and steps that are methods: a base class of `DBOS`."""

    @classmethod
    def dbos_class(cls, class_name: str | None = None) -> Callable[[type[T]], type[T]]:
        """Register a class whose methods are workflows or steps (DBOS semantics).

        Put it on the class, above the class's own decorators; the methods are decorated as
        usual, with ``@classmethod`` or ``@staticmethod`` above ``@DBOS.workflow()`` /
        ``@DBOS.step()``. A workflow run records the class under its registered name
        (`WorkflowStatus.class_name`), so that a recovery, a queue worker or a fork calls
        the method on the same class again, and, for an instance method, on the
        `DBOSConfiguredInstance` of the same ``config_name``. A static method records no
        class. Workflow names stay the functions' qualified names (``"Shop.checkout"``).

        Args:
            class_name: The name the class is recorded under (default: its qualified name).
                Class names must be unique in the app.

        Raises:
            DBOSConflictingRegistrationError: another class is registered under that name
                (a class defined again by the same module, as on a reload, replaces it).
            DBOSException: `class_name` is given but is not a non-empty string.
        """

        def decorator(klass: type[T]) -> type[T]:
            _classes.register_class(klass, class_name, binding_of)
            return klass

        return decorator


class DBOSConfiguredInstance:
    """Base class of a class whose instance methods are workflows: each instance has a name,
    `config_name`, recorded with every workflow that runs on it, and is registered under its
    class's name and that name when constructed, so that a recovery, a queue worker or a fork
    finds it again (DBOS semantics). Construct every instance before ``DBOS.launch()``, in
    every process of the app: recovery runs at launch and needs them.

    Example:
        @DBOS.dbos_class()
        class Shop(DBOSConfiguredInstance):
            def __init__(self, region: str) -> None:
                self.region = region
                super().__init__(config_name=region)

            @DBOS.workflow()
            def checkout(self, order: int) -> str: ...

    Attributes:
        config_name: The instance's name, unique among the instances of its class.

    Raises:
        DBOSException: `config_name` is not a non-empty string.
        DBOSConflictingRegistrationError: another instance of the class has this name.
    """

    def __init__(self, config_name: str) -> None:
        class_name = _classes.register_instance(self, config_name)
        self.config_name = config_name
        try:
            launched_engine()
        except DBOSNotLaunchedError:
            return
        logger.warning(
            "configured instance %r of class %r was created after DBOS.launch(): workflows "
            "of this instance that were pending at launch could not be recovered; create "
            "configured instances before launching",
            config_name,
            class_name,
        )
