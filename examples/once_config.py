"""A global configuration loaded once, however many threads ask for it.

The Rust version:

    static CONFIG: LazyLock<Config> = LazyLock::new(|| load_config());
    static CONNECTION: OnceLock<String> = OnceLock::new();

    fn handle(request: usize) -> String {
        let conn = CONNECTION.get_or_init(|| connect(&CONFIG.url));
        format!("request {request} via {conn} (retries={})", CONFIG.retries)
    }

Eight threads start together behind a ``Barrier`` and all read the
configuration at once: ``load_config`` runs exactly once, the other threads
wait for it and share its result. The connection is a ``OnceLock`` filled
by whichever request comes first; a first attempt that fails leaves it
empty, and the next request simply tries again.
"""

from __future__ import annotations

from typing import NamedTuple

from fearless import Barrier, LazyLock, Mutex, OnceLock, spawn


class Config(NamedTuple):
    url: str
    retries: int


#: How often each loader ran; the Mutex makes the counts exact.
CALLS: Mutex[dict[str, int]] = Mutex({"load_config": 0, "connect": 0})


def count(name: str) -> int:
    with CALLS.lock() as calls:
        calls.value[name] += 1
        return calls.value[name]


def load_config() -> Config:
    count("load_config")
    return Config(url="db://primary", retries=3)


def connect(url: str) -> str:
    if count("connect") == 1:
        raise ConnectionError(f"{url} is not up yet")
    return f"connection to {url}"


CONFIG: LazyLock[Config] = LazyLock(load_config)
CONNECTION: OnceLock[str] = OnceLock()


def handle(request: int, start: Barrier) -> str:
    start.wait(timeout=60)  # every thread reads CONFIG at the same moment
    config = CONFIG.value
    while True:
        try:
            conn = CONNECTION.get_or_init(lambda: connect(config.url))
        except ConnectionError:
            continue  # the cell stayed empty: try again
        return f"request {request} via {conn} (retries={config.retries})"


def main() -> None:
    threads = 8
    start = Barrier(threads)
    handles = [spawn(handle, request, start) for request in range(threads)]
    for line in [h.join(timeout=60) for h in handles]:
        print(line)
    with CALLS.lock() as calls:
        print(f"load_config ran {calls.value['load_config']} time(s) for {threads} threads")
        print(f"connect ran {calls.value['connect']} time(s): one failure, one success")
    print(f"CONFIG = {CONFIG!r}")


if __name__ == "__main__":
    main()
