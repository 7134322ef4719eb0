"""A batch enqueue (this project's extension of DBOS's API), in one program.

Run it with ``python examples/enqueue_many.py``. It uses the embedded SQLite default (a file
in a temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

1. A script enqueues a thousand thumbnail tasks with one `Queue.enqueue_many` (one commit),
   some with a priority or a deduplication ID of their own.
2. A nightly workflow enqueues its batch as one recorded operation: its tasks get
   deterministic IDs, and running it again under the same ID enqueues nothing new.
3. A second batch that repeats a held deduplication ID is refused whole: nothing is stored.
"""

from __future__ import annotations

import os
import tempfile

from dbos import DBOS, DBOSQueueDeduplicatedError, EnqueueCall, Queue, SetWorkflowID

thumbnails = Queue("thumbnails", worker_concurrency=8, priority_enabled=True)


@DBOS.workflow()
def make_thumbnail(image_id: int, size: int = 64) -> str:
    return f"thumb-{image_id}@{size}"


@DBOS.workflow()
def nightly(count: int) -> int:
    handles = thumbnails.enqueue_many(make_thumbnail, [(i,) for i in range(count)])
    return len([h.get_result() for h in handles])


def main() -> None:
    folder = tempfile.mkdtemp(prefix="dbos-batch-")
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    DBOS(config={"name": "enqueue-many-example", "system_database_url": url})
    DBOS.launch()
    try:
        calls: list[tuple[int] | EnqueueCall] = [(i,) for i in range(1000)]
        calls[0] = EnqueueCall(args=(0,), kwargs={"size": 256}, priority=0)
        calls[1] = EnqueueCall(args=(1,), deduplication_id="image-1")
        handles = thumbnails.enqueue_many(make_thumbnail, calls)
        print("enqueued:", len(handles), "first:", handles[0].get_result())
        print("last:", handles[-1].get_result())

        with SetWorkflowID("nightly-1"):
            print("nightly made:", DBOS.start_workflow(nightly, 5).get_result())
        with SetWorkflowID("nightly-1"):  # the same run again: its batch is recorded
            DBOS.start_workflow(nightly, 5).get_result()
        children = DBOS.list_workflows(workflow_id_prefix="nightly-1-")
        print("nightly tasks:", sorted(w.workflow_id for w in children))

        held = thumbnails.enqueue_many(
            make_thumbnail, [EnqueueCall(args=(7,), deduplication_id="image-7")]
        )
        try:  # "image-7" may be held still: then nothing of this batch is stored
            thumbnails.enqueue_many(
                make_thumbnail,
                [(8,), EnqueueCall(args=(7,), deduplication_id="image-7")],
                workflow_ids=["img-8", "img-7-again"],
            )
            print("second batch: enqueued (the first image-7 task had finished)")
        except DBOSQueueDeduplicatedError as refused:
            print("second batch refused:", refused)
            print("img-8 stored:", DBOS.get_workflow_status("img-8") is not None)
        held[0].get_result()
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
