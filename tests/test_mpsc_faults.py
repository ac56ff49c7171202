"""Channels under faults: Ctrl-C, RecursionError, finalisers, shutdown, os.fork().

Interrupt, fork and shutdown tests run in a fresh interpreter
(``run_python``), bounded; the others run here.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from _helpers import TIMEOUT, Worker, run_python, uncovered_back_edges, wait_until
from fearless import _seam
from fearless.mpsc import (
    Empty,
    Receiver,
    RecvTimeoutError,
    SendTimeoutError,
    channel,
    select,
    sync_channel,
    was_sent,
)

# -- interrupt storms ------------------------------------------------------------------
#
# A helper thread fires SIGINT at the main thread over and over (by
# ``_thread.interrupt_main()``, delivered at Python's next check, or by a real
# signal, which also cuts blocking waits short) while the main thread sends or
# receives. The handler raises KeyboardInterrupt only while the main thread
# is inside the channel call (``ARMED``), so every interrupt is caught by the
# loop and none lands in the test's own bookkeeping.

STORM_PRELUDE = """
import _thread, signal, sys, threading, time
from fearless.mpsc import (
    was_sent, Empty, RecvError, RecvTimeoutError, SendTimeoutError, channel, select,
    sync_channel,
)

MODE = "{mode}"
N = {n}
ARMED = [False]
HITS = [0]
MAIN = threading.get_ident()

def on_sigint(signum, frame):
    if ARMED[0]:
        raise KeyboardInterrupt

signal.signal(signal.SIGINT, on_sigint)
STOP = threading.Event()

def storm():
    while not STOP.is_set():
        if MODE == "signal":
            signal.pthread_kill(MAIN, signal.SIGINT)
        else:
            _thread.interrupt_main()
        STOP.wait(0.0003)  # pacing, not synchronisation

def start_storm():
    t = threading.Thread(target=storm, daemon=True)
    t.start()
    return t

def stop_storm(t):
    STOP.set()
    t.join(30)
    assert not t.is_alive()

def send_once(send, value):
    # True when the message was delivered: send returned, or its exception says so.
    try:
        ARMED[0] = True
        send(value)
        ARMED[0] = False
        return True
    except KeyboardInterrupt as e:
        ARMED[0] = False
        HITS[0] += 1
        return was_sent(e)
    except SendTimeoutError:
        ARMED[0] = False
        return False

def receive_once(recv):
    # (True, value) when a message was received.
    try:
        ARMED[0] = True
        value = recv()
        ARMED[0] = False
        return True, value
    except KeyboardInterrupt:
        ARMED[0] = False
        HITS[0] += 1
        return False, None
    except (RecvTimeoutError, Empty):
        ARMED[0] = False
        return False, None

def consume(rx, out):
    for value in rx:
        out.append(value)

def check_idle(rx):
    assert not rx._busy, f"receiver left busy: {{dict(rx._busy)}}"
    chan = rx._shared
    assert chan.waiter is None, chan.waiter
    if hasattr(chan, "permits"):
        assert len(chan.permits) + len(chan.buf) == chan.cap, (len(chan.permits), len(chan.buf))
        assert not [w for w in chan.send_waiters if w.claims], "a live send waiter left behind"
"""

SEND_STORMS = {
    # The main thread sends N messages under the storm, retrying each until it
    # was delivered; a thread receives. Every message must arrive exactly once.
    "unbounded": "tx, rx = channel[int]()\nsend = tx.send\n",
    "bounded": "tx, rx = sync_channel[int](2)\nsend = tx.send\n",
    "bounded_timeout": ("tx, rx = sync_channel[int](1)\ndef send(v):\n    tx.send(v, timeout=5)\n"),
    "rendezvous": "tx, rx = sync_channel[int](0)\nsend = tx.send\n",
}

SEND_STORM_BODY = """
def send_batch(start, count, done):
    # Sends start, start + 1, ... under the storm; done[0] counts the
    # messages certainly delivered, so the caller resumes after them.
    try:
        ARMED[0] = True
        for j in range(count):
            send(start + j)
            done[0] = j + 1
        ARMED[0] = False
    except KeyboardInterrupt as e:
        ARMED[0] = False
        HITS[0] += 1
        if was_sent(e):
            done[0] += 1
    except SendTimeoutError:
        ARMED[0] = False

got = []
consumer = threading.Thread(target=consume, args=(rx, got))
consumer.start()
t = start_storm()
sent = 0
give_up = time.monotonic() + 20
while sent < N or (HITS[0] < 20 and time.monotonic() < give_up):  # until the storm hit enough
    done = [0]
    send_batch(sent, 50, done)
    sent += done[0]
stop_storm(t)
tx.close()
consumer.join(60)
assert not consumer.is_alive()
assert sorted(got) == list(range(sent)), (len(got), len(set(got)), sent)
assert got == list(range(sent)), "one sender's messages arrive in order"
print("ok", HITS[0])
"""

RECV_STORMS = {
    # The main thread receives under the storm while a thread sends N
    # messages. An interrupt can drop the one message a receive was handing
    # over (as with queue.Queue.get); none may be duplicated, and the
    # channel must be idle and fully usable afterwards.
    "recv_unbounded": ("tx, rx = channel[int]()", "rx.recv"),
    "recv_timeout_unbounded": ("tx, rx = channel[int]()", "lambda: rx.recv(timeout=5)"),
    "recv_bounded": ("tx, rx = sync_channel[int](2)", "rx.recv"),
    "recv_rendezvous": ("tx, rx = sync_channel[int](0)", "lambda: rx.recv(timeout=5)"),
    "select": (
        "tx, rx = sync_channel[int](1)\nother_tx, other = channel[int]()",
        "lambda: select(rx, other, timeout=5).value",
    ),
}

RECV_STORM_BODY = """
spare = tx.clone()  # keeps the channel connected for the check afterwards
def produce():
    with tx:
        for i in range(N):
            tx.send(i)
producer = threading.Thread(target=produce)
producer.start()
t = start_storm()
got = []
while True:
    ok, value = receive_once(RECV)
    if ok:
        got.append(value)
    elif not producer.is_alive() and not rx._shared.has_message():
        break
stop_storm(t)
producer.join(60)
assert len(got) == len(set(got)), "a message was received twice"
assert set(got) <= set(range(N))
assert N - len(got) <= HITS[0], (N, len(got), HITS[0])
assert sorted(got) == got, "one sender's messages arrive in order"
check_idle(rx)
# Fully usable: new messages all arrive, once each, in order.
def produce_more():
    for i in range(N, N + 50):
        spare.send(i)
more = threading.Thread(target=produce_more)
more.start()
assert [rx.recv(timeout=30) for _ in range(50)] == list(range(N, N + 50))
more.join(30)
check_idle(rx)
print("ok", HITS[0], len(got))
"""


def _storm_program(body: str, mode: str, n: int) -> str:
    return STORM_PRELUDE.format(mode=mode, n=n) + body


@pytest.mark.parametrize("mode", ["interrupt_main", "signal"])
@pytest.mark.parametrize("flavour", sorted(SEND_STORMS))
def test_send_storm_delivers_every_message_exactly_once(flavour: str, mode: str) -> None:
    n = 1500 if flavour != "rendezvous" else 600
    proc = run_python(_storm_program(SEND_STORMS[flavour] + SEND_STORM_BODY, mode, n), timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok "), proc.stdout + proc.stderr
    assert int(proc.stdout.split()[1]) > 0, "the storm never interrupted a send"
    assert proc.stderr == ""


@pytest.mark.parametrize("mode", ["interrupt_main", "signal"])
@pytest.mark.parametrize("flavour", sorted(RECV_STORMS))
def test_receive_storm_leaves_the_channel_idle_and_duplicates_nothing(
    flavour: str, mode: str
) -> None:
    make, recv = RECV_STORMS[flavour]
    n = 1500 if "rendezvous" not in flavour else 600
    body = make + f"\nRECV = {recv}\n" + RECV_STORM_BODY
    proc = run_python(_storm_program(body, mode, n), timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok "), proc.stdout + proc.stderr
    assert int(proc.stdout.split()[1]) > 0, "the storm never interrupted a receive"
    assert proc.stderr == ""


# -- an exception injected after every call: every window, deterministically ------------------
#
# CPython raises KeyboardInterrupt from a signal handler at its checks: when
# a function starts and right after a call returns. A profile function that
# raises at the k-th such point of an operation reproduces the interrupt
# there; sweeping k over every point until the operation completes
# untouched visits every window of the operation (in the calling thread).


def _inject(k: int, op: Any) -> Any:
    count = [0]

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "c_return"):
            count[0] += 1
            if count[0] == k:
                raise KeyboardInterrupt

    # No cyclic collection meanwhile: it would run finalisers of unrelated
    # garbage (left by earlier rounds) under the injection.
    gc.collect()
    gc.disable()
    sys.setprofile(profile)
    try:
        return op()
    finally:
        sys.setprofile(None)
        gc.enable()


def _sweep(setup: Any, op: Any, check: Any, limit: int = 2000) -> int:
    """Run ``op(state)`` interrupted at its k-th point for k = 1, 2, ...; ``check`` each.

    Waits snooze twice, not a hundred times, before they park: every pass
    of the snoozing loop runs the same code, so two passes visit each of
    its points, and the sweep stays linear in the points, not quadratic.
    """
    with _few_snoozes():
        return _sweep_points(setup, op, check, limit)


@contextlib.contextmanager
def _few_snoozes() -> Iterator[None]:
    backend = _seam.backend
    saved = backend.snoozes
    backend.snoozes = 2
    try:
        yield
    finally:
        backend.snoozes = saved


def _sweep_points(setup: Any, op: Any, check: Any, limit: int) -> int:
    for k in range(1, limit):
        state = setup()
        outcome: BaseException | None = None
        result: Any = None
        try:
            result = _inject(k, lambda state=state: op(state))
        except BaseException as exc:
            outcome = exc
        check(state, outcome, result)
        if not isinstance(outcome, KeyboardInterrupt):
            return k  # ran to its end: every point was visited
    raise AssertionError(f"the operation never completed in {limit} points")


def _assert_idle(rx: Receiver[Any]) -> None:
    chan: Any = rx._shared
    assert not rx._busy, f"receiver left busy by {dict(rx._busy)}"
    assert chan.waiter is None or not chan.waiter.claims, "a live receive waiter left behind"
    if hasattr(chan, "permits"):
        assert len(chan.permits) + len(chan.buf) == chan.cap
        assert not [w for w in chan.send_waiters if w.claims], "a live send waiter left behind"


def _sent(outcome: BaseException | None) -> bool:
    """Whether a send delivered: it returned, or its exception says it did."""
    if outcome is None:
        return True
    return was_sent(outcome)


def _make(kind: str) -> Any:
    if kind == "unbounded":
        return channel[int]()
    return sync_channel[int](2)


_KEPT: list[Any] = []


def _keep(it: Any) -> Any:
    """Keep a generator alive past the injection (its finaliser would be interrupted too)."""
    _KEPT.append(it)
    return it


RECEIVES: dict[str, Callable[[Any], Any]] = {
    "recv": lambda rx: rx.recv(),
    "recv_timeout": lambda rx: rx.recv(timeout=0.01),
    "iter": lambda rx: next(_keep(iter(rx))),
    "select": lambda rx: select(rx, timeout=0.01).value,
    "select_two": lambda rx: select(rx, rx, timeout=0.01).value,
}


# (how, queued): without a message queued, only the receives with a timeout
# end on their own; the blocking ones are covered by the Ctrl-C tests below.
_RECEIVE_CASES = [
    (how, queued)
    for how in sorted(RECEIVES)
    for queued in (True, False)
    if queued or how not in ("recv", "iter")
]


@pytest.mark.parametrize(("how", "queued"), _RECEIVE_CASES)
@pytest.mark.parametrize("kind", ["unbounded", "bounded"])
def test_receive_interrupted_anywhere_leaves_the_receiver_usable(
    kind: str, how: str, queued: bool
) -> None:
    receive = RECEIVES[how]

    def setup() -> Any:
        tx, rx = _make(kind)
        if queued:
            tx.send(1)
        return tx, rx

    def check(state: Any, outcome: BaseException | None, result: Any) -> None:
        tx, rx = state
        _assert_idle(rx)
        if outcome is None:
            assert result == 1
        elif not isinstance(outcome, KeyboardInterrupt):
            assert isinstance(outcome, RecvTimeoutError) and not queued, outcome
        # No duplicate: at most the one message is still there.
        left = list(rx.try_iter())
        assert left in ([], [1]) and not (left and outcome is None)
        tx.send(2)
        assert rx.recv(timeout=TIMEOUT) == 2
        _assert_idle(rx)
        _KEPT.clear()

    _sweep(setup, lambda state: receive(state[1]), check)


SENDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "unbounded": ("unbounded", lambda tx: tx.send(7)),
    "bounded": ("bounded", lambda tx: tx.send(7)),
    "bounded_timeout": ("bounded", lambda tx: tx.send(7, timeout=5)),
    "bounded_try": ("bounded", lambda tx: tx.try_send(7)),
    "bounded_full": ("full", lambda tx: tx.send(7, timeout=0.01)),
}


@pytest.mark.parametrize("name", sorted(SENDS))
def test_send_interrupted_anywhere_delivers_once_or_says_it_did_not(name: str) -> None:
    kind, send = SENDS[name]

    def setup() -> Any:
        tx, rx = _make("unbounded" if kind == "unbounded" else "bounded")
        if kind == "full":
            tx.send(1)
            tx.send(2)
        return tx, rx

    def check(state: Any, outcome: BaseException | None, result: Any) -> None:
        tx, rx = state
        _assert_idle(rx)
        if outcome is not None and not isinstance(outcome, KeyboardInterrupt):
            assert isinstance(outcome, SendTimeoutError) and kind == "full", outcome
        got = list(rx.try_iter())
        before = [1, 2] if kind == "full" else []
        assert got == before + ([7] if _sent(outcome) else []), (got, outcome)
        tx.send(8)
        assert rx.recv(timeout=TIMEOUT) == 8
        _assert_idle(rx)

    _sweep(setup, lambda state: send(state[0]), check)


@pytest.mark.parametrize("how", ["send", "send_timeout", "try_send"])
def test_rendezvous_send_interrupted_anywhere_delivers_exactly_once(how: str) -> None:
    def setup() -> Any:
        tx, rx = sync_channel[int](0)
        receiver = Worker(lambda: rx.recv(timeout=TIMEOUT))
        wait_until(lambda: rx._shared.waiter is not None, what="the receiver to park")  # type: ignore[union-attr]
        return tx, rx, receiver

    def op(state: Any) -> None:
        tx = state[0]
        if how == "send":
            tx.send(5)
        elif how == "send_timeout":
            tx.send(5, timeout=TIMEOUT)
        else:
            tx.try_send(5)

    def check(state: Any, outcome: BaseException | None, result: Any) -> None:
        tx, rx, receiver = state
        if not _sent(outcome):
            tx.send(5, timeout=TIMEOUT)  # the receiver still waits: now it gets it
        assert receiver.join() == 5
        with pytest.raises(Empty):
            rx.try_recv()  # nothing left over: delivered exactly once
        _assert_idle(rx)

    _sweep(setup, op, check)


@pytest.mark.parametrize("kind", ["unbounded", "bounded", "rendezvous"])
def test_handle_bookkeeping_interrupted_anywhere_keeps_counts_exact(kind: str) -> None:
    def setup() -> Any:
        if kind == "unbounded":
            return channel[int]()
        return sync_channel[int](0 if kind == "rendezvous" else 1)

    def senders(rx: Receiver[Any]) -> int:
        gc.collect()
        return rx._shared.senders  # type: ignore[union-attr,no-any-return]

    def check_clone(state: Any, outcome: BaseException | None, result: Any) -> None:
        tx, rx = state
        if outcome is not None:
            outcome.__traceback__ = None  # its frames hold the half-made clone
        assert senders(rx) == (2 if outcome is None else 1)
        if outcome is None:
            result.close()
        assert senders(rx) == 1
        tx.close()
        assert rx._shared.disconnected()

    _sweep(setup, lambda state: state[0].clone(), check_clone)

    def check_close(state: Any, outcome: BaseException | None, result: Any) -> None:
        tx, rx = state
        tx._drop()  # finishes an interrupted close, or finds it done
        assert senders(rx) == 0 and rx._shared.disconnected()
        with pytest.raises(Exception, match="every sender is gone"):
            rx.try_recv()

    _sweep(setup, lambda state: state[0].close(), check_close)

    def check_receiver_close(state: Any, outcome: BaseException | None, result: Any) -> None:
        tx, rx = state
        rx._drop()
        with pytest.raises(Exception, match="receiver is gone"):
            tx.try_send(1) if kind != "unbounded" else tx.send(1)

    _sweep(setup, lambda state: state[1].close(), check_receiver_close)


# -- RecursionError -------------------------------------------------------------------------


def _at_depth(depth: int, op: Any) -> Any:
    if depth > 0:
        return _at_depth(depth - 1, op)
    return op()


def _depth() -> int:
    frame: Any = sys._getframe()
    n = 0
    while frame is not None:
        n += 1
        frame = frame.f_back
    return n


RECURSING: dict[str, Callable[[Any, Any], Any]] = {
    "recv_timeout": lambda tx, rx: rx.recv(timeout=0.001),
    "select": lambda tx, rx: select(rx, rx, timeout=0.001),
    "bounded_send": lambda tx, rx: tx.send(2, timeout=0.001),
    "rendezvous_send": lambda tx, rx: tx.send(2, timeout=0.001),
}


@pytest.mark.parametrize("how", sorted(RECURSING))
def test_recursion_error_anywhere_leaves_nothing_busy(how: str) -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        for slack in range(60):
            tx, rx = sync_channel[int](0 if how == "rendezvous_send" else 1)
            if how != "rendezvous_send":
                tx.send(1)
            op = RECURSING[how]
            try:
                _at_depth(400 - _depth() - slack, lambda op=op, tx=tx, rx=rx: op(tx, rx))
            except (RecursionError, RecvTimeoutError, SendTimeoutError):
                pass
            _assert_idle(rx)
            list(rx.try_iter())
            if how != "rendezvous_send":
                tx.send(3)
                assert rx.recv(timeout=TIMEOUT) == 3
            with pytest.raises(Empty):
                rx.try_recv()  # the rendezvous offer was withdrawn, not left behind
            _assert_idle(rx)
    finally:
        sys.setrecursionlimit(limit)


# -- finalisers inside a channel operation on the same thread -------------------------------


class _Cycle:
    """Garbage that runs ``action`` when the cyclic collector frees it."""

    def __init__(self, action: Any) -> None:
        self.me = self
        self.action = action

    def __del__(self) -> None:
        self.action()


@pytest.mark.parametrize("bound", [None, 1, 0])
def test_finalisers_dropping_handles_inside_an_operation_do_not_deadlock(
    bound: int | None,
) -> None:
    def run() -> int:
        tx, rx = channel[int]() if bound is None else sync_channel[int](bound)
        spare_tx, spare_rx = channel[int]() if bound is None else sync_channel[int](bound)

        def action() -> None:
            # What a finaliser may do on the channel the thread is using.
            if not active:
                return  # garbage collected after the run (in a later test)
            repr(tx), repr(rx)
            clone = tx.clone()
            clone.close()
            tx.clone()  # dropped at once
            try:
                rx.try_recv()
            except Exception:
                pass
            spare_rx.close() if spare_rx._shared is not None else None

        received = 0
        active = True

        def produce() -> None:
            for i in range(300):
                tx.send(i)

        producer = Worker(produce)
        old = gc.get_threshold()
        gc.set_threshold(1)
        try:
            while True:
                _Cycle(action)
                try:
                    select(rx, timeout=0.01) if received % 2 else rx.recv(timeout=0.01)
                    received += 1
                except RecvTimeoutError:
                    if not producer.thread.is_alive():
                        break
                except Exception:
                    pass
        finally:
            gc.set_threshold(*old)
            active = False
        producer.join()
        del spare_tx
        return received

    worker = Worker(run)
    worker.join(TIMEOUT)  # a deadlock fails here
    gc.collect()  # the cycles left over, here rather than in another test


# -- the back edges of loops inside a try ---------------------------------------------------


def test_the_back_edge_check_finds_the_shape_cpython_leaves_out() -> None:
    source = (
        "def f(n, a, b):\n"
        "    try:\n"
        "        while n and not a() and not b():\n"
        "            n -= 1\n"
        "    finally:\n"
        "        a()\n"
    )
    found = uncovered_back_edges(compile(source, "<shape>", "exec"))
    if sys.version_info >= (3, 12):
        assert found == [("f", 3)]
    else:
        assert found == []


# -- a single Ctrl-C while the main thread blocks --------------------------------------------

BLOCKED_PRELUDE = """
import signal, threading, time
from fearless.mpsc import Empty, channel, select, sync_channel, was_sent
MAIN = threading.get_ident()

def ctrl_c_when(predicate):
    # A real SIGINT, once the main thread is blocked (the predicate sees it waiting).
    def run():
        deadline = time.monotonic() + 30
        while not predicate():
            assert time.monotonic() < deadline
            time.sleep(0.001)  # polling the channel's state, not synchronisation
        signal.pthread_kill(MAIN, signal.SIGINT)
    threading.Thread(target=run, daemon=True).start()

def expect_prompt_interrupt(block):
    start = time.monotonic()
    try:
        block()
    except KeyboardInterrupt as e:
        elapsed = time.monotonic() - start
        assert elapsed < 2.0 + 1.0, elapsed
        return e
    raise AssertionError("no KeyboardInterrupt")

def parked(rx):
    w = rx._shared.waiter
    return w is not None and bool(w.claims)
"""

BLOCKED_BODIES = {
    "recv": """
tx, rx = channel[int]()
ctrl_c_when(lambda: parked(rx))
expect_prompt_interrupt(rx.recv)
assert not rx._busy and rx._shared.waiter is None
tx.send(1)
assert rx.recv(timeout=30) == 1
""",
    "select": """
tx, rx = channel[int]()
tx2, rx2 = sync_channel[int](1)
ctrl_c_when(lambda: parked(rx) and parked(rx2))
expect_prompt_interrupt(lambda: select(rx, rx2))
assert not rx._busy and not rx2._busy and rx._shared.waiter is None and rx2._shared.waiter is None
tx2.send(2)
assert select(rx, rx2, timeout=30).value == 2
""",
    "bounded_send": """
tx, rx = sync_channel[int](1)
tx.send(1)
ctrl_c_when(lambda: any(w.claims for w in rx._shared.send_waiters))
e = expect_prompt_interrupt(lambda: tx.send(2))
assert not was_sent(e)
assert not [w for w in rx._shared.send_waiters if w.claims]
assert list(rx.try_iter()) == [1]
tx.send(3)
assert rx.recv(timeout=30) == 3
assert len(rx._shared.permits) == 1
""",
    "rendezvous_send": """
tx, rx = sync_channel[int](0)
ctrl_c_when(lambda: bool(rx._shared.offers))
e = expect_prompt_interrupt(lambda: tx.send(1))
assert not was_sent(e)
try:
    rx.try_recv()
except Empty:
    pass
else:
    raise AssertionError("the interrupted send's message was delivered later")
got = []
t = threading.Thread(target=lambda: got.append(rx.recv(timeout=30)))
t.start()
tx.send(2, timeout=30)
t.join(30)
assert got == [2]
""",
}


@pytest.mark.parametrize("name", sorted(BLOCKED_BODIES))
def test_ctrl_c_while_blocked_arrives_promptly_and_leaves_the_channel_usable(name: str) -> None:
    proc = run_python(BLOCKED_PRELUDE + BLOCKED_BODIES[name] + "print('ok')\n", timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")


# -- interpreter shutdown ----------------------------------------------------------------


def test_handles_finalised_at_shutdown_print_nothing() -> None:
    # Threads keep channel ends in their frames until the interpreter tears
    # down the modules; the finalisers then run with module globals gone.
    proc = run_python(
        """
        import threading
        from fearless import spawn
        from fearless.mpsc import channel, sync_channel
        tx, rx = channel[int]()
        stx, srx = sync_channel[int](1)
        ztx, zrx = sync_channel[int](0)
        keep = []
        def worker(*ends):
            keep.append(ends)  # referenced from a module global until shutdown
        spawn(worker, tx.clone(), stx.clone(), ztx.clone(), rx, srx, zrx).join()
        t = threading.Thread(target=worker, args=(tx, stx, ztx))
        t.start(); t.join()
        print("done")
        """,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "done\n", "")


def test_ctrl_c_in_a_blocked_recv_ends_the_program_with_only_its_traceback() -> None:
    proc = run_python(
        BLOCKED_PRELUDE
        + """
from fearless import spawn
tx, rx = channel[int]()
handle = spawn(lambda tx=tx.clone(): None)
handle.join()
ctrl_c_when(lambda: parked(rx))
rx.recv()
""",
        timeout=60,
    )
    assert proc.returncode != 0
    assert proc.stderr.rstrip().endswith("KeyboardInterrupt"), proc.stderr
    assert "Exception ignored" not in proc.stderr, proc.stderr


# -- os.fork() -------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork()")
def test_receiver_busy_in_a_thread_lost_by_fork_is_usable_in_the_child() -> None:
    proc = run_python(
        """
        import os, threading, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        from fearless.mpsc import RecvTimeoutError, channel, select, sync_channel
        tx, rx = channel[int]()
        stx, srx = sync_channel[int](1)
        def receive():
            try:
                select(rx, srx, timeout=60)
            except Exception:
                pass
        t = threading.Thread(target=receive, daemon=True)
        t.start()
        while not (rx._busy and rx._shared.waiter is not None):
            t.join(0.001)  # polling the receiver's state
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                try:
                    rx.recv(timeout=0.05)
                except RecvTimeoutError:
                    pass
                tx.send(1)
                assert rx.recv(timeout=5) == 1
                stx.send(2)
                assert select(rx, srx, timeout=5).value == 2
                assert not rx._busy and not srx._busy
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        tx.send(0)  # let the parent's receiver finish
        t.join(30)
        print("child", os.waitstatus_to_exitcode(status))
        """,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "child 0\n", "")


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork()")
def test_sender_count_locked_by_a_thread_lost_by_fork_raises_in_the_child() -> None:
    proc = run_python(
        """
        import os, threading, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        from fearless import DeadlockError
        from fearless.mpsc import channel
        tx, rx = channel[int]()
        held, release = threading.Event(), threading.Event()
        def hold():
            with rx._shared.lock:  # a thread in the middle of clone() or close()
                held.set()
                release.wait(30)
        t = threading.Thread(target=hold)
        t.start()
        held.wait(30)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for step in (tx.clone, tx.close):
                    try:
                        step()
                    except DeadlockError as e:
                        assert "os.fork()" in str(e), e
                    else:
                        raise AssertionError(f"{step} did not raise")
                tx.send(1)  # sending needs no lock
                assert rx.recv(timeout=5) == 1
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        release.set()
        t.join(30)
        print("child", os.waitstatus_to_exitcode(status))
        """,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "child 0\n", "")
