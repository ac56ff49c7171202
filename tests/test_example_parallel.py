"""The chapter's rayon section and its case study: ``rayon.py`` and ``case_study.py``.

Every line of their output is checked: exactly where it is deterministic
(counts, results, labels, where the work ran), by pattern where it is
measured (times, speed-ups, memory). No timing or memory relation is
asserted: the figures depend on the machine and on what else runs on it.

Where the work ran is the tour bug this guards against: on a GIL build,
``backend="auto"`` must really run an example's module-level functions on
worker processes, not fall back to threads of the example's own process.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest

from _helpers import EXAMPLES, GIL_ENABLED, run_example
from fearless import par_info

SECONDS = r"\d+\.\d\d s"
WORKERS = par_info().workers
MEMORY_KIND = "PSS" if Path("/proc/self/smaps_rollup").exists() else "RSS"
INSTALL_HINT = "This example needs Pillow and NumPy: pip install 'fearless[examples]'"


def fullmatch(pattern: str, line: str) -> re.Match[str]:
    found = re.fullmatch(pattern, line)
    assert found is not None, f"{line!r} does not match {pattern!r}"
    return found


# -- rayon.py ----------------------------------------------------------------------------------


def check_rayon(lines: list[str], items: int) -> None:
    ran_on = "worker processes" if GIL_ENABLED else "threads of this process"
    rows = range(items)
    bad = sum(1 for n in rows if n % 7 == 3)
    zeros = sum(1 for n in rows if n % 7 != 3 and n % 50 == 0)
    expected = [
        f"backend='auto' picks {'processes' if GIL_ENABLED else 'threads'} here: "
        f"the GIL is {'enabled' if GIL_ENABLED else 'disabled'}",
        re.escape(f"par_map(process_item, items): {items:,} results, same as map(): True"),
        f"  ran on {ran_on}",
        rf"  map\(\): {SECONDS}, par_map: {SECONDS} "
        rf"\(\d+\.\dx with {WORKERS} workers, their start-up included\)",
        re.escape("par_iter(items).map(heavy_computation).collect(): same as map(): True"),
        f"  ran on {ran_on}",
        rf"  par_iter: {SECONDS} \(\d+\.\dx\)",
        re.escape("par_iter(items).map(heavy_computation).sum(): same as sum(map()): True"),
        re.escape(
            f"par_iter(lines).filter_map(parse_reading).collect(): {items - bad:,} readings, "
            f"{bad:,} bad lines skipped, {zeros:,} zeros kept; same as the sequential loop: True"
        ),
        re.escape(
            "par_map(lambda ...): cannot be pickled, so 'auto' ran it on threads of this process"
            if GIL_ENABLED
            else "par_map(lambda ...): no pickling needed, ran on threads of this process"
        ),
        re.escape("join(fa, fb): both halves back, they add up: True"),
        re.escape(
            "  fa ran on this thread, fb on another thread of this process "
            f"({'taking turns under the GIL' if GIL_ENABLED else 'in parallel'})"
        ),
    ]
    assert len(lines) == len(expected), lines
    for pattern, line in zip(expected, lines, strict=True):
        fullmatch(pattern, line)


def test_rayon() -> None:
    check_rayon(run_example("rayon.py").splitlines(), items=200)


def test_rayon_runs_on_worker_processes_under_the_gil_and_on_threads_without() -> None:
    # The tour bug: 'auto -> processes' printed while the work ran on threads.
    lines = run_example("rayon.py").splitlines()
    ran_on = [line.strip() for line in lines if line.startswith("  ran on ")]
    if GIL_ENABLED:
        assert ran_on == ["ran on worker processes"] * 2
    else:
        assert ran_on == ["ran on threads of this process"] * 2


# -- case_study.py -----------------------------------------------------------------------------


def memory_line(processes: str) -> str:
    return (
        rf"  wall time {SECONDS}, peak memory \d+\.\d MiB "
        rf"\({MEMORY_KIND} summed over {processes}\)"
    )


def check_case_study(
    lines: list[str],
    *,
    images: int,
    size: int,
    workers: int,
    corrupt: tuple[int, int],
    labels: str,
) -> None:
    truncated, not_an_image = corrupt
    skipped = truncated + not_an_image
    processed = images - skipped
    any_count = r"[1-9]\d* process(es)?"
    if GIL_ENABLED:
        fearless_ran_on, fearless_processes = "worker processes", any_count
        worker = r"worker process \(processes\)"
    else:
        fearless_ran_on, fearless_processes = "threads of one process", "1 process"
        worker = r"worker thread \(threads\)"
    first_failure = (
        rf"(OSError: image file is truncated \(raised by input item 7, in a {worker}\)"
        r"|UnidentifiedImageError: cannot identify image file 'tile_00013.png' "
        rf"\(raised by input item 13, in a {worker}\))"
    )
    expected = [
        re.escape(
            f"{images:,} satellite-like tiles of {size}x{size} pixels, {skipped:,} of them "
            f"corrupt ({truncated:,} truncated, {not_an_image:,} not an image); generated in "
        )
        + SECONDS,
        re.escape(f"Python: multiprocessing.Pool({workers}).map(process_image_ok, paths), ")
        + "start method (fork|forkserver|spawn)",
        re.escape(f"  Processed {processed:,} images, skipped {skipped:,} (corrupt)"),
        memory_line(any_count),
        re.escape(
            "fearless: par_iter(paths).filter_map(process_image_ok).collect(), "
            f"backend 'auto' ran on {fearless_ran_on}"
        ),
        re.escape(f"  Processed {processed:,} images, skipped {skipped:,} (corrupt)"),
        memory_line(fearless_processes),
        "same results: True",
        re.escape(f"labels: {labels}"),
        re.escape(f"labels that match the generated kind: {processed:,} of {processed:,}"),
        re.escape("without .ok(): par_iter(paths).map(process_image).collect() raises ")
        + first_failure,
    ]
    assert len(lines) == len(expected), lines
    for pattern, line in zip(expected, lines, strict=True):
        fullmatch(pattern, line)


def test_case_study() -> None:
    check_case_study(
        run_example("case_study.py").splitlines(),
        images=24,
        size=64,
        workers=WORKERS,
        corrupt=(1, 1),
        labels="cloud 7, land 4, urban 8, water 3",
    )


def test_case_study_options() -> None:
    # Tiles 7, 13 and 27 are spoilt: one in ten, half of them cut short.
    out = run_example("case_study.py", "--images", "30", "--size", "48", "--workers", "1")
    check_case_study(
        out.splitlines(),
        images=30,
        size=48,
        workers=1,
        corrupt=(2, 1),
        labels="cloud 9, land 5, urban 10, water 3",
    )


def test_case_study_counts_the_corrupt_images_as_skipped() -> None:
    lines = run_example("case_study.py").splitlines()
    assert lines[0].startswith("24 satellite-like tiles of 64x64 pixels, 2 of them corrupt ")
    processed = [line for line in lines if line.startswith("  Processed ")]
    assert processed == ["  Processed 22 images, skipped 2 (corrupt)"] * 2


def test_case_study_fearless_runs_on_worker_processes_under_the_gil_and_on_threads_without() -> (
    None
):
    lines = run_example("case_study.py").splitlines()
    (fearless,) = [line for line in lines if line.startswith("fearless: ")]
    ran_on = fearless.rsplit(" ran on ", 1)[1]
    assert ran_on == ("worker processes" if GIL_ENABLED else "threads of one process")


def test_case_study_run_as_a_module_starts_its_variants_the_same_way() -> None:
    # The tour runs `python -m fearless._examples.case_study`: each variant
    # is this module started again with -m, and its workers import it.
    root = EXAMPLES.parent
    path = os.pathsep.join(filter(None, [str(root / "src"), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "examples.case_study"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=root,
        env={**os.environ, "FEARLESS_EXAMPLE_QUICK": "1", "PYTHONPATH": path},
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    check_case_study(
        proc.stdout.splitlines(),
        images=24,
        size=64,
        workers=WORKERS,
        corrupt=(1, 1),
        labels="cloud 7, land 4, urban 8, water 3",
    )


def test_case_study_without_pillow_says_how_to_install_it(tmp_path: Path) -> None:
    # A package named PIL that cannot be imported hides the real Pillow.
    (tmp_path / "PIL").mkdir()
    (tmp_path / "PIL" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'PIL'\", name='PIL')\n"
    )
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    assert run_example("case_study.py", PYTHONPATH=path) == INSTALL_HINT + "\n"


@pytest.mark.parametrize("args", [["--images", "0"], ["--size", "4"], ["--workers", "0"]])
def test_case_study_rejects_bad_options(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "case_study.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.endswith(
        "error: --images and --workers must be at least 1, --size at least 8\n"
    )


# -- case_study.py's memory meter, on a made-up /proc ----------------------------------------------


@pytest.fixture
def case_study(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The example imported as a module (its dataclass needs it in sys.modules)."""
    name = "_case_study_example"
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / "case_study.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def fake_process(proc: Path, pid: int, comm: str, parent: int, **files: str) -> None:
    folder = proc / str(pid)
    folder.mkdir(parents=True)
    (folder / "stat").write_text(f"{pid} ({comm}) S {parent} {pid} {pid} 0 -1 4194560\n")
    for name, text in files.items():
        (folder / name).write_text(text)


def test_tree_memory_falls_back_to_rss_and_finds_children_by_parent_id(
    tmp_path: Path, case_study: types.ModuleType
) -> None:
    # No smaps_rollup (no PSS) and no task/*/children files: RSS, and the
    # tree from the parent id in every /proc/<pid>/stat.
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "status").write_text("Name:\tpython\nVmRSS:\t  4 kB\n")
    fake_process(tmp_path, 100, "python", 1, status="Name:\tpython\nVmRSS:\t 1000 kB\n")
    fake_process(tmp_path, 101, "a) b", 100, status="VmRSS:\t500 kB\n")  # ")" in a name
    fake_process(tmp_path, 102, "worker", 101, status="VmRSS:\t250 kB\n")
    fake_process(tmp_path, 103, "gone", 100)  # exited: no status any more
    fake_process(tmp_path, 104, "other", 1, status="VmRSS:\t9999 kB\n")
    memory = case_study.TreeMemory(tmp_path)
    assert (memory.kind, memory.sampled, memory.children_files) == ("RSS", True, False)
    assert sorted(memory.tree(100)) == [100, 101, 102, 103]
    assert memory.sample(100) == (1750, 3)
    assert memory.sample(102) == (250, 1)
    assert memory.sample(999) == (0, 0)


def test_tree_memory_reads_pss_and_children_files(
    tmp_path: Path, case_study: types.ModuleType
) -> None:
    tid = threading.get_native_id()
    (tmp_path / "self" / "task" / str(tid)).mkdir(parents=True)
    (tmp_path / "self" / "task" / str(tid) / "children").write_text("")
    (tmp_path / "self" / "smaps_rollup").write_text("Rss: 10 kB\nPss: 5 kB\n")
    rollup = "00400000-7fff00000000 ---p 00000000 00:00 0 [rollup]\nRss: {} kB\nPss: {} kB\n"
    fake_process(tmp_path, 200, "python", 1, smaps_rollup=rollup.format(3000, 2000))
    fake_process(tmp_path, 201, "worker", 200, smaps_rollup=rollup.format(3000, 700))
    fake_process(tmp_path, 202, "worker", 200, smaps_rollup=rollup.format(3000, 300))
    for pid, tasks in {200: {200: "201 ", 210: "202 "}, 201: {201: ""}, 202: {202: ""}}.items():
        for task, children in tasks.items():
            (tmp_path / str(pid) / "task" / str(task)).mkdir(parents=True)
            (tmp_path / str(pid) / "task" / str(task) / "children").write_text(children)
    memory = case_study.TreeMemory(tmp_path)
    assert (memory.kind, memory.sampled, memory.children_files) == ("PSS", True, True)
    assert sorted(memory.tree(200)) == [200, 201, 202]
    assert memory.sample(200) == (3000, 3)


def test_without_proc_the_report_says_getrusage_gives_a_lower_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case_study: types.ModuleType
) -> None:
    memory = case_study.TreeMemory(tmp_path / "no-proc")
    assert (memory.kind, memory.sampled) == ("getrusage", False)
    run = case_study.Run(1.5, [], 3, os.getpid(), 51200, 0)
    case_study.describe(run, memory)
    assert capsys.readouterr().out == (
        "  Processed 0 images, skipped 3 (corrupt)\n"
        "  wall time 1.50 s, peak memory 50.0 MiB "
        "(peak RSS of the run plus its largest worker, from getrusage: a lower bound)\n"
    )
    assert isinstance(case_study.maxrss_kib(), int)
