"""What `DBOS.launch` starts for observability, and `DBOS.destroy` stops: the tracing and
metrics plugins (registered on the plugin manager only when asked for, so that without them
the engine's hooks find nothing to call), OTLP export, trace ids on log records, and the admin
server."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._base.errors import DBOSConfigError
from ._observability_config import ObservabilitySettings
from .plugins import plugin_manager

if TYPE_CHECKING:
    from ._admin_server import AdminServer
    from ._engine.engine import Engine
    from .plugins import Hooks

logger = logging.getLogger("dbos")

_TRACING = "dbos-tracing"
_METRICS = "dbos-metrics"


class Observability:
    """The observability services of one launch."""

    def __init__(self) -> None:
        self.admin_server: AdminServer | None = None
        self._undo: list[Callable[[], None]] = []

    def stop(self) -> None:
        """Stop the admin server, flush exports, unregister the plugins (idempotent)."""
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:  # shutting down: report, and go on with the rest
                logger.warning("stopping observability: %s", exc)


def _unregister(name: str) -> Callable[[], None]:
    def undo() -> None:
        manager = plugin_manager()
        plugin = manager.get_plugin(name)
        if plugin is not None:
            manager.unregister(plugin, name=name)

    return undo


def _register(plugin: object, name: str) -> None:
    _unregister(name)()  # one left by a launch that was never destroyed
    plugin_manager().register(plugin, name=name)


def start_observability(
    settings: ObservabilitySettings,
    app_name: str,
    engine: Engine,
    hooks: Hooks,
    management_only: bool,
) -> Observability:
    """Start what `settings` asks for (nothing by default).

    Raises:
        DBOSConfigError: the admin server cannot listen on its address (the port is taken,
            the host unknown).
    """
    running = Observability()
    if settings.telemetry:
        from . import _otel_export
        from ._tracing import TraceLogFilter, TracingPlugin, dbos_tracer

        dbos_tracer.enabled = True
        dbos_tracer.otlp_attributes = dict(settings.attributes)
        dbos_tracer.otel_attribute_format = settings.attribute_format
        dbos_tracer.application_version = engine.application_version
        dbos_tracer.executor_id = engine.executor_id
        running._undo.append(_otel_export.export_traces(settings, app_name))
        running._undo.append(_otel_export.export_metrics(settings, app_name))
        running._undo.append(_otel_export.export_logs(settings, app_name))
        log_filter = TraceLogFilter(settings.attributes)
        dbos_logger = logging.getLogger("dbos")
        dbos_logger.addFilter(log_filter)
        running._undo.append(lambda: dbos_logger.removeFilter(log_filter))
        _register(TracingPlugin(dbos_tracer), _TRACING)
        running._undo.append(_unregister(_TRACING))

        def disable() -> None:
            dbos_tracer.enabled = False

        running._undo.append(disable)
    if settings.telemetry or settings.run_admin_server:
        from . import _metrics

        metrics = _metrics.MetricsPlugin(engine, instrumented=settings.telemetry)
        if settings.telemetry:
            _metrics.instrument(metrics)
            running._undo.append(lambda: _metrics.instrument(None))
        _register(metrics, _METRICS)
        running._undo.append(_unregister(_METRICS))
        if settings.run_admin_server:
            from ._admin_server import AdminServer

            try:
                server = AdminServer(
                    engine,
                    hooks,
                    metrics,
                    settings.admin_host,
                    settings.admin_port,
                    management_only,
                )
            except OSError as exc:
                running.stop()
                raise DBOSConfigError(
                    f"the admin server cannot listen on {settings.admin_host}:"
                    f"{settings.admin_port} (config keys admin_host, admin_port): {exc}"
                ) from exc
            server.start()
            running.admin_server = server
            running._undo.append(server.stop)
    return running
