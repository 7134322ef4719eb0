"""Roles: who a workflow runs as, and which roles it requires (DBOS Transact semantics).

Run it with ``python examples/roles.py``. It uses the embedded SQLite default (a file in a
temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

1. A support agent closes an account: `close` requires ``admin`` or ``support`` and runs as
   the agent, assuming ``support``; the notification it starts inherits that identity.
2. A viewer's direct call is refused at once (nothing is started); a viewer's enqueued
   request is refused when a worker runs it, which is its outcome.
3. An auditor reads a balance: the class's default role, ``auditor``, applies to it.
4. A script enqueues with `DBOSClient`, naming the user and roles the workflow runs as.
5. Workflows are listed by user, with the identity each one stored.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dbos import DBOS, DBOSConfiguredInstance, DBOSContextSetAuth, Queue
from dbos.error import DBOSNotAuthorizedError
from dbos_client import DBOSClient

requests = Queue("account-requests")


@DBOS.workflow()
def notify(account: str) -> str:
    return f"{DBOS.authenticated_user} as {DBOS.assumed_role} closed {account}"


@DBOS.default_required_roles(["auditor"])
class Ledger(DBOSConfiguredInstance):
    def __init__(self, name: str) -> None:
        super().__init__(config_name=name)

    @DBOS.workflow()
    def balance(self, account: str) -> str:
        return f"{account}: 120 EUR, read by {DBOS.authenticated_user} as {DBOS.assumed_role}"

    @DBOS.workflow()
    @DBOS.required_roles(["admin", "support"])  # overrides the class's default
    def close(self, account: str) -> str:
        return notify(account)


ledger = Ledger("main")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="dbos-roles-"))
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    DBOS(config={"name": "roles-example", "system_database_url": url})
    DBOS.launch()
    try:
        with DBOSContextSetAuth("sam", ["viewer", "support"]):
            print("1.", ledger.close("acct-1"))

        with DBOSContextSetAuth("vic", ["viewer"]):
            try:
                ledger.close("acct-2")
            except DBOSNotAuthorizedError as refused:
                print("2. refused at the call:", refused)
            queued = requests.enqueue(ledger.close, "acct-3")
        try:
            queued.get_result()
        except DBOSNotAuthorizedError:
            print("2. the queued request ended", queued.get_status().status)

        with DBOSContextSetAuth("ada", ["auditor"]):
            print("3.", ledger.balance("acct-1"))

        client = DBOSClient(system_database_url=url)
        try:
            handle = client.enqueue(
                {
                    "workflow_name": "Ledger.close",
                    "queue_name": "account-requests",
                    "class_name": "Ledger",
                    "instance_name": "main",
                    "authenticated_user": "ops-bot",
                    "authenticated_roles": ["admin"],
                },
                "acct-4",
            )
            print("4.", handle.get_result())
        finally:
            client.destroy()

        for status in DBOS.list_workflows(user=["sam", "vic"], name="Ledger.close"):
            print(
                "5.",
                status.authenticated_user,
                status.authenticated_roles,
                status.assumed_role,
                status.status,
            )
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
