"""The web dashboard behind ``dbos ui`` (the ``dbos-client[ui]`` extra): workflows, their
steps, queues, schedules and executors of one system database, with cancel, resume, fork and
delete behind a confirmation.

It reads everything through `DBOSClient`, `dbos.management` and the storage protocol, never
SQL of its own. `create_app` builds the Starlette app (to mount it elsewhere or test it);
`serve` runs it with uvicorn. `Guard` holds the access rules (token, read-only, loopback).
"""

from __future__ import annotations

from ._app import create_app
from ._guard import Guard
from ._reading import Reader
from ._serve import serve

__all__ = ["Guard", "Reader", "create_app", "serve"]
