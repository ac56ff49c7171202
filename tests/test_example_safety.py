"""The chapter's thread-safety sections, run as programs and checked line by line.

"Thread Safety: Type System Guarantees" (``thread_safety.py``), "Send and
Sync Traits" (``send_sync.py`` and its compile-fail twin
``send_sync_misuse.py``), "Concurrency Primitives Comparison"
(``primitives.py``), "Mutex Poisoning" (``mutex_poisoning.py``) and the
exercise "Thread-Safe Counter" (``exercise_counter.py``). Every program's
output is deterministic and the same on both builds, so it is compared
exactly; only mypy's wording of its errors (which changes between mypy
versions) is matched loosely, its lines and error codes exactly.
"""

from __future__ import annotations

import importlib.util
import re
import tokenize

from _helpers import EXAMPLES, run_example


def lines(name: str, *args: str) -> list[str]:
    return run_example(name, *args).splitlines()


def test_thread_safety() -> None:
    assert lines("thread_safety.py") == [
        "Python, 4 threads x 1,000 shared_list.append(): 4,000 items, 0 lost "
        "(one append is atomic)",
        "Python, check-then-append, both threads preempted between the check and the append: "
        "[7, 7] (a duplicate)",
        "Python, threading.Lock, 4 threads offering 0..124 twice: 125 unique items, duplicates: 0",
        "fearless, forgetting the lock: impossible, a Mutex has no .value (hasattr: False), "
        "only lock()",
        "fearless, Mutex[list[int]], the same 4 threads: 125 unique items, duplicates: 0",
        "  first [0, 1, 2, 3, 4] last [120, 121, 122, 123, 124]",
        "Rust's Arc<Mutex<Vec>>, 4 threads pushing:",
        "[0, 1, 2, 3] (sorted: the threads push in any order)",
        "strong count after the joins: 1",
    ]


SEND_SYNC = [
    "MutexGuard is not Send (E0277: cannot be sent between threads safely):",
    "  spawn(guard.unlock).join() -> WrongThreadError: "
    "this guard belongs to the thread that acquired it; release it there",
    "...nor can another thread wait with it:",
    "  spawn(cv.wait, guard, timeout=30).join() -> WrongThreadError: "
    "this guard belongs to the thread that acquired it; only that thread can wait with it",
    "MutexGuard is not Clone (in Rust, guard.clone() derefs and clones the data):",
    "  copy.copy(guard) -> TypeError: cannot copy a fearless.MutexGuard: a guard is this "
    "thread's proof that it holds the lock; copy the value instead: copy.deepcopy(guard.value)",
    "a guard used after drop(guard) (E0382: borrow of moved value):",
    "  guard.value -> GuardReleasedError: "
    "this guard was released; lock the mutex again to get a new guard",
    "Mutex is not Clone (E0599: no method named `clone`):",
    "  copy.copy(m) -> TypeError: cannot copy a fearless.Mutex: share the same Mutex between "
    "threads (or wrap it in an Arc); to copy the data, copy it under the lock "
    "(with m.lock() as guard: copy.deepcopy(guard.value)) or take it out with into_inner()",
    "Receiver is not Clone (E0599: no method named `clone`):",
    "  copy.copy(rx) -> TypeError: cannot copy a fearless.mpsc.Receiver: a channel has a single "
    "receiver: hand this one to the thread that receives; it cannot be copied or pickled "
    "(between processes, use multiprocessing's queues)",
    "...and cannot leave the process:",
    "  pickle.dumps(rx) -> TypeError: cannot pickle a fearless.mpsc.Receiver: a channel has a "
    "single receiver: hand this one to the thread that receives; it cannot be copied or "
    "pickled (between processes, use multiprocessing's queues)",
    "Receiver is not Sync (E0277: cannot be shared between threads safely):",
    "  two threads in rx.recv() at once -> ConcurrentRecvError: another thread or task is "
    "already receiving on this Receiver; a channel has a single consumer (Rust's Receiver is "
    "not Sync): receive in one place and hand the messages on",
    "  (the thread that was receiving first received 'hello')",
    "Sender is Clone: copy.copy(tx) is tx.clone() -> rx.recv() = 'via the copy'",
    "an Arc used after drop(arc) (E0382: borrow of moved value):",
    "  arc.drop(); arc.value -> ConsumedError: "
    "this Arc handle was dropped; use a live clone of it instead",
    "Arc counts owners in one process (an Arc cannot be sent to another process):",
    "  pickle.dumps(arc) -> TypeError: cannot pickle a fearless.Arc: its handles count owners "
    "in this process only; pickle the value (arc.value) and wrap what you unpickle in a new Arc",
    "a Mutex used after into_inner(self) (E0382: borrow of moved value):",
    "  m.into_inner(); m.lock() -> ConsumedError: "
    "this mutex was consumed by into_inner(); it cannot be used any more",
    "a JoinHandle joined twice (E0382: use of moved value):",
    "  h.join(); h.join() -> ConsumedError: "
    "this thread was already joined; join() consumes the handle, so call it only once",
    "not checked: a plain list handed to spawn() -> accepted, [1] "
    "(Python has no Send; use Mutex[list[int]])",
    "not checked: guard.value read on another thread -> 41 (keep guards in their with block)",
    "compile time: mypy --strict rejects the misuses in send_sync_misuse.py "
    "(each line says what rustc says); --mypy runs it",
]


def test_send_sync() -> None:
    assert lines("send_sync.py") == SEND_SYNC


MISUSE = EXAMPLES / "send_sync_misuse.py"

#: The error codes mypy reports on the misuse file, in line order: what the
#: marked lines must be, so that a misuse cannot silently disappear.
MISUSE_CODES = [
    "attr-defined",  # Mutex has no .value
    "assignment",  # a str into a MutexGuard[list[int]]
    "assignment",  # Mutex is invariant
    "misc",  # a read guard's value is read-only
    "misc",  # an Arc's value is read-only
    "arg-type",  # a str on a Sender[int]
    "assignment",  # Receiver[int] is not Receiver[str]
    "attr-defined",  # Receiver has no clone()
    "arg-type",  # spawn(scale, "2")
    "call-arg",  # spawn(scale)
]


def marked_misuses() -> list[tuple[int, str]]:
    """The ``# mypy: [<code>]`` markers of the misuse file, as (line, code)."""
    text = MISUSE.read_text(encoding="utf-8").splitlines()
    found = []
    for number, source in enumerate(text, start=1):
        marker = re.search(r"  # mypy: \[([a-z-]+)\]$", source)
        if marker:
            assert text[number - 2].lstrip().startswith("# rustc: error["), (
                f"line {number}: the line above a misuse says what rustc says"
            )
            found.append((number, marker.group(1)))
    return found


def test_misuse_file_is_marked_and_harmless() -> None:
    assert [code for _, code in marked_misuses()] == MISUSE_CODES
    with MISUSE.open("rb") as f:
        comments = [t.string for t in tokenize.tokenize(f.readline) if t.type == tokenize.COMMENT]
    assert not [c for c in comments if "type: ignore" in c]  # mypy's errors are the point
    assert len([c for c in comments if c.startswith("# mypy: accepted")]) == 3
    assert lines("send_sync_misuse.py") == [
        "This program is for mypy, not for running: `mypy --strict send_sync_misuse.py` "
        "rejects each line marked `# mypy: [<code>]`."
    ]


def test_mypy_rejects_exactly_the_marked_lines() -> None:
    """``send_sync.py --mypy`` runs mypy --strict on the twin and prints its errors.

    mypy is in the ``lint`` extra: the interpreter that runs the project's
    mypy (CI's first, with the ``dev`` extra) has it and checks the errors;
    the others (the free-threaded 3.13t among them) check that the example
    says how to get it.
    """
    output = lines("send_sync.py", "--mypy")
    assert output[: len(SEND_SYNC)] == SEND_SYNC
    rest = output[len(SEND_SYNC) :]
    if importlib.util.find_spec("mypy") is None:
        assert rest == [
            "mypy is not installed for this Python: `pip install mypy`, then run "
            "`mypy --strict send_sync_misuse.py` (each misuse line there says what rustc says)"
        ]
        return
    expected = marked_misuses()
    assert rest[0] == f"mypy --strict send_sync_misuse.py: {len(expected)} errors (exit status 1)"
    reported = []
    for text in rest[1:]:
        error = re.fullmatch(r"  line (\d+): \[([a-z-]+)\] (\S.*)", text)
        assert error, text
        reported.append((int(error.group(1)), error.group(2)))
    assert reported == expected


def test_primitives() -> None:
    squares = "[0, 1, 4, 9, 16, 25, 36, 49]"
    expected = f"""\
Each row: the Python (standard library) version, then the fearless one.

threading.Lock() -> Mutex<T>: mutual exclusion
  Python:   with lock: counter += 1                                        -> 4,000
  fearless: with counter.lock() as guard: guard.value += 1                 -> 4,000

threading.RLock() -> Mutex<T> (no reentrant): reentrant lock (use differently)
  Python:   with rlock: items.append(x); count() (locks again)             -> count 1
  fearless: with m.lock(): ...; count() (locks again)                      -> DeadlockError: \
mutex is already locked by this thread; locking it again would deadlock
  instead:  with m.lock() as guard: add_locked(guard, x)                   -> count 2

threading.RWLock (N/A) -> RwLock<T>: multiple readers OR one writer
  Python:   (threading has no reader-writer lock; a Lock serialises)       -> N/A
  fearless: 2 threads in config.read() at once, then config.write()        -> \
[1, 1] -> RwLock({{'version': 2}})

threading.Event() -> Condvar: condition variable
  Python:   ready.wait() in a thread; ready.set()                          -> \
woke: True; unset wait(0.01): False
  fearless: Event() from Mutex[bool] + Condvar.wait_while; set()           -> \
woke: True; unset wait(0.01): False

queue.Queue() -> mpsc::channel(): thread-safe channel
  Python:   3 producers q.put(job), then q.put(DONE) each                  -> 9 jobs, 3 sentinels
  fearless: 3 producers tx.send(job); for job in rx: ...                   -> 9 jobs, no sentinel

multiprocessing.Pool -> rayon::ThreadPool: thread pool
  Python:   with Pool(2) as pool: pool.map(square, range(8))               -> {squares}
            other processes: True; after the with block: \
<multiprocessing.pool.Pool state=TERMINATE pool_size=2>
  fearless: with ThreadPool(2) as pool: pool.par_map(square, range(8))     -> {squares}
            threads of this process: True; after the with block: <ThreadPool workers=2 (closed)>
  fearless: with ProcessPool(2) as pool: pool.par_map(square, range(8))    -> {squares}
            other processes: True; after the with block: <ProcessPool workers=2 (closed)>

concurrent.futures -> rayon / tokio::spawn: task-based parallelism
  Python:   [executor.submit(square, n) ...]; f.result()                   -> {squares}
  Python:   executor.submit(divide, 1, 0).result()                         -> \
ZeroDivisionError: division by zero
  fearless: [spawn(square, n) ...]; h.join()                               -> {squares}
  fearless: spawn(divide, 1, 0).join()                                     -> \
ZeroDivisionError: division by zero
  fearless: par_map(square, range(8), backend=executor)                    -> {squares}

threading.local() -> thread_local!: thread-local storage
  Python:   local.calls += 1 on 3 threads (1, 2, 3 times)                  -> [1, 2, 3], here: 0
  fearless: calls = ThreadLocal(int); calls.set(calls.get() + 1)           -> [1, 2, 3], here: 0

N/A -> Atomic* types: lock-free counters and flags
  Python:   (no atomics: a Lock around an int, as in the first row)        -> N/A
  fearless: counter.fetch_add(1, Ordering.Relaxed)                         -> 4,000
  fearless: flag.compare_exchange(False, True, AcqRel, Acquire).ok         -> \
True for 1 of 4 threads
"""
    assert run_example("primitives.py") == expected


def test_mutex_poisoning() -> None:
    assert lines("mutex_poisoning.py") == [
        "Lock was poisoned! Recovering...",
        "Recovered: [1, 2, 3, 4]",
        "lock() again: PoisonError: mutex is poisoned: a thread failed while holding it; "
        "call into_inner() on this error to use the data anyway, or clear_poison()",
        "after clear_poison(): is_poisoned() = False",
        "Data: [1, 2, 3, 4]",
        "Python, a thread died between lock.acquire() and lock.release(): "
        "RuntimeError('oops!'); thread alive: False",
        "  lock.acquire(timeout=0.1) -> False: the lock stays stuck (locked() = True); "
        "a plain acquire() would hang for ever",
        "  released by another thread, it hands out [1, 2, 3, 4] with no sign of the failure",
        "Python, the same failure inside `with lock:` (RuntimeError('oops!')): "
        "acquire(timeout=0.1) -> True, data [1, 2, 3, 4], no sign of the failure",
    ]


def test_exercise_counter() -> None:
    assert lines("exercise_counter.py") == ["Final count: 10000"]
