"""Wire 0.1's stdout writer: the one task that writes an agent's protocol stream.

Partials, the error, the session line and the body are all messages to this task, sent
over a memory channel, so lines from concurrent tasks and threads never interleave and the
rule "nothing after an error" is enforced in one place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import trio

from agentproc import _wire
from agentproc._output import Sink


class _Chunk:
    __slots__ = ("data", "terminal", "written")

    def __init__(self, data: bytes, *, terminal: bool) -> None:
        self.data = data
        self.terminal = terminal
        self.written = False  # written, or dropped because an error came first


class StdoutWriter:
    """Owns the protocol stream of one turn; start :meth:`run` in a nursery before sending.

    Every ``send_*`` method returns once its line has been handed to the sink (written to
    the stdout pipe), so a partial is out before the handler goes on. If such a call is
    cancelled, its line is written in full or not at all, never in part. After
    :meth:`send_error`, everything else is dropped: the writer, not the callers, decides
    the order, so the rule holds for concurrent senders too.
    """

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        # Capacity 0: a sender waits for the writer, so there is no queue to lose on exit.
        self._send, self._receive = trio.open_memory_channel[_Chunk](0)
        self._progress = trio.lowlevel.ParkingLot()
        self._error_sent = False
        self._token: trio.lowlevel.TrioToken | None = None
        self.failure: OSError | None = None
        """The error that stopped the writing (the reader closed the pipe), if any."""

    @property
    def error_sent(self) -> bool:
        """True once an error line was accepted: the turn has failed, the rest is dropped."""
        return self._error_sent

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write lines as they arrive until :meth:`close`; ready when ``nursery.start`` returns."""
        self._token = trio.lowlevel.current_trio_token()
        task_status.started()
        ended = False
        async with self._receive:
            async for chunk in self._receive:
                batch = [chunk, *self._ready_chunks()]
                data = []
                for item in batch:
                    if not ended:
                        data.append(item.data)
                        ended = item.terminal
                    item.written = True
                await self._write(b"".join(data))
                self._progress.unpark_all()

    def _ready_chunks(self) -> list[_Chunk]:
        # Senders that queued up while the last write ran go out in one write.
        ready = []
        while True:
            try:
                ready.append(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return ready

    async def _write(self, data: bytes) -> None:
        if not data or self.failure is not None:
            return
        try:
            await self._sink.write(data)
        except OSError as exc:
            # Keep draining the channel so that senders are released; nothing more is
            # written, and the turn reports the failure when it ends.
            self.failure = exc

    def close(self) -> None:
        """No more lines: :meth:`run` returns once it has written what it accepted."""
        self._send.close()

    async def send_partial(self, text: str) -> None:
        """Write one ``AGENT_PARTIAL:`` line; empty text sends nothing."""
        if text:
            await self._put(_wire.encode_partial(text), terminal=False)
        else:
            await trio.lowlevel.checkpoint()

    async def send_error(self, text: str) -> None:
        """Write one ``AGENT_ERROR:`` line, the last line of the turn."""
        await self._put(_wire.encode_error(text), terminal=True)

    async def send_reply(self, session_id: str, body: str) -> None:
        """Write the session line (when ``session_id`` is set) and the reply body."""
        await self._put(_wire.encode_reply(session_id, body), terminal=False)

    async def _put(self, data: bytes, *, terminal: bool) -> None:
        # A dropped line still yields: a task that loops on send_partial after an error
        # must not starve the rest of the handler.
        if self._error_sent:
            await trio.lowlevel.checkpoint()
            return
        if terminal:
            self._error_sent = True
        chunk = _Chunk(data, terminal=terminal)
        try:
            await self._send.send(chunk)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            # The turn is over (a thread outlived it): nothing more goes out.
            await trio.lowlevel.checkpoint()
            return
        while not chunk.written:
            await self._progress.park()

    def call_from_thread(self, send: Callable[[str], Awaitable[None]], text: str) -> None:
        """Run one ``send_*`` method from a worker thread, returning once it has finished."""
        if self._token is None:
            raise RuntimeError("the stdout writer is not running yet")
        # RunFinishedError: the process is exiting, and the line can no longer be written.
        with contextlib.suppress(trio.RunFinishedError):
            trio.from_thread.run(send, text, trio_token=self._token)
