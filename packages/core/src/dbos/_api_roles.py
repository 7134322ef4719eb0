"""Roles (DBOS Transact 3.4's API): ``@DBOS.required_roles``, ``@DBOS.default_required_roles``,
``DBOS.set_authentication`` and the identity class properties, over `_engine/roles.py`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ._api_classes import binding_of
from ._engine import classes as _classes
from ._engine.registry import function_name
from ._engine.roles import (
    ROLES_ATTR,
    RoleRequirement,
    check_roles_list,
    checked_call,
    current_identity,
    set_current_authentication,
)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class _IdentityProperty(Generic[T]):
    """A read-only property on the class itself (``DBOS.authenticated_user``)."""

    def __init__(self, getter: Callable[[], T]) -> None:
        self._getter = getter

    def __get__(self, instance: object, owner: type | None = None) -> T:
        return self._getter()


def _user() -> str | None:
    return current_identity().user


def _roles() -> list[str] | None:
    roles = current_identity().roles
    return None if roles is None else list(roles)


def _assumed_role() -> str | None:
    return current_identity().assumed_role


def _requirement_of(func: Callable[..., Any]) -> RoleRequirement | None:
    requirement = getattr(func, ROLES_ATTR, None)
    return requirement if isinstance(requirement, RoleRequirement) else None


def requirement_for(func: Callable[..., Any]) -> RoleRequirement:
    """The `RoleRequirement` a workflow or step decorator shares with `func`: the one
    ``@DBOS.required_roles`` put there (applied below it), else a new one."""
    return _requirement_of(func) or RoleRequirement()


def _checked(func: F, requirement: RoleRequirement) -> F:
    """A plain function checked at every call, as DBOS Transact checks one."""
    name = function_name(func)
    wrapper: Callable[..., Any]
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_checked(*args: Any, **kwargs: Any) -> Any:
            with checked_call(requirement, name):
                return await func(*args, **kwargs)

        wrapper = async_checked
    else:

        @functools.wraps(func)
        def sync_checked(*args: Any, **kwargs: Any) -> Any:
            with checked_call(requirement, name):
                return func(*args, **kwargs)

        wrapper = sync_checked
    setattr(wrapper, ROLES_ATTR, requirement)
    return wrapper  # type: ignore[return-value]


class RolesAPI:
    """Role-based access (DBOS semantics): a base class of `DBOS`."""

    #: The authenticated user the calling code runs as (a string), or None: set by
    #: `DBOSContextSetAuth` or `DBOS.set_authentication`; inside a workflow, the one it was
    #: started (or enqueued) under, restored on recovery. None outside any of these (DBOS
    #: Transact fails there instead).
    authenticated_user = _IdentityProperty(_user)
    #: The roles granted to that user (a new list of strings each time), or None for no
    #: authentication information.
    authenticated_roles = _IdentityProperty(_roles)
    #: The role the running function assumed (the first of its required roles the user is
    #: granted), or the one its caller assumed; None if none.
    assumed_role = _IdentityProperty(_assumed_role)

    @classmethod
    def required_roles(cls, roles: list[str]) -> Callable[[F], F]:
        """Let a workflow, step or plain function run only for a user granted one of `roles`
        (DBOS semantics). Put it above or below ``@DBOS.workflow()`` / ``@DBOS.step()``; it
        overrides a class's ``@DBOS.default_required_roles`` (an empty list: no requirement).

        The first of `roles` (in this order) that the user is granted becomes
        ``DBOS.assumed_role`` while the function runs. A direct call of a workflow or step,
        or of a plain function, is checked when made, against the caller's identity
        (`DBOSContextSetAuth`, `DBOS.set_authentication`, or the calling workflow's), and
        refused with `DBOSNotAuthorizedError` (nothing is started). A workflow started or
        enqueued is checked when it runs, against the identity stored with it: a refusal is
        its outcome (ERROR, `DBOSNotAuthorizedError` from ``get_result``), as in DBOS
        Transact.

        Raises:
            DBOSException: `roles` is not a list of strings.
        """
        checked = check_roles_list(roles, "required_roles")

        def decorator(func: F) -> F:
            requirement = _requirement_of(func)
            if requirement is not None:  # a workflow, a step, or a function checked already
                requirement.own = checked
                return func
            requirement = RoleRequirement()
            requirement.own = checked
            return _checked(func, requirement)

        return decorator

    @classmethod
    def default_required_roles(cls, roles: list[str]) -> Callable[[type[T]], type[T]]:
        """Require `roles` of every workflow and step defined in the class's body that does
        not say otherwise with ``@DBOS.required_roles`` (DBOS semantics). Registers the class
        as ``@DBOS.dbos_class()`` does, under its qualified name, unless it is registered
        already (put ``@DBOS.dbos_class(...)`` below this decorator to choose the name).

        Raises:
            DBOSException: `roles` is not a list of strings.
            DBOSConflictingRegistrationError: as ``@DBOS.dbos_class()``.
        """
        checked = check_roles_list(roles, "default_required_roles")

        def decorator(klass: type[T]) -> type[T]:
            if _classes.CLASS_NAME_ATTR not in klass.__dict__:
                _classes.register_class(klass, None, binding_of)
            for function in _classes.methods_of(klass):
                requirement = _requirement_of(function)
                if requirement is not None:
                    requirement.class_default = checked
            return klass

        return decorator

    @classmethod
    def set_authentication(
        cls, authenticated_user: str | None, authenticated_roles: list[str] | None
    ) -> None:
        """Set the authenticated user and granted roles of the current context for the rest
        of it (DBOS semantics): the enclosing `DBOSContextSetAuth` block, else the running
        step, else the running workflow (what it starts afterwards inherits them; its stored
        identity, which recovery restores, does not change). The assumed role stays.

        Raises:
            DBOSException: called outside a workflow, a step and any `DBOSContextSetAuth`
                block (there is no context to set), or arguments of the wrong types.
        """
        set_current_authentication(authenticated_user, authenticated_roles)
