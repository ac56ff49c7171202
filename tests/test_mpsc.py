"""Contract tests for fearless.mpsc: every sentence of DESIGN.md's "mpsc channels"."""

from __future__ import annotations

import copy
import gc
import inspect
import math
import pickle
import queue
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _helpers import STRESS, TIMEOUT, Worker, run_concurrently, wait_until
from fearless import ConsumedError, FearlessError, _seam, mpsc, scope, spawn
from fearless._mpsc.waiting import _AsyncWaiter, _Waiter
from fearless.atomic import AtomicInt
from fearless.mpsc import (
    ConcurrentRecvError,
    Empty,
    Full,
    Receiver,
    RecvError,
    RecvTimeoutError,
    Selected,
    Sender,
    SendError,
    SendTimeoutError,
    SyncSender,
    after,
    channel,
    never,
    select,
    sync_channel,
    tick,
)
from fearless.testing import ScheduleFailure, explore

MSG_SEND_DISCONNECTED = (
    r"^the receiver is gone, so the message can never be delivered; it is returned in \.value$"
)
MSG_RECV_DISCONNECTED = (
    r"^every sender is gone and the channel is empty; no message will ever arrive$"
)
MSG_EMPTY = r"^the channel is empty; call recv\(\) to wait for a message$"
MSG_CONCURRENT = (
    r"^another thread or task is already receiving on this Receiver; a channel has a single "
    r"consumer \(Rust's Receiver is not Sync\): receive in one place and hand the messages on$"
)
MSG_SENDER_CLOSED = r"^this Sender was closed; use a live clone of it instead$"
MSG_SYNC_SENDER_CLOSED = r"^this SyncSender was closed; use a live clone of it instead$"
MSG_RECEIVER_CLOSED = r"^this Receiver was closed; it cannot receive any more$"
MSG_TIMEOUT_VALUE = r"^timeout must be a non-negative number of seconds or None, got "

AnySender = Sender[Any] | SyncSender[Any]


class Payload:
    """Something a weakref can watch."""


def make(kind: str) -> tuple[Any, Receiver[Any]]:
    """A channel of the given flavour: "unbounded", "bounded" (capacity 4) or "rendezvous"."""
    if kind == "unbounded":
        return channel[object]()
    if kind == "bounded":
        return sync_channel[object](4)
    return sync_channel[object](0)


KINDS = ["unbounded", "bounded", "rendezvous"]
BUFFERED = ["unbounded", "bounded"]


def receiver_parked(rx: Receiver[Any]) -> bool:
    """Whether a receive is blocked on ``rx`` (its waiter is published)."""
    waiter = rx._shared.waiter if rx._shared is not None else None
    return isinstance(waiter, (_Waiter, _AsyncWaiter))


def senders_parked(tx: AnySender) -> int:
    """How many sends are blocked on ``tx``'s channel (bounded or rendezvous)."""
    chan: Any = tx._shared
    if hasattr(chan, "send_waiters"):
        return len(chan.send_waiters)
    return len(chan.offers)


def send_from_thread(tx: Any, *values: Any) -> Worker:
    def send() -> None:
        for value in values:
            tx.send(value)

    return Worker(send)


# -- the public surface ---------------------------------------------------------------


def test_all_is_complete_and_names_live_in_fearless_mpsc() -> None:
    exported = set(mpsc.__all__)
    assert len(exported) == len(mpsc.__all__)
    defined = {
        name
        for name, obj in vars(mpsc).items()
        if not name.startswith("_") and not isinstance(obj, types.ModuleType)
    }
    assert defined == exported
    assert exported >= {
        "channel",
        "sync_channel",
        "Sender",
        "SyncSender",
        "Receiver",
        "select",
        "SendError",
        "SendTimeoutError",
        "Full",
        "Empty",
        "RecvError",
        "RecvTimeoutError",
    }
    for name in mpsc.__all__:
        obj = getattr(mpsc, name)
        assert obj.__module__ == "fearless.mpsc", name
        if isinstance(obj, type):
            assert (obj.__name__, obj.__qualname__) == (name, name)


@pytest.mark.parametrize("name", mpsc.__all__)
def test_public_names_are_documented_with_an_example(name: str) -> None:
    obj = getattr(mpsc, name)
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    if not (isinstance(obj, type) and issubclass(obj, tuple)):
        assert ">>>" in doc, f"{name}'s docstring has no doctested example"
    if isinstance(obj, type):
        for attr, value in vars(obj).items():
            if attr.startswith("_") or not callable(value):
                continue
            assert inspect.getdoc(getattr(obj, attr)), f"{name}.{attr} has no docstring"


def test_reprs_and_tracebacks_say_fearless_mpsc() -> None:
    assert repr(channel) == "<function fearless.mpsc.channel>"
    assert repr(sync_channel) == "<function fearless.mpsc.sync_channel>"
    assert Sender.send.__qualname__ == "Sender.send"
    assert Receiver.recv.__module__ == "fearless.mpsc"


@pytest.mark.parametrize("cls", [Sender, SyncSender, Receiver])
def test_handles_have_no_public_constructor(cls: type) -> None:
    with pytest.raises(TypeError, match=rf"^fearless\.mpsc\.{cls.__name__} has no public"):
        cls()


def test_errors_subclass_their_stdlib_twins() -> None:
    assert issubclass(Empty, queue.Empty)
    assert issubclass(Full, queue.Full)
    assert issubclass(RecvTimeoutError, TimeoutError)
    assert issubclass(SendTimeoutError, TimeoutError)
    for error in (Empty, Full, SendError, SendTimeoutError, RecvError, RecvTimeoutError):
        assert issubclass(error, FearlessError)
    assert issubclass(ConcurrentRecvError, RuntimeError)


def test_channel_types_by_subscript_or_annotation() -> None:
    assert cast(object, channel[int]) is channel
    assert cast(object, sync_channel[int]) is sync_channel
    tx: Sender[int]
    tx, rx = channel()
    tx.send(1)
    assert rx.recv() == 1


@pytest.mark.parametrize(
    ("bound", "error"),
    [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)],
)
def test_sync_channel_rejects_bad_bounds(bound: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^bound must be a non-negative int \(0 makes a rendezvous"):
        sync_channel(bound)


# -- sending and receiving ----------------------------------------------------------------


@pytest.mark.parametrize("kind", BUFFERED)
def test_messages_arrive_in_order(kind: str) -> None:
    tx, rx = make(kind)
    for i in range(4):
        tx.send(i)
    assert [rx.recv() for _ in range(4)] == [0, 1, 2, 3]


def test_rendezvous_messages_from_one_sender_arrive_in_order() -> None:
    tx, rx = sync_channel[int](0)
    worker = send_from_thread(tx, *range(20))
    assert [rx.recv(timeout=TIMEOUT) for _ in range(20)] == list(range(20))
    worker.join()


@pytest.mark.parametrize("kind", KINDS)
def test_try_recv_raises_empty_then_recv_error_once_disconnected(kind: str) -> None:
    tx, rx = make(kind)
    with pytest.raises(Empty, match=MSG_EMPTY):
        rx.try_recv()
    tx.close()
    with pytest.raises(RecvError, match=MSG_RECV_DISCONNECTED):
        rx.try_recv()


@pytest.mark.parametrize("kind", BUFFERED)
def test_queued_messages_are_received_after_every_sender_is_gone(kind: str) -> None:
    tx, rx = make(kind)
    tx2 = tx.clone()
    tx.send("a")
    tx2.send("b")
    tx.close()
    tx2.close()
    assert rx.try_recv() == "a"
    assert rx.recv() == "b"
    with pytest.raises(RecvError, match=MSG_RECV_DISCONNECTED):
        rx.recv()
    with pytest.raises(RecvError):
        rx.recv(timeout=1.0)


@pytest.mark.parametrize("kind", BUFFERED)
def test_iteration_yields_until_disconnection_and_try_iter_drains(kind: str) -> None:
    tx, rx = make(kind)
    tx.send(1)
    tx.send(2)
    assert list(rx.try_iter()) == [1, 2]
    assert list(rx.try_iter()) == []
    tx.send(3)
    tx.close()
    assert list(rx) == [3]
    assert list(rx) == []


def test_iteration_waits_for_messages_from_other_threads() -> None:
    tx, rx = channel[int]()

    def produce(tx: Sender[int]) -> None:
        with tx:
            for i in range(100):
                tx.send(i)

    handle = spawn(produce, tx)
    del tx
    assert list(rx) == list(range(100))
    handle.join(timeout=TIMEOUT)


@pytest.mark.parametrize("kind", KINDS)
def test_send_after_the_receiver_is_gone_hands_the_value_back(kind: str) -> None:
    tx, rx = make(kind)
    rx.close()
    value = Payload()
    with pytest.raises(SendError, match=MSG_SEND_DISCONNECTED) as info:
        tx.send(value)
    assert info.value.value is value
    if kind != "unbounded":
        with pytest.raises(SendError) as info:
            tx.try_send(value)
        assert info.value.value is value


def test_recv_timeout() -> None:
    tx, rx = channel[int]()
    with pytest.raises(RecvTimeoutError, match=r"^no message arrived within 0\.01 seconds$"):
        rx.recv(timeout=0.01)
    with pytest.raises(RecvTimeoutError, match=r"^no message arrived within 0 seconds$"):
        rx.recv(timeout=0)
    tx.send(5)
    assert rx.recv(timeout=0) == 5


@pytest.mark.parametrize("timeout", [-1, -0.5, math.nan])
def test_negative_or_nan_timeouts_raise_value_error(timeout: float) -> None:
    tx, rx = sync_channel[int](1)
    tx.send(1)  # even with a message or room available
    with pytest.raises(ValueError, match=MSG_TIMEOUT_VALUE):
        rx.recv(timeout=timeout)
    with pytest.raises(ValueError, match=MSG_TIMEOUT_VALUE):
        select(rx, timeout=timeout)
    assert rx.recv() == 1
    with pytest.raises(ValueError, match=MSG_TIMEOUT_VALUE):
        tx.send(2, timeout=timeout)


def test_huge_timeouts_wait_as_long_as_the_platform_allows() -> None:
    huge = threading.TIMEOUT_MAX * 10
    tx, rx = sync_channel[int](1)
    worker = Worker(lambda: rx.recv(timeout=huge))
    wait_until(lambda: receiver_parked(rx), what="recv to block")
    tx.send(1, timeout=huge)
    assert worker.join() == 1
    tx.send(2, timeout=1e300)
    assert select(rx, timeout=math.inf).value == 2


# -- bounded and rendezvous ---------------------------------------------------------------


def test_bounded_send_blocks_while_full() -> None:
    tx, rx = sync_channel[int](2)
    tx.send(1)
    tx.send(2)
    worker = send_from_thread(tx, 3)
    wait_until(lambda: senders_parked(tx) == 1, what="send to block")
    assert worker.thread.is_alive()
    assert rx.recv() == 1
    worker.join()
    assert [rx.recv(), rx.recv()] == [2, 3]


def test_bounded_try_send_raises_full_with_the_value() -> None:
    tx, rx = sync_channel[str](1)
    tx.try_send("a")
    with pytest.raises(
        Full,
        match=r"^the channel is full \(capacity 1\); call send\(\) to wait for room, "
        r"or try again later$",
    ) as info:
        tx.try_send("b")
    assert info.value.value == "b"
    assert rx.recv() == "a"
    tx.try_send("c")
    assert rx.recv() == "c"


def test_bounded_send_timeout_hands_the_value_back_and_sends_nothing() -> None:
    tx, rx = sync_channel[str](1)
    tx.send("a")
    with pytest.raises(
        SendTimeoutError,
        match=r"^the channel stayed full for 0\.01 seconds; the message is returned in \.value$",
    ) as info:
        tx.send("b", timeout=0.01)
    assert info.value.value == "b"
    assert list(rx.try_iter()) == ["a"]


class SnoozeCounter(_seam.ThreadBackend):
    """Counts snoozes; ``parking`` is set when a waiter gives up snoozing and parks."""

    def __init__(self, snoozes: int = _seam.ThreadBackend.snoozes) -> None:
        self.snoozes = snoozes
        self.snoozed = 0
        self.parking = threading.Event()

    def snooze(self) -> None:
        self.snoozed += 1
        _seam.ThreadBackend.snooze()

    def allocate_lock(self) -> _seam.RawLock:  # type: ignore[override]
        self.parking.set()  # only a parking waiter allocates here
        return _seam.ThreadBackend.allocate_lock()


def test_a_receive_snoozes_a_bounded_number_of_times_then_parks() -> None:
    tx, rx = channel[int]()
    backend = SnoozeCounter()
    assert backend.snoozes > 0
    with _seam.install(backend):
        worker = Worker(lambda: rx.recv(timeout=TIMEOUT))
        assert backend.parking.wait(TIMEOUT)
        assert backend.snoozed == backend.snoozes
        tx.send(7)
        assert worker.join() == 7
    assert backend.snoozed == backend.snoozes  # woken, not snoozing again


def test_a_full_bounded_send_snoozes_a_bounded_number_of_times_then_parks() -> None:
    tx, rx = sync_channel[int](1)
    tx.send(1)
    backend = SnoozeCounter()
    with _seam.install(backend):
        worker = Worker(lambda: tx.send(2, timeout=TIMEOUT))
        assert backend.parking.wait(TIMEOUT)
        assert backend.snoozed == backend.snoozes
        assert rx.recv() == 1
        worker.join()
    assert rx.recv(timeout=TIMEOUT) == 2
    assert backend.snoozed == backend.snoozes


def test_snoozing_ends_at_the_deadline() -> None:
    # Snoozes that never run out: only the deadline ends the spinning.
    tx, rx = sync_channel[int](1)
    tx.send(1)
    with _seam.install(SnoozeCounter(snoozes=2**62)):
        recv = Worker(lambda: rx.recv(timeout=0.01))
        assert recv.join() == 1
        with pytest.raises(RecvTimeoutError):
            Worker(lambda: rx.recv(timeout=0.01)).join()
        tx.send(2)
        with pytest.raises(SendTimeoutError):
            Worker(lambda: tx.send(3, timeout=0.01)).join()
    assert rx.recv() == 2


def test_rendezvous_send_completes_only_when_the_receiver_takes_the_message() -> None:
    tx, rx = sync_channel[str](0)
    worker = send_from_thread(tx, "hi")
    wait_until(lambda: senders_parked(tx) == 1, what="the send to offer its message")
    assert worker.thread.is_alive()  # still waiting: nobody took it
    assert rx.recv(timeout=TIMEOUT) == "hi"
    worker.join()


def test_rendezvous_try_send_needs_a_waiting_receiver() -> None:
    tx, rx = sync_channel[int](0)
    with pytest.raises(
        Full,
        match=r"^no receiver is waiting on this rendezvous channel \(capacity 0\); "
        r"call send\(\) to wait for one$",
    ) as info:
        tx.try_send(1)
    assert info.value.value == 1
    worker = Worker(lambda: rx.recv(timeout=TIMEOUT))
    wait_until(lambda: receiver_parked(rx), what="recv to block")
    tx.try_send(2)
    assert worker.join() == 2


def test_rendezvous_send_timeout_withdraws_the_message() -> None:
    tx, rx = sync_channel[str](0)
    with pytest.raises(
        SendTimeoutError,
        match=r"^no receiver took the message within 0\.01 seconds; it is returned in \.value$",
    ) as info:
        tx.send("late", timeout=0.01)
    assert info.value.value == "late"
    with pytest.raises(Empty):
        rx.try_recv()


@pytest.mark.parametrize("kind", ["bounded", "rendezvous"])
def test_blocked_send_fails_when_the_receiver_goes(kind: str) -> None:
    tx, rx = make(kind)
    if kind == "bounded":
        for i in range(4):
            tx.send(i)
    worker = send_from_thread(tx, "blocked")
    wait_until(lambda: senders_parked(tx) == 1, what="send to block")
    rx.close()
    with pytest.raises(SendError, match=MSG_SEND_DISCONNECTED) as info:
        worker.join()
    assert info.value.value == "blocked"


@pytest.mark.parametrize("kind", ["bounded", "rendezvous"])
def test_blocked_send_fails_when_the_receiver_is_garbage_collected_elsewhere(kind: str) -> None:
    tx, rx = make(kind)
    if kind == "bounded":
        for i in range(4):
            tx.send(i)
    worker = send_from_thread(tx, "blocked")
    wait_until(lambda: senders_parked(tx) == 1, what="send to block")
    box = [rx]
    del rx
    dropper = Worker(box.clear)  # the last reference goes in another thread
    dropper.join()
    with pytest.raises(SendError):
        worker.join()


def test_capacity_is_never_exceeded() -> None:
    tx, rx = sync_channel[int](3)
    chan: Any = tx._shared
    seen: list[int] = []

    def produce(index: int) -> None:
        for i in range(300):
            tx.send(i)

    def consume() -> None:
        for _ in range(1200):
            seen.append(len(chan.buf))
            rx.recv(timeout=TIMEOUT)

    consumer = Worker(consume)
    run_concurrently(produce, 4)
    consumer.join()
    assert max(seen) <= 3


# -- handles: clone, close, with, garbage collection ----------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_channel_disconnects_when_the_last_clone_is_gone(kind: str) -> None:
    tx, rx = make(kind)
    clones = [tx.clone() for _ in range(3)]
    tx.close()
    clones.pop().close()
    with clones.pop():
        pass
    with pytest.raises(Empty):
        rx.try_recv()
    clones.clear()  # garbage collection drops the last one
    with pytest.raises(RecvError):
        rx.try_recv()


@pytest.mark.parametrize("kind", KINDS)
def test_every_use_of_a_closed_sender_raises(kind: str) -> None:
    tx, _rx = make(kind)
    tx.close()
    message = MSG_SENDER_CLOSED if kind == "unbounded" else MSG_SYNC_SENDER_CLOSED
    for use in (lambda: tx.send(1), tx.clone, tx.close):
        with pytest.raises(ConsumedError, match=message):
            use()
    if kind != "unbounded":
        with pytest.raises(ConsumedError, match=message):
            tx.try_send(1)
    with tx:  # the end of a with block closes only a live handle
        pass
    assert repr(tx) == f"<{type(tx).__name__}: closed>"


def test_every_use_of_a_closed_receiver_raises() -> None:
    _tx, rx = channel[int]()
    with rx:
        pass
    uses: list[Callable[[], object]] = [
        rx.recv,
        lambda: rx.recv(timeout=1),
        rx.try_recv,
        rx.try_iter,
        lambda: list(rx),
        lambda: select(rx),
        rx.close,
    ]
    for use in uses:
        with pytest.raises(ConsumedError, match=MSG_RECEIVER_CLOSED):
            use()
    assert repr(rx) == "<Receiver: closed>"


def test_with_blocks_close_handles_even_when_they_raise() -> None:
    tx, rx = channel[int]()
    with pytest.raises(KeyError), tx:
        raise KeyError
    with pytest.raises(RecvError):
        rx.recv()
    with pytest.raises(KeyError), rx:
        raise KeyError
    assert repr(rx) == "<Receiver: closed>"


@pytest.mark.parametrize("bound", [None, 0, 2])
def test_channel_ends_refuse_pickle_and_deepcopy_saying_what_to_do(bound: int | None) -> None:
    tx, rx = channel[int]() if bound is None else sync_channel[int](bound)
    name = "Sender" if bound is None else "SyncSender"
    copiers: tuple[tuple[str, Callable[[Any], object]], ...] = (
        ("pickle", pickle.dumps),
        ("copy", copy.deepcopy),
    )
    for verb, copier in copiers:
        with pytest.raises(
            TypeError, match=rf"^cannot {verb} a fearless\.mpsc\.{name}: use \.clone\(\)"
        ):
            copier(tx)
    for verb, copier in (
        ("pickle", pickle.dumps),
        ("copy", copy.deepcopy),
        ("copy", copy.copy),
    ):
        with pytest.raises(
            TypeError, match=rf"^cannot {verb} a fearless\.mpsc\.Receiver: a channel has a single"
        ):
            copier(rx)
    assert repr(rx).endswith("1 sender>")  # the refused copies counted no sender


def test_copying_a_sender_is_a_counted_clone() -> None:
    tx, rx = sync_channel[int](1)
    twin = copy.copy(tx)
    tx.close()
    twin.send(1)
    twin.close()
    assert list(rx) == [1]


def test_reprs_show_a_snapshot_without_blocking() -> None:
    tx, rx = channel[int]()
    tx2 = tx.clone()
    for i in range(3):
        tx.send(i)
    assert repr(rx) == "<Receiver: ~3 queued (snapshot), 2 senders>"
    assert repr(tx2) == "<Sender: ~3 queued (snapshot), 2 senders>"
    stx, _srx = sync_channel[int](4)
    stx.send(1)
    assert repr(stx) == "<SyncSender: ~1/4 queued (snapshot), 1 sender>"
    _ztx, zrx = sync_channel[int](0)
    assert repr(zrx) == "<Receiver: rendezvous, ~0 offered (snapshot), 1 sender>"
    rx.close()
    assert repr(tx) == "<Sender: ~0 queued (snapshot), receiver gone>"
    assert repr(never()) == "<Receiver: never delivers>"
    assert repr(after(5)).startswith("<Receiver: after(5.0) timer, due in ~")


# -- disconnection wakes the other side at once ---------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_blocked_recv_wakes_when_the_last_sender_closes(kind: str) -> None:
    tx, rx = make(kind)
    worker = Worker(lambda: rx.recv(timeout=TIMEOUT))
    wait_until(lambda: receiver_parked(rx), what="recv to block")
    tx.close()
    with pytest.raises(RecvError):
        worker.join()


@pytest.mark.parametrize("kind", KINDS)
def test_blocked_recv_wakes_when_the_sender_is_garbage_collected_in_another_thread(
    kind: str,
) -> None:
    # The sender is created by this thread and its last reference dropped by
    # another while this thread is blocked in recv: on free-threaded CPython
    # its finaliser is queued for *this* thread, which must run it while
    # waiting (DESIGN: "Handles released on another thread").
    tx, rx = make(kind)
    box = [tx]
    del tx
    ready = threading.Event()

    def drop_later() -> None:
        assert ready.wait(TIMEOUT)
        wait_until(lambda: receiver_parked(rx), what="recv to block")
        box.clear()

    dropper = Worker(drop_later)
    ready.set()
    with pytest.raises(RecvError):
        rx.recv(timeout=TIMEOUT)
    dropper.join()


def test_blocked_recv_gets_the_message_sent_just_before_the_last_sender_closed() -> None:
    tx, rx = channel[str]()
    worker = Worker(lambda: [rx.recv(timeout=TIMEOUT), rx.recv(timeout=TIMEOUT)])
    wait_until(lambda: receiver_parked(rx), what="recv to block")
    tx.send("last words")
    tx.close()
    with pytest.raises(RecvError):
        worker.join()
    assert repr(rx) == "<Receiver: ~0 queued (snapshot), 0 senders>"


@pytest.mark.parametrize("kind", BUFFERED)
def test_queued_messages_are_released_when_the_receiver_goes(kind: str) -> None:
    tx, rx = make(kind)
    payload = Payload()
    watch = weakref.ref(payload)
    tx.send(payload)
    del payload
    assert watch() is not None
    rx.close()
    assert watch() is None


def test_rendezvous_offers_left_in_the_channel_are_released_when_the_receiver_goes() -> None:
    # A try_send to a parked select may leave its offer queued when the
    # select picks another channel; closing the receiver releases it.
    from fearless._mpsc.flavors.zero import _Offer

    _tx, rx = sync_channel[object](0)
    payload = Payload()
    watch = weakref.ref(payload)
    chan: Any = rx._shared
    chan.offers.append(_Offer(payload, None))
    del payload
    got = rx.try_recv()
    assert got is watch()
    del got
    chan.offers.append(_Offer(Payload(), None))
    watch = weakref.ref(chan.offers[0].value)
    rx.close()
    assert watch() is None


@pytest.mark.parametrize("kind", BUFFERED)
def test_queued_messages_are_released_when_the_receiver_is_garbage_collected(kind: str) -> None:
    tx, rx = make(kind)
    tx.send(Payload())
    watch = weakref.ref(rx._shared.buf[0])  # type: ignore[union-attr]
    del rx
    assert watch() is None
    with pytest.raises(SendError):
        tx.send(1)


def test_a_message_sent_while_the_receiver_goes_is_released_too() -> None:
    # Sender appended after the receiver's clear(): the sender releases it.
    tx, rx = channel[object]()
    chan: Any = tx._shared
    payload = Payload()
    watch = weakref.ref(payload)
    rx.close()
    chan.buf.append(payload)  # as if appended in the window before the post-check
    del payload
    chan.notify()
    assert watch() is None


def test_sending_a_sender_through_its_own_channel_then_dropping_the_receiver() -> None:
    # The queued sender is released by the receiver's close(); its finaliser
    # runs inside that close and drops a sender of the same channel.
    tx, rx = channel[object]()
    tx.send(tx.clone())
    rx.close()
    assert tx._shared is not None
    assert tx._shared.senders == 1
    with pytest.raises(SendError):
        tx.send(1)


def test_a_finaliser_inside_an_operation_on_the_same_channel_does_not_deadlock() -> None:
    tx, _rx = channel[int]()
    doomed = tx.clone()
    chan: Any = tx._shared
    done = threading.Event()

    def finalise_inside() -> None:
        nonlocal doomed
        with chan.lock:
            del doomed  # Sender.__del__ takes the same (reentrant) lock
            done.set()

    worker = Worker(finalise_inside)
    worker.join()
    assert done.is_set()
    assert chan.senders == 1


def test_a_sender_in_a_reference_cycle_disconnects_when_collected() -> None:
    tx, rx = channel[int]()
    cycle: list[object] = [tx]
    cycle.append(cycle)
    del tx, cycle
    gc.collect()
    with pytest.raises(RecvError):
        rx.try_recv()


# -- single consumer -------------------------------------------------------------------------


def test_two_threads_receiving_at_once_raise_a_clear_error() -> None:
    tx, rx = channel[int]()
    worker = Worker(lambda: rx.recv(timeout=TIMEOUT))
    wait_until(lambda: receiver_parked(rx), what="recv to block")
    with pytest.raises(ConcurrentRecvError, match=MSG_CONCURRENT):
        rx.recv()
    with pytest.raises(ConcurrentRecvError, match=MSG_CONCURRENT):
        rx.recv(timeout=0)
    with pytest.raises(ConcurrentRecvError, match=MSG_CONCURRENT):
        select(rx, after(0))
    with pytest.raises(ConcurrentRecvError, match=MSG_CONCURRENT):
        list(rx)
    tx.send(1)
    assert worker.join() == 1


def test_a_receiver_may_move_between_threads() -> None:
    tx, rx = channel[int]()
    for i in range(3):
        tx.send(i)
    assert Worker(rx.recv).join() == 0
    assert Worker(rx.recv).join() == 1
    assert rx.recv() == 2


# -- select and timers -------------------------------------------------------------------------


def test_select_returns_the_ready_receiver_and_its_message() -> None:
    _tx1, rx1 = channel[int]()
    tx2, rx2 = channel[str]()
    tx2.send("b")
    got = select(rx1, rx2)
    assert got == Selected(1, rx2, "b")
    assert (got.index, got.receiver, got.value) == (1, rx2, "b")


def test_select_is_fair_between_ready_channels() -> None:
    tx1, rx1 = channel[int]()
    tx2, rx2 = channel[int]()
    for i in range(100):
        tx1.send(i)
        tx2.send(i)
    picks = [select(rx1, rx2).index for _ in range(100)]
    assert picks.count(0) == picks.count(1) == 50


def test_select_skips_disconnected_receivers_while_others_live() -> None:
    tx1, rx1 = channel[int]()
    tx2, rx2 = channel[int]()
    tx1.send(1)
    tx1.close()
    assert select(rx1, rx2).value == 1  # queued messages first
    worker = Worker(lambda: select(rx1, rx2, timeout=TIMEOUT))
    wait_until(lambda: receiver_parked(rx2), what="select to block")
    tx2.send(2)
    assert worker.join() == Selected(1, rx2, 2)


def test_select_raises_recv_error_when_every_receiver_is_disconnected() -> None:
    tx1, rx1 = channel[int]()
    tx2, rx2 = sync_channel[int](1)
    tx1.close()
    worker = Worker(lambda: select(rx1, rx2, timeout=TIMEOUT))
    wait_until(lambda: receiver_parked(rx2), what="select to block")
    tx2.close()
    with pytest.raises(
        RecvError,
        match=r"^every channel passed to select\(\) has lost all its senders and is empty; "
        r"no message will ever arrive$",
    ):
        worker.join()


def test_select_times_out() -> None:
    _tx, rx = channel[int]()
    with pytest.raises(
        RecvTimeoutError,
        match=r"^select\(\) received nothing within 0\.01 seconds from its 2 channels$",
    ):
        select(rx, never(), timeout=0.01)


def test_select_wakes_on_a_message_from_another_thread_and_unregisters() -> None:
    _tx1, rx1 = channel[int]()
    tx2, rx2 = sync_channel[int](0)
    worker = Worker(lambda: select(rx1, rx2, timeout=TIMEOUT))
    wait_until(lambda: receiver_parked(rx1) and receiver_parked(rx2), what="select to block")
    helper = send_from_thread(tx2, 7)
    assert worker.join() == Selected(1, rx2, 7)
    helper.join()
    assert not receiver_parked(rx1)
    assert not receiver_parked(rx2)


def test_select_accepts_the_same_receiver_twice() -> None:
    tx, rx = channel[int]()
    tx.send(3)
    assert select(rx, rx).value == 3


def test_select_rejects_nothing_and_non_receivers() -> None:
    with pytest.raises(ValueError, match=r"^select\(\) needs at least one Receiver$"):
        select()
    with pytest.raises(TypeError, match=r"^select\(\) takes Receivers, got list$"):
        select([])  # type: ignore[call-overload]


def test_after_delivers_once_and_never_disconnects() -> None:
    timer = after(0)
    due = timer.recv(timeout=TIMEOUT)
    assert isinstance(due, float)
    with pytest.raises(Empty):
        timer.try_recv()
    with pytest.raises(RecvTimeoutError):
        timer.recv(timeout=0.001)
    assert repr(timer) == "<Receiver: after(0.0) timer, delivered>"


def test_after_in_select_fires_when_nothing_else_arrives() -> None:
    _tx, rx = channel[int]()
    timer = after(0.01)
    got = select(rx, timer, timeout=TIMEOUT)
    assert got.receiver is timer


def test_tick_delivers_repeatedly_without_backlog() -> None:
    ticker = tick(0.001)
    times = [ticker.recv(timeout=TIMEOUT) for _ in range(3)]
    assert times == sorted(times)
    assert times[1] >= times[0] + 0.001


def test_never_never_delivers() -> None:
    with pytest.raises(Empty):
        never().try_recv()
    with pytest.raises(RecvTimeoutError):
        select(never(), never(), timeout=0)


@pytest.mark.parametrize("seconds", [-1, math.nan, math.inf])
def test_timers_reject_bad_durations(seconds: float) -> None:
    for make_timer in (after, tick):
        with pytest.raises(ValueError, match=r"^a timer needs a non-negative, finite number"):
            make_timer(seconds)


def test_blocked_waits_are_sliced() -> None:
    # Sanity of the mechanism the GC tests rely on.
    assert 0 < _seam.backend.slice <= 0.1


# -- property tests: programs of operations ----------------------------------------------------

OPS = st.lists(
    st.sampled_from(["send", "send", "send", "clone", "close_clone"]), min_size=0, max_size=25
)


@settings(max_examples=40 if STRESS == 1 else 150, deadline=None)
@given(
    kind=st.sampled_from(["unbounded", "bounded1", "bounded3", "rendezvous"]),
    programs=st.lists(OPS, min_size=1, max_size=4),
    recv_style=st.sampled_from(["iter", "recv", "try_recv", "select", "timeout"]),
)
def test_nothing_lost_nothing_duplicated_per_sender_fifo(  # noqa: PLR0912, PLR0915 - one property: its program and its checks together
    kind: str, programs: list[list[str]], recv_style: str
) -> None:
    if kind == "unbounded":
        tx, rx = channel[tuple[int, int]]()
    elif kind == "rendezvous":
        tx, rx = sync_channel[tuple[int, int]](0)  # type: ignore[assignment]
    else:
        tx, rx = sync_channel[tuple[int, int]](int(kind[-1]))  # type: ignore[assignment]
    handles = [tx.clone() for _ in programs]
    tx.close()
    sent: list[list[tuple[int, int]]] = [[] for _ in programs]

    def run(index: int, tx: Any) -> None:
        mine = [tx]
        seq = 0
        for op in programs[index]:
            if op == "send":
                mine[seq % len(mine)].send((index, seq))
                sent[index].append((index, seq))
                seq += 1
            elif op == "clone":
                mine.append(mine[-1].clone())
            elif len(mine) > 1:
                mine.pop().close()
        for handle in mine:
            handle.close()

    start = threading.Barrier(len(programs) + 1, timeout=TIMEOUT)

    def worker(index: int, tx: Any) -> None:
        start.wait()
        run(index, tx)

    workers = [Worker(worker, i, h) for i, h in enumerate(handles)]
    del handles
    start.wait()
    received: list[tuple[int, int]] = []
    dead_tx, dead = channel[tuple[int, int]]()
    dead_tx.close()
    if recv_style == "iter":
        received = list(rx)
    else:
        while True:
            try:
                if recv_style == "recv":
                    received.append(rx.recv())
                elif recv_style == "timeout":
                    received.append(rx.recv(timeout=TIMEOUT))
                elif recv_style == "select":
                    received.append(select(dead, rx).value)
                else:
                    try:
                        received.append(rx.try_recv())
                    except Empty:
                        wait_until(lambda: receiver_ready(rx), what="a message or disconnection")
            except RecvError:
                break
    for w in workers:
        w.join()
    # Disconnection was observed only once every sender was gone and
    # everything sent had been received.
    assert sorted(received) == sorted(m for msgs in sent for m in msgs)
    for index in range(len(programs)):
        assert [m for m in received if m[0] == index] == sent[index]


def receiver_ready(rx: Receiver[Any]) -> bool:
    chan: Any = rx._shared
    return bool(chan.ready())


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(["unbounded", "bounded2", "rendezvous"]),
    nproducers=st.integers(1, 3),
    take=st.integers(0, 20),
)
def test_after_the_receiver_goes_every_send_fails_and_nothing_is_duplicated(
    kind: str, nproducers: int, take: int
) -> None:
    if kind == "unbounded":
        tx, rx = channel[tuple[int, int]]()
    elif kind == "rendezvous":
        tx, rx = sync_channel[tuple[int, int]](0)  # type: ignore[assignment]
    else:
        tx, rx = sync_channel[tuple[int, int]](2)  # type: ignore[assignment]

    def produce(index: int, tx: Any) -> tuple[int, int]:
        """Send until SendError; return (messages sent, the failed value's seq)."""
        with tx:
            seq = 0
            failed: tuple[int, int] | None = None
            while failed is None:
                try:
                    tx.send((index, seq))
                except SendError as e:
                    failed = e.value
                else:
                    seq += 1
            assert failed == (index, seq)
            for _ in range(3):  # stays failed
                with pytest.raises(SendError):
                    tx.send((index, -1))
            return seq, failed[1]

    workers = [Worker(produce, i, tx.clone()) for i in range(nproducers)]
    tx.close()
    received = [rx.recv(timeout=TIMEOUT) for _ in range(take)]
    rx.close()
    results = [w.join() for w in workers]
    assert len(set(received)) == len(received)
    for index, (count, failed) in enumerate(results):
        mine = [m[1] for m in received if m[0] == index]
        assert mine == list(range(len(mine)))  # a prefix of what was sent, in order
        assert len(mine) <= count == failed


# -- stress ------------------------------------------------------------------------------------


@pytest.mark.stress
@pytest.mark.parametrize("kind", ["unbounded", "bounded1", "bounded8", "rendezvous"])
def test_stress_many_producers_one_consumer(kind: str) -> None:
    per_thread = {"rendezvous": 300, "bounded1": 500}.get(kind, 2000) * STRESS
    nthreads = 4
    if kind == "unbounded":
        tx, rx = channel[tuple[int, int]]()
    elif kind == "rendezvous":
        tx, rx = sync_channel[tuple[int, int]](0)  # type: ignore[assignment]
    else:
        tx, rx = sync_channel[tuple[int, int]](int(kind[len("bounded") :]))  # type: ignore[assignment]
    handles = [tx.clone() for _ in range(nthreads)]
    tx.close()

    def produce(index: int) -> None:
        with handles[index] as mine:
            for seq in range(per_thread):
                mine.send((index, seq))

    consumer = Worker(lambda: list(rx))
    run_concurrently(produce, nthreads)
    handles.clear()
    received: list[tuple[int, int]] = consumer.join()
    assert len(received) == nthreads * per_thread
    for index in range(nthreads):
        assert [seq for i, seq in received if i == index] == list(range(per_thread))


@pytest.mark.stress
def test_stress_select_over_mixed_channels() -> None:
    per_thread = 1000 * STRESS
    pairs: list[tuple[Any, Receiver[int]]] = [channel[int](), sync_channel[int](2)]
    pairs.append(sync_channel[int](0))

    def produce(index: int) -> None:
        tx = pairs[index][0]
        with tx:
            for seq in range(per_thread):
                tx.send(seq)

    receivers = [rx for _, rx in pairs]
    got: list[list[int]] = [[], [], []]

    def consume() -> None:
        while True:
            try:
                selected = select(*receivers, timeout=TIMEOUT)
            except RecvError:
                return
            got[selected.index].append(selected.value)

    consumer = Worker(consume)
    senders = [tx for tx, _ in pairs]
    del pairs[:]
    pairs.extend((tx, rx) for tx, rx in zip(senders, receivers, strict=True))
    del senders
    run_concurrently(produce, 3)
    pairs.clear()
    consumer.join()
    assert got == [list(range(per_thread))] * 3


@pytest.mark.stress
def test_stress_timeouts_racing_sends_lose_nothing() -> None:
    # Receives with tiny timeouts race sends: a timed-out receive must not
    # swallow a message, and a timed-out bounded send must not leak one.
    count = 500 * STRESS
    tx, rx = sync_channel[int](1)
    sent: list[int] = []
    returned: list[bool] = []

    def produce() -> None:
        with tx:
            for i in range(count):
                while True:
                    try:
                        tx.send(i, timeout=0.0001)
                    except SendTimeoutError as e:
                        returned.append(e.value == i)
                        continue
                    sent.append(i)
                    break

    producer = Worker(produce)
    received: list[int] = []
    while True:
        try:
            received.append(rx.recv(timeout=0.0001))
        except RecvTimeoutError:
            continue
        except RecvError:
            break
    producer.join()
    assert received == sent == list(range(count))
    assert all(returned)


# -- explored with fearless.testing ---------------------------------------------------------
#
# Each program runs under every schedule of fearless.testing's exhaustive search (within its
# preemption bound) and checks, inside, that no message is lost or duplicated, that each
# sender's messages arrive in order, and that disconnection is seen exactly when it
# happened. Sends and receives are switch points.

CHANNELS: dict[str, Callable[[], tuple[AnySender, Receiver[Any]]]] = {
    "unbounded": channel[Any],
    "bounded": lambda: sync_channel[Any](1),
    "rendezvous": lambda: sync_channel[Any](0),
}


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_explored_two_senders_no_loss_no_duplicate_per_sender_fifo(kind: str) -> None:
    def program() -> None:
        tx, rx = CHANNELS[kind]()
        closed = AtomicInt(0)

        def produce(name: str, tx: AnySender) -> None:
            with tx:
                tx.send((name, 1))
                tx.send((name, 2))
                closed.fetch_add(1)

        with scope() as s:
            s.spawn(produce, "a", tx.clone())
            s.spawn(produce, "b", tx)
            received = list(rx)  # until every sender is gone and the queue is drained
            assert closed.load() == 2, "iteration ended before every sender was closed"
        assert sorted(received) == [("a", 1), ("a", 2), ("b", 1), ("b", 2)], received
        for name in "ab":
            assert [i for n, i in received if n == name] == [1, 2], received

    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 10


@pytest.mark.parametrize("capacity", [0, 1])
def test_explored_bounded_send_completes_only_when_there_is_room(capacity: int) -> None:
    def program() -> None:
        tx, rx = sync_channel[int](capacity)
        completed = AtomicInt(0)

        def produce() -> None:
            with tx:
                for i in range(3):
                    tx.send(i)
                    completed.fetch_add(1)

        with scope() as s:
            s.spawn(produce)
            received: list[int] = []
            while True:
                # A send returns only once its message fits: taken, or queued in the room.
                assert completed.load() <= len(received) + capacity, "a send overtook the bound"
                try:
                    received.append(rx.recv())
                except RecvError:
                    break
        assert received == [0, 1, 2]

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 10


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_explored_closing_the_receiver_fails_later_sends_with_their_message(kind: str) -> None:
    delivered: set[int] = set()

    def program() -> None:
        tx, rx = CHANNELS[kind]()

        def produce() -> tuple[list[int], list[int]]:
            sent: list[int] = []
            returned: list[int] = []
            for i in range(3):
                try:
                    tx.send(i)
                except SendError as e:
                    returned.append(e.value)
                else:
                    sent.append(i)
            return sent, returned

        with scope() as s:
            producer = s.spawn(produce)
            first = rx.recv()
            rx.close()
        sent, returned = producer.join()
        assert first == 0
        # Sends succeed until the close and fail from then on, each with its own message.
        assert sent + returned == [0, 1, 2], (sent, returned)
        delivered.add(len(sent))

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert 1 in delivered  # in some schedule every send after the first one failed
    if kind == "unbounded":
        assert delivered == {1, 2, 3}


def test_explored_negative_control_empty_is_not_disconnected() -> None:
    # A consumer that stops at the first Empty instead of waiting for disconnection
    # misses messages still to come: the explorer must find the schedule that loses one.
    def program() -> None:
        tx, rx = channel[int]()

        def produce() -> None:
            with tx:
                tx.send(1)
                tx.send(2)

        with scope() as s:
            s.spawn(produce)
            received = []
            while True:
                try:
                    received.append(rx.try_recv())
                except (Empty, RecvError):
                    break
        assert received == [1, 2], f"received only {received}"

    with pytest.raises(ScheduleFailure, match="received only"):
        explore(program, strategy="exhaustive", preemption_bound=2)


def test_explored_select_wakes_for_every_message_and_ends_at_the_last_disconnection() -> None:
    # One producer, rendezvous channels: at most one channel is ready at any select, and
    # the selecting thread must wake for each offer and see the channels close one by one.
    def program() -> None:
        tx1, rx1 = sync_channel[int](0)
        tx2, rx2 = sync_channel[int](0)

        def produce() -> None:
            tx1.send(1)
            tx2.send(10)
            tx1.close()
            tx2.send(20)
            tx2.close()

        with scope() as s:
            s.spawn(produce)
            got: list[tuple[int, int]] = []
            while True:
                try:
                    selected = select(rx1, rx2)
                except RecvError:
                    break
                assert selected.receiver is (rx1, rx2)[selected.index]
                got.append((selected.index, selected.value))
        assert got == [(0, 1), (1, 10), (1, 20)], got

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 10


def test_explored_select_alternates_between_ready_channels() -> None:
    # Both channels hold messages all along (two each, two selects), while senders add
    # more: whatever the interleaving, two selects in a row pick both channels.
    def program() -> None:
        tx1, rx1 = channel[int]()
        tx2, rx2 = channel[int]()
        for tx in (tx1, tx2):
            tx.send(0)
            tx.send(0)

        with scope() as s:
            s.spawn(tx1.send, 1)
            s.spawn(tx2.send, 1)
            picks = {select(rx1, rx2).index, select(rx1, rx2).index}
        assert picks == {0, 1}, "select picked the same channel twice while both were ready"

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 10


def test_explored_select_alternates_per_thread_while_another_thread_selects() -> None:
    # Regression: select() rotated with one process-wide counter, so two threads
    # selecting at once advanced each other's rotation.
    def program() -> None:
        pairs = []
        for _ in range(2):
            tx1, rx1 = channel[int]()
            tx2, rx2 = channel[int]()
            for tx in (tx1, tx2):
                tx.send(0)
                tx.send(0)
            pairs.append((rx1, rx2))

        def selector(rx1: Receiver[int], rx2: Receiver[int]) -> None:
            picks = {select(rx1, rx2).index, select(rx1, rx2).index}
            assert picks == {0, 1}, "select picked the same channel twice while both were ready"

        with scope() as s:
            for rx1, rx2 in pairs:
                s.spawn(selector, rx1, rx2)

    explore(program, strategy="exhaustive", preemption_bound=2)
