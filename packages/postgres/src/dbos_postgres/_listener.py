"""One dedicated connection per storage that LISTENs for the backend's notifications and turns
them into in-process wake-ups. Polling stays as the fallback: a lost connection is reopened
with backoff, and nothing waits on a notification alone."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

logger = logging.getLogger("dbos")

_RECONNECT_BACKOFF_S = (0.1, 0.5, 1.0, 2.0, 5.0)


class Listener:
    """On every notification of the schema's channel (a queued task was enqueued, or one
    stopped running), calls `on_finished()` (outcome waiters re-check) and `on_queue()`
    (queue workers look for work), from a background thread."""

    def __init__(
        self,
        conninfo: str,
        schema: str,
        on_finished: Callable[[], None],
        on_queue: Callable[[], None],
    ) -> None:
        self._conninfo = conninfo
        self._channel = f"dbos_{schema}"
        self._callbacks = (on_finished, on_queue)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dbos-pg-listener", daemon=True)
        self._ready = threading.Event()

    def start(self, timeout_s: float = 5.0) -> None:
        self._thread.start()
        self._ready.wait(timeout_s)

    def stop(self) -> None:
        # Not joined: the thread notices within one notifies() timeout and closes its
        # connection then; waiting here would add that delay to every shutdown. Its
        # callbacks are harmless after a stop.
        self._stop.set()

    def _fire(self) -> None:
        for callback in self._callbacks:
            callback()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    channel = sql.Identifier(self._channel)
                    connection.execute(sql.SQL("LISTEN {}").format(channel))
                    self._ready.set()
                    failures = 0
                    self._fire()  # a notification may have been missed while (re)connecting
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=0.5):
                            self._fire()
            except psycopg.Error as exc:
                delay = _RECONNECT_BACKOFF_S[min(failures, len(_RECONNECT_BACKOFF_S) - 1)]
                failures += 1
                logger.warning("notification listener lost its connection (%s); retrying", exc)
                self._stop.wait(delay)
