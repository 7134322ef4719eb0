"""A small shop whose workflows you can watch in the dashboard, `dbos ui`.

Run it with ``python examples/dashboard.py [PATH]``: it uses an SQLite system database at PATH
(default: shop.sqlite in a temporary folder; or DBOS_SYSTEM_DATABASE_URL), runs a few orders
through a queue (two succeed, one fails its payment, one is held on the queue for an hour),
prints the command that opens the dashboard on that database, and keeps running so that the
dashboard shows a live executor and the waiting order (Ctrl-C stops it; ``--once`` exits at
once instead). In the dashboard, open ``order-3`` for its error and traceback, cancel the held
``order-4``, or fork ``order-1`` from its payment step.

It needs the dashboard's extra for the second terminal only:
``pip install 'dbos-client[ui]'``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from dbos import DBOS, Queue, SetEnqueueOptions, SetWorkflowID
from dbos.storage import password_secrets

orders = Queue("orders", concurrency=2)


@DBOS.step()
def reserve_stock(order_id: str, items: int) -> dict[str, object]:
    return {"order": order_id, "reserved": items}


@DBOS.step()
def charge_card(order_id: str, amount: float) -> str:
    if amount > 1000:
        raise RuntimeError(f"card declined for {order_id}: {amount:.2f} is over the limit")
    return f"charged {amount:.2f}"


@DBOS.workflow()
def place_order(order_id: str, items: int, amount: float) -> str:
    reserve_stock(order_id, items)
    DBOS.set_event("stage", "paying")
    charge_card(order_id, amount)
    DBOS.set_event("stage", "shipped")
    return f"{order_id} shipped"


def dashboard_command(url: str) -> str:
    """The command that opens the dashboard on `url`, without its password: a URL with one
    came from DBOS_SYSTEM_DATABASE_URL, which `dbos ui` reads too."""
    if not password_secrets(url):  # no password, or an empty one: nothing to hide
        return f"dbos ui --db-url {url}"
    return "dbos ui  # reads DBOS_SYSTEM_DATABASE_URL (its password is not printed)"


def main(argv: list[str]) -> str:
    """Run the shop on the database of `argv` and return that database's URL."""
    once = "--once" in argv
    paths = [arg for arg in argv if not arg.startswith("--")]
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL")
    if url is None:
        path = Path(paths[0]) if paths else Path(tempfile.mkdtemp()) / "shop.sqlite"
        url = f"sqlite:///{path.resolve()}"
    DBOS(config={"name": "shop", "system_database_url": url})
    DBOS.launch()
    handles = []
    for number, (items, amount) in enumerate([(2, 30.0), (1, 12.5), (9, 4200.0)], start=1):
        with SetWorkflowID(f"order-{number}"):
            handles.append(orders.enqueue(place_order, f"order-{number}", items, amount))
    for handle in handles:
        try:
            print(f"{handle.workflow_id}: {handle.get_result()}")
        except RuntimeError as exc:
            print(f"{handle.workflow_id}: failed: {exc}")
    # A large order is held for an hour before it may start: it waits on the queue (ENQUEUED).
    with SetWorkflowID("order-4"), SetEnqueueOptions(delay_seconds=3600):
        orders.enqueue(place_order, "order-4", 40, 80.0)
    print("order-4: held on the queue for an hour")
    print(f"\nOpen the dashboard in another terminal:\n  {dashboard_command(url)}\n")
    if not once:
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    DBOS.destroy()
    return url


if __name__ == "__main__":
    main(sys.argv[1:])
