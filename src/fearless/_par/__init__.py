"""Data parallelism in one call: ``par_map``, ``par_imap``, ``par_iter``, ``join``, pools.

rayon's promise — change ``iter()`` to ``par_iter()`` and it runs on every
core — ported to Python. :func:`par_map` is ``list(map(fn, items))`` run in
parallel, in input order:

>>> from fearless import par_map
>>> par_map(abs, [-3, 1, -2])
[3, 1, 2]

:func:`par_iter` chains rayon's adapters; the whole chain runs as one pass
over each chunk, on the workers:

>>> from fearless import par_iter
>>> par_iter(range(10)).map(abs).filter(lambda x: x % 2 == 0).with_backend("threads").sum()
20

:func:`join` runs two callables at once and returns both results:

>>> from fearless import join
>>> join(lambda: sum(range(10)), lambda: max(range(10)))
(45, 9)

Backends:
    ``"threads"`` (a shared pool of threads in this process),
    ``"processes"`` (a shared pool of worker processes; functions and items
    are pickled), ``"interpreters"`` (Python 3.14+), a
    :class:`ThreadPool`/:class:`ProcessPool` of your own, any
    :class:`concurrent.futures.Executor`, or a :class:`distributed.Client`
    to run on a Dask cluster (``pip install fearless[dask]``; functions and
    items are pickled with cloudpickle). ``"auto"`` (the default) picks
    threads when the GIL is disabled — free-threaded CPython runs Python
    code on all cores with no pickling — and processes when the GIL is on,
    falling back to threads for work that cannot be pickled (lambdas,
    closures). :func:`par_info` says what ``"auto"`` picks here, and why.

Chunking:
    Items travel in chunks so that per-item overhead is amortised: about
    four chunks per worker for inputs with a length; for inputs without
    one, chunks grow until each takes a few milliseconds. ``chunksize=``
    fixes the size (rayon's ``with_min_len``).

Failures:
    The exception of the earliest failing item (in input order, among the
    failures seen before the rest was cancelled) is raised with the
    worker's traceback — from a process, chained to a ``_RemoteTraceback``
    as :mod:`concurrent.futures` does — and a note naming the item. Queued
    chunks are cancelled, running thread chunks stop after their current
    item, and worker processes still running are killed (the pool starts
    fresh ones on next use); on a Dask cluster, running chunks are told to
    stop and stop after their current item. When the call raises, none of
    its work is still running.

Layout (what lives where):
    ``api`` (``par_map``, ``par_imap``, ``join``, ``par_info``),
    ``iterator`` (``ParIter``), ``pools`` (``ThreadPool``, ``ProcessPool``),
    ``engine`` (one call: chunking, the window, order, failures, stopping),
    ``task`` (the worker protocol: what a chunk carries and brings back, and
    the per-process worker state), ``progress``, ``interrupts`` (Ctrl-C held
    back during bookkeeping), and ``backends/`` (one module per backend
    behind one small interface).
"""

from __future__ import annotations

from .api import ParInfo as ParInfo
from .api import join as join
from .api import par_imap as par_imap
from .api import par_info as par_info
from .api import par_map as par_map
from .engine import _RemoteTraceback as _RemoteTraceback
from .iterator import ParIter as ParIter
from .iterator import par_iter as par_iter
from .pools import ProcessPool as ProcessPool
from .pools import ThreadPool as ThreadPool

__all__ = (
    "ParInfo",
    "ParIter",
    "ProcessPool",
    "ThreadPool",
    "join",
    "par_imap",
    "par_info",
    "par_iter",
    "par_map",
)
