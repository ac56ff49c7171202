"""The chapter's "True Parallelism" counter and its Acquire/Release note, ported.

The chapter's Rust:

    let counter = Arc::new(AtomicI64::new(0));
    let handles: Vec<_> = (0..4).map(|_| {
        let counter = Arc::clone(&counter);
        thread::spawn(move || {
            for _ in 0..1_000_000 {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
    }).collect();
    for h in handles { h.join().unwrap(); }
    println!("Counter: {}", counter.load(Ordering::Relaxed)); // Always 4,000,000

The Python version next to it, ``counter += 1`` on a global from four
threads, "might not be 4,000,000"; this one always is, with or without the
GIL. The chapter's counts are kept (4 threads x 1,000,000 increments) unless
``FEARLESS_EXAMPLE_QUICK`` is set, as the test suite does to save time.

The ordering note — "Producer-consumer: writer uses Release, reader uses
Acquire" — is the second half: the producer writes its data, then stores a
flag with ``Release``; the consumer waits for the flag with ``Acquire``
loads and only then reads the data.
"""

from __future__ import annotations

import os
import time

from fearless import Arc, spawn
from fearless.atomic import AtomicBool, AtomicI64, Ordering

INCREMENTS = 10_000 if os.environ.get("FEARLESS_EXAMPLE_QUICK") else 1_000_000


def work(counter: Arc[AtomicI64]) -> None:
    for _ in range(INCREMENTS):
        counter.value.fetch_add(1, Ordering.Relaxed)


def parallel_counter() -> None:
    counter = Arc(AtomicI64(0))
    handles = [spawn(work, counter.clone()) for _ in range(4)]
    for h in handles:
        h.join()
    total = counter.value.load(Ordering.Relaxed)
    print(f"Counter: {total:,} (4 threads x {INCREMENTS:,}: always exact)")


def release_acquire() -> None:
    data: list[int] = []
    ready = AtomicBool(False)

    def producer() -> None:
        data.extend([1, 2, 3])  # plain writes...
        ready.store(True, Ordering.Release)  # ...published by the Release store

    def consumer() -> int:
        while not ready.load(Ordering.Acquire):  # Acquire pairs with Release
            time.sleep(0)  # Rust's std::thread::yield_now()
        return sum(data)  # sees every write made before the store

    reader = spawn(consumer)
    spawn(producer).join()
    print(f"consumer saw the published data: sum = {reader.join()}")


def main() -> None:
    parallel_counter()
    release_acquire()


if __name__ == "__main__":
    main()
