"""A bounded channel for the batch's hot path: the feeder's inputs to the submitters, and finished items to the reader.

It does what an anyio memory object stream does there, at a fraction of the cost:
anyio's ``send()``/``receive()`` always yield to the event loop first, and a receiver
that waits builds a task record, which together cost about 20 µs a handoff (measured:
a producer handing 50,000 items to a waiting consumer, 23 µs an item against 7 µs
here) — twice per input, against a ``jobs.create`` of about 330 µs. Here a send or a
receive that need not wait returns at once, without yielding, and one that waits
waits on a plain event.

Cancellation loses nothing: a receiver cancelled after an item was handed to it
puts the item back at the front; a sender cancelled while waiting sent nothing.
"""

from __future__ import annotations

import collections
from typing import List, Deque, Tuple, Generic, TypeVar, Optional

import anyio

__all__ = ["Channel"]

_T = TypeVar("_T")


class Channel(Generic[_T]):
    """Items from any number of senders to any number of receivers; at most ``capacity`` wait in between.

    With ``capacity=0`` an item passes only straight to a waiting receiver.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._buffer: Deque[_T] = collections.deque()
        self._receivers: Deque[Tuple[anyio.Event, List[_T]]] = collections.deque()
        self._senders: Deque[anyio.Event] = collections.deque()  # waiting for room (or for a receiver)
        self._sending_closed = False
        self._receiving_closed = False

    # --- sending ----------------------------------------------------------------------------------

    def send_nowait(self, item: _T) -> None:
        """Hand ``item`` to a waiting receiver, or buffer it; ``anyio.WouldBlock`` when there is no room.

        Raises ``anyio.BrokenResourceError`` once the receiving side is closed.
        """
        if self._receiving_closed:
            raise anyio.BrokenResourceError
        if self._sending_closed:
            raise anyio.ClosedResourceError
        while self._receivers:
            event, slot = self._receivers.popleft()
            if not event.is_set():  # (one that gave up waiting is skipped)
                slot.append(item)
                event.set()
                return
        if len(self._buffer) < self._capacity:
            self._buffer.append(item)
            return
        raise anyio.WouldBlock

    async def send(self, item: _T) -> None:
        """:meth:`send_nowait`, waiting for room when there is none."""
        while True:
            try:
                self.send_nowait(item)
                return
            except anyio.WouldBlock:
                room = anyio.Event()
                self._senders.append(room)
                try:
                    await room.wait()
                except BaseException:
                    if room.is_set():
                        self._wake_sender()  # woken, but leaving: the room goes to the next sender
                    else:
                        self._senders.remove(room)
                    raise

    def drain(self) -> List[_T]:
        """Take back every buffered item (the sender changed its mind about them)."""
        items = list(self._buffer)
        self._buffer.clear()
        while self._senders:
            self._wake_sender()
        return items

    def close(self) -> None:
        """No more items: receivers get ``anyio.EndOfStream`` once the buffer is empty."""
        self._sending_closed = True
        while self._receivers:
            self._receivers.popleft()[0].set()  # an empty slot: the end

    # --- receiving ----------------------------------------------------------------------------------

    def receive_nowait(self) -> _T:
        """The next item; ``anyio.WouldBlock`` if none is ready, ``anyio.EndOfStream`` after the last."""
        if self._receiving_closed:
            raise anyio.ClosedResourceError
        if self._buffer:
            item = self._buffer.popleft()
            self._wake_sender()
            return item
        if self._sending_closed:
            raise anyio.EndOfStream
        raise anyio.WouldBlock

    async def receive(self) -> _T:
        """:meth:`receive_nowait`, waiting for an item when none is ready."""
        try:
            return self.receive_nowait()
        except anyio.WouldBlock:
            pass
        handed = anyio.Event()
        slot: List[_T] = []
        self._receivers.append((handed, slot))
        self._wake_sender()  # a sender waiting for a receiver (capacity 0) can hand over now
        try:
            await handed.wait()
        except BaseException:
            if slot:  # handed over, but this receiver is leaving: the item goes back, first in line
                self._buffer.appendleft(slot[0])
                self._wake_receiver()
            else:
                handed.set()  # gave up: send_nowait skips it
            raise
        if not slot:
            raise anyio.EndOfStream
        return slot[0]

    def close_receiving(self) -> None:
        """The receiving side is done: buffered items are dropped and senders get ``anyio.BrokenResourceError``."""
        self._receiving_closed = True
        self._buffer.clear()
        while self._senders:
            self._senders.popleft().set()

    # --- waking ------------------------------------------------------------------------------------

    def _wake_sender(self) -> None:
        if self._senders:
            self._senders.popleft().set()

    def _wake_receiver(self) -> None:
        """An item went back to the buffer: let a waiting receiver have it."""
        receiver: Optional[Tuple[anyio.Event, List[_T]]] = None
        while self._receivers and receiver is None:
            candidate = self._receivers.popleft()
            if not candidate[0].is_set():
                receiver = candidate
        if receiver is not None:
            receiver[1].append(self._buffer.popleft())
            receiver[0].set()
