"""A TCP proxy on 127.0.0.1 that delays every chunk by a fixed time each way.

This kernel has no netem; this gives a WAN-like round-trip time to loopback servers
(bandwidth is not limited: only latency, which dominates git's chatty negotiation).
Each new connection also waits one round trip, as a TCP handshake would.
"""

from __future__ import annotations

import asyncio
import threading
import time


class DelayProxy:
    def __init__(self, upstream_port: int, delay: float = 0.1):
        self.upstream_port = upstream_port
        self.delay = delay
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("delay proxy did not start")
        return self

    def __exit__(self, *exc) -> None:
        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            # A real TCP connection costs one round trip (SYN, SYN-ACK) before data flows.
            await asyncio.sleep(2 * self.delay)
            ur, uw = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except (OSError, asyncio.CancelledError):
            cw.close()
            return
        try:
            await asyncio.gather(self._pipe(cr, uw), self._pipe(ur, cw), return_exceptions=True)
        except asyncio.CancelledError:
            pass  # proxy shutting down
        finally:
            for w in (uw, cw):
                w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def send() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    # Half-close: the other direction may still be talking.
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(send())
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((time.monotonic() + self.delay, data or None))
                if not data:
                    break
        finally:
            await sender
