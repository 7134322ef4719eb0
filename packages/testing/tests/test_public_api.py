"""The public names of dbos_testing."""

from __future__ import annotations

import dbos_testing


def test_public_names_are_pinned() -> None:
    # Adding or removing a public name is an API change: update this list on purpose.
    assert dbos_testing.__all__ == [
        "CrashPlan",
        "FaultInjector",
        "KilledRun",
        "SimulatedCrash",
        "SpanCatcher",
        "drop_connections",
        "kill_at_step",
        "most_at_once",
        "span_catcher",
        "storage_for_url",
    ]
    for name in dbos_testing.__all__:
        assert hasattr(dbos_testing, name), name


def test_the_postgres_helpers_are_pinned() -> None:
    import dbos_testing.postgres

    assert dbos_testing.postgres.__all__ == [
        "PostgresUnavailable",
        "drop_database",
        "postgres_admin_url",
        "unavailable_reason",
        "unique_name",
        "with_database",
    ]
