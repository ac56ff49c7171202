"""Multi-producer, single-consumer channels: Rust's ``std::sync::mpsc``, crossbeam's ``select``.

Hello, world
------------

A channel is a pair: a sender and a receiver. What one thread sends, the
other receives, in order:

>>> from fearless import spawn
>>> from fearless.mpsc import channel
>>> tx, rx = channel[str]()
>>> handle = spawn(tx.send, "Hello, world!")
>>> rx.recv()
'Hello, world!'
>>> handle.join()

Types
-----

:data:`channel` makes an *unbounded* channel: ``send`` never blocks.
:data:`sync_channel` makes a *bounded* one, holding at most ``bound``
messages: ``send`` waits for room. ``sync_channel(0)`` is a *rendezvous*:
a send completes only when the receiver takes the message.

>>> from fearless.mpsc import Full, sync_channel
>>> tx, rx = sync_channel[int](1)
>>> tx.send(1)                       # room for one message
>>> try:
...     tx.try_send(2)               # full: try_send does not wait
... except Full as e:
...     print("full, got back", e.value)
full, got back 2

The brackets give the message type to the type checker (``Sender[int]``,
``Receiver[int]``); an annotation works too: ``tx: Sender[int]`` then
``tx, rx = channel()``.

Sharing
-------

Senders are cloned, one per producer thread; the receiver stays with one
consumer. Messages from each sender arrive in the order that sender sent
them.

>>> tx, rx = channel[tuple[int, int]]()
>>> def produce(tx, worker):
...     with tx:                      # this clone is closed when the block ends
...         for i in range(3):
...             tx.send((worker, i))
>>> handles = [spawn(produce, tx.clone(), w) for w in range(2)]
>>> tx.close()                        # keep no sender here, or the loop never ends
>>> sorted(rx)                        # receives until every sender is gone
[(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
>>> for h in handles:
...     h.join()

Disconnection
-------------

When every sender is gone — closed, left its ``with`` block, or
garbage-collected — the channel is *disconnected*: the receiver still gets
the messages already queued, then :class:`RecvError`. When the receiver is
gone, sending raises :class:`SendError`, which hands the message back, and
the messages still queued are released at once.

>>> from fearless.mpsc import RecvError, SendError
>>> tx, rx = channel[int]()
>>> tx.send(1)
>>> del tx                            # garbage collection drops a sender too
>>> rx.recv()
1
>>> try:
...     rx.recv()
... except RecvError as e:
...     print(e)
every sender is gone and the channel is empty; no message will ever arrive

Blocking
--------

``recv``, ``SyncSender.send`` and :func:`select` block; each takes a
``timeout=`` in seconds and then raises a :class:`TimeoutError`
(:class:`RecvTimeoutError`, :class:`SendTimeoutError`). ``try_recv`` and
``try_send`` never block: they raise :class:`Empty` and :class:`Full`,
which are also :class:`queue.Empty` and :class:`queue.Full`.

>>> from fearless.mpsc import Empty
>>> tx, rx = channel[int]()
>>> try:
...     rx.recv(timeout=0.01)
... except TimeoutError as e:
...     print(e)
no message arrived within 0.01 seconds

Iteration
---------

``for msg in rx`` receives until disconnection; ``rx.try_iter()`` takes only
the messages queued right now:

>>> for i in range(3):
...     tx.send(i)
>>> list(rx.try_iter())
[0, 1, 2]

Selection
---------

:func:`select` waits on several receivers at once and takes one message
from whichever is ready. Timer channels — :func:`after`, :func:`tick`,
:func:`never` — make timeouts and heartbeats part of the selection:

>>> from fearless.mpsc import after, select
>>> deadline = after(0.05)
>>> got = select(rx, deadline)
>>> got.receiver is deadline          # nothing was sent: the timer fired
True

Async
-----

The same channels work from coroutines — ``await rx.recv_async()``,
``async for msg in rx``, ``await tx.send_async(msg)`` on a bounded sender —
while threads use the blocking API on the other end. No event loop is
needed to create a channel.

>>> import asyncio
>>> tx, rx = sync_channel[int](2)
>>> async def consume() -> list[int]:
...     return [msg async for msg in rx]
>>> def produce(tx) -> None:
...     with tx:
...         for i in range(5):
...             tx.send(i)            # blocks while the channel holds 2
>>> handle = spawn(produce, tx)
>>> del tx                            # the thread has the only sender
>>> asyncio.run(consume())
[0, 1, 2, 3, 4]
>>> handle.join()
"""

from ._errors import ConcurrentRecvError as ConcurrentRecvError
from ._errors import Empty as Empty
from ._errors import Full as Full
from ._errors import RecvError as RecvError
from ._errors import RecvTimeoutError as RecvTimeoutError
from ._errors import SendError as SendError
from ._errors import SendTimeoutError as SendTimeoutError
from ._mpsc.handles import Receiver as Receiver
from ._mpsc.handles import Sender as Sender
from ._mpsc.handles import SyncSender as SyncSender
from ._mpsc.handles import channel as channel
from ._mpsc.handles import sync_channel as sync_channel
from ._mpsc.messages import was_sent as was_sent
from ._mpsc.select import Selected as Selected
from ._mpsc.select import select as select
from ._mpsc.timers import after as after
from ._mpsc.timers import never as never
from ._mpsc.timers import tick as tick
from ._util import fixup_module_metadata as _fixup_module_metadata

__all__ = (
    "channel",
    "sync_channel",
    "Sender",
    "SyncSender",
    "Receiver",
    "select",
    "Selected",
    "after",
    "tick",
    "never",
    "SendError",
    "SendTimeoutError",
    "Full",
    "Empty",
    "RecvError",
    "RecvTimeoutError",
    "ConcurrentRecvError",
    "was_sent",
)

_fixup_module_metadata(__name__, globals())
del _fixup_module_metadata
