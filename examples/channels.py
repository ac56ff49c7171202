"""The chapter's "``queue.Queue()`` ↔ ``mpsc::channel()``" row, ported as a program.

The Rust idiom the row stands for:

    let (tx, rx) = mpsc::channel();
    for id in 0..3 {
        let tx = tx.clone();
        thread::spawn(move || {
            for job in 0..3 {
                tx.send((id, job)).unwrap();
            }
        });
    }
    drop(tx);                 // keep no sender here...
    for msg in rx {           // ...so the loop ends when every worker is done
        println!("{msg:?}");
    }

With ``queue.Queue`` the consumer cannot tell that the producers are done:
each producer must send a sentinel, and the consumer must count them. A
channel knows its senders: iteration ends when the last one is gone. Each
``spawn`` drops its arguments when its thread ends — Rust's ``move``
closure — so the workers' senders go with them.
"""

from __future__ import annotations

import queue
import threading

from fearless import spawn
from fearless.mpsc import RecvTimeoutError, Sender, SendError, after, channel, select, sync_channel

WORKERS = 3
JOBS = 3
DONE = object()  # queue.Queue needs a sentinel


def with_queue() -> None:
    q: queue.Queue[object] = queue.Queue()

    def work(worker: int) -> None:
        for job in range(JOBS):
            q.put((worker, job))
        q.put(DONE)  # forget this, and the consumer below waits for ever

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    received, done = 0, 0
    while done < WORKERS:
        if q.get() is DONE:
            done += 1
        else:
            received += 1
    for t in threads:
        t.join()
    print(f"queue.Queue: {received} messages, needed {WORKERS} sentinels to know when to stop")


def with_channel() -> None:
    tx, rx = channel[tuple[int, int]]()

    def work(tx: Sender[tuple[int, int]], worker: int) -> None:
        for job in range(JOBS):
            tx.send((worker, job))

    handles = [spawn(work, tx.clone(), w) for w in range(WORKERS)]
    tx.close()  # Rust's drop(tx)
    received = list(rx)  # ends when the last worker's sender is gone
    for h in handles:
        h.join()
    print(f"channel:     {len(received)} messages, the loop ended when the last Sender was gone")
    for worker in range(WORKERS):
        jobs = [job for w, job in received if w == worker]
        print(f"worker {worker} sent {jobs} in order")


def rendezvous() -> None:
    tx, rx = sync_channel[str](0)
    handle = spawn(tx.send, "ping")  # blocks until the receiver takes it
    print(f"sync_channel(0): {rx.recv()!r} handed over; the sender waited for the receiver")
    handle.join()


def receiver_gone() -> None:
    tx, rx = channel[str]()
    rx.close()  # Rust's drop(rx)
    try:
        tx.send("late")
    except SendError as e:
        print(f"SendError: {e} (value={e.value!r})")


def selecting() -> None:
    results, rx = channel[str]()
    results.send("result")
    got = select(rx, after(5.0))
    print(f"select: {got.value!r} arrived before the 5 s timeout")
    try:
        select(rx, timeout=0.01)
    except RecvTimeoutError as e:
        print(f"timed out: {e}")


def main() -> None:
    with_queue()
    with_channel()
    rendezvous()
    receiver_gone()
    selecting()


if __name__ == "__main__":
    main()
