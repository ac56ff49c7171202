"""Where Rust would deadlock, fearless raises ``DeadlockError`` at once.

Re-locking a ``std::sync::Mutex`` on the thread that holds it hangs forever
(or panics). A ``threading.Lock`` hangs too. fearless notices and raises.
"""

from __future__ import annotations

from fearless import DeadlockError, Mutex, WouldBlockError


def main() -> None:
    config = Mutex({"retries": 3})
    with config.lock() as guard:
        try:
            config.lock()  # a threading.Lock would hang here forever
        except DeadlockError as e:
            print(f"DeadlockError: {e}")
        try:
            config.try_lock()  # try_lock never blocks and never deadlocks
        except WouldBlockError as e:
            print(f"WouldBlockError: {e}")
        guard.value["retries"] += 1
    print("after the block:", config)


if __name__ == "__main__":
    main()
