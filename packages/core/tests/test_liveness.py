"""Liveness parts that need no database: telling whether a lease's process is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from dbos._engine.liveness import host_key, process_gone


@pytest.mark.skipif(os.name != "posix", reason="process IDs are checked on POSIX only")
def test_a_killed_process_is_gone_even_before_it_is_reaped() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not process_gone(child.pid)
        assert not process_gone(os.getpid())
        child.send_signal(signal.SIGKILL)
        # Not reaped yet (no wait() below until the end): a zombie, which runs nothing.
        deadline = time.monotonic() + 10
        while not process_gone(child.pid):
            assert time.monotonic() < deadline, "a killed, unreaped process still looks alive"
            time.sleep(0.01)
    finally:
        child.kill()
        child.wait()
    assert process_gone(child.pid)


def test_unknown_process_ids_are_not_judged_gone() -> None:
    assert not process_gone(0)
    assert not process_gone(-1)


def test_the_host_key_names_this_host() -> None:
    import socket

    assert host_key().split(" ")[0] == socket.gethostname()
