"""What the channels say: error messages, copy advice, and whether a failed send delivered.

:data:`NOTE_SENT` is the note a send's exception carries when its message
was delivered all the same; :func:`was_sent` reads it. Relies on nothing
else in fearless: every other module of the package imports from here.
"""

from __future__ import annotations

_MSG_SENDER_CLOSED = "this Sender was closed; use a live clone of it instead"
_MSG_SYNC_SENDER_CLOSED = "this SyncSender was closed; use a live clone of it instead"
_MSG_RECEIVER_CLOSED = "this Receiver was closed; it cannot receive any more"
_MSG_SEND_DISCONNECTED = (
    "the receiver is gone, so the message can never be delivered; it is returned in .value"
)
_MSG_RECV_DISCONNECTED = (
    "every sender is gone and the channel is empty; no message will ever arrive"
)
_MSG_EMPTY = "the channel is empty; call recv() to wait for a message"
_MSG_FULL = "the channel is full (capacity {}); call send() to wait for room, or try again later"
_MSG_FULL_RENDEZVOUS = (
    "no receiver is waiting on this rendezvous channel (capacity 0); call send() to wait for one"
)
_MSG_RECV_TIMEOUT = "no message arrived within {} seconds"
_MSG_SEND_TIMEOUT = "the channel stayed full for {} seconds; the message is returned in .value"
_MSG_SEND_TIMEOUT_RENDEZVOUS = (
    "no receiver took the message within {} seconds; it is returned in .value"
)
_MSG_CONCURRENT = (
    "another thread or task is already receiving on this Receiver; a channel has a single "
    "consumer (Rust's Receiver is not Sync): receive in one place and hand the messages on"
)
_MSG_FORKED = (
    "this channel's sender count is locked by a thread that os.fork() did not copy into "
    "this process, so it can never be released; create channels after fork, or use the "
    "'forkserver' or 'spawn' start methods of multiprocessing"
)
#: The note a send's exception carries when its message was delivered all the same.
NOTE_SENT = "fearless: the message was sent before this exception arrived; do not send it again"


def was_sent(exc: BaseException) -> bool:
    """Whether the send that raised ``exc`` delivered its message all the same.

    A send that raises did not deliver its message -- except when an
    exception that does not come from the channel (``KeyboardInterrupt``
    from Ctrl-C, or another exception raised by a signal handler) arrives
    after the message was handed over. Then the exception carries a note
    saying so (shown in its traceback), and this function returns True:
    do not send the message again. If a second interrupt cut the handling
    of the first one short, the note is on the first, which this function
    finds through ``__context__``.

    Example:
        >>> from fearless.mpsc import SendError, channel, was_sent
        >>> tx, rx = channel[int]()
        >>> rx.close()
        >>> try:
        ...     tx.send(1)
        ... except SendError as e:
        ...     print(was_sent(e))
        False
    """
    seen: BaseException | None = exc
    for _ in range(8):  # a bounded walk: contexts can form a cycle
        if seen is None:
            return False
        if NOTE_SENT in getattr(seen, "__notes__", ()):
            return True
        seen = seen.__context__
    return False


_ADVICE_SENDER = (
    "use .clone() (or copy.copy) for another sender of the same channel; a channel "
    "connects threads of one process, so it cannot be deep-copied or pickled "
    "(between processes, use multiprocessing's queues)"
)
_ADVICE_RECEIVER = (
    "a channel has a single receiver: hand this one to the thread that receives; "
    "it cannot be copied or pickled (between processes, use multiprocessing's queues)"
)
_MSG_BOUND = "bound must be a non-negative int (0 makes a rendezvous channel), got {!r}"

_MSG_SELECT_DISCONNECTED = (
    "every channel passed to select() has lost all its senders and is empty; "
    "no message will ever arrive"
)
_MSG_SELECT_TIMEOUT = "select() received nothing within {} seconds from its {} channel{}"
_MSG_PERIOD = "a timer needs a non-negative, finite number of seconds, got {!r}"
_MSG_SELECT_NOTHING = "select() needs at least one Receiver"
_MSG_SELECT_TYPE = "select() takes Receivers, got {}"
