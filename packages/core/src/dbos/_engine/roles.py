"""Roles (DBOS Transact 3.4 semantics): the identity code runs as, the roles a function
requires, and the check between them.

An identity is an authenticated user, the roles granted to that user, and the role assumed.
It lives in a context variable holding a mutable *scope*: a ``DBOSContextSetAuth`` block opens
one, a workflow execution opens one from its stored row, a step or a role-checked function a
copy of the caller's. ``DBOS.set_authentication`` changes the innermost scope for the rest of
it, as DBOS Transact changes its innermost context.

A function with required roles (its own, else its class's default) may run only for an
identity granted one of them; the first required role the identity holds, in the order the
requirement lists them, becomes the assumed role while it runs. A workflow stores the identity
it starts under (user, roles, and the role it will assume), and every execution of it
(recovery, a queue worker, a resume, a fork) runs under that stored identity again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from .._base.errors import DBOSException, DBOSNotAuthorizedError


@dataclass(frozen=True, slots=True)
class Identity:
    """Who code runs as: `user` (None: not authenticated), the `roles` granted to that user
    (None: no authentication information, which differs from no roles) and the
    `assumed_role` (None: none)."""

    user: str | None = None
    roles: tuple[str, ...] | None = None
    assumed_role: str | None = None


NO_IDENTITY = Identity()


@dataclass
class _Scope:
    """The identity of one block of code, shared by everything running in it (the tasks an
    async workflow gathers share their workflow's)."""

    user: str | None
    roles: tuple[str, ...] | None
    assumed_role: str | None


_SCOPE: ContextVar[_Scope | None] = ContextVar("dbos_identity", default=None)


def current_identity() -> Identity:
    """The identity the calling code runs as; `NO_IDENTITY` outside any scope."""
    scope = _SCOPE.get()
    if scope is None:
        return NO_IDENTITY
    return Identity(scope.user, scope.roles, scope.assumed_role)


def enter_identity(identity: Identity) -> object:
    """Open a scope for `identity` (for a workflow execution); `leave_identity` closes it."""
    return _SCOPE.set(_Scope(identity.user, identity.roles, identity.assumed_role))


def leave_identity(token: object) -> None:
    _SCOPE.reset(token)  # type: ignore[arg-type]


def check_roles_list(value: object, what: str) -> tuple[str, ...]:
    """`value` as a tuple of role names. Raises `DBOSException` naming `what` unless it is a
    list or tuple of strings (a single string would be taken for its characters)."""
    if isinstance(value, (list, tuple)) and all(isinstance(role, str) for role in value):
        return tuple(value)
    raise DBOSException(f"{what} must be a list of role names (strings), got {value!r}")


def set_current_authentication(user: str | None, roles: Sequence[str] | None) -> None:
    """Change the user and granted roles of the innermost scope, for the rest of it (DBOS
    semantics; the assumed role stays).

    Raises:
        DBOSException: no scope is open (outside a workflow, a step and any
            ``DBOSContextSetAuth`` block), or `user`/`roles` have the wrong types.
    """
    if user is not None and not isinstance(user, str):
        raise DBOSException(f"the authenticated user must be a string or None, got {user!r}")
    checked = None if roles is None else check_roles_list(roles, "the authenticated roles")
    scope = _SCOPE.get()
    if scope is None:
        raise DBOSException(
            "DBOS.set_authentication was called outside a workflow, a step and any "
            "DBOSContextSetAuth block, so there is no context whose identity it could set: "
            "wrap the calls in `with DBOSContextSetAuth(user, roles):` instead"
        )
    scope.user, scope.roles = user, checked


def set_assumed_role(role: str) -> None:
    """Make `role` the innermost scope's assumed role (a workflow body that passed its
    check)."""
    scope = _SCOPE.get()
    if scope is not None:
        scope.assumed_role = role


def encode_roles(roles: tuple[str, ...] | None) -> str | None:
    """Granted roles as stored: the JSON text of a list (None stays None)."""
    return None if roles is None else json.dumps(list(roles))


class _StoredIdentity(Protocol):
    @property
    def authenticated_user(self) -> str | None: ...
    @property
    def authenticated_roles(self) -> str | None: ...
    @property
    def assumed_role(self) -> str | None: ...


def decode_roles(text: str | None) -> tuple[str, ...] | None:
    """Stored granted roles (JSON text of a list of strings) back as a tuple; None for None.
    Text that is not such a list (written by hand) grants no role rather than failing the
    workflow: a check then refuses it."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    if isinstance(value, list) and all(isinstance(role, str) for role in value):
        return tuple(value)
    return ()


def identity_of(stored: _StoredIdentity) -> Identity:
    """The identity a stored (or about to be stored) workflow row runs as."""
    return Identity(
        stored.authenticated_user, decode_roles(stored.authenticated_roles), stored.assumed_role
    )


class RoleRequirement:
    """The roles a decorated function requires: its own (``@DBOS.required_roles``), else its
    class's default (``@DBOS.default_required_roles``). Shared by the function's wrappers and
    registrations, and set by whichever decorator comes last, so the decorators apply in any
    order. None or empty: no requirement."""

    __slots__ = ("class_default", "own")

    def __init__(self) -> None:
        self.own: tuple[str, ...] | None = None
        self.class_default: tuple[str, ...] | None = None

    def required(self) -> tuple[str, ...]:
        roles = self.own if self.own is not None else self.class_default
        return roles or ()


#: The attribute under which a decorated function carries its `RoleRequirement`.
ROLES_ATTR = "__dbos_required_roles__"


def pick_role(required: tuple[str, ...], roles: tuple[str, ...] | None) -> str | None:
    """The role to assume: the first of `required` that `roles` grants; None if none does
    (or nothing is required)."""
    if roles is None:
        return None
    for role in required:
        if role in roles:
            return role
    return None


def check_roles(requirement: RoleRequirement, name: str, identity: Identity) -> str | None:
    """The role a call of the function `name` assumes under `identity`: None if it requires
    none, else the first required role the identity is granted.

    Raises:
        DBOSNotAuthorizedError: the function requires roles and the identity has no
            authentication information, or is granted none of them (DBOS Transact's messages).
    """
    required = requirement.required()
    if not required:
        return None
    if identity.roles is None:
        raise DBOSNotAuthorizedError(
            f"Function {name} requires a role, but was called in a context without "
            "authentication information"
        )
    role = pick_role(required, identity.roles)
    if role is None:
        raise DBOSNotAuthorizedError(
            f"Function {name} has required roles, but user is not authenticated for any of them"
        )
    return role


def authorize_body(requirement: RoleRequirement, name: str) -> None:
    """Check a workflow execution's own identity (its scope is open) against `requirement`
    and assume the role the check picks; a workflow requiring none keeps its stored one.

    Raises:
        DBOSNotAuthorizedError: as `check_roles` (recorded as the workflow's outcome).
    """
    role = check_roles(requirement, name, current_identity())
    if role is not None:
        set_assumed_role(role)


def enter_checked(requirement: RoleRequirement, name: str) -> object | None:
    """`checked_call` without a context manager, for the step path (a plain step pays one
    function call): check, then open the call's scope; returns the token `leave_identity`
    closes it with, or None when there is no scope to open.

    Raises:
        DBOSNotAuthorizedError: as `check_roles`.
    """
    identity = current_identity()
    role = check_roles(requirement, name, identity)
    if role is None and _SCOPE.get() is None:
        return None
    assumed = role if role is not None else identity.assumed_role
    return enter_identity(Identity(identity.user, identity.roles, assumed))


@contextmanager
def checked_call(requirement: RoleRequirement, name: str) -> Iterator[None]:
    """Check the caller's identity against `requirement`, then run the block in a copy of the
    caller's scope with the assumed role (a role-checked plain function; steps use
    `enter_checked`).

    Raises:
        DBOSNotAuthorizedError: as `check_roles`.
    """
    token = enter_checked(requirement, name)
    try:
        yield
    finally:
        if token is not None:
            leave_identity(token)
