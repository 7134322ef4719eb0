"""Liveness: this process's lease in the system database, and the takeover of dead processes'
workflows (issue 11; ours, not DBOS Transact's, which leaves this to its Conductor).

Every launched process gets an instance ID, new at each launch, and holds a lease under it,
renewed by a heartbeat thread every third of the lease (and released at a clean shutdown). A
PENDING workflow records the instance that runs it; each heartbeat round also takes over the
PENDING workflows whose owner's lease has expired (or that have no owner), whatever their
executor IDs, and hands them to the engine, which runs them through its recovery path. A
lease also says where its process runs, so that a process launched on the same host can tell
at once that the holder of an unexpired lease is gone: a restart after a crash resumes the
crashed process's work without waiting for its lease to expire. A process that lost a
workflow to a takeover while it still ran it (a pause, a partition longer than the lease)
learns so at its next checkpoint (`WorkflowTakenOver`) and stops running it.
"""

from __future__ import annotations

import logging
import math
import os
import shlex
import socket
import threading
import time
from collections.abc import Callable

from .._base.errors import DBOSConfigError, DBOSException
from .._base.secrets import MASK
from ..storage._records import Lease, StorageOptions, StrandedVersion, WorkflowRow
from .background import BackgroundPort
from .queues import listened_queues

logger = logging.getLogger("dbos")

#: How long a lease holds after each renewal (config key ``process_lease_sec``): a dead
#: process's workflows are taken over between this long and 4/3 of it after its last
#: heartbeat, with heartbeats (one small write each) every third of it.
DEFAULT_LEASE_S = 20.0
MIN_LEASE_S = 1.0
MAX_LEASE_S = 3600.0
#: Workflows one takeover round claims at most; a round that fills it runs again at once.
TAKEOVER_BATCH = 100
#: Seconds between two warnings about stranded workflows from one process (the first comes
#: from the first check that finds any).
STRANDED_WARNING_INTERVAL_S = 300.0
_RENEWALS_PER_LEASE = 3

#: Runs workflows taken over from dead processes (rows as `take_over_workflows` returns them).
#: Returns the IDs of those that run here.
TakeOver = Callable[[list[WorkflowRow]], list[str]]


class WorkflowTakenOver(BaseException):
    """Raised at a checkpoint of a workflow that another process took over from this one (its
    lease expired while this process still ran the workflow). Not an `Exception`: the workflow
    body does not catch it, nothing is recorded as its outcome, and the engine hands local
    waiters to storage, where the new owner's outcome will appear. Ours."""

    def __init__(self, workflow_id: str, owner: str) -> None:
        super().__init__(f"workflow {workflow_id} was taken over by process instance {owner}")
        self.workflow_id = workflow_id
        self.owner = owner


def lease_seconds(value: object, where: str) -> float:
    """A validated lease duration in seconds.

    Raises:
        DBOSConfigError: `value` is not a number of seconds from `MIN_LEASE_S` to
            `MAX_LEASE_S`.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not MIN_LEASE_S <= value <= MAX_LEASE_S
    ):
        raise DBOSConfigError(
            f"{where} must be a number of seconds from {MIN_LEASE_S:g} to {MAX_LEASE_S:g} "
            f"(how long a silent process keeps its workflows), got {value!r}"
        )
    return float(value)


def host_key() -> str:
    """This host, as leases record it: the host name, and on Linux the process-ID namespace
    too, so that containers sharing a host name but not their process IDs never judge each
    other's processes."""
    name = socket.gethostname()
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return name
    return f"{name} {namespace}"


def process_gone(pid: int) -> bool:
    """Whether no process `pid` runs on this host (in this process-ID namespace). False when
    unsure: the lease then decides. A zombie (killed, not yet reaped) is gone."""
    if os.name != "posix" or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state == "Z"


class Liveness:
    """Holds this process's lease and takes over dead processes' workflows, for one engine."""

    def __init__(self, port: BackgroundPort, lease_s: float, take_over: TakeOver) -> None:
        self._port = port
        listening = listened_queues()  # fixed before launch (`DBOS.listen_queues`)
        self._lease = Lease(
            port.instance_id,
            port.executor_id,
            port.application_version,
            int(lease_s * 1000),
            host_key(),
            os.getpid(),
            None if listening is None else tuple(sorted(listening)),
        )
        self._interval_s = lease_s / _RENEWALS_PER_LEASE
        # A check for stranded workflows reads every unfinished row: once a lease, not every
        # heartbeat round (stranded work appears when a lease expires, not sooner).
        self._stranded_check_s = lease_s
        self._take_over = take_over
        self._stranded_warned_at: float | None = None
        self._stranded_checked_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dbos-liveness", daemon=True)
        #: When the lease was last renewed (`time.monotonic()`), None before the first renewal:
        #: the admin server's health check reads it.
        self.last_renewed_s: float | None = None

    def renew(self) -> None:
        """One heartbeat: renew the lease now (launch does this before recovering anything, so
        no workflow this process runs is ever without a live owner)."""
        self._port.storage.renew_lease(self._lease)
        self.last_renewed_s = time.monotonic()

    def forget_gone_neighbours(self) -> None:
        """Release the unexpired leases of processes of this host that are gone (killed,
        crashed): their workflows are then recovered or taken over at once."""
        storage = self._port.storage
        for holder in storage.list_leases(self._lease.host):
            if (
                holder.live
                and holder.instance_id != self._lease.instance_id
                and holder.pid != os.getpid()
                and process_gone(holder.pid)
            ):
                logger.info(
                    "process %d of this host (executor %s) exited without releasing its lease "
                    "(it was killed or crashed): releasing it now",
                    holder.pid,
                    holder.executor_id,
                )
                storage.release_lease(holder.instance_id)

    def check_latest(self) -> bool:
        """Read whether this process's version is the latest registered one (or none is
        registered) into the port's `VersionStanding`, which decides whether the queue
        worker takes tasks enqueued without a version (DBOS Transact's rule). Returns it."""
        versions = self._port.storage.list_application_versions()
        mine = self._lease.application_version
        is_latest = not versions or versions[0].version_name == mine
        standing = self._port.standing
        if standing.is_latest and not is_latest:
            logger.info(
                "application version %r is no longer the latest (%r is): this process leaves "
                "tasks enqueued without a version to the latest version's processes",
                mine,
                versions[0].version_name,
            )
        standing.is_latest = is_latest
        return is_latest

    def take_over_once(self) -> tuple[int, list[str]]:
        """One takeover round: claim abandoned workflows and hand them to the engine; returns
        how many were claimed and the IDs of those that run here."""
        port = self._port
        rows = port.storage.take_over_workflows(
            port.instance_id, port.executor_id, port.application_version, TAKEOVER_BATCH
        )
        if rows:
            logger.warning(
                "took over %d workflow(s) whose process stopped renewing its lease: %s",
                len(rows),
                ", ".join(row.workflow_id for row in rows[:10])
                + (" ..." if len(rows) > 10 else ""),
            )
            return len(rows), self._take_over(rows)
        return 0, []

    def warn_stranded(self, now_s: float | None = None) -> bool:
        """Log a WARNING naming the stranded workflows' versions and counts (see
        `SystemStorage.count_stranded_workflows`), unless this process warned less than
        `STRANDED_WARNING_INTERVAL_S` before `now_s` (monotonic seconds; default now).
        Returns whether it warned. Ours: a rolling deploy that stopped a version's last
        process must not leave its work waiting unseen."""
        now_s = time.monotonic() if now_s is None else now_s
        last = self._stranded_warned_at
        if last is not None and now_s - last < STRANDED_WARNING_INTERVAL_S:
            return False
        counts = self._port.storage.count_stranded_workflows()
        if not counts:
            return False
        self._stranded_warned_at = now_s
        versions = {count.application_version for count in counts}
        # One stranded version (the usual case: code edited between two runs) is named in
        # the command, and so is the database, so that it can be pasted as it is (but for a
        # password, which is masked).
        from_version = next(iter(versions)) if len(versions) == 1 else None
        dbos = f"dbos --db-url {shlex.quote(self._port.storage.url_for_display)}"
        schema = getattr(self._port.storage, "schema", None)  # a backend with schemas
        if isinstance(schema, str) and schema != StorageOptions().system_schema:
            dbos += f" --schema {shlex.quote(schema)}"
        logger.warning(
            "%d workflow(s) are stranded: no live process serves their application version "
            "(%s). A version changes whenever the workflow code does (set "
            "`application_version` in the config to keep one across edits). List them with "
            "`%s workflow list --stranded`; move them to a version that is served with "
            "`%s workflow move --from-version %s --to-version %s` (or "
            "DBOS.move_workflows_to_version)%s",
            sum(count.pending + count.enqueued for count in counts),
            "; ".join(_described(count) for count in counts),
            dbos,
            dbos,
            "VERSION" if from_version is None else from_version,
            self._lease.application_version,
            " (write the password where the URL shows ***)" if MASK in dbos else "",
        )
        return True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the heartbeat (the lease then expires, unless released). Idempotent."""
        self._stop.set()
        thread = self._thread
        if thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5)

    def release(self) -> None:
        """Give the lease up (a clean shutdown), so that what this process leaves PENDING is
        taken over at once rather than when the lease expires. Waits 2 s at most (a shutdown
        during an outage must not wait for the database); never raises."""

        def release() -> None:
            try:
                self._port.storage.release_lease(self._port.instance_id)
            except BaseException as exc:  # shutting down: the lease just expires instead
                instance = self._lease.instance_id
                logger.debug("could not release the lease of instance %s: %s", instance, exc)

        thread = threading.Thread(target=release, name="dbos-lease-release", daemon=True)
        thread.start()
        thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.renew()
                self.check_latest()
                while self.take_over_once()[0] >= TAKEOVER_BATCH and not self._stop.is_set():
                    pass
            except DBOSException as exc:
                if self._port.failed("the heartbeat", exc):
                    return
                logger.warning("could not renew this process's lease, retrying: %s", exc)
                continue
            if not self._check_stranded():
                return

    def _check_stranded(self) -> bool:
        """`warn_stranded`, from a heartbeat round, once a lease at most. False if it met a
        fatal error (the heartbeat must stop)."""
        now_s = time.monotonic()
        last = self._stranded_checked_at
        if last is not None and now_s - last < self._stranded_check_s:
            return True
        self._stranded_checked_at = now_s
        try:
            self.warn_stranded(now_s)
        except DBOSException as exc:
            if self._port.failed("the heartbeat", exc):
                return False
            logger.warning("could not check for stranded workflows: %s", exc)
        return True


def _described(count: StrandedVersion) -> str:
    version = count.application_version
    name = "no version (the latest version's to run)" if version is None else repr(version)
    return f"{name}: {count.pending} pending, {count.enqueued} enqueued"
