"""The chapter's "Thread Safety: Type System Guarantees", ported as one program.

The chapter's Python, where "data races are caught at runtime (or not at all)":

    shared_list = []

    def append_items(items):
        for item in items:
            shared_list.append(item)  # "Thread-safe" due to GIL for append
            # But complex operations are NOT safe:
            # if item not in shared_list:
            #     shared_list.append(item)  # RACE CONDITION!

    # Using Lock for safety:
    lock = threading.Lock()
    def safe_append(items):
        for item in items:
            with lock:
                if item not in shared_list:
                    shared_list.append(item)
    # Forgetting the lock? No compiler warning. Bug discovered in production.

and its Rust, where the lock is required to reach the data:

    // let shared = vec![];
    // thread::spawn(move || shared.push(1));
    // ❌ Compile error: Vec is not Send/Sync without protection

    let shared = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..4).map(|i| {
        let shared = Arc::clone(&shared);
        thread::spawn(move || {
            let mut data = shared.lock().unwrap(); // Lock is REQUIRED to access
            data.push(i);
            // Lock is automatically released when `data` goes out of scope
        })
    }).collect();
    for h in handles { h.join().unwrap(); }
    println!("{:?}", shared.lock().unwrap()); // [0, 1, 2, 3] (order may vary)

The program runs each piece. A single ``list.append`` is atomic in CPython,
with the GIL and without it (the free-threaded build locks the list for each
call), so four threads appending lose nothing. The check-then-append is two
operations: two threads that are preempted between the check and the append
both append. A preemption lands there only now and then, so the program
makes the unlucky schedule happen every time — both threads meet at a
``threading.Barrier`` between the check and the append — instead of hoping
for it (``finding_races.py`` finds the same schedule by exploring every
interleaving).

The ``threading.Lock`` version is correct, but only because every caller
remembers the lock. With fearless the list lives *inside* the ``Mutex``: a
``Mutex`` has no ``value``, only ``lock()``, which returns the guard that
reaches the list, so the check and the append always happen under the lock.
That is the part of Rust's guarantee a library can give. What it cannot give
is the compile error on the unprotected ``Vec``: a plain ``list`` can still
be handed to a thread (see ``send_sync.py`` for what fearless checks at run
time and what mypy rejects).

The Rust program is the last part: each thread gets its own ``Arc`` clone,
moved into it as Rust's ``move`` closure does — ``spawn`` drops its
arguments when the thread ends, so after the joins the strong count is back
to one. The threads push in any order; the program prints the list sorted.
"""

from __future__ import annotations

import threading

from fearless import Arc, Mutex, spawn

THREADS = 4
APPENDS = 1000
STARTS = (0, 25, 50, 75)  # four overlapping ranges of 50: each item is offered twice


def plain_append() -> None:
    shared_list: list[int] = []

    def append_items(items: range) -> None:
        for item in items:
            shared_list.append(item)  # one operation: atomic in CPython

    threads = [
        threading.Thread(target=append_items, args=(range(t * APPENDS, (t + 1) * APPENDS),))
        for t in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lost = THREADS * APPENDS - len(shared_list)
    print(
        f"Python, {THREADS} threads x {APPENDS:,} shared_list.append(): "
        f"{len(shared_list):,} items, {lost} lost (one append is atomic)"
    )


def check_then_append() -> None:
    shared_list: list[int] = []
    # Stands in for a preemption between the check and the append.
    unlucky = threading.Barrier(2, timeout=30)

    def append_if_missing(item: int) -> None:
        if item not in shared_list:
            unlucky.wait()  # both threads have checked; neither has appended
            shared_list.append(item)

    threads = [threading.Thread(target=append_if_missing, args=(7,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(
        "Python, check-then-append, both threads preempted between the check and the append: "
        f"{shared_list} (a duplicate)"
    )


def with_threading_lock() -> None:
    shared_list: list[int] = []
    lock = threading.Lock()

    def safe_append(items: range) -> None:
        for item in items:
            with lock:  # every caller must remember this line
                if item not in shared_list:
                    shared_list.append(item)

    threads = [
        threading.Thread(target=safe_append, args=(range(start, start + 50),)) for start in STARTS
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    duplicates = len(shared_list) - len(set(shared_list))
    print(
        f"Python, threading.Lock, {THREADS} threads offering 0..124 twice: "
        f"{len(shared_list)} unique items, duplicates: {duplicates}"
    )


def safe_append(shared: Mutex[list[int]], items: range) -> None:
    for item in items:
        with shared.lock() as guard:  # the only way to the list
            if item not in guard.value:
                guard.value.append(item)


def with_fearless_mutex() -> None:
    shared: Mutex[list[int]] = Mutex([])
    handles = [spawn(safe_append, shared, range(start, start + 50)) for start in STARTS]
    for h in handles:
        h.join()
    print(
        "fearless, forgetting the lock: impossible, a Mutex has no .value "
        f"(hasattr: {hasattr(shared, 'value')}), only lock()"
    )
    items = shared.into_inner()
    print(
        f"fearless, Mutex[list[int]], the same {THREADS} threads: "
        f"{len(items)} unique items, duplicates: {len(items) - len(set(items))}"
    )
    print(f"  first {sorted(items)[:5]} last {sorted(items)[-5:]}")


def push(shared: Arc[Mutex[list[int]]], i: int) -> None:
    with shared.value.lock() as data:  # the lock is required to reach the list
        data.value.append(i)
    # released at the end of the with block: no "forgetting to unlock"


def rust_arc_mutex_vec() -> None:
    print(f"Rust's Arc<Mutex<Vec>>, {THREADS} threads pushing:")
    shared: Arc[Mutex[list[int]]] = Arc(Mutex([]))
    handles = [spawn(push, shared.clone(), i) for i in range(THREADS)]
    for h in handles:
        h.join()
    with shared.value.lock() as data:
        print(sorted(data.value), "(sorted: the threads push in any order)")
    print("strong count after the joins:", shared.strong_count())


def main() -> None:
    plain_append()
    check_then_append()
    with_threading_lock()
    with_fearless_mutex()
    rust_arc_mutex_vec()


if __name__ == "__main__":
    main()
