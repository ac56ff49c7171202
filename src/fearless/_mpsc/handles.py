"""The channel ends: :class:`Sender`, :class:`SyncSender`, :class:`Receiver`, and the constructors.

Each handle holds its channel (a flavour of ``_mpsc.flavors``) in ``_shared``
until it is dropped. The send and receive fast paths are written inline
here; anything that may wait goes to the flavour and to ``_mpsc.waiting``.
:data:`channel` and :data:`sync_channel` build a flavour and its two ends.
"""

from __future__ import annotations

import asyncio
from _thread import get_ident
from collections.abc import Callable, Iterator
from typing import Any, Generic, NoReturn, Self, TypeVar, final, overload

from .. import _seam
from .._deadline import Deadline, check_timeout
from .._errors import (
    ConcurrentRecvError,
    ConsumedError,
    Empty,
    Full,
    RecvError,
    RecvTimeoutError,
    SendError,
)
from .._handle import DropOnce
from .._util import NoPublicConstructor
from .flavors import _NOTHING, _Chan, _SenderSide
from .flavors.array import _ArrayChan
from .flavors.list import _ListChan
from .flavors.zero import _ZeroChan
from .messages import (
    _ADVICE_RECEIVER,
    _ADVICE_SENDER,
    _MSG_BOUND,
    _MSG_CONCURRENT,
    _MSG_EMPTY,
    _MSG_FULL,
    _MSG_FULL_RENDEZVOUS,
    _MSG_RECEIVER_CLOSED,
    _MSG_RECV_DISCONNECTED,
    _MSG_RECV_TIMEOUT,
    _MSG_SEND_DISCONNECTED,
    _MSG_SENDER_CLOSED,
    _MSG_SYNC_SENDER_CLOSED,
    NOTE_SENT,
)
from .waiting import (
    _DISCONNECTED,
    _AsyncWaiter,
    _Busy,
    _mark_busy,
    _park,
    _park_async,
    _snooze,
    _Waiter,
    _wake_one,
)

T = TypeVar("T")
U = TypeVar("U")
T_co = TypeVar("T_co", covariant=True)
T_contra = TypeVar("T_contra", contravariant=True)
C = TypeVar("C", bound=_Chan)
S = TypeVar("S", bound=_SenderSide)


def _closed_pop() -> NoReturn:
    raise ConsumedError(_MSG_RECEIVER_CLOSED)


class _ChannelEnd(DropOnce[C], metaclass=NoPublicConstructor):
    """What every channel end shares: its channel in ``_shared``, None once dropped.

    ``with``, ``__del__`` and the refusal to be copied or pickled come from
    :class:`~fearless._handle.DropOnce`; each end says how it is dropped
    (``_drop``) and, as its ``close()``, raises ``ConsumedError(_dropped)``
    when it was closed already.
    """

    __slots__ = ("__weakref__",)

    def __init__(self, chan: C | None) -> None:
        # None: closed (or a sender's clone not connected yet, see _SenderSide.add_sender).
        self._shared = chan

    def __repr__(self) -> str:
        chan = self._shared
        if chan is None:
            return f"<{type(self).__name__}: closed>"
        return f"<{type(self).__name__}: {chan.describe()}>"


class _SenderEnd(_ChannelEnd[S]):
    """What :class:`Sender` and :class:`SyncSender` share: being one counted sender."""

    __slots__ = ()

    _copy_advice = _ADVICE_SENDER

    def clone(self) -> Self:
        """Another sender for the same channel; the channel stays connected while any lives.

        Raises:
            ConsumedError: This sender was closed.

        Example:
            >>> from fearless.mpsc import channel
            >>> tx, rx = channel[int]()
            >>> tx2 = tx.clone()
            >>> tx.close()
            >>> tx2.send(7)
            >>> rx.recv()
            7
        """
        chan = self._live()
        new: Self = type(self)._create(None)
        chan.add_sender(self, new)
        return new

    def close(self) -> None:
        """Drop this sender (Rust's ``drop(tx)``); the last one disconnects the channel.

        Raises:
            ConsumedError: This sender was already closed.

        Example:
            >>> from fearless.mpsc import channel
            >>> tx, rx = channel[int]()
            >>> tx2 = tx.clone()
            >>> tx.send(1)
            >>> tx.close()
            >>> rx                                  # tx2 keeps the channel connected
            <Receiver: ~1 queued (snapshot), 1 sender>
            >>> tx2.close()
            >>> list(rx)                            # what was sent, then the end
            [1]
            >>> rx.try_recv()
            Traceback (most recent call last):
            ...
            fearless.mpsc.RecvError: every sender is gone and the channel is empty; no
            message will ever arrive
        """
        if not self._drop():
            raise ConsumedError(self._dropped)

    def _drop(self) -> bool:
        chan = self._shared
        return chan is not None and chan.drop_sender(self)

    def __copy__(self) -> Self:  # type: ignore[override]
        """``copy.copy(tx)`` is ``clone()``: a counted sender.

        ``copy.deepcopy`` and pickling raise :class:`TypeError`: a channel
        connects threads of this process, it cannot be duplicated.
        """
        return self.clone()


@final
class Sender(_SenderEnd[_ListChan], Generic[T_contra], metaclass=NoPublicConstructor):
    """The sending half of an unbounded channel (Rust's ``mpsc::Sender<T>``).

    Made by :data:`channel`. :meth:`send` never blocks. Senders are
    cloneable (:meth:`clone`), and every clone counts: the channel is
    disconnected for the receiver when the last one is gone.

    Disconnection:
        A sender is gone after :meth:`close`, at the end of its ``with``
        block, or when it is garbage-collected. When the last sender goes,
        a receiver blocked in ``recv``/``select``/``recv_async`` wakes at
        once; it still receives every message already queued, then gets
        :class:`~fearless.mpsc.RecvError`. Once the *receiver* is gone,
        :meth:`send` raises :class:`~fearless.mpsc.SendError` holding the
        message.

    Example:
        >>> from fearless.mpsc import channel
        >>> tx, rx = channel[str]()
        >>> with tx:
        ...     tx.send("hi")
        >>> rx.recv()
        'hi'
        >>> list(rx)            # the only sender is gone: iteration ends
        []
    """

    __slots__ = ()

    _dropped = _MSG_SENDER_CLOSED

    def send(self, value: T_contra) -> None:
        """Queue ``value`` for the receiver; never blocks.

        Messages from one sender arrive in the order sent.

        Raises:
            SendError: The receiver is gone; ``.value`` is the message.
            ConsumedError: This sender was closed.

        Example:
            >>> from fearless.mpsc import SendError, channel
            >>> tx, rx = channel[int]()
            >>> tx.send(1)
            >>> rx.close()
            >>> try:
            ...     tx.send(2)
            ... except SendError as e:
            ...     print(e.value, "-", e)
            2 - the receiver is gone, so the message can never be delivered;
            it is returned in .value
        """
        chan = self._shared
        try:
            waiter = chan.waiter  # type: ignore[union-attr]
        except AttributeError:  # chan is None
            raise ConsumedError(_MSG_SENDER_CLOSED) from None
        if waiter is _DISCONNECTED:
            raise SendError(_MSG_SEND_DISCONNECTED, value)
        try:
            chan.append(value)  # type: ignore[union-attr]
            if chan.waiter is not None:  # type: ignore[union-attr]
                chan.notify()  # type: ignore[union-attr]
        except BaseException as exc:  # an interrupt after the append: say it was sent
            exc.add_note(NOTE_SENT)
            raise


@final
class SyncSender(
    _SenderEnd[_ArrayChan | _ZeroChan], Generic[T_contra], metaclass=NoPublicConstructor
):
    """The sending half of a bounded channel (Rust's ``mpsc::SyncSender<T>``).

    Made by :data:`sync_channel`. :meth:`send` blocks while the channel
    holds ``bound`` messages; with ``bound=0`` (a *rendezvous*) every send
    waits until the receiver takes the message. Cloning and
    disconnection work as for :class:`Sender`.

    Example:
        >>> from fearless.mpsc import Full, sync_channel
        >>> tx, rx = sync_channel[int](1)
        >>> tx.send(1)
        >>> try:
        ...     tx.try_send(2)
        ... except Full as e:
        ...     print(e)
        the channel is full (capacity 1); call send() to wait for room, or try again later
        >>> rx.recv()
        1
    """

    __slots__ = ()

    _dropped = _MSG_SYNC_SENDER_CLOSED

    def send(self, value: T_contra, *, timeout: float | None = None) -> None:
        """Send ``value``, waiting while the channel is full.

        On a rendezvous channel (``bound=0``), waits until the receiver has
        taken the message.

        Args:
            value: The message.
            timeout: Seconds to wait at most; ``None`` waits as long as it
                takes. Larger than ``threading.TIMEOUT_MAX`` waits as long
                as the platform allows.

        Raises:
            SendError: The receiver is (or went) gone; ``.value`` is the message.
            SendTimeoutError: No room (or no receiver) within ``timeout``;
                ``.value`` is the message, which was not sent.
            ConsumedError: This sender was closed.
            ValueError: ``timeout`` is negative or NaN.

        Example:
            >>> from fearless.mpsc import SendTimeoutError, sync_channel
            >>> tx, rx = sync_channel[str](1)
            >>> tx.send("first")
            >>> try:
            ...     tx.send("second", timeout=0.01)
            ... except SendTimeoutError as e:
            ...     print(e.value, "-", e)
            second - the channel stayed full for 0.01 seconds; the message is returned in .value
        """
        chan = self._shared
        try:
            waiter = chan.waiter  # type: ignore[union-attr]
        except AttributeError:  # chan is None
            raise ConsumedError(_MSG_SYNC_SENDER_CLOSED) from None
        if timeout is None and waiter is None:  # the fast path: take a permit
            try:
                chan.take_permit()  # type: ignore[union-attr]
            except IndexError:
                pass
            except BaseException:  # an interrupt right after: give the permit back
                chan.permits.append(None)  # type: ignore[union-attr]
                raise
            else:
                try:
                    chan.append(value)  # type: ignore[union-attr]
                    if chan.waiter is not None:  # type: ignore[union-attr]
                        chan.notify()  # type: ignore[union-attr]
                except BaseException as exc:  # an interrupt after the append
                    exc.add_note(NOTE_SENT)
                    raise
                return
        chan.send(value, timeout)  # type: ignore[union-attr]

    def try_send(self, value: T_contra) -> None:
        """Send ``value`` only if that needs no waiting.

        On a rendezvous channel this succeeds only while the receiver is
        blocked waiting for a message (in ``recv``, ``select`` or
        ``recv_async``); the message is then the next one it gets.

        Raises:
            Full: No room right now (a :class:`queue.Full`); ``.value`` is the message.
            SendError: The receiver is gone; ``.value`` is the message.
            ConsumedError: This sender was closed.

        Example:
            >>> from fearless.mpsc import Full, sync_channel
            >>> tx, rx = sync_channel[int](0)
            >>> try:
            ...     tx.try_send(1)
            ... except Full as e:
            ...     print(e.value, "-", e)
            1 - no receiver is waiting on this rendezvous channel (capacity 0);
            call send() to wait for one
        """
        chan = self._live()
        if not chan.try_send(value):
            if isinstance(chan, _ZeroChan):
                raise Full(_MSG_FULL_RENDEZVOUS, value)
            raise Full(_MSG_FULL.format(chan.cap), value)

    async def send_async(self, value: T_contra) -> None:
        """Send ``value`` from a coroutine, awaiting room instead of blocking the thread.

        Works while other threads use the blocking API on the same channel.
        For a timeout, wrap it in :func:`asyncio.timeout`.

        Cancellation:
            If the task is cancelled while waiting for room, the message was
            not sent. On a rendezvous channel the receiver may have taken
            the message just before the cancellation arrived: it is then
            delivered (once) and the cancellation still propagates.

        Raises:
            SendError: The receiver is gone; ``.value`` is the message.
            ConsumedError: This sender was closed.

        Example:
            >>> import asyncio
            >>> from fearless.mpsc import sync_channel
            >>> tx, rx = sync_channel[int](1)
            >>> async def main() -> int:
            ...     await tx.send_async(5)
            ...     return await rx.recv_async()
            >>> asyncio.run(main())
            5
        """
        await self._live().send_async(value)


@final
class Receiver(_ChannelEnd[_Chan], Generic[T_co], metaclass=NoPublicConstructor):
    """The receiving half of a channel (Rust's ``mpsc::Receiver<T>``).

    Made by :data:`channel`, :data:`sync_channel`, :func:`after`,
    :func:`tick` and :func:`never`. There is one receiver per channel and
    it cannot be cloned.

    Receiving:
        :meth:`recv` blocks for the next message; :meth:`try_recv` does
        not block. Iterating (``for msg in rx``) receives until every
        sender is gone and the queue is drained; :meth:`try_iter` takes
        only what is there now. ``await rx.recv_async()`` and
        ``async for msg in rx`` do the same in a coroutine.

    Disconnection:
        Messages already queued are still received after every sender is
        gone; then ``recv`` raises :class:`~fearless.mpsc.RecvError`.
        The receiver itself is gone after :meth:`close`, at the end of its
        ``with`` block, or when garbage-collected: from then on senders
        get :class:`~fearless.mpsc.SendError`, blocked senders wake, and
        the messages still queued are released at once.

    Single consumer:
        Two threads (or tasks) receiving at the same time raise
        :class:`~fearless.mpsc.ConcurrentRecvError` (Rust rejects sharing a
        ``Receiver`` at compile time). It is detected whenever a receive
        has to wait or a timeout is given; moving a receiver to another
        thread is fine.

    Example:
        >>> from fearless import spawn
        >>> from fearless.mpsc import channel
        >>> tx, rx = channel[int]()
        >>> def produce(tx):
        ...     with tx:
        ...         for i in range(3):
        ...             tx.send(i * i)
        >>> handle = spawn(produce, tx)
        >>> del tx                    # the thread owns the only sender now
        >>> [msg for msg in rx]       # ends when the thread's sender is gone
        [0, 1, 4]
        >>> handle.join()
    """

    __slots__ = ("_busy", "_pop")

    _copy_advice = _ADVICE_RECEIVER
    _dropped = _MSG_RECEIVER_CLOSED

    # select() uses ``_busy`` and ``_live()`` and nothing else: they are the
    # declared interface ``Selectable`` of ``_mpsc.select``; keep them in step.
    _busy: _Busy

    def __init__(self, chan: _Chan) -> None:
        self._shared = chan
        self._pop: Callable[[], Any] = chan.pop
        self._busy = _Busy()

    def recv(self, *, timeout: float | None = None) -> T_co:
        """Wait for the next message and return it.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it
                takes. Larger than ``threading.TIMEOUT_MAX`` waits as long
                as the platform allows.

        Raises:
            RecvError: Every sender is gone and nothing is queued.
            RecvTimeoutError: No message within ``timeout`` (a :class:`TimeoutError`).
            ConcurrentRecvError: Another thread is receiving at the same time.
            ConsumedError: This receiver was closed.
            ValueError: ``timeout`` is negative or NaN.

        Example:
            >>> from fearless.mpsc import RecvTimeoutError, channel
            >>> tx, rx = channel[int]()
            >>> tx.send(1)
            >>> rx.recv(timeout=1.0)
            1
            >>> try:
            ...     rx.recv(timeout=0.01)
            ... except RecvTimeoutError as e:
            ...     print(e)
            no message arrived within 0.01 seconds
        """
        if timeout is None:
            try:
                return self._pop()  # type: ignore[no-any-return]
            except IndexError:
                pass
        return self._recv_slow(timeout)  # type: ignore[no-any-return]

    def _refuse_concurrent(self) -> NoReturn:
        """Another receive holds the busy marker: ConsumedError if closed, else this."""
        self._live()
        raise ConcurrentRecvError(_MSG_CONCURRENT)

    def _recv_slow(self, timeout: float | None) -> Any:
        deadline = Deadline(check_timeout(timeout))
        busy = self._busy
        me = get_ident()
        if me in busy:  # a receive on this thread already (from a finaliser)
            self._refuse_concurrent()
        try:
            busy[me] = None  # inside the try: no interrupt can separate it from the finally
            if not _mark_busy(busy, me):
                self._refuse_concurrent()
            snoozes = _seam.backend.snoozes
            while True:
                chan = self._live()
                value = chan.take()
                if value is not _NOTHING:
                    return value
                if deadline.expired():
                    raise RecvTimeoutError(_MSG_RECV_TIMEOUT.format(timeout))
                if snoozes:
                    # In a function of its own: the loop's back edge is not in
                    # this frame's exception table on 3.12+ (see _snooze).
                    _snooze(chan, deadline, snoozes)
                    snoozes = 0
                    continue
                waiter = _Waiter()
                try:
                    chan.waiter = waiter
                    _park(waiter, chan.ready, deadline, chan.ready_in)
                finally:
                    if chan.waiter is waiter:
                        chan.waiter = None
        finally:
            busy.pop(me, None)

    def try_recv(self) -> T_co:
        """Return the next message if one is queued now, without blocking.

        Raises:
            Empty: Nothing is queued (a :class:`queue.Empty`).
            RecvError: Nothing is queued and every sender is gone.
            ConsumedError: This receiver was closed.

        Example:
            >>> from fearless.mpsc import Empty, channel
            >>> tx, rx = channel[int]()
            >>> try:
            ...     rx.try_recv()
            ... except Empty as e:
            ...     print(e)
            the channel is empty; call recv() to wait for a message
        """
        try:
            return self._pop()  # type: ignore[no-any-return]
        except IndexError:
            pass
        chan = self._live()
        if chan.disconnected():
            try:
                return chan.pop()  # type: ignore[no-any-return]
            except IndexError:
                raise RecvError(_MSG_RECV_DISCONNECTED) from None
        raise Empty(_MSG_EMPTY)

    def try_iter(self) -> Iterator[T_co]:
        """Iterate over the messages queued now, without blocking (Rust's ``try_iter``).

        Stops at the first :meth:`try_recv` that would raise.

        Raises:
            ConsumedError: This receiver was closed.

        Example:
            >>> from fearless.mpsc import channel
            >>> tx, rx = channel[int]()
            >>> for i in range(3):
            ...     tx.send(i)
            >>> list(rx.try_iter()), list(rx.try_iter())
            ([0, 1, 2], [])
        """
        pop = self._live().pop

        def drain() -> Iterator[T_co]:
            while True:
                try:
                    value: T_co = pop()
                except IndexError:
                    return
                yield value

        return drain()

    def __iter__(self) -> Iterator[T_co]:
        """Receive with :meth:`recv` until every sender is gone and the queue is drained.

        Raises:
            ConsumedError: The receiver is (or gets) closed.
            ConcurrentRecvError: Another thread receives at the same time.
        """
        chan = self._live()
        if type(chan) is _ArrayChan:
            yield from self._iter_array(chan)
            return
        pop = chan.pop
        while True:
            try:
                value: T_co = pop()
            except IndexError:
                try:
                    value = self._recv_slow(None)
                except RecvError:
                    return
            yield value

    def _iter_array(self, chan: _ArrayChan) -> Iterator[T_co]:
        # Inlined copy of _ArrayChan.pop (flavors/array.py): keep in step.
        # The loop of a bounded channel's consumer saves a call per message;
        # tests/test_mpsc_fast_paths.py checks both behave the same.
        popleft = chan.popleft
        give_permit = chan.permits.append
        send_waiters = chan.send_waiters
        while True:
            try:
                value: T_co = popleft()
            except IndexError:
                try:
                    value = self._recv_slow(None)
                except RecvError:
                    return
            except BaseException:
                give_permit(None)  # an interrupt as the message left: keep its room
                raise
            else:
                give_permit(None)
                if send_waiters:
                    _wake_one(send_waiters)
            yield value

    async def recv_async(self) -> T_co:
        """Wait for the next message in a coroutine, without blocking the event loop.

        Works while other threads send (or even receive... one at a time)
        with the blocking API on the same channel; no event loop is needed
        to create the channel. For a timeout, wrap it in
        :func:`asyncio.timeout`.

        Cancellation:
            Cancelling the task loses no message: whatever was not returned
            stays queued for the next receive.

        Raises:
            RecvError: Every sender is gone and nothing is queued.
            ConcurrentRecvError: Another thread or task is receiving at the same time.
            ConsumedError: This receiver was closed.

        Example:
            >>> import asyncio
            >>> from fearless import spawn
            >>> from fearless.mpsc import channel
            >>> tx, rx = channel[str]()
            >>> async def main() -> list[str]:
            ...     handle = spawn(lambda: [tx.send(w) for w in ("a", "b")] and tx.close())
            ...     got = [await rx.recv_async()]
            ...     got += [msg async for msg in rx]
            ...     handle.join()
            ...     return got
            >>> asyncio.run(main())
            ['a', 'b']
        """
        try:
            return self._pop()  # type: ignore[no-any-return]
        except IndexError:
            pass
        return await self._recv_async_slow()  # type: ignore[no-any-return]

    async def _recv_async_slow(self) -> Any:
        busy = self._busy
        me = get_ident()
        if me in busy:  # another task of this thread's loop is receiving
            self._refuse_concurrent()
        try:
            busy[me] = None
            if not _mark_busy(busy, me):
                self._refuse_concurrent()
            loop = asyncio.get_running_loop()
            while True:
                chan = self._live()
                value = chan.take()
                if value is not _NOTHING:
                    return value
                waiter = _AsyncWaiter(loop)
                try:
                    chan.waiter = waiter
                    await _park_async(waiter, chan.ready, chan.ready_in)
                finally:
                    waiter.claims.clear()
                    if chan.waiter is waiter:
                        chan.waiter = None
        finally:
            busy.pop(me, None)

    def __aiter__(self) -> Self:
        """``async for msg in rx`` receives with :meth:`recv_async` until disconnection."""
        return self

    async def __anext__(self) -> T_co:
        try:
            value: T_co = await self.recv_async()
        except RecvError:
            raise StopAsyncIteration from None
        return value

    def close(self) -> None:
        """Drop the receiver (Rust's ``drop(rx)``): senders fail from now on.

        The messages still queued are released at once, blocked senders
        wake with :class:`~fearless.mpsc.SendError`, and later sends raise it.

        Raises:
            ConsumedError: The receiver was already closed.

        Example:
            >>> from fearless.mpsc import channel
            >>> tx, rx = channel[int]()
            >>> tx.send(1)
            >>> rx.close()
            >>> tx
            <Sender: ~0 queued (snapshot), receiver gone>
        """
        if not self._drop():
            raise ConsumedError(_MSG_RECEIVER_CLOSED)

    def _drop(self, _closed_pop: Any = _closed_pop) -> bool:
        # Closing twice is harmless (close_receiver is idempotent), so the
        # receiver counts as closed only once it is: an interrupt in the
        # middle leaves it open, and closing again finishes the job.
        chan = self._shared
        if chan is None:
            return False
        chan.close_receiver()
        self._pop = _closed_pop
        self._shared = None
        return True


# -- constructors ----------------------------------------------------------------


class _ChannelTypedByItem(Generic[T]):
    """What ``channel[T]`` returns: ``channel`` itself, typed for ``T``."""

    def __call__(self) -> tuple[Sender[T], Receiver[T]]:
        raise NotImplementedError  # pragma: no cover - typing only


class _SyncChannelTypedByItem(Generic[T]):
    """What ``sync_channel[T]`` returns: ``sync_channel`` itself, typed for ``T``."""

    def __call__(self, bound: int) -> tuple[SyncSender[T], Receiver[T]]:
        raise NotImplementedError  # pragma: no cover - typing only


@final
class _Channel:
    """Create an unbounded channel: ``channel[T]()`` → ``(Sender[T], Receiver[T])``.

    Rust's ``mpsc::channel::<T>()``. Sending never blocks; messages queue
    until received. Write the message type in brackets, or let an
    annotation say it::

        tx, rx = channel[int]()
        tx: Sender[int]
        tx, rx = channel()

    Example:
        >>> from fearless.mpsc import channel
        >>> tx, rx = channel[str]()
        >>> tx.send("hello")
        >>> rx.recv()
        'hello'
        >>> tx, rx
        (<Sender: ~0 queued (snapshot), 1 sender>, <Receiver: ~0 queued (snapshot), 1 sender>)
    """

    @overload
    def __getitem__(self, item: type[U]) -> _ChannelTypedByItem[U]: ...
    @overload
    def __getitem__(self, item: object) -> _ChannelTypedByItem[Any]: ...
    def __getitem__(self, item: object) -> _ChannelTypedByItem[Any]:
        return self  # type: ignore[return-value]

    def __call__(self) -> tuple[Sender[T], Receiver[T]]:
        chan = _ListChan()
        return Sender._create(chan), Receiver._create(chan)

    def __repr__(self) -> str:
        return "<function fearless.mpsc.channel>"


@final
class _SyncChannel:
    """Create a bounded channel: ``sync_channel[T](bound)`` → ``(SyncSender[T], Receiver[T])``.

    Rust's ``mpsc::sync_channel::<T>(bound)``. The channel holds at most
    ``bound`` messages; :meth:`SyncSender.send` waits for room. With
    ``bound=0`` it is a *rendezvous*: each send completes only when the
    receiver takes the message. Room for ``bound`` messages is allocated
    up front, as in Rust.

    Raises:
        ValueError: ``bound`` is negative.
        TypeError: ``bound`` is not an int.

    Example:
        >>> from fearless import spawn
        >>> from fearless.mpsc import sync_channel
        >>> tx, rx = sync_channel[str](0)
        >>> handle = spawn(tx.send, "handed over")    # waits for the receiver
        >>> rx.recv()
        'handed over'
        >>> handle.join()
    """

    @overload
    def __getitem__(self, item: type[U]) -> _SyncChannelTypedByItem[U]: ...
    @overload
    def __getitem__(self, item: object) -> _SyncChannelTypedByItem[Any]: ...
    def __getitem__(self, item: object) -> _SyncChannelTypedByItem[Any]:
        return self  # type: ignore[return-value]

    def __call__(self, bound: int) -> tuple[SyncSender[T], Receiver[T]]:
        if isinstance(bound, bool) or not isinstance(bound, int):
            raise TypeError(_MSG_BOUND.format(bound))
        if bound < 0:
            raise ValueError(_MSG_BOUND.format(bound))
        chan: _ArrayChan | _ZeroChan = _ArrayChan(bound) if bound else _ZeroChan()
        return SyncSender._create(chan), Receiver._create(chan)

    def __repr__(self) -> str:
        return "<function fearless.mpsc.sync_channel>"


channel = _Channel()
sync_channel = _SyncChannel()
