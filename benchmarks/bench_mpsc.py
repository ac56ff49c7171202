"""Channels against ``queue.Queue``: SPSC, MPSC and bounded.

    python -m benchmarks.bench_mpsc            # from the repository's root
    python -m benchmarks.bench_mpsc --quick    # a smoke run (10x fewer messages)

Targets (issue 4), as ratios to ``queue.Queue`` measured in the same run:
SPSC unbounded (1,000,000 ints) and 4 producers x 250,000 -> 1 consumer
faster than ``aiologic.SimpleQueue`` (0.24x on 3.11, 0.46x on 3.13t);
bounded capacity 64 (500,000 ints) <= 0.5x ``queue.Queue(maxsize=64)``.

``queue.SimpleQueue`` (C) is shown for reference. Optional peers —
``aiologic``, ``janus``, ``culsans`` — are measured only if importable;
they are never dependencies.
"""

from __future__ import annotations

import importlib
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any

from benchmarks._timing import GIL, compare, interpreter, report
from fearless.mpsc import channel, sync_channel

SCALE = 10 if "--quick" in sys.argv else 1
SPSC = 1_000_000 // SCALE
PRODUCERS = 4
PER_PRODUCER = 250_000 // SCALE
BOUNDED = 500_000 // SCALE
CAPACITY = 64
STOP = None


def _run(producers: list[Callable[[], None]], consumer: Callable[[], int], expected: int) -> None:
    """Start the producers and the consumer behind a barrier; check the count."""
    start = threading.Barrier(len(producers) + 1)
    received = [0]

    def consume() -> None:
        start.wait()
        received[0] = consumer()

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            start.wait()
            fn()

        return run

    threads = [threading.Thread(target=wrap(p)) for p in producers]
    threads.append(threading.Thread(target=consume))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert received[0] == expected, (received[0], expected)


# -- queue-like peers: put/get with a sentinel per producer ----------------------


def queue_case(make: Callable[[], Any], nproducers: int, per_producer: int) -> Callable[[], None]:
    """A case for any object with ``put``/``get`` (stdlib queues, aiologic, janus.sync_q)."""

    def case() -> None:
        q = make()
        # aiologic spells the blocking calls green_put/green_get.
        put = getattr(q, "put", None) or q.green_put
        get = getattr(q, "get", None) or q.green_get

        def produce() -> None:
            for i in range(per_producer):
                put(i)
            put(STOP)

        def consume() -> int:
            n = 0
            stops = 0
            while True:
                item = get()
                if item is STOP:
                    stops += 1
                    if stops == nproducers:
                        return n
                else:
                    n += 1

        _run([produce] * nproducers, consume, nproducers * per_producer)

    return case


def fearless_unbounded(nproducers: int, per_producer: int) -> Callable[[], None]:
    def case() -> None:
        tx, rx = channel[int]()
        senders = [tx.clone() for _ in range(nproducers)]
        tx.close()

        def producer(tx: Any) -> Callable[[], None]:
            def produce() -> None:
                send = tx.send
                for i in range(per_producer):
                    send(i)
                tx.close()

            return produce

        def consume() -> int:
            n = 0
            for _ in rx:
                n += 1
            return n

        _run([producer(s) for s in senders], consume, nproducers * per_producer)

    return case


def fearless_bounded(capacity: int, count: int) -> Callable[[], None]:
    def case() -> None:
        tx, rx = sync_channel[int](capacity)

        def produce() -> None:
            send = tx.send
            for i in range(count):
                send(i)
            tx.close()

        def consume() -> int:
            n = 0
            for _ in rx:
                n += 1
            return n

        _run([produce], consume, count)

    return case


def optional_peers(nproducers: int, per_producer: int, maxsize: int = 0) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    try:
        aiologic: Any = importlib.import_module("aiologic")
    except ImportError:
        pass
    else:
        if maxsize:
            cases["aiologic.Queue"] = queue_case(
                lambda: aiologic.Queue(maxsize), nproducers, per_producer
            )
        else:
            cases["aiologic.SimpleQueue"] = queue_case(
                aiologic.SimpleQueue, nproducers, per_producer
            )
    for name in ("janus", "culsans"):
        try:
            module: Any = importlib.import_module(name)
        except ImportError:
            continue

        def make(module: Any = module) -> Any:
            # Their queues need a running event loop only for the async side.
            return module.Queue(maxsize).sync_q

        try:
            make()
        except RuntimeError:  # some versions insist on a running loop
            continue
        cases[f"{name}.Queue.sync_q"] = queue_case(make, nproducers, per_producer)
    return cases


def main() -> None:
    print(f"Channel benchmarks on {interpreter()}{' (quick)' if SCALE > 1 else ''}")
    target = 0.24 if GIL else 0.46
    report(
        f"SPSC unbounded, {SPSC:,} ints",
        compare(
            {
                "queue.Queue": queue_case(queue.Queue, 1, SPSC),
                "queue.SimpleQueue (C)": queue_case(queue.SimpleQueue, 1, SPSC),
                **optional_peers(1, SPSC),
                "fearless channel": fearless_unbounded(1, SPSC),
            },
            repeats=5,
        ),
        "queue.Queue",
        target,
    )
    report(
        f"MPSC unbounded, {PRODUCERS} producers x {PER_PRODUCER:,} ints -> 1 consumer",
        compare(
            {
                "queue.Queue": queue_case(queue.Queue, PRODUCERS, PER_PRODUCER),
                "queue.SimpleQueue (C)": queue_case(queue.SimpleQueue, PRODUCERS, PER_PRODUCER),
                **optional_peers(PRODUCERS, PER_PRODUCER),
                "fearless channel": fearless_unbounded(PRODUCERS, PER_PRODUCER),
            },
            repeats=5,
        ),
        "queue.Queue",
        target,
    )
    report(
        f"bounded (capacity {CAPACITY}), SPSC {BOUNDED:,} ints",
        compare(
            {
                f"queue.Queue(maxsize={CAPACITY})": queue_case(
                    lambda: queue.Queue(CAPACITY), 1, BOUNDED
                ),
                **optional_peers(1, BOUNDED, CAPACITY),
                f"fearless sync_channel({CAPACITY})": fearless_bounded(CAPACITY, BOUNDED),
            },
            repeats=5,
        ),
        f"queue.Queue(maxsize={CAPACITY})",
        0.5,
    )


if __name__ == "__main__":
    main()
