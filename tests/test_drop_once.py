"""The drop-once handle contract, shared by every handle (``fearless._handle.DropOnce``).

``Arc``, ``Weak``, ``Sender``, ``SyncSender`` and ``Receiver`` each own one
share of something and give it up once: by their method (``drop()`` or
``close()``), at the end of a ``with`` block unless dropped inside, or when
garbage-collected; a second explicit drop raises ``ConsumedError``, and
pickling is refused. Also: ``Arc``'s ``__del__``, an inlined copy of
``_Handle._drop``, does what ``_drop`` does.
"""

from __future__ import annotations

import gc
import pickle
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from _helpers import reference
from fearless import Arc, ConsumedError
from fearless._handle import DropOnce
from fearless.mpsc import Empty, RecvError, SendError, channel, sync_channel

#: A handle, the name of its drop method, and a probe: whether its share still counts.
Case = tuple[Any, str, Callable[[], bool]]


def _arc() -> Case:
    a = Arc(1)
    keeper = a.clone()
    return a, "drop", lambda: keeper.strong_count() == 2


def _weak() -> Case:
    a = Arc(1)
    w = a.downgrade()
    return w, "drop", lambda: a.weak_count() == 1


def _sender_probe(rx: Any) -> Callable[[], bool]:
    def connected() -> bool:
        try:
            rx.try_recv()
        except Empty:
            return True
        except RecvError:
            return False
        raise AssertionError("nothing was sent")

    return connected


def _sender() -> Case:
    tx, rx = channel[int]()
    return tx, "close", _sender_probe(rx)


def _sync_sender() -> Case:
    tx, rx = sync_channel[int](1)
    return tx, "close", _sender_probe(rx)


def _receiver() -> Case:
    tx, rx = channel[int]()

    def connected() -> bool:
        try:
            tx.send(0)
        except SendError:
            return False
        return True

    return rx, "close", connected


CASES = {
    "Arc": _arc,
    "Weak": _weak,
    "Sender": _sender,
    "SyncSender": _sync_sender,
    "Receiver": _receiver,
}


each_kind = pytest.mark.parametrize("kind", list(CASES))


@each_kind
def test_every_handle_is_a_drop_once_handle(kind: str) -> None:
    handle, _, _ = CASES[kind]()
    # A compiled twin (Arc, Weak with the core in use) stands for its
    # reference class, which is the DropOnce.
    assert issubclass(getattr(type(handle), "_native_public", type(handle)), DropOnce)


@each_kind
def test_the_method_drops_once_then_raises(kind: str) -> None:
    handle, method, counts = CASES[kind]()
    assert counts()
    getattr(handle, method)()
    assert not counts()
    with pytest.raises(ConsumedError) as raised:
        getattr(handle, method)()
    assert str(raised.value) == handle._dropped
    assert not counts()


@each_kind
def test_a_with_block_drops_unless_dropped_inside(kind: str) -> None:
    handle, _, counts = CASES[kind]()
    with handle as same:
        assert same is handle
        assert counts()
    assert not counts()
    handle2, method2, counts2 = CASES[kind]()
    with handle2:
        getattr(handle2, method2)()
    assert not counts2()


@each_kind
def test_garbage_collection_drops(kind: str) -> None:
    handle, _, counts = CASES[kind]()
    assert counts()
    del handle
    gc.collect()
    assert not counts()


@each_kind
def test_pickling_is_refused(kind: str) -> None:
    handle, _, _ = CASES[kind]()
    with pytest.raises(TypeError, match=r"^cannot pickle a fearless\."):
        pickle.dumps(handle)


# -- Arc.__del__ is an inlined copy of _Handle._drop: both must do the same ------------------
# (in the reference: the compiled core's handles drop in their dealloc, which
# test_garbage_collection_drops covers)


class Payload:
    pass


def _state(strong: Arc[Payload] | None, weak: Any, ref: weakref.ref[Payload]) -> tuple[Any, ...]:
    return (
        strong.strong_count() if strong is not None else None,
        weak.strong_count(),
        weak.weak_count(),
        weak.upgrade() is None,
        ref() is None,
    )


@pytest.mark.parametrize("last", [False, True], ids=["not-last", "last"])
@pytest.mark.parametrize("kind", ["strong", "weak"])
def test_arc_del_does_what_drop_does(kind: str, last: bool) -> None:
    states = []
    for how in ("_drop", "__del__"):
        payload = Payload()
        ref = weakref.ref(payload)
        a = reference(Arc, payload)
        del payload
        observer = a.downgrade()
        other = None if last else a.clone()
        handle = a if kind == "strong" else a.downgrade()
        if kind == "weak" and last:
            a.drop()
        getattr(handle, how)()
        getattr(handle, how)()  # a second time: nothing happens
        gc.collect()
        states.append((_state(other, observer, ref), repr(handle)))
        del a, handle
    assert states[0] == states[1]
