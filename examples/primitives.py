"""The chapter's "Concurrency Primitives Comparison", one small port per row.

The chapter's table:

    Python                  Rust                     Purpose
    threading.Lock()        Mutex<T>                 Mutual exclusion
    threading.RLock()       Mutex<T> (no reentrant)  Reentrant lock (use differently)
    threading.RWLock (N/A)  RwLock<T>                Multiple readers OR one writer
    threading.Event()       Condvar                  Condition variable
    queue.Queue()           mpsc::channel()          Thread-safe channel
    multiprocessing.Pool    rayon::ThreadPool        Thread pool
    concurrent.futures      rayon / tokio::spawn     Task-based parallelism
    threading.local()       thread_local!            Thread-local storage
    N/A                     Atomic* types            Lock-free counters and flags

For each row the program runs the Python (standard library) version and the
fearless one, and prints them one under the other: what was written, and
what came out.

- ``threading.Lock()`` → ``Mutex[T]``: the counter lives inside the mutex.
- ``threading.RLock()`` → no reentrant mutex. Rust's ``std`` has none on
  purpose: a second guard taken by the same thread would be a second
  ``&mut T`` to the same data, which the borrow rules forbid (parking_lot's
  ``ReentrantMutex`` and the unstable ``std::sync::ReentrantLock`` hand out
  only ``&T``). fearless raises ``DeadlockError`` on a re-lock instead of
  hanging (and the error leaving the outer ``with`` block poisons that
  mutex, as any exception would). What to write instead: split each function that locks into a
  public one that takes the lock and a helper that takes the *guard* — the
  guard is the proof that the caller holds the lock, and the helpers call
  each other with it.
- ``threading.RWLock`` (there is none) → ``RwLock[T]``: two readers hold the
  read lock at the same time, shown by a ``Barrier(2)`` they meet at while
  holding it (a lock that let one reader in at a time would never let them
  meet); ``rwlock_config.py`` has more.
- ``threading.Event()`` → ``Condvar``: an ``Event`` port built from a
  ``Mutex[bool]`` and a ``Condvar``: ``set()`` changes the flag under the
  lock and calls ``notify_all()``; ``wait()`` is ``wait_while`` the flag is
  false, which also copes with spurious wake-ups.
- ``queue.Queue()`` → ``mpsc.channel()``: the queue needs a sentinel per
  producer; the channel's iteration ends when the last ``Sender`` is gone
  (``channels.py`` has more).
- ``multiprocessing.Pool`` → ``ThreadPool`` and ``ProcessPool``: the same
  ``map``, on threads or on worker processes (started with ``forkserver``
  or ``spawn``, never ``fork``), each closed by its ``with`` block — which
  waits for running work, where ``Pool``'s ``with`` block calls
  ``terminate()``. Functions sent to processes are module-level: the
  workers import this file again.
- ``concurrent.futures`` → ``spawn``/``JoinHandle`` for one task each, and
  ``par_map(fn, items, backend=executor)`` on a ``ThreadPoolExecutor`` you
  own (fearless submits to it and never shuts it down). ``join()`` re-raises
  a task's exception as ``Future.result()`` does.
- ``threading.local()`` → ``ThreadLocal[T]``: each thread sees its own value,
  made by ``init`` on first use.
- Atomics: Python has none; ``fearless.atomic`` has Rust's. A counter with
  ``fetch_add`` and a flag that exactly one thread wins with
  ``compare_exchange``, with no lock in your code. (Python has no atomic
  instructions: fearless makes each operation one short critical section
  on the atomic's own internal lock, which also makes every ordering
  ``SeqCst`` — stronger than asked, as Rust allows. "Lock-free" here means
  free of the locks you would write.)
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fearless import (
    Barrier,
    Condvar,
    DeadlockError,
    Mutex,
    MutexGuard,
    ProcessPool,
    RwLock,
    ThreadLocal,
    ThreadPool,
    par_map,
    spawn,
)
from fearless.atomic import AtomicBool, AtomicI64, Ordering
from fearless.mpsc import Sender, channel

THREADS = 4
INCREMENTS = 1000
TIMEOUT = 30.0  # every wait in this program is bounded


def row(python: str, rust: str, purpose: str) -> None:
    print(f"\n{python} -> {rust}: {purpose}")


def line(who: str, code: str, result: object) -> None:
    print(f"  {who + ':':<9} {code:<62} -> {result}")


def more(text: str) -> None:
    print(f"  {'':<9} {text}")


def run_threads(target: Callable[[], object], n: int = THREADS) -> None:
    """Run ``target`` on ``n`` threading.Threads and join them."""
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)


# -- module-level functions: worker processes import this file again -------------


def square(n: int) -> int:
    return n * n


def worker_pid(_: int) -> int:
    return os.getpid()


def divide(a: int, b: int) -> float:
    return a / b


# -- the rows ------------------------------------------------------------------


def lock_row() -> None:
    row("threading.Lock()", "Mutex<T>", "mutual exclusion")
    counter = 0
    lock = threading.Lock()

    def increment() -> None:
        nonlocal counter
        for _ in range(INCREMENTS):
            with lock:
                counter += 1

    run_threads(increment)
    line("Python", "with lock: counter += 1", f"{counter:,}")

    shared = Mutex(0)

    def increment_mutex() -> None:
        for _ in range(INCREMENTS):
            with shared.lock() as guard:
                guard.value += 1

    run_threads(increment_mutex)
    line("fearless", "with counter.lock() as guard: guard.value += 1", f"{shared.into_inner():,}")


def rlock_row() -> None:
    row("threading.RLock()", "Mutex<T> (no reentrant)", "reentrant lock (use differently)")
    rlock = threading.RLock()
    items: list[str] = []

    def count() -> int:
        with rlock:
            return len(items)

    def add(item: str) -> int:
        with rlock:
            items.append(item)
            return count()  # takes the RLock again: fine, it is reentrant

    line("Python", "with rlock: items.append(x); count() (locks again)", f"count {add('a')}")

    inventory: Mutex[list[str]] = Mutex([])

    def count_relocking() -> int:
        with inventory.lock() as guard:
            return len(guard.value)

    def add_relocking(item: str) -> int:
        with inventory.lock() as guard:
            guard.value.append(item)
            return count_relocking()  # locks again: DeadlockError, not a hang

    try:
        add_relocking("a")
    except DeadlockError as e:
        line("fearless", "with m.lock(): ...; count() (locks again)", f"DeadlockError: {e}")

    # Instead: public functions lock, helpers take the guard.
    def count_locked(guard: MutexGuard[list[str]]) -> int:
        return len(guard.value)

    def add_locked(guard: MutexGuard[list[str]], item: str) -> int:
        guard.value.append(item)
        return count_locked(guard)

    # The DeadlockError left add_relocking's with block, which poisoned that
    # mutex (its list may be half-updated): start again with a fresh one.
    inventory = Mutex(["a"])

    def add_instead(item: str) -> int:
        with inventory.lock() as guard:
            return add_locked(guard, item)

    line("instead", "with m.lock() as guard: add_locked(guard, x)", f"count {add_instead('b')}")


def rwlock_row() -> None:
    row("threading.RWLock (N/A)", "RwLock<T>", "multiple readers OR one writer")
    line("Python", "(threading has no reader-writer lock; a Lock serialises)", "N/A")
    config = RwLock({"version": 1})
    inside = Barrier(2)

    def reader() -> int:
        with config.read() as guard:
            inside.wait(timeout=TIMEOUT)  # both readers hold the read lock here
            return guard.value["version"]

    handles = [spawn(reader) for _ in range(2)]
    seen = [h.join(timeout=TIMEOUT) for h in handles]
    with config.write() as guard:
        guard.value["version"] += 1
    line(
        "fearless", "2 threads in config.read() at once, then config.write()", f"{seen} -> {config}"
    )


class Event:
    """``threading.Event``, ported to a ``Mutex[bool]`` and a ``Condvar``."""

    def __init__(self) -> None:
        self._flag = Mutex(False)
        self._changed = Condvar()

    def set(self) -> None:
        with self._flag.lock() as guard:
            guard.value = True
        self._changed.notify_all()

    def is_set(self) -> bool:
        with self._flag.lock() as guard:
            return guard.value

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set; return it (False when the time ran out)."""
        with self._flag.lock() as guard:
            timed_out = self._changed.wait_while(guard, lambda flag: not flag, timeout=timeout)
            return not timed_out


def event_row() -> None:
    row("threading.Event()", "Condvar", "condition variable")
    ready = threading.Event()
    waiter = ThreadPoolExecutor(1)
    woke = waiter.submit(ready.wait, TIMEOUT)
    ready.set()
    line(
        "Python",
        "ready.wait() in a thread; ready.set()",
        f"woke: {woke.result()}; unset wait(0.01): {threading.Event().wait(0.01)}",
    )
    waiter.shutdown()

    port = Event()
    handle = spawn(port.wait, timeout=TIMEOUT)
    port.set()
    line(
        "fearless",
        "Event() from Mutex[bool] + Condvar.wait_while; set()",
        f"woke: {handle.join(timeout=TIMEOUT)}; unset wait(0.01): {Event().wait(0.01)}",
    )


def channel_row() -> None:
    row("queue.Queue()", "mpsc::channel()", "thread-safe channel")
    done = object()
    q: queue.Queue[object] = queue.Queue()

    def produce_q() -> None:
        for job in range(3):
            q.put(job)
        q.put(done)  # one sentinel per producer

    run_threads(produce_q, 3)
    received, sentinels = 0, 0
    while sentinels < 3:
        if q.get(timeout=TIMEOUT) is done:
            sentinels += 1
        else:
            received += 1
    line("Python", "3 producers q.put(job), then q.put(DONE) each", f"{received} jobs, 3 sentinels")

    tx, rx = channel[int]()

    def produce(tx: Sender[int]) -> None:
        for job in range(3):
            tx.send(job)

    handles = [spawn(produce, tx.clone()) for _ in range(3)]
    tx.close()  # Rust's drop(tx): the loop below ends with the last worker's sender
    jobs = list(rx)
    for h in handles:
        h.join(timeout=TIMEOUT)
    line(
        "fearless", "3 producers tx.send(job); for job in rx: ...", f"{len(jobs)} jobs, no sentinel"
    )


def pool_row() -> None:
    row("multiprocessing.Pool", "rayon::ThreadPool", "thread pool")
    main_pid = os.getpid()
    # "spawn": fork() in a process that runs threads can deadlock.
    with multiprocessing.get_context("spawn").Pool(2) as mp_pool:
        squares = mp_pool.map(square, range(8))
        other = all(pid != main_pid for pid in mp_pool.map(worker_pid, range(2)))
    line("Python", "with Pool(2) as pool: pool.map(square, range(8))", squares)
    more(f"other processes: {other}; after the with block: {mp_pool!r}")

    with ThreadPool(2) as pool:
        squares = pool.par_map(square, range(8))
        same = all(pid == main_pid for pid in pool.par_map(worker_pid, range(2)))
    line("fearless", "with ThreadPool(2) as pool: pool.par_map(square, range(8))", squares)
    more(f"threads of this process: {same}; after the with block: {pool!r}")

    with ProcessPool(2) as ppool:
        squares = ppool.par_map(square, range(8))
        other = all(pid != main_pid for pid in ppool.par_map(worker_pid, range(2)))
    line("fearless", "with ProcessPool(2) as pool: pool.par_map(square, range(8))", squares)
    more(f"other processes: {other}; after the with block: {ppool!r}")


def futures_row() -> None:
    row("concurrent.futures", "rayon / tokio::spawn", "task-based parallelism")
    with ThreadPoolExecutor(2) as executor:
        futures = [executor.submit(square, n) for n in range(8)]
        line(
            "Python", "[executor.submit(square, n) ...]; f.result()", [f.result() for f in futures]
        )
        try:
            executor.submit(divide, 1, 0).result()
        except ZeroDivisionError as e:
            line("Python", "executor.submit(divide, 1, 0).result()", f"ZeroDivisionError: {e}")

        handles = [spawn(square, n) for n in range(8)]
        line(
            "fearless",
            "[spawn(square, n) ...]; h.join()",
            [h.join(timeout=TIMEOUT) for h in handles],
        )
        try:
            spawn(divide, 1, 0).join(timeout=TIMEOUT)
        except ZeroDivisionError as e:
            line("fearless", "spawn(divide, 1, 0).join()", f"ZeroDivisionError: {e}")
        line(
            "fearless",
            "par_map(square, range(8), backend=executor)",
            par_map(square, range(8), backend=executor),
        )


def local_row() -> None:
    row("threading.local()", "thread_local!", "thread-local storage")
    local = threading.local()

    def count_python(times: int) -> int:
        for _ in range(times):
            local.calls = getattr(local, "calls", 0) + 1
        calls: int = local.calls
        return calls

    with ThreadPoolExecutor(3) as executor:
        # max_workers=3 and a barrier: three different threads, one task each
        start = threading.Barrier(3, timeout=TIMEOUT)

        def task(times: int) -> int:
            start.wait()
            return count_python(times)

        counts = list(executor.map(task, [1, 2, 3]))
    here = getattr(local, "calls", 0)
    line("Python", "local.calls += 1 on 3 threads (1, 2, 3 times)", f"{counts}, here: {here}")

    calls = ThreadLocal(int)

    def count(times: int) -> int:
        for _ in range(times):
            calls.set(calls.get() + 1)
        return calls.get()

    handles = [spawn(count, times) for times in (1, 2, 3)]
    counts = [h.join(timeout=TIMEOUT) for h in handles]
    line(
        "fearless",
        "calls = ThreadLocal(int); calls.set(calls.get() + 1)",
        f"{counts}, here: {calls.get()}",
    )


def atomic_row() -> None:
    row("N/A", "Atomic* types", "lock-free counters and flags")
    line("Python", "(no atomics: a Lock around an int, as in the first row)", "N/A")
    counter = AtomicI64(0)
    flag = AtomicBool(False)
    winners = AtomicI64(0)

    def work() -> None:
        for _ in range(INCREMENTS):
            counter.fetch_add(1, Ordering.Relaxed)
        if flag.compare_exchange(False, True, Ordering.AcqRel, Ordering.Acquire).ok:
            winners.fetch_add(1, Ordering.Relaxed)

    run_threads(work)
    line(
        "fearless", "counter.fetch_add(1, Ordering.Relaxed)", f"{counter.load(Ordering.Relaxed):,}"
    )
    line(
        "fearless",
        "flag.compare_exchange(False, True, AcqRel, Acquire).ok",
        f"True for {winners.load()} of {THREADS} threads",
    )


def main() -> None:
    print("Each row: the Python (standard library) version, then the fearless one.")
    lock_row()
    rlock_row()
    rwlock_row()
    event_row()
    channel_row()
    pool_row()
    futures_row()
    local_row()
    atomic_row()


if __name__ == "__main__":
    main()
