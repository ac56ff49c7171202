"""The handle contract, once, over every handle (DESIGN.md, "Arc[T] and Weak[T]", "mpsc", threads).

A handle is one share of something shared: ``Arc``, ``Weak``, ``Sender``,
``SyncSender`` and ``Receiver`` (the drop-once handles of
``fearless._handle``), and ``JoinHandle`` (the one permission to join a
thread). Each is used up once -- ``drop()``, ``close()`` or ``join()`` --
after which every use raises ``ConsumedError`` with the kind's message,
and so does using it up again (a scoped thread's handle is used up by its
scope when the scope raised its failure); its ``repr`` says so. The
drop-once handles also drop at the end of their ``with`` block and on any
thread. None can be pickled; ``copy.copy`` is a clone where the kind is
cloneable and refused otherwise, and ``copy.deepcopy`` makes a new ``Arc``,
clones a ``Weak``, and is refused for the rest, with the kind's advice.
``tests/test_drop_once.py`` checks the shares each drop gives up; a test
here checks that every public drop-once class is in the table.
"""

from __future__ import annotations

import copy
import pickle
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import fearless
from _helpers import TIMEOUT, Worker
from fearless import Arc, ConsumedError, JoinHandle, Weak, mpsc, scope, spawn
from fearless._handle import DropOnce, Handle
from fearless.mpsc import Receiver, Sender, SyncSender, channel, sync_channel

ARC_ADVICE = (
    "its handles count owners in this process only; "
    "pickle the value (arc.value) and wrap what you unpickle in a new Arc"
)
SENDER_ADVICE = (
    "use .clone() (or copy.copy) for another sender of the same channel; a channel "
    "connects threads of one process, so it cannot be deep-copied or pickled "
    "(between processes, use multiprocessing's queues)"
)
RECEIVER_ADVICE = (
    "a channel has a single receiver: hand this one to the thread that receives; "
    "it cannot be copied or pickled (between processes, use multiprocessing's queues)"
)
JOIN_ADVICE = (
    "a JoinHandle is the one permission to join its thread: pass the handle "
    "itself, or join() it and copy the result"
)


@dataclass(frozen=True)
class HandleKind:
    """One kind of handle: how to make one, use it up, and use it."""

    cls: type[Any]
    qualname: str
    make: Callable[[], Any]
    #: The method that uses the handle up.
    consume: str
    #: The ConsumedError message once used up.
    consumed: str
    #: Uses that must refuse once the handle is used up.
    uses: dict[str, Callable[[Any], object]]
    #: ``repr`` while live (a regular expression) and once used up (exact).
    live_repr: str
    consumed_repr: str
    #: What ``copy.copy``/``copy.deepcopy`` do: "clone", "new" or "refused".
    copies: str
    deep_copies: str
    advice: str
    #: Whether it is a ``fearless._handle.DropOnce``: dropped by ``with`` and on any thread.
    drop_once: bool = True


def _arc() -> Arc[list[int]]:
    return Arc([1])


def _weak() -> Weak[list[int]]:
    # The Arc stays alive as long as the Weak's test: a weak handle to a live value.
    keep = Arc([1])
    weak = keep.downgrade()
    _KEEP.append(keep)
    return weak


_KEEP: list[Any] = []


def _sender() -> Sender[int]:
    tx, rx = channel[int]()
    _KEEP.append(rx)
    return tx


def _sync_sender() -> SyncSender[int]:
    tx, rx = sync_channel[int](1)
    _KEEP.append(rx)
    return tx


def _receiver() -> Receiver[int]:
    tx, rx = channel[int]()
    _KEEP.append(tx)
    return rx


def _five() -> int:
    return 5


def _join_handle() -> JoinHandle[int]:
    return spawn(_five)


@pytest.fixture(autouse=True)
def _release_kept() -> Any:
    yield
    _KEEP.clear()


HANDLE_KINDS = {
    "Arc": HandleKind(
        cls=Arc,
        qualname="fearless.Arc",
        make=_arc,
        consume="drop",
        consumed="this Arc handle was dropped; use a live clone of it instead",
        uses={
            "value": lambda a: a.value,
            "clone": lambda a: a.clone(),
            "downgrade": lambda a: a.downgrade(),
            "strong_count": lambda a: a.strong_count(),
            "weak_count": lambda a: a.weak_count(),
            "try_unwrap": lambda a: a.try_unwrap(),
            "into_inner": lambda a: a.into_inner(),
            "get_mut": lambda a: a.get_mut(),
            "copy.copy": copy.copy,
            "copy.deepcopy": copy.deepcopy,
        },
        live_repr=r"Arc\(\[1\]\)",
        consumed_repr="Arc(<dropped>)",
        copies="clone",
        deep_copies="new",
        advice=ARC_ADVICE,
    ),
    "Weak": HandleKind(
        cls=Weak,
        qualname="fearless.Weak",
        make=_weak,
        consume="drop",
        consumed="this Weak handle was dropped; use a live clone of it instead",
        uses={
            "upgrade": lambda w: w.upgrade(),
            "clone": lambda w: w.clone(),
            "strong_count": lambda w: w.strong_count(),
            "weak_count": lambda w: w.weak_count(),
            "copy.copy": copy.copy,
            "copy.deepcopy": copy.deepcopy,
        },
        live_repr=r"Weak\(<alive>\)",
        consumed_repr="Weak(<dropped>)",
        copies="clone",
        deep_copies="clone",
        advice=ARC_ADVICE,
    ),
    "Sender": HandleKind(
        cls=Sender,
        qualname="fearless.mpsc.Sender",
        make=_sender,
        consume="close",
        consumed="this Sender was closed; use a live clone of it instead",
        uses={
            "send": lambda tx: tx.send(1),
            "clone": lambda tx: tx.clone(),
            "copy.copy": copy.copy,
        },
        live_repr=r"<Sender: ~0 queued \(snapshot\), 1 sender>",
        consumed_repr="<Sender: closed>",
        copies="clone",
        deep_copies="refused",
        advice=SENDER_ADVICE,
    ),
    "SyncSender": HandleKind(
        cls=SyncSender,
        qualname="fearless.mpsc.SyncSender",
        make=_sync_sender,
        consume="close",
        consumed="this SyncSender was closed; use a live clone of it instead",
        uses={
            "send": lambda tx: tx.send(1),
            "send(timeout)": lambda tx: tx.send(1, timeout=0),
            "try_send": lambda tx: tx.try_send(1),
            "clone": lambda tx: tx.clone(),
            "copy.copy": copy.copy,
        },
        live_repr=r"<SyncSender: ~0/1 queued \(snapshot\), 1 sender>",
        consumed_repr="<SyncSender: closed>",
        copies="clone",
        deep_copies="refused",
        advice=SENDER_ADVICE,
    ),
    "Receiver": HandleKind(
        cls=Receiver,
        qualname="fearless.mpsc.Receiver",
        make=_receiver,
        consume="close",
        consumed="this Receiver was closed; it cannot receive any more",
        uses={
            "recv": lambda rx: rx.recv(),
            "recv(timeout)": lambda rx: rx.recv(timeout=0),
            "try_recv": lambda rx: rx.try_recv(),
            "try_iter": lambda rx: list(rx.try_iter()),
            "iter": list,
        },
        live_repr=r"<Receiver: ~0 queued \(snapshot\), 1 sender>",
        consumed_repr="<Receiver: closed>",
        copies="refused",
        deep_copies="refused",
        advice=RECEIVER_ADVICE,
    ),
    "JoinHandle": HandleKind(
        cls=JoinHandle,
        qualname="fearless.JoinHandle",
        make=_join_handle,
        consume="join",
        consumed="this thread was already joined; join() consumes the handle, so call it only once",
        uses={
            "join(timeout)": lambda h: h.join(timeout=TIMEOUT),
        },
        live_repr=r"<JoinHandle _five: (running|finished)>",
        consumed_repr="<JoinHandle _five: joined>",
        copies="refused",
        deep_copies="refused",
        advice=JOIN_ADVICE,
        drop_once=False,
    ),
}

each_handle_kind = pytest.mark.parametrize("kind", HANDLE_KINDS.values(), ids=HANDLE_KINDS.keys())

DROP_ONCE = {name: kind for name, kind in HANDLE_KINDS.items() if kind.drop_once}
each_drop_once_kind = pytest.mark.parametrize("kind", DROP_ONCE.values(), ids=DROP_ONCE.keys())


def consumed(kind: HandleKind) -> Any:
    """A handle of ``kind``, used up."""
    handle = kind.make()
    getattr(handle, kind.consume)()
    return handle


def test_every_public_drop_once_class_has_a_kind() -> None:
    public = {getattr(module, name) for module in (fearless, mpsc) for name in module.__all__}
    drop_once = {obj for obj in public if isinstance(obj, type) and issubclass(obj, DropOnce)}
    assert drop_once == {kind.cls for kind in DROP_ONCE.values()}


def test_every_public_handle_class_has_a_kind() -> None:
    # Handle is the base: given up once, at the latest by garbage collection;
    # DropOnce adds the with block (JoinHandle has none).
    public = {getattr(module, name) for module in (fearless, mpsc) for name in module.__all__}
    handles = {obj for obj in public if isinstance(obj, type) and issubclass(obj, Handle)}
    assert handles == {kind.cls for kind in HANDLE_KINDS.values()}


@each_handle_kind
def test_every_use_of_a_used_up_handle_raises_consumed_error(kind: HandleKind) -> None:
    handle = consumed(kind)
    for name, use in kind.uses.items():
        with pytest.raises(ConsumedError) as raised:
            use(handle)
        assert str(raised.value) == kind.consumed, name


@each_handle_kind
def test_using_a_handle_up_twice_raises_consumed_error(kind: HandleKind) -> None:
    handle = consumed(kind)
    with pytest.raises(ConsumedError) as raised:
        getattr(handle, kind.consume)()
    assert str(raised.value) == kind.consumed


@each_handle_kind
def test_repr_says_whether_the_handle_was_used_up(kind: HandleKind) -> None:
    handle = kind.make()
    assert re.fullmatch(kind.live_repr, repr(handle)), repr(handle)
    getattr(handle, kind.consume)()
    assert repr(handle) == kind.consumed_repr
    assert Worker(lambda: repr(handle)).join() == kind.consumed_repr


@each_handle_kind
def test_a_handle_cannot_be_pickled_live_or_used_up(kind: HandleKind) -> None:
    assert f"{kind.cls.__module__}.{kind.cls.__qualname__}" == kind.qualname
    for handle in (kind.make(), consumed(kind)):
        with pytest.raises(TypeError) as raised:
            pickle.dumps(handle)
        assert str(raised.value) == f"cannot pickle a {kind.qualname}: {kind.advice}"
    # A refused copy leaves the handle as it was: still usable.
    handle = kind.make()
    with pytest.raises(TypeError):
        pickle.dumps(handle)
    getattr(handle, kind.consume)()


@pytest.mark.parametrize("how", ["copy", "deepcopy"])
@each_handle_kind
def test_copying_a_live_handle_clones_makes_new_or_refuses_as_documented(
    kind: HandleKind, how: str
) -> None:
    handle = kind.make()
    semantics = kind.copies if how == "copy" else kind.deep_copies
    copier: Callable[[Any], Any] = copy.copy if how == "copy" else copy.deepcopy
    if semantics == "refused":
        with pytest.raises(TypeError) as raised:
            copier(handle)
        assert str(raised.value) == f"cannot copy a {kind.qualname}: {kind.advice}"
        getattr(handle, kind.consume)()  # the refusal left the handle usable
        return
    duplicate = copier(handle)
    assert type(duplicate) is type(handle)
    assert duplicate is not handle
    # Two independent handles: using one up leaves the other usable.
    getattr(handle, kind.consume)()
    assert not re.fullmatch(re.escape(kind.consumed_repr), repr(duplicate))
    if isinstance(duplicate, Arc):
        assert duplicate.value == [1]
        assert duplicate.strong_count() == 1, "clone shared the count; new did not"
    getattr(duplicate, kind.consume)()
    assert repr(duplicate) == kind.consumed_repr


@each_drop_once_kind
def test_with_returns_the_handle_and_uses_it_up_at_the_end(kind: HandleKind) -> None:
    handle = kind.make()
    with handle as entered:
        assert entered is handle
        assert re.fullmatch(kind.live_repr, repr(handle))
    assert repr(handle) == kind.consumed_repr
    with pytest.raises(ConsumedError) as raised:
        getattr(handle, kind.consume)()
    assert str(raised.value) == kind.consumed


@each_drop_once_kind
def test_a_with_block_that_fails_still_uses_the_handle_up(kind: HandleKind) -> None:
    handle = kind.make()
    with pytest.raises(KeyError), handle:
        raise KeyError
    assert repr(handle) == kind.consumed_repr


@each_drop_once_kind
def test_a_handle_used_up_on_another_thread_is_used_up_for_every_thread(
    kind: HandleKind,
) -> None:
    handle = kind.make()
    dropped = threading.Event()

    def drop() -> None:
        getattr(handle, kind.consume)()
        dropped.set()

    Worker(drop).join()
    assert dropped.is_set()
    for name, use in kind.uses.items():
        with pytest.raises(ConsumedError) as raised:
            use(handle)
        assert str(raised.value) == kind.consumed, name


def test_join_handle_is_used_up_by_join_not_by_a_timeout() -> None:
    # Only a join that returned or raised uses a JoinHandle up.
    go = threading.Event()
    handle = spawn(go.wait, TIMEOUT)
    with pytest.raises(TimeoutError):
        handle.join(timeout=0)
    assert repr(handle) == "<JoinHandle Event.wait: running>"
    go.set()
    assert handle.join(timeout=TIMEOUT) is True
    assert repr(handle) == "<JoinHandle Event.wait: joined>"


def _fail() -> None:
    raise KeyError("in the thread")


def test_a_scoped_handle_whose_failure_its_scope_raised_is_used_up() -> None:
    # The scope raised the thread's failure: that used the handle up (the
    # failure is not raised twice); a scoped thread that succeeded stays
    # joinable after the block, like any handle.
    with pytest.raises(ExceptionGroup) as group, scope() as s:
        failed = s.spawn(_fail)
        succeeded = s.spawn(_five)
    assert [type(e) for e in group.value.exceptions] == [KeyError]
    assert repr(failed) == "<JoinHandle _fail: joined>"
    with pytest.raises(ConsumedError) as raised:
        failed.join(timeout=TIMEOUT)
    assert str(raised.value) == (
        "this scoped thread failed and its scope already raised the exception; "
        "join it inside the with block to handle the failure there"
    )
    assert succeeded.join(timeout=TIMEOUT) == 5
    assert repr(succeeded) == "<JoinHandle _five: joined>"
