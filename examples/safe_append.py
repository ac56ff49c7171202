"""The chapter's check-then-append race, made impossible to write by accident.

The chapter's Python guards ``if item not in shared_list: append`` with a
separate ``threading.Lock`` — and warns that forgetting the lock gives no
warning. Here the list lives inside a ``Mutex``: the only way to the list is
a guard, so the check and the append always happen under the lock.
"""

from __future__ import annotations

from fearless import Mutex, spawn


def safe_append(shared: Mutex[list[int]], items: range) -> None:
    for item in items:
        with shared.lock() as guard:
            if item not in guard.value:
                guard.value.append(item)


def main() -> None:
    shared: Mutex[list[int]] = Mutex([])
    # Four threads with overlapping ranges: every item in 0..99 is offered
    # by two threads, yet each appears exactly once.
    handles = [spawn(safe_append, shared, range(start, start + 50)) for start in (0, 25, 50, 75)]
    for h in handles:
        h.join()
    items = shared.into_inner()
    print(f"{len(items)} unique items, duplicates: {len(items) - len(set(items))}")
    print(f"first {sorted(items)[:5]} last {sorted(items)[-5:]}")


if __name__ == "__main__":
    main()
