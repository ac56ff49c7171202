"""Case Study: Parallel Image Processing Pipeline, run for real.

The chapter's Python pipeline:

    def process_image(path: str) -> dict:
        img = np.array(Image.open(path))
        # CPU-intensive: histogram equalization, edge detection, classification
        histogram = np.histogram(img, bins=256)[0]
        edges = detect_edges(img)       # ~200ms per image
        label = classify(edges)          # ~100ms per image
        return {"path": path, "label": label, "edge_count": len(edges)}

    with multiprocessing.Pool(16) as pool:
        results = pool.map(process_image, image_paths)  # ~4.5 hours for 50k images

and its Rust:

    let results: Vec<ImageResult> = paths
        .par_iter()                                // Parallel iterator
        .filter_map(|p| process_image(p).ok())     // Skip errors gracefully
        .collect();                                // Collect in parallel

    println!("Processed {} images", results.len());

This program writes N synthetic satellite-like tiles (water, land, cloud and
urban textures from a seeded NumPy generator, so every run makes the same
images) as PNG files in a temporary directory, and spoils a few: one in ten
is cut short (a truncated download) or is not an image at all (an HTML
error page saved as ``.png``). ``process_image`` opens a tile with Pillow,
takes its 256-bin histogram, finds its edges with a Sobel filter written in
NumPy, and labels it from both; ``process_image_ok`` is Rust's
``process_image(p).ok()``: the result, or ``None`` when the file cannot be
decoded.

The pipeline then runs twice, each time in a fresh child process (this
program started again with a hidden ``--variant`` option): first the
chapter's ``multiprocessing.Pool(workers).map(process_image_ok, paths)``,
which needs its own loop to drop the ``None`` results, then fearless's
``par_iter(paths).filter_map(process_image_ok).collect()``. For each it
prints "Processed N images", the skipped count, the wall time (starting the
workers included) and the peak memory of the whole process tree: while the
child runs, this process samples, every 10 ms, the proportional set size
(PSS) of the child and of every process descending from it (workers, the
fork server, the resource tracker) and keeps the largest sum. PSS divides
each shared page among the processes that share it, so pages that ``fork``
shares are counted once; RSS would count them in every process. Where
``/proc`` has no PSS the example falls back to RSS, and without ``/proc`` to
``resource.getrusage`` (a lower bound), and says so.

``backend="auto"`` decides where fearless runs the work: threads when the
GIL is disabled (one process: the chapter's "~50MB total, shared threads,
no forking"), worker processes when it is on, since threads would take
turns. Every result carries the id of the process that made it, so the
report says what really ran the work rather than what should have.

By default the example makes 2,000 tiles of 128x128 pixels (24 of 64x64
under ``FEARLESS_EXAMPLE_QUICK=1``). ``--images 50000`` is the chapter's
nightly batch: the tiles are generated in parallel (``par_map``) and, at
128x128, take about 1 GB of temporary disk; the whole run takes two to
three minutes on 2 cores. ``--size`` makes the tiles smaller or bigger,
``--workers`` sets the number of workers of both variants.
Pillow and NumPy come with ``pip install 'fearless[examples]'``; without
them the example says so and stops.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypedDict

from fearless import par_info, par_iter, par_map

# Imported here, as in the chapter, so that worker processes started from a
# fork of this module (Pool's fork, the fork server fearless starts) share
# their pages. Optional: without them, main() says how to install them.
try:
    import numpy as np
    from numpy.typing import NDArray
    from PIL import Image
except ImportError:
    HAVE_DEPENDENCIES = False
else:
    HAVE_DEPENDENCIES = True

QUICK = bool(os.environ.get("FEARLESS_EXAMPLE_QUICK"))
IMAGES = 24 if QUICK else 2_000
SIZE = 64 if QUICK else 128
INSTALL_HINT = "This example needs Pillow and NumPy: pip install 'fearless[examples]'"
SAMPLE_SECONDS = 0.01  # how often the memory of a run's process tree is sampled
KINDS = ("water", "land", "cloud", "urban")
TRUNCATED, NOT_AN_IMAGE = 7, 13  # tile i is spoilt when i % 20 is one of these
ERROR_PAGE = b"<html><body><h1>503 Service Unavailable</h1></body></html>\n"

# What Pillow raises for a file it cannot decode: UnidentifiedImageError and
# "image file is truncated" are OSErrors, a corrupt PNG chunk a SyntaxError.
DECODE_ERRORS = (OSError, SyntaxError)


class ImageResult(TypedDict):
    path: str
    label: str
    edge_count: int
    pid: int  # the process that made this result: evidence of where the work ran


# -- the synthetic tiles -------------------------------------------------------------------------


def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> NDArray[np.float32]:
    """Values in about [0, 1] that vary smoothly over a ``size`` x ``size`` tile."""
    coarse = Image.fromarray(rng.random((cells, cells), dtype=np.float32), mode="F")
    return np.asarray(coarse.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)


def satellite_tile(index: int, size: int) -> tuple[str, NDArray[np.uint8]]:
    """Tile ``index``: its kind and its RGB pixels (the same for the same index)."""
    rng = np.random.default_rng(index)
    kind = KINDS[int(rng.integers(len(KINDS)))]
    grain = rng.normal(0.0, 6.0, (size, size, 1)).astype(np.float32)
    if kind == "urban":  # grey blocks cut by dark streets every 16 pixels
        blocks = 110 + 40 * smooth_noise(rng, size, 12)
        streets = np.zeros((size, size), dtype=bool)
        for offset in (0, 1):
            streets[offset::16, :] = True
            streets[:, offset::16] = True
        blocks[streets] = 45
        pixels = np.repeat(blocks[..., None], 3, axis=2) + grain
    else:
        field = smooth_noise(rng, size, max(2, size // 16))  # patches of a fixed size
        if kind == "water" or (kind == "cloud" and rng.random() < 0.5):
            tint = np.array([0.3, 0.6, 1.0], dtype=np.float32)
            pixels = np.array([18, 52, 96], dtype=np.float32) + 25 * field[..., None] * tint
        else:  # fields: green, brown and yellow patches
            palette = np.array([[70, 120, 50], [140, 110, 70], [180, 170, 100]], dtype=np.float32)
            pixels = palette[np.digitize(field, [0.4, 0.7])]
        pixels = pixels + grain
        if kind == "cloud":
            cover = np.clip((smooth_noise(rng, size, 5) - 0.25) * 3, 0.0, 1.0)[..., None]
            pixels = pixels * (1 - cover) + 240 * cover
    return kind, np.clip(pixels, 0, 255).astype(np.uint8)


def write_tile(folder: str, size: int, index: int) -> tuple[str, str]:
    """Write tile ``index`` as a PNG, spoilt if its number says so; return (file name, kind)."""
    kind, pixels = satellite_tile(index, size)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    data = buffer.getvalue()
    if index % 20 == TRUNCATED:
        data, kind = data[: len(data) // 2], "truncated"
    elif index % 20 == NOT_AN_IMAGE:
        data, kind = ERROR_PAGE, "not an image"
    name = f"tile_{index:05d}.png"
    Path(folder, name).write_bytes(data)
    return name, kind


# -- the pipeline ----------------------------------------------------------------------------------


def detect_edges(gray: NDArray[np.float32]) -> NDArray[np.intp]:
    """Sobel filter: the (row, column) of every pixel whose gradient is steep."""
    g = gray
    gx = (g[:-2, 2:] + 2 * g[1:-1, 2:] + g[2:, 2:]) - (g[:-2, :-2] + 2 * g[1:-1, :-2] + g[2:, :-2])
    gy = (g[2:, :-2] + 2 * g[2:, 1:-1] + g[2:, 2:]) - (g[:-2, :-2] + 2 * g[:-2, 1:-1] + g[:-2, 2:])
    return np.argwhere(np.hypot(gx, gy) > 120)


def classify(histogram: NDArray[np.intp], edges: NDArray[np.intp], pixels: int) -> str:
    """A label from the brightness histogram and the density of edges."""
    if histogram[200:].sum() > 0.2 * pixels:
        return "cloud"  # much of it bright white
    if len(edges) > 0.2 * pixels:
        return "urban"  # streets everywhere
    if histogram[:70].sum() > 0.5 * pixels:
        return "water"  # mostly dark
    return "land"


def process_image(path: str) -> ImageResult:
    """The chapter's ``process_image``; raises when ``path`` is not a readable image."""
    with Image.open(path) as img:
        pixels = np.asarray(img.convert("RGB"), dtype=np.float32)
    gray = pixels.mean(axis=2)
    histogram = np.histogram(gray, bins=256, range=(0, 256))[0]
    edges = detect_edges(gray)
    label = classify(histogram, edges, gray.size)
    return {"path": path, "label": label, "edge_count": len(edges), "pid": os.getpid()}


def process_image_ok(path: str) -> ImageResult | None:
    """Rust's ``process_image(p).ok()``: the result, or None if the file cannot be decoded."""
    try:
        return process_image(path)
    except DECODE_ERRORS:
        return None


def with_pool(paths: list[str], workers: int) -> list[ImageResult]:
    """The chapter's Python: ``multiprocessing.Pool.map``, then drop the failures by hand."""
    import multiprocessing  # noqa: PLC0415 - only this variant needs it

    with multiprocessing.Pool(workers) as pool:
        results = pool.map(process_image_ok, paths)
    return [r for r in results if r is not None]


def with_fearless(paths: list[str], workers: int) -> list[ImageResult]:
    """The chapter's Rust: ``paths.par_iter().filter_map(|p| process_image(p).ok()).collect()``."""
    return par_iter(paths).with_workers(workers).filter_map(process_image_ok).collect()


def run_variant(variant: str, folder: str, workers: int, report: str) -> None:
    """In the child process: run one variant over the tiles, write a JSON report."""
    paths = sorted(str(p) for p in Path(folder).glob("*.png"))
    began = time.perf_counter()
    images = with_pool(paths, workers) if variant == "pool" else with_fearless(paths, workers)
    seconds = time.perf_counter() - began
    found = {
        "seconds": seconds,
        "pid": os.getpid(),
        "paths": len(paths),
        "results": images,
        "maxrss_kib": maxrss_kib(),
    }
    Path(report).write_text(json.dumps(found))


# -- measuring a process tree ----------------------------------------------------------------------


def maxrss_kib() -> int | None:
    """Peak RSS of this process plus that of its largest waited-for child (getrusage)."""
    try:
        import resource  # noqa: PLC0415 - POSIX only
    except ImportError:
        return None
    unit = 1024 if sys.platform == "darwin" else 1  # macOS counts bytes, Linux KiB
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) // unit


class TreeMemory:
    """Samples the memory of a process and every process descending from it (Linux /proc)."""

    def __init__(self, proc: Path = Path("/proc")) -> None:
        self.proc = proc
        if (proc / "self" / "smaps_rollup").exists():
            self.kind = "PSS"
        elif (proc / "self" / "status").exists():
            self.kind = "RSS"
        else:
            self.kind = "getrusage"
        tid = threading.get_native_id()
        self.children_files = (proc / "self" / "task" / str(tid) / "children").exists()

    @property
    def sampled(self) -> bool:
        return self.kind != "getrusage"

    def _children(self, pid: int) -> list[int]:
        found: list[int] = []
        for task in (self.proc / str(pid) / "task").glob("*/children"):
            found += (int(child) for child in _read(task).split())
        return found

    def _parents(self) -> dict[int, list[int]]:
        """Every process's children, from the parent id in each ``/proc/<pid>/stat``."""
        tree: dict[int, list[int]] = {}
        for stat in self.proc.glob("[0-9]*/stat"):
            fields = _read(stat).rpartition(")")[2].split()
            if len(fields) > 1:
                tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        return tree

    def tree(self, root: int) -> Iterator[int]:
        """``root`` and its descendants, as far as they can be seen right now."""
        parents = None if self.children_files else self._parents()
        todo = [root]
        while todo:
            pid = todo.pop()
            yield pid
            todo += self._children(pid) if parents is None else parents.get(pid, [])

    def kib(self, pid: int) -> int:
        """The PSS (or RSS) of ``pid`` in KiB; 0 if it is gone."""
        name, field = ("smaps_rollup", "Pss:") if self.kind == "PSS" else ("status", "VmRSS:")
        for line in _read(self.proc / str(pid) / name).splitlines():
            if line.startswith(field):
                return int(line.split()[1])
        return 0

    def sample(self, root: int) -> tuple[int, int]:
        """(KiB summed over the tree of ``root``, number of processes in it)."""
        sizes = [self.kib(pid) for pid in self.tree(root)]
        return sum(sizes), sum(1 for size in sizes if size)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # the process is gone, or not ours to read
        return ""


@dataclass
class Run:
    seconds: float
    images: list[ImageResult]
    skipped: int
    pid: int
    peak_kib: int
    processes: int


def self_command() -> list[str]:
    """The command that runs this program again, the way it was started."""
    spec = sys.modules[__name__].__spec__  # None when run as a file
    if spec is not None and spec.name != "__main__":
        return [sys.executable, "-m", spec.name]
    return [sys.executable, os.path.abspath(__file__)]


def measure(variant: str, folder: str, workers: int, memory: TreeMemory) -> Run:
    """Run one variant in a child process; sample its tree's memory until it ends."""
    report = Path(folder, f"{variant}.json")
    argv = [*self_command(), "--variant", variant, "--dir", folder, "--workers", str(workers)]
    child = subprocess.Popen([*argv, "--report", str(report)])
    peak = processes = 0
    try:
        while child.poll() is None:
            if memory.sampled:
                kib, count = memory.sample(child.pid)
                if kib > peak:
                    peak, processes = kib, count
            time.sleep(SAMPLE_SECONDS)  # the sampling period, not a synchronisation
    finally:
        if child.poll() is None:  # interrupted: leave nothing behind
            child.kill()
        child.wait()
    if child.returncode != 0:
        raise SystemExit(f"the {variant} run failed with exit code {child.returncode}")
    found = json.loads(report.read_text())
    if not memory.sampled:
        peak, processes = found["maxrss_kib"] or 0, 0
    images: list[ImageResult] = found["results"]
    return Run(
        found["seconds"], images, found["paths"] - len(images), found["pid"], peak, processes
    )


def ran_on(run: Run) -> str:
    pids = {image["pid"] for image in run.images}
    if pids == {run.pid}:
        return "threads of one process"
    if run.pid not in pids:
        return "worker processes"
    return "its own process and worker processes"


def describe(run: Run, memory: TreeMemory) -> None:
    print(f"  Processed {len(run.images):,} images, skipped {run.skipped:,} (corrupt)")
    mib = run.peak_kib / 1024
    if memory.kind == "getrusage":
        where = "peak RSS of the run plus its largest worker, from getrusage: a lower bound"
    else:
        processes = f"{run.processes} process" + ("es" if run.processes != 1 else "")
        where = f"{memory.kind} summed over {processes}"
    print(f"  wall time {run.seconds:.2f} s, peak memory {mib:.1f} MiB ({where})")


def outcome(run: Run) -> dict[str, tuple[str, int]]:
    return {Path(i["path"]).name: (i["label"], i["edge_count"]) for i in run.images}


def without_ok(folder: str) -> None:
    """Without ``.ok()`` the first error stops the run, and fearless says which item raised it."""
    paths = sorted(str(p) for p in Path(folder).glob("*.png"))
    try:
        par_iter(paths).map(process_image).collect()
    except DECODE_ERRORS as error:
        message = str(error).replace(folder + os.sep, "")
        notes = "; ".join(getattr(error, "__notes__", []))
        print(
            "without .ok(): par_iter(paths).map(process_image).collect() raises "
            f"{type(error).__name__}: {message} ({notes})"
        )


def generate(folder: str, images: int, size: int) -> dict[str, str]:
    """Write the tiles (in parallel); return each file's kind."""
    began = time.perf_counter()
    made = dict(par_map(partial(write_tile, folder, size), range(images)))
    seconds = time.perf_counter() - began
    spoilt = Counter(kind for kind in made.values() if kind in ("truncated", "not an image"))
    print(
        f"{images:,} satellite-like tiles of {size}x{size} pixels, "
        f"{spoilt.total():,} of them corrupt ({spoilt['truncated']:,} truncated, "
        f"{spoilt['not an image']:,} not an image); generated in {seconds:.2f} s"
    )
    return made


def compare(folder: str, workers: int, made: dict[str, str]) -> None:
    """Run the chapter's Pool and fearless's par_iter, each in a child; report both."""
    import multiprocessing  # noqa: PLC0415 - only to name Pool's start method

    memory = TreeMemory()
    method = multiprocessing.get_start_method()
    chapter = f"multiprocessing.Pool({workers}).map(process_image_ok, paths)"
    print(f"Python: {chapter}, start method {method}")
    pool = measure("pool", folder, workers, memory)
    describe(pool, memory)
    fearless = measure("fearless", folder, workers, memory)
    print(
        "fearless: par_iter(paths).filter_map(process_image_ok).collect(), "
        f"backend 'auto' ran on {ran_on(fearless)}"
    )
    describe(fearless, memory)
    print(f"same results: {outcome(pool) == outcome(fearless)}")
    labels = Counter(label for label, _ in outcome(fearless).values())
    print("labels: " + ", ".join(f"{label} {labels[label]:,}" for label in sorted(labels)))
    agree = sum(made[name] == label for name, (label, _) in outcome(fearless).items())
    print(f"labels that match the generated kind: {agree:,} of {len(fearless.images):,}")
    without_ok(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description="The chapter's case study, run for real.")
    parser.add_argument("--images", type=int, default=IMAGES, help="how many tiles to make")
    parser.add_argument("--size", type=int, default=SIZE, help="tile width and height in pixels")
    parser.add_argument(
        "--workers", type=int, default=par_info().workers, help="workers of each variant"
    )
    parser.add_argument("--variant", choices=("pool", "fearless"), help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.images < 1 or args.size < 8 or args.workers < 1:
        parser.error("--images and --workers must be at least 1, --size at least 8")
    if not HAVE_DEPENDENCIES:
        print(INSTALL_HINT)
    elif args.variant is not None:
        run_variant(args.variant, args.dir, args.workers, args.report)
    else:
        with tempfile.TemporaryDirectory(prefix="fearless-case-study-") as folder:
            compare(folder, args.workers, generate(folder, args.images, args.size))


if __name__ == "__main__":
    main()
