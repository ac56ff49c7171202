"""Type-checked, never run: par_map, par_imap, par_iter/ParIter, join and the pools."""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import assert_type

from distributed import Client

from fearless._par import (
    ParInfo,
    ParIter,
    ProcessPool,
    ThreadPool,
    join,
    par_imap,
    par_info,
    par_iter,
    par_map,
)


def par_map_is_typed_by_the_callable() -> None:
    assert_type(par_map(str, [1]), list[str])
    assert_type(par_map(len, ["a"], workers=2, chunksize=1, backend="threads"), list[int])
    assert_type(par_map(abs, [1.5], backend=ThreadPoolExecutor()), list[float])
    assert_type(par_map(str, [1], progress=lambda done, total: None), list[str])
    assert_type(par_imap(str, [1]), Generator[str, None, None])
    assert_type(par_imap(str, [1], ordered=False), Generator[str, None, None])
    par_map(len, [1, 2])  # type: ignore[arg-type]
    par_map(str, [1], backend="gpu")  # type: ignore[arg-type]
    par_map(str, [1], workers="2")  # type: ignore[arg-type]
    par_map(str, [1], chunksize=2.5)  # type: ignore[arg-type]
    par_map(str, [1], 2)  # type: ignore[call-arg]
    par_imap(str, [1], ordered=None)  # type: ignore[arg-type]
    par_map(str, [1], progress=print)  # print accepts (done, total)
    par_map(str, [1], progress=len)  # type: ignore[arg-type]


def par_imap_can_be_closed() -> None:
    # The docs stop a par_imap early with close() or contextlib.closing.
    results = par_imap(str, [1, 2, 3])
    first: Iterator[str] = results  # still an iterator
    assert_type(next(first), str)
    results.close()
    with contextlib.closing(par_imap(str, [1, 2, 3], backend="threads")) as closing:
        assert_type(closing, Generator[str, None, None])
        for text in closing:
            assert_type(text, str)
    with ThreadPool(2) as pool, contextlib.closing(pool.par_imap(len, ["a"])) as lengths:
        assert_type(lengths, Generator[int, None, None])


def par_iter_is_generic() -> None:
    assert_type(par_iter([1, 2]), ParIter[int])
    assert_type(par_iter([1, 2]).map(str).collect(), list[str])
    assert_type(par_iter([1, 2]).filter(lambda x: x > 1).collect(), list[int])
    assert_type(par_iter(["ab"]).flat_map(list).collect(), list[str])

    def parse(text: str) -> int | None:
        return int(text) if text.isdigit() else None

    # filter_map: the Optional's inner type; None is dropped, so it is gone from the type.
    assert_type(par_iter(["1"]).filter_map(parse), ParIter[int])
    assert_type(par_iter(["1"]).filter_map(parse).collect(), list[int])
    assert_type(par_iter(["1"]).filter_map(parse).sum(), int)
    assert_type(par_iter([1]).filter_map(str).collect(), list[str])  # never None: all kept
    assert_type(par_iter([1]).map(str).filter_map(parse).min(), int | None)
    par_iter([1]).filter_map(parse)  # type: ignore[arg-type]
    par_iter([1]).filter_map(None)  # type: ignore[arg-type]

    def push(acc: list[int], x: int) -> list[int]:
        return [*acc, x]

    assert_type(par_iter([1]).fold(list[int], push), ParIter[list[int]])
    assert_type(par_iter([1]).reduce(lambda: 0, lambda a, b: a + b), int)
    assert_type(par_iter([1, 2]).sum(), int)
    assert_type(par_iter([1.5]).sum(), float)
    assert_type(par_iter([1, 2]).min(), int | None)
    assert_type(par_iter(["a"]).max(), str | None)
    assert_type(par_iter([1]).count(), int)
    assert_type(par_iter([1]).any(), bool)
    assert_type(par_iter([1]).all(lambda x: x > 0), bool)
    assert_type(par_iter([1]).for_each(print), None)
    assert_type(
        par_iter([1]).with_workers(2).with_chunksize(10).with_backend("processes"), ParIter[int]
    )
    par_iter([1]).map(len)  # type: ignore[arg-type]
    par_iter([1]).reduce(0, lambda a, b: a + b)  # type: ignore[arg-type]
    par_iter([1]).reduce(lambda: "", lambda a, b: a + b)  # type: ignore[arg-type, return-value]
    par_iter([1]).with_backend("gpu")  # type: ignore[arg-type]


def join_returns_both() -> None:
    assert_type(join(lambda: 1, lambda: "b"), tuple[int, str])
    join(lambda x: 1, lambda: 2)  # type: ignore[arg-type, misc]


def pools() -> None:
    with ThreadPool(2) as pool:
        assert_type(pool, ThreadPool)
        assert_type(pool.par_map(str, [1]), list[str])
        assert_type(pool.par_imap(str, [1]), Generator[str, None, None])
        assert_type(pool.par_iter([1]).map(str).collect(), list[str])
        assert_type(pool.join(lambda: 1, lambda: ""), tuple[int, str])
        assert_type(pool.install(lambda: 3), int)
        assert_type(pool.workers, int)
        par_map(str, [1], backend=pool)
    with ProcessPool(2, start_method="spawn") as ppool:
        assert_type(ppool.par_map(str, [1]), list[str])
        ppool.join(lambda: 1, lambda: 2)  # type: ignore[attr-defined]
    ThreadPool("2")  # type: ignore[arg-type]
    info = par_info()
    assert_type(info, ParInfo)
    assert_type(info.auto, str)
    assert_type(info.gil_enabled, bool)


def on_a_dask_cluster(client: Client) -> None:
    assert_type(par_map(str, [1], backend=client), list[str])
    assert_type(par_imap(str, [1], backend=client, workers=4), Generator[str, None, None])
    assert_type(par_iter([1]).with_backend(client).sum(), int)
    info = par_info(client)
    assert_type(info, ParInfo)
    assert_type(info.backend, str)
    par_info("threads")  # type: ignore[arg-type]
