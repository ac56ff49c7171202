"""The chapter's ``multiprocessing.Pool.map`` and rayon ``.par_iter()`` snippets, ported.

The chapter's Python:

    from multiprocessing import Pool

    def process_item(item):
        return heavy_computation(item)

    with Pool(8) as pool:
        results = pool.map(process_item, items)

and its Rust — "change .iter() to .par_iter(), that's it":

    let results: Vec<_> = items.par_iter().map(|item| heavy_computation(item)).collect();

    let results: Vec<ImageResult> = paths
        .par_iter()
        .filter_map(|p| process_image(p).ok())     // Skip errors gracefully
        .collect();

Here both are one call. ``backend="auto"`` runs them on threads when the GIL
is disabled and on worker processes otherwise (``python -m fearless
tour`` prints which); the results are the same either way. Worker processes
import this file, hence the ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fearless import join, par_iter, par_map

ITEMS = 200 if os.environ.get("FEARLESS_EXAMPLE_QUICK") else 2_000
ROUNDS = 2_000


def heavy_computation(item: int) -> int:
    """Deterministic CPU-bound work: a few thousand multiply-adds."""
    acc = item
    for k in range(ROUNDS):
        acc = (acc * 31 + k) % 1_000_003
    return acc


def process_item(item: int) -> int:
    return heavy_computation(item)


@dataclass(frozen=True)
class ImageResult:
    path: str
    label: str
    edge_count: int


def process_image(path: str) -> ImageResult:
    """Stands in for the chapter's image pipeline; every 25th image is unreadable."""
    number = int(path[4:7])
    if number % 25 == 0:
        raise ValueError(f"cannot decode {path}")
    edges = heavy_computation(number) % 100
    return ImageResult(path, "cloud" if edges < 50 else "land", edges)


def process_image_ok(path: str) -> ImageResult | None:
    """Rust's ``process_image(p).ok()``: the result, or None on error."""
    try:
        return process_image(path)
    except ValueError:
        return None


def main() -> None:
    items = list(range(ITEMS))

    # Pool.map -> par_map: same results, same order as the sequential map.
    results = par_map(process_item, items)
    same = results == list(map(process_item, items))
    print(f"par_map: {len(results)} results, same as map(): {same}")

    # .iter() -> .par_iter(): the chain runs as one pass per chunk, on the workers.
    total = par_iter(items).map(heavy_computation).sum()
    print(f"par_iter().map().sum(): {total == sum(map(heavy_computation, items))}")

    # The case study: filter_map(|p| process_image(p).ok()).collect()
    paths = [f"img_{n:03d}.png" for n in range(1, 101)]
    images = [r for r in par_iter(paths).map(process_image_ok).collect() if r is not None]
    print(f"Processed {len(images)} images ({len(paths) - len(images)} skipped as unreadable)")
    clouds = par_iter(images).filter(lambda r: r.label == "cloud").count()
    print(f"labels: {clouds} cloud, {len(images) - clouds} land")

    # rayon::join: two computations at once, both results back.
    left, right = join(lambda: sum(results[: ITEMS // 2]), lambda: sum(results[ITEMS // 2 :]))
    print(f"join: halves add up: {left + right == sum(results)}")


if __name__ == "__main__":
    main()
