"""Threads <-> asyncio through one channel, against janus and culsans.

    python -m benchmarks.bench_bridge      # from the repository's root

Target (issue 4): the thread <-> asyncio bridge faster than ``janus`` and
``culsans`` on both builds, both ways: a producer thread feeding a consumer
coroutine (unbounded), and a producer coroutine feeding a consumer thread
(bounded, capacity 64, so the coroutine really waits for room). Ratios are
time relative to ``janus`` in the same run (lower is faster). The peers are
measured only when importable; they are never dependencies.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
from collections.abc import Callable
from typing import Any

from benchmarks._timing import compare, interpreter, report
from fearless.mpsc import channel, sync_channel

N = 200_000 // (10 if "--quick" in sys.argv else 1)
CAPACITY = 64


def _peer(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        print(f"  (skipped {name}: not installed)")
        return None


def fearless_thread_to_coroutine() -> None:
    async def main() -> int:
        tx, rx = channel[int]()

        def produce() -> None:
            with tx:
                send = tx.send
                for i in range(N):
                    send(i)

        thread = threading.Thread(target=produce)
        thread.start()
        n = 0
        async for _ in rx:
            n += 1
        thread.join()
        return n

    assert asyncio.run(main()) == N


def fearless_coroutine_to_thread() -> None:
    async def main() -> int:
        tx, rx = sync_channel[int](CAPACITY)
        got = [0]

        def consume() -> None:
            got[0] = sum(1 for _ in rx)

        thread = threading.Thread(target=consume)
        thread.start()
        with tx:
            send = tx.send_async
            for i in range(N):
                await send(i)
        thread.join()
        return got[0]

    assert asyncio.run(main()) == N


def peer_thread_to_coroutine(module: Any) -> Callable[[], None]:
    def run() -> None:
        async def main() -> int:
            q = module.Queue()

            def produce() -> None:
                put = q.sync_q.put
                for i in range(N):
                    put(i)

            thread = threading.Thread(target=produce)
            thread.start()
            get = q.async_q.get
            for _ in range(N):
                await get()
            thread.join()
            q.close()
            await q.wait_closed()
            return N

        asyncio.run(main())

    return run


def peer_coroutine_to_thread(module: Any) -> Callable[[], None]:
    def run() -> None:
        async def main() -> None:
            q = module.Queue(CAPACITY)

            def consume() -> None:
                get = q.sync_q.get
                for _ in range(N):
                    get()

            thread = threading.Thread(target=consume)
            thread.start()
            put = q.async_q.put
            for i in range(N):
                await put(i)
            thread.join()
            q.close()
            await q.wait_closed()

        asyncio.run(main())

    return run


def main() -> None:
    print(f"Thread <-> asyncio bridge benchmarks on {interpreter()}")
    peers = {name: m for name in ("janus", "culsans") if (m := _peer(name)) is not None}
    if "janus" not in peers:
        print("  janus is the baseline; install it to compare")
        return
    for title, ours, theirs in (
        (
            f"thread -> coroutine, unbounded, {N:,} ints",
            fearless_thread_to_coroutine,
            peer_thread_to_coroutine,
        ),
        (
            f"coroutine -> thread, capacity {CAPACITY}, {N:,} ints",
            fearless_coroutine_to_thread,
            peer_coroutine_to_thread,
        ),
    ):
        cases: dict[str, Callable[[], object]] = {
            f"{name}.Queue": theirs(module) for name, module in peers.items()
        }
        cases["fearless channel"] = ours
        report(title, compare(cases, repeats=5), "janus.Queue", 1.0)


if __name__ == "__main__":
    main()
