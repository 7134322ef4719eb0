"""The public modules other packages build on (`dbos.storage`, `dbos.management`,
`dbos.plugins`) are pinned, and nothing outside core reaches into core's private modules: a
backend or tool that did would break whenever core is reorganised."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dbos.management
import dbos.plugins
import dbos.storage

REPO = Path(__file__).resolve().parents[3]

STORAGE = [
    "QUEUE_SETTINGS", "SCHEDULE_ACTIVE", "SCHEDULE_PAUSED", "TERMINAL_STATUSES", "WAKE_EVENT",
    "WAKE_MESSAGE", "WAKE_SETTLED",
    "WAKE_STREAM",
    "ApplicationVersion", "AppliedMigration", "ClaimRequest", "DBOSConfigError",
    "DBOSConnectionError",
    "DBOSForkStepError", "DBOSMigrationError", "DBOSNonExistentWorkflowError",
    "DBOSQueueDeduplicatedError", "DBOSStepConflictError", "DBOSStorageError",
    "DBOSWorkflowConflictIDError", "EventRecord", "Filter", "FinishedAndClaimed",
    "ForkRequest", "GroupCommit", "Lease", "LeaseHolder", "Message", "Migration", "NewWorkflow",
    "PartitionLoad",
    "QueueActivity", "QueueDepth", "QueueSpec", "RecvRequest", "ResumeResult", "RewindRequest",
    "ScheduleInactiveError", "ScheduleQuery", "ScheduleRecord", "StepAck",
    "StepRecord",
    "StepWrite", "StorageBackend", "StorageOptions", "StreamEntry", "StreamRead", "StreamWrite",
    "StoredQueue", "StrandedVersion", "SystemStorage", "Wakeup",
    "WorkflowInit", "WorkflowOutcome", "WorkflowQuery", "WorkflowRow", "WorkflowStatusString",
    "as_params", "claimable", "hookimpl", "json_contains", "load_fragments", "load_migrations",
    "load_queries",
    "mask_password",
    "partition_quotas", "password_secrets", "pending_migrations", "query_filters",
    "require_current_schema",
    "scrub_exception", "scrub_text", "skipped_fields", "url_scheme", "validate_schema_name",
    "with_wakeups",
]  # fmt: skip
MANAGEMENT = [
    "DEFAULT_RETRY_TIMEOUT_S", "INTERNAL_QUEUE_NAME", "ActionResult", "ClientScheduleInput",
    "Codec", "EnqueueCall",
    "EnqueueOptions",
    "Facade", "LenientCodec", "Management", "Procedure", "QueueConflictResolution",
    "QueueRateLimit", "QueueSettings", "RecordedTimes", "RemoteWaiter", "ResilientStorage",
    "SendMessage", "StepInfo", "StrandedCount",
    "UnreadableValue", "VersionInfo", "Wakeups", "WorkflowSchedule", "attempt_timeout",
    "build_query",
    "build_queued_query", "check_workflow_id", "debounce",
    "get_event_from_outside", "message_trace_carrier", "queue_from_arguments", "retry_timeout",
    "run_async", "run_sync",
    "schedule_record", "send_bulk_from_outside", "send_from_outside", "served_versions",
    "store_procedure",
    "take_assigned_workflow_id", "to_epoch_ms",
    "sqlalchemy_engine_url", "validate_url", "wake_up_ms",
]  # fmt: skip
PLUGINS = [
    "BackendForTests", "DatabasesForTests", "Hooks", "broken_plugins", "hookimpl",
    "install_hint", "backend_for_url", "plugin_manager",
]  # fmt: skip


@pytest.mark.parametrize(
    ("module", "names"),
    [(dbos.storage, STORAGE), (dbos.management, MANAGEMENT), (dbos.plugins, PLUGINS)],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_public_kits_are_pinned(module: object, names: list[str]) -> None:
    # Adding or removing a name is an API change for backends and tools: do it on purpose.
    assert module.__all__ == names  # type: ignore[attr-defined]
    for name in names:
        assert hasattr(module, name), name


def _private_core_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        modules: list[str] = []
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module] + (
                [f"{node.module}.{a.name}" for a in node.names] if node.module == "dbos" else []
            )
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        for module in modules:
            parts = module.split(".")
            if parts[0] == "dbos" and any(part.startswith("_") for part in parts[1:]):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {module}")
    return found


def test_nothing_outside_core_imports_a_private_core_module() -> None:
    outside = [
        path
        for folder in ("packages", "examples", "bench")
        for path in sorted((REPO / folder).rglob("*.py"))
        if not path.is_relative_to(REPO / "packages" / "core") and ".venv" not in path.parts
    ]
    assert len(outside) > 50  # the scan sees the other packages' sources and tests
    offenders = [line for path in outside for line in _private_core_imports(path)]
    assert offenders == [], "use dbos, dbos.storage, dbos.management or dbos.plugins:\n" + (
        "\n".join(offenders)
    )
