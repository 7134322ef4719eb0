"""Application versions (DBOS Transact 3.4's API): which versions processes have served, and
which is the latest. A launched process registers its version; `set_latest` promotes one.

What "latest" decides here: a process whose version is not the latest logs a warning at
launch. (In DBOS Transact the latest version also takes queued tasks that name no version and
runs scheduled workflows; ours does not consult it there yet.)
"""

from __future__ import annotations

import logging
import uuid
from typing import TypedDict

from .._base.errors import DBOSException
from .._engine.effects import Blocking, Procedure
from .._engine.outcome import now_ms
from ..storage._protocol import SystemStorage
from ..storage._records import ApplicationVersion

logger = logging.getLogger("dbos")


class VersionInfo(TypedDict):
    """One registered application version, with DBOS Transact 3.4's keys: its random ID, its
    name (what workflows store as ``app_version``), the time that orders versions (epoch ms;
    the latest has the greatest), when it was first registered (epoch ms), and the name of
    the application that registered it (None if unknown)."""

    version_id: str
    version_name: str
    version_timestamp: int
    created_at: int
    application_name: str | None


def _info(version: ApplicationVersion) -> VersionInfo:
    return VersionInfo(
        version_id=version.version_id,
        version_name=version.version_name,
        version_timestamp=version.version_timestamp_ms,
        created_at=version.created_at_ms,
        application_name=version.application_name,
    )


def list_versions(storage: SystemStorage) -> Procedure[list[VersionInfo]]:
    versions: list[ApplicationVersion] = yield Blocking(storage.list_application_versions, ())
    return [_info(version) for version in versions]


def latest_version(storage: SystemStorage) -> Procedure[VersionInfo]:
    versions = yield from list_versions(storage)
    if not versions:
        raise DBOSException(
            "no application versions are registered in this system database: an app process "
            "registers its version when it launches"
        )
    return versions[0]


def set_latest_version(
    storage: SystemStorage, version_name: object, application_name: object = None
) -> Procedure[None]:
    """Promote `version_name`; with `application_name`, only if that application (or none)
    registered it (DBOS Transact 3.4: version names are global, and promoting another
    application's version raises)."""
    if not isinstance(version_name, str) or not version_name:
        raise DBOSException(f"a version name must be a non-empty string, got {version_name!r}")
    if application_name is not None:
        if not isinstance(application_name, str) or not application_name:
            raise DBOSException(
                f"an application_name must be a non-empty string or None, got {application_name!r}"
            )
        versions: list[ApplicationVersion] = yield Blocking(storage.list_application_versions, ())
        for version in versions:
            owner = version.application_name
            if version.version_name == version_name and owner not in (None, application_name):
                raise DBOSException(
                    f"application version {version_name!r} was registered by application "
                    f"{owner!r}, not {application_name!r} (version names are global); "
                    "nothing was changed"
                )
    promoted: ApplicationVersion | None = yield Blocking(
        storage.set_latest_application_version, (version_name, now_ms())
    )
    if promoted is None:
        raise DBOSException(
            f"no application version {version_name!r} is registered in this system database "
            "(list_application_versions shows those that are)"
        )


def register_version(
    storage: SystemStorage, version_name: str, application_name: str | None
) -> Procedure[None]:
    """Register the version a launching process serves, and warn if it is not the latest (a
    process of an older version was started, or a newer one was promoted)."""
    at = now_ms()
    version = ApplicationVersion(uuid.uuid4().hex, version_name, at, at, application_name)
    yield Blocking(storage.register_application_version, (version,))
    latest = yield from latest_version(storage)
    if latest["version_name"] != version_name:
        logger.warning(
            "this process runs application version %r, which is not the latest: the latest is %r",
            version_name,
            latest["version_name"],
        )
