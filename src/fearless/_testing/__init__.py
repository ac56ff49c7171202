"""The interleaving explorer behind :mod:`fearless.testing` (internal).

Its layers, bottom up:

- :mod:`.keys` -- what a step touches, for the partial-order search;
- :mod:`.declarations` -- each primitive's switch points and key;
- :mod:`.report` -- steps, replay strings, traces, the public results;
- :mod:`.tracing` -- ``trace=True``: lines and stores of user code;
- :mod:`.scheduler` -- one run: simulated threads, batons, virtual time;
- :mod:`.locks` -- simulated raw locks;
- :mod:`.takeover` -- the seam, ``threading``, ``time.sleep`` and the
  declared operations, routed to the run in progress;
- :mod:`.partial_order` and :mod:`.strategies` -- who goes next;
- :mod:`.explore` -- :func:`~.explore.explore`, the entry point.

:mod:`fearless.testing` re-exports the public names.
"""
