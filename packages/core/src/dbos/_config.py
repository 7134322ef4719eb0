"""`DBOSConfig` and its validation into the settings the engine runs with."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any, TypedDict

from ._base.errors import DBOSConfigError
from ._base.serialization import JsonPickleSerializer, Serializer
from ._base.urls import mask_password, validate_url
from ._engine.liveness import DEFAULT_LEASE_S, lease_seconds
from ._engine.resilient import DEFAULT_RETRY_TIMEOUT_S, retry_timeout

logger = logging.getLogger("dbos")


class DBOSConfig(TypedDict, total=False):
    """Configuration passed to ``DBOS(config=...)``. Only `name` is required.

    Attributes:
        name: The application's name; also names the default SQLite file.
        system_database_url: Where workflows are checkpointed. ``postgresql://...`` or
            ``sqlite:///path``. Default: the environment variable ``DBOS_SYSTEM_DATABASE_URL``,
            else ``sqlite:///<name>.sqlite`` in the working directory.
        database_url: Accepted for compatibility; used as the system database when
            `system_database_url` is not set.
        dbos_system_schema: Postgres schema of the system tables (default ``dbos``).
        sys_db_pool_size: Connections in the system database pool (default 10).
        sys_db_retry_timeout_sec: Seconds a call that may give up keeps retrying while the
            system database is unreachable, from its first failure, before it raises
            `DBOSConnectionError` (default 60). It bounds the app's own calls from outside
            workflows (``DBOS.get_result``, ``handle.get_result(timeout)``, ``DBOS.send``,
            listings, ...). A workflow's own work (its steps' checkpoints, waits and finish)
            never gives up: it waits out an outage of any length.
        executor_id: This process's executor ID (default ``DBOS__VMID`` or ``local``).
        application_version: Version tag that recovery matches (default ``DBOS__APPVERSION``
            or a hash of the registered workflows' source code).
        enable_patching: Deprecated in DBOS Transact 3.4 and accepted for compatibility:
            `DBOS.patch` needs no configuration. True pins the application version to
            ``PATCHING_ENABLED`` when `application_version` is not set (as there), so every
            deployment shares one version.
        max_executor_threads: Threads that run started workflows (default 64).
        process_lease_sec: Seconds a launched process keeps its PENDING workflows without
            renewing its lease (a number from 1 to 3600, default 20; ours, not DBOS
            Transact's). Each process renews its lease every third of this (one small write)
            and takes over the PENDING workflows of processes whose lease expired, whatever
            their executor IDs: a dead host's work resumes elsewhere within about 4/3 of it.
            See docs/guides/production.md.
        serializer: A custom `Serializer`.
        strict_serialization: Refuse to unpickle stored values (default False).
        log_level: Level of the ``dbos`` logger, e.g. ``"DEBUG"`` (default ``"INFO"``, as in
            DBOS Transact, unless the app set a level on that logger itself).
    """

    name: str
    system_database_url: str | None
    database_url: str | None
    dbos_system_schema: str
    sys_db_pool_size: int
    sys_db_retry_timeout_sec: float
    executor_id: str
    application_version: str
    enable_patching: bool
    max_executor_threads: int
    process_lease_sec: float
    serializer: Serializer
    strict_serialization: bool
    log_level: str
    # Accepted for DBOS Transact compatibility; they configure services this library does not run.
    run_admin_server: bool
    admin_port: int
    enable_otlp: bool
    otlp_traces_endpoints: list[str]
    otlp_logs_endpoints: list[str]
    otlp_attributes: dict[str, str]
    application_database_url: str | None
    db_engine_kwargs: dict[str, Any]
    system_database_engine: Any
    conductor_key: str
    conductor_url: str


_ACCEPTED_UNUSED = frozenset(
    {
        "run_admin_server",
        "admin_port",
        "enable_otlp",
        "otlp_traces_endpoints",
        "otlp_logs_endpoints",
        "otlp_attributes",
        "db_engine_kwargs",
        "system_database_engine",
        "conductor_key",
        "conductor_url",
    }
)
#: The DBOS Transact services that the compatibility keys above ask for, which this
#: implementation does not run yet. Keyed by config key; the value names the service.
_MISSING_SERVICES = {
    "run_admin_server": "the admin HTTP server (health checks, recovery endpoints)",
    "admin_port": "the admin HTTP server (health checks, recovery endpoints)",
    "enable_otlp": "OpenTelemetry export of traces and logs",
    "otlp_traces_endpoints": "OpenTelemetry export of traces",
    "otlp_logs_endpoints": "OpenTelemetry export of logs",
    "otlp_attributes": "OpenTelemetry export of traces and logs",
    "conductor_key": "a connection to DBOS Conductor",
    "conductor_url": "a connection to DBOS Conductor",
}
_KNOWN_KEYS = frozenset(DBOSConfig.__annotations__)
#: The application version ``enable_patching`` pins (DBOS Transact's).
PATCHING_VERSION = "PATCHING_ENABLED"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Settings:
    """A validated configuration. Its ``repr`` masks the URL's passwords."""

    name: str
    system_database_url: str
    system_schema: str
    pool_size: int
    retry_timeout_s: float
    executor_id: str
    application_version: str | None
    max_executor_threads: int
    serializer: Serializer
    log_level: str | None = None
    lease_s: float = DEFAULT_LEASE_S
    #: Config keys set to ask for a service this implementation does not run yet (ours):
    #: `DBOS.launch` warns about each, once.
    missing_services: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = {**vars(self), "system_database_url": mask_password(self.system_database_url)}
        shown = ", ".join(f"{key}={value!r}" for key, value in fields.items())
        return f"Settings({shown})"


def requested_missing_services(config: DBOSConfig) -> tuple[str, ...]:
    """The keys of `config` that ask for a DBOS Transact service this implementation does not
    run yet, in sorted order. A key counts only when its value asks for the service:
    ``enable_otlp=True``, ``run_admin_server=True``, non-empty endpoints, attributes or
    conductor settings, an ``admin_port`` not paired with ``run_admin_server=False``. Falsy
    values (``False``, ``[]``, ``None``) ask for nothing."""
    asked = []
    for key in sorted(_MISSING_SERVICES):
        value = config.get(key)
        if key == "admin_port":
            wanted = value is not None and config.get("run_admin_server") is not False
        else:
            wanted = bool(value)
        if wanted:
            asked.append(key)
    return tuple(asked)


def missing_service_warning(key: str) -> str:
    """The WARNING text for a config key whose service is not provided (ours)."""
    return (
        f"config[{key!r}] asks for {_MISSING_SERVICES[key]}, which this implementation does not "
        "provide yet; the key is ignored"
    )


def _positive_int(config: DBOSConfig, key: str, default: int) -> int:
    value = config.get(key, default)
    if type(value) is not int or value < 1:
        raise DBOSConfigError(f"config[{key!r}] must be a positive integer, got {value!r}")
    return value


def _non_empty_str(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DBOSConfigError(f"config[{key!r}] must be a non-empty string, got {value!r}")
    return value


def resolve(config: DBOSConfig) -> Settings:
    """Validate `config`, fill defaults from the environment, and return `Settings`."""
    if not isinstance(config, dict):
        raise DBOSConfigError(f"config must be a dict (DBOSConfig), got {type(config).__name__}")
    unknown = sorted(set(config) - _KNOWN_KEYS)
    if unknown:
        raise DBOSConfigError(
            f"unknown config key(s) {', '.join(map(repr, unknown))}; known keys: "
            f"{', '.join(sorted(_KNOWN_KEYS))}"
        )
    if "name" not in config:
        raise DBOSConfigError("config['name'] is required (the application's name)")
    name = _non_empty_str(config["name"], "name")
    if not _NAME_PATTERN.match(name):
        raise DBOSConfigError(
            f"config['name'] {name!r} may only use letters, digits, '.', '_' and '-' "
            "(it names the default database file)"
        )
    missing = requested_missing_services(config)
    for key in sorted(_ACCEPTED_UNUSED & set(config) - set(missing)):
        logger.debug("config[%r] is accepted for compatibility and has no effect here", key)
    if config.get("application_database_url"):
        logger.warning(
            "config['application_database_url'] is set, but @DBOS.transaction is not supported "
            "by this implementation yet; it is ignored"
        )

    url, source = _pick_url(config, name)
    validate_url(url, source)
    schema = _non_empty_str(config.get("dbos_system_schema", "dbos"), "dbos_system_schema")
    executor_id = _non_empty_str(
        config.get("executor_id") or os.environ.get("DBOS__VMID") or "local", "executor_id"
    )
    patching = config.get("enable_patching", False)
    if not isinstance(patching, bool):
        raise DBOSConfigError(f"config['enable_patching'] must be a bool, got {patching!r}")
    if patching:
        logger.warning(
            "config['enable_patching'] is deprecated (as in DBOS Transact 3.4): DBOS.patch "
            "works without it; set application_version to give every deployment one version"
        )
    version = (
        config.get("application_version")
        or (PATCHING_VERSION if patching else None)
        or os.environ.get("DBOS__APPVERSION")
        or None
    )
    if version is not None:
        _non_empty_str(version, "application_version")

    serializer = config.get("serializer")
    strict = config.get("strict_serialization", False)
    if not isinstance(strict, bool):
        raise DBOSConfigError(f"config['strict_serialization'] must be a bool, got {strict!r}")
    if serializer is None:
        serializer = JsonPickleSerializer(strict=strict)
    elif not (hasattr(serializer, "serialize") and hasattr(serializer, "deserialize")):
        raise DBOSConfigError("config['serializer'] must have serialize() and deserialize()")

    return Settings(
        name=name,
        system_database_url=url,
        system_schema=schema,
        pool_size=_positive_int(config, "sys_db_pool_size", 10),
        retry_timeout_s=retry_timeout(
            config.get("sys_db_retry_timeout_sec", DEFAULT_RETRY_TIMEOUT_S),
            "config['sys_db_retry_timeout_sec']",
        ),
        executor_id=executor_id,
        application_version=version,
        max_executor_threads=_positive_int(config, "max_executor_threads", 64),
        serializer=serializer,
        log_level=log_level_of(config),
        lease_s=lease_seconds(
            config.get("process_lease_sec", DEFAULT_LEASE_S), "config['process_lease_sec']"
        ),
        missing_services=missing,
    )


def log_level_of(config: DBOSConfig) -> str | None:
    """The validated ``log_level`` of `config` (upper case), or None if it has none.

    Raises:
        DBOSConfigError: the value is not a logging level name.
    """
    level = config.get("log_level")
    if level is None:
        return None
    if not isinstance(level, str) or not isinstance(logging.getLevelName(level.upper()), int):
        raise DBOSConfigError(
            f"config['log_level'] {level!r} is not a logging level name "
            "(DEBUG, INFO, WARNING, ERROR or CRITICAL)"
        )
    return level.upper()


def _pick_url(config: DBOSConfig, name: str) -> tuple[str, str]:
    for key in ("system_database_url", "database_url"):
        value = config.get(key)
        if value:
            return str(value), f"config[{key!r}]"
    env = os.environ.get("DBOS_SYSTEM_DATABASE_URL")
    if env:
        return env, "DBOS_SYSTEM_DATABASE_URL"
    return f"sqlite:///{name}.sqlite", "the default SQLite URL"
