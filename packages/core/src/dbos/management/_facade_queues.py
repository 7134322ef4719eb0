"""The Facade's calls on stored queues (issue 15; DBOS Transact 3.4's `list_queues`,
`retrieve_queue` and `delete_queue`), shared by `DBOS` and `DBOSClient` through `Facade`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._base.errors import DBOSException
from .._engine.effects import Blocking, Procedure
from ..storage._queue_records import StoredQueue
from ._forms import async_form as _async_form
from ._forms import sync_form as _sync_form
from ._queue_settings import QueueSettings

if TYPE_CHECKING:
    from ._management import Management


class QueuesFacade:
    """`list_queues`, `retrieve_queue` and `delete_queue` (+ ``_async``), over the accessors
    `Facade` declares and each side provides."""

    def _facade_management(self) -> Management:
        raise NotImplementedError

    def _facade_queue_of(self, stored: StoredQueue) -> QueueSettings:
        """The side's object for a stored queue (`DBOS`: a `Queue`; a client: settings)."""
        raise NotImplementedError

    def _facade_queues_changed(self) -> None:
        """A queue was stored, changed or deleted (`DBOS` has its worker read them again)."""

    def _list_queues(
        self, *, application_name: str | list[str] | None = None
    ) -> Procedure[list[QueueSettings]]:
        """The queues stored in the system database, by name (DBOS Transact 3.4): those
        stored by application `application_name` (a name or a list of names), or, by
        default, those of every application on the database (ours; DBOS Transact 3.4 lists
        the calling application's by default). Each is a live view: its getters read the
        stored settings and its setters change them for every process.

        Raises:
            DBOSException: `application_name` is neither a string nor a list of strings."""
        wanted: list[str] | None
        if application_name is None:
            wanted = None
        elif isinstance(application_name, str):
            wanted = [application_name]
        elif isinstance(application_name, list) and all(
            isinstance(one, str) for one in application_name
        ):
            wanted = application_name
        else:
            raise DBOSException(
                f"application_name must be a string or a list of strings, got {application_name!r}"
            )
        storage = self._facade_management().storage
        stored: list[StoredQueue] = yield Blocking(storage.list_queues, ())
        return [
            self._facade_queue_of(queue)
            for queue in stored
            if wanted is None or queue.application_name in wanted
        ]

    list_queues = _sync_form(_list_queues)
    list_queues_async = _async_form(_list_queues)

    def _retrieve_queue(self, name: str) -> Procedure[QueueSettings | None]:
        """The queue stored under `name`, or None if there is none (DBOS Transact 3.4)."""
        if not isinstance(name, str) or not name:
            raise DBOSException(f"a queue name must be a non-empty string, got {name!r}")
        storage = self._facade_management().storage
        stored: StoredQueue | None = yield Blocking(storage.get_queue, (name,))
        return None if stored is None else self._facade_queue_of(stored)

    retrieve_queue = _sync_form(_retrieve_queue)
    retrieve_queue_async = _async_form(_retrieve_queue)

    def _delete_queue(self, name: str) -> Procedure[None]:
        """Delete the stored queue `name` (nothing happens if there is none): every process
        stops claiming its tasks within its polling interval. Its tasks stay as they are:
        ENQUEUED ones wait until the queue is declared again (DBOS Transact 3.4 calls them
        unrecoverable). A process that declares it (``Queue(...)`` at module level) stores
        it again when it next launches."""
        storage = self._facade_management().storage
        yield Blocking(storage.delete_queue, (name,))
        self._facade_queues_changed()

    delete_queue = _sync_form(_delete_queue)
    delete_queue_async = _async_form(_delete_queue)
