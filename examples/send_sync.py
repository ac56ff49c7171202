"""The chapter's "Send and Sync Traits": what Rust rejects at compile time, fearless rejects too.

The chapter:

    // Send — "this type can be transferred to another thread"
    // Most types are Send. Rc<T> is NOT (use Arc<T> for threads).

    // Sync — "this type can be referenced from multiple threads"
    // Most types are Sync. Cell<T>/RefCell<T> are NOT (use Mutex<T>).

    // The compiler checks these automatically:
    // thread::spawn(move || { ... })
    //   ↑ The closure's captures must be Send
    //   ↑ Shared references must be Sync
    //   ↑ If they're not → compile error

    // Python has no equivalent. Thread safety bugs are discovered at runtime.

How the two traits map to Python:

- ``Rc<T>`` vs ``Arc<T>``. Rust's ``Rc`` is not ``Send`` because its
  reference count is not atomic. Every Python object is reference-counted
  safely across threads — by the GIL, or by the free-threaded build's own
  counting — so every Python object is, in that sense, ``Send``: there is no
  ``Rc`` to misuse. fearless's ``Arc`` is there for what ``Arc`` means
  besides memory safety: counted owners (``strong_count``), ``Weak``,
  ``try_unwrap``/``into_inner`` for the last owner, and ``drop()`` after
  which the handle is gone.
- ``RefCell<T>`` vs ``Mutex<T>``. Rust's ``Cell``/``RefCell`` are not
  ``Sync``: their interior mutability is unchecked between threads. Every
  mutable Python object is shared that way — a ``list`` or ``dict`` keeps
  *each* operation whole, but nothing keeps *your* invariant across two of
  them (``thread_safety.py`` shows the check-then-append). ``Mutex[T]`` is
  the Python ``Mutex<T>``: the data lives inside, reached through a guard.
- Guards are not ``Send`` (``MutexGuard`` must be released by the thread
  that locked): fearless raises ``WrongThreadError`` when another thread
  releases a guard or waits on a ``Condvar`` with it. Reading
  ``guard.value`` from another thread is *not* checked — a check on every
  access would cost every access — so keep guards inside their ``with``
  block, which is where Rust's borrow checker would keep them.
- ``Receiver`` is ``Send`` but neither ``Sync`` nor ``Clone``: moving it to
  another thread is fine, but copying or pickling it raises ``TypeError``
  (``fearless._util.NotCopyable``: ``copy.copy``, ``copy.deepcopy`` and
  ``pickle`` say what to do instead), and two threads receiving at the same
  time raise ``ConcurrentRecvError``. ``Sender`` is ``Clone``:
  ``copy.copy(tx)`` is ``tx.clone()``. Locks, condvars, barriers, atomics
  and guards are not copyable either; ``copy.copy`` of an ``Arc`` is a clone.
- Moves: ``Mutex::into_inner(self)``, ``JoinHandle::join(self)`` and
  ``drop(arc)`` consume their object; using it afterwards is Rust's
  ``E0382 use of moved value``. fearless marks the object consumed and
  raises ``ConsumedError``.

What typing can and cannot do. Python has no marker traits: there is no way
to say "the arguments of ``spawn`` must be ``Send``", nor to track that a
value was moved, so these checks run at run time (this program). What types
can say, fearless's types do, and ``mypy --strict`` rejects the misuse at
"compile time": the data of a ``Mutex`` is reachable only through
``lock()`` (a ``Mutex`` has no ``value``), a read guard's and an ``Arc``'s
``value`` are read-only, a ``Sender[int]`` refuses a ``str``, a
``Receiver[int]`` is not a ``Receiver[str]``, a ``Receiver`` has no
``clone()``, ``Mutex[T]`` is invariant, and ``spawn(f, *args)`` checks the
arguments against ``f``. ``send_sync_misuse.py``, beside this file, is the
compile-fail twin: a program that ``mypy --strict`` rejects, each misuse
marked with what rustc would say. Run this program with ``--mypy`` to see
mypy's errors (when mypy is installed: ``pip install mypy``).

Every line of the output is one misuse: what Rust rejects, the Python that
does the same, and the error fearless raises, with its message.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import pickle
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from fearless import Arc, Condvar, Mutex, spawn
from fearless.mpsc import ConcurrentRecvError, Receiver, Sender, channel

MISUSE = Path(__file__).with_name("send_sync_misuse.py")
# mypy's error lines: "<path>:<line>: error: <message>  [<code>]"
MYPY_ERROR = re.compile(r"^.*?:(\d+): error: (.*)  \[([a-z-]+)\]$")


def show(rust: str, python: str, action: Callable[[], object]) -> None:
    """Run ``action``, which must raise; print what Rust says and what fearless raised."""
    try:
        action()
    except Exception as e:
        print(f"{rust}\n  {python} -> {type(e).__name__}: {e}")
    else:
        raise AssertionError(f"{python} did not raise")


def guards_are_not_send() -> None:
    m = Mutex([1, 2, 3])
    cv = Condvar()
    guard = m.lock()
    show(
        "MutexGuard is not Send (E0277: cannot be sent between threads safely):",
        "spawn(guard.unlock).join()",
        lambda: spawn(guard.unlock).join(),
    )
    show(
        "...nor can another thread wait with it:",
        "spawn(cv.wait, guard, timeout=30).join()",
        lambda: spawn(cv.wait, guard, timeout=30).join(),
    )
    show(
        "MutexGuard is not Clone (in Rust, guard.clone() derefs and clones the data):",
        "copy.copy(guard)",
        lambda: copy.copy(guard),
    )
    guard.unlock()  # the thread that locked it releases it
    show(
        "a guard used after drop(guard) (E0382: borrow of moved value):",
        "guard.value",
        lambda: guard.value,
    )
    show(
        "Mutex is not Clone (E0599: no method named `clone`):",
        "copy.copy(m)",
        lambda: copy.copy(m),
    )


def receive_once(rx: Receiver[str], tx: Sender[str]) -> str:
    """Receive one message; if another thread is already receiving, let it finish."""
    try:
        return f"received {rx.recv(timeout=30)!r}"
    except ConcurrentRecvError as e:
        tx.send("hello")  # the thread that got there first takes this one
        return f"ConcurrentRecvError: {e}"


def receivers_are_single() -> None:
    tx, rx = channel[str]()
    show(
        "Receiver is not Clone (E0599: no method named `clone`):",
        "copy.copy(rx)",
        lambda: copy.copy(rx),
    )
    show(
        "...and cannot leave the process:",
        "pickle.dumps(rx)",
        lambda: pickle.dumps(rx),
    )
    # Both threads wait for a message that is only sent once one of them has
    # failed: whichever thread comes second finds the other one receiving.
    handles = [spawn(receive_once, rx, tx.clone()) for _ in range(2)]
    failed, received = sorted(h.join() for h in handles)
    print("Receiver is not Sync (E0277: cannot be shared between threads safely):")
    print(f"  two threads in rx.recv() at once -> {failed}")
    print(f"  (the thread that was receiving first {received})")
    clone = copy.copy(tx)
    clone.send("via the copy")
    print(f"Sender is Clone: copy.copy(tx) is tx.clone() -> rx.recv() = {rx.recv(timeout=30)!r}")


def moved_values() -> None:
    shared = Arc([1, 2, 3])
    arc = shared.clone()
    arc.drop()
    show(
        "an Arc used after drop(arc) (E0382: borrow of moved value):",
        "arc.drop(); arc.value",
        lambda: arc.value,
    )
    show(
        "Arc counts owners in one process (an Arc cannot be sent to another process):",
        "pickle.dumps(arc)",
        lambda: pickle.dumps(shared),
    )
    m = Mutex([1, 2, 3])
    m.into_inner()
    show(
        "a Mutex used after into_inner(self) (E0382: borrow of moved value):",
        "m.into_inner(); m.lock()",
        m.lock,
    )
    h = spawn(sum, [1, 2, 3])
    h.join()
    show(
        "a JoinHandle joined twice (E0382: use of moved value):",
        "h.join(); h.join()",
        h.join,
    )


def not_checked() -> None:
    shared_list: list[int] = []
    spawn(shared_list.append, 1).join()
    print(
        "not checked: a plain list handed to spawn() -> accepted, "
        f"{shared_list} (Python has no Send; use Mutex[list[int]])"
    )
    m = Mutex(41)
    with m.lock() as guard:
        seen = spawn(lambda: guard.value).join()
    print(
        f"not checked: guard.value read on another thread -> {seen} "
        "(keep guards in their with block)"
    )


def run_mypy() -> None:
    """Print mypy's errors on the compile-fail twin, when mypy is installed."""
    if importlib.util.find_spec("mypy") is None:
        print(
            "mypy is not installed for this Python: `pip install mypy`, then run "
            "`mypy --strict send_sync_misuse.py` (each misuse line there says what rustc says)"
        )
        return
    with tempfile.TemporaryDirectory() as cache:
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "mypy", "--strict", "--config-file", ""),
                *("--cache-dir", cache, "--no-error-summary", "--no-pretty"),
                *("--hide-error-context", "--no-color-output", str(MISUSE)),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    errors = [m for line in proc.stdout.splitlines() if (m := MYPY_ERROR.match(line))]
    print(
        f"mypy --strict send_sync_misuse.py: {len(errors)} errors (exit status {proc.returncode})"
    )
    for error in errors:
        line, message, code = error.groups()
        print(f"  line {line}: [{code}] {message}")
    if proc.returncode != 1 or proc.stderr:
        print(f"mypy did not run as expected:\n{proc.stdout}{proc.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--mypy",
        action="store_true",
        help="also run mypy --strict on send_sync_misuse.py and show its errors",
    )
    args = parser.parse_args()
    guards_are_not_send()
    receivers_are_single()
    moved_values()
    not_checked()
    print(
        "compile time: mypy --strict rejects the misuses in send_sync_misuse.py "
        "(each line says what rustc says); --mypy runs it"
    )
    if args.mypy:
        run_mypy()


if __name__ == "__main__":
    main()
