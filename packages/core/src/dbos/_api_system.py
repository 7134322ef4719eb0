"""`DBOS`'s calls about the system database and this process, as DBOS Transact 3.4 names
them: `DBOS.migrate`, `DBOS.reset_system_database`, and the class properties
`DBOS.executor_id` and `DBOS.shard_key` (with `ClassProperty`, the read-only class property
`DBOS` uses)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from ._base.errors import DBOSException
from ._launched import engine_if_launched
from .plugins._hooks import backend_for_url
from .storage._records import StorageOptions

T = TypeVar("T")
logger = logging.getLogger("dbos")


class ClassProperty(Generic[T]):
    """A read-only property on the class itself (``DBOS.workflow_id``)."""

    def __init__(self, getter: Callable[[], T]) -> None:
        self._getter = getter

    def __get__(self, instance: object, owner: type | None = None) -> T:
        return self._getter()


def _executor_id() -> str:
    engine = engine_if_launched()
    if engine is not None:
        return engine.executor_id
    from ._dbos import DBOS

    instance = DBOS._instance
    if instance is not None:
        return instance._settings.executor_id
    return os.environ.get("DBOS__VMID") or "local"


def _text(value: object, what: str, call: str) -> str:
    if not isinstance(value, str) or not value:
        raise DBOSException(f"{call}: {what} must be a non-empty string, got {value!r}")
    return value


class SystemAPI:
    """The system database's migration and reset, and this process's executor and shard."""

    #: This process's executor ID (DBOS Transact 3.4's class property): the configured
    #: ``executor_id``, else ``DBOS__VMID``, else ``"local"``; known before launch too.
    executor_id: ClassVar[str] = ClassProperty(_executor_id)  # type: ignore[assignment]
    #: The shard key of the running workflow (DBOS Transact 3.4's class property): always
    #: None here, as there is no sharding (a workflow cannot be given a shard key).
    shard_key: ClassVar[str | None] = ClassProperty(lambda: None)  # type: ignore[assignment]

    @staticmethod
    def migrate(
        system_database_url: str,
        *,
        schema: str = "dbos",
        application_role: str | None = None,
        sharding: bool = False,
    ) -> None:
        """Create the system database if needed and apply its pending migrations (DBOS
        Transact 3.4's `DBOS.migrate`; what ``dbos migrate`` and a launch do), as a
        privileged role, so that the app itself may run with ``run_migrations=False``.

        Args:
            system_database_url: The system database (``postgresql://...`` or
                ``sqlite:///...``).
            schema: Postgres schema of the system tables (default ``dbos``; SQLite has one).
            application_role: Postgres only: a role to grant the use of the system schema
                (usage of the schema, all privileges on its tables and sequences, execute on
                its functions, and the same by default on what later migrations create), as
                3.4 grants it.
            sharding: DBOS Transact 3.4's sharded system databases: only False (refused).

        Raises:
            DBOSException: ``sharding=True``; an `application_role` on SQLite (as 3.4
                refuses it); an empty URL, schema or role.
            DBOSConnectionError: the database cannot be reached.
            DBOSMigrationError: its applied migrations differ from this code's.
        """
        if sharding is not False:
            raise DBOSException(
                f"DBOS.migrate: sharding is not supported (there is no sharding), got {sharding!r}"
            )
        _text(system_database_url, "system_database_url", "DBOS.migrate")
        _text(schema, "schema", "DBOS.migrate")
        if application_role is not None:
            _text(application_role, "application_role", "DBOS.migrate")
            if system_database_url.startswith("sqlite"):
                raise DBOSException(
                    "DBOS.migrate: application_role is only supported for Postgres system databases"
                )
        storage = backend_for_url(system_database_url, StorageOptions(system_schema=schema))
        try:
            storage.setup()
            if application_role is not None:
                grant: Callable[[str], None] | None = getattr(storage, "grant_system_schema", None)
                if grant is None:
                    raise DBOSException(
                        f"DBOS.migrate: the backend of {storage.url_for_display} cannot grant "
                        "an application_role"
                    )
                grant(application_role)
        finally:
            storage.close()

    @classmethod
    def reset_system_database(
        cls,
        *,
        system_database_url: str | None = None,
        schema: str | None = None,
        truncate: bool = False,
    ) -> None:
        """Delete everything in the system database: every workflow, step, message, queue
        and schedule (DBOS Transact 3.4's `DBOS.reset_system_database`, for tests; what
        ``dbos reset`` does). Destructive.

        With ``truncate=False`` the system tables are dropped (a launch or `DBOS.migrate`
        creates them again; 3.4 drops the whole database); with ``truncate=True`` the system
        database is left migrated and empty (ours: dropped and migrated again, the same end
        state as 3.4's truncation). The database is the given URL, else the configured one
        of the `DBOS` instance; `schema` defaults to the configured ``dbos_system_schema``
        (else ``dbos``). Without either URL nothing happens and a WARNING says so, as in 3.4.

        Raises:
            DBOSException: called while this process has DBOS launched (3.4 refuses it too);
                an empty URL or schema.
        """
        from ._dbos import DBOS

        if engine_if_launched() is not None:
            raise DBOSException(
                "DBOS.reset_system_database: the system database cannot be reset while DBOS "
                "is launched in this process; call DBOS.destroy() first"
            )
        instance = DBOS._instance
        settings: Any = instance._settings if instance is not None else None
        url = system_database_url
        if url is None and settings is not None:
            url = settings.system_database_url
        if url is None:
            logger.warning(
                "reset_system_database has no effect: no system_database_url was given and "
                "no DBOS instance is configured"
            )
            return
        _text(url, "system_database_url", "DBOS.reset_system_database")
        if schema is None:
            schema = settings.system_schema if settings is not None else "dbos"
        _text(schema, "schema", "DBOS.reset_system_database")
        storage = backend_for_url(url, StorageOptions(system_schema=schema))
        try:
            storage.reset_system_database()
            if truncate:
                storage.setup()
        finally:
            storage.close()
