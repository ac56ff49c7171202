"""``Receiver._iter_array`` is an inlined copy of ``_ArrayChan.pop``: both must do the same.

Iterating over a bounded channel's receiver takes messages with its own
copy of ``_ArrayChan.pop`` (one call fewer per message). These tests run
the same scenarios through the copy (``for msg in rx``) and through
``_ArrayChan.pop`` (``try_recv``/``recv``) and compare what they leave.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fearless import spawn
from fearless.mpsc import Empty, Receiver, RecvError, sync_channel


def _through_pop(rx: Receiver[int]) -> Iterator[int]:
    while True:
        try:
            yield rx.try_recv()
        except Empty:
            try:
                yield rx.recv()
            except RecvError:
                return
        except RecvError:
            return


def _through_iter(rx: Receiver[int]) -> Iterator[int]:
    return iter(rx)


PATHS: dict[str, Callable[[Receiver[int]], Iterator[int]]] = {
    "pop": _through_pop,
    "iter": _through_iter,
}


def _run(path: str, cap: int, count: int) -> tuple[list[int], int, int]:
    tx, rx = sync_channel[int](cap)
    chan: Any = rx._shared

    def produce() -> None:
        with tx:
            for i in range(count):
                tx.send(i)  # waits for room: the receiver must wake it

    handle = spawn(produce)
    got = list(PATHS[path](rx))
    handle.join()
    return got, len(chan.permits), len(chan.send_waiters)


@pytest.mark.parametrize("cap", [1, 3])
def test_both_paths_receive_the_same_and_give_back_every_permit(cap: int) -> None:
    results = {path: _run(path, cap, 200) for path in PATHS}
    assert results["pop"] == results["iter"] == (list(range(200)), cap, 0)


def test_an_interrupt_as_a_message_leaves_keeps_its_room_on_both_paths() -> None:
    left = {}
    for path, through in PATHS.items():
        tx, rx = sync_channel[int](2)
        tx.send(1)
        tx.send(2)
        chan: Any = rx._shared
        popleft = chan.popleft

        def interrupted(popleft: Callable[[], Any] = popleft) -> Any:
            popleft()  # the message leaves, then the interrupt arrives
            raise KeyboardInterrupt

        chan.popleft = interrupted
        with pytest.raises(KeyboardInterrupt):
            next(through(rx))
        chan.popleft = popleft
        left[path] = (len(chan.permits), list(chan.buf), rx.try_recv())
    assert left["pop"] == left["iter"] == (1, [2], 2)
