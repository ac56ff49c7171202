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

The Python threads share the Mutex object itself; ``Arc`` (shared ownership
with exact counts) arrives in a later release and changes nothing here.
"""

from __future__ import annotations

from contextlib import suppress

from fearless import Mutex, PoisonError, spawn


def thread_safe_counter() -> None:
    counter = Mutex(0)

    def work() -> None:
        for _ in range(1000):
            with counter.lock() as num:  # the lock is required to reach the count
                num.value += 1

    handles = [spawn(work) for _ in range(10)]
    for handle in handles:
        handle.join()  # re-raises if the thread failed: Rust's .unwrap()
    with counter.lock() as num:
        print(f"Final count: {num.value}")


def mutex_poisoning() -> None:
    data = Mutex([1, 2, 3])

    def push_then_fail() -> None:
        with data.lock() as guard:
            guard.value.append(4)
            raise RuntimeError("oops!")  # the lock is now poisoned

    # join() re-raises the thread's exception; Rust's `let _ = ...join();`
    # ignores the panic, and so does suppress().
    with suppress(RuntimeError):
        spawn(push_then_fail).join()

    try:
        with data.lock() as guard:
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
