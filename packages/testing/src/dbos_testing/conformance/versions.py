"""The application-version conformance suite: registering, listing and promoting versions,
tested through the `SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.versions import *  # noqa: F403
"""

from __future__ import annotations

import threading

from dbos import SystemStorage
from dbos.storage import ApplicationVersion

__all__ = [
    "test_registered_versions_are_listed_latest_first",
    "test_registering_a_name_again_keeps_the_first_registration",
    "test_concurrent_registrations_of_one_name_store_one_version",
    "test_set_latest_makes_a_version_the_latest_even_against_a_later_clock",
    "test_set_latest_of_an_unknown_version_changes_nothing",
]


def _version(name: str, at_ms: int, application: str | None = "app") -> ApplicationVersion:
    return ApplicationVersion(f"id-{name}-{at_ms}", name, at_ms, at_ms, application)


def _names(storage: SystemStorage) -> list[str]:
    return [version.version_name for version in storage.list_application_versions()]


def test_registered_versions_are_listed_latest_first(dbos_storage: SystemStorage) -> None:
    assert dbos_storage.list_application_versions() == []
    dbos_storage.register_application_version(_version("v1", 1_000))
    dbos_storage.register_application_version(_version("v3", 3_000, None))
    dbos_storage.register_application_version(_version("v2", 2_000))
    assert dbos_storage.list_application_versions() == [
        _version("v3", 3_000, None),
        _version("v2", 2_000),
        _version("v1", 1_000),
    ]


def test_registering_a_name_again_keeps_the_first_registration(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.register_application_version(_version("v1", 1_000))
    dbos_storage.register_application_version(_version("v1", 5_000, "other"))
    assert dbos_storage.list_application_versions() == [_version("v1", 1_000)]


def test_concurrent_registrations_of_one_name_store_one_version(
    dbos_storage: SystemStorage,
) -> None:
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def register(index: int) -> None:
        start.wait()
        try:
            dbos_storage.register_application_version(_version("v1", 1_000 + index))
        except BaseException as exc:  # reported below, with the test's assertion
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _names(dbos_storage) == ["v1"]


def test_set_latest_makes_a_version_the_latest_even_against_a_later_clock(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.register_application_version(_version("v1", 1_000))
    dbos_storage.register_application_version(_version("v2", 2_000))
    promoted = dbos_storage.set_latest_application_version("v1", 1_500)
    # The stored clock is ahead of the caller's: one past the greatest timestamp.
    assert promoted == ApplicationVersion("id-v1-1000", "v1", 2_001, 1_000, "app")
    assert _names(dbos_storage) == ["v1", "v2"]
    promoted = dbos_storage.set_latest_application_version("v2", 9_000)
    assert promoted is not None and promoted.version_timestamp_ms == 9_000
    assert _names(dbos_storage) == ["v2", "v1"]


def test_set_latest_of_an_unknown_version_changes_nothing(dbos_storage: SystemStorage) -> None:
    dbos_storage.register_application_version(_version("v1", 1_000))
    assert dbos_storage.set_latest_application_version("v9", 5_000) is None
    assert dbos_storage.list_application_versions() == [_version("v1", 1_000)]
