"""The chapter's exercise "Thread-Safe Counter", ported.

The challenge: "spawn 10 threads, each incrementing a shared counter 1000
times. Print the final value (should be 10000). Use ``Arc<Mutex<u64>>``."
The Rust solution:

    let counter = Arc::new(Mutex::new(0u64));
    let mut handles = vec![];
    for _ in 0..10 {
        let counter = Arc::clone(&counter);
        handles.push(thread::spawn(move || {
            for _ in 0..1000 {
                let mut num = counter.lock().unwrap();
                *num += 1;
            }
        }));
    }
    for handle in handles { handle.join().unwrap(); }
    println!("Final count: {}", *counter.lock().unwrap());

The port reads line for line: ``Arc::clone(&counter)`` is
``counter.clone()``, ``counter.lock().unwrap()`` is ``counter.value.lock()``
(a failure raises instead of returning ``Err``), and ``*num += 1`` is
``num.value += 1``. Each thread's clone is dropped when the thread ends, as
with Rust's ``move`` closures, and ``join()`` re-raises a thread's exception
the way ``.unwrap()`` propagates a panic. The chapter's point holds here
too: the count is reachable only through the lock, so the program cannot be
written the racy way by accident — it prints 10000 on every run, with the
GIL or without it.
"""

from __future__ import annotations

from fearless import Arc, Mutex, spawn

THREADS = 10
INCREMENTS = 1000


def work(counter: Arc[Mutex[int]]) -> None:
    for _ in range(INCREMENTS):
        with counter.value.lock() as num:  # the lock is required to reach the count
            num.value += 1


def main() -> None:
    counter = Arc(Mutex(0))
    handles = [spawn(work, counter.clone()) for _ in range(THREADS)]
    for handle in handles:
        handle.join()  # re-raises if the thread failed: Rust's .unwrap()
    with counter.value.lock() as num:
        print(f"Final count: {num.value}")


if __name__ == "__main__":
    main()
