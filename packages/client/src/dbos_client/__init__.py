"""dbos_client: manage durable workflows from outside the app.

`DBOSClient` enqueues, inspects, cancels, resumes, forks and deletes an app's workflows
through its system database, from a process that has none of the app's code; the `dbos`
command line is built on it. Also importable as ``from dbos import DBOSClient``.
"""

from __future__ import annotations

from dbos.management import EnqueueCall, EnqueueOptions, SendMessage, StepInfo, UnreadableValue

from ._client import DBOSClient
from ._debouncer import DebouncerClient

__all__ = [
    "DBOSClient",
    "DebouncerClient",
    "EnqueueCall",
    "EnqueueOptions",
    "SendMessage",
    "StepInfo",
    "UnreadableValue",
]
