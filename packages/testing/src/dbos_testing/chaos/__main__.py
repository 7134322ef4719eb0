"""The chaos driver: ``python -m dbos_testing.chaos [--duration S] [--workers N] ...``.

Starts worker processes (`dbos_testing.chaos.worker`), enqueues jobs through a `DBOSClient`,
SIGKILLs a random worker every few seconds and restarts it under the same executor ID (so it
recovers its work). With ``--mode for-good``, every worker shares one executor ID, a killed
worker is never restarted, and its work is taken over by the others once its lease
(``--lease``) expires; a new worker (same shared ID) is started only when fewer than all but
one are left. Then it checks from the database and the side-effect log:

- every job workflow finished exactly once, with the right result;
- no step ran again after its checkpoint: for every (job, step) the checkpointed token is the
  last one logged, and every earlier run of it was in a process that was killed;
- the mailbox workflow received every job's message exactly once, and none is left over;
- the job queue's global concurrency was never exceeded (sampled from the database during the
  run, and from the logged intervals of completed step bodies).

Prints the counts and exits 1 on any violation. Without ``--database-url`` it starts a
throwaway Postgres server (as the test plugin does).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dbos.management import EnqueueOptions
from dbos_client import DBOSClient

from .. import _postgres_server as pg
from .._intervals import most_at_once
from ..chaos import worker as app

JOB_STEPS = {"chaos.step_a": "a", "chaos.step_b": "b", "chaos.step_c": "c"}


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with pg.postgres_admin_url() as admin_url:
        name = pg.unique_name("dbos_chaos")
        pg.run_admin(admin_url, f"CREATE DATABASE {pg.quote_ident(name)}")
        try:
            yield pg.with_database(admin_url, name)
        finally:
            pg.drop_database(admin_url, name)


class Workers:
    """The worker processes, by name. In the default mode each name is its executor ID and a
    killed worker is restarted under it; in ``for-good`` mode all share one executor ID and a
    killed worker stays dead (a new one starts only when fewer than ``count - 1`` are left)."""

    def __init__(self, url: str, workdir: Path, count: int, mode: str, lease_s: float) -> None:
        self.url, self.workdir, self.count = url, workdir, count
        self.for_good, self.lease_s = mode == "for-good", lease_s
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.killed_pids: set[int] = set()
        self.started = 0
        for _ in range(count):
            self.start(None)

    def start(self, name: str | None) -> None:
        if name is None:
            name = f"chaos-{self.started}"
            self.started += 1
        executor = "chaos-shared" if self.for_good else name
        self.processes[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dbos_testing.chaos.worker",
                self.url,
                str(self.workdir),
                executor,
                str(self.lease_s),
            ],
            stderr=open(self.workdir / f"{name}.stderr", "ab"),  # noqa: SIM115
        )

    def kill_one(self, rng: random.Random) -> str:
        name = rng.choice(sorted(self.processes))
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.killed_pids.add(process.pid)
        if not self.for_good:
            self.start(name)
            return name
        del self.processes[name]
        if len(self.processes) < self.count - 1:
            self.start(None)
        return name

    def stop(self) -> list[str]:
        (self.workdir / "stop").touch()
        failures = []
        for executor, process in self.processes.items():
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                code = -1
            if code != 0:
                failures.append(f"worker {executor} exited with {code}")
        return failures


def _enqueue_job(client: DBOSClient, index: int) -> None:
    options: EnqueueOptions = {
        "workflow_name": "chaos.job",
        "queue_name": app.JOB_QUEUE,
        "workflow_id": f"job-{index}",
    }
    client.enqueue(options, index, "mailbox")


def _drive(
    client: DBOSClient, workers: Workers, args: argparse.Namespace, total: int
) -> tuple[int, int]:
    """Enqueue `total` jobs at the configured rate and kill workers now and then, for the
    configured duration. Returns the kills and the most jobs seen PENDING at once."""
    rng = random.Random(args.seed)
    most_pending = 0
    stop_sampling = threading.Event()

    def sample() -> None:
        nonlocal most_pending
        while not stop_sampling.wait(0.25):
            pending = client.list_queued_workflows(queue_name=app.JOB_QUEUE, status="PENDING")
            most_pending = max(most_pending, len(pending))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    next_kill = started + rng.uniform(*args.kill_every)
    enqueued = kills = 0
    while time.monotonic() - started < args.duration or enqueued < total:
        due = min(total, int((time.monotonic() - started) * args.jobs_per_second) + 1)
        while enqueued < due:
            _enqueue_job(client, enqueued)
            enqueued += 1
        if time.monotonic() >= next_kill and time.monotonic() - started < args.duration:
            workers.kill_one(rng)
            kills += 1
            next_kill = time.monotonic() + rng.uniform(*args.kill_every)
        time.sleep(0.02)
    deadline = time.monotonic() + args.settle_timeout
    while time.monotonic() < deadline:
        done = client.list_workflows(name="chaos.job", status="SUCCESS", load_input=False)
        box = client.get_workflow_status("mailbox")
        if len(done) == total and box is not None and box.status == "SUCCESS":
            break
        time.sleep(0.5)
    stop_sampling.set()
    sampler.join()
    return kills, most_pending


def _check_jobs(client: DBOSClient, total: int, violations: list[str]) -> int:
    jobs = client.list_workflows(name="chaos.job")
    by_id = {w.workflow_id: w for w in jobs}
    for index in range(total):
        status = by_id.get(f"job-{index}")
        if status is None:
            violations.append(f"job-{index} is missing")
        elif status.status != "SUCCESS" or status.output != index:
            violations.append(f"job-{index} ended {status.status} with {status.output!r}")
    if len(jobs) != total:
        violations.append(f"{len(jobs)} job workflows for {total} jobs")
    return sum(1 for w in jobs if w.status == "SUCCESS")


def _read_log(workdir: Path) -> tuple[dict[tuple[int, str], list[tuple[str, int]]], int, int]:
    """Step runs by (job, step) in log order; the most completed step-b bodies at once; the
    number of mailbox notes."""
    runs: dict[tuple[int, str], list[tuple[str, int]]] = defaultdict(list)
    times: dict[tuple[int, int], list[float]] = defaultdict(list)
    notes = 0
    path = workdir / "effects.log"
    for line in path.read_text().splitlines() if path.exists() else []:
        fields = line.split()
        if fields[0] == "step":
            runs[(int(fields[1]), fields[2])].append((fields[3], int(fields[4])))
        elif fields[0] in ("begin", "end"):
            times[(int(fields[1]), int(fields[2]))].append(float(fields[3]))
        elif fields[0] == "recv":
            notes += 1
    completed = [(pair[0], pair[1]) for pair in times.values() if len(pair) == 2]
    return runs, most_at_once(completed), notes


def _check_steps(
    client: DBOSClient,
    total: int,
    runs: dict[tuple[int, str], list[tuple[str, int]]],
    killed_pids: set[int],
    violations: list[str],
) -> tuple[int, int]:
    """Every checkpointed step's token is its last logged run; earlier runs died with their
    process; every job recorded exactly one send (a send is stored with its checkpoint, under
    an ID derived from it, so one checkpoint means one stored message). Returns how many runs
    were repeated and how many messages were sent."""
    reruns = sent = 0
    for index in range(total):
        steps = client.list_workflow_steps(f"job-{index}")
        sends = sum(1 for step in steps if step["function_name"] == "DBOS.send")
        sent += sends
        if sends != 1:
            violations.append(f"job-{index} recorded {sends} sends")
        for step in steps:
            short = JOB_STEPS.get(step["function_name"])
            if short is None:
                continue
            logged = runs.get((index, short), [])
            if not logged or logged[-1][0] != step["output"]:
                violations.append(
                    f"job-{index} step {short}: checkpoint {step['output']!r} is not the last "
                    f"run logged ({logged})"
                )
                continue
            for token, pid in logged[:-1]:
                reruns += 1
                if pid not in killed_pids:
                    violations.append(
                        f"job-{index} step {short} ran again after run {token} of live "
                        f"process {pid}"
                    )
    return reruns, sent


def run(args: argparse.Namespace) -> int:
    from .._storage import storage_for_url

    with _database(args.database_url) as url, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        storage = storage_for_url(url)
        storage.setup()  # migrate once, before the workers race for it
        storage.close()
        client = DBOSClient(url)
        workers = Workers(url, workdir, args.workers, args.mode, args.lease)
        total = max(1, int(args.duration * args.jobs_per_second * 0.7))
        mailbox: EnqueueOptions = {
            "workflow_name": "chaos.mailbox",
            "queue_name": app.MAILBOX_QUEUE,
            "workflow_id": "mailbox",
        }
        client.enqueue(mailbox, total)
        kills, most_pending = _drive(client, workers, args, total)
        violations = workers.stop()
        succeeded = _check_jobs(client, total, violations)
        runs, most_running, notes = _read_log(workdir)
        reruns, sent = _check_steps(client, total, runs, workers.killed_pids, violations)
        box = client.get_workflow_status("mailbox")
        received: list[int] = list(box.output) if box is not None and box.output else []
        if sorted(received) != list(range(total)):
            missing = sorted(set(range(total)) - set(received))
            duplicates = len(received) - len(set(received))
            violations.append(
                f"mailbox got {len(received)} messages: missing {missing[:10]}, "
                f"duplicates {duplicates}"
            )
        leftover = sent - len(received)
        if leftover:
            violations.append(f"{sent} messages sent, {len(received)} received")
        limit = app.JOB_CONCURRENCY
        if most_pending > limit:
            violations.append(f"{most_pending} jobs PENDING at once (limit {limit})")
        if most_running > limit:
            violations.append(f"{most_running} step bodies at once (limit {limit})")
        client.destroy()
        logging.getLogger("dbos").setLevel(logging.ERROR)  # the server goes away next
        summary: dict[str, Any] = {
            "duration_s": args.duration,
            "workers": args.workers,
            "mode": args.mode,
            "kills": kills,
            "jobs": total,
            "jobs_succeeded": succeeded,
            "step_runs_logged": sum(len(r) for r in runs.values()),
            "step_reruns_after_kills": reruns,
            "messages_sent": sent,
            "messages_received": len(received),
            "message_notes_logged": notes,
            "messages_left_undelivered": leftover,
            "most_jobs_pending_sampled": most_pending,
            "most_step_bodies_at_once": most_running,
            "concurrency_limit": limit,
            "violations": violations,
        }
        print(json.dumps(summary, indent=2))
        if violations:
            print(f"CHAOS RUN FAILED: {len(violations)} violation(s)", file=sys.stderr)
            for stderr in sorted(workdir.glob("*.stderr")):
                tail = stderr.read_text(errors="replace")[-2000:]
                if tail.strip():
                    print(f"--- {stderr.name}\n{tail}", file=sys.stderr)
            return 1
        print("chaos run passed")
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dbos_testing.chaos", description=__doc__)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of chaos")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--jobs-per-second", type=float, default=15.0)
    parser.add_argument(
        "--kill-every",
        type=float,
        nargs=2,
        default=(2.0, 5.0),
        metavar=("MIN", "MAX"),
        help="seconds between kills, drawn uniformly",
    )
    parser.add_argument(
        "--mode",
        choices=("restart", "for-good"),
        default="restart",
        help="restart killed workers under their executor ID, or share one executor ID among "
        "all workers and never restart a killed one (its work is taken over)",
    )
    parser.add_argument("--lease", type=float, default=2.0, help="the workers' process_lease_sec")
    parser.add_argument("--settle-timeout", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
