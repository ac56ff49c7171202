"""The chapter's exercise "Thread-Safe Counter", and its "Mutex Poisoning" snippet, ported.

The exercise's Rust solution:

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

and the poisoning snippet:

    let data = Arc::new(Mutex::new(vec![1, 2, 3]));
    let data2 = Arc::clone(&data);
    let _ = thread::spawn(move || {
        let mut guard = data2.lock().unwrap();
        guard.push(4);
        panic!("oops!");  // Lock is now poisoned
    }).join();
    match data.lock() {
        Ok(guard) => println!("Data: {guard:?}"),
        Err(poisoned) => {
            println!("Lock was poisoned! Recovering...");
            let guard = poisoned.into_inner();
            println!("Recovered: {guard:?}");  // [1, 2, 3, 4]
        }
    }

``Arc::clone(&counter)`` is ``counter.clone()``; each thread's clone is
dropped when the thread ends, as with Rust's ``move`` closures.
"""

from __future__ import annotations

from contextlib import suppress

from fearless import Arc, Mutex, PoisonError, spawn


def thread_safe_counter() -> None:
    counter = Arc(Mutex(0))

    def work(counter: Arc[Mutex[int]]) -> None:
        for _ in range(1000):
            with counter.value.lock() as num:  # the lock is required to reach the count
                num.value += 1

    handles = [spawn(work, counter.clone()) for _ in range(10)]
    for handle in handles:
        handle.join()  # re-raises if the thread failed: Rust's .unwrap()
    with counter.value.lock() as num:
        print(f"Final count: {num.value}")


def mutex_poisoning() -> None:
    data = Arc(Mutex([1, 2, 3]))
    data2 = data.clone()

    def push_then_fail(data2: Arc[Mutex[list[int]]]) -> None:
        with data2.value.lock() as guard:
            guard.value.append(4)
            raise RuntimeError("oops!")  # the lock is now poisoned

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


def main() -> None:
    thread_safe_counter()
    mutex_poisoning()


if __name__ == "__main__":
    main()
