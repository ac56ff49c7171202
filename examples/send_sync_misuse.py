"""The compile-fail twin of ``send_sync.py``: a program that ``mypy --strict`` rejects.

Rust's thread-safety guarantees are compile errors; Python has no compiler,
but it has type checkers, and fearless's types are written so that the
misuses they can describe are type errors::

    mypy --strict examples/send_sync_misuse.py

Each misuse below is marked ``# mypy: [<code>]`` with the error code mypy
reports for that line, under a comment saying what rustc says about the
same code in Rust. The project's own ``mypy`` run excludes this file (see
``mypy.ini``), and the test suite checks that mypy reports exactly the
marked lines, with exactly these codes. There is no ``# type: ignore`` here:
the errors are the point.

The last function holds misuses that rustc rejects and mypy cannot: Python
has no ``Send``/``Sync`` marker traits and no moves, so a guard handed to
another thread or a value used after ``into_inner()`` type-checks. Those are
marked ``# mypy: accepted``; fearless catches them at run time
(``send_sync.py`` shows the errors).

Nothing here runs at import: the misuses are inside functions that are
never called, and running the file only prints how to check it.
"""

from __future__ import annotations

from fearless import Arc, Mutex, RwLock, spawn
from fearless.mpsc import Receiver, channel


def scale(n: int) -> int:
    return 2 * n


def data_lives_inside_the_lock() -> None:
    shared: Mutex[list[int]] = Mutex([1, 2, 3])
    # rustc: error[E0599]: no method named `push` found for struct `Mutex<Vec<i32>>`
    shared.value.append(4)  # mypy: [attr-defined]
    with shared.lock() as guard:
        # rustc: error[E0308]: mismatched types: expected `Vec<i32>`, found `&str`
        guard.value = "four"  # mypy: [assignment]
    # rustc: error[E0308]: mismatched types: expected `Mutex<Vec<Box<dyn Any>>>`
    _objects: Mutex[list[object]] = shared  # mypy: [assignment]


def shared_means_read_only() -> None:
    config = RwLock({"retries": 3})
    with config.read() as reader:
        # rustc: error[E0594]: cannot assign to data in dereference of `RwLockReadGuard<'_, ...>`
        reader.value = {"retries": 4}  # mypy: [misc]
    counter = Arc(0)
    # rustc: error[E0594]: cannot assign to data in an `Arc`
    counter.value = 1  # mypy: [misc]


def channels_are_typed() -> None:
    tx, rx = channel[int]()
    # rustc: error[E0308]: mismatched types: expected `i32`, found `&str`
    tx.send("one")  # mypy: [arg-type]
    # rustc: error[E0308]: mismatched types: expected `Receiver<String>`, found `Receiver<i32>`
    _words: Receiver[str] = rx  # mypy: [assignment]
    # rustc: error[E0599]: no method named `clone` found for struct `Receiver<i32>`
    _second = rx.clone()  # mypy: [attr-defined]


def spawn_checks_its_arguments() -> None:
    # rustc: error[E0308]: mismatched types: expected `i32`, found `&str`
    spawn(scale, "2")  # mypy: [arg-type]
    # rustc: error[E0061]: this function takes 1 argument but 0 arguments were supplied
    spawn(scale)  # mypy: [call-arg]


def rustc_rejects_but_mypy_accepts() -> None:
    shared = Mutex(0)
    guard = shared.lock()
    # rustc: error[E0277]: `MutexGuard<'_, i32>` cannot be sent between threads safely
    spawn(guard.unlock)  # mypy: accepted (fearless: WrongThreadError)
    _tx, rx = channel[int]()
    spawn(rx.recv)
    # rustc: error[E0277]: `Receiver<i32>` cannot be shared between threads safely
    spawn(rx.recv)  # mypy: accepted (fearless: ConcurrentRecvError)
    shared.into_inner()
    # rustc: error[E0382]: borrow of moved value: `shared`
    shared.lock()  # mypy: accepted (fearless: ConsumedError)


def main() -> None:
    print(
        "This program is for mypy, not for running: "
        "`mypy --strict send_sync_misuse.py` rejects each line marked `# mypy: [<code>]`."
    )


if __name__ == "__main__":
    main()
