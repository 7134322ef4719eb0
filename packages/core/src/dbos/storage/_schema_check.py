"""The check of a system database that a process must not migrate (a `DBOSClient`, or an app
launched with ``run_migrations=False``)."""

from __future__ import annotations

from .._base.errors import DBOSMigrationError
from ._protocol import SystemStorage


def require_current_schema(storage: SystemStorage) -> None:
    """Check that `storage`'s system tables are fully migrated, changing nothing.

    Raises:
        DBOSMigrationError: migrations are missing (the message names them and says how to
            apply them), or the applied ones differ from this code's.
        DBOSConnectionError: the database cannot be reached.
    """
    pending = storage.verify_schema()
    if pending:
        raise DBOSMigrationError(
            f"the system database {storage.url_for_display!r} lacks {len(pending)} DBOS "
            f"migration(s) ({', '.join(pending)}): launch the app on it once (with "
            "run_migrations left on), or run `dbos migrate`"
        )
