"""`random_uuid` (ours): version 4 UUIDs from buffered operating-system randomness."""

from __future__ import annotations

import os
import sys
import threading
import uuid

import pytest

from dbos._base.random_ids import random_uuid


def test_ids_are_distinct_version_4_uuids_across_buffers_and_threads() -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def take(count: int) -> None:
        mine = [random_uuid() for _ in range(count)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=take, args=(1_000,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    take(3_000)  # several refills of this thread's buffer
    for thread in threads:
        thread.join()
    assert len(seen) == 7_000 and len(set(seen)) == 7_000
    for text in seen:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork")
def test_a_forked_child_does_not_reuse_its_parents_buffer() -> None:
    random_uuid()  # the parent's buffer now holds unused bytes
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ID and leave at once
        os.close(read_end)
        os.write(write_end, random_uuid().encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child_id = pipe.read()
    os.waitpid(pid, 0)
    assert uuid.UUID(child_id).version == 4
    assert child_id != random_uuid()  # the parent's next ID, from the same buffer position
