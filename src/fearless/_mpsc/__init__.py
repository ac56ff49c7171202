"""Channels: the machinery behind :mod:`fearless.mpsc` (laid out like crossbeam-channel).

What lives where:

- ``messages`` -- the error messages, :data:`~.messages.NOTE_SENT` and ``was_sent``.
- ``waiting`` -- waiters, parking and waking, the receiver's busy marker.
- ``flavors`` -- ``_Chan`` (what a receiver needs of any channel) and
  ``_SenderSide`` (counted senders); ``flavors.list`` (unbounded),
  ``flavors.array`` (bounded), ``flavors.zero`` (rendezvous).
- ``timers`` -- ``after``, ``tick``, ``never``: channels made of time.
- ``handles`` -- ``Sender``, ``SyncSender``, ``Receiver`` and the
  constructors ``channel`` and ``sync_channel``; the handles' drop-once
  behaviour comes from ``fearless._handle``.
- ``select`` -- ``select`` and ``Selected``; it reaches a receiver only
  through the ``Selectable`` interface.

``fearless.mpsc`` re-exports the public names. Everything blocks through
the seam (``fearless._seam``), so the explorer can take over.

How it works, for the reviewer:

- Every channel flavour keeps its messages in a :class:`collections.deque`;
  ``append`` and ``popleft`` are single C calls that are atomic on both
  builds, so the fast paths take no lock. An unbounded ``send`` is a check,
  an ``append`` and a check; a ``recv`` with a message waiting is one
  ``popleft``.
- Bounded channels hand out room as *permits*: a deque holding one token
  per free slot (Rust's array flavour also allocates its slots up front).
  A sender pops a permit before appending, the receiver appends one back
  after taking a message; both are single C calls.
- Nothing blocks unless it must. A thread that must wait creates a
  :class:`_Waiter` (a raw lock from the seam, acquired, plus a one-shot
  *claim*), publishes it where the other side will look (``chan.waiter``
  for the receiver, ``chan.send_waiters`` for bounded senders, an offer for
  rendezvous senders), **re-checks** the condition it waits for, and only
  then blocks on the lock. The other side changes the state first (append,
  return a permit, drop the last sender) and then looks for a waiter. So
  either the waiter sees the change on its re-check, or the other side
  sees the waiter: no wake-up is lost.
- Exactly one waker gets to wake a waiter: waking pops the waiter's claim
  (``list.pop`` is atomic), and only the thread that got it releases the
  lock. A waiter that stops waiting (it saw its condition, or timed out)
  pops the claim itself, so nobody releases its lock afterwards. ``select``
  publishes one waiter on all its receivers; the first channel that
  claims it wins, the others find it claimed and leave it alone.
- Blocking waits are done in slices (the seam's ``backend.slice``). Between
  slices the waiting thread runs Python code again, so finalisers that
  free-threaded CPython queued for it — a :class:`Sender` or
  :class:`Receiver` it created, dropped by another thread — run promptly,
  and the wait notices the disconnection they cause. Slices also bound
  the damage of any wake-up lost to a weaker memory model than x86's.
- A receive or bounded send that would block first yields the processor
  (and the GIL) with ``sched_yield`` and retries, ``backend.snoozes``
  times (crossbeam's ``Backoff::snooze``): the thread on the other end
  usually makes progress within microseconds, which is far cheaper than a
  park and a wake-up on both sides. ``time.sleep(0)``, which the locks use
  to hand the GIL over, costs the kernel's timer slack (about 80 µs) per
  call; with it a bounded channel paid one such sleep per side for every
  full buffer.
- Counts of senders change under a reentrant lock from the seam, so a
  ``Sender`` garbage-collected inside an operation on its own channel (in
  the same thread) cannot deadlock.
- Interrupts. CPython raises ``KeyboardInterrupt`` (from a signal handler)
  when a function starts, after a call returns and at a loop's back edge.
  So every piece of bookkeeping is one C operation placed *inside* the
  ``try`` that undoes it (``busy[me] = None`` / ``busy.pop(me, None)``),
  a permit taken just before an interrupt is given back by its
  ``except``, and a rendezvous offer is withdrawn -- and its delivery
  learnt -- by one C call prepared in advance (:func:`_settler`). Loops
  that CPython 3.12+ leaves outside their ``try``'s exception table live
  in functions of their own (:func:`_snooze`). A send that raises did not
  deliver its message unless the exception carries :data:`NOTE_SENT`.
- Finalisers run at interpreter shutdown, when module globals are None:
  everything a handle's ``__del__`` reaches is bound as a default argument.
"""
