"""A queue's stored settings (issue 15, queues as data): checking them, and `QueueSettings`,
the getters and setters that read and change the stored queue (DBOS Transact 3.4's names).
`dbos.Queue` is a `QueueSettings` that also enqueues; `DBOSClient`'s queues are
`QueueSettings` bound to the client's database."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal, TypedDict

from .._base.errors import DBOSConfigError, DBOSException
from .._base.ids import check_text
from .._engine.effects import Blocking, Procedure, run_async, run_sync
from .._engine.outcome import now_ms
from ..storage._protocol import SystemStorage
from ..storage._queue_records import StoredQueue

#: What storing a declared queue does when the name is stored already (DBOS Transact 3.4's
#: ``on_conflict``): overwrite only from a process of the latest application version (the
#: default), always, or never.
QueueConflictResolution = Literal["update_if_latest_version", "always_update", "never_update"]
CONFLICT_RESOLUTIONS = ("update_if_latest_version", "always_update", "never_update")


#: How many times a setter reads, checks and tries its compare-and-set write before giving up
#: (each miss means another change of the queue committed in between).
_CHANGE_ATTEMPTS = 20


class QueueRateLimit(TypedDict):
    """``limiter={"limit": N, "period": seconds}``: at most N starts per period."""

    limit: int
    period: float


def _positive_int(value: object, field: str, queue: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise DBOSConfigError(f"queue {queue!r}: {field} must be a positive integer, got {value!r}")
    return value


def _positive_number(value: object, field: str, queue: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise DBOSConfigError(f"queue {queue!r}: {field} must be a number > 0, got {value!r}")
    return float(value)


def rate_limit(value: object, field: str, queue: str) -> tuple[int | None, float | None]:
    """``(limit, period)`` of a ``{"limit": N, "period": seconds}`` dict (None: no limit).

    Raises:
        DBOSConfigError: anything else."""
    if value is None:
        return None, None
    if not isinstance(value, dict) or set(value) != {"limit", "period"}:
        raise DBOSConfigError(
            f"queue {queue!r}: {field} must be {{'limit': N, 'period': seconds}}, got {value!r}"
        )
    limit = _positive_int(value["limit"], f"{field}['limit']", queue)
    return limit, _positive_number(value["period"], f"{field}['period']", queue)


def _limiter(limit: int | None, period: float | None) -> QueueRateLimit | None:
    if limit is None or period is None:
        return None
    return {"limit": limit, "period": period}


def check_queue(queue: StoredQueue) -> None:
    """Refuse settings that contradict each other, with DBOS Transact 3.4's meaning:
    `concurrency` (``global_concurrency``) bounds the whole queue, so neither one process
    (`worker_concurrency`) nor one partition (`partition_concurrency`) may be allowed more;
    `partition_worker_concurrency` may not exceed `partition_concurrency` or
    `worker_concurrency` (nor `concurrency`). A process may run more tasks than one partition
    may: `worker_concurrency` is not checked against `partition_concurrency`, so
    ``Queue("tenant_jobs", partition_concurrency=1, worker_concurrency=8)`` (one task per
    tenant, eight per process) is accepted.

    Raises:
        DBOSConfigError: naming the settings in conflict."""
    name = queue.name
    for field in (
        "concurrency",
        "worker_concurrency",
        "partition_concurrency",
        "partition_worker_concurrency",
        "rate_limit_max",
        "partition_rate_limit_max",
    ):
        _positive_int(getattr(queue, field), field, name)
    _positive_number(queue.polling_interval_sec, "polling_interval_sec", name)
    for field in ("rate_limit_period_sec", "partition_rate_limit_period_sec"):
        if getattr(queue, field) is not None:
            _positive_number(getattr(queue, field), field, name)

    def above(low: str, high: str) -> None:
        small, big = getattr(queue, low), getattr(queue, high)
        if small is not None and big is not None and small > big:
            raise DBOSConfigError(
                f"queue {name!r}: {low} ({small}) cannot exceed {high} ({big})"
                if high != "concurrency"
                else f"queue {name!r}: {low} ({small}) cannot exceed concurrency ({big}), "
                "the queue's limit across all processes"
            )

    above("worker_concurrency", "concurrency")
    above("partition_concurrency", "concurrency")
    above("partition_worker_concurrency", "partition_concurrency")
    above("partition_worker_concurrency", "worker_concurrency")
    above("partition_worker_concurrency", "concurrency")


def queue_from_arguments(
    name: str,
    concurrency: int | None = None,
    limiter: QueueRateLimit | None = None,
    *,
    worker_concurrency: int | None = None,
    global_concurrency: int | None = None,
    priority_enabled: bool = False,
    partition_queue: bool = False,
    partition_concurrency: int | None = None,
    partition_worker_concurrency: int | None = None,
    partition_limiter: QueueRateLimit | None = None,
    polling_interval_sec: float = 1.0,
    on_conflict: str = "update_if_latest_version",
) -> StoredQueue:
    """The queue `Queue(...)` / `register_queue` declare with these arguments (see `Queue`),
    checked (`check_queue`).

    Raises:
        DBOSConfigError: a bad name, bad or contradictory settings, both `concurrency` and
            `global_concurrency`, or an unknown `on_conflict`."""
    if not isinstance(name, str) or not name:
        raise DBOSConfigError(f"a queue needs a non-empty string name, got {name!r}")
    check_text(name, "the queue name")
    if concurrency is not None and global_concurrency is not None:
        raise DBOSConfigError(
            f"queue {name!r}: give global_concurrency or concurrency (its older name), not both"
        )
    if global_concurrency is not None:
        concurrency = global_concurrency
    if on_conflict not in CONFLICT_RESOLUTIONS:
        raise DBOSConfigError(
            f"queue {name!r}: on_conflict must be one of {CONFLICT_RESOLUTIONS}, "
            f"got {on_conflict!r}"
        )
    limit, period = rate_limit(limiter, "limiter", name)
    partition_limit, partition_period = rate_limit(partition_limiter, "partition_limiter", name)
    # The older partitioned form (`partition_queue=True` and none of DBOS Transact 3.4's
    # `global_concurrency` or `partition_*` arguments): `concurrency` and `limiter` bound each
    # partition. With any of those, every argument has 3.4's meaning.
    older_form = partition_queue and all(
        argument is None
        for argument in (
            global_concurrency,
            partition_concurrency,
            partition_worker_concurrency,
            partition_limiter,
        )
    )
    if older_form:
        partition_concurrency, concurrency = concurrency, None
        partition_limit, partition_period, limit, period = limit, period, None, None
    declared = StoredQueue(
        name=name,
        concurrency=concurrency,
        worker_concurrency=worker_concurrency,
        rate_limit_max=limit,
        rate_limit_period_sec=period,
        priority_enabled=bool(priority_enabled),
        partition_queue=bool(
            partition_queue
            or partition_concurrency is not None
            or partition_worker_concurrency is not None
            or partition_limit is not None
        ),
        polling_interval_sec=polling_interval_sec,
        partition_concurrency=partition_concurrency,
        partition_worker_concurrency=partition_worker_concurrency,
        partition_rate_limit_max=partition_limit,
        partition_rate_limit_period_sec=partition_period,
    )
    check_queue(declared)
    declared = replace(declared, polling_interval_sec=float(polling_interval_sec))
    return declared


class QueueSettings:
    """A queue's settings, read from and changed in the system database (DBOS Transact 3.4's
    getters and setters), with their ``_async`` forms.

    Each getter reads the stored queue (one query) once the queue is stored, and returns the
    declared value before (a `Queue` declared before `DBOS.launch`). Each setter changes the
    stored queue for every process: each process's queue worker picks the change up within
    its polling interval, without a restart. A setter checks the new value against the other
    stored settings (`check_queue`) and changes nothing when it refuses.

    Setters raise `DBOSConfigError` for a value refused, and `DBOSException` when the queue is
    not stored (DBOS is not launched yet, or the queue was deleted).
    """

    def __init__(
        self,
        declared: StoredQueue,
        storage: Callable[[], SystemStorage | None],
        changed: Callable[[str], None] | None = None,
    ) -> None:
        self.name = declared.name
        self._current = declared
        self._storage = storage
        self._changed = changed

    # --- reading and writing ----------------------------------------------------------------

    def _read(self) -> Procedure[StoredQueue]:
        storage = self._storage()
        if storage is None:
            return self._current
        found: StoredQueue | None = yield Blocking(storage.get_queue, (self.name,))
        if found is not None:
            self._current = found
        return self._current

    def _change(self, changes: dict[str, int | float | None]) -> Procedure[None]:
        storage = self._storage()
        if storage is None:
            raise DBOSException(
                f"queue {self.name!r} is stored when DBOS launches: call DBOS.launch() before "
                "changing its settings"
            )
        # Read, check the new combination, then write only if the settings are still those
        # read (a compare-and-set): a concurrent change elsewhere (another setter, another
        # process) makes the write miss, and the check runs again on the fresh settings, so
        # two changes each valid alone never store a combination that is not.
        for _ in range(_CHANGE_ATTEMPTS):
            found: StoredQueue | None = yield Blocking(storage.get_queue, (self.name,))
            if found is None:
                raise DBOSException(f"queue {self.name!r} is not stored (was it deleted?)")
            changed = replace(found, **changes)  # type: ignore[arg-type]
            if any(
                changes.get(field) is not None
                for field in (
                    "partition_concurrency",
                    "partition_worker_concurrency",
                    "partition_rate_limit_max",
                )
            ):
                changed = replace(changed, partition_queue=True)
            check_queue(changed)
            updated: StoredQueue | None = yield Blocking(
                storage.update_queue, (self.name, changes, now_ms(), found)
            )
            if updated is not None:
                break
        else:
            raise DBOSException(
                f"queue {self.name!r}: its settings kept changing concurrently "
                f"({_CHANGE_ATTEMPTS} attempts); nothing was changed, try again"
            )
        self._current = updated
        if self._changed is not None:
            self._changed(self.name)

    def _get(self, field: str) -> Any:
        return getattr(run_sync(self._read()), field)

    async def _get_async(self, field: str) -> Any:
        return getattr(await run_async(self._read()), field)

    # --- getters ----------------------------------------------------------------------------

    @property
    def application_name(self) -> str | None:
        """The application that stored the queue (None: a client that named none, or not
        stored yet): DBOS Transact 3.4's attribute, read from the stored queue as the
        getters are."""
        value: str | None = self._get("application_name")
        return value

    @property
    def global_concurrency(self) -> int | None:
        """Most tasks running at once across all processes (None: no limit)."""
        value: int | None = self._get("concurrency")
        return value

    async def get_global_concurrency_async(self) -> int | None:
        """`global_concurrency` for async code."""
        value: int | None = await self._get_async("concurrency")
        return value

    @property
    def concurrency(self) -> int | None:
        """`global_concurrency`'s older name (DBOS Transact 3.4 keeps both)."""
        return self.global_concurrency

    async def get_concurrency_async(self) -> int | None:
        """`concurrency` for async code."""
        return await self.get_global_concurrency_async()

    @property
    def worker_concurrency(self) -> int | None:
        """Most tasks running at once in one process (None: no limit)."""
        value: int | None = self._get("worker_concurrency")
        return value

    async def get_worker_concurrency_async(self) -> int | None:
        """`worker_concurrency` for async code."""
        value: int | None = await self._get_async("worker_concurrency")
        return value

    @property
    def limiter(self) -> QueueRateLimit | None:
        """``{"limit": N, "period": seconds}``: most starts per period across all processes."""
        queue = run_sync(self._read())
        return _limiter(queue.rate_limit_max, queue.rate_limit_period_sec)

    async def get_limiter_async(self) -> QueueRateLimit | None:
        """`limiter` for async code."""
        queue = await run_async(self._read())
        return _limiter(queue.rate_limit_max, queue.rate_limit_period_sec)

    @property
    def polling_interval_sec(self) -> float:
        """How often an idle worker looks for tasks enqueued by other processes (seconds)."""
        value: float = self._get("polling_interval_sec")
        return value

    async def get_polling_interval_sec_async(self) -> float:
        """`polling_interval_sec` for async code."""
        value: float = await self._get_async("polling_interval_sec")
        return value

    @property
    def partition_concurrency(self) -> int | None:
        """Most tasks of one partition running at once across all processes."""
        value: int | None = self._get("partition_concurrency")
        return value

    async def get_partition_concurrency_async(self) -> int | None:
        """`partition_concurrency` for async code."""
        value: int | None = await self._get_async("partition_concurrency")
        return value

    @property
    def partition_worker_concurrency(self) -> int | None:
        """Most tasks of one partition running at once in one process (None: no limit)."""
        value: int | None = self._get("partition_worker_concurrency")
        return value

    async def get_partition_worker_concurrency_async(self) -> int | None:
        """`partition_worker_concurrency` for async code."""
        value: int | None = await self._get_async("partition_worker_concurrency")
        return value

    @property
    def partition_limiter(self) -> QueueRateLimit | None:
        """``{"limit": N, "period": seconds}`` applied to each partition on its own."""
        queue = run_sync(self._read())
        return _limiter(queue.partition_rate_limit_max, queue.partition_rate_limit_period_sec)

    async def get_partition_limiter_async(self) -> QueueRateLimit | None:
        """`partition_limiter` for async code."""
        queue = await run_async(self._read())
        return _limiter(queue.partition_rate_limit_max, queue.partition_rate_limit_period_sec)

    # --- setters ----------------------------------------------------------------------------

    def _concurrency_change(self, value: int | None) -> dict[str, int | float | None]:
        return {"concurrency": _positive_int(value, "concurrency", self.name)}

    def set_global_concurrency(self, value: int | None) -> None:
        """Change the limit across all processes (None removes it)."""
        run_sync(self._change(self._concurrency_change(value)))

    async def set_global_concurrency_async(self, value: int | None) -> None:
        """`set_global_concurrency` for async code."""
        await run_async(self._change(self._concurrency_change(value)))

    def set_concurrency(self, value: int | None) -> None:
        """`set_global_concurrency`'s older name."""
        self.set_global_concurrency(value)

    async def set_concurrency_async(self, value: int | None) -> None:
        """`set_concurrency` for async code."""
        await self.set_global_concurrency_async(value)

    def _worker_change(self, value: int | None) -> dict[str, int | float | None]:
        return {"worker_concurrency": _positive_int(value, "worker_concurrency", self.name)}

    def set_worker_concurrency(self, value: int | None) -> None:
        """Change the limit per process (None removes it)."""
        run_sync(self._change(self._worker_change(value)))

    async def set_worker_concurrency_async(self, value: int | None) -> None:
        """`set_worker_concurrency` for async code."""
        await run_async(self._change(self._worker_change(value)))

    def _limiter_change(self, value: object) -> dict[str, int | float | None]:
        limit, period = rate_limit(value, "limiter", self.name)
        return {"rate_limit_max": limit, "rate_limit_period_sec": period}

    def set_limiter(self, value: QueueRateLimit | None) -> None:
        """Change the rate limit across all processes (None removes it)."""
        run_sync(self._change(self._limiter_change(value)))

    async def set_limiter_async(self, value: QueueRateLimit | None) -> None:
        """`set_limiter` for async code."""
        await run_async(self._change(self._limiter_change(value)))

    def _polling_change(self, value: float) -> dict[str, int | float | None]:
        return {"polling_interval_sec": _positive_number(value, "polling_interval_sec", self.name)}

    def set_polling_interval_sec(self, value: float) -> None:
        """Change how often idle workers poll this queue (seconds, > 0)."""
        run_sync(self._change(self._polling_change(value)))

    async def set_polling_interval_sec_async(self, value: float) -> None:
        """`set_polling_interval_sec` for async code."""
        await run_async(self._change(self._polling_change(value)))

    def _partition_change(self, value: int | None) -> dict[str, int | float | None]:
        return {"partition_concurrency": _positive_int(value, "partition_concurrency", self.name)}

    def set_partition_concurrency(self, value: int | None) -> None:
        """Change the limit per partition across all processes; setting one makes the queue
        partitioned (DBOS Transact 3.4's rule), and a partitioned queue stays so."""
        run_sync(self._change(self._partition_change(value)))

    async def set_partition_concurrency_async(self, value: int | None) -> None:
        """`set_partition_concurrency` for async code."""
        await run_async(self._change(self._partition_change(value)))

    def _partition_worker_change(self, value: int | None) -> dict[str, int | float | None]:
        checked = _positive_int(value, "partition_worker_concurrency", self.name)
        return {"partition_worker_concurrency": checked}

    def set_partition_worker_concurrency(self, value: int | None) -> None:
        """Change the limit per partition and process (None removes it); setting one makes the
        queue partitioned, as `set_partition_concurrency` does."""
        run_sync(self._change(self._partition_worker_change(value)))

    async def set_partition_worker_concurrency_async(self, value: int | None) -> None:
        """`set_partition_worker_concurrency` for async code."""
        await run_async(self._change(self._partition_worker_change(value)))

    def _partition_limiter_change(self, value: object) -> dict[str, int | float | None]:
        limit, period = rate_limit(value, "partition_limiter", self.name)
        return {"partition_rate_limit_max": limit, "partition_rate_limit_period_sec": period}

    def set_partition_limiter(self, value: QueueRateLimit | None) -> None:
        """Change the rate limit applied to each partition on its own (None removes it)."""
        run_sync(self._change(self._partition_limiter_change(value)))

    async def set_partition_limiter_async(self, value: QueueRateLimit | None) -> None:
        """`set_partition_limiter` for async code."""
        await run_async(self._change(self._partition_limiter_change(value)))

    # --- several at once (ours) ----------------------------------------------------------------

    def _settings_change(self, settings: dict[str, Any]) -> dict[str, int | float | None]:
        makers: dict[str, Callable[[Any], dict[str, int | float | None]]] = {
            "global_concurrency": self._concurrency_change,
            "concurrency": self._concurrency_change,
            "worker_concurrency": self._worker_change,
            "limiter": self._limiter_change,
            "polling_interval_sec": self._polling_change,
            "partition_concurrency": self._partition_change,
            "partition_worker_concurrency": self._partition_worker_change,
            "partition_limiter": self._partition_limiter_change,
        }
        unknown = sorted(set(settings) - set(makers))
        if unknown:
            raise DBOSConfigError(
                f"queue {self.name!r}: unknown setting(s) {unknown}; known: {sorted(makers)}"
            )
        if "global_concurrency" in settings and "concurrency" in settings:
            raise DBOSConfigError(
                f"queue {self.name!r}: give global_concurrency or concurrency (its older "
                "name), not both"
            )
        if not settings:
            raise DBOSConfigError(f"queue {self.name!r}: set_settings needs a setting to change")
        changes: dict[str, int | float | None] = {}
        for key, value in settings.items():
            changes.update(makers[key](value))
        return changes

    def set_settings(self, **settings: Any) -> None:
        """Change several settings at once (ours; DBOS Transact 3.4 has one setter per
        setting): keyword arguments named as the setters' settings (`global_concurrency` or
        `concurrency`, `worker_concurrency`, `limiter`, `polling_interval_sec`,
        `partition_concurrency`, `partition_worker_concurrency`, `partition_limiter`), None
        removing a limit. The new settings are checked together (`check_queue`) and written in
        one update, so either all change or none does, and a change that is valid only as a
        whole (lowering `concurrency` and `worker_concurrency` together) is accepted.

        Raises:
            DBOSConfigError: an unknown name, no setting, a value refused (nothing changes).
            DBOSException: the queue is not stored (not launched yet, or deleted).
        """
        run_sync(self._change(self._settings_change(settings)))

    async def set_settings_async(self, **settings: Any) -> None:
        """`set_settings` for async code."""
        await run_async(self._change(self._settings_change(settings)))


def store_procedure(
    storage: SystemStorage, queue: StoredQueue, on_conflict: str, latest: bool
) -> Procedure[StoredQueue]:
    """Store a declared queue (`on_conflict` decides whether it overwrites a stored one;
    `latest`: whether this process runs the latest application version) and return what is
    stored then."""
    if on_conflict not in CONFLICT_RESOLUTIONS:
        raise DBOSConfigError(
            f"queue {queue.name!r}: on_conflict must be one of {CONFLICT_RESOLUTIONS}, "
            f"got {on_conflict!r}"
        )
    replacing = on_conflict == "always_update" or (
        on_conflict == "update_if_latest_version" and latest
    )
    yield Blocking(storage.store_queue, (queue, replacing, now_ms()))
    stored: StoredQueue | None = yield Blocking(storage.get_queue, (queue.name,))
    return stored or queue
