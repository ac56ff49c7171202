"""Arc<Mutex<Vec<i32>>> with four threads pushing, ported.

The chapter's Rust:

    let shared = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..4).map(|i| {
        let shared = Arc::clone(&shared);
        thread::spawn(move || {
            let mut data = shared.lock().unwrap();
            data.push(i);
        })
    }).collect();
    for h in handles { h.join().unwrap(); }
    println!("{:?}", shared.lock().unwrap()); // [0, 1, 2, 3] (order may vary)

In Python the list lives *inside* the mutex, so there is no way to reach it
without the lock — the part of Rust's guarantee a library can give.
"""

from __future__ import annotations

from fearless import Mutex, spawn


def push(shared: Mutex[list[int]], i: int) -> None:
    with shared.lock() as data:  # the lock is required to reach the list
        data.value.append(i)
    # released at the end of the with block: no "forgetting to unlock"


def main() -> None:
    shared: Mutex[list[int]] = Mutex([])
    handles = [spawn(push, shared, i) for i in range(4)]
    for h in handles:
        h.join()
    with shared.lock() as data:
        print(sorted(data.value), "(sorted: the threads push in any order)")


if __name__ == "__main__":
    main()
