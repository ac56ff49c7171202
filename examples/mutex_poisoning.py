"""The chapter's "Mutex Poisoning", ported, beside what Python's ``threading.Lock`` does.

The chapter: "If a thread panics while holding a Mutex, the lock becomes
poisoned. Python has no equivalent — if a thread crashes holding a
threading.Lock(), the lock stays stuck." Its Rust:

    let data = Arc::new(Mutex::new(vec![1, 2, 3]));
    let data2 = Arc::clone(&data);

    let _ = thread::spawn(move || {
        let mut guard = data2.lock().unwrap();
        guard.push(4);
        panic!("oops!");  // Lock is now poisoned
    }).join();

    // Subsequent lock attempts return Err(PoisonError)
    match data.lock() {
        Ok(guard) => println!("Data: {guard:?}"),
        Err(poisoned) => {
            println!("Lock was poisoned! Recovering...");
            let guard = poisoned.into_inner();
            println!("Recovered: {guard:?}");  // [1, 2, 3, 4]
        }
    }

The port: ``panic!`` is an exception leaving the guard's ``with`` block,
which releases the lock *and* poisons the mutex; ``join()`` re-raises the
thread's exception, and ``suppress(RuntimeError)`` ignores it as Rust's
``let _ = ...join();`` does; ``match data.lock()`` is ``try``/``except
PoisonError``. ``PoisonError.into_inner()`` takes the lock anyway and
returns the guard, as in Rust. The poison stays until someone says the data
is fine again: ``clear_poison()`` (Rust 1.77), after which ``lock()``
succeeds.

Then Python's side, both ways a thread can fail while it holds a
``threading.Lock``:

- ``lock.acquire()`` ... ``lock.release()`` with no ``try``/``finally``: the
  release never runs and the lock stays held by a thread that no longer
  exists. Every later ``acquire()`` would hang; ``acquire(timeout=0.1)``
  shows it (and keeps this program from hanging). A ``Lock`` has no owner,
  so another thread may release it — and then sees the half-done update
  with nothing to tell it so.
- ``with lock:``: the lock is released on the way out, and the next thread
  reads the half-done update, again without a word. Poisoning is that
  missing word.
"""

from __future__ import annotations

import threading
from contextlib import suppress

from fearless import Arc, Mutex, PoisonError, spawn

TIMEOUT = 0.1  # seconds: a bounded look at a lock that would otherwise hang the program


def push_then_fail(data2: Arc[Mutex[list[int]]]) -> None:
    with data2.value.lock() as guard:
        guard.value.append(4)
        raise RuntimeError("oops!")  # the lock is now poisoned


def chapter_snippet() -> Arc[Mutex[list[int]]]:
    data = Arc(Mutex([1, 2, 3]))
    data2 = data.clone()

    # join() re-raises the thread's exception; Rust's `let _ = ...join();`
    # ignores the panic, and so does suppress().
    with suppress(RuntimeError):
        spawn(push_then_fail, data2).join()

    try:
        with data.value.lock() as guard:
            print(f"Data: {guard.value}")
    except PoisonError as poisoned:
        print("Lock was poisoned! Recovering...")
        with poisoned.into_inner() as guard:
            print(f"Recovered: {guard.value}")
    return data


def clear_poison(data: Arc[Mutex[list[int]]]) -> None:
    mutex = data.value
    try:
        mutex.lock()
    except PoisonError as e:
        print(f"lock() again: PoisonError: {e}")
    mutex.clear_poison()  # we looked at the data: [1, 2, 3, 4] is fine
    print(f"after clear_poison(): is_poisoned() = {mutex.is_poisoned()}")
    with mutex.lock() as guard:
        print(f"Data: {guard.value}")


def validate(data: list[int]) -> None:
    if 4 in data:
        raise RuntimeError("oops!")


def python_acquire_release() -> None:
    lock = threading.Lock()
    data = [1, 2, 3]
    died: list[BaseException] = []

    def update() -> None:
        lock.acquire()
        data.append(4)
        validate(data)  # raises: the release below never runs
        lock.release()

    def thread_main() -> None:
        try:
            update()
        except RuntimeError as e:  # the thread dies with it (recorded, not printed on stderr)
            died.append(e)

    t = threading.Thread(target=thread_main)
    t.start()
    t.join()
    print(
        "Python, a thread died between lock.acquire() and lock.release(): "
        f"{died[0]!r}; thread alive: {t.is_alive()}"
    )
    got = lock.acquire(timeout=TIMEOUT)
    print(
        f"  lock.acquire(timeout={TIMEOUT}) -> {got}: the lock stays stuck "
        f"(locked() = {lock.locked()}); a plain acquire() would hang for ever"
    )
    lock.release()  # a Lock has no owner: any thread may release it
    with lock:
        print(f"  released by another thread, it hands out {data} with no sign of the failure")


def python_with_lock() -> None:
    lock = threading.Lock()
    data = [1, 2, 3]
    died: list[BaseException] = []

    def update() -> None:
        with lock:
            data.append(4)
            validate(data)  # raises: the with block releases the lock

    def thread_main() -> None:
        try:
            update()
        except RuntimeError as e:
            died.append(e)

    t = threading.Thread(target=thread_main)
    t.start()
    t.join()
    got = lock.acquire(timeout=TIMEOUT)
    print(
        f"Python, the same failure inside `with lock:` ({died[0]!r}): "
        f"acquire(timeout={TIMEOUT}) -> {got}, data {data}, no sign of the failure"
    )
    lock.release()


def main() -> None:
    data = chapter_snippet()
    clear_poison(data)
    python_acquire_release()
    python_with_lock()


if __name__ == "__main__":
    main()
