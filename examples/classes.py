"""Workflows that are methods: configured instances, a class method, a real crash.

Run it with ``python examples/classes.py``. It uses the embedded SQLite default (a file in a
temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

Two payment gateways are two configured instances of one class, ``eu`` and ``us``, with fees of
their own: state that no workflow input carries. A workflow run records its instance by name
(``config_name``), so whichever process runs it later calls the method on the instance of that
name.

1. A process starts a payment on the ``us`` gateway and is killed (SIGKILL) while capturing it,
   after the authorization step was recorded.
2. This process creates the same gateways, launches, and so recovers the payment: the capture
   runs on ``us`` again (its fee, not ``eu``'s), the authorization is not repeated. It also
   enqueues a payment on ``eu`` and a class-method report, and lists what ran where.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dbos import DBOS, DBOSConfiguredInstance, Queue, SetWorkflowID

#: Set in the first process: the capture step announces itself there, then hangs until killed.
READY = os.environ.get("CLASSES_EXAMPLE_READY")

payments = Queue("payments")


@DBOS.dbos_class()
class Gateway(DBOSConfiguredInstance):
    """A payment gateway; each instance is registered under its region (its config_name)."""

    def __init__(self, region: str, fee_percent: int) -> None:
        self.fee_percent = fee_percent
        super().__init__(config_name=region)

    @DBOS.step()
    def authorize(self, order_id: str, cents: int) -> str:
        print(f"  [pid {os.getpid()}] {self.config_name}: authorizing {order_id}")
        return f"auth-{order_id}"

    @DBOS.step()
    def capture(self, authorization: str, cents: int) -> int:
        if READY:
            Path(READY).touch()
            time.sleep(60)  # killed here
        fee = cents * self.fee_percent // 100
        print(f"  [pid {os.getpid()}] {self.config_name}: capturing {authorization}, fee {fee}")
        return cents + fee

    @DBOS.workflow()
    def pay(self, order_id: str, cents: int) -> str:
        authorization = self.authorize(order_id, cents)
        total = self.capture(authorization, cents)
        return f"{order_id} paid {total} cents through {self.config_name}"

    @classmethod
    @DBOS.workflow()
    def report(cls, day: str) -> str:
        return f"{cls.__name__} report for {day}"


# Every process creates its instances before DBOS.launch(): recovery runs at launch.
eu = Gateway("eu", fee_percent=2)
us = Gateway("us", fee_percent=3)


def configure(url: str) -> None:
    DBOS(config={"name": "classes-example", "system_database_url": url,
                 "application_version": "gateways-1"})  # fmt: skip


def first_process(url: str) -> None:
    configure(url)
    DBOS.launch()
    with SetWorkflowID("order-1"):
        us.pay("order-1", 10_000)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="dbos-classes-"))
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    ready = folder / "ready"
    print("1. a process pays order-1 through us and is killed while capturing it")
    first = subprocess.Popen(
        [sys.executable, __file__, "first", url],
        env={**os.environ, "CLASSES_EXAMPLE_READY": str(ready)},
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        if first.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the first process did not reach the capture")
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()

    print("2. this process recovers order-1 on us, and enqueues order-2 on eu and a report")
    configure(url)
    DBOS.launch()  # recovers order-1
    try:
        order_2 = payments.enqueue(eu.pay, "order-2", 5_000)
        report = payments.enqueue(Gateway.report, "2025-01-31")
        results = [DBOS.retrieve_workflow("order-1").get_result(), order_2.get_result(),
                   report.get_result()]  # fmt: skip
        for result in results:
            print(f"  {result}")
        for status in DBOS.list_workflows(sort_desc=False):
            print(f"    {status.name} class={status.class_name} instance={status.config_name}")
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    if sys.argv[1:2] == ["first"]:
        first_process(sys.argv[2])
    else:
        main()
