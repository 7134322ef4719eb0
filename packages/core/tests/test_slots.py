"""Queue slots (issue 10, item 2): one object owns a place in a queue's worker concurrency
from the claim that takes it until the task ends, or hands it to the successor it claimed."""

from __future__ import annotations

import pytest

from dbos._engine.slots import QueueSlots


def test_a_slot_counts_until_released_once() -> None:
    freed: list[str] = []
    slots = QueueSlots(freed=freed.append)
    first, second = slots.take("q"), slots.take("q")
    other = slots.take("r")
    assert (slots.running("q"), slots.running("r")) == (2, 1)
    first.release()
    first.release()  # a second release (two ways of ending) frees nothing more
    assert slots.running("q") == 1
    assert freed == ["q"]
    second.release()
    other.release()
    assert (slots.running("q"), slots.running("r")) == (0, 0)
    assert freed == ["q", "q", "r"]


def test_a_handed_over_slot_keeps_the_count_and_wakes_nobody() -> None:
    freed: list[str] = []
    slots = QueueSlots(freed=freed.append)
    finishing = slots.take("q")
    successor = finishing.hand_over()
    assert slots.running("q") == 1  # never 2 (both) nor 0 (neither)
    finishing.release()  # the finishing task's execution ends after the hand-over
    assert slots.running("q") == 1 and freed == []
    successor.release()
    assert slots.running("q") == 0 and freed == ["q"]


def test_a_released_slot_cannot_be_handed_over() -> None:
    slots = QueueSlots(freed=lambda _: None)
    slot = slots.take("q")
    slot.release()
    with pytest.raises(RuntimeError, match="released slot of queue 'q'"):
        slot.hand_over()
    assert slots.running("q") == 0
