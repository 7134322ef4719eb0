"""`DBOSConfig` and its validation into the settings the engine runs with."""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, TypedDict
from urllib.parse import urlsplit

from ._base.errors import DBOSConfigError
from ._base.serialization import JsonPickleSerializer, Serializer
from ._base.urls import mask_password, sqlalchemy_engine_url, validate_url
from ._compat_keys import ACCEPTED_WITHOUT_EFFECT, requested_missing_services
from ._engine.liveness import DEFAULT_LEASE_S, lease_seconds
from ._engine.resilient import DEFAULT_RETRY_TIMEOUT_S, retry_timeout
from ._observability_config import ObservabilitySettings, observability_settings

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
        console_log_level: Level of the console handler this library installs (default: all
            records the logger passes); no less severe than `log_level` (DBOS Transact's key).
        run_migrations: False makes `DBOS.launch` check the system database instead of
            creating or migrating it, and fail with `DBOSMigrationError` if it is behind (a
            missing SQLite file: `DBOSConfigError`); for a role that cannot run DDL, or
            migrations run apart with ``dbos migrate`` (default True; DBOS Transact's key).
        use_listen_notify: False: no Postgres LISTEN connection; other processes' writes are
            seen by polling (default True; DBOS Transact's key).
        notification_listener_polling_interval_sec: The longest gap, in seconds, between two
            re-checks of a wait (``recv``, ``get_event``, streams) that hears no notification
            (default 1.0, at least 0.001; DBOS Transact's key).
        sys_db_idle_transaction_timeout_sec: Postgres ``idle_in_transaction_session_timeout``
            of the system database connections, in seconds (default 60; zero or less leaves
            the server's setting; a URL whose ``options`` set it wins). DBOS Transact's key.
        observability_query_timeout_sec: Statement timeout, in seconds, of listing queries
            (``list_workflows`` and the like) on Postgres (default 30; DBOS Transact's key).
        scheduler_polling_interval_sec: How often, in seconds, each process reads the stored
            schedules, so a schedule created, changed, paused or deleted elsewhere is seen
            within it (default 30, and every second during a process's first minute; DBOS
            Transact's key).
        system_database_engine: A SQLAlchemy engine for the system database (DBOS Transact's
            key): this library connects with its own driver, so it uses the engine's URL
            (password included) and warns that the engine's pool and connect arguments are not
            used. Giving both it and `system_database_url` for different databases is an error.

        enable_otlp: True: a span per workflow and per recorded operation (DBOS Transact's
            names and attributes), logs correlated with the active trace, metrics through
            OpenTelemetry; needs the ``otel`` extra (``pip install 'dbos-core[otel]'``),
            else `DBOSConfigError` (default False; DBOS Transact's key).
        otlp_traces_endpoints: OTLP/HTTP URLs spans are exported to (DBOS Transact's key).
        otlp_logs_endpoints: OTLP/HTTP URLs the ``dbos`` logger's records are exported to
            (DBOS Transact's key).
        otlp_metrics_endpoints: OTLP/HTTP URLs metrics are exported to (ours).
        otlp_attributes: Attributes (strings) added to every span and exported log record
            (DBOS Transact's key).
        otlp_log_level: The least severe level exported to `otlp_logs_endpoints` (DBOS
            Transact's key).
        otel_attribute_format: ``"legacy"`` (default: ``operationUUID``, ``executorID``...) or
            ``"semconv"`` (``dbos.operation.workflow_id``...): span attribute names (DBOS
            Transact's key).
        run_admin_server: True: serve the admin HTTP endpoint (``/dbos-healthz``,
            ``/dbos-metrics``) on `admin_host`:`admin_port` (DBOS Transact's key; off by
            default here).
        admin_port: The admin server's port (default 3001); setting it turns the server on
            unless `run_admin_server` is False (DBOS Transact's key).
        admin_host: The address the admin server binds (ours; default ``127.0.0.1``).

    DBOS Transact's other keys are accepted and have no effect here, each for a reason given
    in docs/reference/configuration.md (for example ``sys_db_polling_concurrency``: a wait here
    holds no connection); those that ask for a service this library does not run (Conductor,
    Enterprise features) log a WARNING at launch.
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
    # Observability (see `_observability_config`): DBOS Transact's keys, and two of ours.
    run_admin_server: bool
    admin_port: int
    admin_host: str
    enable_otlp: bool
    otlp_traces_endpoints: list[str]
    otlp_logs_endpoints: list[str]
    otlp_metrics_endpoints: list[str]
    otlp_attributes: dict[str, str]
    otlp_log_level: str
    otel_attribute_format: str
    application_database_url: str | None
    db_engine_kwargs: dict[str, Any]
    system_database_engine: Any
    conductor_key: str
    conductor_url: str
    console_log_level: str
    run_migrations: bool
    use_listen_notify: bool
    notification_listener_polling_interval_sec: float
    sys_db_idle_transaction_timeout_sec: float
    observability_query_timeout_sec: float
    scheduler_polling_interval_sec: float
    # DBOS Transact 3.4's keys accepted with no effect here (see `_compat_keys`).
    sys_db_polling_concurrency: int
    notification_coalesce_sec: float
    kafka_queue_polling_interval_sec: float
    conductor_executor_metadata: dict[str, Any]
    conductor_metadata_only_mode: bool
    transact_enterprise_key: str
    auto_upgrade: bool
    auto_upgrade_interval_sec: float
    auto_upgrade_grace_sec: float
    sharding: bool


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
    console_log_level: str | None = None
    run_migrations: bool = True
    use_listen_notify: bool = True
    notification_poll_s: float = 1.0
    idle_transaction_timeout_s: float | None = 60.0
    observability_query_timeout_s: float | None = 30.0
    #: How often each process's scheduler reads the stored schedules (seconds).
    scheduler_poll_s: float = 30.0
    #: Tracing, log and metrics export, the admin server (`_observability_config`).
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    #: Config keys set to ask for a service this implementation does not run yet (ours):
    #: `DBOS.launch` warns about each, once.
    missing_services: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = {**vars(self), "system_database_url": mask_password(self.system_database_url)}
        shown = ", ".join(f"{key}={value!r}" for key, value in fields.items())
        return f"Settings({shown})"


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
    for key in sorted(set(ACCEPTED_WITHOUT_EFFECT) & set(config) - set(missing)):
        logger.debug(
            "config[%r] is accepted for compatibility and has no effect here: %s",
            key,
            ACCEPTED_WITHOUT_EFFECT[key],
        )
    if config.get("application_database_url"):
        logger.warning(
            "config['application_database_url'] is set, but @DBOS.transaction is not supported "
            "by this implementation yet; it is ignored"
        )

    url, source = _pick_url(config, name)
    validate_url(url, source)
    idle_s = _seconds(config, "sys_db_idle_transaction_timeout_sec", 60.0, allow_off=True)
    observability_s = _seconds(config, "observability_query_timeout_sec", 30.0)
    poll_s = _seconds(config, "notification_listener_polling_interval_sec", 1.0)
    if poll_s is not None and poll_s < 0.001:
        raise DBOSConfigError(
            "config['notification_listener_polling_interval_sec'] must be at least 0.001, "
            f"got {poll_s!r}"
        )
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
        console_log_level=console_log_level_of(config),
        run_migrations=_flag(config, "run_migrations", True),
        use_listen_notify=_flag(config, "use_listen_notify", True),
        notification_poll_s=poll_s if poll_s is not None else 1.0,
        idle_transaction_timeout_s=idle_s,
        observability_query_timeout_s=observability_s,
        scheduler_poll_s=_seconds(config, "scheduler_polling_interval_sec", 30.0) or 30.0,
        observability=observability_settings(config),
    )


def _flag(config: DBOSConfig, key: str, default: bool) -> bool:
    value = config.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise DBOSConfigError(f"config[{key!r}] must be a bool, got {value!r}")
    return value


def _seconds(
    config: DBOSConfig, key: str, default: float, *, allow_off: bool = False
) -> float | None:
    """A duration in seconds: a finite number > 0; with `allow_off`, zero or less means None
    (leave the server's setting)."""
    value = config.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DBOSConfigError(f"config[{key!r}] must be a number of seconds, got {value!r}")
    if value <= 0:
        if allow_off:
            return None
        raise DBOSConfigError(
            f"config[{key!r}] must be a positive number of seconds, got {value!r}"
        )
    return float(value)


def console_log_level_of(config: DBOSConfig) -> str | None:
    """The validated ``console_log_level`` of `config` (upper case), or None.

    Raises:
        DBOSConfigError: it is not a level name, or is less severe than ``log_level``
            (DBOS Transact's rule: the console shows no more than the logger passes).
    """
    level = _level_name(config, "console_log_level")
    base = log_level_of(config) or "INFO"
    if level is not None and logging.getLevelName(level) < logging.getLevelName(base):
        raise DBOSConfigError(
            f"config['console_log_level'] {level!r} is less severe than log_level {base!r}"
        )
    return level


def log_level_of(config: DBOSConfig) -> str | None:
    """The validated ``log_level`` of `config` (upper case), or None if it has none.

    Raises:
        DBOSConfigError: the value is not a logging level name.
    """
    return _level_name(config, "log_level")


def _level_name(config: DBOSConfig, key: str) -> str | None:
    level = config.get(key)
    if level is None:
        return None
    if not isinstance(level, str) or not isinstance(logging.getLevelName(level.upper()), int):
        raise DBOSConfigError(
            f"config[{key!r}] {level!r} is not a logging level name "
            "(DEBUG, INFO, WARNING, ERROR or CRITICAL)"
        )
    return level.upper()


def _pick_url(config: DBOSConfig, name: str) -> tuple[str, str]:
    engine_url = sqlalchemy_engine_url(
        config.get("system_database_engine"), "config['system_database_engine']"
    )
    for key in ("system_database_url", "database_url"):
        value = config.get(key)
        if value:
            if engine_url is not None and _same_database(engine_url, str(value)) is False:
                raise DBOSConfigError(
                    f"config['system_database_engine'] connects to {mask_password(engine_url)!r} "
                    f"but config[{key!r}] is {mask_password(str(value))!r}: give one of them"
                )
            return str(value), f"config[{key!r}]"
    if engine_url is not None:
        logger.warning(
            "config['system_database_engine'] is used for its URL only: this library opens "
            "its own connections (the engine's pool, creator and connect arguments are unused)"
        )
        return engine_url, "config['system_database_engine']"
    env = os.environ.get("DBOS_SYSTEM_DATABASE_URL")
    if env:
        return env, "DBOS_SYSTEM_DATABASE_URL"
    return f"sqlite:///{name}.sqlite", "the default SQLite URL"


def _same_database(first: str, second: str) -> bool | None:
    """Whether two URLs name one database, ignoring driver suffixes and passwords (None when
    they cannot be compared)."""
    try:
        a, b = urlsplit(first), urlsplit(second)
        return (a.scheme.split("+")[0], a.hostname, a.port, a.path) == (
            b.scheme.split("+")[0],
            b.hostname,
            b.port,
            b.path,
        )
    except ValueError:
        return None
