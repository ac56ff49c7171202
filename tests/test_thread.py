"""Contract tests for spawn/JoinHandle, scope/Scope and ThreadLocal (DESIGN.md, "Threads")."""

from __future__ import annotations

import _thread
import gc
import queue
import re
import subprocess
import sys
import textwrap
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any, NoReturn

import pytest

from _helpers import STRESS, TIMEOUT, Worker, wait_until
from fearless import (
    ConsumedError,
    DeadlockError,
    FearlessError,
    JoinHandle,
    Mutex,
    Scope,
    ScopeClosedError,
    ThreadLocal,
    _seam,
    scope,
    spawn,
)

MSG_JOIN_SELF = r"^a thread cannot join itself; joining would deadlock$"
MSG_JOINED = r"^this thread was already joined; join\(\) consumes the handle, so call it only once$"
MSG_RAISED_BY_SCOPE = (
    r"^this scoped thread failed and its scope already raised the exception; "
    r"join it inside the with block to handle the failure there$"
)
MSG_SCOPE_ENDED = r"^this scope has ended; spawn scoped threads inside its with block$"
MSG_SCOPE_NOT_ENTERED = (
    r"^this scope was never entered; use it as `with scope\(\) as s:` and spawn inside the block$"
)
MSG_SCOPE_REENTERED = r"^this scope was already entered; call scope\(\) for a new one$"


def msg_timeout(timeout: float) -> str:
    seconds = re.escape(str(timeout))
    return rf"^thread did not finish within {seconds} seconds; the handle stays joinable$"


class Boom(Exception):
    pass


def fail(*args: object) -> NoReturn:
    raise Boom(*args)


def in_function(ident: int, name: str) -> bool:
    """Whether thread ``ident`` is currently inside a function called ``name``.

    Lets a test see that a thread is blocked in ``join()`` or at the end of a
    scope (``_wait_finished``) without sleeping.
    """
    frame = sys._current_frames().get(ident)
    while frame is not None:
        if frame.f_code.co_name == name:
            return True
        frame = frame.f_back
    return False


def wait_blocked(ident: int) -> None:
    wait_until(lambda: in_function(ident, "_wait_finished"), what="thread blocked in a join")


@pytest.fixture
def hook_calls(monkeypatch: pytest.MonkeyPatch) -> list[threading.ExceptHookArgs]:
    """Collect what fearless reports through threading.excepthook."""
    calls: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", calls.append)
    return calls


def gated(gate: threading.Event, value: object = None) -> object:
    assert gate.wait(TIMEOUT)
    return value


def release_when_blocked(ident: int, gate: threading.Event) -> Worker:
    """Set ``gate`` from a helper thread once thread ``ident`` waits in a join."""

    def release() -> None:
        wait_blocked(ident)
        gate.set()

    return Worker(release)


# -- spawn --------------------------------------------------------------------


def test_spawn_runs_fn_with_args_and_kwargs_and_join_returns_the_result() -> None:
    def f(a: int, b: int, *, c: int) -> tuple[int, int, int, str]:
        return a, b, c, threading.current_thread().name

    handle = spawn(f, 1, 2, c=3)
    assert isinstance(handle, JoinHandle)
    a, b, c, name = handle.join(timeout=TIMEOUT)
    assert (a, b, c) == (1, 2, 3)
    assert name != threading.current_thread().name


def test_spawn_passes_every_keyword_on_even_fn_and_name() -> None:
    def f(*, fn: str, name: str, timeout: int) -> str:
        return f"{fn}-{name}-{timeout}"

    assert spawn(f, fn="x", name="y", timeout=1).join(timeout=TIMEOUT) == "x-y-1"


def test_spawn_rejects_non_callables_at_spawn_time() -> None:
    before = threading.active_count()
    with pytest.raises(
        TypeError, match=r"^spawn\(\) needs a callable to run in the new thread, got int 42$"
    ):
        spawn(42)  # type: ignore[arg-type]
    assert threading.active_count() == before


def test_spawned_thread_is_a_named_non_daemon_thread() -> None:
    def work() -> tuple[str, bool]:
        thread = threading.current_thread()
        return thread.name, thread.daemon

    name, daemon = spawn(work).join(timeout=TIMEOUT)
    assert re.match(r"^Thread-\d+ \(work\)$", name)
    assert daemon is False
    lambda_name = spawn(lambda: threading.current_thread().name).join(timeout=TIMEOUT)
    assert re.match(r"^Thread-\d+ \(<lambda>\)$", lambda_name)


def test_spawn_returns_once_the_thread_runs_and_ident_is_known() -> None:
    gate = threading.Event()
    handle = spawn(lambda: (gate.wait(TIMEOUT), threading.get_ident())[1])
    assert handle.ident != 0
    assert handle.ident != threading.get_ident()
    assert handle.ident in sys._current_frames()
    gate.set()
    assert handle.join(timeout=TIMEOUT) == handle.ident


def test_interpreter_waits_for_spawned_threads_at_exit() -> None:
    code = textwrap.dedent(
        """
        import threading
        from fearless import spawn
        go = threading.Event()
        def late():
            go.wait(30)
            print("thread done", flush=True)
        handle = spawn(late)
        del handle
        print("main done", flush=True)
        go.set()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "main done\nthread done\n"


class FailingStartBackend(_seam.ThreadBackend):
    @staticmethod
    def start_thread(target: Callable[[], object], name: str | None) -> None:
        raise RuntimeError("can't start new thread")


def test_a_thread_that_cannot_start_leaves_nothing_behind(
    hook_calls: list[threading.ExceptHookArgs],
) -> None:
    with _seam.install(FailingStartBackend()):
        with pytest.raises(RuntimeError, match=r"^can't start new thread$"):
            spawn(fail)
        with scope() as s, pytest.raises(RuntimeError, match=r"^can't start new thread$"):
            s.spawn(fail)
    gc.collect()
    assert hook_calls == []
    assert repr(s) == "<Scope (ended)>"


# -- join ---------------------------------------------------------------------


def test_join_reraises_the_same_exception_with_the_threads_traceback() -> None:
    raised: list[BaseException] = []

    def deep_failure() -> None:
        try:
            fail("deep")
        except Boom as exc:
            raised.append(exc)
            raise

    handle = spawn(deep_failure)
    with pytest.raises(Boom) as info:
        handle.join(timeout=TIMEOUT)
    assert info.value is raised[0]
    names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    # The caller, join(), then the thread's own frames (fearless's thread
    # body is left out).
    assert names[-3:] == ["join", "deep_failure", "fail"]
    assert "__call__" not in names


def test_join_reraises_base_exceptions_too() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        spawn(interrupt).join(timeout=TIMEOUT)


def test_a_failure_calling_fn_keeps_a_traceback() -> None:
    # sum(1) fails inside the call itself: no frame of the thread's own.
    with pytest.raises(TypeError) as info:
        spawn(sum, 1).join(timeout=TIMEOUT)  # type: ignore[arg-type]
    assert info.value.__traceback__ is not None


def test_join_timeout_raises_and_the_handle_stays_joinable() -> None:
    gate = threading.Event()
    handle = spawn(gated, gate, "done")
    with pytest.raises(TimeoutError, match=msg_timeout(0.01)):
        handle.join(timeout=0.01)
    with pytest.raises(TimeoutError, match=msg_timeout(0)):
        handle.join(timeout=0)
    assert not handle.is_finished()
    gate.set()
    assert handle.join(timeout=TIMEOUT) == "done"


def test_join_with_zero_timeout_on_a_finished_thread_returns() -> None:
    handle = spawn(lambda: 5)
    wait_until(handle.is_finished)
    assert handle.join(timeout=0) == 5


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan")])
def test_join_rejects_negative_or_nan_timeouts(bad: float) -> None:
    handle = spawn(lambda: 1)
    with pytest.raises(
        ValueError, match=r"^timeout must be a non-negative number of seconds or None"
    ):
        handle.join(timeout=bad)
    assert handle.join(timeout=TIMEOUT) == 1


@pytest.mark.parametrize("bad", ["1", True, [1]])
def test_join_rejects_non_numeric_timeouts(bad: object) -> None:
    handle = spawn(lambda: 1)
    with pytest.raises(TypeError, match=r"^timeout must be a number of seconds or None"):
        handle.join(timeout=bad)  # type: ignore[arg-type]
    assert handle.join(timeout=TIMEOUT) == 1


def test_join_timeout_beyond_platform_max_waits() -> None:
    assert spawn(lambda: 1).join(timeout=threading.TIMEOUT_MAX * 2) == 1


def test_join_timeout_is_keyword_only() -> None:
    handle = spawn(lambda: 1)
    with pytest.raises(TypeError):
        handle.join(1.0)  # type: ignore[call-arg]
    assert handle.join() == 1


def test_join_twice_raises_consumed() -> None:
    handle = spawn(lambda: [1])
    assert handle.join(timeout=TIMEOUT) == [1]
    with pytest.raises(ConsumedError, match=MSG_JOINED):
        handle.join(timeout=TIMEOUT)
    assert isinstance(ConsumedError("x"), RuntimeError)


def test_join_twice_after_a_failure_does_not_raise_the_failure_again() -> None:
    handle = spawn(fail)
    with pytest.raises(Boom):
        handle.join(timeout=TIMEOUT)
    with pytest.raises(ConsumedError, match=MSG_JOINED):
        handle.join(timeout=0)


def test_joining_itself_raises_deadlock_and_the_thread_goes_on() -> None:
    handles: queue.Queue[JoinHandle[str]] = queue.Queue()

    def join_self() -> str:
        me = handles.get(timeout=TIMEOUT)
        with pytest.raises(DeadlockError, match=MSG_JOIN_SELF):
            me.join()
        with pytest.raises(DeadlockError, match=MSG_JOIN_SELF):
            me.join(timeout=0)
        return "still running"

    handle = spawn(join_self)
    handles.put(handle)
    assert handle.join(timeout=TIMEOUT) == "still running"


def test_two_joiners_get_the_result_once() -> None:
    gate = threading.Event()
    handle = spawn(gated, gate, "result")
    outcomes: queue.Queue[object] = queue.Queue()

    def joiner() -> None:
        try:
            outcomes.put(handle.join(timeout=TIMEOUT))
        except ConsumedError as e:
            outcomes.put(e)

    workers = [Worker(joiner) for _ in range(2)]
    for worker in workers:
        wait_blocked(worker.thread.ident or 0)
    gate.set()
    for worker in workers:
        worker.join()
    got = [outcomes.get(timeout=TIMEOUT) for _ in range(2)]
    assert sorted(map(str, got)) == sorted(
        [
            "result",
            "this thread was already joined; join() consumes the handle, so call it only once",
        ]
    )


def test_is_finished() -> None:
    gate = threading.Event()
    handle = spawn(gated, gate)
    assert handle.is_finished() is False
    gate.set()
    wait_until(handle.is_finished)
    assert handle.is_finished() is True
    handle.join(timeout=TIMEOUT)
    assert handle.is_finished() is True


def test_repr_shows_the_state_without_blocking() -> None:
    def work(gate: threading.Event) -> None:
        assert gate.wait(TIMEOUT)

    gate = threading.Event()
    handle = spawn(work, gate)
    assert (
        repr(handle)
        == "<JoinHandle test_repr_shows_the_state_without_blocking.<locals>.work: running>"
    )
    gate.set()
    wait_until(handle.is_finished)
    assert repr(handle).endswith("work: finished>")
    handle.join(timeout=TIMEOUT)
    assert repr(handle).endswith("work: joined>")
    failed = spawn(fail)
    wait_until(failed.is_finished)
    assert repr(failed) == "<JoinHandle fail: failed>"
    with pytest.raises(Boom):
        failed.join()


def test_handles_cannot_be_built_directly() -> None:
    with pytest.raises(TypeError, match=r"^fearless.JoinHandle has no public constructor$"):
        JoinHandle()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^fearless.Scope has no public constructor$"):
        Scope()


def test_join_is_interruptible() -> None:
    gate = threading.Event()
    handle = spawn(gated, gate, 1)
    main = threading.get_ident()

    def interrupt() -> None:
        wait_blocked(main)
        _thread.interrupt_main()

    worker = Worker(interrupt)
    with pytest.raises(KeyboardInterrupt):
        handle.join()
    worker.join()
    gate.set()
    assert handle.join(timeout=TIMEOUT) == 1


# -- join waits in slices (DESIGN: "handles released on another thread") -------


class RecordingLock:
    def __init__(self, log: list[float]) -> None:
        self._lock = _thread.allocate_lock()
        self._log = log

    def acquire(self, blocking: bool = True, timeout: float = -1, /) -> bool:
        if blocking:
            self._log.append(timeout)
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class RecordingBackend(_seam.ThreadBackend):
    def __init__(self) -> None:
        self.logs: list[list[float]] = []

    def allocate_lock(self) -> RecordingLock:  # type: ignore[override]
        log: list[float] = []
        self.logs.append(log)
        return RecordingLock(log)


def test_join_never_blocks_longer_than_a_slice() -> None:
    backend = RecordingBackend()
    gate = threading.Event()
    with _seam.install(backend):
        handle = spawn(gated, gate, "ok")
    main = threading.get_ident()
    helper = release_when_blocked(main, gate)
    assert handle.join() == "ok"
    helper.join()
    _state_log, (taken_fresh, *waits) = backend.logs  # the packet's lock, the joiner's
    assert taken_fresh == -1  # join() takes its own free lock; the thread releases it
    assert waits, "join() did not wait at all"
    assert all(0 <= t <= _seam.backend.slice for t in waits), waits


def test_join_lets_this_threads_finalisers_run_while_it_waits() -> None:
    # On free-threaded CPython, an object created here whose last reference
    # is dropped by another thread is finalised only when this thread runs
    # Python code again. The thread below waits for that finaliser; a join
    # that blocked in one long wait would only see it time out.
    finalised = threading.Event()

    class Resource:
        def __del__(self) -> None:
            finalised.set()

    box: list[Resource] = []

    def make() -> None:
        resource = Resource()
        box.append(resource)

    make()
    main = threading.get_ident()

    def drop_it() -> bool:
        resource = box.pop()
        wait_blocked(main)
        del resource
        return finalised.wait(TIMEOUT)

    assert spawn(drop_it).join(timeout=TIMEOUT * 2) is True


# -- move semantics -----------------------------------------------------------


class Payload:
    pass


def test_spawn_drops_the_callable_and_its_arguments_before_join_returns() -> None:
    arg, kwarg, captured = Payload(), Payload(), Payload()
    refs: list[weakref.ref[Any]] = [weakref.ref(arg), weakref.ref(kwarg), weakref.ref(captured)]

    def make_closure(captured: Payload) -> Callable[..., Payload]:
        def work(a: Payload, *, k: Payload) -> Payload:
            assert len({id(a), id(k), id(captured)}) == 3
            return Payload()

        return work

    closure = make_closure(captured)
    refs.append(weakref.ref(closure))
    handle = spawn(closure, arg, k=kwarg)
    del arg, kwarg, captured, closure
    assert isinstance(handle.join(timeout=TIMEOUT), Payload)
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None, None]


def test_the_result_is_released_by_join() -> None:
    handle = spawn(Payload)
    result = handle.join(timeout=TIMEOUT)
    ref = weakref.ref(result)
    del result
    gc.collect()
    assert ref() is None


def test_a_failed_thread_drops_its_arguments_too() -> None:
    arg = Payload()
    ref = weakref.ref(arg)

    def work(**kwargs: Payload) -> None:
        kwargs.clear()
        raise Boom

    handle = spawn(work, a=arg)
    del arg
    with pytest.raises(Boom):
        handle.join(timeout=TIMEOUT)
    gc.collect()
    assert ref() is None


def test_finalisers_of_the_arguments_run_before_join_returns() -> None:
    closed = threading.Event()

    class Sender:
        def __del__(self) -> None:
            closed.set()

    def work(sender: Sender) -> None:
        pass

    handle = spawn(work, Sender())
    handle.join(timeout=TIMEOUT)
    gc.collect()
    assert closed.is_set()


# -- failures nobody joins ----------------------------------------------------


def test_a_dropped_handle_of_a_failed_thread_reports_through_excepthook(
    hook_calls: list[threading.ExceptHookArgs],
) -> None:
    def failing() -> None:
        raise Boom("lost")

    handle = spawn(failing)
    wait_until(handle.is_finished)
    assert hook_calls == []
    del handle
    gc.collect()
    assert len(hook_calls) == 1
    (args,) = hook_calls
    assert args.exc_type is Boom
    assert isinstance(args.exc_value, Boom)
    assert args.exc_value.args == ("lost",)
    assert args.exc_traceback is args.exc_value.__traceback__
    assert args.thread is not None
    assert re.match(r"^Thread-\d+ \(failing\)$", args.thread.name)


def test_a_thread_failing_after_its_handle_was_dropped_reports_when_it_ends(
    hook_calls: list[threading.ExceptHookArgs],
) -> None:
    gate = threading.Event()

    def failing() -> None:
        assert gate.wait(TIMEOUT)
        raise Boom("later")

    handle = spawn(failing)
    del handle
    gc.collect()
    assert hook_calls == []
    gate.set()
    wait_until(lambda: len(hook_calls) == 1, what="the failure report")
    assert hook_calls[0].exc_type is Boom
    assert str(hook_calls[0].exc_value) == "later"


def test_joined_timed_out_or_successful_handles_report_nothing(
    hook_calls: list[threading.ExceptHookArgs],
) -> None:
    joined = spawn(fail)
    with pytest.raises(Boom):
        joined.join(timeout=TIMEOUT)
    gate = threading.Event()
    timed_out = spawn(gated, gate)
    with pytest.raises(TimeoutError):
        timed_out.join(timeout=0)
    finished = spawn(lambda: 1)
    wait_until(finished.is_finished)
    thread = timed_out._packet.thread
    assert thread is not None
    del joined, timed_out, finished
    gate.set()
    thread.join(TIMEOUT)  # the thread has published its outcome and ended
    assert not thread.is_alive()
    gc.collect()
    assert hook_calls == []


def test_an_unjoined_failure_is_printed_by_the_default_hook() -> None:
    code = textwrap.dedent(
        """
        from fearless import spawn
        def failing():
            raise ValueError("nobody joined me")
        spawn(failing)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0
    assert re.search(r"^Exception in thread Thread-\d+ \(failing\):$", proc.stderr, re.M)
    assert proc.stderr.rstrip().endswith("ValueError: nobody joined me")


# -- scope --------------------------------------------------------------------


def test_scope_joins_every_thread_at_the_end_of_the_block() -> None:
    gate = threading.Event()
    finished: list[int] = []
    main = threading.get_ident()

    def work(i: int) -> None:
        assert gate.wait(TIMEOUT)
        finished.append(i)

    helper = release_when_blocked(main, gate)
    with scope() as s:
        handles = [s.spawn(work, i) for i in range(3)]
        assert finished == []
    assert sorted(finished) == [0, 1, 2]
    assert all(h.is_finished() for h in handles)
    helper.join()


def test_scope_joins_threads_spawned_by_scoped_threads_and_while_others_finish() -> None:
    main = threading.get_ident()
    gate_a, gate_b = threading.Event(), threading.Event()
    spawned: queue.Queue[JoinHandle[str]] = queue.Queue()
    results: list[str] = []

    def b() -> str:
        assert gate_b.wait(TIMEOUT)
        results.append("b")
        return "b"

    def a(s: Scope) -> None:
        assert gate_a.wait(TIMEOUT)
        spawned.put(s.spawn(b))  # spawned while the scope is already waiting for a
        results.append("a")

    def conduct() -> JoinHandle[str]:
        wait_blocked(main)  # the scope waits for a
        gate_a.set()
        handle_b = spawned.get(timeout=TIMEOUT)
        wait_until(lambda: results == ["a"])
        assert not handle_b.is_finished()
        wait_blocked(main)  # the scope waits for b now
        gate_b.set()
        return handle_b

    helper = Worker(conduct)
    with scope() as s:
        s.spawn(a, s)
    assert results == ["a", "b"]
    assert helper.join().join(timeout=0) == "b"


def test_scoped_handles_can_be_joined_inside_and_successes_after_the_block() -> None:
    with scope() as s:
        early = s.spawn(lambda: "early")
        assert early.join(timeout=TIMEOUT) == "early"
        late = s.spawn(lambda: "late")
    assert late.join(timeout=0) == "late"
    with pytest.raises(ConsumedError, match=MSG_JOINED):
        early.join()


def test_scope_raises_unjoined_failures_as_an_exception_group_in_spawn_order() -> None:
    errors = [Boom(1), Boom(2)]

    def raise_it(e: Boom) -> None:
        raise e

    with pytest.raises(ExceptionGroup, match=r"^2 scoped threads failed$") as info, scope() as s:
        s.spawn(raise_it, errors[0])
        s.spawn(lambda: None)
        s.spawn(raise_it, errors[1])
    assert list(info.value.exceptions) == errors
    assert info.value.exceptions[0].__traceback__ is not None


def test_scope_group_message_for_one_failure() -> None:
    with pytest.raises(ExceptionGroup, match=r"^1 scoped thread failed$") as info, scope() as s:
        s.spawn(fail, "only")
    (exc,) = info.value.exceptions
    assert isinstance(exc, Boom)


def test_scope_raises_failures_only_after_every_thread_finished() -> None:
    gate = threading.Event()
    main = threading.get_ident()
    slow_done: list[bool] = []

    def slow() -> None:
        assert gate.wait(TIMEOUT)
        slow_done.append(True)

    helper = release_when_blocked(main, gate)
    with pytest.raises(ExceptionGroup), scope() as s:
        s.spawn(fail)
        s.spawn(slow)
    assert slow_done == [True]
    helper.join()


def test_base_exceptions_of_scoped_threads_make_a_base_exception_group() -> None:
    def leave() -> None:
        raise SystemExit(3)

    with pytest.raises(BaseExceptionGroup) as info, scope() as s:
        s.spawn(leave)
        s.spawn(fail)
    assert not isinstance(info.value, ExceptionGroup)
    assert [type(e) for e in info.value.exceptions] == [SystemExit, Boom]


def test_a_failure_joined_explicitly_is_not_raised_again() -> None:
    with scope() as s:
        handle = s.spawn(fail, "handled")
        with pytest.raises(Boom, match=r"^handled$"):
            handle.join(timeout=TIMEOUT)


def test_a_failure_raised_by_the_scope_cannot_be_joined_afterwards() -> None:
    with pytest.raises(ExceptionGroup), scope() as s:
        handle = s.spawn(fail)
    with pytest.raises(ConsumedError, match=MSG_RAISED_BY_SCOPE):
        handle.join(timeout=TIMEOUT)


def test_the_blocks_exception_alone_propagates_unchanged_after_joining() -> None:
    gate = threading.Event()
    main = threading.get_ident()
    finished: list[bool] = []

    def slow() -> None:
        assert gate.wait(TIMEOUT)
        finished.append(True)

    error = Boom("body")
    helper = release_when_blocked(main, gate)
    with pytest.raises(Boom) as info, scope() as s:
        s.spawn(slow)
        raise error
    assert info.value is error
    assert info.value.__context__ is None
    assert finished == [True]
    helper.join()


def test_the_blocks_exception_and_thread_failures_make_one_group() -> None:
    body_error, thread_error = Boom("body"), Boom("thread")

    def raise_it() -> None:
        raise thread_error

    with (
        pytest.raises(ExceptionGroup, match=r"^the with block and 1 scoped thread failed$") as info,
        scope() as s,
    ):
        s.spawn(raise_it)
        raise body_error
    assert list(info.value.exceptions) == [body_error, thread_error]
    assert info.value.__suppress_context__


def test_the_blocks_base_exception_and_a_failure_make_a_base_exception_group() -> None:
    expected = r"^the with block and 2 scoped threads failed$"
    with pytest.raises(BaseExceptionGroup, match=expected) as info, scope() as s:
        s.spawn(fail)
        s.spawn(fail)
        raise KeyboardInterrupt
    assert [type(e) for e in info.value.exceptions] == [KeyboardInterrupt, Boom, Boom]


def test_spawning_on_an_ended_scope_raises(hook_calls: list[threading.ExceptHookArgs]) -> None:
    with scope() as s:
        pass
    with pytest.raises(ScopeClosedError, match=MSG_SCOPE_ENDED):
        s.spawn(fail)
    assert issubclass(ScopeClosedError, RuntimeError)
    assert issubclass(ScopeClosedError, FearlessError)
    gc.collect()
    assert hook_calls == []


def test_spawning_on_a_scope_that_was_never_entered_raises() -> None:
    s = scope()
    with pytest.raises(ScopeClosedError, match=MSG_SCOPE_NOT_ENTERED):
        s.spawn(fail)


def test_a_scope_can_be_entered_only_once() -> None:
    s = scope()
    with s, pytest.raises(ScopeClosedError, match=MSG_SCOPE_REENTERED):
        s.__enter__()
    with pytest.raises(ScopeClosedError, match=MSG_SCOPE_REENTERED), s:
        pass


def test_scope_spawn_rejects_non_callables() -> None:
    with scope() as s, pytest.raises(TypeError, match=r"^spawn\(\) needs a callable"):
        s.spawn("not callable")  # type: ignore[arg-type]


def test_a_thread_outside_the_scope_may_spawn_on_it_while_it_is_open() -> None:
    results: list[str] = []
    with scope() as s:
        outsider = Worker(lambda: s.spawn(results.append, "from outside"))
        outsider.join()
    assert results == ["from outside"]


def test_a_scoped_thread_joining_itself_raises_deadlock() -> None:
    handles: queue.Queue[JoinHandle[None]] = queue.Queue()

    def join_self() -> None:
        me = handles.get(timeout=TIMEOUT)
        with pytest.raises(DeadlockError, match=MSG_JOIN_SELF):
            me.join()

    with scope() as s:
        handles.put(s.spawn(join_self))


def test_scoped_threads_may_join_each_other() -> None:
    with scope() as s:
        first = s.spawn(lambda: 20)
        second = s.spawn(lambda: first.join(timeout=TIMEOUT) + 1)
    assert second.join() == 21


def test_scope_repr() -> None:
    s = scope()
    assert repr(s) == "<Scope (not entered)>"
    with s:
        assert repr(s) == "<Scope (open)>"
    assert repr(s) == "<Scope (ended)>"


def test_a_keyboard_interrupt_stops_the_scopes_wait() -> None:
    gate = threading.Event()
    main = threading.get_ident()

    def interrupt() -> None:
        wait_blocked(main)
        _thread.interrupt_main()

    helper = Worker(interrupt)
    with pytest.raises(KeyboardInterrupt), scope() as s:
        handle = s.spawn(gated, gate, "kept running")
    helper.join()
    assert not handle.is_finished()
    gate.set()
    assert handle.join(timeout=TIMEOUT) == "kept running"


def test_scope_releases_its_handles_when_it_ends() -> None:
    with scope() as s:
        ref = weakref.ref(s.spawn(Payload))
    gc.collect()
    assert ref() is None


# -- ThreadLocal ----------------------------------------------------------------


def test_thread_local_gives_each_thread_its_own_value_from_init() -> None:
    calls = Mutex(0)

    def init() -> list[int]:
        with calls.lock() as guard:
            guard.value += 1
        return []

    local = ThreadLocal(init)
    mine = local.get()
    assert local.get() is mine

    def work(i: int) -> list[int]:
        value = local.get()
        value.append(i)
        assert local.get() is value
        return value

    with scope() as s:
        handles = [s.spawn(work, i) for i in range(3)]
    assert [h.join() for h in handles] == [[0], [1], [2]]
    assert local.get() == [] and local.get() is mine
    assert calls.into_inner() == 4


def test_thread_local_set_does_not_call_init() -> None:
    def init() -> int:
        raise AssertionError("init must not be called")

    local = ThreadLocal(init)
    local.set(5)
    assert local.get() == 5

    def other_thread() -> int:
        local.set(6)
        return local.get()

    assert spawn(other_thread).join(timeout=TIMEOUT) == 6
    assert local.get() == 5


def test_thread_local_replace_and_take() -> None:
    local = ThreadLocal(lambda: "init")
    assert local.replace("a") == "init"
    assert local.replace("b") == "a"
    assert local.take() == "b"
    assert repr(local) == "ThreadLocal(<no value in this thread>)"
    assert local.get() == "init"
    assert local.take() == "init"
    assert local.take() == "init"


def test_thread_local_init_failure_stores_nothing_and_is_retried() -> None:
    attempts: list[int] = []

    def init() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise Boom("first")
        return 7

    local = ThreadLocal(init)
    with pytest.raises(Boom, match=r"^first$"):
        local.get()
    assert repr(local) == "ThreadLocal(<no value in this thread>)"
    assert local.get() == 7
    assert local.get() == 7
    assert len(attempts) == 2


def test_thread_local_values_are_dropped_when_their_thread_ends() -> None:
    local: ThreadLocal[Payload] = ThreadLocal(Payload)
    handle = spawn(lambda: weakref.ref(local.get()))
    ref = handle.join(timeout=TIMEOUT)

    def gone() -> bool:
        gc.collect()
        return ref() is None

    wait_until(gone, what="the thread's value to be released")
    assert isinstance(local.get(), Payload)


def test_thread_local_values_are_dropped_with_the_thread_local() -> None:
    local: ThreadLocal[Payload] = ThreadLocal(Payload)
    ref = weakref.ref(local.get())
    del local
    gc.collect()
    assert ref() is None


def test_thread_local_rejects_non_callables() -> None:
    with pytest.raises(
        TypeError,
        match=r"^ThreadLocal\(\) needs a callable that makes each thread's value, got int 3$",
    ):
        ThreadLocal(3)  # type: ignore[arg-type]


def test_thread_local_repr_never_calls_init() -> None:
    local: ThreadLocal[list[int]] = ThreadLocal(fail)
    assert repr(local) == "ThreadLocal(<no value in this thread>)"
    local.set([1])
    assert repr(local) == "ThreadLocal([1])"


def test_thread_local_is_subscriptable() -> None:
    local = ThreadLocal[int](int)
    assert local.get() == 0


# -- stress -------------------------------------------------------------------


@pytest.mark.stress
def test_many_spawned_threads_count_exactly() -> None:
    counter = Mutex(0)
    per_thread = 200

    def work() -> int:
        for _ in range(per_thread):
            with counter.lock() as guard:
                guard.value += 1
        return threading.get_ident()

    handles = [spawn(work) for _ in range(32 * STRESS)]
    idents = [h.join(timeout=TIMEOUT) for h in handles]
    assert idents == [h.ident for h in handles]
    assert counter.into_inner() == 32 * STRESS * per_thread


@pytest.mark.stress
def test_nested_scopes_join_everything_and_count_failures_exactly() -> None:
    outer_n, inner_n = 6, 4 * STRESS
    counter = Mutex(0)

    def bump() -> None:
        with counter.lock() as guard:
            guard.value += 1

    def leaf(outer: Scope, i: int, j: int) -> None:
        bump()
        outer.spawn(bump)  # a thread of the inner scope spawns on the outer one
        if (i + j) % 5 == 0:
            raise Boom(i, j)

    def branch(outer: Scope, i: int) -> int:
        try:
            with scope() as inner:
                for j in range(inner_n):
                    inner.spawn(leaf, outer, i, j)
        except ExceptionGroup as group:
            return len(group.exceptions)
        return 0

    with scope() as outer:
        handles = [outer.spawn(branch, outer, i) for i in range(outer_n)]
    failures = sum(h.join() for h in handles)
    expected = sum(1 for i in range(outer_n) for j in range(inner_n) if (i + j) % 5 == 0)
    assert failures == expected
    assert counter.into_inner() == 2 * outer_n * inner_n


@pytest.mark.stress
def test_racing_joiners_take_each_result_exactly_once() -> None:
    for round_ in range(20 * STRESS):
        gate = threading.Event()
        handle = spawn(gated, gate, round_)
        barrier = threading.Barrier(4, timeout=TIMEOUT)

        def joiner(
            handle: JoinHandle[object] = handle, barrier: threading.Barrier = barrier
        ) -> object:
            barrier.wait()
            try:
                return handle.join(timeout=TIMEOUT)
            except ConsumedError:
                return "consumed"

        workers = [Worker(joiner) for _ in range(3)]
        barrier.wait()
        gate.set()
        outcomes = [w.join() for w in workers]
        assert sorted(map(str, outcomes)) == sorted([str(round_), "consumed", "consumed"])


@pytest.mark.stress
def test_dropped_handles_report_every_failure_exactly_once(
    hook_calls: list[threading.ExceptHookArgs],
) -> None:
    n = 40 * STRESS
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def failing(i: int) -> None:
        barrier.wait()  # fail while the main thread drops the handle
        raise Boom(i)

    for i in range(n):
        handle = spawn(failing, i)
        barrier.wait()
        del handle
    wait_until(lambda: len(hook_calls) == n, what="every failure report")
    assert sorted(args.exc_value.args[0] for args in hook_calls if args.exc_value) == list(range(n))


@pytest.mark.stress
def test_thread_locals_stay_private_under_contention() -> None:
    local = ThreadLocal(int)
    rounds = 500 * STRESS

    def work(i: int) -> int:
        for _ in range(rounds):
            local.set(local.get() + i)
        return local.get()

    with scope() as s:
        handles = [s.spawn(work, i) for i in range(8)]
    assert [h.join() for h in handles] == [i * rounds for i in range(8)]
    assert local.get() == 0
