"""DBOS Transact config keys that this implementation accepts without acting on them: those
that configure something it does without (with the reason), and those that ask for a service
it does not run yet (a WARNING at launch when their value asks for it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Keys accepted for compatibility that change nothing here, with the reason (logged at DEBUG
#: level and listed in docs/reference/configuration.md).
ACCEPTED_WITHOUT_EFFECT: dict[str, str] = {
    "db_engine_kwargs": "the system database is reached through the backend's own driver, "
    "not a SQLAlchemy engine",
    "sys_db_polling_concurrency": "a wait here holds no pool connection while it waits",
    "notification_coalesce_sec": "notifications are sent by triggers at commit",
    "kafka_queue_polling_interval_sec": "there is no Kafka integration",
    "auto_upgrade_interval_sec": "automatic upgrades are not provided yet",
    "auto_upgrade_grace_sec": "automatic upgrades are not provided yet",
    "conductor_key": "there is no Conductor connection",
    "conductor_url": "there is no Conductor connection",
    "conductor_executor_metadata": "there is no Conductor connection",
    "conductor_metadata_only_mode": "there is no Conductor connection",
    "transact_enterprise_key": "DBOS Transact Enterprise features are not provided",
    "auto_upgrade": "automatic upgrades are not provided yet",
    "sharding": "sharded system databases are not provided",
}

#: The services the keys ask for, keyed by config key (a subset of the keys above).
_MISSING_SERVICES = {
    "conductor_key": "a connection to DBOS Conductor",
    "conductor_url": "a connection to DBOS Conductor",
    "conductor_executor_metadata": "a connection to DBOS Conductor",
    "conductor_metadata_only_mode": "a connection to DBOS Conductor",
    "transact_enterprise_key": "DBOS Transact Enterprise features",
    "auto_upgrade": "automatic upgrades of older versions' workflows (see "
    "docs/guides/production.md for moving them)",
    "sharding": "a sharded system database (DBOS Transact Enterprise)",
}


def requested_missing_services(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys of `config` that ask for a DBOS Transact service this implementation does not
    run yet, in sorted order. A key counts only when its value asks for the service:
    conductor settings, ``auto_upgrade=True``, ``sharding``. Falsy values (``False``, ``[]``,
    ``None``) ask for nothing."""
    asked = []
    for key in sorted(_MISSING_SERVICES):
        if config.get(key):
            asked.append(key)
    return tuple(asked)


def missing_service_warning(key: str) -> str:
    """The WARNING text for a config key whose service is not provided (ours)."""
    return (
        f"config[{key!r}] asks for {_MISSING_SERVICES[key]}, which this implementation does not "
        "provide yet; the key is ignored"
    )
