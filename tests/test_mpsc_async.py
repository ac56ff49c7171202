"""fearless.mpsc from coroutines: recv_async, send_async, async for — beside threads."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from _helpers import STRESS, TIMEOUT, Worker
from fearless._mpsc.waiting import _AsyncWaiter
from fearless.mpsc import (
    ConcurrentRecvError,
    Receiver,
    RecvError,
    SendError,
    SyncSender,
    channel,
    sync_channel,
)


def async_parked(rx: Receiver[Any]) -> bool:
    chan: Any = rx._shared
    return isinstance(chan.waiter, _AsyncWaiter)


def async_senders_parked(tx: SyncSender[Any]) -> int:
    chan: Any = tx._shared
    waiters = chan.send_waiters if hasattr(chan, "send_waiters") else chan.offers
    return len(waiters)


def run(coro: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TIMEOUT)

    return asyncio.run(bounded())


def test_a_channel_needs_no_event_loop_to_be_created() -> None:
    tx, rx = channel[int]()  # no loop running here
    tx.send(1)
    assert run(rx.recv_async()) == 1


def test_recv_async_wakes_on_a_send_from_another_thread() -> None:
    tx, rx = channel[str]()

    async def main() -> str:
        task = asyncio.ensure_future(rx.recv_async())
        await asyncio.sleep(0)
        while not async_parked(rx):
            await asyncio.sleep(0.001)
        Worker(tx.send, "from a thread").join()
        return await task

    assert run(main()) == "from a thread"


def test_async_for_ends_when_every_sender_is_gone() -> None:
    tx, rx = channel[int]()

    def produce(tx: Any) -> None:
        with tx:
            for i in range(100):
                tx.send(i)

    worker = Worker(produce, tx)
    del tx

    async def main() -> list[int]:
        return [msg async for msg in rx]

    assert run(main()) == list(range(100))
    worker.join()


def test_recv_async_raises_recv_error_when_the_last_sender_closes_in_a_thread() -> None:
    tx, rx = channel[int]()

    async def main() -> None:
        task = asyncio.ensure_future(rx.recv_async())
        while not async_parked(rx):
            await asyncio.sleep(0.001)
        Worker(tx.close).join()
        with pytest.raises(RecvError):
            await task

    run(main())


def test_recv_async_notices_a_sender_garbage_collected_in_another_thread() -> None:
    tx, rx = channel[int]()
    box = [tx]
    del tx

    async def main() -> None:
        task = asyncio.ensure_future(rx.recv_async())
        while not async_parked(rx):
            await asyncio.sleep(0.001)
        Worker(box.clear).join()
        with pytest.raises(RecvError):
            await task

    run(main())


@pytest.mark.parametrize("bound", [0, 1])
def test_send_async_waits_for_room_while_a_thread_receives(bound: int) -> None:
    tx, rx = sync_channel[int](bound)
    received = Worker(lambda: [rx.recv(timeout=TIMEOUT) for _ in range(20)])

    async def main() -> None:
        for i in range(20):
            await tx.send_async(i)

    run(main())
    assert received.join() == list(range(20))


@pytest.mark.parametrize("bound", [0, 1])
def test_send_async_raises_send_error_when_the_receiver_goes(bound: int) -> None:
    tx, rx = sync_channel[str](bound)
    if bound:
        tx.send("fills it")

    async def main() -> None:
        task = asyncio.ensure_future(tx.send_async("blocked"))
        while not async_senders_parked(tx):
            await asyncio.sleep(0.001)
        Worker(rx.close).join()
        with pytest.raises(SendError) as info:
            await task
        assert info.value.value == "blocked"

    run(main())


def test_cancelled_recv_async_loses_no_message() -> None:
    tx, rx = channel[int]()

    async def main() -> None:
        task = asyncio.ensure_future(rx.recv_async())
        while not async_parked(rx):
            await asyncio.sleep(0.001)
        tx.send(1)  # the wake is scheduled; cancel before the task runs again
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not async_parked(rx)

    run(main())
    assert rx.try_recv() == 1


def test_cancelled_send_async_sends_nothing_and_passes_the_room_on() -> None:
    tx, rx = sync_channel[int](1)
    tx.send(0)

    async def main() -> None:
        first = asyncio.ensure_future(tx.send_async(1))
        second = asyncio.ensure_future(tx.send_async(2))
        while async_senders_parked(tx) < 2:
            await asyncio.sleep(0.001)
        assert rx.recv() == 0  # room for one: wakes the first waiter...
        first.cancel()  # ...which is cancelled before it can use it
        with pytest.raises(asyncio.CancelledError):
            await first
        await second  # the room was passed on

    run(main())
    assert list(rx.try_iter()) == [2]


def test_cancelled_rendezvous_send_async_is_withdrawn() -> None:
    tx, rx = sync_channel[int](0)

    async def main() -> None:
        task = asyncio.ensure_future(tx.send_async(1))
        while not async_senders_parked(tx):
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert not async_senders_parked(tx)
    tx.close()
    with pytest.raises(RecvError):
        rx.try_recv()


def test_two_tasks_receiving_at_once_raise_a_clear_error() -> None:
    tx, rx = channel[int]()

    async def main() -> None:
        task = asyncio.ensure_future(rx.recv_async())
        while not async_parked(rx):
            await asyncio.sleep(0.001)
        with pytest.raises(ConcurrentRecvError):
            await rx.recv_async()
        with pytest.raises(ConcurrentRecvError):
            rx.recv(timeout=0)
        tx.send(5)
        assert await task == 5

    run(main())


def test_a_thread_and_a_coroutine_share_a_channel_with_two_loops_sending() -> None:
    # Producers: two threads (blocking) and two event loops in two more
    # threads (async), all on one bounded channel; one async consumer.
    count = 300 * STRESS
    tx, rx = sync_channel[tuple[str, int]](2)

    def blocking(name: str, tx: Any) -> None:
        with tx:
            for i in range(count):
                tx.send((name, i))

    def in_loop(name: str, tx: Any) -> None:
        async def produce() -> None:
            with tx:
                for i in range(count):
                    await tx.send_async((name, i))

        asyncio.run(produce())

    workers = [
        Worker(blocking, "t0", tx.clone()),
        Worker(blocking, "t1", tx.clone()),
        Worker(in_loop, "a0", tx.clone()),
        Worker(in_loop, "a1", tx.clone()),
    ]
    tx.close()

    async def consume() -> list[tuple[str, int]]:
        return [msg async for msg in rx]

    got = run(consume())
    for w in workers:
        w.join()
    for name in ("t0", "t1", "a0", "a1"):
        assert [i for n, i in got if n == name] == list(range(count))


def test_wakers_tolerate_a_closed_loop() -> None:
    loop = asyncio.new_event_loop()
    waiter = _AsyncWaiter(loop)
    loop.close()
    assert waiter.claim()
    waiter.wake()  # nothing to wake any more; must not raise
    assert not waiter.claim()
