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
without the lock — the part of Rust's guarantee a library can give. Each
thread gets its own ``Arc`` clone, moved into it as Rust's ``move`` closure
does: ``spawn`` drops its arguments when the thread ends, so after the joins
the strong count is back to one.
"""

from __future__ import annotations

from fearless import Arc, Mutex, spawn


def push(shared: Arc[Mutex[list[int]]], i: int) -> None:
    with shared.value.lock() as data:  # the lock is required to reach the list
        data.value.append(i)
    # released at the end of the with block: no "forgetting to unlock"


def main() -> None:
    shared: Arc[Mutex[list[int]]] = Arc(Mutex([]))
    handles = [spawn(push, shared.clone(), i) for i in range(4)]
    for h in handles:
        h.join()
    with shared.value.lock() as data:
        print(sorted(data.value), "(sorted: the threads push in any order)")
    print("strong count after the joins:", shared.strong_count())


if __name__ == "__main__":
    main()
