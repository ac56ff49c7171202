"""The chapter's "Python's GIL Problem", run for real and measured on this interpreter.

The chapter's Python:

    counter = 0

    def increment(n):
        global counter
        for _ in range(n):
            counter += 1  # NOT thread-safe! But GIL "protects" simple operations

    threads = [threading.Thread(target=increment, args=(1_000_000,)) for _ in range(4)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start

    print(f"Counter: {counter}")    # Might not be 4,000,000!
    print(f"Time: {elapsed:.2f}s")  # About the SAME as single-threaded (GIL)

    # For true parallelism, Python requires multiprocessing:
    from multiprocessing import Pool
    with Pool(4) as pool:
        results = pool.map(cpu_work, data)  # Separate processes, pickle overhead

and the chart it opens with: four threads doing CPU-bound work, one after
the other under the GIL, all at once in Rust.

This program runs each claim instead of quoting it. ``counter += 1`` runs
on four real ``threading.Thread`` objects (4 x 1,000,000; much less under
``FEARLESS_EXAMPLE_QUICK``), then with a ``threading.Lock``; the threads
start behind a barrier, so that they really race. Each run is timed, and
the speed-up over one thread is *measured*: the same total on one thread,
divided by the time on four. When updates were lost, it says how many;
when none were, it says that this run was lucky, not safe. With the GIL,
CPython 3.10+ switches threads only at a few instructions (a call, a
loop's jump back), none of them inside this ``counter += 1``, so lost
updates are rare there -- an accident of the implementation, not a
promise; on free-threaded 3.13t they are the rule.

Then the chart, measured live: a pure-Python loop (no shared state) on four
threads. Each thread notes, after every small slice of work, the wall clock
(``time.perf_counter``) and its own CPU clock (``time.thread_time``); a
thread that waits for the GIL, or for a core, gains wall time but no CPU
time. The terminal chart draws one row per thread on a common time axis --
``█`` where the thread ran, ``░`` where it had started but waited -- and a
last row with how many threads ran at once. Under the GIL the rows take
turns (the work is serialised: CPU time / wall = 1.0x); on 3.13t they
overlap, as far as the cores allow (this program says how many there are:
four threads on two cores give 2x, not Rust's 4x). ``--plot FILE.png``
draws the same timeline with matplotlib, imported only then.

Last, the chapter's way out, ``multiprocessing.Pool(4).map``: the same work
in four processes, timed with their start-up, which is what the chapter's
"separate processes, pickle overhead" costs. The program imports nothing
that could re-enable the GIL on 3.13t before it has measured.
"""

from __future__ import annotations

import argparse
import bisect
import multiprocessing
import os
import platform
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

QUICK = bool(os.environ.get("FEARLESS_EXAMPLE_QUICK"))
THREADS = 4
INCREMENTS = 50_000 if QUICK else 1_000_000
#: Pure-Python iterations in one slice of the timeline's work (well under 1 ms).
SLICE = 1_000
#: CPU time each timeline thread spends working, in seconds: short enough for
#: the chart's columns to show the GIL's 5 ms turns.
WORK_SECONDS = 0.03 if QUICK else 0.06
COLUMNS = 64

counter = 0
lock = threading.Lock()


def gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def cpu_cores() -> int:
    """The cores this process may run on."""
    count = getattr(os, "process_cpu_count", None)  # 3.13+
    if count is not None:
        return int(count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def interpreter() -> str:
    build = "free-threaded build, " if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
    if not gil_enabled():
        state = "GIL off"
    elif build:
        state = "GIL on (re-enabled)"  # PYTHON_GIL=1, or a module that needs the GIL
    else:
        state = "GIL on"
    cores = cpu_cores()
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}, "
        f"{build}{state}); {cores} CPU core{'s' if cores != 1 else ''}"
    )


# -- the counters ---------------------------------------------------------------


def increment(n: int, start: threading.Barrier) -> None:
    global counter
    start.wait(timeout=60)
    for _ in range(n):
        counter += 1  # NOT thread-safe: read, add, write back


def increment_locked(n: int, start: threading.Barrier) -> None:
    global counter
    start.wait(timeout=60)
    for _ in range(n):
        with lock:
            counter += 1


def run_threads(target: Callable[[int, threading.Barrier], None], threads: int, n: int) -> float:
    """Run ``target(n)`` on ``threads`` threads started together; the wall time."""
    start = threading.Barrier(threads + 1, timeout=60)
    workers = [threading.Thread(target=target, args=(n, start)) for _ in range(threads)]
    for t in workers:
        t.start()
    began = time.perf_counter()
    start.wait()  # the chapter starts them one by one; here they really race
    for t in workers:
        t.join()
    return time.perf_counter() - began


def speed_up(one: float, many: float) -> str:
    total = THREADS * INCREMENTS
    return f"{total:,} on 1 thread: {one:.2f}s; speed-up over 1 thread: {one / many:.2f}x"


def plain_counter() -> None:
    global counter
    print(f"counter += 1 on a global, no lock: {THREADS} threads x {INCREMENTS:,}")
    counter = 0
    many = run_threads(increment, THREADS, INCREMENTS)
    total = counter
    counter = 0
    one = run_threads(increment, 1, THREADS * INCREMENTS)
    print(f"  Counter: {total:,}   Time: {many:.2f}s")
    lost = THREADS * INCREMENTS - total
    if lost:
        print(f"  lost {lost:,} updates (a thread wrote between another's read and write)")
    elif gil_enabled():
        print("  no update lost this run: the GIL made it look safe; nothing guarantees it")
    else:
        print("  no update lost this run, by luck of timing; nothing guarantees it")
    print(f"  {speed_up(one, many)}")


def locked_counter() -> None:
    global counter
    print(f"with threading.Lock(): {THREADS} threads x {INCREMENTS:,}")
    counter = 0
    many = run_threads(increment_locked, THREADS, INCREMENTS)
    total = counter
    counter = 0
    one = run_threads(increment_locked, 1, THREADS * INCREMENTS)
    print(f"  Counter: {total:,}   Time: {many:.2f}s")
    print("  always exact: under the lock, read-add-write is one step")
    print(f"  {speed_up(one, many)}")


# -- the timeline -----------------------------------------------------------------


def spin(iterations: int) -> int:
    """Pure-Python CPU work: no I/O, no shared state, nothing that releases the GIL."""
    x = 0
    for i in range(iterations):
        x = (x * 31 + i) % 1_000_003
    return x


def cpu_work(slices: int) -> int:
    """The timeline's work, ``slices`` slices of it (module-level: ``Pool`` pickles it)."""
    x = 0
    for _ in range(slices):
        x ^= spin(SLICE)
    return x


def calibrate() -> int:
    """How many slices take :data:`WORK_SECONDS` of CPU time on this interpreter."""
    done = 0
    began = time.thread_time()
    while (spent := time.thread_time() - began) < 0.02:
        spin(SLICE)
        done += 1
    return max(1, round(done / spent * WORK_SECONDS))


@dataclass
class Record:
    """One thread's (wall clock, CPU clock) after each slice of its work.

    ``start`` is when the threads were released to work together; a thread
    that could not run at once has its first sample later.
    """

    start: float = 0.0
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def end(self) -> float:
        return self.wall[-1]

    @property
    def cpu_time(self) -> float:
        return self.cpu[-1] - self.cpu[0]

    def cpu_at(self, when: float) -> float:
        """CPU time used by ``when`` (wall clock), interpolated between samples."""
        if when <= self.wall[0]:
            return 0.0
        if when >= self.end:
            return self.cpu_time
        i = bisect.bisect_right(self.wall, when)
        w0, w1, c0, c1 = self.wall[i - 1], self.wall[i], self.cpu[i - 1], self.cpu[i]
        return c0 - self.cpu[0] + (c1 - c0) * (when - w0) / (w1 - w0)

    def running(self) -> list[tuple[float, float]]:
        """The (start, end) spans of wall time in which this thread was on a CPU."""
        spans: list[tuple[float, float]] = []
        for i in range(1, len(self.wall)):
            w0, w1 = self.wall[i - 1], self.wall[i]
            if w1 > w0 and (self.cpu[i] - self.cpu[i - 1]) >= 0.5 * (w1 - w0):
                if spans and spans[-1][1] == w0:
                    spans[-1] = (spans[-1][0], w1)
                else:
                    spans.append((w0, w1))
        return spans


def recorded_work(slices: int, record: Record, start: threading.Barrier) -> None:
    wall, cpu = record.wall, record.cpu
    perf_counter, thread_time = time.perf_counter, time.thread_time
    start.wait()
    wall.append(perf_counter())
    cpu.append(thread_time())
    for _ in range(slices):
        spin(SLICE)
        wall.append(perf_counter())
        cpu.append(thread_time())


@dataclass
class Timeline:
    records: list[Record]
    began: float
    wall: float

    @property
    def cpu_time(self) -> float:
        return sum(r.cpu_time for r in self.records)


def measure_timeline(slices: int) -> Timeline:
    released: list[float] = []
    start = threading.Barrier(
        THREADS, action=lambda: released.append(time.perf_counter()), timeout=60
    )
    records = [Record() for _ in range(THREADS)]
    workers = [threading.Thread(target=recorded_work, args=(slices, r, start)) for r in records]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for record in records:
        record.start = released[0]  # all released together, by the last to arrive
    return Timeline(records, released[0], max(r.end for r in records) - released[0])


def chart(timeline: Timeline) -> list[str]:
    """The timeline as text: one row per thread, then how many threads ran at once."""
    width = timeline.wall / COLUMNS
    rows = {f"thread {i + 1}": "" for i in range(len(timeline.records))}
    running = ""
    for column in range(COLUMNS):
        lo = timeline.began + column * width
        hi = lo + width
        busy = 0.0
        for name, record in zip(rows, timeline.records, strict=True):
            alive = min(hi, record.end) - max(lo, record.start)
            ran = record.cpu_at(hi) - record.cpu_at(lo)
            busy += ran / width
            if alive < 0.5 * width:
                rows[name] += " "
            else:
                rows[name] += "█" if ran >= 0.5 * alive else "░"
        running += str(min(len(timeline.records), int(busy + 0.5)))
    total = f"{timeline.wall * 1000:.0f} ms"
    lines = [f"{'':>10}  0{total:>{COLUMNS - 1}}"]  # under the first and the last column
    lines += [f"{name:>10} │{row}│" for name, row in rows.items()]
    lines.append(f"{'running':>10} │{running}│")
    lines.append(f"{'':>10}  █ ran  ░ waiting for the GIL or a core  running: threads on a CPU")
    return lines


def on_one_thread(slices: int) -> float:
    """The wall time of ``cpu_work(slices)`` on one thread."""
    worker = threading.Thread(target=cpu_work, args=(slices,))
    began = time.perf_counter()
    worker.start()
    worker.join()
    return time.perf_counter() - began


def timeline_section(slices: int, single: float) -> Timeline:
    print(
        f"the timeline: CPU-bound work (a pure-Python loop, no shared state) on {THREADS} threads"
    )
    timeline = measure_timeline(slices)
    for line in chart(timeline):
        print(f"  {line}")
    print(
        f"  wall {timeline.wall:.2f}s, CPU {timeline.cpu_time:.2f}s in all; "
        f"parallelism: CPU time / wall = {timeline.cpu_time / timeline.wall:.1f}x"
    )
    print(
        f"  the same work on 1 thread: {single:.2f}s; "
        f"speed-up over 1 thread: {single / timeline.wall:.2f}x"
    )
    cores = cpu_cores()
    if gil_enabled():
        print("  GIL on: the rows take turns, one thread holds the GIL at a time: serialised")
    else:
        print(
            f"  GIL off: the rows overlap, up to {min(THREADS, cores)} at once "
            f"(this machine has {cores} core{'s' if cores != 1 else ''})"
        )
    return timeline


def pool_section(slices: int, single: float) -> None:
    print(
        f"multiprocessing.Pool({THREADS}).map(cpu_work, data): the same work in {THREADS} processes"
    )
    data = [slices] * THREADS
    began = time.perf_counter()
    with multiprocessing.Pool(THREADS) as pool:
        mapped = time.perf_counter()
        pool.map(cpu_work, data)
        done = time.perf_counter()
    elapsed = time.perf_counter() - began
    print(f"  Time: {elapsed:.2f}s, starting and stopping the processes included")
    print(f"  map alone: {done - mapped:.2f}s; speed-up over 1 thread: {single / elapsed:.2f}x")


# -- the plot ---------------------------------------------------------------------


def plot(timeline: Timeline, path: str) -> None:
    try:
        # Imported only now, after every measurement, and only for --plot.
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print("--plot needs matplotlib: pip install 'fearless[examples]'")
        return
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    for i, record in enumerate(timeline.records):
        y = len(timeline.records) - 1 - i
        ms = [((s - timeline.began) * 1000, (e - s) * 1000) for s, e in record.running()]
        life = [((record.start - timeline.began) * 1000, (record.end - record.start) * 1000)]
        ax.broken_barh(life, (y - 0.35, 0.7), facecolors="#dddddd")
        ax.broken_barh(ms, (y - 0.35, 0.7), facecolors="#c0392b")
    ax.set_yticks(range(len(timeline.records)))
    ax.set_yticklabels(
        [f"thread {len(timeline.records) - y}" for y in range(len(timeline.records))]
    )
    ax.set_xlim(0, timeline.wall * 1000)
    ax.set_xlabel("time (ms)")
    build = " free-threaded" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
    gil = "GIL on" if gil_enabled() else "GIL off"
    ax.set_title(
        f"CPU-bound work on {THREADS} threads: Python {platform.python_version()}{build}, {gil}\n"
        f"red: on a CPU, grey: started, waiting; "
        f"parallelism {timeline.cpu_time / timeline.wall:.1f}x",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"timeline written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the timeline with matplotlib")
    args = parser.parse_args()
    print(interpreter())
    plain_counter()
    locked_counter()
    slices = calibrate()
    single = on_one_thread(THREADS * slices)
    timeline = timeline_section(slices, single)
    pool_section(slices, single)
    if args.plot:
        plot(timeline, args.plot)


if __name__ == "__main__":
    main()
