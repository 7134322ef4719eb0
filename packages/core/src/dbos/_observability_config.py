"""The config keys of tracing, log export, metrics and the admin server (DBOS Transact's
``enable_otlp``, ``otlp_*``, ``otel_attribute_format``, ``run_admin_server``, ``admin_port``,
and our ``otlp_metrics_endpoints`` and ``admin_host``), checked into `ObservabilitySettings`.

OpenTelemetry is an optional extra: asking for it without the packages installed is a
`DBOSConfigError` naming what to install, raised when the config is read."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._base.errors import DBOSConfigError
from ._base.install import install_hint
from ._base.secrets import mask_password

logger = logging.getLogger("dbos")

#: What to install for OpenTelemetry (traces, logs and metrics export).
OTEL_EXTRA = install_hint("dbos-core[otel]")

#: DBOS Transact's default admin port.
DEFAULT_ADMIN_PORT = 3001
#: Where the admin server listens unless ``admin_host`` says otherwise: this host only.
DEFAULT_ADMIN_HOST = "127.0.0.1"

ATTRIBUTE_FORMATS = ("legacy", "semconv")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class ObservabilitySettings:
    """What the observability keys ask for (defaults: nothing is exported or served)."""

    #: Spans for workflows and operations, and OTLP export where endpoints are given.
    enable_otlp: bool = False
    traces_endpoints: tuple[str, ...] = ()
    logs_endpoints: tuple[str, ...] = ()
    metrics_endpoints: tuple[str, ...] = ()
    #: Added verbatim to every span and exported log record.
    attributes: Mapping[str, str] = field(default_factory=dict)
    #: ``legacy`` (DBOS's names: ``operationUUID``...) or ``semconv`` (``dbos.*`` names).
    attribute_format: str = "legacy"
    otlp_log_level: str | None = None
    run_admin_server: bool = False
    admin_port: int = DEFAULT_ADMIN_PORT
    admin_host: str = DEFAULT_ADMIN_HOST

    @property
    def telemetry(self) -> bool:
        """Whether OpenTelemetry is used at all (spans, metrics instruments, log export)."""
        return self.enable_otlp


def otel_installed() -> bool:
    """Whether the OpenTelemetry API and SDK can be imported (the ``otel`` extra)."""
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("opentelemetry.trace", "opentelemetry.sdk.trace")
        )
    except ModuleNotFoundError:  # the parent package itself is missing
        return False


def _endpoints(config: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = config.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DBOSConfigError(f"config[{key!r}] must be a list of URLs (strings), got {value!r}")
    for url in value:
        try:
            parts = urlsplit(url)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            raise DBOSConfigError(
                f"config[{key!r}] has {mask_password(url)!r}, which is not an http:// or "
                "https:// URL (OTLP/HTTP, such as 'http://collector:4318/v1/traces')"
            )
    return tuple(value)


def _flag(config: Mapping[str, Any], key: str) -> bool:
    value = config.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise DBOSConfigError(f"config[{key!r}] must be a bool, got {value!r}")
    return value


def observability_settings(config: Mapping[str, Any]) -> ObservabilitySettings:
    """Check the observability keys of `config`.

    Raises:
        DBOSConfigError: a key of the wrong type, an endpoint that is not an http(s) URL, an
            unknown ``otel_attribute_format``, a port out of range, or OpenTelemetry asked
            for (``enable_otlp``, endpoints) while the ``otel`` extra is not installed (the
            message says what to install).
    """
    enable = _flag(config, "enable_otlp")
    traces = _endpoints(config, "otlp_traces_endpoints")
    logs = _endpoints(config, "otlp_logs_endpoints")
    metrics = _endpoints(config, "otlp_metrics_endpoints")
    attributes = config.get("otlp_attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        raise DBOSConfigError(
            f"config['otlp_attributes'] must be a dict of strings to strings, got {attributes!r}"
        )
    attribute_format = config.get("otel_attribute_format") or "legacy"
    if attribute_format not in ATTRIBUTE_FORMATS:
        raise DBOSConfigError(
            "config['otel_attribute_format'] must be 'legacy' or 'semconv', got "
            f"{attribute_format!r}"
        )
    log_level = config.get("otlp_log_level")
    if log_level is not None and (
        not isinstance(log_level, str) or log_level.upper() not in _LOG_LEVELS
    ):
        raise DBOSConfigError(
            f"config['otlp_log_level'] must be one of {', '.join(_LOG_LEVELS)}, got {log_level!r}"
        )
    if enable and not otel_installed():
        raise DBOSConfigError(
            f"config['enable_otlp'] asks for OpenTelemetry, which is not installed: {OTEL_EXTRA}"
        )
    if not enable and (traces or logs or metrics):
        missing = "" if otel_installed() else f", and OpenTelemetry, not installed: {OTEL_EXTRA}"
        logger.warning(
            "config's otlp_*_endpoints are ignored: OpenTelemetry export needs "
            f"config['enable_otlp'] = True too (as in DBOS Transact){missing}"
        )
    port = config.get("admin_port")
    if port is not None and (type(port) is not int or not 0 <= port <= 65535):
        raise DBOSConfigError(f"config['admin_port'] must be a port number, got {port!r}")
    host = config.get("admin_host", DEFAULT_ADMIN_HOST)
    if not isinstance(host, str) or not host:
        raise DBOSConfigError(f"config['admin_host'] must be a host name or address, got {host!r}")
    run_admin = config.get("run_admin_server")
    if run_admin is not None and not isinstance(run_admin, bool):
        raise DBOSConfigError(f"config['run_admin_server'] must be a bool, got {run_admin!r}")
    # DBOS semantics: admin_port alone turns the server on, unless run_admin_server is False.
    serve = bool(run_admin) or (port is not None and run_admin is not False)
    return ObservabilitySettings(
        enable_otlp=enable,
        traces_endpoints=traces,
        logs_endpoints=logs,
        metrics_endpoints=metrics,
        attributes=dict(attributes),
        attribute_format=attribute_format,
        otlp_log_level=log_level.upper() if isinstance(log_level, str) else None,
        run_admin_server=serve,
        admin_port=DEFAULT_ADMIN_PORT if port is None else port,
        admin_host=host,
    )
