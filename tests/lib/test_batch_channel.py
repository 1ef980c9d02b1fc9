"""The batch's channel (``lib/batch/_channel.py``): order, capacity, the two ways of closing, and cancellation
that loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
from typing import List

import anyio
import pytest
import anyio.lowlevel
from hypothesis import given, strategies as st

from microdc.lib.batch._channel import Channel


async def _settle() -> None:
    """Let every task that can run, run (no clock involved)."""
    for _ in range(20):
        await anyio.lowlevel.checkpoint()


async def test_items_come_out_in_order_and_the_end_after_the_last() -> None:
    channel = Channel[int](3)
    for item in (1, 2, 3):
        channel.send_nowait(item)
    with pytest.raises(anyio.WouldBlock):
        channel.send_nowait(4)
    channel.close()
    assert [await channel.receive() for _ in range(3)] == [1, 2, 3]
    with pytest.raises(anyio.EndOfStream):
        await channel.receive()


async def test_with_no_capacity_an_item_passes_only_to_a_waiting_receiver() -> None:
    channel = Channel[str](0)
    with pytest.raises(anyio.WouldBlock):
        channel.send_nowait("nobody waits")
    received: List[str] = []
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lambda: _receive_into(channel, received))
        await _settle()
        channel.send_nowait("taken")  # a receiver waits: handed over at once, without waiting
    assert received == ["taken"]


async def _receive_into(channel: Channel[str], received: List[str]) -> None:
    received.append(await channel.receive())


async def test_a_sender_waits_for_room_and_a_receiver_makes_it() -> None:
    channel = Channel[int](0)
    sent: List[int] = []

    async def send() -> None:
        await channel.send(7)
        sent.append(7)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(send)
        await _settle()
        assert sent == []  # no receiver yet
        assert await channel.receive() == 7
    assert sent == [7]


async def test_closing_the_receiving_side_breaks_senders_waiting_or_not() -> None:
    channel = Channel[int](0)
    broken: List[bool] = []

    async def send() -> None:
        with pytest.raises(anyio.BrokenResourceError):
            await channel.send(1)
        broken.append(True)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(send)
        await _settle()
        channel.close_receiving()
    assert broken == [True]
    with pytest.raises(anyio.BrokenResourceError):
        channel.send_nowait(2)
    with pytest.raises(anyio.ClosedResourceError):
        channel.receive_nowait()


async def test_closing_the_sending_side_ends_waiting_receivers() -> None:
    channel = Channel[int](0)
    ended: List[bool] = []

    async def receive() -> None:
        with pytest.raises(anyio.EndOfStream):
            await channel.receive()
        ended.append(True)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(receive)
        tasks.start_soon(receive)
        await _settle()
        channel.close()
    assert ended == [True, True]


@pytest.mark.parametrize("receivers", [1, 3])
async def test_a_receiver_cancelled_after_an_item_was_handed_to_it_loses_nothing(receivers: int) -> None:
    channel = Channel[str](0)
    received: List[str] = []
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tasks:
            for _ in range(receivers):
                tasks.start_soon(_receive_into, channel, received)
            await _settle()
            channel.send_nowait("not lost")  # handed to the first waiting receiver...
            scope.cancel()  # ...which is cancelled before it runs again
    back: List[str] = []
    with contextlib.suppress(anyio.WouldBlock):
        back.append(channel.receive_nowait())
    # Either that receiver returned it, or it went back to the channel: never both, never neither.
    assert received + back == ["not lost"]


async def test_a_receiver_interrupted_between_the_handover_and_its_return_puts_the_item_back() -> None:
    channel = Channel[str](0)
    receiver = asyncio.ensure_future(channel.receive())
    await _settle()
    channel.send_nowait("handed")  # its wait is over...
    receiver.cancel()  # ...but it is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await receiver
    assert channel.receive_nowait() == "handed"


async def test_a_sender_cancelled_while_waiting_sent_nothing() -> None:
    channel = Channel[str](0)
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(channel.send, "never sent")
            await _settle()
            scope.cancel()
    channel.close()
    with pytest.raises(anyio.EndOfStream):
        channel.receive_nowait()


@given(items=st.lists(st.integers(), max_size=60), capacity=st.integers(0, 5), receivers=st.integers(1, 4))
def test_every_item_sent_is_received_once_in_order(items: List[int], capacity: int, receivers: int) -> None:
    async def run() -> List[int]:
        channel = Channel[int](capacity)
        received: List[int] = []

        async def receive() -> None:
            while True:
                try:
                    received.append(await channel.receive())
                except anyio.EndOfStream:
                    return

        async with anyio.create_task_group() as tasks:
            for _ in range(receivers):
                tasks.start_soon(receive)
            for item in items:
                await channel.send(item)
            channel.close()
        return received

    received = anyio.run(run)
    assert sorted(received) == sorted(items)  # each item once
    if receivers == 1:
        assert received == items  # and in order
