"""Readers share a configuration, a writer updates it, nobody sees half an update.

The Rust version:

    let config = Arc::new(RwLock::new(Config { version: 1, url: url(1), replicas: 1 }));
    // readers, many at once:  let c = config.read().unwrap();
    // the writer, alone:      let mut c = config.write().unwrap();

Many readers may hold the lock together — three of them meet at a
``Barrier`` while each holds its read guard, which a plain mutex would turn
into a deadlock. The writer changes two fields one after the other; while it
does, the config is half-written, but no reader can look. ``downgrade()``
reads back what was just written with no writer in between, and
``upgradable_read()`` decides whether to write without a window in which
someone else could.
"""

from __future__ import annotations

from dataclasses import dataclass

from fearless import Barrier, DeadlockError, RwLock, WouldBlockError, spawn

READERS = 4
READS = 1000
VERSIONS = 5


@dataclass
class Config:
    version: int
    url: str
    replicas: int


def url(version: int) -> str:
    return f"db://primary/v{version}"


def meet(config: RwLock[Config], inside: Barrier) -> str:
    with config.read() as guard:
        inside.wait(timeout=60)  # every reader holds its read guard right now
        return guard.value.url


def reader(config: RwLock[Config], start: Barrier) -> int:
    start.wait(timeout=60)
    consistent = 0
    for _ in range(READS):
        with config.read() as guard:
            if guard.value.url == url(guard.value.version):
                consistent += 1
    return consistent


def writer(config: RwLock[Config], start: Barrier) -> int:
    start.wait(timeout=60)
    for _ in range(VERSIONS):
        with config.write() as guard:
            guard.value.version += 1  # half-written from here...
            guard.value.url = url(guard.value.version)  # ...to here
    return VERSIONS


def main() -> None:
    config = RwLock(Config(version=1, url=url(1), replicas=1))

    inside = Barrier(3)
    urls = [h.join(timeout=60) for h in [spawn(meet, config, inside) for _ in range(3)]]
    print(f"3 readers held the read lock at the same time, all reading {urls[0]}")

    start = Barrier(READERS + 1)
    readers = [spawn(reader, config, start) for _ in range(READERS)]
    published = spawn(writer, config, start).join(timeout=60)
    for index, handle in enumerate(readers):
        print(f"reader {index}: {handle.join(timeout=60)} of {READS} reads consistent")
    print(f"writer published {published} versions; no reader saw a half-written config")

    with config.write() as guard:
        guard.value.version += 1
        guard.value.url = url(guard.value.version)
        reader_guard = guard.downgrade()  # atomically: no writer gets in between
        print(f"downgrade: read back {reader_guard.value.url} right after writing it")

    with config.upgradable_read() as guard:
        if guard.value.replicas < 3:  # decide while other readers may still read...
            before = guard.value.replicas
            with guard.upgrade() as upgraded:  # ...then write, no writer in between
                upgraded.value.replicas = 3
            print(f"upgradable read: replicas {before} -> 3")

    with config.read():
        try:
            config.try_write()
        except WouldBlockError as e:
            print(f"try_write while reading: {e}")
        try:
            config.write()  # a std::sync::RwLock would deadlock here
        except DeadlockError as e:
            print(f"write while reading: {e}")
    print(f"final: {config!r}")


if __name__ == "__main__":
    main()
