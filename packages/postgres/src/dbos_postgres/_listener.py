"""One dedicated connection per storage that LISTENs for the backend's notifications and relays them
to core (`StorageBackend.relay_notifications`), which wakes this process's waiters. Polling stays
as the fallback: a lost connection is reopened with backoff, and nothing waits on a notification
alone."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Container

import psycopg
from psycopg import sql

from dbos.storage import QueueActivity, Wakeup, password_secrets, scrub_text

logger = logging.getLogger("dbos")

#: Pauses between reconnection attempts; the last one repeats for as long as an outage lasts.
_RECONNECT_BACKOFF_S = (0.1, 0.5, 1.0, 2.0)


class Listener:
    """Listens on two channels of the schema, from a background thread.

    ``dbos_<schema>``: ``'enqueued:<queue>'`` delivers ``QueueActivity(queue, False)``,
    ``'stopped:<queue>'`` (a queued task finished or was cancelled) ``QueueActivity(queue,
    True)``, ``'settings:<queue>'`` (the queue's stored settings were inserted, changed or
    deleted, migration 0023) ``QueueActivity(queue, False, settings_changed=True)``, and a
    payload of another kind (a schema newer or older than this code) ``QueueActivity(None,
    True)``: look at every queue. ``dbos_<schema>_wake`` (a message, event or stream write,
    the payload ``<kind>:<workflow ID>``): that `Wakeup`, unless the write came from one of
    `own_pids` (this process's own connections, whose writes core already reported
    in-process). After (re)connecting, when a notification may have been missed, it
    delivers None.
    """

    def __init__(
        self,
        conninfo: str,
        schema: str,
        deliver: Callable[[Wakeup | QueueActivity | None], None],
        own_pids: Container[int] = (),
    ) -> None:
        self._conninfo = conninfo
        self._channel = f"dbos_{schema}"
        self._wake_channel = f"dbos_{schema}_wake"
        self._deliver = deliver
        self._own_pids = own_pids
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dbos-pg-listener", daemon=True)
        self._ready = threading.Event()
        self._connected = False

    @property
    def connected(self) -> bool:
        """Whether the LISTEN connection is up: notifications sent now reach this process
        (those sent while it was down are covered by the None it delivers on reconnecting)."""
        return self._connected

    def start(self, timeout_s: float = 5.0) -> None:
        self._thread.start()
        self._ready.wait(timeout_s)

    def stop(self) -> None:
        # Not joined: the thread notices within one notifies() timeout and closes its
        # connection then; waiting here would add that delay to every shutdown. Its
        # callbacks are harmless after a stop.
        self._stop.set()

    def _dispatch(self, notify: psycopg.Notify) -> None:
        if notify.channel == self._wake_channel:
            if notify.pid not in self._own_pids:
                kind, _, workflow_id = notify.payload.partition(":")
                self._deliver(Wakeup(kind, workflow_id))
            return
        kind, _, queue_name = notify.payload.partition(":")
        if kind == "enqueued":
            self._deliver(QueueActivity(queue_name, False))
        elif kind == "stopped":
            self._deliver(QueueActivity(queue_name, True))
        elif kind == "settings":
            self._deliver(QueueActivity(queue_name, False, settings_changed=True))
        else:  # a payload of another schema version: any queue
            self._deliver(QueueActivity(None, True))

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    for channel in (self._channel, self._wake_channel):
                        connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self._connected = True
                    self._ready.set()
                    if failures:
                        logger.info("notification listener reconnected")
                    failures = 0
                    # A notification may have been missed while (re)connecting.
                    self._deliver(None)
                    while not self._stop.is_set():
                        for notify in connection.notifies(timeout=0.5):
                            self._dispatch(notify)
            except psycopg.Error as exc:
                self._connected = False
                if self._stop.is_set():
                    return  # stopped: a connection lost now is the end asked for, not an outage
                delay = _RECONNECT_BACKOFF_S[min(failures, len(_RECONNECT_BACKOFF_S) - 1)]
                failures += 1
                # Once per outage: the storage's outage report tells how long it lasts.
                reason = scrub_text(str(exc), password_secrets(self._conninfo))
                log = logger.warning if failures == 1 else logger.debug
                log("notification listener lost its connection (%s); reconnecting", reason)
                self._stop.wait(delay)
            finally:
                self._connected = False  # also when stopped without an error
