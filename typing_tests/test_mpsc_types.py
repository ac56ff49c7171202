"""Type-checked, never run: fearless.mpsc (compile-fail tests).

Each misuse line carries ``# type: ignore[<code>]``; with
``warn_unused_ignores`` a misuse that stops being rejected fails mypy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, assert_type

from fearless.mpsc import (
    Full,
    Receiver,
    Selected,
    Sender,
    SendError,
    SyncSender,
    after,
    channel,
    never,
    select,
    sync_channel,
    tick,
)


class Animal:
    pass


class Dog(Animal):
    pass


def channel_by_subscript_is_typed() -> None:
    tx, rx = channel[int]()
    assert_type(tx, Sender[int])
    assert_type(rx, Receiver[int])
    assert_type(rx.recv(), int)
    assert_type(rx.recv(timeout=1.0), int)
    assert_type(rx.try_recv(), int)
    assert_type(rx.try_iter(), Iterator[int])
    assert_type(tx.clone(), Sender[int])
    for msg in rx:
        assert_type(msg, int)
    stx, srx = sync_channel[list[str]](4)
    assert_type(stx, SyncSender[list[str]])
    assert_type(srx, Receiver[list[str]])
    assert_type(stx.clone(), SyncSender[list[str]])


def channel_by_annotation_is_typed() -> None:
    tx: Sender[int]
    tx, rx = channel()
    assert_type(rx, Receiver[int])
    tx.send(1)
    stx: SyncSender[str]
    stx, srx = sync_channel(0)
    assert_type(srx, Receiver[str])
    stx.send("x")


def sending_the_wrong_type_is_rejected() -> None:
    tx, _rx = channel[int]()
    tx.send("x")  # type: ignore[arg-type]
    stx, _srx = sync_channel[int](1)
    stx.send("x")  # type: ignore[arg-type]
    stx.try_send(b"x")  # type: ignore[arg-type]
    stx.send(1, 2.0)  # type: ignore[call-arg]  # timeout is keyword-only


def receiving_gives_the_message_type() -> None:
    _tx, rx = channel[int]()
    text: str = rx.recv()  # type: ignore[assignment]


def sender_is_contravariant() -> None:
    # A sender of animals accepts dogs: Sender[Animal] is a Sender[Dog].
    tx, _rx = channel[Animal]()
    dog_sender: Sender[Dog] = tx
    dog_sender.send(Dog())
    stx, _srx = sync_channel[Animal](1)
    sync_dog_sender: SyncSender[Dog] = stx
    animal_sender: Sender[Animal] = channel[Dog]()[0]  # type: ignore[assignment]


def receiver_is_covariant() -> None:
    # A receiver of dogs yields animals: Receiver[Dog] is a Receiver[Animal].
    _tx, rx = channel[Dog]()
    animals: Receiver[Animal] = rx
    assert_type(animals.recv(), Animal)
    dogs: Receiver[Dog] = channel[Animal]()[1]  # type: ignore[assignment]


def errors_hand_the_value_back() -> None:
    tx, _rx = channel[int]()
    try:
        tx.send(1)
    except SendError as e:
        assert_type(e, SendError[Any])
    full: Full[int] = Full("full", 1)
    assert_type(full.value, int)


def select_and_timers_are_typed() -> None:
    tx, rx = channel[int]()
    assert_type(after(1.0), Receiver[float])
    assert_type(tick(1.0), Receiver[float])
    got = select(rx, rx, timeout=1.0)
    assert_type(got, Selected[int])
    assert_type(got.value, int)
    assert_type(got.index, int)
    assert_type(got.receiver, Receiver[int])
    never_int: Receiver[int] = never()
    assert_type(select(rx, never()).value, int)
    select(rx, tx)  # type: ignore[call-overload]


def select_types_the_value_as_the_union_of_the_message_types(
    *,
    pairs: Receiver[tuple[int, int]],
    words: Receiver[str],
    blobs: Receiver[bytes],
    floats: Receiver[float],
    flags: Receiver[bool],
    nones: Receiver[None],
) -> None:
    assert_type(select(pairs).value, tuple[int, int])
    assert_type(select(pairs, words).value, tuple[int, int] | str)
    assert_type(select(pairs, words, timeout=1.0).value, tuple[int, int] | str)
    assert_type(select(pairs, words, after(1.0)).value, tuple[int, int] | str | float)
    assert_type(select(pairs, words, blobs, flags).value, tuple[int, int] | str | bytes | bool)
    assert_type(
        select(pairs, words, blobs, flags, nones).value,
        tuple[int, int] | str | bytes | bool | None,
    )
    assert_type(select(pairs, words, never()).value, tuple[int, int] | str)
    got = select(pairs, words)
    assert_type(got.receiver, Receiver[tuple[int, int] | str])
    value = got.value
    if isinstance(value, str):
        assert_type(value, str)
    else:
        assert_type(value, tuple[int, int])
    # More than five receivers: a common supertype.
    many = select(words, words, words, words, words, words)
    assert_type(many.value, str)
    receivers: list[Receiver[str]] = [words]
    assert_type(select(*receivers).value, str)
    select(pairs, words, timeout="1")  # type: ignore[call-overload]
    select(floats, 1)  # type: ignore[call-overload]


async def async_api_is_typed() -> None:
    tx, rx = sync_channel[bytes](1)
    await tx.send_async(b"x")
    await tx.send_async("x")  # type: ignore[arg-type]
    assert_type(await rx.recv_async(), bytes)
    async for msg in rx:
        assert_type(msg, bytes)


def handles_are_not_constructible_nor_subclassable() -> None:
    Sender[int]()  # type: ignore[call-arg]

    class Mine(Receiver[int]):  # type: ignore[misc]
        pass
