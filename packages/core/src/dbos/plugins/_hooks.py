"""The plugin manager and a typed facade over pluggy's untyped hook calls."""

from __future__ import annotations

import logging
import threading
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

import pluggy

from .._base.install import install_hint
from . import _hookspecs

if TYPE_CHECKING:
    from ..storage._protocol import StorageBackend, SystemStorage
    from ..storage._records import StepRecord, StorageOptions

logger = logging.getLogger("dbos")

_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
#: Entry-point plugins that failed to import, by name: a missing driver in one backend must
#: not break the others, but the error is shown when that backend is asked for.
_broken: dict[str, str] = {}


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with entry-point plugins (group ``dbos``) loaded."""
    global _manager
    with _lock:
        if _manager is None:
            manager = pluggy.PluginManager(_hookspecs.PROJECT_NAME)
            manager.add_hookspecs(_hookspecs)
            for entry_point in entry_points(group=_hookspecs.PROJECT_NAME):
                if manager.get_plugin(entry_point.name) is not None:
                    continue
                try:
                    plugin = entry_point.load()
                except Exception as exc:
                    _broken[entry_point.name] = f"{entry_point.value}: {type(exc).__name__}: {exc}"
                    logger.warning("dbos plugin %r failed to load: %s", entry_point.name, exc)
                    continue
                manager.register(plugin, name=entry_point.name)
            _manager = manager
        return _manager


def broken_plugins() -> dict[str, str]:
    """Plugins that could not be imported, with the reason."""
    with _lock:
        return dict(_broken)


#: What to install for the schemes this project's own backends handle (a hint only: any
#: installed plugin may handle any scheme).
_KNOWN_BACKENDS = {
    "postgresql": f"dbos-postgres ({install_hint('dbos-postgres')})",
    "postgres": f"dbos-postgres ({install_hint('dbos-postgres')})",
    "sqlite": f"dbos-sqlite, the embedded default backend ({install_hint('dbos-sqlite')})",
}


def backend_for_url(url: str, options: StorageOptions) -> SystemStorage:
    """The storage backend for `url`, not yet set up: whichever installed plugin answers
    ``dbos_storage_for_url`` first. The installed plugins alone decide which URLs work, so a
    third-party backend needs no change in core.

    Raises:
        DBOSConfigError: no installed plugin handles the URL; the message names what to
            install for a known scheme, the backends that are installed, and any plugin that
            failed to load. Passwords are masked here and in any error a backend raises.
    """
    from .._base.errors import DBOSConfigError
    from .._base.secrets import scrub_exception
    from .._base.urls import mask_password, url_scheme
    from ..storage._fanout import with_wakeups

    manager = plugin_manager()
    try:
        found: StorageBackend | None = manager.hook.dbos_storage_for_url(url=url, options=options)
    except BaseException as exc:
        # A backend's errors (and the driver errors chained to them) may echo the URL.
        scrub_exception(exc, url)
        raise
    if found is not None:
        return with_wakeups(found)
    scheme = url_scheme(url)
    installed = sorted(
        name
        for name, plugin in manager.list_name_plugin()
        if hasattr(plugin, "dbos_storage_for_url")
    )
    broken = "".join(f"\n  plugin {n} failed to load: {e}" for n, e in broken_plugins().items())
    raise DBOSConfigError(
        f"no installed storage backend handles {mask_password(url)!r} (scheme {scheme!r}); "
        f"install {_KNOWN_BACKENDS.get(scheme, f'a backend for {scheme!r}')}. Installed "
        f"backends: {', '.join(installed) or 'none'}{broken}"
    )


class Hooks:
    """Typed calls into the hooks. Nearly free when no plugin implements a hook: the hot path
    (every storage call and step) asks the hook for implementations before calling it, which
    costs far less than pluggy's full call with nothing to call."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        hook = manager.hook
        self._hook = hook
        self._workflow_started = hook.dbos_workflow_started
        self._workflow_finished = hook.dbos_workflow_finished
        self._before_step = hook.dbos_before_step
        self._before_step_checkpoint = hook.dbos_before_step_checkpoint
        self._after_step_checkpoint = hook.dbos_after_step_checkpoint
        self._storage_call = hook.dbos_storage_call
        self._storage_call_done = hook.dbos_storage_call_done
        self._workflow_prepared = hook.dbos_workflow_prepared
        self._workflow_ended = hook.dbos_workflow_ended
        self._operation_started = hook.dbos_operation_started
        self._operation_ended = hook.dbos_operation_ended
        self._step_retry = hook.dbos_step_retry

    def workflow_prepared(
        self, workflow_id: str, name: str, queue_name: str | None, attributes: str | None
    ) -> None:
        """Call ``dbos_workflow_prepared``: a workflow is about to be created, or a stored one
        to run here."""
        if self._workflow_prepared.get_hookimpls():
            self._workflow_prepared(
                workflow_id=workflow_id, name=name, queue_name=queue_name, attributes=attributes
            )

    def workflow_ended(
        self, workflow_id: str, name: str, status: str | None, error: BaseException | None
    ) -> None:
        """Call ``dbos_workflow_ended``: an execution begun with ``dbos_workflow_started``
        ended (with the recorded `status`, or None)."""
        if self._workflow_ended.get_hookimpls():
            self._workflow_ended(workflow_id=workflow_id, name=name, status=status, error=error)

    def operation_started(self, workflow_id: str, function_id: int, name: str, kind: str) -> None:
        """Call ``dbos_operation_started``: a recorded operation is about to run."""
        if self._operation_started.get_hookimpls():
            self._operation_started(
                workflow_id=workflow_id, function_id=function_id, name=name, kind=kind
            )

    def operation_ended(
        self,
        workflow_id: str,
        function_id: int,
        name: str,
        kind: str,
        error: BaseException | None,
    ) -> None:
        """Call ``dbos_operation_ended``: a recorded operation is checkpointed or stopped."""
        if self._operation_ended.get_hookimpls():
            self._operation_ended(
                workflow_id=workflow_id, function_id=function_id, name=name, kind=kind, error=error
            )

    def step_retry(
        self,
        workflow_id: str,
        function_id: int,
        name: str,
        attempt: int,
        error: BaseException,
        delay_s: float,
    ) -> None:
        """Call ``dbos_step_retry``: a step attempt failed and is retried."""
        if self._step_retry.get_hookimpls():
            self._step_retry(
                workflow_id=workflow_id,
                function_id=function_id,
                name=name,
                attempt=attempt,
                error=error,
                delay_s=delay_s,
            )

    def workflow_started(
        self,
        workflow_id: str,
        name: str,
        recovered: bool,
        identity: tuple[str | None, tuple[str, ...] | None, str | None] = (None, None, None),
    ) -> None:
        """Call ``dbos_workflow_started``: a workflow body is about to run (first run or
        recovery), as `identity` (user, roles, assumed role)."""
        if self._workflow_started.get_hookimpls():
            user, roles, assumed_role = identity
            self._workflow_started(
                workflow_id=workflow_id,
                name=name,
                recovered=recovered,
                authenticated_user=user,
                authenticated_roles=roles,
                assumed_role=assumed_role,
            )

    def workflow_finished(self, workflow_id: str, name: str, status: str) -> None:
        """Call ``dbos_workflow_finished``: a workflow's outcome is recorded."""
        if self._workflow_finished.get_hookimpls():
            self._workflow_finished(workflow_id=workflow_id, name=name, status=status)

    def before_step(self, workflow_id: str, function_id: int, name: str) -> None:
        """Call ``dbos_before_step``: a step body (not a replay) is about to run."""
        if self._before_step.get_hookimpls():
            self._before_step(workflow_id=workflow_id, function_id=function_id, name=name)

    def before_step_checkpoint(self, step: StepRecord) -> None:
        """Call ``dbos_before_step_checkpoint``: a step ran and its checkpoint is about to be
        written."""
        if self._before_step_checkpoint.get_hookimpls():
            self._before_step_checkpoint(step=step)

    def after_step_checkpoint(self, step: StepRecord) -> None:
        """Call ``dbos_after_step_checkpoint``: a step's checkpoint is durable."""
        if self._after_step_checkpoint.get_hookimpls():
            self._after_step_checkpoint(step=step)

    def storage_call(self, operation: str, attempt: int) -> None:
        """Call ``dbos_storage_call``: attempt `attempt` (from 1) of the storage operation
        `operation` is about to run. A `DBOSConnectionError` an implementation raises fails the
        attempt."""
        if self._storage_call.get_hookimpls():
            self._storage_call(operation=operation, attempt=attempt)

    def storage_call_done(self, operation: str, attempt: int) -> None:
        """Call ``dbos_storage_call_done``: attempt `attempt` of `operation` returned. A
        `DBOSConnectionError` an implementation raises fails the call after it took effect."""
        if self._storage_call_done.get_hookimpls():
            self._storage_call_done(operation=operation, attempt=attempt)
